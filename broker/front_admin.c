/*
 * sso-broker: the admin listener: tenants, the user mapping, sessions,
 * audit, metrics.  Every route needs the bearer admin token, compared as a
 * SHA-256 digest in constant time against the configured one.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Mapping changes are computed in C (policy/) from a consistent snapshot
 * and applied by one Lua script that first checks the snapshot's version,
 * so an import is all or nothing and never overwrites a concurrent change
 * (409 instead).  A rejected import or edit writes nothing.
 * Trust: bodies (CSV, JSON), path segments and query values are untrusted.
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
#include "pol.h"
#include "saml.h"

#define ADMIN_QUERY_LIMIT	1000

enum admin_op {
	ADM_USERS_CSV_GET = 2, ADM_USERS_CSV_POST, ADM_USER_GET, ADM_USER_PUT,
	ADM_USER_DELETE, ADM_SESSIONS_REVOKE, ADM_TENANTS
};

struct admin_ctx {
	enum admin_op	 op;
	char		*user_id;	/* path segment, decoded */
	char		*body;		/* request body copy */
	size_t		 body_len;
	char		*old_rec;	/* current record as read */
	char		*old_key;	/* its Salesforce key */
	char		*new_rec;
	struct pol_plan	*plan;
	int		 dry_run, created;
};

static void
admin_ctx_free(void *p)
{
	struct admin_ctx *a = p;

	if (a == NULL)
		return;
	free(a->user_id);
	free(a->body);
	free(a->old_rec);
	free(a->old_key);
	free(a->new_rec);
	pol_plan_free(a->plan);
	free(a);
}

static void
admin_error(struct front_req *req, int rv, const char *msg)
{
	json_t	*o;
	int	 status = bk_err_http(rv);

	if (rv == BK_E_STORE_REPLY || rv == BK_E_STORE_TIMEOUT)
		rv = BK_E_STORE_DOWN, status = 503;
	o = json_pack("{s:s, s:s, s:s}", "error", bk_err_slug(rv), "message",
	    msg ? msg : bk_strerror(rv), "request_id", req->id);
	if (status == 401 && req->ev != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req->ev),
		    "WWW-Authenticate", "Bearer realm=\"sso-broker-admin\"");
	front_reply_json(req, status, o);
}

static int
admin_auth(struct front_req *req)
{
	const char	*h = front_header(req, "Authorization");
	char		 d[BK_DIGEST_HEX + 1];

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || h[7] == '\0')
		return BK_E_HTTP_UNAUTH;
	bk_sha256_hex(h + 7, strlen(h + 7), d);
	if (!bk_ct_eq(d, BK_DIGEST_HEX, req->f->conf->admin_token_digest,
	    BK_DIGEST_HEX))
		return BK_E_HTTP_UNAUTH;
	return BK_OK;
}

static char *
admin_body(struct front_req *req, size_t *len)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req->ev);
	char		*p;

	*len = evbuffer_get_length(in);
	if ((p = malloc(*len + 1)) == NULL)
		return NULL;
	evbuffer_copyout(in, p, *len);
	p[*len] = '\0';
	return p;
}

static int
admin_flag(struct front_req *req, const char *name)
{
	const char *v = front_param(&req->q, name);

	return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

/* --- tenants --- */

static json_t *
admin_tenant_json(const struct conf_tenant *t, long long users)
{
	struct saml_tenant_info	 info;
	json_t			*o, *certs, *uris;
	char			 ts[32];
	size_t			 i;

	memset(&info, 0, sizeof(info));
	if (t->saml_sp != NULL)
		saml_tenant_info(t->saml_sp, &info);
	certs = json_array();
	for (i = 0; i < info.n_certs; i++) {
		bk_time_fmt(info.certs[i].not_after, ts);
		json_array_append_new(certs, json_pack("{s:s, s:s, s:s}",
		    "fingerprint_sha256", info.certs[i].fingerprint,
		    "not_after", ts,
		    "subject", info.certs[i].subject));
	}
	uris = json_array();
	for (i = 0; i < t->panel.n_redirect_uris; i++)
		json_array_append_new(uris,
		    json_string(t->panel.redirect_uris[i]));
	o = json_pack("{s:s, s:s, s:b, s:s, s:i, s:i, s:b, s:i, s:b, s:b, s:s,"
	    " s:o, s:s?,"
	    " s:s, s:s, s:s, s:o, s:s?}",
	    "id", t->id, "login", conf_login_name(t->login),
	    "enable_salesforce_sso", t->sso_enabled,
	    "consent", conf_consent_name(t->policy.consent),
	    "code_ttl", t->policy.code_ttl, "session_ttl",
	    t->policy.session_ttl,
	    "allow_idp_initiated", t->saml.allow_idp_initiated,
	    "clock_skew", t->saml.clock_skew, "allow_sha1", t->saml.allow_sha1,
	    "allow_portal_users", t->saml.allow_portal_users,
	    "idp_entity_id", info.idp_entity_id, "idp_certificates", certs,
	    "metadata_valid_until", NULL,
	    "sp_entity_id", t->saml.sp_entity_id ? t->saml.sp_entity_id : "",
	    "acs_url", t->acs_url, "panel_client_id", t->panel.client_id,
	    "redirect_uris", uris, "initiate_login_uri",
	    t->panel.initiate_login_uri);
	if (o != NULL && info.metadata_valid_until != 0) {
		bk_time_fmt(info.metadata_valid_until, ts);
		json_object_set_new(o, "metadata_valid_until", json_string(ts));
	}
	if (o != NULL)
		json_object_set_new(o, "users",
		    users >= 0 ? json_integer(users) : json_null());
	return o;
}

static void
admin_tenants_cb(struct front_req *req, int rv, const struct store_reply *r)
{
	const struct conf	*c = req->f->conf;
	json_t			*arr, *o;
	size_t			 i;

	if (rv != BK_OK && rv != BK_E_STORE_DOWN && rv != BK_E_STORE_TIMEOUT) {
		admin_error(req, rv, NULL);
		return;
	}
	if (req->t != NULL) {
		for (i = 0; i < c->n_tenants && c->tenants[i] != req->t; i++)
			;
		o = admin_tenant_json(req->t, rv == BK_OK ?
		    store_reply_int(store_reply_elem(r, i)) : -1);
		front_reply_json(req, o ? 200 : 500, o);
		return;
	}
	arr = json_array();
	for (i = 0; i < c->n_tenants; i++)
		json_array_append_new(arr,
		    admin_tenant_json(c->tenants[i], rv == BK_OK ?
		    store_reply_int(store_reply_elem(r, i)) : -1));
	front_reply_json(req, 200, json_pack("{s:o}", "tenants", arr));
}

static void
admin_tenants(struct front_req *req)
{
	const struct conf	*c = req->f->conf;
	const char		**args;
	char			**keys;
	size_t			 i;

	args = calloc(c->n_tenants + 1, sizeof(*args));
	keys = calloc(c->n_tenants + 1, sizeof(*keys));
	if (args == NULL || keys == NULL) {
		free(args);
		free(keys);
		admin_error(req, BK_E_NOMEM, NULL);
		return;
	}
	for (i = 0; i < c->n_tenants; i++)
		args[i] = keys[i] = store_key(c->tenants[i]->id, "users", NULL);
	front_store_eval(req, admin_tenants_cb, store_lua_hlen, 0,
	    (int)c->n_tenants, args, NULL);
	for (i = 0; i < c->n_tenants; i++)
		free(keys[i]);
	free(keys);
	free(args);
}

/* --- the mapping --- */

static char *
admin_key(struct front_req *req, const char *kind)
{
	return store_key(req->t->id, kind, NULL);
}

/* Snapshot reply -> userset.  Records that do not parse are a store error. */
static int
admin_userset(const struct store_reply *r, struct pol_userset **out, char *ver,
    size_t vlen)
{
	const struct store_reply *kv = store_reply_elem(r, 1);
	const char	*v, *rec;
	size_t		 len, i, n = store_reply_count(kv);
	struct pol_userset *s = NULL;
	struct pol_user	 u;
	int		 rv;

	*out = NULL;
	if ((v = store_reply_str(store_reply_elem(r, 0), &len)) == NULL ||
	    len >= vlen)
		return BK_E_STORE_REPLY;
	memcpy(ver, v, len);
	ver[len] = '\0';
	if ((rv = pol_userset_new(&s)) != BK_OK)
		return rv;
	for (i = 0; i + 1 < n; i += 2) {
		if ((rec = store_reply_str(store_reply_elem(kv, i + 1),
		    &len)) == NULL) {
			rv = BK_E_STORE_RECORD;
			goto fail;
		}
		memset(&u, 0, sizeof(u));
		if ((rv = pol_user_parse(rec, len, &u)) != BK_OK)
			goto fail;
		if ((rv = pol_userset_add_take(s, &u)) != BK_OK) {
			pol_user_cleanup(&u);
			goto fail;
		}
	}
	*out = s;
	return BK_OK;
 fail:
	pol_userset_free(s);
	return rv;
}

static void
admin_export_cb(struct front_req *req, int rv, const struct store_reply *r)
{
	struct pol_userset	*s = NULL;
	char			 ver[32], *csv = NULL;
	size_t			 len = 0;

	if (rv == BK_OK)
		rv = admin_userset(r, &s, ver, sizeof(ver));
	if (rv == BK_OK)
		rv = pol_export_csv(s, &csv, &len);
	pol_userset_free(s);
	if (rv != BK_OK) {
		admin_error(req, rv, NULL);
		return;
	}
	if (req->ev != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req->ev),
		    "Content-Disposition",
		    "attachment; filename=\"users.csv\"");
	front_reply(req, 200, "text/csv; charset=utf-8", csv, len);
	free(csv);
}

static void
admin_import_report(struct front_req *req, int status, int rv, int applied)
{
	struct admin_ctx	*a = req->aux;
	char			*rep = NULL;
	json_t			*o;
	json_error_t		 err;

	if (pol_plan_report(a->plan, applied, &rep) != BK_OK ||
	    (o = json_loads(rep, 0, &err)) == NULL) {
		free(rep);
		admin_error(req, BK_E_NOMEM, NULL);
		return;
	}
	free(rep);
	json_object_set_new(o, "dry_run", json_boolean(a->dry_run));
	if (rv != BK_OK) {
		json_object_set_new(o, "error", json_string(bk_err_slug(rv)));
		json_object_set_new(o, "message",
		    json_string(a->plan->fatal ? a->plan->fatal :
		    bk_strerror(rv)));
		json_object_set_new(o, "request_id", json_string(req->id));
	}
	front_reply_json(req, status, o);
}

static void
admin_import_applied(struct front_req *req, int rv, const struct store_reply *r)
{
	struct admin_ctx	*a = req->aux;
	char			 d[128];

	if (rv != BK_OK) {
		admin_error(req, rv, NULL);
		return;
	}
	if (store_reply_is(r, "conflict")) {
		admin_error(req, BK_E_CONFLICT,
		    "the mapping changed during the import; retry");
		return;
	}
	if (!store_reply_is(r, "OK")) {
		admin_error(req, BK_E_STORE_REPLY, "unexpected store answer");
		return;
	}
	snprintf(d, sizeof(d), "added=%zu changed=%zu deleted=%zu",
	    a->plan->n_added,
	    a->plan->n_changed, a->plan->n_deleted);
	front_audit(req, "mapping_import", BK_OK, d);
	admin_import_report(req, 200, BK_OK, 1);
}

/* ARGV for store_lua_apply; every string is owned by the vector. */
struct admin_argv {
	const char	**v;
	size_t		*l;
	char		**own;
	size_t		 n, cap, nown;
};

static int
admin_argv_add(struct admin_argv *a, const char *s, int own)
{
	if (a->n == a->cap) {
		size_t	 nc = a->cap ? a->cap * 2 : 64;
		const char **v = realloc(a->v, nc * sizeof(*v));
		size_t	*l;
		char	**o;

		if (v == NULL)
			return BK_E_NOMEM;
		a->v = v;
		if ((l = realloc(a->l, nc * sizeof(*l))) == NULL)
			return BK_E_NOMEM;
		a->l = l;
		if ((o = realloc(a->own, nc * sizeof(*o))) == NULL)
			return BK_E_NOMEM;
		a->own = o;
		a->cap = nc;
	}
	if (s == NULL)
		return BK_E_NOMEM;
	a->v[a->n] = s;
	a->l[a->n] = strlen(s);
	a->n++;
	if (own)
		a->own[a->nown++] = (char *)(uintptr_t)s;
	return BK_OK;
}

static char *
admin_num(size_t n)
{
	char	 b[24];

	snprintf(b, sizeof(b), "%zu", n);
	return bk_strdup(b);
}

static void
admin_argv_free(struct admin_argv *a)
{
	size_t	 i;

	for (i = 0; i < a->nown; i++)
		free(a->own[i]);
	free(a->own);
	free(a->v);
	free(a->l);
}

static int
admin_apply_argv(struct front_req *req, const char *ver, struct admin_argv *av)
{
	struct pol_plan	*p = ((struct admin_ctx *)req->aux)->plan;
	size_t		 i;
	int		 rv = BK_OK;
	char		*rec;

	rv |= admin_argv_add(av, admin_key(req, "users"), 1);
	rv |= admin_argv_add(av, admin_key(req, "sfdc"), 1);
	rv |= admin_argv_add(av, store_key(req->t->id, "users:ver", NULL), 1);
	rv |= admin_argv_add(av, ver, 0);
	rv |= admin_argv_add(av, store_key(req->t->id, "utok", ""), 1);
	rv |= admin_argv_add(av, store_key(req->t->id, "usess", ""), 1);
	rv |= admin_argv_add(av, admin_num(p->n_upserts), 1);
	for (i = 0; rv == BK_OK && i < p->n_upserts; i++) {
		rec = NULL;
		if ((rv = pol_user_build(&p->upserts[i], &rec)) != BK_OK)
			break;
		rv |= admin_argv_add(av, p->upserts[i].f[POL_COL_INTERNAL_ID],
		    0);
		rv |= admin_argv_add(av, rec, 1);
	}
	rv |= admin_argv_add(av, admin_num(p->n_deletes), 1);
	for (i = 0; rv == BK_OK && i < p->n_deletes; i++)
		rv |= admin_argv_add(av, p->deletes[i], 0);
	rv |= admin_argv_add(av, admin_num(p->n_index_del), 1);
	for (i = 0; rv == BK_OK && i < p->n_index_del; i++)
		rv |= admin_argv_add(av, p->index_del[i], 0);
	rv |= admin_argv_add(av, admin_num(p->n_index_set), 1);
	for (i = 0; rv == BK_OK && i < p->n_index_set; i++) {
		rv |= admin_argv_add(av, p->index_set[2 * i], 0);
		rv |= admin_argv_add(av, p->index_set[2 * i + 1], 0);
	}
	/* Sessions end for deleted profiles and for changed usernames. */
	rv |= admin_argv_add(av, admin_num(p->n_deletes), 1);
	for (i = 0; rv == BK_OK && i < p->n_deletes; i++)
		rv |= admin_argv_add(av, p->deletes[i], 0);
	return rv == BK_OK ? BK_OK : BK_E_NOMEM;
}

static void
admin_import_cb(struct front_req *req, int rv, const struct store_reply *r)
{
	struct admin_ctx	*a = req->aux;
	struct pol_userset	*s = NULL;
	struct pol_import_opts	 o;
	struct admin_argv	 av;
	char			 ver[32];

	memset(&av, 0, sizeof(av));
	if (rv == BK_OK)
		rv = admin_userset(r, &s, ver, sizeof(ver));
	if (rv != BK_OK) {
		admin_error(req, rv, NULL);
		return;
	}
	o.allow_new = admin_flag(req, "allow_new");
	o.delete_missing = admin_flag(req, "delete_missing");
	rv = pol_import_plan(a->body, a->body_len, s, &o, &a->plan);
	pol_userset_free(s);
	if (a->plan == NULL) {
		admin_error(req, rv, NULL);
		return;
	}
	if (rv != BK_OK) {
		front_audit(req, "mapping_import", rv,
		    a->dry_run ? "dry run" : NULL);
		admin_import_report(req, bk_err_http(rv) == 413 ? 413 : 400, rv,
		    0);
		return;
	}
	if (a->dry_run) {
		admin_import_report(req, 200, BK_OK, 0);
		return;
	}
	if ((rv = admin_apply_argv(req, ver, &av)) != BK_OK) {
		admin_argv_free(&av);
		admin_error(req, rv, NULL);
		return;
	}
	front_store_eval(req, admin_import_applied, store_lua_apply, 3,
	    (int)av.n, av.v, av.l);
	admin_argv_free(&av);
}

static void
admin_snapshot(struct front_req *req, front_step *step)
{
	char	*users = admin_key(req, "users");
	char	*ver = store_key(req->t->id, "users:ver", NULL);
	const char *args[2] = { users, ver };

	if (users == NULL || ver == NULL)
		admin_error(req, BK_E_NOMEM, NULL);
	else
		front_store_eval(req, step, store_lua_snapshot, 2, 2, args,
		    NULL);
	free(users);
	free(ver);
}

/* --- one profile --- */

static void
admin_user_reply(struct front_req *req, const char *rec, size_t len, int status)
{
	struct pol_user	 u;
	char		*j = NULL;
	json_t		*o;
	json_error_t	 err;

	memset(&u, 0, sizeof(u));
	if (pol_user_parse(rec, len, &u) != BK_OK ||
	    pol_user_to_api_json(&u, &j) != BK_OK ||
	    (o = json_loads(j, 0, &err)) == NULL) {
		pol_user_cleanup(&u);
		free(j);
		admin_error(req, BK_E_STORE_RECORD, NULL);
		return;
	}
	pol_user_cleanup(&u);
	free(j);
	front_reply_json(req, status, o);
}

static void
admin_user_written(struct front_req *req, int rv, const struct store_reply *r)
{
	struct admin_ctx	*a = req->aux;
	const struct store_reply *st = store_reply_elem(r, 0);
	char			 msg[256];

	if (rv != BK_OK) {
		admin_error(req, rv, NULL);
		return;
	}
	if (store_reply_is(st, "conflict")) {
		admin_error(req, BK_E_CONFLICT,
		    "the profile changed meanwhile; retry");
		return;
	}
	if (store_reply_is(st, "dup")) {
		size_t l;
		const char *other = store_reply_str(store_reply_elem(r, 1), &l);

		snprintf(msg, sizeof(msg),
		    "Salesforce ID already mapped to profile %.*s",
		    (int)(l > 64 ? 64 : l), other ? other : "?");
		front_audit(req,
		    a->op == ADM_USER_PUT ? "user_set" : "user_delete",
		    BK_E_POL_DUP_SFDC, msg);
		admin_error(req, BK_E_POL_DUP_SFDC, msg);
		return;
	}
	if (a->op == ADM_USER_DELETE) {
		front_audit(req, "user_delete", BK_OK, NULL);
		front_reply_json(req, 200,
		    json_pack("{s:s}", "deleted", a->user_id));
		return;
	}
	front_audit(req, "user_set", BK_OK, a->created ? "created" : NULL);
	admin_user_reply(req, a->new_rec, strlen(a->new_rec),
	    a->created ? 201 : 200);
}

static int
admin_sfdc_key_of(const struct pol_user *u, char **out)
{
	const char *why;

	*out = NULL;
	if (u->f[POL_COL_SFDC_ID] == NULL || u->f[POL_COL_SFDC_ID][0] == '\0')
		return BK_OK;
	return pol_sfdc_key(u->f[POL_COL_SFDC_ID], out, &why);
}

static void
admin_user_read_cb(struct front_req *req, int rv, const struct store_reply *r)
{
	struct admin_ctx	*a = req->aux;
	const char		*rec, *why = NULL;
	size_t			 len;
	struct pol_user		 u;
	char			*newkey = NULL;
	char			*users = NULL, *ix = NULL, *ver = NULL, *tp =
	    NULL, *sp = NULL;

	memset(&u, 0, sizeof(u));
	if (rv != BK_OK) {
		admin_error(req, rv, NULL);
		return;
	}
	rec = store_reply_str(r, &len);
	if (a->op == ADM_USER_GET) {
		if (rec == NULL)
			admin_error(req, BK_E_POL_ID_UNKNOWN, NULL);
		else
			admin_user_reply(req, rec, len, 200);
		return;
	}
	if (rec == NULL &&
	    (a->op != ADM_USER_PUT || !admin_flag(req, "allow_new"))) {
		admin_error(req, BK_E_POL_ID_UNKNOWN,
		    a->op == ADM_USER_PUT ? "unknown 8x8 Internal ID "
		    "(allow_new=1 creates it)" : NULL);
		return;
	}
	if (rec != NULL) {
		if ((rv = pol_user_parse(rec, len, &u)) != BK_OK)
			goto fail;
		a->old_rec = bk_strdup(rec);
		if ((rv = admin_sfdc_key_of(&u, &a->old_key)) != BK_OK)
			goto fail;
	} else {
		a->created = 1;
		a->old_rec = bk_strdup("");
		u.f[POL_COL_INTERNAL_ID] = bk_strdup(a->user_id);
	}
	if (a->op == ADM_USER_PUT) {
		if ((rv = pol_user_apply_json(&u, a->body, a->body_len,
		    &why)) != BK_OK) {
			front_audit(req, "user_set", rv, why);
			pol_user_cleanup(&u);
			admin_error(req, rv, why);
			return;
		}
		if ((rv = pol_user_build(&u, &a->new_rec)) != BK_OK ||
		    (rv = admin_sfdc_key_of(&u, &newkey)) != BK_OK)
			goto fail;
	}
	users = admin_key(req, "users");
	ix = admin_key(req, "sfdc");
	ver = store_key(req->t->id, "users:ver", NULL);
	tp = store_key(req->t->id, "utok", "");
	sp = store_key(req->t->id, "usess", "");
	if (users == NULL || ix == NULL || ver == NULL || tp == NULL ||
	    sp == NULL) {
		rv = BK_E_NOMEM;
		goto fail;
	}
	if (a->op == ADM_USER_PUT) {
		const char *args[10] =
		    { users, ix, ver, a->user_id, a->old_rec, a->new_rec,
		    a->old_key ? a->old_key : "", newkey ? newkey : "", tp,
		    sp };

		front_store_eval(req, admin_user_written, store_lua_user_set, 3,
		    10, args, NULL);
	} else {
		const char *args[8] = { users, ix, ver, a->user_id, a->old_rec,
		    a->old_key ? a->old_key : "", tp, sp };

		front_store_eval(req, admin_user_written, store_lua_user_del, 3,
		    8, args, NULL);
	}
	goto out;
 fail:
	admin_error(req, rv, why);
 out:
	pol_user_cleanup(&u);
	free(newkey);
	free(users);
	free(ix);
	free(ver);
	free(tp);
	free(sp);
}

static void
admin_revoke_cb(struct front_req *req, int rv, const struct store_reply *r)
{
	if (rv != BK_OK) {
		admin_error(req, rv, NULL);
		return;
	}
	front_audit(req, "session_revoked", BK_OK, NULL);
	front_reply_json(req, 200, json_pack("{s:I, s:I}",
	    "revoked_tokens",
	    (json_int_t)store_reply_int(store_reply_elem(r, 0)),
	    "revoked_sessions",
	    (json_int_t)store_reply_int(store_reply_elem(r, 1))));
}

static void
admin_user_op(struct front_req *req, struct admin_ctx *a)
{
	char		*key;
	const char	*argv[3];

	front_set_str(&req->fl.internal_id, a->user_id);
	if (a->op == ADM_SESSIONS_REVOKE) {
		/*
		 * Tokens and sessions end; the generation bump voids codes,
		 * Allow pages and sign-ins in flight (store_lua_user_revoke).
		 */
		char *k1 = store_key(req->t->id, "utok", a->user_id);
		char *k2 = store_key(req->t->id, "usess", a->user_id);
		char *k3 = store_key(req->t->id, "ugen", NULL);
		const char *args[4] = { k1, k2, k3, a->user_id };

		if (k1 && k2 && k3)
			front_store_eval(req, admin_revoke_cb,
			    store_lua_user_revoke, 3, 4, args, NULL);
		else
			admin_error(req, BK_E_NOMEM, NULL);
		free(k1);
		free(k2);
		free(k3);
		return;
	}
	if ((key = admin_key(req, "users")) == NULL) {
		admin_error(req, BK_E_NOMEM, NULL);
		return;
	}
	argv[0] = "HGET";
	argv[1] = key;
	argv[2] = a->user_id;
	front_store(req, admin_user_read_cb, 3, argv, NULL);
	free(key);
}

/* --- audit --- */

static int
admin_time(const char *s, time_t *out)
{
	struct tm	 tm;
	long long	 v;
	const char	*why, *end;

	*out = 0;
	if (s == NULL || *s == '\0')
		return BK_OK;
	if (bk_strtonum(s, 0, 1LL << 40, &v, &why) == BK_OK) {
		*out = (time_t)v;
		return BK_OK;
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL ||
	    (strcmp(end, "Z") != 0 && strcmp(end, "") != 0))
		return BK_E_INVAL;
	*out = timegm(&tm);
	return BK_OK;
}

static void
admin_audit(struct front_req *req, const char *what)
{
	struct audit_filter	 f;
	long long		 lim;
	const char		*why, *l = front_param(&req->q, "limit");

	memset(&f, 0, sizeof(f));
	f.tenant = front_param(&req->q, "tenant");
	f.user = front_param(&req->q, "user");
	f.outcome = front_param(&req->q, "outcome");
	f.reason = front_param(&req->q, "reason");
	f.event = front_param(&req->q, "event");
	f.assertion_id = front_param(&req->q, "assertion_id");
	if (admin_time(front_param(&req->q, "since"), &f.since) != BK_OK ||
	    admin_time(front_param(&req->q, "until"), &f.until) != BK_OK) {
		admin_error(req, BK_E_INVAL,
		    "since/until: RFC 3339 UTC or epoch seconds");
		return;
	}
	if (l != NULL) {
		if (bk_strtonum(l, 1, 10000000, &lim, &why) != BK_OK) {
			admin_error(req, BK_E_INVAL,
			    "limit: a positive number");
			return;
		}
		f.limit = (size_t)lim;
	} else if (strcmp(what, "query") == 0)
		f.limit = ADMIN_QUERY_LIMIT;
	/* The scan runs in a thread: a large file never stalls sign-ins. */
	front_audit_job(req, what, &f);
}

/* --- routing --- */

static char *
admin_seg(const char *s, size_t n)
{
	char	*tmp, *d;
	size_t	 dl;

	if (n == 0 || (tmp = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	d = evhttp_uridecode(tmp, 0, &dl);
	free(tmp);
	if (d != NULL &&
	    (dl != strlen(d) || dl == 0 || !bk_str_is_printable(d))) {
		free(d);
		return NULL;
	}
	return d;
}

static void
admin_tenant_route(struct front_req *req, const char *rest,
    enum evhttp_cmd_type m)
{
	const char		*slash = strchr(rest, '/');
	char			*tid =
	    admin_seg(rest, slash ? (size_t)(slash - rest) : strlen(rest));
	struct admin_ctx	*a;
	const char		*sub = slash ? slash + 1 : "";

	req->t = tid ? conf_tenant_lookup(req->f->conf, tid) : NULL;
	free(tid);
	if (req->t == NULL) {
		admin_error(req, BK_E_TENANT_UNKNOWN, NULL);
		return;
	}
	if (*sub == '\0') {
		if (m != EVHTTP_REQ_GET)
			admin_error(req, BK_E_HTTP_METHOD, NULL);
		else
			admin_tenants(req);
		return;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		admin_error(req, BK_E_NOMEM, NULL);
		return;
	}
	req->aux = a;
	req->aux_free = admin_ctx_free;
	if (strcmp(sub, "users.csv") == 0) {
		if (m == EVHTTP_REQ_GET) {
			admin_snapshot(req, admin_export_cb);
		} else if (m == EVHTTP_REQ_POST) {
			a->dry_run = admin_flag(req, "dry_run");
			if ((a->body = admin_body(req, &a->body_len)) == NULL) {
				admin_error(req, BK_E_NOMEM, NULL);
				return;
			}
			admin_snapshot(req, admin_import_cb);
		} else
			admin_error(req, BK_E_HTTP_METHOD, NULL);
		return;
	}
	if (strncmp(sub, "users/", 6) == 0) {
		const char *id = sub + 6, *s2 = strchr(id, '/');

		a->user_id = admin_seg(id, s2 ? (size_t)(s2 - id) : strlen(id));
		if (a->user_id == NULL) {
			admin_error(req, BK_E_HTTP_BADPARAM,
			    "bad 8x8 Internal ID in path");
			return;
		}
		if (s2 != NULL && strcmp(s2, "/sessions/revoke") == 0 &&
		    m == EVHTTP_REQ_POST)
			a->op = ADM_SESSIONS_REVOKE;
		else if (s2 != NULL)
			a->op = 0;
		else if (m == EVHTTP_REQ_GET)
			a->op = ADM_USER_GET;
		else if (m == EVHTTP_REQ_PUT)
			a->op = ADM_USER_PUT;
		else if (m == EVHTTP_REQ_DELETE)
			a->op = ADM_USER_DELETE;
		if (a->op == 0) {
			admin_error(req, BK_E_HTTP_NOROUTE, NULL);
			return;
		}
		if (a->op == ADM_USER_PUT &&
		    (a->body = admin_body(req, &a->body_len)) == NULL) {
			admin_error(req, BK_E_NOMEM, NULL);
			return;
		}
		admin_user_op(req, a);
		return;
	}
	admin_error(req, BK_E_HTTP_NOROUTE, NULL);
}

static void
admin_dispatch(struct front_req *req, struct evhttp_request *ev)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(ev);
	const char		*path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char		*query = uri ? evhttp_uri_get_query(uri) : NULL;
	enum evhttp_cmd_type	 m = evhttp_request_get_command(ev);
	int			 rv;

	req->want_json = 1;
	if (path == NULL) {
		admin_error(req, BK_E_HTTP_NOROUTE, NULL);
		return;
	}
	if (strcmp(path, "/healthz") == 0) {
		req->route = MR_HEALTHZ;
		front_reply(req, 200, "application/json", "{\"status\":\"ok\"}",
		    15);
		return;
	}
	if ((rv = admin_auth(req)) != BK_OK) {
		admin_error(req, rv, "missing or wrong admin token");
		return;
	}
	if (query != NULL &&
	    (rv = front_params_parse(query, strlen(query), &req->q)) != BK_OK) {
		admin_error(req, rv, NULL);
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		struct bk_buf b;

		req->route = MR_METRICS;
		bk_buf_init(&b, 4 * 1024 * 1024);
		if ((rv = metrics_render(&b)) != BK_OK)
			admin_error(req, rv, NULL);
		else
			front_reply(req, 200,
			    "text/plain; version=0.0.4; charset=utf-8",
			    b.data, b.len);
		bk_buf_free(&b);
		return;
	}
	if (strcmp(path, "/api/v1/tenants") == 0 && m == EVHTTP_REQ_GET) {
		admin_tenants(req);
		return;
	}
	if (strncmp(path, "/api/v1/tenants/", 16) == 0) {
		admin_tenant_route(req, path + 16, m);
		return;
	}
	if (m == EVHTTP_REQ_GET && strcmp(path, "/api/v1/audit") == 0) {
		admin_audit(req, "query");
		return;
	}
	if (m == EVHTTP_REQ_GET && strcmp(path, "/api/v1/audit/export") == 0) {
		admin_audit(req, "export");
		return;
	}
	if (m == EVHTTP_REQ_GET && strcmp(path, "/api/v1/audit/verify") == 0) {
		admin_audit(req, "verify");
		return;
	}
	admin_error(req, BK_E_HTTP_NOROUTE, NULL);
}

void
front_admin_cb(struct evhttp_request *ev, void *arg)
{
	struct front_req *req = front_admin_req_new(arg, ev);

	if (req == NULL) {
		evhttp_send_error(ev, 503, "Service Unavailable");
		return;
	}
	admin_dispatch(req, ev);
}
