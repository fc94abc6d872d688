/*
 * sso-broker: configuration internals shared by conf.c and conf_tenant.c.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The parse engine state, the error collector, value validators and the
 * file helpers (secret-file checks).  Not for other modules: they use
 * conf.h only.
 * Trust: the parse state holds operator-supplied text being checked.
 */
#ifndef BK_CONF_INT_H
#define BK_CONF_INT_H

#include <stddef.h>

#include "bk.h"
#include "conf.h"

/* Capacity of the per-file "line where each keyword was set" array. */
#define CONF_KW_MAX		96
/* Longest section name we keep (longer ones are unknown anyway). */
#define CONF_SECTION_MAX	32
/* Cap on a config file, a secret file and the collected errors. */
#define CONF_FILE_MAX		(1024 * 1024)
#define CONF_SECRET_MAX		4096
#define CONF_ERRORS_MAX		(64 * 1024)
/* Cap on the number of tenant files read from the tenants dir. */
#define CONF_TENANTS_MAX	10000
/* Minimum length of the admin token and of a panel client secret. */
#define CONF_SECRET_MINLEN	16

/** Every error of one conf_load(), "file:line: reason" a line. */
struct conf_errs {
	struct bk_buf	 buf;
	int		 n;		/* errors of any kind */
	/* of which secret-file permission ones */
	int		 nperm;
	int		 nomem;		/* an allocation failed */
};

/** State of one file being parsed (the ini_reader stream). */
struct conf_parse {
	const char	*name;		/* file name for messages */
	char		*dir;		/* its directory, for relative paths */
	const char	*buf;		/* the file text, len bytes */
	size_t		 len, pos;
	int		 lineno;	/* counted by the reader */
	enum conf_scope	 scope;
	/* struct conf * or struct conf_tenant * */
	void		*target;
	char		 section[CONF_SECTION_MAX];
	int		 in_section;	/* 0 none yet, 1 known, -1 unknown */
	int		 lines[CONF_KW_MAX];	/* where each keyword was set */
	/* Where each known section's header is, for "missing key" errors. */
	struct {
		char	 name[CONF_SECTION_MAX];
		int	 line;
	}		 sects[16];
	size_t		 n_sects;
	struct conf_errs *errs;
};

/* The field of target (struct conf or conf_tenant) that kw sets. */
static inline char **
conf_kw_str(void *target, const struct conf_keyword *kw)
{
	return (char **)(void *)((char *)target + kw->off);
}

static inline int *
conf_kw_int(void *target, const struct conf_keyword *kw)
{
	return (int *)(void *)((char *)target + kw->off);
}

static inline size_t *
conf_kw_count(void *target, const struct conf_keyword *kw)
{
	return (size_t *)(void *)((char *)target + kw->off_n);
}

void	conf_errs_init(struct conf_errs *e);
/** Record one error; line 0 means "the whole file" (name: reason). */
void	conf_err(struct conf_errs *e, const char *file, int line,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/** Same, counted as a secret-file permission error. */
void	conf_err_perm(struct conf_errs *e, const char *file, int line,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/** BK_OK, or the code for what was collected; *errors gets the text. */
int	conf_errs_finish(struct conf_errs *e, char **errors);

/**
 * Parse buf as a file of the given scope into target, then fill defaults
 * and report missing required keys.  Errors go to p->errs.
 */
void	conf_parse_run(struct conf_parse *p);
/** Prepare p; BK_E_NOMEM only.  conf_parse_cleanup() releases it. */
int	conf_parse_init(struct conf_parse *p, const char *buf, size_t len,
	    const char *name, enum conf_scope scope, void *target,
	    struct conf_errs *e);
void	conf_parse_cleanup(struct conf_parse *p);
/** Line where [section] name was set in this file, 0 if not set. */
int	conf_parse_line(const struct conf_parse *p, const char *section,
	    const char *name);
/** Report "missing required key" for keywords with any of flags unset. */
void	conf_parse_required(struct conf_parse *p, int flags,
	    const char *because);

/**
 * The next element of a comma-separated list at s: *len bytes at the
 * returned pointer, blanks around it left out; *next is what follows its
 * ",", or NULL after the last element.
 */
const char *conf_list_elem(const char *s, size_t *len, const char **next);
/** [server] trusted_proxies validator (conf_proxy.c). */
int	conf_cidr_check(const char *s, const char **why);
/* Validators shared by both files (see conf_keywords[]). */
int	conf_url_check(const char *s, int https_only, int loopback_http,
	    int origin_only, const char **why);
int	conf_host_is_loopback(const char *host, size_t len);

/**
 * Open path (named by [file:line]) and check it is a regular file we can
 * read.  With secret set, also refuse group/world access and an owner
 * other than the euid or root [relayd check_file_secrecy].  With load set
 * (a secret), *out gets the content with trailing CR/LF stripped, at least
 * minlen bytes, printable.  Errors go to e; returns BK_OK or an error code.
 */
int	conf_file_check(struct conf_errs *e, const char *file, int line,
	    const char *path, int secret, int load, size_t minlen, char **out);
/** Read a whole file of at most max bytes into *buf (returned-owned). */
int	conf_file_read(struct conf_errs *e, const char *file, int line,
	    const char *path, size_t max, char **buf, size_t *len);

/**
 * A [redis] section's cross-field rules (sentinels and master_name
 * together) and its URL split into the derived fields; errors to p.
 */
void	conf_redis_check(struct conf_parse *p, struct conf_redis *rc);
/** Free what a [redis] section holds (the password zeroed). */
void	conf_redis_cleanup(struct conf_redis *rc);

/** Load every *.conf of c->tenants_dir into c (named by [file:line]). */
void	conf_tenants_load(struct conf *c, int dir_line, struct conf_errs *e);
void	conf_tenant_free(struct conf_tenant *t);
/** Print one tenant's effective settings (conf_dump()). */
void	conf_tenant_dump(const struct conf_tenant *t, void *fp);

#endif /* BK_CONF_INT_H */
