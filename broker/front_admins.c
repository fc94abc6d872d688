/*
 * sso-broker: named, scoped admin credentials on the admin listener
 * (issue 10 item 1): who the bearer token is, what it may do, and the
 * operator's routes that add, list and revoke credentials.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The token file's token ([admin] token_file) is the credential named
 * "operator", checked at once against its digest, so it still opens the
 * routes that need no store while Redis is down.  Any other token is
 * looked up by its SHA-256 digest in the default store, on every request
 * (no cache: a revocation counts on every broker from the next request);
 * while the store is down such a token gets 503.  The token is made here
 * (256 bits, bk_token_new()), shown once in the answer to the POST and
 * never stored, logged or recorded.
 * Trust: the Authorization header, the POST body and the name in the
 * path are untrusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "front_int.h"
#include "log.h"
#include "store_cred.h"

/* A bearer token longer than this is wrong without hashing it. */
#define FRONT_ADMIN_TOKEN_MAX	512
/* The POST body: three short fields. */
#define FRONT_ADMINS_BODY_MAX	(16 * 1024)

int
front_admin_allows_id(const struct admin_cred *c, enum admin_role need,
    const char *tenant_id)
{
	if (c == NULL)
		return 0;
	if (c->role == ADMIN_ROLE_OPERATOR)
		return 1;
	return need != ADMIN_ROLE_OPERATOR && c->role == need &&
	    tenant_id != NULL && admin_cred_has_tenant(c, tenant_id);
}

int
front_admin_allows(const struct admin_cred *c, enum admin_role need,
    const struct conf_tenant *t)
{
	if (c == NULL)
		return 0;
	if (t != NULL)
		return front_admin_allows_id(c, need, t->id);
	return c->role == ADMIN_ROLE_OPERATOR ||
	    (need != ADMIN_ROLE_OPERATOR && c->role == need);
}

void
front_admin_forbid(struct front_req *req, const char *why)
{
	const struct admin_cred	*c = req->cred;
	char			 msg[512];

	snprintf(msg, sizeof(msg), "credential '%s' (role %s) may not %s",
	    c != NULL ? c->name : "?", c != NULL ? admin_role_name(c->role) :
	    "?", why);
	(void)front_audit(req, "admin_forbidden", BK_E_ADMIN_FORBIDDEN, msg);
	front_admin_error(req, BK_E_ADMIN_FORBIDDEN, msg);
}

/* --- who the token is --- */

/*
 * 401, on record as admin_auth: a guessed or revoked token is seen in the
 * audit.  Such records are junk (audit_agg.c): a flood of wrong tokens is
 * recorded within [audit] junk_records, then counted.
 */
static void
front_admin_unauth(struct front_req *req, const char *why)
{
	(void)front_audit(req, "admin_auth", BK_E_HTTP_UNAUTH, why);
	front_admin_error(req, BK_E_HTTP_UNAUTH,
	    "missing or wrong admin token");
}

static int
front_admin_cred_copy(const struct admin_cred *src, struct admin_cred **out)
{
	struct admin_cred	*c;
	size_t			 i;
	int			 rv = BK_OK;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return BK_E_NOMEM;
	memcpy(c->name, src->name, sizeof(c->name));
	memcpy(c->created_by, src->created_by, sizeof(c->created_by));
	c->role = src->role;
	c->created = src->created;
	c->builtin = src->builtin;
	for (i = 0; rv == BK_OK && i < src->n_tenants; i++)
		rv = admin_cred_tenant_add(c, src->tenants[i]);
	if (rv != BK_OK) {
		admin_cred_cleanup(c);
		free(c);
		return rv;
	}
	*out = c;
	return BK_OK;
}

/* The request's credential is c: named in every record from now on. */
int
front_admin_cred_set(struct front_req *req, const struct admin_cred *c)
{
	int	 rv;

	if ((rv = front_admin_cred_copy(c, &req->cred)) != BK_OK)
		return rv;
	req->fl.credential = req->cred->name;
	return BK_OK;
}

struct front_admin_pending {
	struct front_req	*req;
	void			(*next)(struct front_req *);
};

static void
front_admin_lookup_cb(void *arg, int rv, const struct admin_cred *c)
{
	struct front_admin_pending	*p = arg;
	struct front_req		*req = p->req;
	void				(*next)(struct front_req *) = p->next;
	int				 waiting = !req->replied;

	free(p);
	/* The dispatcher's reference keeps req until it is answered. */
	BK_ASSERT(!waiting || req->refs > 1);
	front_req_unref(req);
	if (!waiting)
		return;
	if (rv != BK_OK) {
		front_admin_error(req, rv == BK_E_NOMEM ? rv : BK_E_STORE_DOWN,
		    "the admin credentials cannot be read now (the store is "
		    "unavailable); the token file's token still opens "
		    "/metrics");
		return;
	}
	if (c == NULL) {
		front_admin_unauth(req, "no credential has this token (wrong "
		    "or revoked)");
		return;
	}
	if ((rv = front_admin_cred_set(req, c)) != BK_OK) {
		front_admin_error(req, rv, NULL);
		return;
	}
	next(req);
}

void
front_admin_authenticate(struct front_req *req,
    void (*next)(struct front_req *))
{
	const char			*h = front_header(req, "Authorization");
	struct front_admin_pending	*p;
	struct admin_cred		 op;
	char				 d[BK_DIGEST_HEX + 1];
	size_t				 n;

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || h[7] == '\0' ||
	    (n = strlen(h + 7)) > FRONT_ADMIN_TOKEN_MAX) {
		front_admin_unauth(req, h == NULL ? "no Authorization header" :
		    "not a bearer token of at most 512 bytes");
		return;
	}
	bk_sha256_hex(h + 7, n, d);
	if (bk_ct_eq(d, BK_DIGEST_HEX, req->f->conf->admin_token_digest,
	    BK_DIGEST_HEX)) {
		memset(&op, 0, sizeof(op));
		memcpy(op.name, ADMIN_CRED_OPERATOR,
		    sizeof(ADMIN_CRED_OPERATOR));
		memcpy(op.created_by, "token_file", sizeof("token_file"));
		op.role = ADMIN_ROLE_OPERATOR;
		op.builtin = 1;
		if (front_admin_cred_set(req, &op) != BK_OK) {
			front_admin_error(req, BK_E_NOMEM, NULL);
			return;
		}
		next(req);
		return;
	}
	/*
	 * The digest is the key: Redis finds it or not, the token itself
	 * never leaves this process.
	 */
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		front_admin_error(req, BK_E_NOMEM, NULL);
		return;
	}
	p->req = req;
	p->next = next;
	front_req_ref(req);
	store_cred_lookup(req->f->store_default, d, front_admin_lookup_cb, p);
}

/* --- the operator's routes --- */

/* A credential as the list shows it: never the token or its digest. */
static json_t *
front_admins_json(const struct admin_cred *c, const char *source)
{
	json_t	*arr = json_array();
	char	 ts[32];
	size_t	 i;

	for (i = 0; arr != NULL && i < c->n_tenants; i++)
		json_array_append_new(arr, json_string(c->tenants[i]));
	if (c->created != 0)
		bk_time_fmt(c->created, ts);
	return json_pack("{s:s, s:s, s:o, s:s?, s:s, s:s}", "name", c->name,
	    "role", admin_role_name(c->role), "tenants", arr, "created",
	    c->created != 0 ? ts : NULL, "created_by", c->created_by,
	    "source", source);
}

static void
front_admins_list_done(void *arg, int rv, const struct admin_cred *v,
    size_t n)
{
	struct front_req	*req = arg;
	struct admin_cred	 op;
	json_t			*arr;
	size_t			 i;
	int			 waiting = !req->replied;

	front_req_unref(req);
	if (!waiting)
		return;
	if (rv != BK_OK) {
		front_admin_error(req, rv, NULL);
		return;
	}
	memset(&op, 0, sizeof(op));
	memcpy(op.name, ADMIN_CRED_OPERATOR, sizeof(ADMIN_CRED_OPERATOR));
	memcpy(op.created_by, "token_file", sizeof("token_file"));
	op.role = ADMIN_ROLE_OPERATOR;
	arr = json_array();
	json_array_append_new(arr, front_admins_json(&op, "token_file"));
	for (i = 0; i < n; i++)
		json_array_append_new(arr, front_admins_json(&v[i], "store"));
	front_reply_json(req, 200, json_pack("{s:o}", "admins", arr));
}

void
front_admins_list(struct front_req *req)
{
	front_req_ref(req);
	store_cred_list(req->f->store_default, front_admins_list_done, req);
}

/* What a POST asked for, and the token made for it. */
struct front_admins_add {
	struct front_req	*req;
	struct admin_cred	 c;
	char			 token[BK_TOKEN_LEN + 1];
	char			 detail[512];
};

static void
front_admins_add_free(struct front_admins_add *a)
{
	admin_cred_cleanup(&a->c);
	bk_freezero(a, sizeof(*a));
}

/* The record's detail: what was granted (never the token). */
static void
front_admins_detail(struct front_admins_add *a)
{
	size_t	 i, o;

	o = (size_t)snprintf(a->detail, sizeof(a->detail), "admin=%s role=%s "
	    "tenants=", a->c.name, admin_role_name(a->c.role));
	for (i = 0; i < a->c.n_tenants && o < sizeof(a->detail); i++)
		o += (size_t)snprintf(a->detail + o, sizeof(a->detail) - o,
		    "%s%s", i > 0 ? "," : "", a->c.tenants[i]);
	if (a->c.n_tenants == 0 && o < sizeof(a->detail))
		snprintf(a->detail + o, sizeof(a->detail) - o, "*");
}

static void
front_admins_added(void *arg, int rv, int done)
{
	struct front_admins_add	*a = arg;
	struct front_req	*req = a->req;
	json_t			*o;
	int			 waiting = !req->replied;

	front_req_unref(req);
	if (!waiting)
		goto out;
	if (rv == BK_OK && !done)
		rv = BK_E_ADMIN_CRED_EXISTS;
	(void)front_audit(req, "admin_cred_add", rv, a->detail);
	if (rv != BK_OK) {
		front_admin_error(req, rv, rv == BK_E_ADMIN_CRED_EXISTS ?
		    "an admin credential of this name exists already (revoke "
		    "it first, or choose another name)" : NULL);
		goto out;
	}
	o = front_admins_json(&a->c, "store");
	/* shown once: the broker keeps only its digest */
	json_object_set_new(o, "token", json_string(a->token));
	/* every admin answer is Cache-Control: no-store (front_util.c) */
	front_reply_json(req, 201, o);
 out:
	front_admins_add_free(a);
}

/* The tenants of a POST: each a configured tenant, none twice. */
static int
front_admins_tenants(struct front_req *req, json_t *arr,
    struct admin_cred *c, char *why, size_t wl)
{
	const char	*id;
	json_t		*e;
	size_t		 i;
	int		 rv;

	if (arr != NULL && !json_is_array(arr)) {
		snprintf(why, wl, "tenants: a list of tenant IDs");
		return BK_E_ADMIN_CRED_BODY;
	}
	if (c->role == ADMIN_ROLE_OPERATOR) {
		if (json_array_size(arr) == 0)
			return BK_OK;
		snprintf(why, wl, "an operator has every tenant: give no "
		    "tenants");
		return BK_E_ADMIN_CRED_TENANT;
	}
	if (json_array_size(arr) == 0 ||
	    json_array_size(arr) > ADMIN_TENANTS_MAX) {
		snprintf(why, wl, "tenants: 1 to %d tenant IDs for role %s",
		    ADMIN_TENANTS_MAX, admin_role_name(c->role));
		return BK_E_ADMIN_CRED_TENANT;
	}
	json_array_foreach(arr, i, e) {
		if ((id = json_string_value(e)) == NULL ||
		    admin_tenant_id_check(id) != BK_OK ||
		    conf_tenant_lookup(req->f->conf, id) == NULL) {
			snprintf(why, wl, "tenants[%zu]: not a configured "
			    "tenant", i);
			return BK_E_ADMIN_CRED_TENANT;
		}
		if ((rv = admin_cred_tenant_add(c, id)) != BK_OK) {
			snprintf(why, wl, "tenants: '%s' given twice", id);
			return rv;
		}
	}
	return BK_OK;
}

/* The POST body into a->c.  why: the person's reason. */
static int
front_admins_parse(struct front_req *req, struct front_admins_add *a,
    char *why, size_t wl)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req->ev);
	size_t		 len = evbuffer_get_length(in);
	json_error_t	 err;
	json_t		*o = NULL;
	const char	*k, *name, *role;
	json_t		*v;
	int		 rv = BK_E_ADMIN_CRED_BODY;

	snprintf(why, wl, "the body: a JSON object {\"name\", \"role\", "
	    "\"tenants\": [...]}");
	if (len > FRONT_ADMINS_BODY_MAX)
		return BK_E_TOOBIG;
	o = json_loadb((const char *)evbuffer_pullup(in, -1), len,
	    JSON_REJECT_DUPLICATES, &err);
	if (o == NULL || !json_is_object(o))
		goto out;
	json_object_foreach(o, k, v)
		if (strcmp(k, "name") != 0 && strcmp(k, "role") != 0 &&
		    strcmp(k, "tenants") != 0) {
			snprintf(why, wl, "unknown field (known: name, role, "
			    "tenants)");
			goto out;
		}
	name = json_string_value(json_object_get(o, "name"));
	role = json_string_value(json_object_get(o, "role"));
	if ((rv = admin_name_check(name)) != BK_OK) {
		snprintf(why, wl, "name: 1 to %d of a-z 0-9 . _ -, starting "
		    "with a letter or digit", ADMIN_NAME_MAX);
		goto out;
	}
	if (strcmp(name, ADMIN_CRED_OPERATOR) == 0) {
		rv = BK_E_ADMIN_CRED_BUILTIN;
		snprintf(why, wl, "'%s' is the token file's credential",
		    ADMIN_CRED_OPERATOR);
		goto out;
	}
	memcpy(a->c.name, name, strlen(name) + 1);
	if ((rv = admin_role_parse(role, &a->c.role)) != BK_OK) {
		snprintf(why, wl, "role: admin, auditor or operator");
		goto out;
	}
	rv = front_admins_tenants(req, json_object_get(o, "tenants"), &a->c,
	    why, wl);
 out:
	json_decref(o);
	return rv;
}

void
front_admins_add(struct front_req *req)
{
	struct front_admins_add	*a;
	char			 why[256], d[BK_DIGEST_HEX + 1];
	int			 rv;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		front_admin_error(req, BK_E_NOMEM, NULL);
		return;
	}
	a->req = req;
	if ((rv = front_admins_parse(req, a, why, sizeof(why))) != BK_OK) {
		(void)front_audit(req, "admin_cred_add", rv, why);
		front_admin_error(req, rv, why);
		front_admins_add_free(a);
		return;
	}
	a->c.created = time(NULL);
	memcpy(a->c.created_by, req->cred->name, sizeof(a->c.created_by));
	front_admins_detail(a);
	if ((rv = bk_token_new(a->token)) != BK_OK) {
		front_admin_error(req, rv, NULL);
		front_admins_add_free(a);
		return;
	}
	bk_sha256_hex(a->token, strlen(a->token), d);
	front_req_ref(req);
	store_cred_add(req->f->store_default, &a->c, d, front_admins_added,
	    a);
}

struct front_admins_rev {
	struct front_req	*req;
	char			 detail[ADMIN_NAME_MAX + 16];
};

static void
front_admins_revoked(void *arg, int rv, int done)
{
	struct front_admins_rev	*r = arg;
	struct front_req	*req = r->req;
	int			 waiting = !req->replied;

	front_req_unref(req);
	if (waiting) {
		if (rv == BK_OK && !done)
			rv = BK_E_ADMIN_CRED_UNKNOWN;
		(void)front_audit(req, "admin_cred_revoke", rv, r->detail);
		if (rv != BK_OK)
			front_admin_error(req, rv, NULL);
		else
			front_reply_json(req, 200, json_pack("{s:s}",
			    "revoked", r->detail + 6));
	}
	free(r);
}

void
front_admins_revoke(struct front_req *req, const char *name)
{
	struct front_admins_rev	*r;
	int			 rv = admin_name_check(name);

	if (rv == BK_OK && strcmp(name, ADMIN_CRED_OPERATOR) == 0)
		rv = BK_E_ADMIN_CRED_BUILTIN;
	if (rv != BK_OK) {
		(void)front_audit(req, "admin_cred_revoke", rv, NULL);
		front_admin_error(req, rv, rv == BK_E_ADMIN_CRED_BUILTIN ?
		    "the token file's credential ends when [admin] token_file "
		    "changes" : NULL);
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		front_admin_error(req, BK_E_NOMEM, NULL);
		return;
	}
	r->req = req;
	snprintf(r->detail, sizeof(r->detail), "admin=%s", name);
	front_req_ref(req);
	store_cred_revoke(req->f->store_default, name, front_admins_revoked,
	    r);
}
