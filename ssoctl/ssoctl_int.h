/*
 * sso-broker: ssoctl internals shared by ssoctl.c (setup, HTTP) and
 * ssoctl_cmd.c (the verbs and their output).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Trust: everything that comes back from the admin listener is treated as
 * untrusted text: sizes are capped and control bytes are replaced before
 * anything reaches the terminal.
 */
#ifndef SSOCTL_INT_H
#define SSOCTL_INT_H

#include <stdio.h>

#include <curl/curl.h>
#include <jansson.h>

#include "bk.h"
#include "ssoctl.h"

#define SSOCTL_DEFAULT_URL	"http://127.0.0.1:8081"
#define SSOCTL_DEFAULT_TIMEOUT	30		/* seconds */
#define SSOCTL_MAX_RESPONSE	(256UL << 20)	/* buffered response body */
#define SSOCTL_MAX_ERRBODY	(1UL << 20)	/* error body while streaming */
#define SSOCTL_MAX_UPLOAD	(64UL << 20)	/* users import file */
#define SSOCTL_MAX_TOKEN	4096		/* token file */

/** The state of one ssoctl run. */
struct ssoctl {
	struct ssoctl_args	*args;
	char			*url;		/* base URL, no trailing '/' */
	char			*token;		/* secret, owned */
	char			*tenant;	/* resolved tenant, owned */
	long			 timeout;	/* seconds */
	int			 json;		/* --json */
	CURL			*curl;
	int			 exit_code;	/* when an error is set */
	char			 err[1024];	/* the one-line reason */
};

/** One HTTP exchange. */
struct ssoctl_resp {
	long		 status;
	struct bk_buf	 body;		/* buffered body (error body if sink) */
	FILE		*sink;		/* 2xx body goes here when set */
	int		 sink_err;	/* errno of a failed write to sink */
	int		 streamed;	/* some body went to sink */
};

/** Record the one-line error reason; returns BK_E_INVAL for chaining. */
int	ssoctl_fail(struct ssoctl *c, int rv, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/**
 * Perform one request against the admin listener.  path starts with "/"
 * and is already percent-encoded; body may be NULL.  On BK_OK the
 * exchange happened (any status); r must be released with
 * ssoctl_resp_cleanup().  Transport failures set c->err.
 */
int	ssoctl_http(struct ssoctl *c, const char *method, const char *path,
	    const char *body, size_t bodylen, const char *ctype,
	    struct ssoctl_resp *r);
void	ssoctl_resp_init(struct ssoctl_resp *r, FILE *sink);
void	ssoctl_resp_cleanup(struct ssoctl_resp *r);

/** Set c->err from a non-2xx answer (server's error slug and message). */
int	ssoctl_api_error(struct ssoctl *c, const struct ssoctl_resp *r);
/** GET path (consumed) into -o FILE or standard output. */
int	ssoctl_get_to_output(struct ssoctl *c, struct bk_buf *path);

/**
 * Request and decode a JSON object; any non-2xx status is an error.
 * *out returned-owned; *status (may be NULL) receives the HTTP status.
 */
/** GET a JSON list: printed under --json (*arr NULL), else its array. */
int	ssoctl_get_list(struct ssoctl *c, const char *path, const char *key,
	    json_t **j, json_t **arr);
int	ssoctl_json_call(struct ssoctl *c, const char *method, const char *path,
	    const char *body, json_t **out, long *status);
/** Parse a buffered body as a JSON object into *out (returned-owned). */
int	ssoctl_json_parse(struct ssoctl *c, const struct ssoctl_resp *r,
	    json_t **out);

/** Percent-encode s (curl_easy_escape) and append it to b. */
int	ssoctl_buf_escape(struct ssoctl *c, struct bk_buf *b, const char *s);
/** Make sure c->tenant is known (flag, env, or the only tenant). */
int	ssoctl_tenant_resolve(struct ssoctl *c);

/** Copy s into out with control bytes replaced by '?', capped. */
void	ssoctl_sanitize(const char *s, char *out, size_t outlen);

/* The verbs (ssoctl_cmd.c); each returns BK_OK or sets c->err. */
int	ssoctl_cmd_tenants_list(struct ssoctl *c);
int	ssoctl_cmd_tenants_show(struct ssoctl *c);
/** tenants sso on|off [ID]: PUT .../sso, then what it did. */
int	ssoctl_cmd_tenants_sso(struct ssoctl *c);
int	ssoctl_cmd_users_export(struct ssoctl *c);
int	ssoctl_cmd_users_import(struct ssoctl *c);
int	ssoctl_cmd_users_get(struct ssoctl *c);
int	ssoctl_cmd_users_set(struct ssoctl *c);
int	ssoctl_cmd_users_delete(struct ssoctl *c);
int	ssoctl_cmd_sessions_revoke(struct ssoctl *c);
int	ssoctl_cmd_audit_query(struct ssoctl *c);
int	ssoctl_cmd_audit_export(struct ssoctl *c);
int	ssoctl_cmd_audit_verify(struct ssoctl *c);
int	ssoctl_cmd_audit_keygen(struct ssoctl *c);
/** audit show-assertion ID [--verify] [--file F] (ssoctl_assertion.c). */
int	ssoctl_cmd_audit_show_assertion(struct ssoctl *c);
/* admin credentials (ssoctl_admins.c) */
int	ssoctl_cmd_admins_list(struct ssoctl *c);
int	ssoctl_cmd_admins_add(struct ssoctl *c);
int	ssoctl_cmd_admins_revoke(struct ssoctl *c);
/** 1: the verb needs no broker (keygen, verify --file): no token, no URL. */
int	ssoctl_verb_is_offline(const struct ssoctl_args *a);

#endif /* SSOCTL_INT_H */
