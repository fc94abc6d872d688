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
	o = json_pack("{s:i, s:s, s:s, s:s, s:I, s:s?, s:s?}", "v", 1,
	    "internal_id", req->fl.internal_id, "user", req->fl.user,
	    "sfdc_key", sfdc,
	    "exp", (json_int_t)req->fl.sess_exp, "issuer", req->fl.issuer,
	    "assertion_id", req->fl.assertion_id);
	free(sfdc);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

struct front_sets {
	const char	*argv[32];
	char		*own[32];
	size_t		 n, nown;
	int		 nset_idx, nsadd;
	char		 nsets[8], nsadds[8];
};

static const char *
front_sets_own(struct front_sets *s, char *p)
{
	if (p != NULL && s->nown < BK_NELEM(s->own))
		s->own[s->nown++] = p;
	return p;
}

static void
front_sets_free(struct front_sets *s)
{
	size_t	 i;

	for (i = 0; i < s->nown; i++)
		free(s->own[i]);
}

static void front_flow_stored(struct front_req *, int,
    const struct store_reply *);

/*
 * Store what the sign-in produced (new browser session, code or consent
 * transaction) in one atomic step, then answer.  The session cookie and
 * the redirect go out only after Redis said OK.
 */
void
front_flow_finish(struct front_req *req)
{
	struct front_sets	 s;
	char			 ttl_s[24], ttl_a[24], ttl_c[24];
	char			 *rec = NULL, *skey = NULL, *key = NULL;
	int			 nset = 0, rv = BK_E_NOMEM;
	long			 sttl = (long)(req->fl.sess_exp - bk_now());

	memset(&s, 0, sizeof(s));
	if (sttl <= 0) {
		front_error(req, BK_E_SAML_EXPIRED, "session already expired");
		return;
	}
	if (req->fl.idp_initiated && req->fl.client_id == NULL)
		front_set_str(&req->fl.client_id, req->t->panel.client_id);
	snprintf(ttl_s, sizeof(ttl_s), "%ld", sttl);
	s.argv[s.n++] = NULL;	/* count of SETs, filled below */
	/* A new browser session (after an assertion). */
	if (req->fl.session != NULL && req->fl.request_id_saml != NULL) {
		if ((rec = front_session_record(req)) == NULL)
			goto fail;
		skey = store_key_digest(req->t->id, "sess", req->fl.session);
		if (skey == NULL)
			goto fail;
		s.argv[s.n++] = front_sets_own(&s, skey);
		s.argv[s.n++] = front_sets_own(&s, rec);
		s.argv[s.n++] = ttl_s;
		nset++;
	}
	if (req->fl.consent_needed) {
		if (bk_token_new_dup(&req->fl.tx) != BK_OK)
			goto fail;
		if ((rec = front_flow_record(req)) == NULL ||
		    (key = store_key_digest(req->t->id, "ctx",
		    req->fl.tx)) == NULL)
			goto fail_rec;
		snprintf(ttl_c, sizeof(ttl_c), "%d", FRONT_CONSENT_TX_TTL);
		s.argv[s.n++] = front_sets_own(&s, key);
		s.argv[s.n++] = front_sets_own(&s, rec);
		s.argv[s.n++] = ttl_c;
		nset++;
	} else if (!req->fl.idp_initiated) {
		if (bk_token_new_dup(&req->fl.code) != BK_OK)
			goto fail;
		if ((rec = front_flow_record(req)) == NULL ||
		    (key = store_key_digest(req->t->id, "code",
		    req->fl.code)) == NULL)
			goto fail_rec;
		snprintf(ttl_a, sizeof(ttl_a), "%d", req->t->policy.code_ttl);
		s.argv[s.n++] = front_sets_own(&s, key);
		s.argv[s.n++] = front_sets_own(&s, rec);
		s.argv[s.n++] = ttl_a;
		nset++;
	}
	snprintf(s.nsets, sizeof(s.nsets), "%d", nset);
	s.argv[0] = s.nsets;
	/* The user's session index, for "revoke every session of a user". */
	if (skey != NULL) {
		char *ix = store_key(req->t->id, "usess", req->fl.internal_id);

		if (ix == NULL)
			goto fail;
		s.argv[s.n++] = "1";
		s.argv[s.n++] = front_sets_own(&s, ix);
		s.argv[s.n++] = skey;
		s.argv[s.n++] = ttl_s;
	} else
		s.argv[s.n++] = "0";
	if (nset == 0 && skey == NULL) {
		front_sets_free(&s);
		front_flow_stored(req, BK_OK, NULL);
		return;
	}
	front_store_eval(req, front_flow_stored, store_lua_sets, 0, (int)s.n,
	    s.argv, NULL);
	front_sets_free(&s);
	return;
 fail_rec:
	free(rec);
	free(key);
	rv = BK_E_INTERNAL;
 fail:
	front_sets_free(&s);
	front_error(req, rv, NULL);
}

static void
front_flow_stored(struct front_req *req, int rv, const struct store_reply *r)
{
	char	*url = NULL, *body = NULL, *path = NULL;
	int	 arv;

	(void)r;
	if (rv != BK_OK) {
		front_error(req, rv == BK_E_STORE_REPLY ? BK_E_STORE_DOWN : rv,
		    NULL);
		return;
	}
	if (req->fl.session != NULL && req->fl.request_id_saml != NULL) {
		char name[FRONT_COOKIE_NAME_MAX];

		snprintf(name, sizeof(name), "%s%s", FRONT_COOKIE_SESSION,
		    req->t->id);
		front_cookie_set(req, name, req->fl.session,
		    (int)(req->fl.sess_exp - bk_now()), "Lax");
	}
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
		/*
		 * IdP-initiated: the panel starts its own authorization (OIDC
		 * 4).
		 */
		if (req->t->panel.initiate_login_uri != NULL) {
			url =
			    front_url_add(req->t->panel.initiate_login_uri,
			    "iss",
			    req->f->conf->public_url, NULL, NULL, NULL, NULL);
			if (url == NULL)
				front_error(req, BK_E_NOMEM, NULL);
			else
				front_redirect(req, 303, url);
		} else {
			char *u = front_html_esc(req->fl.user);
			struct bk_buf b;

			bk_buf_init(&b, 4096);
			if (u != NULL &&
			    bk_buf_addf(&b,
			    "<p>You are signed in as <b>%s</b>. "
			    "Open the communication panel to continue.</p>",
			    u) == BK_OK)
				body = bk_buf_take(&b);
			bk_buf_free(&b);
			free(u);
			front_page(req, 200, "Signed in", body ? body : "");
		}
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
	free(body);
	free(path);
}

/* --- /oauth2/authorize --- */

static void front_authz_session_cb(struct front_req *, int,
    const struct store_reply *);
static void front_authz_start_login(struct front_req *);

/*
 * Errors after client and redirect_uri are known go back to the client (RFC
 * 6749 4.1.2.1).
 */
static void
front_authz_redirect_error(struct front_req *req, const char *error,
    const char *desc)
{
	char	*url = front_url_add(req->fl.redirect_uri, "error", error,
	    "error_description", desc, "state", req->fl.state);

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
	char		 name[FRONT_COOKIE_NAME_MAX];

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
		front_authz_redirect_error(req, "invalid_request",
		    "state is malformed");
		return;
	}
	front_set_str(&req->fl.state, state);
	if (rtype == NULL || strcmp(rtype, "code") != 0) {
		front_authz_redirect_error(req, "unsupported_response_type",
		    "only response_type=code is supported");
		return;
	}
	if (meth == NULL || strcmp(meth, "S256") != 0 || !front_pkce_ok(chal) ||
	    strlen(chal) != BK_TOKEN_LEN) {
		front_authz_redirect_error(req, "invalid_request",
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
	snprintf(name, sizeof(name), "%s%s", FRONT_COOKIE_SESSION, req->t->id);
	if ((cookie = front_cookie_get(req, name)) != NULL) {
		/* Sign in once: an existing browser session skips the IdP. */
		char *skey = store_key_digest(req->t->id, "sess", cookie);
		char *ix = store_key(req->t->id, "sfdc", NULL);
		char *users = store_key(req->t->id, "users", NULL);
		char *cpre = store_key(req->t->id, "consent", "");
		const char *args[5] = { ix, users, skey, cpre, client };

		/* Kept: a consent transaction is bound to this session. */
		bk_strfree_secret(req->fl.session);
		req->fl.session = cookie;
		if (skey && ix && users && cpre)
			front_store_eval(req, front_authz_session_cb,
			    store_lua_session_authz,
			    2, 5, args, NULL);
		else
			front_error(req, BK_E_NOMEM, NULL);
		free(skey);
		free(ix);
		free(users);
		free(cpre);
		return;
	}
	front_authz_start_login(req);
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
	if (req->fl.session != NULL)
		front_cookie_set(req, FRONT_COOKIE_CORR, req->fl.session,
		    FRONT_AUTHN_TTL, "None");
	front_redirect(req, 302, url);
}

/*
 * SP-initiated SAML: an AuthnRequest whose ID is stored, bound to this
 * browser through the correlation cookie (P09), for FRONT_AUTHN_TTL.
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
	corr = front_cookie_get(req, FRONT_COOKIE_CORR);
	if (corr == NULL || strlen(corr) != BK_TOKEN_LEN) {
		bk_strfree_secret(corr);
		corr = NULL;
		if (bk_token_new_dup(&corr) != BK_OK) {
			free(url);
			front_error(req, BK_E_RANDOM, NULL);
			return;
		}
	}
	bk_strfree_secret(req->fl.session);
	req->fl.session = corr;	/* the correlation cookie to (re)set */
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
