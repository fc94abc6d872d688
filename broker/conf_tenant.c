/*
 * sso-broker: configuration: tenant files and the files a config names.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Every *.conf of the tenants dir (sorted by name, other files ignored)
 * holds exactly one tenant.  Each is parsed by the engine in conf.c, then
 * checked: login-dependent required keys, derived URLs, the files it
 * names (secret files must be private [relayd check_file_secrecy]), and
 * across files: tenant ids and panel client_ids are unique.  Also the
 * effective-configuration dump of both file kinds (conf_dump()).
 * Trust: the files are operator input; secret contents are zeroed on free
 * and never printed.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bk.h"
#include "conf.h"
#include "conf_int.h"

static void	conf_dump_scope(enum conf_scope, const void *, void *);

/* Files ----------------------------------------------------------------- */

static void
conf_err_errno(struct conf_errs *e, const char *file, int line,
    const char *path, int err)
{
	if (file == NULL)
		conf_err(e, path, 0, "%s", strerror(err));
	else
		conf_err(e, file, line, "%s: %s", path, strerror(err));
}

/*
 * Open path and check, on the descriptor (no race with a rename), that it
 * is a regular file and, for a secret, that only its owner (us or root)
 * can read it.
 */
static int
conf_file_open(struct conf_errs *e, const char *file, int line,
    const char *path, int secret, int *fdp, struct stat *st)
{
	int	 fd;

	*fdp = -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		conf_err_errno(e, file, line, path, errno);
		return BK_E_CONF_SYNTAX;
	}
	if (fstat(fd, st) == -1) {
		conf_err_errno(e, file, line, path, errno);
		close(fd);
		return BK_E_CONF_SYNTAX;
	}
	if (!S_ISREG(st->st_mode)) {
		conf_err(e, file != NULL ? file : path, line, "%s is not a "
		    "regular file", path);
		close(fd);
		return BK_E_CONF_SYNTAX;
	}
	if (secret && st->st_uid != 0 && st->st_uid != geteuid()) {
		conf_err_perm(e, file != NULL ? file : path, line,
		    "%s is owned by uid %u, not by uid %u or root; chown it",
		    path, (unsigned)st->st_uid, (unsigned)geteuid());
		close(fd);
		return BK_E_CONF_SECRET_PERM;
	}
	if (secret && (st->st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		conf_err_perm(e, file != NULL ? file : path, line,
		    "%s is readable by group or others (mode %04o); chmod 600 "
		    "it",
		    path, (unsigned)(st->st_mode & 07777));
		close(fd);
		return BK_E_CONF_SECRET_PERM;
	}
	*fdp = fd;
	return BK_OK;
}

/*
 * Read the whole of fd (st from fstat) into one buffer of its exact size,
 * so that a secret is never left behind by a realloc; more than max bytes
 * is an error.
 */
static int
conf_fd_read(struct conf_errs *e, const char *file, int line,
    const char *path, int fd, const struct stat *st, size_t max, char **buf,
    size_t *len)
{
	char	*b;
	size_t	 n = 0, cap;
	ssize_t	 r;

	*buf = NULL;
	*len = 0;
	if (st->st_size < 0 || (unsigned long long)st->st_size > max) {
		conf_err(e, file != NULL ? file : path, line,
		    "%s is larger than %zu bytes", path, max);
		return BK_E_CONF_SYNTAX;
	}
	cap = (size_t)st->st_size + 1;	/* +1: see growth, hold the NUL */
	if ((b = malloc(cap)) == NULL) {
		e->nomem = 1;
		return BK_E_NOMEM;
	}
	for (;;) {
		r = read(fd, b + n, cap - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			conf_err_errno(e, file, line, path, errno);
			bk_freezero(b, cap);
			return BK_E_CONF_SYNTAX;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			conf_err(e, file != NULL ? file : path, line,
			    "%s changed while being read", path);
			bk_freezero(b, cap);
			return BK_E_CONF_SYNTAX;
		}
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return BK_OK;
}

int
conf_file_read(struct conf_errs *e, const char *file, int line,
    const char *path, size_t max, char **buf, size_t *len)
{
	struct stat	 st;
	int		 fd, rv;

	*buf = NULL;
	*len = 0;
	if ((rv = conf_file_open(e, file, line, path, 0, &fd, &st)) != BK_OK)
		return rv;
	rv = conf_fd_read(e, file, line, path, fd, &st, max, buf, len);
	close(fd);
	return rv;
}

int
conf_file_check(struct conf_errs *e, const char *file, int line,
    const char *path, int secret, int load, size_t minlen, char **out)
{
	struct stat	 st;
	char		*b;
	size_t		 n;
	int		 fd, rv;

	if (out != NULL)
		*out = NULL;
	if ((rv = conf_file_open(e, file, line, path, secret, &fd, &st)) !=
	    BK_OK)
		return rv;
	if (!load) {
		close(fd);
		return BK_OK;
	}
	rv = conf_fd_read(e, file, line, path, fd, &st, CONF_SECRET_MAX, &b,
	    &n);
	close(fd);
	if (rv != BK_OK)
		return rv;
	while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r'))
		b[--n] = '\0';
	if (strlen(b) != n || !bk_str_is_printable(b) || n < minlen) {
		if (n < minlen)
			conf_err(e, file, line,
			    "%s: the secret is %s; at least "
			    "%zu characters are needed", path, n == 0 ?
			    "empty" : "too short", minlen);
		else
			conf_err(e, file, line, "%s: the secret must be one "
			    "line of printable ASCII", path);
		bk_freezero(b, (size_t)st.st_size + 1);
		return BK_E_CONF_SYNTAX;
	}
	*out = b;
	return BK_OK;
}

/* One tenant ---------------------------------------------------------- */

void
conf_tenant_free(struct conf_tenant *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	free(t->id);
	free(t->file);
	free(t->saml.idp_metadata);
	free(t->saml.sp_key);
	free(t->saml.sp_cert);
	free(t->saml.sp_next_key);
	free(t->saml.sp_next_cert);
	free(t->saml.sp_entity_id);
	free(t->saml.username_attribute);
	free(t->saml.idp_metadata_url);
	free(t->saml.metadata_signing_cert);
	free(t->saml.metadata_ca_file);
	free(t->oidc.issuer);
	free(t->oidc.client_id);
	free(t->oidc.client_secret_file);
	bk_strfree_secret(t->oidc.client_secret);
	free(t->oidc.authorize_url);
	free(t->oidc.token_url);
	free(t->oidc.jwks_url);
	free(t->oidc.userinfo_url);
	free(t->oidc.ca_file);
	free(t->oidc.org_id);
	free(t->oidc.scope);
	free(t->panel.client_id);
	free(t->panel.client_secret_file);
	bk_strfree_secret(t->panel.client_secret);
	for (i = 0; i < t->panel.n_redirect_uris; i++)
		free(t->panel.redirect_uris[i]);
	free(t->panel.initiate_login_uri);
	free(t->acs_url);
	free(t->metadata_url);
	conf_redis_cleanup(&t->redis);
	for (i = 0; i < t->n_console_admins; i++)
		free(t->console_admins[i]);
	for (i = 0; i < t->n_console_auditors; i++)
		free(t->console_auditors[i]);
	bk_freezero(t, sizeof(*t));
}

static const char *const conf_oidc_endpoints[] = {
	"authorize_url", "token_url", "jwks_url", "userinfo_url"
};

/*
 * The endpoints come from the issuer's discovery document, or all four
 * from the file (then nothing is fetched at start): never a mix.
 */
static void
conf_oidc_endpoints_check(struct conf_parse *p)
{
	size_t	 i, n = 0;
	int	 line = 0, l;

	for (i = 0; i < BK_NELEM(conf_oidc_endpoints); i++)
		if ((l = conf_parse_line(p, "oidc", conf_oidc_endpoints[i])) !=
		    0) {
			n++;
			if (line == 0 || l < line)
				line = l;
		}
	if (n != 0 && n != BK_NELEM(conf_oidc_endpoints))
		conf_err(p->errs, p->name, line, "[oidc] authorize_url, "
		    "token_url, jwks_url and userinfo_url are given all four "
		    "or none (then they come from the issuer's discovery "
		    "document)");
}

/* A [saml] key in a tenant that signs in with OAuth contradicts it. */
static void
conf_saml_unused_check(struct conf_parse *p)
{
	static const char *const keys[] = { "idp_metadata", "sp_key",
	    "sp_cert", "sp_entity_id", "allow_idp_initiated", "clock_skew",
	    "allow_sha1", "allow_portal_users", "username_attribute",
	    "max_authn_age", "keep_raw_assertions", "sign_requests",
	    "sp_next_key", "sp_next_cert", "require_encryption", "allow_cbc" };
	size_t	 i;
	int	 l;

	for (i = 0; i < BK_NELEM(keys); i++)
		if ((l = conf_parse_line(p, "saml", keys[i])) != 0) {
			conf_err(p->errs, p->name, l, "[saml] %s is set but "
			    "this tenant signs in with login = oidc", keys[i]);
			return;
		}
}

/*
 * [saml] idp_metadata_url: idp_metadata stays required (the backing file,
 * used at start and while the URL fails); the keys that only serve the
 * URL mean nothing without it, and nothing in an OAuth tenant.
 */
static void
conf_mdurl_check(struct conf_parse *p, const struct conf_tenant *t)
{
	static const char *const keys[] = { "idp_metadata_url",
	    "metadata_refresh", "metadata_signing_cert", "metadata_ca_file" };
	size_t	 i;
	int	 l;

	for (i = 0; i < BK_NELEM(keys); i++) {
		if ((l = conf_parse_line(p, "saml", keys[i])) == 0)
			continue;
		if (t->login == CONF_LOGIN_OIDC)
			conf_err(p->errs, p->name, l, "[saml] %s is set but "
			    "this tenant signs in with login = oidc", keys[i]);
		else if (i > 0 && t->saml.idp_metadata_url == NULL)
			conf_err(p->errs, p->name, l, "[saml] %s needs "
			    "idp_metadata_url", keys[i]);
		else
			continue;
		return;
	}
}

/*
 * The backing file of idp_metadata_url is replaced by a refreshed copy
 * (a temporary file renamed over it): its directory must be writable.
 */
static void
conf_mdurl_files_check(struct conf_parse *p, const struct conf_tenant *t)
{
	struct conf_errs	*e = p->errs;
	char			*dir, *slash;

	if (t->saml.idp_metadata_url == NULL || t->saml.idp_metadata == NULL)
		return;
	if (t->saml.metadata_signing_cert != NULL)
		(void)conf_file_check(e, p->name, conf_parse_line(p, "saml",
		    "metadata_signing_cert"), t->saml.metadata_signing_cert, 0,
		    0, 0, NULL);
	if (t->saml.metadata_ca_file != NULL)
		(void)conf_file_check(e, p->name, conf_parse_line(p, "saml",
		    "metadata_ca_file"), t->saml.metadata_ca_file, 0, 0, 0,
		    NULL);
	if ((dir = bk_strdup(t->saml.idp_metadata)) == NULL) {
		e->nomem = 1;
		return;
	}
	if ((slash = strrchr(dir, '/')) != NULL)
		slash[slash == dir ? 1 : 0] = '\0';
	if (access(slash != NULL ? dir : ".", W_OK | X_OK) != 0)
		conf_err(e, p->name, conf_parse_line(p, "saml",
		    "idp_metadata"), "%s: the directory of the backing file "
		    "of idp_metadata_url is not writable: %s",
		    t->saml.idp_metadata, strerror(errno));
	free(dir);
}

/* An [oidc] key in a tenant that signs in with SAML contradicts it. */
static void
conf_oidc_unused_check(struct conf_parse *p)
{
	static const char *const keys[] = { "issuer", "client_id",
	    "client_secret_file", "authorize_url", "token_url", "jwks_url",
	    "userinfo_url", "ca_file", "org_id", "scope" };
	size_t	 i;
	int	 l;

	for (i = 0; i < BK_NELEM(keys); i++)
		if ((l = conf_parse_line(p, "oidc", keys[i])) != 0) {
			conf_err(p->errs, p->name, l, "[oidc] %s is set but "
			    "this tenant signs in with login = saml", keys[i]);
			return;
		}
}

/*
 * The rollover key pair (saml/saml_enc.c): both halves or neither, as
 * sp_key and sp_cert.
 */
static void
conf_next_key_check(struct conf_parse *p, const struct conf_tenant *t)
{
	int	 lk = conf_parse_line(p, "saml", "sp_next_key");
	int	 lc = conf_parse_line(p, "saml", "sp_next_cert");

	if (t->login == CONF_LOGIN_SAML && (lk == 0) != (lc == 0))
		conf_err(p->errs, p->name, lk != 0 ? lk : lc, "[saml] "
		    "sp_next_key and sp_next_cert are given both or neither");
}

int
conf_tenant_has_redis(const struct conf_tenant *t)
{
	return t->redis.url != NULL || t->redis.n_sentinels > 0;
}

/*
 * [redis] in a tenant file: the tenant's own store, checked by the rules
 * of broker.conf's section.  Without url or sentinels the section would
 * mean nothing; timeout_ms is broker.conf's unless the tenant sets it.
 */
static void
conf_tenant_redis_check(struct conf_parse *p, struct conf_tenant *t,
    const struct conf *c)
{
	int	 l;

	if (!conf_tenant_has_redis(t)) {
		if ((l = conf_parse_line(p, "redis", "master_name")) != 0 ||
		    (l = conf_parse_line(p, "redis", "timeout_ms")) != 0)
			conf_err(p->errs, p->name, l, "[redis] needs url or "
			    "sentinels in a tenant file (without them the "
			    "tenant uses broker.conf's store)");
		return;
	}
	conf_redis_check(p, &t->redis);
	if (t->redis.timeout_ms == 0)
		t->redis.timeout_ms = c->redis.timeout_ms;
}

/* Rules that need no file system: login-dependent keys, derived URLs. */
static void
conf_tenant_check(struct conf_parse *p, struct conf_tenant *t,
    const struct conf *c)
{
	if (t->login == CONF_LOGIN_OIDC) {
		conf_parse_required(p, CONF_REQ_OIDC, "login = oidc");
		conf_oidc_endpoints_check(p);
		conf_saml_unused_check(p);
	} else {
		conf_parse_required(p, CONF_REQ_SAML, "login = saml");
		conf_oidc_unused_check(p);
	}
	conf_mdurl_check(p, t);
	conf_next_key_check(p, t);
	conf_tenant_redis_check(p, t, c);
	/*
	 * "NameID" names the default: the subject's NameID, not an attribute.
	 */
	if (t->saml.username_attribute != NULL &&
	    strcmp(t->saml.username_attribute, "NameID") == 0) {
		free(t->saml.username_attribute);
		t->saml.username_attribute = NULL;
	}
	if (t->id == NULL || c->public_url == NULL)
		return;
	if (asprintf(&t->acs_url, "%s/t/%s/saml/acs", c->public_url,
	    t->id) < 0)
		t->acs_url = NULL;
	if (asprintf(&t->metadata_url, "%s/t/%s/saml/metadata",
	    c->public_url, t->id) < 0)
		t->metadata_url = NULL;
	if (t->saml.sp_entity_id == NULL && t->metadata_url != NULL)
		t->saml.sp_entity_id = bk_strdup(t->metadata_url);
	if (t->acs_url == NULL || t->metadata_url == NULL ||
	    t->saml.sp_entity_id == NULL)
		p->errs->nomem = 1;
}

/* The files a tenant names: they must exist, secrets must be private. */
static void
conf_tenant_files_check(struct conf_parse *p, struct conf_tenant *t)
{
	struct conf_errs *e = p->errs;

	if (t->login == CONF_LOGIN_SAML) {
		if (t->saml.idp_metadata != NULL)
			(void)conf_file_check(e, p->name, conf_parse_line(p,
			    "saml", "idp_metadata"), t->saml.idp_metadata, 0, 0,
			    0, NULL);
		if (t->saml.sp_key != NULL)
			(void)conf_file_check(e, p->name, conf_parse_line(p,
			    "saml", "sp_key"), t->saml.sp_key, 1, 0, 0, NULL);
		if (t->saml.sp_cert != NULL)
			(void)conf_file_check(e, p->name, conf_parse_line(p,
			    "saml", "sp_cert"), t->saml.sp_cert, 0, 0, 0, NULL);
		if (t->saml.sp_next_key != NULL)
			(void)conf_file_check(e, p->name, conf_parse_line(p,
			    "saml", "sp_next_key"), t->saml.sp_next_key, 1, 0,
			    0, NULL);
		if (t->saml.sp_next_cert != NULL)
			(void)conf_file_check(e, p->name, conf_parse_line(p,
			    "saml", "sp_next_cert"), t->saml.sp_next_cert, 0,
			    0, 0, NULL);
		conf_mdurl_files_check(p, t);
	} else {
		if (t->oidc.client_secret_file != NULL)
			(void)conf_file_check(e, p->name, conf_parse_line(p,
			    "oidc", "client_secret_file"),
			    t->oidc.client_secret_file, 1, 1, 1,
			    &t->oidc.client_secret);
		if (t->oidc.ca_file != NULL)
			(void)conf_file_check(e, p->name, conf_parse_line(p,
			    "oidc", "ca_file"), t->oidc.ca_file, 0, 0, 0, NULL);
	}
	if (t->panel.client_secret_file != NULL)
		(void)conf_file_check(e, p->name, conf_parse_line(p, "panel",
		    "client_secret_file"), t->panel.client_secret_file, 1, 1,
		    CONF_SECRET_MINLEN, &t->panel.client_secret);
}

/* Where a tenant's unique keys were set, for cross-file messages. */
struct conf_tenant_lines {
	int	 id;
	int	 client_id;
};

static struct conf_tenant *
conf_tenant_load(const struct conf *c, const char *path,
    struct conf_tenant_lines *tl, struct conf_errs *e)
{
	struct conf_parse	 p;
	struct conf_tenant	*t;
	char			*buf;
	size_t			 len;

	if (conf_file_read(e, NULL, 0, path, CONF_FILE_MAX, &buf, &len) !=
	    BK_OK)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->file = bk_strdup(path)) == NULL) {
		free(t);
		free(buf);
		e->nomem = 1;
		return NULL;
	}
	if (conf_parse_init(&p, buf, len, t->file, CONF_SCOPE_TENANT, t, e) !=
	    BK_OK) {
		conf_tenant_free(t);
		free(buf);
		return NULL;
	}
	conf_parse_run(&p);
	conf_tenant_check(&p, t, c);
	conf_tenant_files_check(&p, t);
	tl->id = conf_parse_line(&p, "tenant", "id");
	tl->client_id = conf_parse_line(&p, "panel", "client_id");
	conf_parse_cleanup(&p);
	free(buf);
	return t;
}

/* The tenants dir ------------------------------------------------------ */

static int
conf_name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
conf_tenant_cmp(const void *a, const void *b)
{
	const struct conf_tenant *ta = *(const struct conf_tenant *const *)a;
	const struct conf_tenant *tb = *(const struct conf_tenant *const *)b;

	if (ta->id == NULL || tb->id == NULL)
		return (ta->id == NULL) - (tb->id == NULL);
	return strcmp(ta->id, tb->id);
}

static int
conf_is_tenant_file(const char *n)
{
	size_t	 l = strlen(n);

	/* Hidden files are editor and package-manager leftovers. */
	return n[0] != '.' && l > 5 && strcmp(n + l - 5, ".conf") == 0;
}

/* Sorted names of the *.conf regular files of dir (returned-owned). */
static int
conf_tenant_files(struct conf *c, int dir_line, struct conf_errs *e,
    char ***namesp, size_t *np)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		**names = NULL, **nn, *path;
	size_t		 n = 0, cap = 0;
	int		 rv = BK_E_NOMEM;

	*namesp = NULL;
	*np = 0;
	if (stat(c->tenants_dir, &st) == -1) {
		conf_err_errno(e, c->file, dir_line, c->tenants_dir, errno);
		return BK_E_CONF_SYNTAX;
	}
	if (!S_ISDIR(st.st_mode)) {
		conf_err(e, c->file, dir_line, "tenants dir %s is not a "
		    "directory", c->tenants_dir);
		return BK_E_CONF_SYNTAX;
	}
	if ((d = opendir(c->tenants_dir)) == NULL) {
		conf_err_errno(e, c->file, dir_line, c->tenants_dir, errno);
		return BK_E_CONF_SYNTAX;
	}
	while ((de = readdir(d)) != NULL) {
		if (!conf_is_tenant_file(de->d_name))
			continue;
		if (asprintf(&path, "%s/%s", c->tenants_dir, de->d_name) < 0)
			goto out;
		if (stat(path, &st) == -1 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (n == CONF_TENANTS_MAX) {
			free(path);
			conf_err(e, c->file, dir_line, "more than %d tenant "
			    "files in %s", CONF_TENANTS_MAX, c->tenants_dir);
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nn = reallocarray(names, cap, sizeof(*names))) ==
			    NULL) {
				free(path);
				goto out;
			}
			names = nn;
		}
		names[n++] = path;
	}
	rv = BK_OK;
 out:
	closedir(d);
	if (rv != BK_OK) {
		while (n > 0)
			free(names[--n]);
		free(names);
		e->nomem = 1;
		return rv;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), conf_name_cmp);
	*namesp = names;
	*np = n;
	return BK_OK;
}

/* Tenant ids and panel client_ids must be unique across files. */
static void
conf_tenants_unique(struct conf *c, const struct conf_tenant_lines *tl,
    struct conf_errs *e)
{
	size_t	 i, j;

	for (i = 0; i < c->n_tenants; i++) {
		struct conf_tenant *t = c->tenants[i];

		for (j = 0; j < i; j++) {
			struct conf_tenant *o = c->tenants[j];

			if (t->id != NULL && o->id != NULL &&
			    strcmp(t->id, o->id) == 0) {
				conf_err(e, t->file, tl[i].id, "duplicate "
				    "tenant id '%s' (also in %s:%d)", t->id,
				    o->file, tl[j].id);
				break;
			}
		}
		for (j = 0; j < i; j++) {
			struct conf_tenant *o = c->tenants[j];

			if (t->panel.client_id != NULL &&
			    o->panel.client_id != NULL &&
			    strcmp(t->panel.client_id, o->panel.client_id) ==
			    0) {
				conf_err(e, t->file, tl[i].client_id,
				    "duplicate [panel] client_id '%s' (also in "
				    "%s:%d)", t->panel.client_id, o->file,
				    tl[j].client_id);
				break;
			}
		}
	}
}

void
conf_tenants_load(struct conf *c, int dir_line, struct conf_errs *e)
{
	struct conf_tenant_lines *tl = NULL;
	struct conf_tenant	*t;
	char			**names;
	size_t			 n, i;

	if (conf_tenant_files(c, dir_line, e, &names, &n) != BK_OK)
		return;
	if (n > 0 && ((c->tenants = calloc(n, sizeof(*c->tenants))) == NULL ||
	    (tl = calloc(n, sizeof(*tl))) == NULL)) {
		e->nomem = 1;
		goto out;
	}
	for (i = 0; i < n; i++) {
		t = conf_tenant_load(c, names[i], &tl[c->n_tenants], e);
		if (t != NULL)
			c->tenants[c->n_tenants++] = t;
	}
	conf_tenants_unique(c, tl, e);
	if (c->n_tenants > 0)
		qsort(c->tenants, c->n_tenants, sizeof(*c->tenants),
		    conf_tenant_cmp);
 out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(tl);
}

/* Lookups -------------------------------------------------------------- */

struct conf_tenant *
conf_tenant_lookup(const struct conf *c, const char *id)
{
	size_t	 i;

	if (c == NULL || id == NULL)
		return NULL;
	for (i = 0; i < c->n_tenants; i++)
		if (c->tenants[i]->id != NULL &&
		    strcmp(c->tenants[i]->id, id) == 0)
			return c->tenants[i];
	return NULL;
}

struct conf_tenant *
conf_tenant_by_client(const struct conf *c, const char *client_id)
{
	size_t	 i;

	if (c == NULL || client_id == NULL)
		return NULL;
	for (i = 0; i < c->n_tenants; i++)
		if (c->tenants[i]->panel.client_id != NULL &&
		    strcmp(c->tenants[i]->panel.client_id, client_id) == 0)
			return c->tenants[i];
	return NULL;
}

/* Exact string match, no normalisation [RFC 9700 2.1, RFC 6749 3.1.2.3]. */
int
conf_redirect_uri_ok(const struct conf_tenant *t, const char *uri)
{
	size_t	 i;

	if (t == NULL || uri == NULL)
		return 0;
	for (i = 0; i < t->panel.n_redirect_uris; i++)
		if (strcmp(t->panel.redirect_uris[i], uri) == 0)
			return 1;
	return 0;
}

/* Dump (-T) --------------------------------------------------------------- */

/* The redis URL with any password replaced by "****". */
static void
conf_redis_url_print(FILE *fp, const char *url)
{
	const char	*a, *at, *end, *colon;

	if (strncmp(url, "redis://", 8) != 0) {
		fprintf(fp, "%s", url);
		return;
	}
	a = url + 8;
	end = a + strcspn(a, "/?");
	at = memchr(a, '@', (size_t)(end - a));
	if (at == NULL) {
		fprintf(fp, "%s", url);
		return;
	}
	colon = memchr(a, ':', (size_t)(at - a));
	if (colon == NULL)
		colon = at;
	fprintf(fp, "redis://%.*s:****%s", (int)(colon - a), a, at);
}

static void
conf_dump_scope(enum conf_scope scope, const void *target, void *stdio_file)
{
	FILE		*fp = stdio_file;
	const char	*sec = NULL;
	void		*t = (void *)(uintptr_t)target;	/* read only */
	const struct conf_keyword *table;
	size_t		 i, j, n;

	table = conf_keywords_table(&n);
	for (i = 0; i < n; i++) {
		const struct conf_keyword *kw = &table[i];
		const struct conf_enum_val *ev;
		char *s;

		if (kw->scope != scope)
			continue;
		/* No [redis] of its own: the tenant uses broker.conf's. */
		if (scope == CONF_SCOPE_TENANT &&
		    strcmp(kw->section, "redis") == 0 &&
		    !conf_tenant_has_redis(target)) {
			if (sec == NULL || strcmp(sec, kw->section) != 0)
				fprintf(fp, "\n# [redis] not set: "
				    "broker.conf's store\n");
			sec = kw->section;
			continue;
		}
		if (sec == NULL || strcmp(sec, kw->section) != 0) {
			fprintf(fp, "%s[%s]\n", sec != NULL ? "\n" : "",
			    kw->section);
			sec = kw->section;
		}
		switch (kw->type) {
		case CONF_T_BOOL:
			fprintf(fp, "%s = %s\n", kw->name,
			    *conf_kw_int(t, kw) ? "true" : "false");
			break;
		case CONF_T_INT:
			fprintf(fp, "%s = %d\n", kw->name, *conf_kw_int(t, kw));
			break;
		case CONF_T_ENUM:
			for (ev = kw->enums; ev->name != NULL; ev++)
				if (ev->val == *conf_kw_int(t, kw))
					fprintf(fp, "%s = %s\n", kw->name,
					    ev->name);
			break;
		case CONF_T_LIST:
			if (*conf_kw_count(t, kw) == 0) {
				fprintf(fp, "# %s is not set\n", kw->name);
				break;
			}
			fprintf(fp, "%s = ", kw->name);
			for (j = 0; j < *conf_kw_count(t, kw); j++)
				fprintf(fp, "%s%s", j > 0 ? "," : "",
				    conf_kw_str(t, kw)[j]);
			fprintf(fp, "\n");
			break;
		default:
			if (kw->flags & CONF_REPEATABLE) {
				for (j = 0; j < *conf_kw_count(t, kw); j++)
					fprintf(fp, "%s = %s\n", kw->name,
					    conf_kw_str(t, kw)[j]);
				break;
			}
			s = *conf_kw_str(t, kw);
			if (s == NULL && (kw->flags & CONF_DERIVED) &&
			    kw->def != NULL)
				fprintf(fp, "%s = %s\n", kw->name, kw->def);
			else if (s == NULL)
				fprintf(fp, "# %s is not set\n", kw->name);
			else if (kw->flags & CONF_MASKED) {
				fprintf(fp, "%s = ", kw->name);
				conf_redis_url_print(fp, s);
				fprintf(fp, "\n");
			} else
				fprintf(fp, "%s = %s\n", kw->name, s);
			break;
		}
	}
}

void
conf_dump(const struct conf *c, void *stdio_file)
{
	FILE	*fp = stdio_file;
	size_t	 i;

	fprintf(fp, "# effective configuration from %s\n", c->file);
	conf_dump_scope(CONF_SCOPE_BROKER, c, fp);
	for (i = 0; i < c->n_tenants; i++)
		conf_tenant_dump(c->tenants[i], fp);
}

void
conf_tenant_dump(const struct conf_tenant *t, void *stdio_file)
{
	FILE	*fp = stdio_file;

	fprintf(fp, "\n# tenant %s from %s\n", t->id != NULL ? t->id : "?",
	    t->file);
	conf_dump_scope(CONF_SCOPE_TENANT, t, fp);
	if (t->acs_url != NULL)
		fprintf(fp, "# acs_url (derived) = %s\n", t->acs_url);
	if (t->metadata_url != NULL)
		fprintf(fp, "# metadata_url (derived) = %s\n",
		    t->metadata_url);
}
