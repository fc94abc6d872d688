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

#include <jansson.h>

#include "front_int.h"
#include "log.h"
#include "store_signin.h"

/* Browser sessions one sign-out ends (one per tenant cookie, at most). */
#define FRONT_LOGOUT_MAX	8

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

static void front_token_redeemed(void *, int, const struct store_redeemed *);

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
 * One store step (store_code_redeem) checks the code against this
 * request, consumes it and mints the token: no fault between consuming
 * and minting can burn a code, and a code used twice revokes its token.
 */
void
front_oauth_token(struct front_req *req)
{
	struct store_redeem_in	 in;
	char			 want[BK_TOKEN_LEN + 1];

	if (front_backchannel_begin(req) != BK_OK ||
	    front_token_params(req) != BK_OK)
		return;
	if (front_gate(req, req->t, req->t->login, FLOW_GATE_SSO) != BK_OK) {
		/* Switched off (SIGHUP) after the code was issued. */
		front_token_refuse(req, BK_E_TENANT_SSO_OFF,
		    "Salesforce SSO is not enabled for this account");
		return;
	}
	if (bk_token_new_dup(&req->fl.token) != BK_OK) {
		front_oauth_error(req, BK_E_RANDOM, NULL);
		return;
	}
	front_pkce_s256(front_param(&req->form, "code_verifier"), want);
	memset(&in, 0, sizeof(in));
	in.tenant = req->t->id;
	in.code = front_param(&req->form, "code");
	in.client_id = req->t->panel.client_id;
	in.redirect_uri = front_param(&req->form, "redirect_uri");
	in.challenge = want;
	in.token = req->fl.token;
	in.now = (long)bk_now();
	in.session_ttl = req->t->policy.session_ttl;
	in.code_ttl = req->t->policy.code_ttl;
	store_code_redeem(front_req_store(req), &in, front_token_redeemed, req);
}

/* Every answer of the redemption but OK. */
static void
front_token_refused(struct front_req *req, const struct store_redeemed *r)
{
	switch (r->verdict) {
	case STORE_REDEEM_UNKNOWN:
		front_token_fail(req, BK_E_OAUTH_INVALID_GRANT,
		    "code unknown, expired or used");
		return;
	case STORE_REDEEM_REUSED:
		/* RFC 6749 4.1.2: deny, and revoke what the code gave. */
		front_token_refuse(req, BK_E_OAUTH_CODE_REUSED,
		    r->token_revoked ? "code used twice; its token is revoked" :
		    "code used twice");
		return;
	case STORE_REDEEM_MISMATCH:
		front_token_fail(req, BK_E_OAUTH_INVALID_GRANT, r->why);
		return;
	case STORE_REDEEM_REVOKED:
		front_token_refuse(req, BK_E_OAUTH_REVOKED,
		    "the user was revoked after the code was issued");
		return;
	case STORE_REDEEM_GONE:
		front_token_fail(req, BK_E_OAUTH_INVALID_GRANT,
		    "the user no longer maps to this profile");
		return;
	case STORE_REDEEM_EXPIRED:
		front_token_fail(req, BK_E_OAUTH_INVALID_GRANT,
		    "session expired");
		return;
	case STORE_REDEEM_BAD:
		front_token_fail(req, BK_E_OAUTH_INVALID_GRANT,
		    "code record unreadable");
		return;
	case STORE_REDEEM_BADTYPE:
	case STORE_REDEEM_OK:
		break;
	}
	/* A key of the wrong type: nothing was written. */
	(void)front_audit(req, "code_redeemed", BK_E_STORE_RECORD, NULL);
	front_oauth_error(req, BK_E_STORE_REPLY, NULL);
}

static void
front_token_redeemed(void *arg, int rv, const struct store_redeemed *r)
{
	struct front_req *req = arg;
	json_t		*o;

	if (rv == BK_E_STORE_REPLICA) {
		/* Used on this master, unconfirmed by a replica: no token. */
		front_token_fail(req, rv,
		    "no replica confirmed the redemption");
		return;
	}
	if (rv != BK_OK) {
		/* Nothing was written (the script's first write failed). */
		front_oauth_error(req, rv, NULL);
		return;
	}
	/* Who it was, for the audit record. */
	front_set_str(&req->fl.user, r->tok.user);
	front_set_str(&req->fl.internal_id, r->tok.internal_id);
	front_set_str(&req->fl.extension, r->tok.extension);
	if (r->verdict != STORE_REDEEM_OK) {
		front_token_refused(req, r);
		return;
	}
	if ((rv = front_audit(req, "code_redeemed", BK_OK, NULL)) != BK_OK) {
		front_oauth_error(req, rv, NULL);
		return;
	}
	o = json_pack("{s:s, s:s, s:I, s:s?, s:s, s:s, s:s}",
	    "access_token", req->fl.token, "token_type", "Bearer",
	    "expires_in", (json_int_t)r->ttl,
	    "extension", req->fl.extension, "internal_id", req->fl.internal_id,
	    "sfdc_username", req->fl.user, "tenant", req->t->id);
	front_reply_json(req, 200, o);
}

/* --- introspection --- */

/*
 * Inactive (RFC 7662 2.2): recorded, with the user when the token was
 * found, then answered.  One record, no second round trip.
 */
static void
front_inactive(struct front_req *req, const struct rec_token *t,
    const char *why)
{
	if (t != NULL) {
		front_set_str(&req->fl.user, t->user);
		front_set_str(&req->fl.internal_id, t->internal_id);
	}
	(void)front_audit(req, "token_introspected", BK_E_AUDIT_TOKEN_INACTIVE,
	    why);
	/*
	 * Nothing is granted: the answer does not wait for the record's
	 * flush (front_durable_hold); it goes to disk with the next group.
	 */
	req->audit_seq = 0;
	front_reply(req, 200, "application/json", "{\"active\":false}", 16);
}

static void
front_introspect_cb(void *arg, int rv, const struct rec_token *t)
{
	struct front_req *req = arg;
	json_t		*out;

	if (rv != BK_OK) {
		front_oauth_error(req, rv, NULL);
		return;
	}
	if (t == NULL) {
		front_inactive(req, NULL, "unknown, revoked or expired");
		return;
	}
	if (strcmp(t->client_id, req->t->panel.client_id) != 0) {
		/* not this client's: nothing about its user is recorded */
		front_inactive(req, NULL, "another client's token");
		return;
	}
	if (t->exp <= bk_now()) {
		front_inactive(req, t, "expired");
		return;
	}
	out = json_pack("{s:b, s:s, s:s, s:s, s:s, s:s, s:s?, s:s, s:s, s:I, "
	    "s:I, s:s}",
	    "active", 1, "client_id", t->client_id,
	    "username", t->user, "sfdc_username", t->user,
	    "sub", t->internal_id, "internal_id", t->internal_id,
	    "extension", t->extension, "tenant", req->t->id,
	    "token_type", "Bearer", "exp", (json_int_t)t->exp,
	    "iat", (json_int_t)t->iat, "iss", req->f->conf->public_url);
	front_reply_json(req, 200, out);
}

void
front_oauth_introspect(struct front_req *req)
{
	const char	*tok;

	if (front_backchannel_begin(req) != BK_OK)
		return;
	if ((tok = front_param(&req->form, "token")) == NULL) {
		front_oauth_error(req, BK_E_OAUTH_INVALID_REQUEST,
		    "token is required");
		return;
	}
	if (strlen(tok) != BK_TOKEN_LEN) {
		front_inactive(req, NULL, "malformed token");
		return;
	}
	store_token_get(front_req_store(req), req->t->id, tok,
	    front_introspect_cb, req);
}

/* --- revocation --- */

static void
front_revoke_cb(void *arg, int rv, enum store_revoke_result r)
{
	struct front_req *req = arg;

	if (rv != BK_OK) {
		front_oauth_error(req, rv, NULL);
		return;
	}
	if (r == STORE_REVOKE_DONE &&
	    (rv = front_audit(req, "token_revoked", BK_OK, NULL)) != BK_OK) {
		front_oauth_error(req, rv, NULL);
		return;
	}
	/* RFC 7009 2.2: 200 whether or not the token was valid. */
	front_reply(req, 200, "application/json", "{}", 2);
}

/* Whose token it is, for the record; then the revocation itself. */
static void
front_revoke_found(void *arg, int rv, const struct rec_token *t)
{
	struct front_req *req = arg;

	if (rv != BK_OK) {
		front_oauth_error(req, rv, NULL);
		return;
	}
	if (t != NULL && strcmp(t->client_id, req->t->panel.client_id) == 0) {
		front_set_str(&req->fl.user, t->user);
		front_set_str(&req->fl.internal_id, t->internal_id);
	}
	store_token_revoke(front_req_store(req), req->t->id,
	    front_param(&req->form, "token"), req->t->panel.client_id,
	    front_revoke_cb, req);
}

void
front_oauth_revoke(struct front_req *req)
{
	const char	*tok;

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
	store_token_get(front_req_store(req), req->t->id, tok,
	    front_revoke_found, req);
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

/*
 * The sessions one sign-out ends (req->aux): each is looked up first so
 * that its record names the user, then all are ended in one command.
 */
struct front_logout {
	size_t			 n, i;
	const struct conf_tenant *t[FRONT_LOGOUT_MAX];
	char			*cookie[FRONT_LOGOUT_MAX];
	char			*user[FRONT_LOGOUT_MAX];
	char			*internal_id[FRONT_LOGOUT_MAX];
	/* the session a SAML LogoutRequest is sent for (front_slo.c) */
	int			 slo;
	size_t			 slo_i;
};

static void
front_logout_free(void *p)
{
	struct front_logout	*lo = p;
	size_t			 i;

	for (i = 0; i < lo->n; i++) {
		bk_strfree_secret(lo->cookie[i]);
		free(lo->user[i]);
		free(lo->internal_id[i]);
	}
	free(lo);
}

/* One record per session ended, with its user when it was still valid. */
static void
front_logout_cb(void *arg, int rv)
{
	struct front_req	*req = arg;
	struct front_logout	*lo = req->aux;
	size_t			 i;

	if (rv != BK_OK) {
		front_error(req, rv, NULL);
		return;
	}
	if (lo->n == 0)
		(void)front_audit(req, "logout", BK_OK, "no session");
	for (i = 0; i < lo->n; i++) {
		req->t = lo->t[i];
		front_set_str(&req->fl.user, lo->user[i]);
		front_set_str(&req->fl.internal_id, lo->internal_id[i]);
		(void)front_audit(req, "logout", BK_OK, lo->user[i] != NULL ?
		    NULL : "session unknown or expired");
	}
	req->t = lo->n > 0 ? lo->t[0] : NULL;
	if (lo->slo && front_slo_logout(req, lo->t[lo->slo_i],
	    lo->user[lo->slo_i], lo->internal_id[lo->slo_i]))
		return;
	front_page_signed_out(req);
}

static void front_logout_next(struct front_req *);

static void
front_logout_found(void *arg, int rv, const struct store_session_found *f)
{
	struct front_req	*req = arg;
	struct front_logout	*lo = req->aux;

	/* A lookup that fails only loses the name: the sign-out goes on. */
	if (rv == BK_OK && f->found) {
		lo->user[lo->i] = bk_strdup(f->sess.user);
		lo->internal_id[lo->i] = bk_strdup(f->sess.internal_id);
		if (!lo->slo && front_slo_candidate(req, lo->t[lo->i],
		    &f->sess)) {
			lo->slo = 1;
			lo->slo_i = lo->i;
		}
	}
	lo->i++;
	front_logout_next(req);
}

static void
front_logout_next(struct front_req *req)
{
	struct front_logout	*lo = req->aux;
	const char		*tenants[FRONT_LOGOUT_MAX];
	size_t			 i;

	if (lo->i < lo->n) {
		store_session_authz(front_store(req->f, lo->t[lo->i]),
		    lo->t[lo->i]->id,
		    lo->cookie[lo->i], NULL, front_logout_found, req);
		return;
	}
	for (i = 0; i < lo->n; i++)
		tenants[i] = lo->t[i]->id;
	store_map_sessions_end(req->f->stores, lo->n, tenants,
	    (const char *const *)lo->cookie, front_logout_cb, req);
}

void
front_logout(struct front_req *req)
{
	const struct conf	*c = req->f->conf;
	struct front_logout	*lo;
	char			 name[FRONT_COOKIE_NAMEBUF];
	size_t			 i;

	if ((lo = calloc(1, sizeof(*lo))) == NULL) {
		front_error(req, BK_E_NOMEM, NULL);
		return;
	}
	req->aux = lo;
	req->aux_free = front_logout_free;
	for (i = 0; i < c->n_tenants && lo->n < FRONT_LOGOUT_MAX; i++) {
		front_cookie_name(req, FRONT_COOKIE_SESSION, c->tenants[i]->id,
		    name, sizeof(name));
		if ((lo->cookie[lo->n] = front_cookie_get(req, name)) == NULL)
			continue;
		front_cookie_clear(req, name, "Lax");
		lo->t[lo->n++] = c->tenants[i];
	}
	front_cookie_name(req, FRONT_COOKIE_CORR, NULL, name, sizeof(name));
	front_cookie_clear(req, name, "None");
	front_logout_next(req);
}
