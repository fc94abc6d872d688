/*
 * sso-broker: the panel's back channel: /oauth2/token, /oauth2/introspect
 * (RFC 7662), /oauth2/revoke (RFC 7009), RFC 8414 metadata, and /logout.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A code is redeemed with GETDEL, so it works exactly once even under
 * races (T04); then client, redirect_uri and the PKCE verifier are
 * compared (constant time for secrets) and the token is minted only if
 * the user still maps to the same profile.  Tokens are looked up by
 * SHA-256 digest, never stored or logged in clear (T02).  Tokens are
 * accepted only in POST bodies (T07).
 * Trust: every parameter is untrusted; stored records are re-validated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

#include "front_int.h"
#include "log.h"
#include "pol.h"

static const char *
rec_str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Shared start of the back-channel endpoints: form body + client auth. */
static int
front_backchannel_begin(struct front_req *req)
{
	int	 rv;

	req->want_json = 1;
	if ((rv = front_form_parse(req, 16384)) != BK_OK) {
		front_oauth_error(req, rv == BK_E_HTTP_BODY_TOOBIG ? rv :
		    BK_E_OAUTH_INVALID_REQUEST,
		    "expected an application/x-www-form-urlencoded body");
		return rv;
	}
	if ((rv = front_client_auth(req, &req->t)) != BK_OK) {
		front_oauth_error(req, rv, NULL);
		return rv;
	}
	front_set_str(&req->fl.client_id, req->t->panel.client_id);
	return BK_OK;
}

/* --- token --- */

static void front_token_code_cb(struct front_req *, int,
    const struct store_reply *);
static void front_token_minted(struct front_req *, int,
    const struct store_reply *);

static void
front_token_fail(struct front_req *req, int rv, const char *why)
{
	front_audit(req, "code_redeemed", rv, why);
	front_oauth_error(req, rv, why);
}

void
front_oauth_token(struct front_req *req)
{
	const char	*gt, *code, *ruri, *ver;
	char		*key;
	const char	*argv[2];

	if (front_backchannel_begin(req) != BK_OK)
		return;
	gt = front_param(&req->form, "grant_type");
	code = front_param(&req->form, "code");
	ruri = front_param(&req->form, "redirect_uri");
	ver = front_param(&req->form, "code_verifier");
	if (gt == NULL || code == NULL || ruri == NULL || ver == NULL) {
		front_oauth_error(req, BK_E_OAUTH_INVALID_REQUEST,
		    "grant_type, code, redirect_uri and code_verifier are "
		    "required");
		return;
	}
	if (strcmp(gt, "authorization_code") != 0) {
		front_oauth_error(req, BK_E_OAUTH_UNSUPPORTED_GRANT, NULL);
		return;
	}
	if (!front_pkce_ok(ver)) {
		front_oauth_error(req, BK_E_OAUTH_INVALID_REQUEST,
		    "code_verifier is malformed");
		return;
	}
	if (strlen(code) != BK_TOKEN_LEN || !bk_str_is_printable(code)) {
		front_token_fail(req, BK_E_OAUTH_INVALID_GRANT,
		    "code is malformed");
		return;
	}
	if ((key = store_key_digest(req->t->id, "code", code)) == NULL) {
		front_oauth_error(req, BK_E_NOMEM, NULL);
		return;
	}
	argv[0] = "GETDEL";	/* single use, atomically (T04) */
	argv[1] = key;
	front_store(req, front_token_code_cb, 2, argv, NULL);
	free(key);
}

/*
 * The redeemed code's record against this request: bound to the client
 * (RFC 6819 5.1.5.8), the redirect_uri and the PKCE verifier (compared in
 * constant time).  Fills the flow; NULL or a reason for invalid_grant.
 */
static const char *
front_token_check_code(struct front_req *req, json_t *o)
{
	const char	*ruri = front_param(&req->form, "redirect_uri");
	const char	*ver = front_param(&req->form, "code_verifier");
	const char	*client = rec_str(o, "client_id");
	const char	*chal = rec_str(o, "challenge");
	char		 want[BK_TOKEN_LEN + 1];

	front_set_str(&req->fl.user, rec_str(o, "user"));
	front_set_str(&req->fl.internal_id, rec_str(o, "internal_id"));
	front_set_str(&req->fl.extension, rec_str(o, "extension"));
	req->fl.sess_exp =
	    (time_t)json_integer_value(json_object_get(o, "sess_exp"));
	if (client == NULL || strcmp(client, req->t->panel.client_id) != 0)
		return "code issued to another client";
	if (rec_str(o, "redirect_uri") == NULL ||
	    strcmp(rec_str(o, "redirect_uri"), ruri) != 0)
		return "redirect_uri does not match";
	front_pkce_s256(ver, want);
	if (chal == NULL || !bk_ct_eq(want, strlen(want), chal, strlen(chal)))
		return "code_verifier does not match";
	if (req->fl.user == NULL || req->fl.internal_id == NULL ||
	    rec_str(o, "sfdc_key") == NULL)
		return "code record incomplete";
	return NULL;
}

/* A new token, stored if the user still maps to the profile. */
static void
front_token_mint(struct front_req *req, const char *sfdc, long ttl_s,
    time_t now)
{
	char	 ttl[24];
	char	*tkey, *ix, *utok, *trec = NULL;
	json_t	*t;

	if (bk_token_new_dup(&req->fl.token) != BK_OK) {
		front_oauth_error(req, BK_E_RANDOM, NULL);
		return;
	}
	t = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s?, s:s, s:I, s:I}", "v", 1,
	    "tenant", req->t->id, "client_id", req->t->panel.client_id,
	    "internal_id", req->fl.internal_id, "user", req->fl.user,
	    "extension", req->fl.extension, "sfdc_key", sfdc,
	    "iat", (json_int_t)now, "exp", (json_int_t)req->fl.sess_exp);
	trec = t ? json_dumps(t, JSON_COMPACT) : NULL;
	json_decref(t);
	tkey = store_key_digest(req->t->id, "tok", req->fl.token);
	ix = store_key(req->t->id, "sfdc", NULL);
	utok = store_key(req->t->id, "utok", req->fl.internal_id);
	snprintf(ttl, sizeof(ttl), "%ld", ttl_s);
	if (trec == NULL || tkey == NULL || ix == NULL || utok == NULL)
		front_oauth_error(req, BK_E_NOMEM, NULL);
	else {
		const char *args[7] =
		    { ix, sfdc, req->fl.internal_id, tkey, trec, ttl, utok };

		front_store_eval(req, front_token_minted, store_lua_mint, 1, 7,
		    args, NULL);
	}
	free(tkey);
	free(ix);
	free(utok);
	free(trec);
}

static void
front_token_code_cb(struct front_req *req, int rv, const struct store_reply *r)
{
	const char	*s, *why;
	size_t		 len;
	json_t		*o;
	json_error_t	 err;
	time_t		 now = bk_now();
	long		 ttl;

	if (rv != BK_OK) {
		front_oauth_error(req,
		    rv == BK_E_STORE_REPLY ? BK_E_STORE_DOWN : rv, NULL);
		return;
	}
	if ((s = store_reply_str(r, &len)) == NULL) {
		front_token_fail(req, BK_E_OAUTH_INVALID_GRANT,
		    "code unknown, expired or used");
		return;
	}
	if ((o = json_loadb(s, len, 0, &err)) == NULL) {
		front_token_fail(req, BK_E_OAUTH_INVALID_GRANT,
		    "code record unreadable");
		return;
	}
	if ((why = front_token_check_code(req, o)) != NULL) {
		front_token_fail(req, BK_E_OAUTH_INVALID_GRANT, why);
		json_decref(o);
		return;
	}
	/* The token never outlives the browser session or the policy (P28). */
	ttl = (long)(req->fl.sess_exp - now);
	if (ttl > req->t->policy.session_ttl)
		ttl = req->t->policy.session_ttl;
	if (ttl <= 0)
		front_token_fail(req, BK_E_OAUTH_INVALID_GRANT,
		    "session expired");
	else {
		req->fl.sess_exp = now + ttl;
		front_token_mint(req, rec_str(o, "sfdc_key"), ttl, now);
	}
	json_decref(o);
}

static void
front_token_minted(struct front_req *req, int rv, const struct store_reply *r)
{
	json_t	*o;
	int	 arv;

	if (rv != BK_OK) {
		front_oauth_error(req,
		    rv == BK_E_STORE_REPLY ? BK_E_STORE_DOWN : rv, NULL);
		return;
	}
	if (!store_reply_is(r, "ok")) {
		front_token_fail(req, BK_E_OAUTH_INVALID_GRANT,
		    "the user no longer maps to this profile");
		return;
	}
	if ((arv = front_audit(req, "code_redeemed", BK_OK, NULL)) != BK_OK) {
		front_oauth_error(req, arv, NULL);
		return;
	}
	o = json_pack("{s:s, s:s, s:I, s:s?, s:s, s:s, s:s}",
	    "access_token", req->fl.token, "token_type", "Bearer",
	    "expires_in", (json_int_t)(req->fl.sess_exp - bk_now()),
	    "extension", req->fl.extension, "internal_id", req->fl.internal_id,
	    "sfdc_username", req->fl.user, "tenant", req->t->id);
	front_reply_json(req, 200, o);
}

/* --- introspection --- */

static void
front_introspect_cb(struct front_req *req, int rv, const struct store_reply *r)
{
	const char	*s;
	size_t		 len;
	json_t		*o, *out;
	json_error_t	 err;
	json_int_t	 exp;

	if (rv != BK_OK) {
		front_oauth_error(req,
		    rv == BK_E_STORE_REPLY ? BK_E_STORE_DOWN : rv, NULL);
		return;
	}
	if ((s = store_reply_str(r, &len)) == NULL ||
	    (o = json_loadb(s, len, 0, &err)) == NULL) {
		front_reply(req, 200, "application/json", "{\"active\":false}",
		    16);
		return;
	}
	exp = json_integer_value(json_object_get(o, "exp"));
	if (rec_str(o, "client_id") == NULL ||
	    strcmp(rec_str(o, "client_id"), req->t->panel.client_id) != 0 ||
	    exp <= (json_int_t)bk_now() || rec_str(o, "user") == NULL ||
	    rec_str(o, "internal_id") == NULL) {
		json_decref(o);
		front_reply(req, 200, "application/json", "{\"active\":false}",
		    16);
		return;
	}
	out =
	    json_pack("{s:b, s:s, s:s, s:s, s:s, s:s, s:s?, s:s, s:s, s:I, "
	    "s:I, s:s}",
	    "active", 1, "client_id", rec_str(o, "client_id"),
	    "username", rec_str(o, "user"), "sfdc_username", rec_str(o, "user"),
	    "sub", rec_str(o, "internal_id"), "internal_id",
	    rec_str(o, "internal_id"),
	    "extension", rec_str(o, "extension"), "tenant", req->t->id,
	    "token_type", "Bearer", "exp", exp,
	    "iat", json_integer_value(json_object_get(o, "iat")),
	    "iss", req->f->conf->public_url);
	json_decref(o);
	front_reply_json(req, 200, out);
}

void
front_oauth_introspect(struct front_req *req)
{
	const char	*tok;
	char		*key;
	const char	*argv[2];

	if (front_backchannel_begin(req) != BK_OK)
		return;
	if ((tok = front_param(&req->form, "token")) == NULL) {
		front_oauth_error(req, BK_E_OAUTH_INVALID_REQUEST,
		    "token is required");
		return;
	}
	if (strlen(tok) != BK_TOKEN_LEN) {
		front_reply(req, 200, "application/json", "{\"active\":false}",
		    16);
		return;
	}
	if ((key = store_key_digest(req->t->id, "tok", tok)) == NULL) {
		front_oauth_error(req, BK_E_NOMEM, NULL);
		return;
	}
	argv[0] = "GET";
	argv[1] = key;
	front_store(req, front_introspect_cb, 2, argv, NULL);
	free(key);
}

/* --- revocation --- */

static void
front_revoke_cb(struct front_req *req, int rv, const struct store_reply *r)
{
	if (rv != BK_OK) {
		front_oauth_error(req,
		    rv == BK_E_STORE_REPLY ? BK_E_STORE_DOWN : rv, NULL);
		return;
	}
	if (store_reply_int(r) == 1 &&
	    (rv = front_audit(req, "token_revoked", BK_OK, NULL)) != BK_OK) {
		front_oauth_error(req, rv, NULL);
		return;
	}
	/* RFC 7009 2.2: 200 whether or not the token was valid. */
	front_reply(req, 200, "application/json", "{}", 2);
}

void
front_oauth_revoke(struct front_req *req)
{
	const char	*tok;
	char		*key, *pre;

	if (front_backchannel_begin(req) != BK_OK)
		return;
	if ((tok = front_param(&req->form, "token")) == NULL) {
		front_oauth_error(req, BK_E_OAUTH_INVALID_REQUEST,
		    "token is required");
		return;
	}
	if (strlen(tok) != BK_TOKEN_LEN) {
		front_reply(req, 200, "application/json", "{}", 2);
		return;
	}
	key = store_key_digest(req->t->id, "tok", tok);
	pre = store_key(req->t->id, "utok", "");
	if (key == NULL || pre == NULL) {
		free(key);
		free(pre);
		front_oauth_error(req, BK_E_NOMEM, NULL);
		return;
	}
	{
		const char *args[3] = { key, req->t->panel.client_id, pre };

		front_store_eval(req, front_revoke_cb, store_lua_revoke, 1, 3,
		    args, NULL);
	}
	free(key);
	free(pre);
}

/* --- RFC 8414 --- */

void
front_oauth_wellknown(struct front_req *req)
{
	const char	*u = req->f->conf->public_url;
	char		 a[1024], t[1024], i[1024], r[1024];
	json_t		*o;

	snprintf(a, sizeof(a), "%s/oauth2/authorize", u);
	snprintf(t, sizeof(t), "%s/oauth2/token", u);
	snprintf(i, sizeof(i), "%s/oauth2/introspect", u);
	snprintf(r, sizeof(r), "%s/oauth2/revoke", u);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s], s:[s], s:[s], s:[s,s],"
	    " s:[s,s],"
	    " s:[s,s], s:b}",
	    "issuer", u, "authorization_endpoint", a, "token_endpoint", t,
	    "introspection_endpoint", i, "revocation_endpoint", r,
	    "response_types_supported", "code", "grant_types_supported",
	    "authorization_code", "code_challenge_methods_supported", "S256",
	    "token_endpoint_auth_methods_supported", "client_secret_basic",
	    "client_secret_post",
	    "introspection_endpoint_auth_methods_supported",
	    "client_secret_basic",
	    "client_secret_post",
	    "revocation_endpoint_auth_methods_supported", "client_secret_basic",
	    "client_secret_post",
	    "authorization_response_iss_parameter_supported", 1);
	front_reply_json(req, 200, o);
}

/* --- logout --- */

static void
front_logout_cb(struct front_req *req, int rv, const struct store_reply *r)
{
	(void)r;
	if (rv != BK_OK) {
		front_error(req, rv == BK_E_STORE_REPLY ? BK_E_STORE_DOWN : rv,
		    NULL);
		return;
	}
	front_audit(req, "logout", BK_OK, NULL);
	front_page(req, 200, "Signed out",
	    "<p>You are signed out of single sign-on. Close this window, or "
	    "sign in "
	    "again from the communication panel.</p>");
}

void
front_logout(struct front_req *req)
{
	const struct conf	*c = req->f->conf;
	const char		*argv[1 + 16];
	char			*keys[16];
	size_t			 i, n = 0;

	argv[0] = "DEL";
	for (i = 0; i < c->n_tenants && n < 16; i++) {
		char name[FRONT_COOKIE_NAME_MAX],
		    *v;

		snprintf(name, sizeof(name), "%s%s", FRONT_COOKIE_SESSION,
		    c->tenants[i]->id);
		if ((v = front_cookie_get(req, name)) == NULL)
			continue;
		front_cookie_clear(req, name, "Lax");
		if (req->t == NULL)
			req->t = c->tenants[i];
		keys[n] = store_key_digest(c->tenants[i]->id, "sess", v);
		bk_strfree_secret(v);
		if (keys[n] != NULL) {
			argv[1 + n] = keys[n];
			n++;
		}
	}
	front_cookie_clear(req, FRONT_COOKIE_CORR, "None");
	if (n == 0) {
		front_logout_cb(req, BK_OK, NULL);
		return;
	}
	front_store(req, front_logout_cb, (int)(1 + n), argv, NULL);
	for (i = 0; i < n; i++)
		free(keys[i]);
}
