/*
 * sso-broker: SAML routes: SP metadata, the start of an SP-initiated
 * sign-in, and the Assertion Consumer Service.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The ACS parses the form, runs saml_response_verify() (pure checks, in
 * saml/) and hands the verified identity to the flow (flow.c), which
 * asks the store in one atomic step about replay (P20/P21, keyed on
 * issuer + assertion ID so re-encoding does not help, P22), InResponseTo
 * bound to this browser (P09/P11) and the username -> profile lookup.
 * Every outcome is audited; the assertion is recorded as accepted only
 * after its ID is in the replay cache (T15).  The ACS applies no CSRF or
 * Fetch-Metadata blocking: the IdP's POST is cross-site by design (P34).
 * Trust: the SAMLResponse, RelayState and cookies are untrusted.
 */
#include <stdlib.h>
#include <string.h>

#include "front_int.h"
#include "keys.h"
#include "log.h"
#include "pol.h"
#include "saml.h"

void
front_saml_metadata(struct front_req *req)
{
	const char	*xml;
	size_t		 len;
	int		 rv;

	if ((rv = front_gate(req, req->t, CONF_LOGIN_SAML,
	    FLOW_GATE_LOGIN)) != BK_OK) {
		front_error(req, rv, NULL);
		return;
	}
	xml = saml_sp_metadata(req->t->saml_sp, &len);
	front_reply(req, 200, "application/samlmetadata+xml", xml, len);
}

/* The tenant's key in the key holder: its position in the configuration. */
static size_t
front_saml_key_index(const struct front_req *req)
{
	const struct conf	*c = req->f->conf;
	size_t			 i;

	for (i = 0; i < c->n_tenants; i++)
		if (c->tenants[i] == req->t)
			return i;
	fatalx("tenant %s is not in the configuration", req->t->id);
}

int
front_saml_redirect_url(struct front_req *req, const struct saml_redirect *r,
    char **url)
{
	unsigned char	 sig[KEYS_SIG_MAX];
	size_t		 siglen = 0;
	int		 rv;

	*url = NULL;
	if (r->sign && (rv = keys_sign(req->f->keys_fd,
	    front_saml_key_index(req), r->query, strlen(r->query), sig,
	    &siglen)) != BK_OK) {
		log_req(LOG_L_WARN, req->id, rv, "tenant %s: the key holder "
		    "did not sign the HTTP-Redirect message", req->t->id);
		return BK_E_SAML_REQUEST_SIGN;
	}
	return saml_redirect_url_build(r->dest, r->query,
	    r->sign ? sig : NULL, siglen, url);
}

/*
 * saml/'s unwrap callback: the EncryptedKey goes to the key holder, which
 * alone has the SP keys (saml_enc.c, broker/keys.c).
 */
static int
front_saml_unwrap_cb(void *arg, int slot, int oaep_md, int mgf1_md,
    const unsigned char *wrapped, size_t len, unsigned char *cek,
    size_t cek_len)
{
	struct front_req	*req = arg;
	int			 rv;

	_Static_assert(SAML_KEY_NEXT == KEYS_SLOT_NEXT &&
	    SAML_MD_SHA256 == KEYS_MD_SHA256 &&
	    SAML_WRAPPED_MAX == KEYS_WRAPPED_MAX, "saml.h and keys.h agree");
	rv = keys_unwrap(req->f->keys_fd, front_saml_key_index(req), slot,
	    oaep_md, mgf1_md, wrapped, len, cek, cek_len);
	if (rv == BK_E_IPC_PEER)
		log_req(LOG_L_WARN, req->id, rv, "tenant %s: the key holder "
		    "did not answer an unwrap", req->t->id);
	return rv;
}

/* SP-initiated: an AuthnRequest (HTTP-Redirect) whose ID the flow keeps. */
void
front_saml_start(struct front_req *req)
{
	struct rec_signin	 up;
	struct saml_redirect	 r;
	char			 rid[SAML_ID_MAX + 1], *url = NULL;
	int			 rv;

	if ((rv = saml_authn_request_build(req->t->saml_sp, NULL, &r,
	    rid)) != BK_OK) {
		front_error(req, rv, NULL);
		return;
	}
	rv = front_saml_redirect_url(req, &r, &url);
	saml_redirect_cleanup(&r);
	if (rv != BK_OK) {
		/* 503 and its record: the sign-in cannot start (fail closed) */
		req->fl.event = "authorize";
		flow_refuse(req, rv, rv == BK_E_SAML_REQUEST_SIGN ?
		    "the key holder did not sign the AuthnRequest" : NULL);
		return;
	}
	memset(&up, 0, sizeof(up));
	up.rid = rid;
	flow_request(req, &up, url);
	free(url);
}

/* GET /t/<tenant>/saml/login: SP-initiated sign-in without a panel request. */
void
front_saml_login(struct front_req *req)
{
	int	 rv;

	if ((rv = front_gate(req, req->t, CONF_LOGIN_SAML, FLOW_GATE_ALL)) !=
	    BK_OK) {
		if (rv == BK_E_TENANT_SSO_OFF)
			(void)front_audit(req, "authorize", rv, NULL);
		front_error(req, rv, NULL);
		return;
	}
	flow_login(req);
}

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
		flow_refuse(req, rv, "form");
		return rv;
	}
	if ((*b64 = front_param(&req->form, "SAMLResponse")) == NULL) {
		flow_refuse(req, BK_E_SAML_PARAM, "no SAMLResponse");
		return BK_E_SAML_PARAM;
	}
	return BK_OK;
}

/* What the assertion proved, for the flow. */
static void
front_acs_identity(struct front_req *req, const struct saml_result *res,
    const char *sfdc, struct flow_identity *id)
{
	memset(id, 0, sizeof(*id));
	id->upstream = CONF_LOGIN_SAML;
	id->event = "assertion";
	id->username = res->username;
	id->sfdc_key = sfdc;
	id->issuer = res->issuer;
	id->proof_id = res->assertion_id;
	id->key_id = res->cert_fingerprint[0] ? res->cert_fingerprint : NULL;
	id->request_id = res->in_response_to;
	id->proof_exp = res->not_on_or_after;
	id->proof_skew = req->t->saml.clock_skew;
	id->sess_max = res->session_not_on_or_after;
	id->replay_rv = BK_E_SAML_REPLAY;
	id->request_rv = BK_E_SAML_IN_RESPONSE_TO;
}

/* The assertion's facts for the audit: verified, or as claimed. */
static void
front_acs_note(struct front_req *req, const struct saml_result *res)
{
	struct flow_facts	 f;

	memset(&f, 0, sizeof(f));
	f.issuer = res->issuer;
	f.name_id = res->name_id;
	f.user = res->username;
	f.proof_id = res->assertion_id;
	f.issue_instant = res->issue_instant;
	f.authn_instant = res->authn_instant;
	f.session_index = res->session_index;
	f.sig_alg = res->sig_alg;
	f.digest_alg = res->digest_alg;
	f.cert_fp = res->cert_fingerprint[0] != '\0' ? res->cert_fingerprint :
	    NULL;
	f.in_response_to = res->in_response_to;
	flow_note(req, &f);
}

void
front_saml_acs(struct front_req *req)
{
	struct saml_result	 res;
	struct saml_unwrap	 uw;
	struct flow_identity	 id;
	const char		*b64, *why;
	char			*detail = NULL, *sfdc = NULL;
	int			 rv;

	memset(&res, 0, sizeof(res));
	req->fl.event = "assertion";
	if ((rv = front_gate(req, req->t, CONF_LOGIN_SAML,
	    FLOW_GATE_LOGIN)) != BK_OK) {
		front_error(req, rv, NULL);
		return;
	}
	if (front_acs_input(req, &b64) != BK_OK)
		return;
	front_raw_note(req, b64);
	/*
	 * SSO off refuses before the costly checks, unless the tenant has
	 * console users: an admin's Response is then verified, and the flow
	 * applies the switch to every sign-in that is not theirs.
	 */
	if (req->t->n_console_admins + req->t->n_console_auditors == 0 &&
	    (rv = front_gate(req, req->t, CONF_LOGIN_SAML, FLOW_GATE_SSO)) !=
	    BK_OK) {
		flow_refuse(req, rv, NULL);
		return;
	}
	uw.cb = front_saml_unwrap_cb;
	uw.arg = req;
	rv = saml_response_verify_enc(req->t->saml_sp, b64, strlen(b64),
	    bk_now(), &uw, &res, &detail);
	/* What was read goes to the audit record on failure (untrusted). */
	front_acs_note(req, &res);
	if (rv != BK_OK)
		flow_refuse(req, rv, detail);
	else if (pol_sfdc_key(res.username, &sfdc, &why) != BK_OK)
		flow_refuse(req, BK_E_SAML_NAMEID, why);
	else if (res.in_response_to == NULL &&
	    !req->t->saml.allow_idp_initiated)
		flow_refuse(req, BK_E_SAML_UNSOLICITED, NULL);
	else {
		front_set_str(&req->fl.nid_format, res.name_id_format);
		front_set_str(&req->fl.nid_nq, res.name_qualifier);
		front_set_str(&req->fl.nid_spnq, res.sp_name_qualifier);
		front_acs_identity(req, &res, sfdc, &id);
		flow_signin(req, &id);
	}
	saml_result_cleanup(&res);
	free(detail);
	free(sfdc);
}
