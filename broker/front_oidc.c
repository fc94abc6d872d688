/*
 * sso-broker: the OAuth upstream (Salesforce "Allow"): the start of an
 * OpenID Connect sign-in and its callback, /t/<tenant>/oidc/callback.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Start: a fresh state, nonce and PKCE verifier (256 bits each); the
 * state is the sign-in request's ID (kept as a digest, 15 minutes,
 * single use, bound to the browser by the correlation cookie), the
 * nonce is kept as a digest, the verifier for the exchange; the browser
 * goes to the authorize endpoint with code_challenge_method=S256 and the
 * tenant's scope (never a refresh token).
 * Callback, in order: the state taken (once, this browser's); an error
 * (Deny) answered; the code exchanged server-side with PKCE and client
 * authentication (hout, never blocking); the token response's signature
 * (HMAC of id + issued_at with the client secret, constant time); the ID
 * token verified by oidc/ (RS256, the key by kid from the worker's JWKS,
 * refetched at most once per interval for an unknown kid; iss, aud, azp,
 * exp, iat, nonce, at_hash, the org); the username from UserInfo; then
 * the flow (flow_signin), as for SAML.  Every failure is refused with its
 * code, audited with what was checked, and issues nothing.
 * Trust: the query, the cookies and every answer of the provider are
 * untrusted until checked.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "front_int.h"
#include "hout.h"
#include "log.h"
#include "oidc.h"
#include "pol.h"
#include "rp.h"
#include "store_signin.h"

/* What a callback carries between its steps (req->aux). */
struct front_oidc {
	struct rec_signin		 sr;	/* the sign-in request taken */
	struct oidc_token_response	 tr;
	struct oidc_result		 res;
	int				 refetched;
};

static void
front_oidc_free(void *p)
{
	struct front_oidc	*o = p;

	rec_cleanup(REC_SIGNIN, &o->sr);
	oidc_token_response_cleanup(&o->tr);
	oidc_result_cleanup(&o->res);
	free(o);
}

/* The callback URL registered with the connected app. */
static char *
front_oidc_redirect_uri(struct front_req *req)
{
	struct bk_buf	 b;

	bk_buf_init(&b, 2048);
	if (bk_buf_addf(&b, "%s/t/%s/oidc/callback", req->f->conf->public_url,
	    req->t->id) != BK_OK) {
		bk_buf_free(&b);
		return NULL;
	}
	return bk_buf_take(&b);
}

/* application/x-www-form-urlencoded pairs (libevent's encoder). */
static char *
front_oidc_form(const char *const *kv, size_t n)
{
	struct bk_buf	 b;
	size_t		 i;
	char		*e;
	int		 rv = BK_OK;

	bk_buf_init(&b, 16384);
	for (i = 0; i + 1 < n && rv == BK_OK; i += 2) {
		if ((e = evhttp_uriencode(kv[i + 1], -1, 1)) == NULL) {
			rv = BK_E_NOMEM;
			break;
		}
		rv = bk_buf_addf(&b, "%s%s=%s", i ? "&" : "", kv[i], e);
		bk_freezero(e, strlen(e));
	}
	if (rv != BK_OK) {
		bk_buf_free(&b);
		return NULL;
	}
	return bk_buf_take(&b);
}

/* The authorize endpoint with the request's parameters. */
static char *
front_oidc_authorize_url(struct front_req *req, const char *endpoint,
    const char *state, const char *nonce, const char *challenge)
{
	char	*ruri, *q, *url = NULL;
	const char *kv[] = { "response_type", "code",
	    "client_id", req->t->oidc.client_id, "redirect_uri", NULL,
	    "scope", req->t->oidc.scope ? req->t->oidc.scope : "openid id",
	    "state", state, "nonce", nonce, "code_challenge", challenge,
	    "code_challenge_method", "S256" };
	struct bk_buf b;

	if ((ruri = front_oidc_redirect_uri(req)) == NULL)
		return NULL;
	kv[5] = ruri;
	if ((q = front_oidc_form(kv, BK_NELEM(kv))) != NULL) {
		bk_buf_init(&b, 32768);
		if (bk_buf_addf(&b, "%s%c%s", endpoint,
		    strchr(endpoint, '?') ? '&' : '?', q) == BK_OK)
			url = bk_buf_take(&b);
		bk_buf_free(&b);
	}
	free(ruri);
	free(q);
	return url;
}

void
front_oidc_start(struct front_req *req)
{
	const struct oidc_provider *p;
	struct rec_signin	 up;
	char			 state[BK_TOKEN_LEN + 1];
	char			 nonce[BK_TOKEN_LEN + 1];
	char			 verifier[BK_TOKEN_LEN + 1], chal[44];
	char			 ndig[BK_DIGEST_HEX + 1], *url;
	char			 sdig[BK_DIGEST_HEX + 1];
	int			 why;

	if ((p = rp_provider(req->f->rp, req->t, &why)) == NULL) {
		front_error(req, BK_E_OIDC_NOT_READY, bk_err_slug(why));
		return;
	}
	if (bk_token_new(state) != BK_OK || bk_token_new(nonce) != BK_OK ||
	    bk_token_new(verifier) != BK_OK) {
		front_error(req, BK_E_RANDOM, NULL);
		return;
	}
	oidc_pkce_s256(verifier, chal);
	bk_sha256_hex(nonce, strlen(nonce), ndig);
	/* Only digests of the state and the nonce are kept (the key too). */
	bk_sha256_hex(state, strlen(state), sdig);
	url = front_oidc_authorize_url(req, p->authorization_endpoint, state,
	    nonce, chal);
	memset(&up, 0, sizeof(up));
	up.rid = sdig;
	up.nonce = ndig;
	up.verifier = verifier;
	if (url == NULL)
		front_error(req, BK_E_NOMEM, NULL);
	else
		flow_request(req, &up, url);
	bk_strfree_secret(url);
	explicit_bzero(nonce, sizeof(nonce));
	explicit_bzero(verifier, sizeof(verifier));
}

/* --- the callback --- */

static void front_oidc_taken(void *, int, const struct rec_signin *);
static void front_oidc_token(void *, int, const struct hout_res *);
static void front_oidc_keys(void *, int, const struct oidc_keyset *);
static void front_oidc_userinfo(void *, int, const struct hout_res *);

/* A state is one of our tokens: 43 base64url characters. */
static int
front_oidc_state_ok(const char *s)
{
	size_t	 i;

	if (s == NULL || strlen(s) != BK_TOKEN_LEN)
		return 0;
	for (i = 0; i < BK_TOKEN_LEN; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

void
front_oidc_callback(struct front_req *req)
{
	const char	*state = front_param(&req->q, "state");
	char		 name[FRONT_COOKIE_NAMEBUF], bind[BK_DIGEST_HEX + 1];
	char		 sdig[BK_DIGEST_HEX + 1];
	char		*corr;
	int		 rv;

	req->fl.event = "id_token";
	if ((rv = front_gate(req, req->t, CONF_LOGIN_OIDC,
	    FLOW_GATE_LOGIN)) != BK_OK) {
		front_error(req, rv, NULL);
		return;
	}
	if (!front_oidc_state_ok(state)) {
		flow_refuse(req, BK_E_OIDC_STATE, "state missing or malformed");
		return;
	}
	front_cookie_name(req, FRONT_COOKIE_CORR, NULL, name, sizeof(name));
	if ((corr = front_cookie_get(req, name)) == NULL) {
		flow_refuse(req, BK_E_OIDC_STATE,
		    "no sign-in started in this browser");
		return;
	}
	bk_sha256_hex(corr, strlen(corr), bind);
	bk_strfree_secret(corr);
	if ((req->aux = calloc(1, sizeof(struct front_oidc))) == NULL) {
		front_error(req, BK_E_NOMEM, NULL);
		return;
	}
	req->aux_free = front_oidc_free;
	bk_sha256_hex(state, strlen(state), sdig);
	store_signin_take(front_req_store(req), req->t->id, sdig, bind,
	    front_oidc_taken, req);
}

/* Deny at Salesforce, or another error: the panel hears access_denied. */
static void
front_oidc_denied(struct front_req *req, const char *error)
{
	int	 rv = BK_E_OIDC_AUTHZ_ERROR;

	if (strcmp(error, "access_denied") == 0 ||
	    strcmp(error, "access-denied") == 0)
		rv = BK_E_OIDC_DENIED;
	flow_deny(req, rv, rv == BK_E_OIDC_DENIED ?
	    "the user chose Deny at Salesforce" : error);
}

/* The code exchanged at the token endpoint, with PKCE and the secret. */
static void
front_oidc_exchange(struct front_req *req, const char *code)
{
	struct front_oidc	*o = req->aux;
	const struct oidc_provider *p;
	struct hout_req		 hr;
	char			*ruri, *body = NULL;
	int			 rv;

	if ((p = rp_provider(req->f->rp, req->t, &rv)) == NULL) {
		flow_refuse(req, BK_E_OIDC_NOT_READY, bk_err_slug(rv));
		return;
	}
	if ((ruri = front_oidc_redirect_uri(req)) != NULL) {
		const char *kv[] = { "grant_type", "authorization_code",
		    "code", code, "redirect_uri", ruri,
		    "code_verifier", o->sr.verifier };

		body = front_oidc_form(kv, BK_NELEM(kv));
	}
	free(ruri);
	memset(&hr, 0, sizeof(hr));
	hr.url = p->token_endpoint;
	hr.trust = req->t->oidc_trust;
	hr.req_id = req->id;
	hr.body = body;
	hr.body_len = body ? strlen(body) : 0;
	hr.user = req->t->oidc.client_id;
	hr.secret = req->t->oidc.client_secret;
	if (body == NULL)
		rv = BK_E_NOMEM;
	else
		rv = hout_post_form(req->f->hout, &hr, front_oidc_token, req);
	bk_strfree_secret(body);
	if (rv != BK_OK)
		flow_refuse(req, rv, "token endpoint");
}

static void
front_oidc_taken(void *arg, int rv, const struct rec_signin *r)
{
	struct front_req	*req = arg;
	struct front_oidc	*o = req->aux;
	const char		*error = front_param(&req->q, "error");
	const char		*code = front_param(&req->q, "code");
	char			*w;

	if (rv != BK_OK) {
		flow_refuse(req, rv, NULL);
		return;
	}
	if (r == NULL || r->verifier == NULL || r->nonce == NULL) {
		flow_refuse(req, BK_E_OIDC_STATE,
		    "state unknown, used, or another browser's");
		return;
	}
	/* A copy of the request, through the one writer and reader. */
	if ((w = rec_write(REC_SIGNIN, r)) == NULL ||
	    rec_read(REC_SIGNIN, w, strlen(w), &o->sr, NULL) != BK_OK) {
		bk_strfree_secret(w);
		front_error(req, BK_E_NOMEM, NULL);
		return;
	}
	bk_strfree_secret(w);
	front_set_str(&req->fl.client_id, o->sr.client_id);
	front_set_str(&req->fl.redirect_uri, o->sr.redirect_uri);
	front_set_str(&req->fl.state, o->sr.state);
	front_set_str(&req->fl.request_id, o->sr.rid);
	if (error != NULL) {
		front_oidc_denied(req, error);
		return;
	}
	if (code == NULL || code[0] == '\0' || strlen(code) > 4096) {
		flow_refuse(req, BK_E_OIDC_CODE, NULL);
		return;
	}
	/* An admin's console sign-in passes with SSO off (flow_signin). */
	if ((o->sr.purpose == NULL || strcmp(o->sr.purpose, "console") != 0) &&
	    (rv = front_gate(req, req->t, CONF_LOGIN_OIDC, FLOW_GATE_SSO)) !=
	    BK_OK) {
		flow_refuse(req, rv, NULL);
		return;
	}
	front_oidc_exchange(req, code);
}

static void
front_oidc_token(void *arg, int rv, const struct hout_res *res)
{
	struct front_req	*req = arg;
	struct front_oidc	*o = req->aux;
	char			*detail = NULL;

	if (rv == BK_E_HOUT_STATUS) {
		/* The provider's error is in its body (RFC 6749 5.2). */
		rv = oidc_token_response_parse(res->body, res->len, &o->tr,
		    &detail);
		flow_refuse(req, rv == BK_OK ? BK_E_OIDC_TOKEN_RESPONSE : rv,
		    detail);
		free(detail);
		return;
	}
	if (rv != BK_OK) {
		flow_refuse(req, rv, "token endpoint");
		return;
	}
	if ((rv = oidc_token_response_parse(res->body, res->len, &o->tr,
	    &detail)) != BK_OK) {
		flow_refuse(req, rv, detail);
		free(detail);
		return;
	}
	if ((rv = oidc_token_signature_verify(&o->tr,
	    req->t->oidc.client_secret,
	    strlen(req->t->oidc.client_secret))) != BK_OK) {
		flow_refuse(req, rv, "the token response's signature");
		return;
	}
	rp_keys(req->f->rp, req->t, NULL, front_oidc_keys, req);
}

/* What this sign-in expects of its ID token. */
static void
front_oidc_expect(struct front_req *req, struct oidc_expect *e)
{
	struct front_oidc	*o = req->aux;

	memset(e, 0, sizeof(*e));
	e->issuer = req->t->oidc.issuer;
	e->client_id = req->t->oidc.client_id;
	e->org_id = req->t->oidc.org_id;
	e->nonce_digest = o->sr.nonce;
	e->access_token = o->tr.access_token;
	e->identity_url = o->tr.id;
	e->clock_skew = req->t->saml.clock_skew;
}

/* A refused ID token: the record says what was checked (header unverified). */
static void
front_oidc_refuse_checked(struct front_req *req, int rv, const char *detail)
{
	struct front_oidc	*o = req->aux;
	struct bk_buf		 b;

	bk_buf_init(&b, 2048);
	if (bk_buf_addf(&b, "alg=%s kid=%s sub=%s: %s", o->res.alg[0] ?
	    o->res.alg : "-", o->res.kid ? o->res.kid : "-",
	    o->res.sub ? o->res.sub : "-", detail ? detail : "") != BK_OK) {
		bk_buf_free(&b);
		flow_refuse(req, rv, detail);
		return;
	}
	flow_refuse(req, rv, b.data);
	bk_buf_free(&b);
}

/*
 * The ID token's facts for the audit: its digest (the token id), and
 * what oidc_idtoken_verify() read: the header's alg and kid (unverified
 * on a refusal), the claims once the signature verified.
 */
static void
front_oidc_note(struct front_req *req)
{
	struct front_oidc	*o = req->aux;
	struct flow_facts	 f;
	char			 proof[BK_DIGEST_HEX + 1], iat[32], at[32];

	memset(&f, 0, sizeof(f));
	if (o->tr.id_token != NULL) {
		bk_sha256_hex(o->tr.id_token, strlen(o->tr.id_token), proof);
		f.proof_id = proof;
	}
	f.issuer = o->res.issuer;
	f.name_id = o->res.sub;
	f.sig_alg = o->res.alg[0] != '\0' ? o->res.alg : NULL;
	f.key_id = o->res.kid;
	if (o->res.iat != 0) {
		bk_time_fmt(o->res.iat, iat);
		f.issue_instant = iat;
	}
	if (o->res.auth_time != 0) {
		bk_time_fmt(o->res.auth_time, at);
		f.authn_instant = at;
	}
	flow_note(req, &f);
}

static void
front_oidc_keys(void *arg, int rv, const struct oidc_keyset *ks)
{
	struct front_req	*req = arg;
	struct front_oidc	*o = req->aux;
	struct oidc_expect	 e;
	const struct oidc_provider *p;
	struct hout_req		 hr;
	char			*detail = NULL;

	if (rv != BK_OK) {
		flow_refuse(req, rv, "the provider's keys");
		return;
	}
	front_oidc_expect(req, &e);
	oidc_result_cleanup(&o->res);
	rv = oidc_idtoken_verify(ks, &e, o->tr.id_token,
	    strlen(o->tr.id_token), bk_now(), &o->res, &detail);
	/* What was read goes to the audit record, verified or not. */
	front_oidc_note(req);
	if (rv == BK_E_OIDC_KID_UNKNOWN && !o->refetched && o->res.kid) {
		/* Key rotation: fetch the JWKS again (rate-limited). */
		free(detail);
		o->refetched = 1;
		rp_keys(req->f->rp, req->t, o->res.kid, front_oidc_keys, req);
		return;
	}
	if (rv != BK_OK || (p = rp_provider(req->f->rp, req->t, &rv)) ==
	    NULL) {
		front_oidc_refuse_checked(req, rv, detail);
		free(detail);
		return;
	}
	memset(&hr, 0, sizeof(hr));
	hr.url = p->userinfo_endpoint;
	hr.trust = req->t->oidc_trust;
	hr.req_id = req->id;
	hr.bearer = o->tr.access_token;
	if ((rv = hout_get(req->f->hout, &hr, front_oidc_userinfo, req)) !=
	    BK_OK)
		flow_refuse(req, rv, "UserInfo");
}

/* The verified identity, for the flow. */
static void
front_oidc_identity(struct front_req *req, const char *user,
    const char *sfdc, const char *proof, struct flow_identity *id)
{
	struct front_oidc	*o = req->aux;

	memset(id, 0, sizeof(*id));
	id->upstream = CONF_LOGIN_OIDC;
	id->event = "id_token";
	id->username = user;
	id->sfdc_key = sfdc;
	id->issuer = o->res.issuer;
	id->proof_id = proof;
	id->key_id = o->res.kid;
	id->request = &o->sr;
	id->proof_exp = o->res.exp;
	id->proof_skew = req->t->saml.clock_skew;
	id->replay_rv = BK_E_OIDC_REPLAY;
	id->request_rv = BK_E_OIDC_STATE;
}

static void
front_oidc_userinfo(void *arg, int rv, const struct hout_res *res)
{
	struct front_req	*req = arg;
	struct front_oidc	*o = req->aux;
	struct flow_identity	 id;
	char			*user = NULL, *sfdc = NULL, *detail = NULL;
	char			 proof[BK_DIGEST_HEX + 1];
	const char		*why;

	if (rv != BK_OK) {
		flow_refuse(req, rv, "UserInfo");
		return;
	}
	if ((rv = oidc_userinfo_parse(res->body, res->len, o->res.sub, &user,
	    &detail)) != BK_OK) {
		flow_refuse(req, rv, detail);
		free(detail);
		return;
	}
	front_set_str(&req->fl.user, user);
	if (pol_sfdc_key(user, &sfdc, &why) != BK_OK) {
		flow_refuse(req, BK_E_OIDC_USERNAME, why);
		free(user);
		return;
	}
	/* The ID token is the proof: used once. */
	bk_sha256_hex(o->tr.id_token, strlen(o->tr.id_token), proof);
	front_oidc_identity(req, user, sfdc, proof, &id);
	flow_signin(req, &id);
	free(user);
	free(sfdc);
}
