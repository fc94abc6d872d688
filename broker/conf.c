/*
 * sso-broker: configuration: keyword table, parse engine, broker.conf.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * conf_keywords[] describes every directive of broker.conf and of the
 * tenant files [OpenSSH servconf, Redis configs[]].  The engine feeds
 * libinih through our own line reader, which counts lines (Debian's inih
 * has no line numbers in the handler), refuses over-long lines and control
 * bytes, strips indentation (so that it never becomes a continuation line)
 * and checks section headers and "key = value" shape itself, so that every
 * error is reported as "file:line: reason" and all of them are collected
 * [relayd parse.y file->errors].  Tenant files are in conf_tenant.c.
 * Trust: the files are operator input, checked strictly; a redis password
 * and secret-file contents never appear in messages or in conf_dump().
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "bk.h"
#include "chain.h"
#include "conf.h"
#include "conf_int.h"

static int	v_hostport(const char *, const char **);
static int	v_audit_syslog(const char *, const char **);
static int	v_public_url(const char *, const char **);
static int	v_redis_url(const char *, const char **);
static int	v_token(const char *, const char **);
static int	v_tenant_id(const char *, const char **);
static int	v_client_id(const char *, const char **);
static int	v_org_id(const char *, const char **);
static int	v_https_url(const char *, const char **);
static int	v_client_url(const char *, const char **);
static int	v_oidc_issuer(const char *, const char **);
static int	v_oidc_scope(const char *, const char **);

static const struct conf_enum_val conf_login_vals[] = {
	{ "saml", CONF_LOGIN_SAML },
	{ "oidc", CONF_LOGIN_OIDC },
	{ NULL, 0 }
};
static const struct conf_enum_val conf_consent_vals[] = {
	{ "first_use", CONF_CONSENT_FIRST_USE },
	{ "always", CONF_CONSENT_ALWAYS },
	{ "never", CONF_CONSENT_NEVER },
	{ NULL, 0 }
};

#define B(f)	offsetof(struct conf, f)
#define T(f)	offsetof(struct conf_tenant, f)
#define R	CONF_RELOADABLE
#define KW(sc, sec, nm, ty, mn, mx, df, fl, off, offn, maxn, en, v) \
	{ sc, sec, nm, ty, mn, mx, df, fl, off, offn, maxn, en, v }
#define BK	CONF_SCOPE_BROKER
#define TN	CONF_SCOPE_TENANT

/*
 * One row per directive, grouped by section in the order conf_dump()
 * prints them.  docs/broker.conf.5 documents each row; test_conf checks
 * both ways [curl test1139].
 */
static const struct conf_keyword conf_keywords[] = {
	KW(BK, "server", "listen", CONF_T_STRING, 0, 0, "127.0.0.1:8080", 0,
	    B(listen), 0, 0, NULL, v_hostport),
	KW(BK, "server", "public_url", CONF_T_URL, 0, 0, NULL,
	    CONF_REQUIRED | R, B(public_url), 0, 0, NULL, v_public_url),
	KW(BK, "server", "admin_listen", CONF_T_STRING, 0, 0, "127.0.0.1:8081",
	    0, B(admin_listen), 0, 0, NULL, v_hostport),
	KW(BK, "server", "workers", CONF_T_INT, 0, 64, "0", R,
	    B(workers), 0, 0, NULL, NULL),
	KW(BK, "server", "tls_cert", CONF_T_PATH, 0, 0, NULL, R,
	    B(tls_cert), 0, 0, NULL, NULL),
	KW(BK, "server", "tls_key", CONF_T_PATH, 0, 0, NULL, CONF_SECRET | R,
	    B(tls_key), 0, 0, NULL, NULL),
	KW(BK, "server", "trusted_proxies", CONF_T_LIST, 0, 0, NULL, R,
	    B(trusted_proxies), B(n_trusted_proxies), CONF_MAX_PROXIES, NULL,
	    conf_cidr_check),
	KW(BK, "server", "access_log", CONF_T_PATH, 0, 0, NULL, R,
	    B(access_log), 0, 0, NULL, NULL),
	KW(BK, "server", "instance", CONF_T_STRING, 0, 0, "<hostname>",
	    CONF_DERIVED | R, B(instance), 0, 0, NULL, v_token),
	KW(BK, "server", "user", CONF_T_STRING, 0, 0, "sso-broker",
	    CONF_DERIVED | R, B(user), 0, 0, NULL, v_token),
	KW(BK, "redis", "url", CONF_T_URL, 0, 0, "redis://127.0.0.1:6379/0",
	    CONF_MASKED | R,
	    B(redis.url), 0, 0, NULL, v_redis_url),
	KW(BK, "redis", "sentinels", CONF_T_LIST, 0, 0, NULL, R,
	    B(redis.sentinels), B(redis.n_sentinels), CONF_MAX_SENTINELS, NULL,
	    v_hostport),
	KW(BK, "redis", "master_name", CONF_T_STRING, 0, 0, NULL, R,
	    B(redis.master_name), 0, 0, NULL, v_token),
	KW(BK, "redis", "timeout_ms", CONF_T_INT, 50, 60000, "2000", R,
	    B(redis.timeout_ms), 0, 0, NULL, NULL),
	KW(BK, "audit", "path", CONF_T_PATH, 0, 0, NULL, CONF_REQUIRED | R,
	    B(audit_path), 0, 0, NULL, NULL),
	KW(BK, "audit", "fsync", CONF_T_BOOL, 0, 1, "true", R,
	    B(audit_fsync), 0, 0, NULL, NULL),
	KW(BK, "audit", "min_free_mb", CONF_T_INT, 0, 1048576, "1024", R,
	    B(audit_min_free_mb), 0, 0, NULL, NULL),
	KW(BK, "audit", "aggregate_interval", CONF_T_INT, 1, 3600, "60", R,
	    B(audit_aggregate_interval), 0, 0, NULL, NULL),
	KW(BK, "audit", "junk_records", CONF_T_INT, 0, 100000000, "500", R,
	    B(audit_junk_records), 0, 0, NULL, NULL),
	KW(BK, "audit", "key_file", CONF_T_PATH, 0, 0, NULL, CONF_SECRET,
	    B(audit_key_file), 0, 0, NULL, NULL),
	KW(BK, "audit", "epoch", CONF_T_INT, 1, 31536000, "3600", 0,
	    B(audit_epoch), 0, 0, NULL, NULL),
	KW(BK, "audit", "stream_retention", CONF_T_INT, 1, 3650, "90", R,
	    B(audit_stream_retention), 0, 0, NULL, NULL),
	KW(BK, "audit", "stream_max", CONF_T_INT, 1000, 100000000, "10000000",
	    R, B(audit_stream_max), 0, 0, NULL, NULL),
	KW(BK, "audit", "syslog", CONF_T_STRING, 0, 0, NULL, R,
	    B(audit_syslog), 0, 0, NULL, v_audit_syslog),
	KW(BK, "admin", "token_file", CONF_T_PATH, 0, 0, NULL,
	    CONF_REQUIRED | CONF_SECRET | R, B(admin_token_file), 0, 0, NULL,
	    NULL),
	KW(BK, "admin", "console_url", CONF_T_URL, 0, 0, NULL, R,
	    B(console_url), 0, 0, NULL, NULL),
	KW(BK, "tenants", "dir", CONF_T_PATH, 0, 0, NULL, CONF_REQUIRED | R,
	    B(tenants_dir), 0, 0, NULL, NULL),

	KW(TN, "tenant", "id", CONF_T_STRING, 0, 0, NULL, CONF_REQUIRED | R,
	    T(id), 0, 0, NULL, v_tenant_id),
	KW(TN, "tenant", "login", CONF_T_ENUM, 0, 0, "saml", R,
	    T(login), 0, 0, conf_login_vals, NULL),
	KW(TN, "tenant", "enable_salesforce_sso", CONF_T_BOOL, 0, 1, "false", R,
	    T(sso_enabled), 0, 0, NULL, NULL),
	KW(TN, "saml", "idp_metadata", CONF_T_PATH, 0, 0, NULL,
	    CONF_REQ_SAML | R, T(saml.idp_metadata), 0, 0, NULL, NULL),
	KW(TN, "saml", "sp_key", CONF_T_PATH, 0, 0, NULL,
	    CONF_REQ_SAML | CONF_SECRET | R, T(saml.sp_key), 0, 0, NULL, NULL),
	KW(TN, "saml", "sp_cert", CONF_T_PATH, 0, 0, NULL, CONF_REQ_SAML | R,
	    T(saml.sp_cert), 0, 0, NULL, NULL),
	KW(TN, "saml", "sp_entity_id", CONF_T_STRING, 0, 0,
	    "<public_url>/t/<id>/saml/metadata", CONF_DERIVED | R,
	    T(saml.sp_entity_id), 0, 0, NULL, v_token),
	KW(TN, "saml", "allow_idp_initiated", CONF_T_BOOL, 0, 1, "false", R,
	    T(saml.allow_idp_initiated), 0, 0, NULL, NULL),
	KW(TN, "saml", "clock_skew", CONF_T_INT, 0, 300, "60", R,
	    T(saml.clock_skew), 0, 0, NULL, NULL),
	KW(TN, "saml", "allow_sha1", CONF_T_BOOL, 0, 1, "false", R,
	    T(saml.allow_sha1), 0, 0, NULL, NULL),
	KW(TN, "saml", "keep_raw_assertions", CONF_T_BOOL, 0, 1, "false", R,
	    T(saml.keep_raw_assertions), 0, 0, NULL, NULL),
	KW(TN, "saml", "idp_metadata_url", CONF_T_URL, 0, 0, NULL, R,
	    T(saml.idp_metadata_url), 0, 0, NULL, v_https_url),
	KW(TN, "saml", "metadata_refresh", CONF_T_INT, 60, 604800, "3600", R,
	    T(saml.metadata_refresh), 0, 0, NULL, NULL),
	KW(TN, "saml", "metadata_signing_cert", CONF_T_PATH, 0, 0, NULL, R,
	    T(saml.metadata_signing_cert), 0, 0, NULL, NULL),
	KW(TN, "saml", "metadata_ca_file", CONF_T_PATH, 0, 0, NULL, R,
	    T(saml.metadata_ca_file), 0, 0, NULL, NULL),
	KW(TN, "saml", "allow_portal_users", CONF_T_BOOL, 0, 1, "false", R,
	    T(saml.allow_portal_users), 0, 0, NULL, NULL),
	KW(TN, "saml", "username_attribute", CONF_T_STRING, 0, 0, "NameID",
	    CONF_DERIVED | R, T(saml.username_attribute), 0, 0, NULL, v_token),
	KW(TN, "saml", "max_authn_age", CONF_T_INT, 0, 2592000, "0", R,
	    T(saml.max_authn_age), 0, 0, NULL, NULL),
	KW(TN, "saml", "sign_requests", CONF_T_BOOL, 0, 1, "false", R,
	    T(saml.sign_requests), 0, 0, NULL, NULL),
	KW(TN, "saml", "sp_next_key", CONF_T_PATH, 0, 0, NULL,
	    CONF_SECRET | R, T(saml.sp_next_key), 0, 0, NULL, NULL),
	KW(TN, "saml", "sp_next_cert", CONF_T_PATH, 0, 0, NULL, R,
	    T(saml.sp_next_cert), 0, 0, NULL, NULL),
	KW(TN, "saml", "require_encryption", CONF_T_BOOL, 0, 1, "false", R,
	    T(saml.require_encryption), 0, 0, NULL, NULL),
	KW(TN, "saml", "allow_cbc", CONF_T_BOOL, 0, 1, "false", R,
	    T(saml.allow_cbc), 0, 0, NULL, NULL),
	KW(TN, "oidc", "issuer", CONF_T_URL, 0, 0, NULL, CONF_REQ_OIDC | R,
	    T(oidc.issuer), 0, 0, NULL, v_oidc_issuer),
	KW(TN, "oidc", "client_id", CONF_T_STRING, 0, 0, NULL,
	    CONF_REQ_OIDC | R, T(oidc.client_id), 0, 0, NULL, v_token),
	KW(TN, "oidc", "client_secret_file", CONF_T_PATH, 0, 0, NULL,
	    CONF_REQ_OIDC | CONF_SECRET | R, T(oidc.client_secret_file), 0, 0,
	    NULL, NULL),
	KW(TN, "oidc", "authorize_url", CONF_T_URL, 0, 0, NULL, R,
	    T(oidc.authorize_url), 0, 0, NULL, v_https_url),
	KW(TN, "oidc", "token_url", CONF_T_URL, 0, 0, NULL, R,
	    T(oidc.token_url), 0, 0, NULL, v_https_url),
	KW(TN, "oidc", "jwks_url", CONF_T_URL, 0, 0, NULL, R,
	    T(oidc.jwks_url), 0, 0, NULL, v_https_url),
	KW(TN, "oidc", "userinfo_url", CONF_T_URL, 0, 0, NULL, R,
	    T(oidc.userinfo_url), 0, 0, NULL, v_https_url),
	KW(TN, "oidc", "ca_file", CONF_T_PATH, 0, 0, NULL, R,
	    T(oidc.ca_file), 0, 0, NULL, NULL),
	KW(TN, "oidc", "org_id", CONF_T_STRING, 0, 0, NULL, CONF_REQ_OIDC | R,
	    T(oidc.org_id), 0, 0, NULL, v_org_id),
	KW(TN, "oidc", "scope", CONF_T_STRING, 0, 0, "openid id", R,
	    T(oidc.scope), 0, 0, NULL, v_oidc_scope),
	KW(TN, "panel", "client_id", CONF_T_STRING, 0, 0, NULL,
	    CONF_REQUIRED | R, T(panel.client_id), 0, 0, NULL, v_client_id),
	KW(TN, "panel", "client_secret_file", CONF_T_PATH, 0, 0, NULL,
	    CONF_REQUIRED | CONF_SECRET | R, T(panel.client_secret_file), 0, 0,
	    NULL, NULL),
	KW(TN, "panel", "redirect_uri", CONF_T_URL, 0, 0, NULL,
	    CONF_REQUIRED | CONF_REPEATABLE | R, T(panel.redirect_uris),
	    T(panel.n_redirect_uris), CONF_MAX_REDIRECT_URIS, NULL,
	    v_client_url),
	KW(TN, "panel", "initiate_login_uri", CONF_T_URL, 0, 0, NULL, R,
	    T(panel.initiate_login_uri), 0, 0, NULL, v_client_url),
	KW(TN, "policy", "consent", CONF_T_ENUM, 0, 0, "first_use", R,
	    T(policy.consent), 0, 0, conf_consent_vals, NULL),
	KW(TN, "policy", "code_ttl", CONF_T_INT, 10, 600, "60", R,
	    T(policy.code_ttl), 0, 0, NULL, NULL),
	KW(TN, "policy", "session_ttl", CONF_T_INT, 300, 604800, "28800", R,
	    T(policy.session_ttl), 0, 0, NULL, NULL),
	/* A tenant's own store (conf_tenant_redis_check()); no defaults. */
	KW(TN, "redis", "url", CONF_T_URL, 0, 0, NULL, CONF_MASKED | R,
	    T(redis.url), 0, 0, NULL, v_redis_url),
	KW(TN, "redis", "sentinels", CONF_T_LIST, 0, 0, NULL, R,
	    T(redis.sentinels), T(redis.n_sentinels), CONF_MAX_SENTINELS, NULL,
	    v_hostport),
	KW(TN, "redis", "master_name", CONF_T_STRING, 0, 0, NULL, R,
	    T(redis.master_name), 0, 0, NULL, v_token),
	KW(TN, "redis", "timeout_ms", CONF_T_INT, 50, 60000, NULL, R,
	    T(redis.timeout_ms), 0, 0, NULL, NULL),
	/* The web console's roles (front_console.c), Salesforce usernames. */
	KW(TN, "admin", "users", CONF_T_LIST, 0, 0, NULL, R,
	    T(console_admins), T(n_console_admins), CONF_MAX_CONSOLE_USERS,
	    NULL, v_token),
	KW(TN, "admin", "auditors", CONF_T_LIST, 0, 0, NULL, R,
	    T(console_auditors), T(n_console_auditors), CONF_MAX_CONSOLE_USERS,
	    NULL, v_token),
};

_Static_assert(BK_NELEM(conf_keywords) <= CONF_KW_MAX,
    "CONF_KW_MAX too small for conf_keywords[]");

const struct conf_keyword *
conf_keywords_table(size_t *n)
{
	*n = BK_NELEM(conf_keywords);
	return conf_keywords;
}

/* Errors ------------------------------------------------------------ */

#define CONF_ERRORS_NMAX	200

void
conf_errs_init(struct conf_errs *e)
{
	memset(e, 0, sizeof(*e));
	bk_buf_init(&e->buf, CONF_ERRORS_MAX);
}

static void	conf_verr(struct conf_errs *, const char *, int, const char *,
		    va_list) __attribute__((format(printf, 4, 0)));

static void
conf_verr(struct conf_errs *e, const char *file, int line, const char *fmt,
    va_list ap)
{
	char	 msg[768];
	int	 rv;

	e->n++;
	if (e->n > CONF_ERRORS_NMAX) {
		if (e->n == CONF_ERRORS_NMAX + 1)
			(void)bk_buf_addf(&e->buf, "%s: too many errors\n",
			    file);
		return;
	}
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line > 0)
		rv = bk_buf_addf(&e->buf, "%s:%d: %s\n", file, line, msg);
	else
		rv = bk_buf_addf(&e->buf, "%s: %s\n", file, msg);
	if (rv == BK_E_NOMEM)
		e->nomem = 1;
}

void
conf_err(struct conf_errs *e, const char *file, int line, const char *fmt,
    ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	conf_verr(e, file, line, fmt, ap);
	va_end(ap);
}

void
conf_err_perm(struct conf_errs *e, const char *file, int line,
    const char *fmt, ...)
{
	va_list	 ap;

	e->nperm++;
	va_start(ap, fmt);
	conf_verr(e, file, line, fmt, ap);
	va_end(ap);
}

int
conf_errs_finish(struct conf_errs *e, char **errors)
{
	int	 rv;

	if (e->n == 0 && !e->nomem) {
		bk_buf_free(&e->buf);
		return BK_OK;
	}
	if (e->nomem && e->n == 0)
		rv = BK_E_NOMEM;
	else if (e->nperm == e->n)
		rv = BK_E_CONF_SECRET_PERM;
	else
		rv = BK_E_CONF_SYNTAX;
	if (e->buf.len > 0 && e->buf.data[e->buf.len - 1] == '\n')
		e->buf.data[--e->buf.len] = '\0';
	*errors = bk_buf_take(&e->buf);
	return rv;
}

/* Validators -------------------------------------------------------- */

struct conf_url_parts {
	int		 https;
	const char	*host;		/* without brackets */
	size_t		 hostlen;
	int		 port;		/* 0: not given */
	int		 userinfo;
	const char	*rest;		/* path, query, fragment */
};

int
conf_host_is_loopback(const char *host, size_t len)
{
	char		 buf[64];
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, host, len);
	buf[len] = '\0';
	if (strcasecmp(buf, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, buf, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, buf, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

/* A host name, an IPv4 address or (bracketed by the caller) IPv6. */
static int
conf_host_check(const char *h, size_t len, int v6, const char **why)
{
	char		 buf[64];
	struct in6_addr	 a6;
	size_t		 i;

	if (len == 0) {
		*why = "missing host";
		return BK_E_INVAL;
	}
	if (v6) {
		if (len >= sizeof(buf)) {
			*why = "bad IPv6 address";
			return BK_E_INVAL;
		}
		memcpy(buf, h, len);
		buf[len] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1) {
			*why = "bad IPv6 address";
			return BK_E_INVAL;
		}
		return BK_OK;
	}
	if (len > 253 || h[0] == '.' || h[0] == '-' || h[len - 1] == '.') {
		*why = "bad host name";
		return BK_E_INVAL;
	}
	for (i = 0; i < len; i++) {
		if ((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' &&
		    h[i] <= 'Z') || (h[i] >= '0' && h[i] <= '9') ||
		    h[i] == '.' || h[i] == '-')
			continue;
		*why = "bad character in host name";
		return BK_E_INVAL;
	}
	return BK_OK;
}

static int
conf_port_parse(const char *s, size_t len, int *port, const char **why)
{
	char		 buf[8];
	long long	 v;
	const char	*w;

	if (len == 0 || len >= sizeof(buf)) {
		*why = "bad port";
		return BK_E_INVAL;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (bk_strtonum(buf, 1, 65535, &v, &w) != BK_OK) {
		*why = "port must be a number in 1..65535";
		return BK_E_INVAL;
	}
	*port = (int)v;
	return BK_OK;
}

/* "host:port" or "[v6]:port" of authority text s[0..len). */
static int
conf_authority_parse(const char *s, size_t len, const char **host,
    size_t *hostlen, int *port, int port_required, const char **why)
{
	const char	*end = s + len, *colon;
	int		 v6 = 0;

	*port = 0;
	if (len > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (rb == NULL) {
			*why = "missing ']' after IPv6 address";
			return BK_E_INVAL;
		}
		*host = s + 1;
		*hostlen = (size_t)(rb - s - 1);
		v6 = 1;
		colon = rb + 1 < end ? rb + 1 : NULL;
		if (colon != NULL && *colon != ':') {
			*why = "junk after IPv6 address";
			return BK_E_INVAL;
		}
	} else {
		colon = memchr(s, ':', len);
		*host = s;
		*hostlen = colon != NULL ? (size_t)(colon - s) : len;
	}
	if (conf_host_check(*host, *hostlen, v6, why) != BK_OK)
		return BK_E_INVAL;
	if (colon == NULL) {
		if (port_required) {
			*why = "missing :port";
			return BK_E_INVAL;
		}
		return BK_OK;
	}
	return conf_port_parse(colon + 1, (size_t)(end - colon - 1), port,
	    why);
}

static int
conf_url_split(const char *s, struct conf_url_parts *u, const char **why)
{
	const char	*a, *end;
	size_t		 i;

	memset(u, 0, sizeof(*u));
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '"' ||
		    c == '<' || c == '>') {
			*why = "URL contains a space, control byte, '\\', "
			    "quote or angle bracket";
			return BK_E_INVAL;
		}
	}
	if (strncmp(s, "https://", 8) == 0) {
		u->https = 1;
		a = s + 8;
	} else if (strncmp(s, "http://", 7) == 0)
		a = s + 7;
	else {
		*why = "not an absolute http:// or https:// URL";
		return BK_E_INVAL;
	}
	end = a + strcspn(a, "/?#");
	if (memchr(a, '@', (size_t)(end - a)) != NULL) {
		u->userinfo = 1;
		*why = "user name or password in URL";
		return BK_E_INVAL;
	}
	if (conf_authority_parse(a, (size_t)(end - a), &u->host, &u->hostlen,
	    &u->port, 0, why) != BK_OK)
		return BK_E_INVAL;
	u->rest = end;
	return BK_OK;
}

int
conf_url_check(const char *s, int https_only, int loopback_http,
    int origin_only, const char **why)
{
	struct conf_url_parts u;

	if (conf_url_split(s, &u, why) != BK_OK)
		return BK_E_INVAL;
	if (https_only && !u.https) {
		*why = "must be an https:// URL";
		return BK_E_INVAL;
	}
	if (loopback_http && !u.https &&
	    !conf_host_is_loopback(u.host, u.hostlen)) {
		*why = "http:// is allowed only for a loopback host; "
		    "use https://";
		return BK_E_INVAL;
	}
	if (strchr(u.rest, '#') != NULL) {
		*why = "URL has a fragment";
		return BK_E_INVAL;
	}
	if (origin_only) {
		if (u.rest[0] == '?') {
			*why = "URL has a query";
			return BK_E_INVAL;
		}
		if (u.rest[0] != '\0' && strcmp(u.rest, "/") != 0) {
			*why = "URL has a path; give scheme://host[:port] "
			    "only";
			return BK_E_INVAL;
		}
	}
	return BK_OK;
}

static int
v_public_url(const char *s, const char **why)
{
	return conf_url_check(s, 0, 0, 1, why);
}

static int
v_https_url(const char *s, const char **why)
{
	return conf_url_check(s, 1, 0, 0, why);
}

/* The panel's URLs: http only on loopback [RFC 8252 7.3, RFC 9700 2.1]. */
static int
v_client_url(const char *s, const char **why)
{
	return conf_url_check(s, 0, 1, 0, why);
}

static int
v_hostport(const char *s, const char **why)
{
	const char	*h;
	size_t		 hl;
	int		 port;

	return conf_authority_parse(s, strlen(s), &h, &hl, &port, 1, why);
}

/*
 * [audit] syslog: "unix:/absolute/path" (a datagram socket such as
 * /dev/log) or "udp://127.0.0.1:514" with a loopback IP literal: the
 * local syslog daemon forwards, so records never cross a network in
 * clear and no name is resolved at run time.
 */
static int
v_audit_syslog(const char *s, const char **why)
{
	const char	*h;
	size_t		 hl;
	int		 port;
	char		 ip[64];
	struct in6_addr	 a6;
	struct in_addr	 a4;

	if (strncmp(s, "unix:/", 6) == 0 && strlen(s) < 100)
		return BK_OK;
	*why = "must be unix:/PATH or udp://LOOPBACK-IP:PORT";
	if (strncmp(s, "udp://", 6) != 0 ||
	    conf_authority_parse(s + 6, strlen(s + 6), &h, &hl, &port, 1,
	    why) != BK_OK || hl >= sizeof(ip))
		return BK_E_INVAL;
	memcpy(ip, h, hl);
	ip[hl] = '\0';
	if ((inet_pton(AF_INET, ip, &a4) == 1 &&
	    (ntohl(a4.s_addr) >> 24) == 127) ||
	    (inet_pton(AF_INET6, ip, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6)))
		return BK_OK;
	*why = "udp:// needs a loopback IP literal (127.0.0.0/8 or ::1)";
	return BK_E_INVAL;
}

/* No whitespace, printable ASCII, bounded. */
static int
v_token(const char *s, const char **why)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f) {
			*why = "must be printable ASCII without spaces";
			return BK_E_INVAL;
		}
	}
	if (i > 1024) {
		*why = "longer than 1024 characters";
		return BK_E_INVAL;
	}
	return BK_OK;
}

/* [a-z0-9][a-z0-9-]{0,62}: it goes into URLs and Redis hash tags. */
static int
v_tenant_id(const char *s, const char **why)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9') || (i > 0 && s[i] == '-'))
			continue;
		*why = "must match [a-z0-9][a-z0-9-]{0,62}";
		return BK_E_INVAL;
	}
	if (i == 0 || i >= CONF_TENANT_ID_MAX) {
		*why = "must match [a-z0-9][a-z0-9-]{0,62}";
		return BK_E_INVAL;
	}
	return BK_OK;
}

/* RFC 6749 unreserved characters only: it travels in Basic auth and URLs. */
static int
v_client_id(const char *s, const char **why)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    strchr("-._~", s[i]) != NULL)
			continue;
		*why = "must be 1..128 of [A-Za-z0-9-._~]";
		return BK_E_INVAL;
	}
	if (i == 0 || i > 128) {
		*why = "must be 1..128 of [A-Za-z0-9-._~]";
		return BK_E_INVAL;
	}
	return BK_OK;
}

/* A Salesforce organization ID: 15 or 18 alphanumerics. */
/* Salesforce's issuers: My Domain, login., test.; loopback for tests. */
static int
v_oidc_issuer(const char *s, const char **why)
{
	static const char *const hosts[] = { "login.salesforce.com",
	    "test.salesforce.com" };
	static const char *const suffixes[] = { ".my.salesforce.com",
	    ".my.salesforce.mil", ".my.sfcrmproducts.cn" };
	struct conf_url_parts	 u;
	size_t			 i, n;

	if (conf_url_check(s, 1, 0, 0, why) != BK_OK ||
	    conf_url_split(s, &u, why) != BK_OK)
		return BK_E_INVAL;
	if (u.rest[0] != '\0') {
		/* iss must be this exact string: Salesforce's has no path. */
		*why = "must be scheme://host[:port] only, without a path or a "
		    "trailing slash";
		return BK_E_INVAL;
	}
	if (conf_host_is_loopback(u.host, u.hostlen))
		return BK_OK;
	for (i = 0; i < BK_NELEM(hosts); i++)
		if (u.hostlen == strlen(hosts[i]) &&
		    strncasecmp(u.host, hosts[i], u.hostlen) == 0)
			return BK_OK;
	for (i = 0; i < BK_NELEM(suffixes); i++) {
		n = strlen(suffixes[i]);
		if (u.hostlen > n && strncasecmp(u.host + u.hostlen - n,
		    suffixes[i], n) == 0)
			return BK_OK;
	}
	*why = "must be a Salesforce issuer: https://<My Domain>.my."
	    "salesforce.com, https://login.salesforce.com or "
	    "https://test.salesforce.com";
	return BK_E_INVAL;
}

/* RFC 6749 3.3: scope tokens of %x21 / %x23-5B / %x5D-7E, one space. */
static int
v_scope_chars(const char *s, const char **why)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == ' ' && i > 0 && s[i + 1] != ' ' && s[i + 1] != '\0')
			continue;
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\') {
			*why = "must be scope tokens separated by one space";
			return BK_E_INVAL;
		}
	}
	if (i == 0 || i > 512) {
		*why = "must be 1 to 512 characters";
		return BK_E_INVAL;
	}
	return BK_OK;
}

/* Space-separated scopes with openid, never a refresh token. */
static int
v_oidc_scope(const char *s, const char **why)
{
	char	*dup, *tok, *save = NULL;
	int	 openid = 0, rv = BK_OK;

	if (v_scope_chars(s, why) != BK_OK)
		return BK_E_INVAL;
	if ((dup = bk_strdup(s)) == NULL)
		return BK_E_NOMEM;
	for (tok = strtok_r(dup, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		if (strcmp(tok, "openid") == 0)
			openid = 1;
		if (strcmp(tok, "refresh_token") == 0 ||
		    strcmp(tok, "offline_access") == 0) {
			*why = "must not ask for a refresh token (Salesforce "
			    "keeps only five approvals per user and app)";
			rv = BK_E_INVAL;
		}
	}
	free(dup);
	if (rv == BK_OK && !openid) {
		*why = "must include openid";
		rv = BK_E_INVAL;
	}
	return rv;
}

static int
v_org_id(const char *s, const char **why)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9'))
			continue;
		break;
	}
	if (s[i] != '\0' || (i != 15 && i != 18)) {
		*why = "must be a 15- or 18-character Salesforce org ID";
		return BK_E_INVAL;
	}
	return BK_OK;
}

struct conf_redis_parts {
	char	*host, *unix_path, *user, *password;
	int	 port, db;
};

static void
conf_redis_parts_free(struct conf_redis_parts *r)
{
	free(r->host);
	free(r->unix_path);
	free(r->user);
	bk_strfree_secret(r->password);
	memset(r, 0, sizeof(*r));
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decoded copy of s[0..len) (user and password of a redis URL). */
static char *
conf_pct_decode(const char *s, size_t len, const char **why)
{
	char	*out, *o;
	size_t	 i;

	if ((out = malloc(len + 1)) == NULL) {
		*why = "out of memory";
		return NULL;
	}
	for (i = 0, o = out; i < len; i++) {
		if (s[i] == '%') {
			if (i + 2 >= len || hexval(s[i + 1]) < 0 ||
			    hexval(s[i + 2]) < 0 || (hexval(s[i + 1]) == 0 &&
			    hexval(s[i + 2]) == 0)) {
				bk_freezero(out, len + 1);
				*why = "bad %-escape in user or password";
				return NULL;
			}
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return out;
}

static int
conf_redis_db(const char *s, int *db, const char **why)
{
	long long	 v;
	const char	*w;

	if (*s == '\0') {
		*db = 0;
		return BK_OK;
	}
	if (bk_strtonum(s, 0, 65535, &v, &w) != BK_OK) {
		*why = "database number must be in 0..65535";
		return BK_E_INVAL;
	}
	*db = (int)v;
	return BK_OK;
}

/*
 * redis://[[user]:password@]host[:port][/db] or unix:///path[?db=N].
 * The messages never quote the URL: it may carry the password.
 */
static int
conf_redis_url_split(const char *s, struct conf_redis_parts *r,
    const char **why)
{
	const char	*a, *end, *at, *h, *q;
	size_t		 hl, i;
	int		 rv = BK_E_INVAL;

	memset(r, 0, sizeof(*r));
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == '#') {
			*why = "URL contains a space, control byte or '#'";
			return BK_E_INVAL;
		}
	}
	if (strncmp(s, "unix://", 7) == 0) {
		a = s + 7;
		if (*a != '/' || a[1] == '\0' || a[1] == '?') {
			*why = "expected unix:///path/to/socket";
			return BK_E_INVAL;
		}
		q = strchr(a, '?');
		if (q != NULL && strncmp(q, "?db=", 4) != 0) {
			*why = "the only query allowed is ?db=N";
			return BK_E_INVAL;
		}
		if (q != NULL && (q[4] == '\0' ||
		    conf_redis_db(q + 4, &r->db, why) != BK_OK)) {
			*why = "database number must be in 0..65535";
			return BK_E_INVAL;
		}
		hl = q != NULL ? (size_t)(q - a) : strlen(a);
		if ((r->unix_path = strndup(a, hl)) == NULL) {
			*why = "out of memory";
			goto out;
		}
		return BK_OK;
	}
	if (strncmp(s, "redis://", 8) != 0) {
		*why = "expected redis://host:port/db or unix:///path";
		return BK_E_INVAL;
	}
	a = s + 8;
	end = a + strcspn(a, "/?");
	if (*end == '?') {
		*why = "redis:// URL has a query";
		return BK_E_INVAL;
	}
	at = memchr(a, '@', (size_t)(end - a));
	if (at != NULL) {
		const char *colon = memchr(a, ':', (size_t)(at - a));

		if (colon == NULL || colon + 1 == at) {
			*why = "expected [user]:password@ before the host";
			goto out;
		}
		if (colon > a && (r->user = conf_pct_decode(a,
		    (size_t)(colon - a), why)) == NULL)
			goto out;
		if ((r->password = conf_pct_decode(colon + 1,
		    (size_t)(at - colon - 1), why)) == NULL)
			goto out;
		a = at + 1;
	}
	if (conf_authority_parse(a, (size_t)(end - a), &h, &hl, &r->port, 0,
	    why) != BK_OK)
		goto out;
	if (r->port == 0)
		r->port = 6379;
	if (*end == '/' && conf_redis_db(end + 1, &r->db, why) != BK_OK)
		goto out;
	if ((r->host = strndup(h, hl)) == NULL) {
		*why = "out of memory";
		goto out;
	}
	rv = BK_OK;
 out:
	if (rv != BK_OK)
		conf_redis_parts_free(r);
	return rv;
}

static int
v_redis_url(const char *s, const char **why)
{
	struct conf_redis_parts r;

	if (conf_redis_url_split(s, &r, why) != BK_OK)
		return BK_E_INVAL;
	conf_redis_parts_free(&r);
	return BK_OK;
}

/*
 * The cross-field rules of a [redis] section, broker.conf's or a tenant's,
 * and its URL split into the derived fields.
 */
void
conf_redis_check(struct conf_parse *p, struct conf_redis *rc)
{
	struct conf_redis_parts	 r;
	const char		*why;

	if (rc->n_sentinels > 0 && rc->master_name == NULL)
		conf_err(p->errs, p->name, conf_parse_line(p, "redis",
		    "sentinels"), "missing required key [redis] master_name "
		    "(sentinels is set)");
	if (rc->n_sentinels == 0 && rc->master_name != NULL)
		conf_err(p->errs, p->name, conf_parse_line(p, "redis",
		    "master_name"), "master_name is set without sentinels");
	if (rc->url != NULL &&
	    conf_redis_url_split(rc->url, &r, &why) == BK_OK) {
		rc->host = r.host;
		rc->port = r.port;
		rc->unix_path = r.unix_path;
		rc->db = r.db;
		rc->user = r.user;
		rc->password = r.password;
	}
}

void
conf_redis_cleanup(struct conf_redis *rc)
{
	size_t	 i;

	bk_strfree_secret(rc->url);
	free(rc->host);
	free(rc->unix_path);
	free(rc->user);
	bk_strfree_secret(rc->password);
	for (i = 0; i < rc->n_sentinels; i++)
		free(rc->sentinels[i]);
	free(rc->master_name);
	memset(rc, 0, sizeof(*rc));
}

static int
conf_str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
conf_redis_same(const struct conf_redis *a, const struct conf_redis *b)
{
	size_t	 i;

	if (a->n_sentinels != b->n_sentinels || a->port != b->port ||
	    a->db != b->db || a->timeout_ms != b->timeout_ms ||
	    !conf_str_same(a->master_name, b->master_name) ||
	    !conf_str_same(a->user, b->user) ||
	    !conf_str_same(a->password, b->password))
		return 0;
	for (i = 0; i < a->n_sentinels; i++)
		if (strcmp(a->sentinels[i], b->sentinels[i]) != 0)
			return 0;
	/* With sentinels the URL's host is not used: they name the master. */
	return a->n_sentinels > 0 || (conf_str_same(a->host, b->host) &&
	    conf_str_same(a->unix_path, b->unix_path));
}

/* Parse engine ------------------------------------------------------- */

static const struct conf_keyword *
conf_kw_find(enum conf_scope scope, const char *section, const char *name)
{
	size_t	 i;

	for (i = 0; i < BK_NELEM(conf_keywords); i++) {
		const struct conf_keyword *kw = &conf_keywords[i];

		if (kw->scope == scope && strcmp(kw->section, section) == 0 &&
		    (name == NULL || strcmp(kw->name, name) == 0))
			return kw;
	}
	return NULL;
}

static size_t
conf_kw_index(const struct conf_keyword *kw)
{
	return (size_t)(kw - conf_keywords);
}

int
conf_parse_line(const struct conf_parse *p, const char *section,
    const char *name)
{
	const struct conf_keyword *kw;

	if ((kw = conf_kw_find(p->scope, section, name)) == NULL)
		return 0;
	return p->lines[conf_kw_index(kw)];
}

static char *
conf_path_resolve(const struct conf_parse *p, const char *v)
{
	char	*out;

	if (v[0] == '/' || p->dir == NULL)
		return bk_strdup(v);
	if (asprintf(&out, "%s/%s", p->dir, v) < 0)
		return NULL;
	return out;
}

/* Append one string to a list or repeatable keyword. */
static int
conf_list_add(struct conf_parse *p, int line, const struct conf_keyword *kw,
    const char *v)
{
	char	**arr = conf_kw_str(p->target, kw);
	size_t	 *n = conf_kw_count(p->target, kw);

	if (*n >= kw->max_n) {
		conf_err(p->errs, p->name, line, "too many values for %s "
		    "(at most %zu)", kw->name, kw->max_n);
		return BK_E_INVAL;
	}
	if ((arr[*n] = bk_strdup(v)) == NULL) {
		p->errs->nomem = 1;
		return BK_E_NOMEM;
	}
	(*n)++;
	return BK_OK;
}

const char *
conf_list_elem(const char *s, size_t *len, const char **next)
{
	const char	*e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strcspn(s, ",");
	*len = (size_t)(e - s);
	while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
		(*len)--;
	*next = *e == '\0' ? NULL : e + 1;
	return s;
}

static int
conf_list_set(struct conf_parse *p, int line, const struct conf_keyword *kw,
    const char *v)
{
	const char	*s, *next, *why;
	char		 item[256];
	size_t		 l;

	for (next = v; next != NULL;) {
		s = conf_list_elem(next, &l, &next);
		if (l == 0 || l >= sizeof(item)) {
			conf_err(p->errs, p->name, line, "invalid %s: empty "
			    "or over-long element in list", kw->name);
			return BK_E_INVAL;
		}
		memcpy(item, s, l);
		item[l] = '\0';
		why = NULL;
		if (kw->validate != NULL && kw->validate(item, &why) != BK_OK) {
			conf_err(p->errs, p->name, line, "invalid %s '%s': %s",
			    kw->name, item, why);
			return BK_E_INVAL;
		}
		if (conf_list_add(p, line, kw, item) != BK_OK)
			return BK_E_INVAL;
	}
	return BK_OK;
}

static void
conf_enum_list(const struct conf_keyword *kw, char *buf, size_t len)
{
	const struct conf_enum_val *ev;
	size_t	 used = 0;
	int	 n;

	buf[0] = '\0';
	for (ev = kw->enums; ev->name != NULL && used < len; ev++) {
		n = snprintf(buf + used, len - used, "%s%s",
		    used > 0 ? ", " : "", ev->name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* Exactly these two words: "TRUE", "yes", "1" are errors. */
static int
conf_bool_set(struct conf_parse *p, int line, const struct conf_keyword *kw,
    const char *v)
{
	if (strcmp(v, "true") == 0)
		*conf_kw_int(p->target, kw) = 1;
	else if (strcmp(v, "false") == 0)
		*conf_kw_int(p->target, kw) = 0;
	else {
		conf_err(p->errs, p->name, line, "invalid %s '%.80s': "
		    "must be exactly true or false", kw->name, v);
		return BK_E_INVAL;
	}
	return BK_OK;
}

static int
conf_int_set(struct conf_parse *p, int line, const struct conf_keyword *kw,
    const char *v)
{
	const char	*why = NULL;
	long long	 n;

	if (bk_strtonum(v, kw->min, kw->max, &n, &why) != BK_OK) {
		if (why == NULL || strcmp(why, "invalid") == 0 ||
		    strcmp(why, "empty") == 0)
			why = "not a decimal integer";
		conf_err(p->errs, p->name, line, "invalid %s '%.80s': "
		    "%s (range %lld..%lld)", kw->name, v, why,
		    kw->min, kw->max);
		return BK_E_INVAL;
	}
	*conf_kw_int(p->target, kw) = (int)n;
	return BK_OK;
}

static int
conf_enum_set(struct conf_parse *p, int line, const struct conf_keyword *kw,
    const char *v)
{
	const struct conf_enum_val *ev;
	char		 buf[128];

	for (ev = kw->enums; ev->name != NULL; ev++) {
		if (strcmp(v, ev->name) == 0) {
			*conf_kw_int(p->target, kw) = ev->val;
			return BK_OK;
		}
	}
	conf_enum_list(kw, buf, sizeof(buf));
	conf_err(p->errs, p->name, line, "invalid %s '%.80s': must be "
	    "one of %s", kw->name, v, buf);
	return BK_E_INVAL;
}

/* A path (resolved against the file's folder), a string or a URL. */
static int
conf_str_set(struct conf_parse *p, int line, const struct conf_keyword *kw,
    const char *v)
{
	const char	*why = NULL;
	char		*s;

	if (kw->type == CONF_T_PATH) {
		if (strlen(v) >= PATH_MAX) {
			conf_err(p->errs, p->name, line, "%s: path too long",
			    kw->name);
			return BK_E_INVAL;
		}
		s = conf_path_resolve(p, v);
	} else {
		if (kw->validate != NULL && kw->validate(v, &why) != BK_OK) {
			if (kw->flags & CONF_MASKED)
				conf_err(p->errs, p->name, line, "invalid %s: "
				    "%s", kw->name, why);
			else
				conf_err(p->errs, p->name, line, "invalid %s "
				    "'%.80s': %s", kw->name, v, why);
			return BK_E_INVAL;
		}
		if (kw->flags & CONF_REPEATABLE)
			return conf_list_add(p, line, kw, v);
		s = bk_strdup(v);
	}
	if (s == NULL) {
		p->errs->nomem = 1;
		return BK_E_NOMEM;
	}
	free(*conf_kw_str(p->target, kw));
	*conf_kw_str(p->target, kw) = s;
	return BK_OK;
}

/* Check v for kw and store it in p->target; errors name [file:line]. */
static int
conf_value_set(struct conf_parse *p, int line, const struct conf_keyword *kw,
    const char *v)
{
	if (*v == '\0') {
		conf_err(p->errs, p->name, line, "missing value for %s",
		    kw->name);
		return BK_E_INVAL;
	}
	switch (kw->type) {
	case CONF_T_BOOL:
		return conf_bool_set(p, line, kw, v);
	case CONF_T_INT:
		return conf_int_set(p, line, kw, v);
	case CONF_T_ENUM:
		return conf_enum_set(p, line, kw, v);
	case CONF_T_LIST:
		return conf_list_set(p, line, kw, v);
	case CONF_T_PATH:
	case CONF_T_STRING:
	case CONF_T_URL:
		return conf_str_set(p, line, kw, v);
	default:
		conf_err(p->errs, p->name, line, "%s: bad keyword type",
		    kw->name);
		return BK_E_INVAL;
	}
}

static int
conf_ini_handler_cb(void *user, const char *section, const char *name,
    const char *value)
{
	struct conf_parse *p = user;
	const struct conf_keyword *kw;
	size_t	 i;

	(void)section;	/* ours is p->section: the reader checked it */
	if (p->in_section < 0)
		return 1;	/* inside an unknown section: reported once */
	if (p->in_section == 0) {
		conf_err(p->errs, p->name, p->lineno, "%s is outside any "
		    "[section]", name);
		return 1;
	}
	if ((kw = conf_kw_find(p->scope, p->section, name)) == NULL) {
		conf_err(p->errs, p->name, p->lineno, "unknown key '%.64s' in "
		    "[%s]", name, p->section);
		return 1;
	}
	i = conf_kw_index(kw);
	if (p->lines[i] != 0 && !(kw->flags & CONF_REPEATABLE)) {
		conf_err(p->errs, p->name, p->lineno, "duplicate key %s in "
		    "[%s] (first set at line %d)", name, p->section,
		    p->lines[i]);
		return 1;
	}
	if (p->lines[i] == 0)
		p->lines[i] = p->lineno;
	(void)conf_value_set(p, p->lineno, kw, value);
	return 1;
}

static int
conf_is_keychar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* A "[section]" line s[0..len); updates p->section / p->in_section. */
static void
conf_section_line(struct conf_parse *p, const char *s, size_t len)
{
	const char	*rb = memchr(s, ']', len), *r;
	size_t		 nl, i;

	p->in_section = -1;
	if (rb == NULL) {
		conf_err(p->errs, p->name, p->lineno, "malformed section "
		    "header: missing ']'");
		return;
	}
	for (r = rb + 1; r < s + len && (*r == ' ' || *r == '\t'); r++)
		;
	if (r < s + len && *r != ';' && *r != '#') {
		conf_err(p->errs, p->name, p->lineno, "junk after section "
		    "header");
		return;
	}
	nl = (size_t)(rb - s - 1);
	for (i = 0; i < nl; i++)
		if (!conf_is_keychar(s[1 + i]))
			break;
	if (nl == 0 || i < nl || nl >= sizeof(p->section)) {
		conf_err(p->errs, p->name, p->lineno, "unknown section "
		    "[%.*s]", (int)(nl > 64 ? 64 : nl), s + 1);
		return;
	}
	memcpy(p->section, s + 1, nl);
	p->section[nl] = '\0';
	if (conf_kw_find(p->scope, p->section, NULL) == NULL) {
		conf_err(p->errs, p->name, p->lineno, "unknown section [%s]",
		    p->section);
		return;
	}
	p->in_section = 1;
	if (p->n_sects < BK_NELEM(p->sects)) {
		memcpy(p->sects[p->n_sects].name, p->section, nl + 1);
		p->sects[p->n_sects++].line = p->lineno;
	}
}

/*
 * The line a missing key is reported on: its section's header, or the
 * file's last line when the section is missing too (where it would go).
 */
static int
conf_missing_line(const struct conf_parse *p, const char *section)
{
	size_t	 i;

	for (i = 0; i < p->n_sects; i++)
		if (strcmp(p->sects[i].name, section) == 0)
			return p->sects[i].line;
	return p->lineno > 0 ? p->lineno : 1;
}

/*
 * 1 if inih is to read the line s (its indentation already cut), 0 if it
 * gets an empty line instead: a blank, a comment, a section header (read
 * here), or a line refused here and reported.
 */
static int
conf_line_keep(struct conf_parse *p, const char *s, size_t len,
    size_t maxlen)
{
	const char	*eq, *v;
	size_t		 i, kl;

	for (i = 0; i < len; i++) {
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f) {
			conf_err(p->errs, p->name, p->lineno, "control "
			    "character in line");
			return 0;
		}
	}
	if (len > maxlen) {
		conf_err(p->errs, p->name, p->lineno, "line too long (at "
		    "most %zu characters)", maxlen);
		return 0;
	}
	if (len == 0 || *s == ';' || *s == '#')
		return 0;
	if (*s == '[') {
		conf_section_line(p, s, len);
		return 0;
	}
	if ((eq = memchr(s, '=', len)) == NULL) {
		conf_err(p->errs, p->name, p->lineno, "expected "
		    "'key = value'");
		return 0;
	}
	kl = (size_t)(eq - s);
	while (kl > 0 && (s[kl - 1] == ' ' || s[kl - 1] == '\t'))
		kl--;
	for (i = 0; i < kl; i++)
		if (!conf_is_keychar(s[i]))
			break;
	if (kl == 0 || i < kl) {
		conf_err(p->errs, p->name, p->lineno, "expected "
		    "'key = value': bad key name");
		return 0;
	}
	/*
	 * inih takes "key =;x" as the value ";x" but "key = ;x" as a comment:
	 * refuse the first, it is a typo either way and would not survive
	 * conf_dump().
	 */
	for (v = eq + 1; v < s + len && (*v == ' ' || *v == '\t'); v++)
		;
	if (v < s + len && *v == ';' && v == eq + 1) {
		conf_err(p->errs, p->name, p->lineno, "value starts with ';' "
		    "(put a space before an inline comment)");
		return 0;
	}
	return 1;
}

/*
 * fgets-style reader for ini_parse_stream(): one call per line, so
 * p->lineno is the line inih hands to the handler next.  Lines we refuse
 * are reported here and replaced by an empty line.
 */
static char *
conf_ini_reader_cb(char *str, int num, void *stream)
{
	struct conf_parse *p = stream;
	const char	*s, *nl;
	size_t		 len;

	if (p->pos >= p->len || num < 4)
		return NULL;
	p->lineno++;
	s = p->buf + p->pos;
	nl = memchr(s, '\n', p->len - p->pos);
	len = nl != NULL ? (size_t)(nl - s) : p->len - p->pos;
	p->pos += len + (nl != NULL);
	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (p->lineno == 1 && len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3;
		len -= 3;
	}
	/* Indentation would make inih join the line to the previous one. */
	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	/* inih: room for CR, LF and NUL */
	if (!conf_line_keep(p, s, len, (size_t)num - 3))
		len = 0;
	memcpy(str, s, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

int
conf_parse_init(struct conf_parse *p, const char *buf, size_t len,
    const char *name, enum conf_scope scope, void *target,
    struct conf_errs *e)
{
	const char	*slash;

	memset(p, 0, sizeof(*p));
	p->name = name;
	p->buf = buf;
	p->len = len;
	p->scope = scope;
	p->target = target;
	p->errs = e;
	if ((slash = strrchr(name, '/')) != NULL) {
		p->dir = slash == name ? bk_strdup("/") :
		    strndup(name, (size_t)(slash - name));
		if (p->dir == NULL) {
			e->nomem = 1;
			return BK_E_NOMEM;
		}
	}
	return BK_OK;
}

void
conf_parse_cleanup(struct conf_parse *p)
{
	free(p->dir);
	p->dir = NULL;
}

void
conf_parse_required(struct conf_parse *p, int flags, const char *because)
{
	size_t	 i;

	for (i = 0; i < BK_NELEM(conf_keywords); i++) {
		const struct conf_keyword *kw = &conf_keywords[i];

		if (kw->scope != p->scope || !(kw->flags & flags) ||
		    p->lines[i] != 0)
			continue;
		if (because != NULL)
			conf_err(p->errs, p->name,
			    conf_missing_line(p, kw->section), "missing "
			    "required key [%s] %s (%s)", kw->section, kw->name,
			    because);
		else
			conf_err(p->errs, p->name,
			    conf_missing_line(p, kw->section), "missing "
			    "required key [%s] %s", kw->section, kw->name);
	}
}

void
conf_parse_run(struct conf_parse *p)
{
	size_t	 i;
	int	 rv;

	/*
	 * Defaults first, so that a key whose value is refused still holds
	 * a valid one and later checks see a consistent struct.
	 */
	for (i = 0; i < BK_NELEM(conf_keywords); i++) {
		const struct conf_keyword *kw = &conf_keywords[i];

		if (kw->scope != p->scope || kw->def == NULL ||
		    (kw->flags & CONF_DERIVED))
			continue;
		(void)conf_value_set(p, 0, kw, kw->def);
	}
	rv = ini_parse_stream(conf_ini_reader_cb, p, conf_ini_handler_cb, p);
	if (rv == -2)
		p->errs->nomem = 1;
	else if (rv != 0 && p->errs->n == 0)
		conf_err(p->errs, p->name, rv > 0 ? rv : 0, "syntax error");
	conf_parse_required(p, CONF_REQUIRED, NULL);
}

/* broker.conf --------------------------------------------------------- */

/* [server] derived values: the parsed proxies, the instance name. */
static void
conf_broker_derive(struct conf_parse *p, struct conf *c)
{
	const char	*why;
	char		 host[256];
	size_t		 i;

	for (i = 0; i < c->n_trusted_proxies; i++)
		(void)conf_cidr_parse(c->trusted_proxies[i], &c->proxies[i],
		    &why);	/* checked by conf_cidr_check() */
	if (c->instance != NULL)
		return;
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "sso-broker");
	host[sizeof(host) - 1] = '\0';
	if ((c->instance = bk_strdup(host)) == NULL)
		p->errs->nomem = 1;
}

/*
 * [server] user: the account the workers run as, looked up now so that
 * --check-config and a reload refuse an account that does not exist.
 * Named: it must exist (root only when named so).  Not named: sso-broker,
 * or nobody where the package did not create it (logged at start).
 */
static void
conf_broker_user(struct conf_parse *p, struct conf *c)
{
	struct passwd	*pw;
	int		 line = conf_parse_line(p, "server", "user");

	if (c->user == NULL && (c->user = bk_strdup("sso-broker")) == NULL) {
		p->errs->nomem = 1;
		return;
	}
	if ((pw = getpwnam(c->user)) == NULL && line == 0 &&
	    (pw = getpwnam("nobody")) != NULL) {
		c->user_fallback = 1;	/* a dump names what is in force */
		free(c->user);
		if ((c->user = bk_strdup("nobody")) == NULL) {
			p->errs->nomem = 1;
			return;
		}
	}
	if (pw == NULL) {
		conf_err(p->errs, p->name, line, "user %s does not exist "
		    "(create the account, name another one, or `user = root` "
		    "to keep the workers as root)", c->user);
		return;
	}
	c->run_uid = pw->pw_uid;
	c->run_gid = pw->pw_gid;
	c->run_root = pw->pw_uid == 0 || geteuid() != 0;
}

/* Cross-field rules of broker.conf that need no file system. */
static void
conf_broker_check(struct conf_parse *p, struct conf *c)
{
	struct conf_url_parts	 u;
	const char		*why, *h;
	size_t			 l, hl;
	int			 port;

	if (c->public_url != NULL) {
		l = strlen(c->public_url);
		if (l > 0 && c->public_url[l - 1] == '/')
			c->public_url[l - 1] = '\0';
		if (conf_url_split(c->public_url, &u, &why) == BK_OK)
			c->public_is_loopback_http = !u.https &&
			    conf_host_is_loopback(u.host, u.hostlen);
	}
	/* The admin API carries a bearer token: never in clear off-host. */
	if (c->admin_listen != NULL && c->tls_cert == NULL &&
	    conf_authority_parse(c->admin_listen, strlen(c->admin_listen), &h,
	    &hl, &port, 1, &why) == BK_OK && !conf_host_is_loopback(h, hl))
		conf_err(p->errs, p->name, conf_parse_line(p, "server",
		    "admin_listen"), "admin_listen %s is not a loopback "
		    "address; set tls_cert and tls_key or listen on 127.0.0.1",
		    c->admin_listen);
	/* The console's address for browsers: the admin listener itself. */
	if (c->console_url == NULL && c->admin_listen != NULL &&
	    (c->console_url = malloc(l = strlen(c->admin_listen) + 9)) !=
	    NULL)
		snprintf(c->console_url, l, "%s://%s", c->tls_cert != NULL ?
		    "https" : "http", c->admin_listen);
	if (c->console_url != NULL && (l = strlen(c->console_url)) > 0 &&
	    c->console_url[l - 1] == '/')
		c->console_url[l - 1] = '\0';
	if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
		if (c->tls_cert != NULL)
			conf_err(p->errs, p->name, conf_parse_line(p, "server",
			    "tls_cert"), "tls_cert is set without tls_key");
		else
			conf_err(p->errs, p->name, conf_parse_line(p, "server",
			    "tls_key"), "tls_key is set without tls_cert");
	}
	conf_broker_derive(p, c);
	conf_broker_user(p, c);
	conf_redis_check(p, &c->redis);
}

/* Parse and check broker.conf text; *lines gets where each key was set. */
static int
conf_broker_parse(const char *buf, size_t len, const char *name,
    struct conf **out, struct conf_errs *e, int *lines)
{
	struct conf_parse	 p;
	struct conf		*c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->file = bk_strdup(name)) == NULL) {
		free(c);
		e->nomem = 1;
		return BK_E_NOMEM;
	}
	if (conf_parse_init(&p, buf, len, name, CONF_SCOPE_BROKER, c, e) !=
	    BK_OK) {
		conf_free(c);
		return BK_E_NOMEM;
	}
	conf_parse_run(&p);
	conf_broker_check(&p, c);
	if (lines != NULL)
		memcpy(lines, p.lines, sizeof(p.lines));
	conf_parse_cleanup(&p);
	*out = c;
	return BK_OK;
}

int
conf_parse_string(const char *buf, size_t len, const char *name,
    struct conf **out, char **errors)
{
	struct conf_errs	 e;
	struct conf		*c = NULL;
	int			 rv;

	*out = NULL;
	*errors = NULL;
	conf_errs_init(&e);
	(void)conf_broker_parse(buf, len, name, &c, &e, NULL);
	if ((rv = conf_errs_finish(&e, errors)) != BK_OK) {
		conf_free(c);
		return rv;
	}
	*out = c;
	return BK_OK;
}

static int
conf_line_of(const int *lines, const char *section, const char *name)
{
	const struct conf_keyword *kw;

	kw = conf_kw_find(CONF_SCOPE_BROKER, section, name);
	return kw != NULL ? lines[conf_kw_index(kw)] : 0;
}

/*
 * [audit] key_file: a secret file holding the initial key (64 hex digits)
 * or the state the broker keeps in it (lib/chain.h); never printed.
 */
static void
conf_audit_key_check(struct conf *c, const int *lines, struct conf_errs *e)
{
	struct bk_chain_key	 k;
	char			*text = NULL;
	int			 line;

	line = conf_line_of(lines, "audit", "key_file");
	if (conf_file_check(e, c->file, line, c->audit_key_file, 1, 1,
	    2 * BK_CHAIN_KEY_LEN, &text) != BK_OK)
		return;
	if (bk_chain_key_parse(text, strlen(text), &k) != BK_OK)
		conf_err(e, c->file, line, "%s: not an audit key (64 hex "
		    "digits, as ssoctl audit keygen writes)",
		    c->audit_key_file);
	bk_chain_key_cleanup(&k);
	bk_strfree_secret(text);
}

/* Checks of broker.conf that open files: keys, token, audit dir. */
static void
conf_broker_files_check(struct conf *c, const int *lines,
    struct conf_errs *e)
{
	struct stat	 st;
	char		*tok = NULL, *dir, *slash;

	if (c->tls_cert != NULL)
		(void)conf_file_check(e, c->file, conf_line_of(lines, "server",
		    "tls_cert"), c->tls_cert, 0, 0, 0, NULL);
	if (c->tls_key != NULL)
		(void)conf_file_check(e, c->file, conf_line_of(lines, "server",
		    "tls_key"), c->tls_key, 1, 0, 0, NULL);
	if (c->admin_token_file != NULL && conf_file_check(e, c->file,
	    conf_line_of(lines, "admin", "token_file"), c->admin_token_file, 1,
	    1, CONF_SECRET_MINLEN, &tok) == BK_OK) {
		/* Keep only the digest: the token is compared hashed. */
		bk_sha256_hex(tok, strlen(tok), c->admin_token_digest);
		bk_strfree_secret(tok);
	}
	if (c->audit_key_file != NULL)
		conf_audit_key_check(c, lines, e);
	if (c->audit_path != NULL) {
		if ((dir = bk_strdup(c->audit_path)) == NULL) {
			e->nomem = 1;
			return;
		}
		if ((slash = strrchr(dir, '/')) != NULL)
			slash[slash == dir ? 1 : 0] = '\0';
		else {
			free(dir);
			dir = bk_strdup(".");
		}
		if (dir != NULL && (stat(dir, &st) == -1 ||
		    !S_ISDIR(st.st_mode)))
			conf_err(e, c->file, conf_line_of(lines, "audit",
			    "path"), "audit path %s: directory %s does not "
			    "exist", c->audit_path, dir);
		else if (stat(c->audit_path, &st) == 0 && !S_ISREG(st.st_mode))
			conf_err(e, c->file, conf_line_of(lines, "audit",
			    "path"), "audit path %s is not a regular file",
			    c->audit_path);
		free(dir);
	}
	if (c->tenants_dir != NULL)
		conf_tenants_load(c, conf_line_of(lines, "tenants", "dir"), e);
}

int
conf_load(const char *path, struct conf **out, char **errors)
{
	struct conf_errs	 e;
	struct conf		*c = NULL;
	char			*abs = NULL, *buf = NULL, cwd[PATH_MAX];
	size_t			 len = 0;
	int			 lines[CONF_KW_MAX], rv;

	*out = NULL;
	*errors = NULL;
	conf_errs_init(&e);
	/* Relative paths inside are relative to the file, not the cwd. */
	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL) {
		if (asprintf(&abs, "%s/%s", cwd, path) < 0)
			abs = NULL;
	} else
		abs = bk_strdup(path);
	if (abs == NULL) {
		e.nomem = 1;
		goto out;
	}
	if (conf_file_read(&e, NULL, 0, abs, CONF_FILE_MAX, &buf, &len) !=
	    BK_OK)
		goto out;
	if (conf_broker_parse(buf, len, abs, &c, &e, lines) != BK_OK)
		goto out;
	conf_broker_files_check(c, lines, &e);
 out:
	free(abs);
	free(buf);
	if ((rv = conf_errs_finish(&e, errors)) != BK_OK) {
		conf_free(c);
		return rv;
	}
	*out = c;
	return BK_OK;
}

void
conf_free(struct conf *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_tenants; i++)
		conf_tenant_free(c->tenants[i]);
	free(c->tenants);
	free(c->file);
	free(c->listen);
	free(c->public_url);
	free(c->admin_listen);
	free(c->console_url);
	free(c->tls_cert);
	free(c->access_log);
	free(c->tls_key);
	for (i = 0; i < c->n_trusted_proxies; i++)
		free(c->trusted_proxies[i]);
	free(c->instance);
	free(c->user);
	conf_redis_cleanup(&c->redis);
	free(c->audit_path);
	free(c->audit_key_file);
	free(c->audit_syslog);
	free(c->admin_token_file);
	free(c->tenants_dir);
	bk_freezero(c, sizeof(*c));
}

const char *
conf_consent_name(enum conf_consent v)
{
	const struct conf_enum_val *ev;

	for (ev = conf_consent_vals; ev->name != NULL; ev++)
		if (ev->val == (int)v)
			return ev->name;
	return "unknown";
}

const char *
conf_login_name(enum conf_login v)
{
	const struct conf_enum_val *ev;

	for (ev = conf_login_vals; ev->name != NULL; ev++)
		if (ev->val == (int)v)
			return ev->name;
	return "unknown";
}
