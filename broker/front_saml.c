/*
 * sso-broker: SAML routes: SP metadata and the Assertion Consumer Service.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The ACS runs saml_response_verify() (pure checks, in saml/), then the
 * checks that need Redis in one atomic script: replay (P20/P21, keyed on
 * issuer + assertion ID so re-encoding does not help, P22), InResponseTo
 * bound to this browser (P09/P11), and the username -> profile lookup.
 * Every outcome is audited; the assertion is recorded as accepted only
 * after its ID is in the replay cache (T15).  The ACS applies no CSRF or
 * Fetch-Metadata blocking: the IdP's POST is cross-site by design (P34).
 * Trust: the SAMLResponse, RelayState and cookies are untrusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "front_int.h"
#include "log.h"
#include "pol.h"
#include "saml.h"

void
front_saml_metadata(struct front_req *req)
{
	const char	*xml;
	size_t		 len;

	if (req->t->login != CONF_LOGIN_SAML || req->t->saml_sp == NULL) {
		front_error(req, BK_E_TENANT_LOGIN_MODE, NULL);
		return;
	}
	xml = saml_sp_metadata(req->t->saml_sp, &len);
	front_reply(req, 200, "application/samlmetadata+xml", xml, len);
}

static void
front_acs_reject(struct front_req *req, int rv, const char *detail)
{
	log_req(LOG_L_INFO, req->id, rv,
	    "assertion rejected: tenant=%s user=%s %s",
	    req->t->id, log_esc(req->fl.user), detail ? log_esc(detail) : "");
	if (front_audit(req, "assertion", rv, detail) != BK_OK &&
	    bk_err_http(rv) < 500) {
		/* Still a refusal; the audit failure is logged. */
	}
	front_error(req, rv, detail);
}

static void front_acs_decided(struct front_req *, int,
    const struct store_reply *);

/* The form: one SAMLResponse.  RelayState is never used (P32). */
static int
front_acs_input(struct front_req *req, const char **b64)
{
	int	 rv;

	*b64 = NULL;
	if ((rv = front_form_parse(req, FRONT_MAX_BODY_PUBLIC)) != BK_OK) {
		if (rv == BK_E_HTTP_BODY_TOOBIG || rv == BK_E_TOOBIG)
			rv = BK_E_SAML_TOOBIG;
		else if (rv == BK_E_HTTP_CTYPE)
			rv = BK_E_SAML_PARAM;
		front_acs_reject(req, rv, "form");
		return rv;
	}
	if ((*b64 = front_param(&req->form, "SAMLResponse")) == NULL) {
		front_acs_reject(req, BK_E_SAML_PARAM, "no SAMLResponse");
		return BK_E_SAML_PARAM;
	}
	return BK_OK;
}

/*
 * The checks that need Redis, in one atomic script (store_lua_acs):
 * replay, InResponseTo bound to this browser (bind: digest of its
 * correlation cookie), and the username -> profile lookup.
 */
static void
front_acs_decide(struct front_req *req, const struct saml_result *res,
    const char *sfdc, const char *bind, time_t now)
{
	const char	*rid = res->in_response_to;
	char		 ttl[24];
	char		*rkey = NULL, *akey, *ix, *users, *cpre, *gen;
	struct bk_buf	 rb;
	long		 rttl;

	/* The replay entry lives until NotOnOrAfter + skew (P20). */
	rttl = (long)(res->not_on_or_after - now) + req->t->saml.clock_skew;
	snprintf(ttl, sizeof(ttl), "%ld", rttl < 60 ? 60 : rttl);
	/* Keyed on issuer and assertion ID: re-encoding does not help (P22). */
	bk_buf_init(&rb, 4096);
	if (bk_buf_addf(&rb, "%s\n%s", res->issuer, res->assertion_id) ==
	    BK_OK)
		rkey = store_key_digest(req->t->id, "replay", rb.data);
	bk_buf_free(&rb);
	akey = store_key_digest(req->t->id, "authn", rid ? rid : "-");
	ix = store_key(req->t->id, "sfdc", NULL);
	users = store_key(req->t->id, "users", NULL);
	cpre = store_key(req->t->id, "consent", "");
	gen = store_key(req->t->id, "ugen", NULL);
	front_set_str(&req->fl.request_id_saml, rid ? rid : "-");
	req->fl.sess_exp = now + req->t->policy.session_ttl;
	if (res->session_not_on_or_after != 0 &&
	    res->session_not_on_or_after < req->fl.sess_exp)
		req->fl.sess_exp = res->session_not_on_or_after; /* P28 */
	if (!rkey || !akey || !ix || !users || !cpre || !gen ||
	    req->fl.request_id_saml == NULL)
		front_error(req, BK_E_NOMEM, NULL);
	else {
		const char *args[11] = { rkey, akey, ix, users, gen,
		    rid ? rid : "", bind, ttl, sfdc, cpre,
		    req->t->panel.client_id };

		front_store_eval(req, front_acs_decided, store_lua_acs, 5, 11,
		    args, NULL);
	}
	free(gen);
	free(rkey);
	free(akey);
	free(ix);
	free(users);
	free(cpre);
}

void
front_saml_acs(struct front_req *req)
{
	struct saml_result	 res;
	const char		*b64, *why;
	char			*detail = NULL, *sfdc = NULL, *corr = NULL;
	char			 bind[BK_DIGEST_HEX + 1] = "";
	char			 cname[FRONT_COOKIE_NAMEBUF];
	time_t			 now = bk_now();
	int			 rv;

	memset(&res, 0, sizeof(res));
	if (req->t->login != CONF_LOGIN_SAML || req->t->saml_sp == NULL) {
		front_error(req, BK_E_TENANT_LOGIN_MODE, NULL);
		return;
	}
	if (front_acs_input(req, &b64) != BK_OK)
		return;
	if (!req->t->sso_enabled) {
		front_acs_reject(req, BK_E_TENANT_SSO_OFF, NULL);
		return;
	}
	front_cookie_name(req, FRONT_COOKIE_CORR, NULL, cname, sizeof(cname));
	rv = saml_response_verify(req->t->saml_sp, b64, strlen(b64), now,
	    &res, &detail);
	/* What was read goes to the audit record on failure (untrusted). */
	front_set_str(&req->fl.issuer, res.issuer);
	front_set_str(&req->fl.assertion_id, res.assertion_id);
	front_set_str(&req->fl.user, res.username);
	if (res.cert_fingerprint[0] != '\0')
		front_set_str(&req->fl.cert_fp, res.cert_fingerprint);
	if (rv != BK_OK)
		front_acs_reject(req, rv, detail);
	else if (pol_sfdc_key(res.username, &sfdc, &why) != BK_OK)
		front_acs_reject(req, BK_E_SAML_NAMEID, why);
	else if (res.in_response_to != NULL &&
	    (corr = front_cookie_get(req, cname)) == NULL)
		front_acs_reject(req, BK_E_SAML_IN_RESPONSE_TO,
		    "no sign-in started in this browser");
	else if (res.in_response_to == NULL &&
	    !req->t->saml.allow_idp_initiated)
		front_acs_reject(req, BK_E_SAML_UNSOLICITED, NULL);
	else {
		if (corr != NULL)
			bk_sha256_hex(corr, strlen(corr), bind);
		front_acs_decide(req, &res, sfdc, bind, now);
	}
	saml_result_cleanup(&res);
	free(detail);
	free(sfdc);
	bk_strfree_secret(corr);
}

static void
front_acs_decided(struct front_req *req, int rv, const struct store_reply *r)
{
	const struct store_reply *st = store_reply_elem(r, 0);
	const char	*rec, *authn, *gen;
	size_t		 rlen, alen, glen;
	json_t		*o;
	json_error_t	 err;
	int		 arv;

	if (rv != BK_OK) {
		/* Fail closed: no replay check, no sign-in (P23). */
		front_acs_reject(req,
		    rv == BK_E_STORE_REPLY ? BK_E_STORE_DOWN : rv, NULL);
		return;
	}
	if (store_reply_is(st, "replay")) {
		front_acs_reject(req, BK_E_SAML_REPLAY, NULL);
		return;
	}
	if (store_reply_is(st, "irt")) {
		front_acs_reject(req, BK_E_SAML_IN_RESPONSE_TO,
		    "InResponseTo unknown, used, or issued to another browser");
		return;
	}
	if (store_reply_is(st, "unmapped")) {
		front_acs_reject(req, BK_E_POL_UNMAPPED, NULL);
		return;
	}
	if (!store_reply_is(st, "ok") ||
	    (rec = store_reply_str(store_reply_elem(r, 1), &rlen)) == NULL ||
	    (authn = store_reply_str(store_reply_elem(r, 2), &alen)) == NULL ||
	    front_flow_user_rec(req, rec, rlen) != BK_OK) {
		front_acs_reject(req, BK_E_STORE_RECORD, NULL);
		return;
	}
	if (alen > 0 && (o = json_loadb(authn, alen, 0, &err)) != NULL) {
		const char *c =
		    json_string_value(json_object_get(o, "client_id"));

		if (c != NULL) {
			front_set_str(&req->fl.client_id, c);
			front_set_str(&req->fl.redirect_uri,
			    json_string_value(json_object_get(o,
			    "redirect_uri")));
			front_set_str(&req->fl.state,
			    json_string_value(json_object_get(o, "state")));
			front_set_str(&req->fl.challenge,
			    json_string_value(json_object_get(o, "challenge")));
		}
		json_decref(o);
	}
	/*
	 * Without a panel request (IdP-initiated or /saml/login): end at the
	 * panel.
	 */
	req->fl.idp_initiated = req->fl.client_id == NULL ||
	    req->fl.redirect_uri == NULL;
	if (req->fl.idp_initiated) {
		free(req->fl.client_id);
		req->fl.client_id = NULL;
	}
	req->fl.consent_needed = front_flow_consent_needed(req,
	    store_reply_int(store_reply_elem(r, 3)) == 1);
	/* The revocation generation read with the mapping (issue 6). */
	gen = store_reply_str(store_reply_elem(r, 4), &glen);
	front_flow_set_gen(req, gen, glen);
	if ((arv = front_audit(req, "assertion", BK_OK, NULL)) != BK_OK) {
		/* fail closed: no session without a record */
		front_error(req, arv, NULL);
		return;
	}
	log_req(LOG_L_INFO, req->id, 0,
	    "assertion accepted: tenant=%s user=%s id=%s",
	    req->t->id, log_esc(req->fl.user), log_esc(req->fl.assertion_id));
	if (bk_token_new_dup(&req->fl.session) != BK_OK) {
		front_error(req, BK_E_RANDOM, NULL);
		return;
	}
	front_flow_finish(req);
}
