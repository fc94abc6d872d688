/*
 * sso-broker: logging.  One JSON object a line on stderr.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Never pass cookies, tokens, codes, raw SAML, keys or secrets to these
 * functions: log a short digest instead (log_digest()).
 * Trust: messages may embed untrusted strings; they are JSON-escaped and
 * capped by the encoder.
 */
#ifndef BK_LOG_H
#define BK_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_L_DEBUG = 2, LOG_L_INFO, LOG_L_WARN, LOG_L_ERR };

/** Set the process name ("parent", "worker-1") and minimum level. */
void	log_init(const char *proc, int debug);
void	log_set_proc(const char *proc);

void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Warning with strerror(errno) appended. */
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Warning with bk_strerror(rv) and the reason slug attached. */
void	log_warnx_r(int rv, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/** Same, for a request: the line carries req=<id>. */
void	log_req(int level, const char *req_id, int rv, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/**
 * The fields of a record that tools filter on, each its own JSON key
 * (NULL, or a negative duration / zero status: absent), never inside the
 * message text.  All borrowed.
 */
struct log_fields {
	const char	*req;		/* request id */
	const char	*tenant;
	const char	*event;		/* audit event: assertion, consent */
	const char	*user;		/* Salesforce username */
	const char	*id;		/* assertion or token id */
	const char	*route;
	int		 status;	/* HTTP status */
	double		 duration_ms;
};
/** A record with fields; rv adds reason and error as log_req() does. */
void	log_fields(int level, const struct log_fields *f, int rv,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/**
 * The access log ([server] access_log): fd, opened by the parent, or -1
 * (off).  log_access() writes one JSON line there per request: time,
 * request id, method, path (never the query: it can carry codes), route,
 * status, duration, tenant, client address.  One write(2) per line.
 */
void	log_access_set(int fd);
void	log_access(const struct log_fields *f, const char *method,
	    const char *path, const char *client);
/** Fatal error with errno text; exits 1. */
void	fatal(const char *fmt,
    ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt,
    ...) __attribute__((format(printf, 1, 2), noreturn));

/**
 * Escape an untrusted string for a log message: control bytes as \xNN,
 * capped at 128 bytes (with "..." appended).  Returns a pointer into a
 * small rotating static buffer, valid for 8 further calls.
 */
const char *log_esc(const char *s);
/**
 * A copy of s that is well-formed UTF-8 (RFC 3629) and at most max bytes
 * (max >= 8): every byte that is not part of a well-formed sequence
 * (stray continuation, overlong form, surrogate, above U+10FFFF, a
 * sequence cut short) becomes the four ASCII characters \xNN, so a JSON
 * encoder never refuses the text and nothing is dropped.  A longer text is
 * cut on a character boundary and ends in "...".
 * @return returned-owned string, NULL only when out of memory (or s NULL).
 * Any process or thread.
 */
char	*log_utf8(const char *s, size_t max);
/**
 * printf-style text for a person (a check's failure detail): control
 * characters become '?', then as log_utf8(text, max).
 * @return returned-owned string, NULL only when out of memory.
 */
char	*log_vdetail(size_t max, const char *fmt, va_list ap);
/** First 12 hex chars of SHA-256(s): correlates a secret, never logs it. */
const char *log_digest(const char *s);

#endif /* BK_LOG_H */
