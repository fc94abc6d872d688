/*
 * sso-broker: configuration (broker.conf and one file per tenant).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Table-driven strict INI parsing on libinih: unknown key, repeated key,
 * bad value, missing required key are all reported as "file:line: reason",
 * every error collected before failing.  Phases: parse, check (defaults and
 * cross-field rules, secret-file permissions, secrets loaded), then frozen:
 * after conf_load() returns the struct is read-only.
 * Trust: the files are operator input; secrets are zeroed on free.
 */
#ifndef BK_CONF_H
#define BK_CONF_H

#include <stddef.h>
#include <sys/types.h>

#define CONF_TENANT_ID_MAX	64
#define CONF_MAX_REDIRECT_URIS	16
/* [admin] users, auditors of a tenant file: Salesforce usernames each */
#define CONF_MAX_CONSOLE_USERS	64
#define CONF_MAX_SENTINELS	8
#define CONF_MAX_PROXIES	32

enum conf_login { CONF_LOGIN_SAML = 2, CONF_LOGIN_OIDC };
enum conf_consent { CONF_CONSENT_FIRST_USE = 2, CONF_CONSENT_ALWAYS,
    CONF_CONSENT_NEVER };

struct conf_saml {
	char	*idp_metadata;		/* path, required for login=saml */
	char	*sp_key;		/* path, secret (0600) */
	char	*sp_cert;		/* path */
	/* default: <public_url>/t/<id>/saml/metadata */
	char	*sp_entity_id;
	int	 allow_idp_initiated;	/* default 0 */
	int	 clock_skew;		/* seconds, default 60, 0..300 */
	int	 allow_sha1;		/* default 0 */
	int	 keep_raw_assertions;	/* default 0: the Response kept */
	/* default 0: is_portal_user=true refused */
	int	 allow_portal_users;
	char	*username_attribute;	/* NULL (default): the NameID */
	int	 max_authn_age;		/* seconds, 0 = off (default) */
	int	 sign_requests;		/* default 0: AuthnRequests unsigned */
	/* IdP metadata from a URL; idp_metadata is then its backing file */
	char	*idp_metadata_url;	/* https://, or NULL (file only) */
	int	 metadata_refresh;	/* seconds, default 3600, 60.. */
	char	*metadata_signing_cert;	/* path, PEM pin, or NULL */
	char	*metadata_ca_file;	/* path, or NULL: the system's CAs */
	/* encrypted assertions (issue 11 item 3, saml/saml_enc.c) */
	char	*sp_next_key;		/* path, secret: the rollover key */
	char	*sp_next_cert;		/* path: its certificate */
	int	 require_encryption;	/* default 0: plain assertions too */
	int	 allow_cbc;		/* default 0: AES-GCM content only */
};

struct conf_oidc {
	char	*issuer;
	char	*client_id;
	char	*client_secret_file;
	char	*client_secret;		/* loaded, secret */
	char	*authorize_url, *token_url, *jwks_url, *userinfo_url;
	char	*ca_file;
	char	*org_id;		/* required: the org that may sign in */
	char	*scope;			/* default "openid id" */
};

struct conf_panel {
	char	*client_id;		/* required */
	char	*client_secret_file;	/* required, secret (0600) */
	/* loaded (trailing newline stripped), secret */
	char	*client_secret;
	/* at least one, exact match */
	char	*redirect_uris[CONF_MAX_REDIRECT_URIS];
	size_t	 n_redirect_uris;
	char	*initiate_login_uri;	/* where IdP-initiated sign-ins end */
};

struct conf_policy {
	enum conf_consent consent;	/* default first_use */
	int	 code_ttl;		/* seconds, default 60, 10..600 */
	/* seconds, default 28800, 300..604800 */
	int	 session_ttl;
};

/*
 * A [redis] section: broker.conf's (the default store) or a tenant's own
 * (conf_tenant_has_redis()).  One parser and one set of checks for both
 * (conf.c, conf_redis_check()).
 */
struct conf_redis {
	char	*url;			/* default redis://127.0.0.1:6379/0 */
	/* url split up (derived; exactly one of host and unix_path set) */
	char	*host;			/* TCP host, NULL for unix:// */
	int	 port;			/* default 6379 */
	char	*unix_path;		/* unix:///path, else NULL */
	int	 db;			/* /N or ?db=N, default 0 */
	char	*user;			/* ACL user or NULL */
	char	*password;		/* AUTH password or NULL, secret */
	char	*sentinels[CONF_MAX_SENTINELS];	/* host:port, comma separated */
	size_t	 n_sentinels;
	char	*master_name;		/* required with sentinels */
	/* default 2000, 50..60000; a tenant's: broker.conf's unless set */
	int	 timeout_ms;
};

struct conf_tenant {
	char	*id;			/* [a-z0-9-]{1,63}, unique */
	char	*file;			/* the file it came from */
	enum conf_login login;		/* default saml */
	int	 sso_enabled;		/* enable_salesforce_sso = true */
	struct conf_saml saml;
	struct conf_oidc oidc;
	/* the provider's trust store (struct hout_trust), the parent's */
	void	*oidc_trust;
	struct conf_panel panel;
	struct conf_policy policy;
	/* derived: <public_url>/t/<id>/saml/acs */
	char	*acs_url;
	/* derived: <public_url>/t/<id>/saml/metadata */
	char	*metadata_url;
	/* struct saml_tenant *, owned by the caller (built by proc.c) */
	void	*saml_sp;
	/* idp_metadata_url's trust store (struct hout_trust), the parent's */
	void	*md_trust;
	/* [redis]: the tenant's own store, or none (no url, no sentinels) */
	struct conf_redis redis;
	/*
	 * [admin] users, auditors: the Salesforce usernames that hold the
	 * web console's admin and auditor roles for this tenant.
	 */
	char	*console_admins[CONF_MAX_CONSOLE_USERS];
	size_t	 n_console_admins;
	char	*console_auditors[CONF_MAX_CONSOLE_USERS];
	size_t	 n_console_auditors;
};

/* An address block of [server] trusted_proxies (conf_proxy.c). */
struct conf_cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];	/* network byte order */
	int		 bits;		/* prefix length */
};

struct conf {
	char	*file;
	/* [server] */
	char	*listen;		/* host:port, default 127.0.0.1:8080 */
	/* required, http(s)://host[:port], no path */
	char	*public_url;
	char	*admin_listen;		/* default 127.0.0.1:8081 */
	/* where browsers reach the console; default http://<admin_listen> */
	char	*console_url;
	int	 workers;		/* default 0 = one per core */
	char	*tls_cert, *tls_key;	/* both or neither; key is secret */
	char	*access_log;		/* path, or NULL: no access log */
	int	 public_is_loopback_http;	/* derived */
	/* CIDR list, as written; proxies: parsed (derived) */
	char	*trusted_proxies[CONF_MAX_PROXIES];
	size_t	 n_trusted_proxies;
	struct conf_cidr proxies[CONF_MAX_PROXIES];
	char	*instance;		/* default: the host name */
	/*
	 * The workers' account (default sso-broker), resolved at load
	 * (derived): run_uid/run_gid; run_root when it is root (only when
	 * named explicitly, or when the broker does not run as root at all);
	 * user_fallback when the default account does not exist and nobody
	 * is used instead.
	 */
	char	*user;
	uid_t	 run_uid;
	gid_t	 run_gid;
	int	 run_root;
	int	 user_fallback;
	/* [redis] */
	struct conf_redis redis;
	/* [audit] */
	char	*audit_path;		/* required */
	char	*audit_key_file;	/* secret; NULL: no keyed seals */
	int	 audit_epoch;		/* seconds a key epoch, default 3600 */
	int	 audit_fsync;		/* default 1: durable before answer */
	int	 audit_min_free_mb;	/* default 1024: low-space warning */
	int	 audit_aggregate_interval;	/* seconds, default 60 */
	int	 audit_junk_records;	/* own junk records a minute (500) */
	/* the shared streams (store_audit.c), issue 9 */
	int	 audit_stream_retention;	/* days, default 90 */
	int	 audit_stream_max;	/* per stream, default 10000000 */
	char	*audit_syslog;		/* unix:/path, udp://ip:port or NULL */
	/* [admin] */
	char	*admin_token_file;	/* required, secret (0600) */
	char	 admin_token_digest[65];	/* hex SHA-256 of the token */
	/* [tenants] */
	char	*tenants_dir;		/* required */
	struct conf_tenant **tenants;	/* sorted by id */
	size_t	 n_tenants;
};

/* Keyword table flags. */
#define CONF_SECRET	0x01	/* a secret file: 0600, owner euid or root */
#define CONF_REQUIRED	0x02	/* must be given */
#define CONF_REPEATABLE	0x04	/* may be given several times */
#define CONF_REQ_SAML	0x08	/* required when login = saml */
#define CONF_REQ_OIDC	0x10	/* required when login = oidc */
#define CONF_DERIVED	0x20	/* default computed at check time */
#define CONF_RELOADABLE	0x40	/* takes effect on SIGHUP without a restart */
#define CONF_MASKED	0x80	/* may carry a password: never quoted, masked */

enum conf_scope { CONF_SCOPE_BROKER = 1, CONF_SCOPE_TENANT };
enum conf_type {
	CONF_T_STRING = 1,	/* printable, no leading/trailing space */
	CONF_T_BOOL,		/* exactly "true" or "false" */
	CONF_T_INT,		/* decimal in [min, max] */
	CONF_T_ENUM,		/* one of enums[] */
	CONF_T_PATH,		/* file name, relative to the file's dir */
	CONF_T_URL,		/* absolute URL, checked by the validator */
	/* comma-separated, each checked by the validator */
	CONF_T_LIST
};

struct conf_enum_val {
	const char	*name;
	int		 val;
};

/** One directive [OpenSSH servconf keywords, Redis configs[]]. */
struct conf_keyword {
	enum conf_scope	 scope;
	const char	*section;	/* without brackets */
	const char	*name;
	enum conf_type	 type;
	long long	 min, max;	/* CONF_T_INT range */
	/* default as written in a file, or NULL */
	const char	*def;
	int		 flags;		/* CONF_* above */
	size_t		 off;		/* field in struct conf / conf_tenant */
	/* size_t count field (lists, repeatable) */
	size_t		 off_n;
	size_t		 max_n;		/* array capacity (lists, repeatable) */
	const struct conf_enum_val *enums;	/* NULL-name terminated */
	/** Syntax check of one value: BK_OK, or BK_E_INVAL with *why set. */
	int		(*validate)(const char *val, const char **why);
};

/** The keyword table (every directive of both file kinds); *n its length. */
const struct conf_keyword *conf_keywords_table(size_t *n);

/**
 * Parse broker.conf syntax from memory and apply the checks that need no
 * file system: syntax, ranges, defaults, cross-field rules.  Tenants are
 * not loaded, secrets not read, paths not opened (the fuzz entry point;
 * conf_load() uses it first).
 * @param buf	borrowed, len bytes, need not be NUL-terminated.
 * @param name	borrowed: the file name used in messages; relative paths
 *		in the text are resolved against its directory.
 * @param out	returned-owned on success (conf_free()).
 * @param errors returned-owned on failure, as for conf_load().
 * @return BK_OK, BK_E_CONF_SYNTAX, BK_E_NOMEM.
 */
int	conf_parse_string(const char *buf, size_t len, const char *name,
	    struct conf **out, char **errors);

/**
 * Load and check path and every *.conf in its tenants dir.
 * @param path	borrowed.
 * @param out	returned-owned on success (free with conf_free()).
 * @param errors returned-owned on failure: one "file:line: reason" a line,
 *		every error found (NULL on success).
 * @return BK_OK, BK_E_CONF_SYNTAX, BK_E_CONF_SECRET_PERM (the only
 *	   errors were secret-file permissions), BK_E_NOMEM.
 * Runs in the parent (start and SIGHUP); never in a worker.
 */
int	conf_load(const char *path, struct conf **out, char **errors);
void	conf_free(struct conf *c);
/** Tenant by id, or NULL.  Borrowed, valid while c lives. */
struct conf_tenant *conf_tenant_lookup(const struct conf *c, const char *id);
/** Tenant whose [panel] client_id is client_id, or NULL. */
struct conf_tenant *conf_tenant_by_client(const struct conf *c,
    const char *client_id);
/** 1 if the tenant names a store of its own ([redis] url or sentinels). */
int	conf_tenant_has_redis(const struct conf_tenant *t);
/**
 * 1 if a and b name the same data store (address or sentinels and
 * master, database, user, password, timeout): one connection serves both.
 */
int	conf_redis_same(const struct conf_redis *a, const struct conf_redis *b);
/** 1 if uri is one of the tenant's registered redirect_uris (exact match). */
int	conf_redirect_uri_ok(const struct conf_tenant *t, const char *uri);
/**
 * Print the effective configuration with secrets masked (-T): INI text,
 * every default filled in, that conf_parse_string() accepts again.
 * @param stdio_file a FILE *.
 */
void	conf_dump(const struct conf *c, void *stdio_file);
/**
 * Parse "address[/bits]", IPv4 or IPv6 (inet_pton); a bare address is a
 * host (/32, /128); no bits may be set beyond the prefix.
 * @return BK_OK, or BK_E_INVAL with *why (static text).
 */
int	conf_cidr_parse(const char *s, struct conf_cidr *out, const char **why);
/** 1 if the address text addr is in [server] trusted_proxies. */
int	conf_proxy_is_trusted(const struct conf *c, const char *addr);
/**
 * The client of a request from peer (an address text) with these
 * X-Forwarded-For and Forwarded values (every field line of each joined
 * with ","; NULL when absent), believed only when peer is a trusted
 * proxy: from the right, trusted proxies skipped, the first other
 * address.  out gets a canonical address (inet_ntop), never header text.
 * Pure: no I/O; any process.
 * @return BK_OK, or BK_E_INVAL (a header malformed, hiding the client, or
 *	the two disagreeing): out is the peer and *note says why (static).
 */
int	conf_proxy_client(const struct conf *c, const char *peer,
	    const char *xff, const char *fwd, char *out, size_t size,
	    const char **note);
/**
 * What differs between two loads of one tenant (a NULL: it was added; b
 * NULL: removed): every directive whose effective value changed, keyed
 * "[section] key", as JSON object texts, returned-owned (NULL for a side
 * with nothing).  A secret file's contents are compared, never shown.
 * Parent, on reload (conf_diff.c).
 * @return BK_OK, BK_E_NOMEM.
 */
int	conf_tenant_diff(const struct conf_tenant *a,
	    const struct conf_tenant *b, char **before, char **after);
/**
 * The same for broker.conf's own directives between two loads (neither
 * NULL); the Redis URL is masked, a rotated admin token only said.
 * @return BK_OK, BK_E_NOMEM.
 */
int	conf_broker_diff(const struct conf *a, const struct conf *b,
	    char **before, char **after);
const char *conf_consent_name(enum conf_consent);
const char *conf_login_name(enum conf_login);

#endif /* BK_CONF_H */
