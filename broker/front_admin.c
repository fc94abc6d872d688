/*
 * sso-broker: the admin listener: tenants, the user mapping, sessions,
 * audit, metrics.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Every route but /healthz needs a bearer admin token: the token file's
 * (the credential "operator") or a named, scoped credential from the
 * store (front_admins.c).  Each route row names the roles it admits
 * (an operator is admitted everywhere); a tenant route, and what a
 * global route shows, is limited to the credential's tenants.  Anything
 * else is a 403 that changes nothing, with its record.
 * The routes are two tables (admin_routes[], admin_tenant_routes[]), read
 * like the public one in front.c: a path and a handler per method.
 * Handlers parse, call one store operation (store_admin.h) and render.
 * Mapping changes are computed in C (policy/) from a consistent snapshot
 * and applied by the store in one step that first checks the snapshot's
 * version, so an import is all or nothing and never overwrites a
 * concurrent change (409 instead).  A rejected import or edit writes
 * nothing.
 * Trust: bodies (CSV, JSON), path segments and query values are untrusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "front_console.h"
#include "front_int.h"
#include "log.h"
#include "pol.h"
#include "saml.h"
#include "mdr.h"
#include "rp.h"
#include "store_admin.h"

enum admin_op {
	ADM_USER_GET = 2, ADM_USER_PUT, ADM_USER_DELETE
};

/* A tenant route's state, from the path to the reply. */
struct admin_ctx {
	enum admin_op		 op;
	char			*user_id;	/* path segment, decoded */
	char			*body;		/* request body copy */
	size_t			 body_len;
	struct store_user	 old;		/* the profile as read */
	struct pol_plan		*plan;
	int			 dry_run, created;
	/* an import's deleted profiles as read, for their records */
	struct pol_user		*gone;
	size_t			 n_gone;
	/* where admin_import_step() is: row, upsert, deleted profile */
	size_t			 rec_row, rec_up, rec_gone;
	int			 rec_rv;
};

typedef void admin_fn(struct front_req *req, struct admin_ctx *a);

static void
admin_ctx_free(void *p)
{
	struct admin_ctx *a = p;

	if (a == NULL)
		return;
	free(a->user_id);
	free(a->body);
	store_user_cleanup(&a->old);
	pol_plan_free(a->plan);
	while (a->n_gone > 0)
		pol_user_cleanup(&a->gone[--a->n_gone]);
	free(a->gone);
	free(a);
}

/*
 * --- records of changes ---
 * Every change is recorded with the fields before and after (JSON
 * objects, keys from pol_col_key()), so that each one can be recovered
 * from the audit alone; an import writes one record per changed profile.
 */

/* A profile as the record's before or after (NULL: none). */
static void
admin_change_set(char **dst, const struct pol_user *u)
{
	char	*j = NULL;

	free(*dst);
	*dst = NULL;
	if (u != NULL && pol_user_to_api_json(u, &j) == BK_OK)
		*dst = j;
	else
		free(j);
}

/* The profile's identity in the record: internal ID, Salesforce username. */
static void
admin_change_who(struct front_req *req, const struct pol_user *u)
{
	front_set_str(&req->fl.internal_id, u->f[POL_COL_INTERNAL_ID]);
	front_set_str(&req->fl.user, u->f[POL_COL_SFDC_ID]);
}

/*
 * The rule of every store operation: a callback never acts for a client
 * that went away, and the request outlives the call.  admin_hold() gives
 * the call its own reference, as the argument of a store_admin.h
 * operation; the callback starts with admin_held(), which drops it and
 * returns the request, or NULL when nobody waits for the answer.
 */
static void *
admin_hold(struct front_req *req)
{
	front_req_ref(req);
	return req;
}

static struct front_req *
admin_held(void *arg)
{
	struct front_req	*req = arg;
	int			 waiting = !req->replied;

	/* Until it is answered, the handler's reference keeps req. */
	BK_ASSERT(!waiting || req->refs > 1);
	front_req_unref(req);
	return waiting ? req : NULL;
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

void
front_admin_error(struct front_req *req, int rv, const char *msg)
{
	admin_error(req, rv, msg);
}

/* The request body, copied into a->body (BK_E_NOMEM). */
static int
admin_body(struct front_req *req, struct admin_ctx *a)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req->ev);

	a->body_len = evbuffer_get_length(in);
	if ((a->body = malloc(a->body_len + 1)) == NULL)
		return BK_E_NOMEM;
	evbuffer_copyout(in, a->body, a->body_len);
	a->body[a->body_len] = '\0';
	return BK_OK;
}

static int
admin_flag(struct front_req *req, const char *name)
{
	const char *v = front_param(&req->q, name);

	return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

/* --- tenants --- */

/*
 * Whether the tenant's way in can sign anyone in now: BK_OK, or why not
 * (an OAuth tenant whose provider is not reachable yet; IdP metadata past
 * its validUntil).
 */
int
front_tenant_ready(struct front *f, const struct conf_tenant *t, time_t now)
{
	struct saml_tenant_info	 info;
	int			 rv;

	/* Its own store down keeps this tenant out, not the others. */
	if ((rv = store_ready(front_store(f, t))) != BK_OK)
		return rv;
	if (t->login == CONF_LOGIN_OIDC)
		return rp_ready(f->rp, t);
	if (t->saml_sp == NULL)
		return BK_E_TENANT_LOGIN_MODE;
	saml_tenant_info(t->saml_sp, &info);
	if (info.metadata_valid_until != 0 && info.metadata_valid_until < now)
		return BK_E_SAML_METADATA;
	return BK_OK;
}

/*
 * Where a SAML tenant's IdP metadata comes from: metadata_source "file",
 * or "url" with metadata_url, metadata_state ("ok" or the last failure's
 * reason), metadata_fetched_at and metadata_age (seconds) of the last
 * fetch put in force (null before one), as this worker sees it (mdr.h).
 */
static void
admin_tenant_md_json(struct front_req *req, const struct conf_tenant *t,
    json_t *o)
{
	struct mdr_info	 mi;
	char		 ts[32];

	if (t->login != CONF_LOGIN_SAML)
		return;
	if (mdr_info(req->f->mdr, t, &mi) != BK_OK) {
		json_object_set_new(o, "metadata_source", json_string("file"));
		return;
	}
	bk_time_fmt(mi.last_good, ts);
	json_object_set_new(o, "metadata_source", json_string("url"));
	json_object_set_new(o, "metadata_url",
	    json_string(t->saml.idp_metadata_url));
	json_object_set_new(o, "metadata_state", json_string(mi.state ==
	    BK_OK ? "ok" : bk_err_slug(mi.state)));
	json_object_set_new(o, "metadata_fetched_at", mi.last_good != 0 ?
	    json_string(ts) : json_null());
	json_object_set_new(o, "metadata_age", mi.last_good != 0 ?
	    json_integer((json_int_t)(bk_now() - mi.last_good)) :
	    json_null());
	json_object_set_new(o, "metadata_refresh_failures",
	    json_integer(mi.failures));
}

/* A tenant in the list: one the credential administers or audits. */
static int
admin_tenant_visible(const struct front_req *req, const struct conf_tenant *t)
{
	return front_admin_allows(req->cred, ADMIN_ROLE_ADMIN, t) ||
	    front_admin_allows(req->cred, ADMIN_ROLE_AUDITOR, t);
}

static json_t *
admin_tenant_json(struct front_req *req, const struct conf_tenant *t,
    long long users)
{
	struct saml_tenant_info	 info;
	json_t			*o, *certs, *uris;
	char			 ts[32];
	size_t			 i;
	int			 rv;

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
	o = json_pack("{s:s, s:s, s:b, s:s, s:i, s:i, s:b, s:i, s:b, s:b, s:s?,"
	    " s:o, s:s?,"
	    " s:s, s:s, s:s, s:o, s:s?}",
	    "id", t->id, "login", conf_login_name(t->login),
	    "enable_salesforce_sso", front_sso_in_force(req->f, t),
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
	if (o != NULL) {
		json_object_set_new(o, "sign_requests",
		    json_boolean(t->saml.sign_requests));
		json_object_set_new(o, "require_encryption",
		    json_boolean(t->saml.require_encryption));
		json_object_set_new(o, "allow_cbc",
		    json_boolean(t->saml.allow_cbc));
		json_object_set_new(o, "encryption_keys", json_integer(
		    t->login == CONF_LOGIN_OIDC ? 0 :
		    t->saml.sp_next_cert != NULL ? 2 : 1));
		json_object_set_new(o, "users",
		    users >= 0 ? json_integer(users) : json_null());
		rv = front_tenant_ready(req->f, t, time(NULL));
		json_object_set_new(o, "ready", json_string(rv == BK_OK ?
		    "ready" : bk_err_slug(rv)));
		if (front_store(req->f, t) != req->f->store_default)
			json_object_set_new(o, "store",
			    json_string(store_name(front_store(req->f, t))));
		if (t->login == CONF_LOGIN_OIDC)
			json_object_set_new(o, "issuer",
			    json_string(t->oidc.issuer));
		admin_tenant_md_json(req, t, o);
		front_sso_json(req->f, t, o);
	}
	return o;
}

static void
admin_tenants_done(void *arg, int rv, const long long *users, size_t n)
{
	struct front_req	*req = admin_held(arg);
	const struct conf	*c;
	json_t			*arr, *o;
	size_t			 i, k;

	if (req == NULL)
		return;
	/* Without the store the tenants are still listed, users null. */
	if (rv != BK_OK && rv != BK_E_STORE_DOWN && rv != BK_E_STORE_TIMEOUT) {
		admin_error(req, rv, NULL);
		return;
	}
	if (req->t != NULL) {
		o = admin_tenant_json(req, req->t, users != NULL ? users[0] :
		    -1);
		front_reply_json(req, o ? 200 : 500, o);
		return;
	}
	c = req->f->conf;
	arr = json_array();
	for (i = 0, k = 0; i < c->n_tenants && k < n; i++)
		if (admin_tenant_visible(req, c->tenants[i])) {
			json_array_append_new(arr, admin_tenant_json(req,
			    c->tenants[i], users != NULL ? users[k] : -1));
			k++;
		}
	front_reply_json(req, 200, json_pack("{s:o}", "tenants", arr));
}

/* Every tenant the credential may see, or req->t alone. */
static void
admin_tenants(struct front_req *req)
{
	const struct conf	*c = req->f->conf;
	const char		**ids;
	size_t			 i, n = 0;

	if ((ids = calloc(c->n_tenants + 1, sizeof(*ids))) == NULL) {
		admin_error(req, BK_E_NOMEM, NULL);
		return;
	}
	if (req->t != NULL)
		ids[n++] = req->t->id;
	for (i = 0; req->t == NULL && i < c->n_tenants; i++)
		if (admin_tenant_visible(req, c->tenants[i]))
			ids[n++] = c->tenants[i]->id;
	store_map_user_counts(req->f->stores, ids, n, admin_tenants_done,
	    admin_hold(req));
	free(ids);
}

static void
admin_tenants_get(struct front_req *req, struct admin_ctx *a)
{
	(void)a;
	admin_tenants(req);
}

/* --- the mapping --- */

static void
admin_export_done(void *arg, int rv, const struct store_mapping *m)
{
	struct front_req	*req = admin_held(arg);
	char			*csv = NULL;
	size_t			 len = 0;

	if (req == NULL)
		return;
	/* excel=1: ="0101" cells, so that Excel keeps leading zeros */
	if (rv == BK_OK)
		rv = pol_export_csv_opts(m->users, admin_flag(req, "excel"),
		    &csv, &len);
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
admin_export(struct front_req *req, struct admin_ctx *a)
{
	(void)a;
	store_mapping_read(front_req_store(req), req->t->id, admin_export_done,
	    admin_hold(req));
}

static void
admin_import_report(struct front_req *req, int status, int rv, int applied)
{
	struct admin_ctx	*a = req->aux;
	struct pol_report_meta	 m;
	char			*rep = NULL;

	/* Built and written once: a big import's report is megabytes. */
	memset(&m, 0, sizeof(m));
	m.dry_run = a->dry_run;
	if (rv != BK_OK) {
		m.error = bk_err_slug(rv);
		m.message = a->plan->fatal ? a->plan->fatal :
		    a->plan->hold ? a->plan->hold : bk_strerror(rv);
		m.request_id = req->id;
	}
	if (pol_plan_report_meta(a->plan, applied, &m, &rep) != BK_OK) {
		admin_error(req, BK_E_NOMEM, NULL);
		return;
	}
	front_reply(req, status, "application/json", rep, strlen(rep));
	free(rep);
}

/* The profiles the plan deletes, as read: their records' before. */
static int
admin_import_keep_gone(struct admin_ctx *a, const struct store_mapping *m)
{
	const struct pol_user	*u;
	size_t			 i;

	if (a->plan->n_deleted == 0)
		return BK_OK;
	if ((a->gone = calloc(a->plan->n_deleted, sizeof(*a->gone))) == NULL)
		return BK_E_NOMEM;
	for (i = 0; i < a->plan->n_rows; i++) {
		if (a->plan->rows[i].kind != POL_DELETED ||
		    a->n_gone >= a->plan->n_deleted ||
		    (u = pol_userset_get(m->users,
		    a->plan->rows[i].internal_id)) == NULL)
			continue;
		if (pol_user_copy(u, &a->gone[a->n_gone]) != BK_OK)
			return BK_E_NOMEM;
		a->n_gone++;
	}
	return BK_OK;
}

/* A changed row's fields, old (before) or new, as a JSON object text. */
static char *
admin_import_fields(const struct pol_row *r, int after)
{
	const struct pol_field_change	*ch;
	json_t				*o;
	char				*s;
	size_t				 i;

	if ((o = json_object()) == NULL)
		return NULL;
	for (i = 0; i < r->n_changes; i++) {
		ch = &r->changes[i];
		json_object_set_new(o, pol_col_key(ch->col),
		    (after ? ch->new_val : ch->old_val) != NULL ?
		    json_string(after ? ch->new_val : ch->old_val) :
		    json_null());
	}
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(o);
	return s;
}

/* Records one import writes per turn of the loop (admin_import_step). */
#define ADMIN_IMPORT_BATCH	500

/* Row r's record, with its before and after, if the row changed. */
static void
admin_import_record(struct front_req *req, struct admin_ctx *a,
    const struct pol_row *r)
{
	const struct pol_plan	*p = a->plan;
	int			 rv;

	free(req->fl.before);
	free(req->fl.after);
	req->fl.before = req->fl.after = NULL;
	if (r->kind == POL_ADDED && a->rec_up < p->n_upserts) {
		admin_change_who(req, &p->upserts[a->rec_up]);
		admin_change_set(&req->fl.after, &p->upserts[a->rec_up++]);
	} else if (r->kind == POL_CHANGED && a->rec_up < p->n_upserts) {
		admin_change_who(req, &p->upserts[a->rec_up++]);
		req->fl.before = admin_import_fields(r, 0);
		req->fl.after = admin_import_fields(r, 1);
	} else if (r->kind == POL_DELETED && a->rec_gone < a->n_gone) {
		admin_change_who(req, &a->gone[a->rec_gone]);
		admin_change_set(&req->fl.before, &a->gone[a->rec_gone++]);
	} else
		return;
	rv = front_audit(req, "mapping_import", BK_OK, r->kind == POL_ADDED ?
	    "added" : r->kind == POL_CHANGED ? "changed" : "deleted");
	if (a->rec_rv == BK_OK)
		a->rec_rv = rv;
}

/*
 * One record per changed profile: added (after: the profile), changed
 * (before and after: the fields that changed), deleted (before: the
 * profile); upserts[] follows the added and changed rows in order.  At
 * most ADMIN_IMPORT_BATCH a turn, so that an import of 100,000 profiles
 * never holds the worker's sign-ins; then the summary and the answer.
 * The records are written whether or not the admin still waits: the
 * import was applied.  Holds a reference on req until the last one.
 */
static void
admin_import_step(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval	 now = { 0, 0 };
	struct front_req		*req = arg;
	struct admin_ctx		*a = req->aux;
	size_t				 end;
	char				 d[128];

	(void)fd;
	(void)what;
	end = a->rec_row + ADMIN_IMPORT_BATCH;
	while (a->rec_row < a->plan->n_rows && a->rec_row < end)
		admin_import_record(req, a, &a->plan->rows[a->rec_row++]);
	if (a->rec_row < a->plan->n_rows && event_base_once(req->f->base, -1,
	    EV_TIMEOUT, admin_import_step, req, &now) == 0)
		return;
	while (a->rec_row < a->plan->n_rows)	/* could not wait: now */
		admin_import_record(req, a, &a->plan->rows[a->rec_row++]);
	free(req->fl.before);
	free(req->fl.after);
	req->fl.before = req->fl.after = NULL;
	front_set_str(&req->fl.internal_id, NULL);
	front_set_str(&req->fl.user, NULL);
	snprintf(d, sizeof(d), "added=%zu changed=%zu deleted=%zu",
	    a->plan->n_added, a->plan->n_changed, a->plan->n_deleted);
	front_audit(req, "mapping_import", BK_OK, d);
	if (!req->replied)
		admin_import_report(req, 200, BK_OK, 1);
	front_req_unref(req);
}

static void
admin_import_applied(void *arg, int rv, enum store_apply_result res)
{
	struct front_req	*req = arg;

	/* Applied: recorded even if the admin went away meanwhile. */
	if (rv == BK_OK && res == STORE_APPLY_OK) {
		admin_import_step(-1, 0, req);	/* keeps the reference */
		return;
	}
	if ((req = admin_held(arg)) == NULL)
		return;
	if (rv != BK_OK) {
		admin_error(req, rv, NULL);
		return;
	}
	if (res == STORE_APPLY_CONFLICT) {
		admin_error(req, BK_E_CONFLICT,
		    "the mapping changed during the import; retry");
		return;
	}
	admin_error(req, BK_E_STORE_REPLY, "unexpected store answer");
}

/* The plan is computed from the mapping as read, then applied if unchanged. */
static void
admin_import_read(void *arg, int rv, const struct store_mapping *m)
{
	struct front_req	*req = admin_held(arg);
	struct admin_ctx	*a;
	struct pol_import_opts	 o;
	const char		*v;

	if (req == NULL)
		return;
	a = req->aux;
	if (rv != BK_OK) {
		admin_error(req, rv, NULL);
		return;
	}
	memset(&o, 0, sizeof(o));
	o.allow_new = admin_flag(req, "allow_new");
	o.delete_missing = admin_flag(req, "delete_missing");
	/* delete_missing=N would read as "no deletions": say where N goes. */
	if ((v = front_param(&req->q, "delete_missing")) != NULL &&
	    !o.delete_missing && strcmp(v, "0") != 0 &&
	    strcmp(v, "false") != 0) {
		front_audit(req, "mapping_import", BK_E_POL_CONFIRM_INVALID,
		    NULL);
		admin_error(req, BK_E_POL_CONFIRM_INVALID, "delete_missing is "
		    "1 or 0; confirm the count with confirm_delete=N");
		return;
	}
	/* Checked by the plan: a malformed one refuses the upload. */
	o.confirm_zero = front_param(&req->q, "confirm_zero");
	o.confirm_delete = front_param(&req->q, "confirm_delete");
	rv = pol_import_plan(a->body, a->body_len, m->users, &o, &a->plan);
	if (a->plan == NULL) {
		admin_error(req, rv, NULL);
		return;
	}
	/*
	 * A plan waiting for a confirmation is what a dry run is for; an
	 * apply of it is refused whole with 409 and writes nothing.
	 */
	if (a->dry_run && (rv == BK_E_POL_ZERO_UNCONFIRMED ||
	    rv == BK_E_POL_DELETE_UNCONFIRMED))
		rv = BK_OK;
	if (rv == BK_E_POL_ZERO_UNCONFIRMED ||
	    rv == BK_E_POL_DELETE_UNCONFIRMED) {
		front_audit(req, "mapping_import", rv, NULL);
		admin_import_report(req, 409, rv, 0);
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
	if ((rv = admin_import_keep_gone(a, m)) != BK_OK) {
		admin_error(req, rv, NULL);
		return;
	}
	store_mapping_apply(front_req_store(req), req->t->id, m->ver, a->plan,
	    admin_import_applied, admin_hold(req));
}

static void
admin_import(struct front_req *req, struct admin_ctx *a)
{
	a->dry_run = admin_flag(req, "dry_run");
	if (admin_body(req, a) != BK_OK) {
		admin_error(req, BK_E_NOMEM, NULL);
		return;
	}
	store_mapping_read(front_req_store(req), req->t->id, admin_import_read,
	    admin_hold(req));
}

/* --- one profile --- */

static void
admin_user_reply(struct front_req *req, const struct pol_user *u, int status)
{
	char		*j = NULL;
	json_t		*o;
	json_error_t	 err;

	if (pol_user_to_api_json(u, &j) != BK_OK ||
	    (o = json_loads(j, 0, &err)) == NULL) {
		free(j);
		admin_error(req, BK_E_STORE_RECORD, NULL);
		return;
	}
	free(j);
	front_reply_json(req, status, o);
}

static void
admin_user_written(void *arg, int rv, const struct store_written *w)
{
	struct front_req	*req = admin_held(arg);
	struct admin_ctx	*a;
	char			 msg[256];

	if (req == NULL)
		return;
	a = req->aux;
	if (rv != BK_OK) {
		admin_error(req, rv, NULL);
		return;
	}
	if (w->result == STORE_WRITE_CONFLICT) {
		admin_error(req, BK_E_CONFLICT,
		    "the profile changed meanwhile; retry");
		return;
	}
	admin_change_set(&req->fl.before, a->old.found ? &a->old.user : NULL);
	if (w->result == STORE_WRITE_DUP) {
		snprintf(msg, sizeof(msg),
		    "Salesforce ID already mapped to profile %s", w->other);
		front_audit(req,
		    a->op == ADM_USER_PUT ? "user_set" : "user_delete",
		    BK_E_POL_DUP_SFDC, msg);
		admin_error(req, BK_E_POL_DUP_SFDC, msg);
		return;
	}
	if (a->op == ADM_USER_DELETE) {
		admin_change_who(req, &a->old.user);
		front_audit(req, "user_delete", BK_OK, NULL);
		front_reply_json(req, 200,
		    json_pack("{s:s}", "deleted", a->user_id));
		return;
	}
	admin_change_who(req, &w->user);
	admin_change_set(&req->fl.after, &w->user);
	front_audit(req, "user_set", BK_OK, a->created ? "created" : NULL);
	admin_user_reply(req, &w->user, a->created ? 201 : 200);
}

/* PUT: the body's fields over the profile as read (or a new one). */
static void
admin_user_write(struct front_req *req, struct admin_ctx *a)
{
	struct pol_user	 u;
	const char	*why = NULL;
	int		 rv;

	memset(&u, 0, sizeof(u));
	if (a->old.found)
		rv = pol_user_copy(&a->old.user, &u);
	else {
		a->created = 1;
		rv = (u.f[POL_COL_INTERNAL_ID] = bk_strdup(a->user_id)) !=
		    NULL ? BK_OK : BK_E_NOMEM;
	}
	if (rv != BK_OK) {
		admin_error(req, rv, NULL);
		goto out;
	}
	if ((rv = pol_user_apply_json(&u, a->body, a->body_len,
	    &why)) != BK_OK) {
		admin_change_set(&req->fl.before, a->old.found ? &a->old.user :
		    NULL);
		front_audit(req, "user_set", rv, why);
		admin_error(req, rv, why);
		goto out;
	}
	store_user_put(front_req_store(req), req->t->id, a->user_id, &a->old,
	    &u, admin_user_written, admin_hold(req));
 out:
	pol_user_cleanup(&u);
}

static void
admin_user_read(void *arg, int rv, struct store_user *u)
{
	struct front_req	*req = admin_held(arg);
	struct admin_ctx	*a;

	if (req == NULL)
		return;
	a = req->aux;
	if (rv != BK_OK) {
		admin_error(req, rv, NULL);
		return;
	}
	if (a->op == ADM_USER_GET) {
		if (!u->found)
			admin_error(req, BK_E_POL_ID_UNKNOWN, NULL);
		else
			admin_user_reply(req, &u->user, 200);
		return;
	}
	if (!u->found &&
	    (a->op != ADM_USER_PUT || !admin_flag(req, "allow_new"))) {
		admin_error(req, BK_E_POL_ID_UNKNOWN,
		    a->op == ADM_USER_PUT ? "unknown 8x8 Internal ID "
		    "(allow_new=1 creates it)" : NULL);
		return;
	}
	store_user_move(&a->old, u);
	if (a->op == ADM_USER_PUT)
		admin_user_write(req, a);
	else
		store_user_delete(front_req_store(req), req->t->id, a->user_id,
		    &a->old, admin_user_written, admin_hold(req));
}

/* GET, PUT and DELETE start from the profile as it is now. */
static void
admin_user_start(struct front_req *req, struct admin_ctx *a, enum admin_op op)
{
	a->op = op;
	if (op == ADM_USER_PUT && admin_body(req, a) != BK_OK) {
		admin_error(req, BK_E_NOMEM, NULL);
		return;
	}
	front_set_str(&req->fl.internal_id, a->user_id);
	store_user_get(front_req_store(req), req->t->id, a->user_id,
	    admin_user_read, admin_hold(req));
}

static void
admin_user_get(struct front_req *req, struct admin_ctx *a)
{
	admin_user_start(req, a, ADM_USER_GET);
}

static void
admin_user_put(struct front_req *req, struct admin_ctx *a)
{
	admin_user_start(req, a, ADM_USER_PUT);
}

static void
admin_user_delete(struct front_req *req, struct admin_ctx *a)
{
	admin_user_start(req, a, ADM_USER_DELETE);
}

static void
admin_revoke_done(void *arg, int rv, const struct store_revoked *r)
{
	struct front_req	*req = admin_held(arg);

	if (req == NULL)
		return;
	if (rv != BK_OK) {
		admin_error(req, rv, NULL);
		return;
	}
	front_audit(req, "session_revoked", BK_OK, NULL);
	front_reply_json(req, 200, json_pack("{s:I, s:I}",
	    "revoked_tokens", (json_int_t)r->tokens,
	    "revoked_sessions", (json_int_t)r->sessions));
}

/* The profile, for the record's user; then the revocation itself. */
static void
admin_revoke_who(void *arg, int rv, struct store_user *u)
{
	struct front_req	*req = admin_held(arg);
	struct admin_ctx	*a;

	if (req == NULL)
		return;
	a = req->aux;
	/* An unknown profile is still revoked: in-flight grants may exist. */
	if (rv == BK_OK && u->found)
		front_set_str(&req->fl.user, u->user.f[POL_COL_SFDC_ID]);
	store_user_revoke(front_req_store(req), req->t->id, a->user_id,
	    admin_revoke_done, admin_hold(req));
}

/* Tokens and sessions end; codes, Allow pages and sign-ins in flight too. */
static void
admin_user_revoke(struct front_req *req, struct admin_ctx *a)
{
	front_set_str(&req->fl.internal_id, a->user_id);
	store_user_get(front_req_store(req), req->t->id, a->user_id,
	    admin_revoke_who, admin_hold(req));
}

/* The account's SSO switch (front_sso.c). */
static void
admin_sso_get(struct front_req *req, struct admin_ctx *a)
{
	(void)a;
	front_sso_get(req);
}

static void
admin_sso_put(struct front_req *req, struct admin_ctx *a)
{
	(void)a;
	front_sso_put(req);
}

/* --- audit --- */

/* Filters, sources, paging and the audit_read record: front_audit_read.c. */
static void
admin_audit_query(struct front_req *req, struct admin_ctx *a)
{
	(void)a;
	front_audit_read(req, 0);
}

static void
admin_audit_export(struct front_req *req, struct admin_ctx *a)
{
	(void)a;
	front_audit_read(req, 1);
}

static void
admin_audit_verify(struct front_req *req, struct admin_ctx *a)
{
	int	 rv;

	(void)a;
	if ((rv = front_audit_access(req)) != BK_OK) {
		admin_error(req, rv, NULL);
		return;
	}
	/* A verify is a read of the whole audit: on record before it runs. */
	if (front_audit_read_note(req, "verify", NULL, -1, BK_OK) != BK_OK) {
		admin_error(req, BK_E_AUDIT_WRITE, "this read could not be "
		    "recorded in the audit");
		return;
	}
	front_audit_verify_job(req);
}

/* A kept raw assertion (front_raw.c). */
static void
admin_audit_assertion(struct front_req *req, struct admin_ctx *a)
{
	(void)a;
	front_raw_show(req);
}

/* --- liveness, metrics --- */

static void
admin_healthz(struct front_req *req, struct admin_ctx *a)
{
	(void)a;
	front_reply(req, 200, "application/json", "{\"status\":\"ok\"}", 15);
}

/* redis_store_up by store name ("default" or the first tenant's id). */
static int
admin_metrics_stores(struct front_req *req, struct bk_buf *b)
{
	const char	*names[METRICS_MAX_STORES];
	size_t		 i, n = store_map_count(req->f->stores);

	for (i = 0; i < n && i < METRICS_MAX_STORES; i++)
		names[i] = store_name(store_map_at(req->f->stores, i));
	return metrics_stores_render(b, names, i);
}

/* The switch in force, for the tenant gauge. */
static int
admin_metrics_sso(const void *arg, const struct conf_tenant *t)
{
	return front_sso_in_force(arg, t);
}

static void
admin_metrics(struct front_req *req, struct admin_ctx *a)
{
	struct bk_buf	 b;
	int		 rv;

	(void)a;
	bk_buf_init(&b, 4 * 1024 * 1024);
	if ((rv = metrics_render(&b)) != BK_OK ||
	    (rv = admin_metrics_stores(req, &b)) != BK_OK ||
	    (rv = metrics_dec_render(&b)) != BK_OK ||
	    (rv = metrics_conf_render(&b, req->f->conf,
	    req->f->tls_ctx, admin_metrics_sso, req->f)) != BK_OK)
		admin_error(req, rv, NULL);
	else
		front_reply(req, 200,
		    "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
	bk_buf_free(&b);
}

/* --- admin credentials (front_admins.c) --- */

static void
admin_admins_list(struct front_req *req, struct admin_ctx *a)
{
	(void)a;
	front_admins_list(req);
}

static void
admin_admins_add(struct front_req *req, struct admin_ctx *a)
{
	(void)a;
	front_admins_add(req);
}

/* ":id" is the credential's name here. */
static void
admin_admins_revoke(struct front_req *req, struct admin_ctx *a)
{
	front_admins_revoke(req, a->user_id);
}

/* --- routing --- */

/*
 * A path and its handler per method.  Another method is answered 404, or
 * 405 where the row says so (what the admin API has always answered).
 */
struct admin_route {
	const char		*path;
	int			 flags;
	/* the roles it admits besides operator (ADM_R_*; 0: operator only) */
	int			 roles;
	enum metrics_route	 mr;
	admin_fn		*get, *post, *put, *del;
};
#define ADM_OPEN	0x1	/* no admin token: liveness */
#define ADM_405		0x2
#define ADM_R_OPERATOR	0
#define ADM_R_ADMIN	(1 << ADMIN_ROLE_ADMIN)
#define ADM_R_AUDITOR	(1 << ADMIN_ROLE_AUDITOR)

/*
 * The global routes.  What a global route admitting a scoped role shows
 * is limited to the credential's tenants: the tenant list, the audit
 * (front_audit_read.c), a raw assertion (front_raw.c).  /metrics and the
 * audit verify cover every tenant: operator only.
 */
static const struct admin_route admin_routes[] = {
	{ "/healthz", ADM_OPEN, ADM_R_OPERATOR, MR_HEALTHZ,
	    admin_healthz, admin_healthz, admin_healthz, admin_healthz },
	{ "/metrics", 0, ADM_R_OPERATOR, MR_METRICS,
	    admin_metrics, admin_metrics, admin_metrics, admin_metrics },
	{ "/api/v1/tenants", 0, ADM_R_ADMIN | ADM_R_AUDITOR, MR_ADMIN,
	    admin_tenants_get, NULL, NULL, NULL },
	{ "/api/v1/audit", 0, ADM_R_AUDITOR, MR_ADMIN,
	    admin_audit_query, NULL, NULL, NULL },
	{ "/api/v1/audit/export", 0, ADM_R_AUDITOR, MR_ADMIN,
	    admin_audit_export, NULL, NULL, NULL },
	{ "/api/v1/audit/verify", 0, ADM_R_OPERATOR, MR_ADMIN,
	    admin_audit_verify, NULL, NULL, NULL },
	{ "/api/v1/audit/assertion", 0, ADM_R_AUDITOR, MR_ADMIN,
	    admin_audit_assertion, NULL, NULL, NULL },
	{ "/api/v1/admins", ADM_405, ADM_R_OPERATOR, MR_ADMIN,
	    admin_admins_list, admin_admins_add, NULL, NULL },
	{ "/api/v1/admins/:id", ADM_405, ADM_R_OPERATOR, MR_ADMIN,
	    NULL, NULL, NULL, admin_admins_revoke },
};

/*
 * Under /api/v1/tenants/<tenant>/; ":id" is a segment, an 8x8 Internal
 * ID.  Only for credentials of that tenant (or an operator).
 */
static const struct admin_route admin_tenant_routes[] = {
	{ "", ADM_405, ADM_R_ADMIN | ADM_R_AUDITOR, MR_ADMIN,
	    admin_tenants_get, NULL, NULL, NULL },
	{ "users.csv", ADM_405, ADM_R_ADMIN, MR_ADMIN,
	    admin_export, admin_import, NULL, NULL },
	{ "users/:id", 0, ADM_R_ADMIN, MR_ADMIN,
	    admin_user_get, NULL, admin_user_put, admin_user_delete },
	{ "users/:id/sessions/revoke", 0, ADM_R_ADMIN, MR_ADMIN,
	    NULL, admin_user_revoke, NULL, NULL },
	{ "sso", ADM_405, ADM_R_ADMIN, MR_ADMIN,
	    admin_sso_get, NULL, admin_sso_put, NULL },
};

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

enum admin_match { ADM_MATCH = 2, ADM_NOMATCH, ADM_BADSEG };

/* Path s against pattern p; an ":id" segment is decoded into a->user_id. */
static enum admin_match
admin_path_match(const char *p, const char *s, struct admin_ctx *a)
{
	size_t	 n;

	while (*p != '\0') {
		if (strncmp(p, ":id", 3) == 0) {
			n = strcspn(s, "/");
			free(a->user_id);
			if ((a->user_id = admin_seg(s, n)) == NULL)
				return ADM_BADSEG;
			p += 3;
			s += n;
		} else if (*p++ != *s++)
			return ADM_NOMATCH;
	}
	return *s == '\0' ? ADM_MATCH : ADM_NOMATCH;
}

/*
 * Whether req's credential may use rt (on req->t, if set): one of the
 * row's roles, on the tenant.  The open route asks nothing.
 */
static int
admin_route_allows(const struct front_req *req, const struct admin_route *rt)
{
	if (rt->flags & ADM_OPEN)
		return 1;
	if (front_admin_allows(req->cred, ADMIN_ROLE_OPERATOR, req->t))
		return 1;
	return ((rt->roles & ADM_R_ADMIN) &&
	    front_admin_allows(req->cred, ADMIN_ROLE_ADMIN, req->t)) ||
	    ((rt->roles & ADM_R_AUDITOR) &&
	    front_admin_allows(req->cred, ADMIN_ROLE_AUDITOR, req->t));
}

/* Run rt's handler for method m, or answer 404/405 (or 403). */
static void
admin_route_run(struct front_req *req, const struct admin_route *rt,
    enum evhttp_cmd_type m, struct admin_ctx *a)
{
	admin_fn	*fn = m == EVHTTP_REQ_GET ? rt->get :
	    m == EVHTTP_REQ_POST ? rt->post : m == EVHTTP_REQ_PUT ? rt->put :
	    m == EVHTTP_REQ_DELETE ? rt->del : NULL;
	char		 why[160];

	if (fn == NULL) {
		admin_error(req, rt->flags & ADM_405 ? BK_E_HTTP_METHOD :
		    BK_E_HTTP_NOROUTE, NULL);
		return;
	}
	req->route = rt->mr;
	if (!admin_route_allows(req, rt)) {
		snprintf(why, sizeof(why), "use this route%s%s%s (it admits: "
		    "operator%s%s%s)", req->t != NULL ? " on tenant '" : "",
		    req->t != NULL ? req->t->id : "", req->t != NULL ? "'" : "",
		    rt->roles & ADM_R_ADMIN ? ", admin" : "",
		    rt->roles & ADM_R_AUDITOR ? ", auditor" : "",
		    rt->roles != 0 ? " of the tenant" : "");
		front_admin_forbid(req, why);
		return;
	}
	fn(req, a);
}

/*
 * rest follows "/api/v1/tenants/": the tenant first (unknown: 404), then
 * its table.  An ID that does not decode, in a path that is a route up
 * to it, is a 400.
 */
static void
admin_tenant_dispatch(struct front_req *req, const char *rest,
    enum evhttp_cmd_type m)
{
	const char		*slash = strchr(rest, '/');
	const char		*sub = slash ? slash + 1 : "";
	char			*tid;
	struct admin_ctx	*a;
	enum admin_match	 mt = ADM_NOMATCH, best = ADM_NOMATCH;
	size_t			 i;

	tid = admin_seg(rest, slash ? (size_t)(slash - rest) : strlen(rest));
	req->t = tid ? conf_tenant_lookup(req->f->conf, tid) : NULL;
	free(tid);
	if (req->t == NULL) {
		admin_error(req, BK_E_TENANT_UNKNOWN, NULL);
		return;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		admin_error(req, BK_E_NOMEM, NULL);
		return;
	}
	req->aux = a;
	req->aux_free = admin_ctx_free;
	for (i = 0; i < BK_NELEM(admin_tenant_routes); i++) {
		mt = admin_path_match(admin_tenant_routes[i].path, sub, a);
		if (mt == ADM_MATCH)
			break;
		if (mt == ADM_BADSEG)
			best = mt;
	}
	if (mt == ADM_MATCH)
		admin_route_run(req, &admin_tenant_routes[i], m, a);
	else if (best == ADM_BADSEG)
		admin_error(req, BK_E_HTTP_BADPARAM,
		    "bad 8x8 Internal ID in path");
	else
		admin_error(req, BK_E_HTTP_NOROUTE, NULL);
}

/* The global route for path, with its ":id" segment in a (or NULL). */
static const struct admin_route *
admin_route_find(const char *path, struct admin_ctx *a, enum admin_match *mt)
{
	size_t	 i;

	*mt = ADM_NOMATCH;
	for (i = 0; i < BK_NELEM(admin_routes); i++) {
		*mt = admin_path_match(admin_routes[i].path, path, a);
		if (*mt == ADM_MATCH)
			return &admin_routes[i];
		if (*mt == ADM_BADSEG)
			return NULL;
	}
	return NULL;
}

/* After the credential is known (front_admin_authenticate()). */
static void
admin_dispatch_authed(struct front_req *req)
{
	const struct evhttp_uri	*uri = req->ev != NULL ?
	    evhttp_request_get_evhttp_uri(req->ev) : NULL;
	const char		*path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char		*query = uri ? evhttp_uri_get_query(uri) : NULL;
	const struct admin_route *rt;
	struct admin_ctx	 a;
	enum admin_match	 mt;
	int			 rv;

	if (path == NULL) {
		admin_error(req, BK_E_HTTP_NOROUTE, NULL);
		return;
	}
	if (query != NULL && (rv = front_params_parse(query,
	    strlen(query), &req->q)) != BK_OK) {
		admin_error(req, rv, NULL);
		return;
	}
	memset(&a, 0, sizeof(a));
	if ((rt = admin_route_find(path, &a, &mt)) != NULL)
		admin_route_run(req, rt, evhttp_request_get_command(req->ev),
		    &a);
	else if (strncmp(path, "/api/v1/tenants/", 16) == 0)
		admin_tenant_dispatch(req, path + 16,
		    evhttp_request_get_command(req->ev));
	else
		admin_error(req, mt == ADM_BADSEG ? BK_E_HTTP_BADPARAM :
		    BK_E_HTTP_NOROUTE, NULL);
	free(a.user_id);
}

static void
admin_dispatch(struct front_req *req, struct evhttp_request *ev)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(ev);
	const char		*path = uri ? evhttp_uri_get_path(uri) : NULL;
	const struct admin_route *rt;
	struct admin_ctx	 a;
	enum admin_match	 mt;

	req->want_json = 1;
	if (path == NULL) {
		admin_error(req, BK_E_HTTP_NOROUTE, NULL);
		return;
	}
	/* The web console: its own session, no bearer token. */
	if (front_console_is_path(path)) {
		front_console_dispatch(req, path,
		    uri ? evhttp_uri_get_query(uri) : NULL,
		    (int)evhttp_request_get_command(ev));
		return;
	}
	memset(&a, 0, sizeof(a));
	rt = admin_route_find(path, &a, &mt);
	free(a.user_id);
	/* Liveness needs no token; every other path, known or not, does. */
	if (rt != NULL && (rt->flags & ADM_OPEN)) {
		admin_route_run(req, rt, evhttp_request_get_command(ev), NULL);
		return;
	}
	front_admin_authenticate(req, admin_dispatch_authed);
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

/*
 * --- for the web console (front_console.h) ---
 * The same hold, path segment, record and template as the admin API's,
 * so that the console's pages and these routes cannot drift apart.
 */
void *
front_admin_hold(struct front_req *req)
{
	return admin_hold(req);
}

struct front_req *
front_admin_held(void *arg)
{
	return admin_held(arg);
}

char *
front_admin_seg(const char *s, size_t n)
{
	return admin_seg(s, n);
}

void
front_admin_change_set(char **dst, const struct pol_user *u)
{
	admin_change_set(dst, u);
}

void
front_admin_export_done(void *arg, int rv, const struct store_mapping *m)
{
	admin_export_done(arg, rv, m);
}

char *
front_admin_import_fields(const struct pol_row *r, int after)
{
	return admin_import_fields(r, after);
}
