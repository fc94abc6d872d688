/*
 * sso-broker: the panel's back channel: /oauth2/token, /oauth2/introspect
 * (RFC 7662), /oauth2/revoke (RFC 7009), RFC 8414 metadata, and /logout.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A code is redeemed by one Lua script (store_lua_redeem): it is checked
 * against the client, redirect_uri and PKCE verifier, the user's
 * revocation generation and mapping, then consumed and its token minted
 * in the same atomic step, so it works exactly once even under races (T04)
 * and a Redis fault cannot burn it; a second use revokes the token (RFC
 * 6749 4.1.2).  Tokens are looked up by SHA-256 digest, never stored or
 * logged in clear (T02).  Tokens are accepted only in POST bodies (T07).
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

static void front_token_redeemed(struct front_req *, int,
    const struct store_reply *);

static void
front_token_fail(struct front_req *req, int rv, const char *why)
{
	front_audit(req, "code_redeemed", rv, why);
	front_oauth_error(req, rv, why);
}

/*
 * A refusal the panel hears as invalid_grant (RFC 6749 5.2) while the
 * audit record keeps the precise reason (revoked, code_reused, ...).
 */
static void
front_token_refuse(struct front_req *req, int reason, const char *why)
{
	front_audit(req, "code_redeemed", reason, why);
	front_oauth_error(req, BK_E_OAUTH_INVALID_GRANT,
	    why ? why : bk_strerror(reason));
}

/* The request's parameters; BK_OK, or an answer was sent. */
static int
front_token_params(struct front_req *req)
{
	const char	*gt, *code, *ruri, *ver;

	gt = front_param(&req->form, "grant_type");
	code = front_param(&req->form, "code");
	ruri = front_param(&req->form, "redirect_uri");
	ver = front_param(&req->form, "code_verifier");
	if (gt == NULL || code == NULL || ruri == NULL || ver == NULL) {
		front_oauth_error(req, BK_E_OAUTH_INVALID_REQUEST,
		    "grant_type, code, redirect_uri and code_verifier are "
		    "required");
		return BK_E_OAUTH_INVALID_REQUEST;
	}
	if (strcmp(gt, "authorization_code") != 0) {
		front_oauth_error(req, BK_E_OAUTH_UNSUPPORTED_GRANT, NULL);
		return BK_E_OAUTH_UNSUPPORTED_GRANT;
	}
	if (!front_pkce_ok(ver)) {
		front_oauth_error(req, BK_E_OAUTH_INVALID_REQUEST,
		    "code_verifier is malformed");
		return BK_E_OAUTH_INVALID_REQUEST;
	}
	if (strlen(code) != BK_TOKEN_LEN || !bk_str_is_printable(code)) {
		front_token_fail(req, BK_E_OAUTH_INVALID_GRANT,
		    "code is malformed");
		return BK_E_OAUTH_INVALID_GRANT;
	}
	return BK_OK;
}

/*
 * One EVALSHA (store_lua_redeem) checks the code against this request,
 * consumes it and mints the token: no fault between consuming and minting
 * can burn a code, and a code used twice revokes its token.
 */
void
front_oauth_token(struct front_req *req)
{
	const char	*code, *ver;
	char		 want[BK_TOKEN_LEN + 1], tdig[BK_DIGEST_HEX + 1];
	char		 now[24], sttl[24], cttl[24];
	char		*k[7];
	size_t		 i;

	if (front_backchannel_begin(req) != BK_OK ||
	    front_token_params(req) != BK_OK)
		return;
	if (!req->t->sso_enabled) {
		/* Switched off (SIGHUP) after the code was issued. */
		front_token_refuse(req, BK_E_TENANT_SSO_OFF,
		    "Salesforce SSO is not enabled for this account");
		return;
	}
	code = front_param(&req->form, "code");
	ver = front_param(&req->form, "code_verifier");
	if (bk_token_new_dup(&req->fl.token) != BK_OK) {
		front_oauth_error(req, BK_E_RANDOM, NULL);
		return;
	}
	front_pkce_s256(ver, want);
	bk_sha256_hex(req->fl.token, strlen(req->fl.token), tdig);
	snprintf(now, sizeof(now), "%lld", (long long)bk_now());
	snprintf(sttl, sizeof(sttl), "%d", req->t->policy.session_ttl);
	snprintf(cttl, sizeof(cttl), "%d", req->t->policy.code_ttl);
	k[0] = store_key_digest(req->t->id, "code", code);
	k[1] = store_key_digest(req->t->id, "codeused", code);
	k[2] = store_key(req->t->id, "sfdc", NULL);
	k[3] = store_key(req->t->id, "ugen", NULL);
	k[4] = store_key(req->t->id, "tok", "");
	k[5] = store_key(req->t->id, "utok", "");
	k[6] = NULL;
	if (k[0] && k[1] && k[2] && k[3] && k[4] && k[5]) {
		const char *args[14] = { k[0], k[1], k[2], k[3],
		    req->t->panel.client_id,
		    front_param(&req->form, "redirect_uri"), want, tdig, k[4],
		    k[5], req->t->id, now, sttl, cttl };

		front_store_eval(req, front_token_redeemed, store_lua_redeem,
		    4, 14, args, NULL);
	} else
		front_oauth_error(req, BK_E_NOMEM, NULL);
	for (i = 0; i < 6; i++)
		free(k[i]);
}

/* User fields of a stored code, tombstone or token record, for the audit. */
static json_t *
front_token_rec(struct front_req *req, const struct store_reply *r)
{
	const char	*s;
	size_t		 len;
	json_t		*o;
	json_error_t	 err;

	if ((s = store_reply_str(r, &len)) == NULL ||
	    (o = json_loadb(s, len, 0, &err)) == NULL)
		return NULL;
	front_set_str(&req->fl.user, rec_str(o, "user"));
	front_set_str(&req->fl.internal_id, rec_str(o, "internal_id"));
	front_set_str(&req->fl.extension, rec_str(o, "extension"));
	return o;
}

/* Every answer of store_lua_redeem but "ok". */
static void
front_token_refused(struct front_req *req, const struct store_reply *r)
{
	const struct store_reply *st = store_reply_elem(r, 0);
	json_t		*o = front_token_rec(req, store_reply_elem(r, 1));
	const char	*why;
	size_t		 len;

	json_decref(o);
	if (store_reply_is(st, "unknown"))
		front_token_fail(req, BK_E_OAUTH_INVALID_GRANT,
		    "code unknown, expired or used");
	else if (store_reply_is(st, "reused"))
		/* RFC 6749 4.1.2: deny, and revoke what the code gave. */
		front_token_refuse(req, BK_E_OAUTH_CODE_REUSED,
		    store_reply_int(store_reply_elem(r, 2)) == 1 ?
		    "code used twice; its token is revoked" :
		    "code used twice");
	else if (store_reply_is(st, "mismatch") &&
	    (why = store_reply_str(store_reply_elem(r, 2), &len)) != NULL)
		front_token_fail(req, BK_E_OAUTH_INVALID_GRANT, why);
	else if (store_reply_is(st, "revoked"))
		front_token_refuse(req, BK_E_OAUTH_REVOKED,
		    "the user was revoked after the code was issued");
	else if (store_reply_is(st, "gone"))
		front_token_fail(req, BK_E_OAUTH_INVALID_GRANT,
		    "the user no longer maps to this profile");
	else if (store_reply_is(st, "expired"))
		front_token_fail(req, BK_E_OAUTH_INVALID_GRANT,
		    "session expired");
	else if (store_reply_is(st, "bad"))
		front_token_fail(req, BK_E_OAUTH_INVALID_GRANT,
		    "code record unreadable");
	else {
		/* "badtype" or unexpected: nothing was written. */
		front_audit(req, "code_redeemed", BK_E_STORE_RECORD, NULL);
		front_oauth_error(req, BK_E_STORE_REPLY, NULL);
	}
}

static void
front_token_redeemed(struct front_req *req, int rv,
    const struct store_reply *r)
{
	json_t		*o, *t;
	int		 arv;

	if (rv != BK_OK) {
		/* Nothing was written (the script's first write failed). */
		front_oauth_error(req,
		    rv == BK_E_STORE_REPLY ? BK_E_STORE_DOWN : rv, NULL);
		return;
	}
	if (!store_reply_is(store_reply_elem(r, 0), "ok")) {
		front_token_refused(req, r);
		return;
	}
	if ((t = front_token_rec(req, store_reply_elem(r, 1))) == NULL ||
	    req->fl.user == NULL || req->fl.internal_id == NULL) {
		json_decref(t);
		front_oauth_error(req, BK_E_STORE_RECORD, NULL);
		return;
	}
	json_decref(t);
	if ((arv = front_audit(req, "code_redeemed", BK_OK, NULL)) != BK_OK) {
		front_oauth_error(req, arv, NULL);
		return;
	}
	o = json_pack("{s:s, s:s, s:I, s:s?, s:s, s:s, s:s}",
	    "access_token", req->fl.token, "token_type", "Bearer",
	    "expires_in", (json_int_t)store_reply_int(store_reply_elem(r, 2)),
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
	front_page_signed_out(req);
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
		char name[FRONT_COOKIE_NAMEBUF], *v;

		front_cookie_name(req, FRONT_COOKIE_SESSION, c->tenants[i]->id,
		    name, sizeof(name));
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
	{
		char name[FRONT_COOKIE_NAMEBUF];

		front_cookie_name(req, FRONT_COOKIE_CORR, NULL, name,
		    sizeof(name));
		front_cookie_clear(req, name, "None");
	}
	if (n == 0) {
		front_logout_cb(req, BK_OK, NULL);
		return;
	}
	front_store(req, front_logout_cb, (int)(1 + n), argv, NULL);
	for (i = 0; i < n; i++)
		free(keys[i]);
}
