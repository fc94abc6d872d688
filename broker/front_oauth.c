/*
 * sso-broker: the panel's OAuth 2.0 side: authorize, token, introspect,
 * revoke, metadata, logout, and the step every sign-in ends with
 * (front_flow_finish: consent or a one-time code).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * RFC 6749 (code grant), RFC 7636 (PKCE S256 only), RFC 7662, RFC 7009,
 * RFC 8414, and RFC 9700: exact redirect_uri match, single-use codes
 * (GETDEL), codes and tokens bound to client, redirect_uri and verifier,
 * stored only as SHA-256 digests and compared in constant time.
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
#include "saml.h"

void
front_flow_cleanup(struct front_flow *fl)
{
	free(fl->client_id);
	free(fl->redirect_uri);
	free(fl->state);
	free(fl->challenge);
	free(fl->internal_id);
	free(fl->user);
	free(fl->extension);
	free(fl->issuer);
	free(fl->assertion_id);
	free(fl->cert_fp);
	free(fl->request_id_saml);
	bk_strfree_secret(fl->tx);
	bk_strfree_secret(fl->csrf);
	bk_strfree_secret(fl->code);
	bk_strfree_secret(fl->token);
	bk_strfree_secret(fl->session);
	memset(fl, 0, sizeof(*fl));
}

void
front_set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? bk_strdup(v) : NULL;
}

/* String field of a stored JSON record, or NULL. */
static const char *
rec_str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Extension and internal ID from a stored user record (pol_user_parse). */
int
front_flow_user_rec(struct front_req *req, const char *rec, size_t len)
{
	struct pol_user	 u;
	int		 rv;

	memset(&u, 0, sizeof(u));
	if ((rv = pol_user_parse(rec, len, &u)) != BK_OK)
		return BK_E_STORE_RECORD;
	front_set_str(&req->fl.internal_id, u.f[POL_COL_INTERNAL_ID]);
	free(req->fl.extension);
	req->fl.extension = pol_user_primary_ext(&u);
	pol_user_cleanup(&u);
	if (req->fl.internal_id == NULL)
		return BK_E_STORE_RECORD;
	return BK_OK;
}

/* --- finishing: consent page or code --- */

int
front_flow_consent_needed(struct front_req *req, int consent_stored)
{
	switch (req->t->policy.consent) {
	case CONF_CONSENT_NEVER:
		return 0;
	case CONF_CONSENT_ALWAYS:
		return 1;
	default:
		return !consent_stored;
	}
}

/* The revocation generation the flow read ("0": never revoked). */
static const char *
front_flow_gen(const struct front_req *req)
{
	return req->fl.gen[0] != '\0' ? req->fl.gen : "0";
}

void
front_flow_set_gen(struct front_req *req, const char *gen, size_t len)
{
	size_t	 i;

	/* Redis is outside the trust boundary: digits only, else unknown. */
	req->fl.gen[0] = '\0';
	if (gen == NULL || len == 0 || len >= sizeof(req->fl.gen))
		return;
	for (i = 0; i < len; i++)
		if (gen[i] < '0' || gen[i] > '9')
			return;
	memcpy(req->fl.gen, gen, len);
	req->fl.gen[len] = '\0';
}

/* JSON record of the pending authorization (code or consent transaction). */
static char *
front_flow_record(struct front_req *req)
{
	char	*sfdc = NULL, *s;
	const char *why;
	json_t	*o;

	if (req->fl.user == NULL ||
	    pol_sfdc_key(req->fl.user, &sfdc, &why) != BK_OK)
		return NULL;
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:I,"
	    " s:b}",
	    "v", 1, "tenant", req->t->id, "internal_id", req->fl.internal_id,
	    "user", req->fl.user, "sfdc_key", sfdc,
	    "extension", req->fl.extension, "client_id", req->fl.client_id,
	    "redirect_uri", req->fl.redirect_uri, "challenge",
	    req->fl.challenge,
	    "sess_exp", (json_int_t)req->fl.sess_exp, "idp_init",
	    req->fl.idp_initiated);
	free(sfdc);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "gen", json_string(front_flow_gen(req)));
	if (req->fl.state != NULL)
		json_object_set_new(o, "state", json_string(req->fl.state));
	if (req->fl.session != NULL) {
		char d[BK_DIGEST_HEX + 1];

		bk_sha256_hex(req->fl.session, strlen(req->fl.session), d);
		json_object_set_new(o, "sess", json_string(d));
	}
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static char *
front_session_record(struct front_req *req)
{
	char	*sfdc = NULL, *s;
	const char *why;
	json_t	*o;

	if (pol_sfdc_key(req->fl.user, &sfdc, &why) != BK_OK)
		return NULL;
	o = json_pack("{s:i, s:s, s:s, s:s, s:I, s:s?, s:s?, s:s}", "v", 1,
	    "internal_id", req->fl.internal_id, "user", req->fl.user,
	    "sfdc_key", sfdc,
	    "exp", (json_int_t)req->fl.sess_exp, "issuer", req->fl.issuer,
	    "assertion_id", req->fl.assertion_id, "gen", front_flow_gen(req));
	free(sfdc);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

struct front_sets {
	const char	*argv[40];
	char		*own[40];
	size_t		 n, nown;
	int		 nset;
	char		 nsets[8];
	char		 ttl_s[24], ttl_g[24], ttl_c[24];
};

/* Keep p (owned by s from now on); NULL stays NULL (allocation failed). */
static const char *
front_sets_own(struct front_sets *s, char *p)
{
	if (p != NULL && s->nown < BK_NELEM(s->own))
		s->own[s->nown++] = p;
	return p;
}

/* One SET key value EX ttl; key and value are owned by s. */
static int
front_sets_add(struct front_sets *s, char *key, char *value, const char *ttl)
{
	front_sets_own(s, key);
	front_sets_own(s, value);
	if (key == NULL || value == NULL)
		return BK_E_NOMEM;
	s->argv[s->n++] = key;
	s->argv[s->n++] = value;
	s->argv[s->n++] = ttl;
	s->nset++;
	return BK_OK;
}

static void
front_sets_free(struct front_sets *s)
{
	size_t	 i;

	for (i = 0; i < s->nown; i++)
		free(s->own[i]);
}

/* A new browser session (after an assertion); *skey is owned by s. */
static int
front_finish_session(struct front_req *req, struct front_sets *s,
    const char **skey)
{
	char	*key;
	int	 rv;

	*skey = NULL;
	if (req->fl.session == NULL || req->fl.request_id_saml == NULL)
		return BK_OK;
	key = store_key_digest(req->t->id, "sess", req->fl.session);
	if ((rv = front_sets_add(s, key, front_session_record(req),
	    s->ttl_s)) == BK_OK)
		*skey = key;
	return rv;
}

/* "Allow" on the consent page, remembered (consent = first_use). */
static int
front_finish_consent(struct front_req *req, struct front_sets *s)
{
	struct bk_buf	 b;
	char		*key = NULL;

	if (!req->fl.allow || req->t->policy.consent == CONF_CONSENT_ALWAYS)
		return BK_OK;
	bk_buf_init(&b, 1024);
	if (bk_buf_addf(&b, "%s:%s", req->fl.internal_id,
	    req->fl.client_id) == BK_OK)
		key = store_key(req->t->id, "consent", b.data);
	bk_buf_free(&b);
	snprintf(s->ttl_c, sizeof(s->ttl_c), "%d", FRONT_CONSENT_TTL);
	return front_sets_add(s, key, bk_strdup("1"), s->ttl_c);
}

/* The consent transaction (Allow page) or the one-time code. */
static int
front_finish_grant(struct front_req *req, struct front_sets *s)
{
	char	**secret;
	const char *kind;

	if (req->fl.consent_needed) {
		secret = &req->fl.tx;
		kind = "ctx";
		snprintf(s->ttl_g, sizeof(s->ttl_g), "%d",
		    FRONT_CONSENT_TX_TTL);
	} else if (!req->fl.idp_initiated) {
		secret = &req->fl.code;
		kind = "code";
		snprintf(s->ttl_g, sizeof(s->ttl_g), "%d",
		    req->t->policy.code_ttl);
	} else
		return BK_OK;
	if (bk_token_new_dup(secret) != BK_OK)
		return BK_E_RANDOM;
	return front_sets_add(s, store_key_digest(req->t->id, kind, *secret),
	    front_flow_record(req), s->ttl_g);
}

static void front_flow_stored(struct front_req *, int,
    const struct store_reply *);

/*
 * Store what the sign-in produced (new browser session, code or consent
 * transaction, remembered consent) in one atomic step, then answer.  The
 * step refuses if the user was revoked since the flow read its generation
 * (store_lua_issue).  The session cookie and the redirect go out only
 * after Redis said OK.
 */
void
front_flow_finish(struct front_req *req)
{
	struct front_sets	 s;
	const char		*skey;
	long			 sttl = (long)(req->fl.sess_exp - bk_now());
	int			 rv;

	memset(&s, 0, sizeof(s));
	if (!req->t->sso_enabled) {
		/* Switched off (SIGHUP) while this sign-in was under way. */
		front_audit(req, "authorize", BK_E_TENANT_SSO_OFF, NULL);
		front_error(req, BK_E_TENANT_SSO_OFF, NULL);
		return;
	}
	if (sttl <= 0) {
		front_error(req, BK_E_SAML_EXPIRED, "session already expired");
		return;
	}
	if (req->fl.idp_initiated && req->fl.client_id == NULL)
		front_set_str(&req->fl.client_id, req->t->panel.client_id);
	snprintf(s.ttl_s, sizeof(s.ttl_s), "%ld", sttl);
	s.argv[s.n++] = front_sets_own(&s, store_key(req->t->id, "ugen",
	    NULL));
	s.argv[s.n++] = req->fl.internal_id;
	s.argv[s.n++] = front_flow_gen(req);
	s.argv[s.n++] = s.nsets;	/* count of SETs, filled below */
	rv = BK_E_NOMEM;
	if (s.argv[0] == NULL || req->fl.internal_id == NULL ||
	    (rv = front_finish_session(req, &s, &skey)) != BK_OK ||
	    (rv = front_finish_consent(req, &s)) != BK_OK ||
	    (rv = front_finish_grant(req, &s)) != BK_OK)
		goto fail;
	snprintf(s.nsets, sizeof(s.nsets), "%d", s.nset);
	/* The user's session index, for "revoke every session of a user". */
	s.argv[s.n++] = skey != NULL ? "1" : "0";
	if (skey != NULL) {
		rv = BK_E_NOMEM;
		if ((s.argv[s.n++] = front_sets_own(&s, store_key(req->t->id,
		    "usess", req->fl.internal_id))) == NULL)
			goto fail;
		s.argv[s.n++] = skey;
		s.argv[s.n++] = s.ttl_s;
	}
	front_store_eval(req, front_flow_stored, store_lua_issue, 1, (int)s.n,
	    s.argv, NULL);
	front_sets_free(&s);
	return;
 fail:
	front_sets_free(&s);
	front_error(req, rv, NULL);
}

/* The audit event of what front_flow_finish was about to issue. */
static const char *
front_flow_event(const struct front_req *req)
{
	if (req->fl.consent_needed)
		return "consent";
	return req->fl.idp_initiated ? "authorize" : "code_issued";
}

/* Cookies of a new browser session; the correlation cookie is spent. */
static void
front_flow_cookies(struct front_req *req)
{
	char	 name[FRONT_COOKIE_NAMEBUF];

	if (req->fl.session == NULL || req->fl.request_id_saml == NULL)
		return;
	front_cookie_name(req, FRONT_COOKIE_SESSION, req->t->id, name,
	    sizeof(name));
	front_cookie_set(req, name, req->fl.session,
	    (int)(req->fl.sess_exp - bk_now()), "Lax");
	if (strcmp(req->fl.request_id_saml, "-") != 0) {
		front_cookie_name(req, FRONT_COOKIE_CORR, NULL, name,
		    sizeof(name));
		front_cookie_clear(req, name, "None");
	}
}

/* IdP-initiated: the panel starts its own authorization (OIDC 4). */
static void
front_flow_idp_initiated(struct front_req *req)
{
	char		*u, *body = NULL, *url;
	struct bk_buf	 b;

	if (req->t->panel.initiate_login_uri != NULL) {
		url = front_url_add(req->t->panel.initiate_login_uri, "iss",
		    req->f->conf->public_url, NULL, NULL, NULL, NULL);
		if (url == NULL)
			front_error(req, BK_E_NOMEM, NULL);
		else
			front_redirect(req, 303, url);
		free(url);
		return;
	}
	u = front_html_esc(req->fl.user);
	bk_buf_init(&b, 4096);
	if (u != NULL && bk_buf_addf(&b, "<p>You are signed in as <b>%s</b>. "
	    "Open the communication panel to continue.</p>", u) == BK_OK)
		body = bk_buf_take(&b);
	bk_buf_free(&b);
	free(u);
	front_page(req, 200, "Signed in", body ? body : "");
	free(body);
}

static void
front_flow_stored(struct front_req *req, int rv, const struct store_reply *r)
{
	char	*url = NULL, *path = NULL;
	int	 arv;

	if (rv != BK_OK) {
		front_error(req, rv == BK_E_STORE_REPLY ? BK_E_STORE_DOWN : rv,
		    NULL);
		return;
	}
	if (store_reply_is(r, "revoked")) {
		front_audit(req, front_flow_event(req), BK_E_OAUTH_REVOKED,
		    "the user was revoked while signing in");
		front_error(req, BK_E_OAUTH_REVOKED, NULL);
		return;
	}
	front_flow_cookies(req);
	if (req->fl.consent_needed) {
		struct bk_buf b;

		bk_buf_init(&b, 1024);
		if (bk_buf_addf(&b, "%s/t/%s/consent", req->f->conf->public_url,
		    req->t->id) == BK_OK)
			path = bk_buf_take(&b);
		bk_buf_free(&b);
		url =
		    path ? front_url_add(path, "tx", req->fl.tx, NULL, NULL,
		    NULL, NULL) : NULL;
		if (url == NULL)
			front_error(req, BK_E_NOMEM, NULL);
		else
			front_redirect(req, 303, url);
		goto out;
	}
	if (req->fl.idp_initiated) {
		front_flow_idp_initiated(req);
		goto out;
	}
	arv = front_audit(req, "code_issued", BK_OK, NULL);
	if (arv != BK_OK) {
		front_error(req, arv, NULL);
		goto out;
	}
	url = front_url_add(req->fl.redirect_uri, "code", req->fl.code, "state",
	    req->fl.state, "iss", req->f->conf->public_url);
	if (url == NULL)
		front_error(req, BK_E_NOMEM, NULL);
	else
		front_redirect(req, req->route == MR_AUTHORIZE ? 302 : 303,
		    url);
 out:
	if (url != NULL)
		bk_strfree_secret(url);
	free(path);
}

/* --- /oauth2/authorize --- */

static void front_authz_session(struct front_req *);
static void front_authz_session_cb(struct front_req *, int,
    const struct store_reply *);
static void front_authz_start_login(struct front_req *);

/*
 * Errors after client and redirect_uri are known go back to the client (RFC
 * 6749 4.1.2.1), with iss like every authorization response (RFC 9207 2).
 */
static void
front_authz_redirect_error(struct front_req *req, int rv, const char *error,
    const char *desc)
{
	char	*u, *url = NULL;

	front_audit(req, "authorize", rv, desc);
	u = front_url_add(req->fl.redirect_uri, "error", error,
	    "error_description", desc, "state", req->fl.state);
	if (u != NULL)
		url = front_url_add(u, "iss", req->f->conf->public_url, NULL,
		    NULL, NULL, NULL);
	free(u);
	if (url == NULL) {
		front_error(req, BK_E_NOMEM, NULL);
		return;
	}
	front_redirect(req, 302, url);
	free(url);
}

void
front_oauth_authorize(struct front_req *req)
{
	const char	*client = front_param(&req->q, "client_id");
	const char	*ruri = front_param(&req->q, "redirect_uri");
	const char	*rtype = front_param(&req->q, "response_type");
	const char	*state = front_param(&req->q, "state");
	const char	*chal = front_param(&req->q, "code_challenge");
	const char	*meth = front_param(&req->q, "code_challenge_method");
	char		*cookie;
	char		 name[FRONT_COOKIE_NAMEBUF];

	front_set_str(&req->fl.client_id, client);
	if (client == NULL ||
	    (req->t = conf_tenant_by_client(req->f->conf, client)) == NULL) {
		front_audit(req, "authorize", BK_E_OAUTH_UNKNOWN_CLIENT, NULL);
		front_error(req, BK_E_OAUTH_UNKNOWN_CLIENT, NULL);
		return;
	}
	if (ruri == NULL || !conf_redirect_uri_ok(req->t, ruri)) {
		/* Never redirect to an unregistered URI (RFC 9700 4.1). */
		front_audit(req, "authorize", BK_E_OAUTH_REDIRECT_URI, NULL);
		front_error(req, BK_E_OAUTH_REDIRECT_URI, NULL);
		return;
	}
	front_set_str(&req->fl.redirect_uri, ruri);
	if (state != NULL &&
	    (strlen(state) > FRONT_STATE_MAX || !bk_str_is_printable(state))) {
		front_authz_redirect_error(req, BK_E_OAUTH_INVALID_REQUEST,
		    "invalid_request", "state is malformed");
		return;
	}
	front_set_str(&req->fl.state, state);
	if (rtype == NULL || strcmp(rtype, "code") != 0) {
		front_authz_redirect_error(req,
		    BK_E_OAUTH_UNSUPPORTED_RESPONSE,
		    "unsupported_response_type",
		    "only response_type=code is supported");
		return;
	}
	if (meth == NULL || strcmp(meth, "S256") != 0 || !front_pkce_ok(chal) ||
	    strlen(chal) != BK_TOKEN_LEN) {
		front_authz_redirect_error(req, BK_E_OAUTH_PKCE,
		    "invalid_request",
		    "PKCE with code_challenge_method=S256 is required");
		return;
	}
	front_set_str(&req->fl.challenge, chal);
	if (!req->t->sso_enabled) {
		front_audit(req, "authorize", BK_E_TENANT_SSO_OFF, NULL);
		front_error(req, BK_E_TENANT_SSO_OFF, NULL);
		return;
	}
	if (req->t->login != CONF_LOGIN_SAML || req->t->saml_sp == NULL) {
		front_error(req, BK_E_TENANT_LOGIN_MODE,
		    "OIDC sign-in is not available");
		return;
	}
	front_cookie_name(req, FRONT_COOKIE_SESSION, req->t->id, name,
	    sizeof(name));
	if ((cookie = front_cookie_get(req, name)) != NULL) {
		/* Kept (never set back): a consent tx is bound to it. */
		bk_strfree_secret(req->fl.session);
		req->fl.session = cookie;
		front_authz_session(req);
		return;
	}
	front_authz_start_login(req);
}

/* Sign in once: an existing browser session skips the IdP. */
static void
front_authz_session(struct front_req *req)
{
	char *skey = store_key_digest(req->t->id, "sess", req->fl.session);
	char *ix = store_key(req->t->id, "sfdc", NULL);
	char *users = store_key(req->t->id, "users", NULL);
	char *gen = store_key(req->t->id, "ugen", NULL);
	char *cpre = store_key(req->t->id, "consent", "");
	const char *args[6] = { ix, users, gen, skey, cpre,
	    req->fl.client_id };

	if (skey && ix && users && gen && cpre)
		front_store_eval(req, front_authz_session_cb,
		    store_lua_session_authz, 3, 6, args, NULL);
	else
		front_error(req, BK_E_NOMEM, NULL);
	free(skey);
	free(ix);
	free(users);
	free(gen);
	free(cpre);
}

static void
front_authz_session_cb(struct front_req *req, int rv,
    const struct store_reply *r)
{
	const struct store_reply *st = store_reply_elem(r, 0);
	size_t		 len, rlen;
	const char	*s, *rec;
	json_t		*o;
	json_error_t	 err;

	if (rv != BK_OK) {
		front_error(req, rv == BK_E_STORE_REPLY ? BK_E_STORE_DOWN : rv,
		    NULL);
		return;
	}
	if (!store_reply_is(st, "ok")) {
		/* expired, or the mapping changed */
		front_authz_start_login(req);
		return;
	}
	s = store_reply_str(store_reply_elem(r, 1), &len);
	rec = store_reply_str(store_reply_elem(r, 2), &rlen);
	if (s == NULL || rec == NULL ||
	    (o = json_loadb(s, len, 0, &err)) == NULL) {
		front_authz_start_login(req);
		return;
	}
	front_set_str(&req->fl.user, rec_str(o, "user"));
	front_set_str(&req->fl.issuer, rec_str(o, "issuer"));
	req->fl.sess_exp =
	    (time_t)json_integer_value(json_object_get(o, "exp"));
	json_decref(o);
	if (req->fl.user == NULL ||
	    front_flow_user_rec(req, rec, rlen) != BK_OK ||
	    req->fl.sess_exp <= bk_now()) {
		front_authz_start_login(req);
		return;
	}
	req->fl.consent_needed = front_flow_consent_needed(req,
	    store_reply_int(store_reply_elem(r, 3)) == 1);
	{
		size_t		 glen;
		const char	*g = store_reply_str(store_reply_elem(r, 4),
		    &glen);

		front_flow_set_gen(req, g, glen);
	}
	front_flow_finish(req);
}

static void
front_authz_stored(struct front_req *req, int rv, const struct store_reply *r)
{
	char	*url = req->aux;

	(void)r;
	if (rv != BK_OK) {
		front_error(req, rv == BK_E_STORE_REPLY ? BK_E_STORE_DOWN : rv,
		    NULL);
		return;
	}
	if (req->fl.session != NULL) {
		char name[FRONT_COOKIE_NAMEBUF];

		front_cookie_name(req, FRONT_COOKIE_CORR, NULL, name,
		    sizeof(name));
		front_cookie_set(req, name, req->fl.session, FRONT_AUTHN_TTL,
		    "None");
	}
	front_redirect(req, 302, url);
}

/*
 * SP-initiated SAML: an AuthnRequest whose ID is stored, bound to this
 * browser through the correlation cookie (P09), for FRONT_AUTHN_TTL.  The
 * cookie's value is minted here every time, never taken from the request:
 * a value an attacker planted (or chose for his own browser) would let him
 * bind his sign-in to the victim's browser (login CSRF, issue 6).  A second
 * sign-in started in another tab of the same browser replaces the binding.
 * Also used by /t/<tenant>/saml/login (no client: ends like IdP-initiated).
 */
static void
front_authz_start_login(struct front_req *req)
{
	char		 rid[SAML_ID_MAX + 1], bind[BK_DIGEST_HEX + 1], ttl[16];
	char		*url = NULL, *key = NULL, *rec = NULL, *corr;
	const char	*argv[6];
	json_t		*o;
	int		 rv;

	if ((rv = saml_authn_request_build(req->t->saml_sp, NULL, &url,
	    rid)) != BK_OK) {
		front_error(req, rv, NULL);
		return;
	}
	if (bk_token_new_dup(&corr) != BK_OK) {
		free(url);
		front_error(req, BK_E_RANDOM, NULL);
		return;
	}
	bk_strfree_secret(req->fl.session);
	req->fl.session = corr;	/* the correlation cookie to set */
	bk_sha256_hex(corr, strlen(corr), bind);
	o = json_pack("{s:i, s:s, s:s, s:s?, s:s?, s:s?, s:s?}", "v", 1,
	    "rid", rid,
	    "bind", bind, "client_id", req->fl.client_id, "redirect_uri",
	    req->fl.redirect_uri, "state", req->fl.state, "challenge",
	    req->fl.challenge);
	rec = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	key = store_key_digest(req->t->id, "authn", rid);
	if (rec == NULL || key == NULL) {
		free(url);
		free(rec);
		free(key);
		front_error(req, BK_E_NOMEM, NULL);
		return;
	}
	snprintf(ttl, sizeof(ttl), "%d", FRONT_AUTHN_TTL);
	argv[0] = "SET";
	argv[1] = key;
	argv[2] = rec;
	argv[3] = "EX";
	argv[4] = ttl;
	req->aux = url;
	req->aux_free = free;
	{
		size_t lens[5] =
		    { 3, strlen(key), strlen(rec), 2, strlen(ttl) };

		front_store(req, front_authz_stored, 5, argv, lens);
	}
	free(key);
	free(rec);
}

/* GET /t/<tenant>/saml/login: SP-initiated sign-in without a panel request. */
void
front_saml_login(struct front_req *req)
{
	if (!req->t->sso_enabled) {
		front_audit(req, "authorize", BK_E_TENANT_SSO_OFF, NULL);
		front_error(req, BK_E_TENANT_SSO_OFF, NULL);
		return;
	}
	if (req->t->login != CONF_LOGIN_SAML || req->t->saml_sp == NULL) {
		front_error(req, BK_E_TENANT_LOGIN_MODE, NULL);
		return;
	}
	front_authz_start_login(req);
}
