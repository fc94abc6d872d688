/*
 * sso-broker: SAML single logout, front channel (issue 11 item 2), both
 * directions, HTTP-Redirect binding.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * SP-initiated: /logout (front_token.c) ends this browser's sessions and
 * their panel tokens first, then, for the first SAML tenant whose IdP
 * metadata has a SingleLogoutService, hands over to front_slo_logout():
 * a LogoutRequest naming the session's NameID (Format and qualifiers as
 * the assertion had them) and SessionIndex, signed by the key holder, its
 * ID kept in the store bound to this browser (a cookie of its own) for
 * FRONT_AUTHN_TTL.  The IdP's LogoutResponse at /t/<tenant>/saml/slo is
 * verified (saml_logout_verify()), its InResponseTo taken once from the
 * store for this browser, and the page says where the user now stands.
 * /logout?local=1 signs out here only.
 * IdP-initiated: a LogoutRequest at /t/<tenant>/saml/slo (HTTP-Redirect, or
 * HTTP-POST with an enveloped XML signature) is verified, then
 * one store step remembers its ID (replay) and ends the sessions of its
 * NameID (and SessionIndex), with their tokens; another user's sessions
 * are never touched.  The answer is a LogoutResponse signed by the key
 * holder: Success, or Requester/UnknownPrincipal when no session here
 * matched.  A request that fails verification gets no LogoutResponse: it
 * is refused with its reason code (an error page) and audited.
 * Events: slo_request (a LogoutRequest, either way), slo_response (the
 * IdP's LogoutResponse) and logout (each session ended).
 * Trust: the query and cookies are untrusted; saml/ verifies the message.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "front_int.h"
#include "front_page.h"
#include "log.h"
#include "saml.h"
#include "store_signin.h"

/* The cookie binding a LogoutRequest we sent to this browser. */
#define FRONT_SLO_COOKIE	"ssob_lo"
/* A LogoutRequest's ID stays refused this long after its IssueInstant. */
#define FRONT_SLO_REPLAY_TTL	(2 * 3600)

/* What a LogoutRequest or LogoutResponse handler keeps (req->aux). */
struct front_slo {
	struct saml_logout_msg	 m;
	char			*url;	/* where the browser goes next */
	char			*corr;	/* the new binding cookie (secret) */
};

static void
front_slo_free(void *p)
{
	struct front_slo	*s = p;

	saml_logout_cleanup(&s->m);
	free(s->url);
	bk_strfree_secret(s->corr);
	free(s);
}

/* Replace req->aux by a fresh front_slo. */
static struct front_slo *
front_slo_aux(struct front_req *req)
{
	struct front_slo	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (req->aux_free != NULL)
		req->aux_free(req->aux);
	req->aux = s;
	req->aux_free = front_slo_free;
	return s;
}

/* The message's facts for the audit (verified, or as claimed). */
static void
front_slo_note(struct front_req *req, const struct saml_logout_msg *m)
{
	struct flow_facts	 f;

	memset(&f, 0, sizeof(f));
	f.issuer = m->issuer;
	f.name_id = m->name_id;
	f.proof_id = m->id;
	f.issue_instant = m->issue_instant;
	f.session_index = m->n_si > 0 ? m->session_index[0] : NULL;
	f.sig_alg = m->sig_alg;
	f.cert_fp = m->cert_fingerprint[0] != '\0' ? m->cert_fingerprint :
	    NULL;
	f.in_response_to = m->in_response_to;
	flow_note(req, &f);
}

static void
front_slo_cookie_name(struct front_req *req, char name[FRONT_COOKIE_NAMEBUF])
{
	front_cookie_name(req, FRONT_SLO_COOKIE, NULL, name,
	    FRONT_COOKIE_NAMEBUF);
}

/* --- SP-initiated: the LogoutRequest we send --- */

int
front_slo_candidate(struct front_req *req, const struct conf_tenant *t,
    const struct rec_session *sess)
{
	if (t->login != CONF_LOGIN_SAML || t->saml_sp == NULL ||
	    !saml_tenant_has_slo(t->saml_sp) || sess->name_id == NULL)
		return 0;
	front_set_str(&req->fl.name_id, sess->name_id);
	front_set_str(&req->fl.nid_format, sess->nid_format);
	front_set_str(&req->fl.nid_nq, sess->nid_nq);
	front_set_str(&req->fl.nid_spnq, sess->nid_spnq);
	front_set_str(&req->fl.session_index, sess->session_index);
	return 1;
}

static void
front_slo_kept(void *arg, int rv)
{
	struct front_req	*req = arg;
	struct front_slo	*s = req->aux;
	char			 name[FRONT_COOKIE_NAMEBUF];

	if (rv != BK_OK) {
		/* signed out here; the IdP is not asked without a binding */
		(void)front_audit(req, "slo_request", rv,
		    "the LogoutRequest could not be kept");
		front_page_signed_out_slo(req, 0);
		return;
	}
	(void)front_audit(req, "slo_request", BK_OK,
	    "LogoutRequest sent to the IdP");
	front_slo_cookie_name(req, name);
	front_cookie_set(req, name, s->corr, FRONT_AUTHN_TTL, "Lax");
	front_redirect(req, 302, s->url);
}

int
front_slo_logout(struct front_req *req, const struct conf_tenant *t,
    const char *user, const char *internal_id)
{
	struct saml_logout_who	 who;
	struct saml_redirect	 r;
	struct rec_signin	 rec;
	struct front_slo	*s;
	char			 rid[SAML_ID_MAX + 1], key[SAML_ID_MAX + 8];
	char			 bind[BK_DIGEST_HEX + 1];
	int			 rv;

	if (front_param(&req->q, "local") != NULL)
		return 0;	/* local-only sign-out, asked for */
	req->t = t;
	front_set_str(&req->fl.user, user);
	front_set_str(&req->fl.internal_id, internal_id);
	memset(&who, 0, sizeof(who));
	who.name_id = req->fl.name_id;
	who.format = req->fl.nid_format;
	who.nq = req->fl.nid_nq;
	who.spnq = req->fl.nid_spnq;
	who.session_index = req->fl.session_index;
	if ((s = front_slo_aux(req)) == NULL) {
		front_page_signed_out_slo(req, 0);
		return 1;
	}
	if ((rv = saml_logout_request_build(t->saml_sp, &who, &r, rid)) !=
	    BK_OK) {
		(void)front_audit(req, "slo_request", rv, NULL);
		front_page_signed_out_slo(req, 0);
		return 1;
	}
	front_set_str(&req->fl.assertion_id, rid);
	rv = front_saml_redirect_url(req, &r, &s->url);
	saml_redirect_cleanup(&r);
	if (rv != BK_OK) {
		(void)front_audit(req, "slo_request", BK_E_SAML_SLO_SIGN,
		    "the key holder did not sign the LogoutRequest");
		front_page_signed_out_slo(req, 0);
		return 1;
	}
	if (bk_token_new_dup(&s->corr) != BK_OK) {
		(void)front_audit(req, "slo_request", BK_E_RANDOM, NULL);
		front_page_signed_out_slo(req, 0);
		return 1;
	}
	bk_sha256_hex(s->corr, strlen(s->corr), bind);
	snprintf(key, sizeof(key), "slo:%s", rid);
	memset(&rec, 0, sizeof(rec));
	rec.rid = key;
	rec.bind = bind;
	rec.user = req->fl.user;
	store_signin_put(front_store(req->f, t), t->id, &rec, FRONT_AUTHN_TTL,
	    front_slo_kept, req);
	return 1;
}

/* --- the IdP's LogoutResponse --- */

static void
front_slo_taken(void *arg, int rv, const struct rec_signin *r)
{
	struct front_req	*req = arg;
	struct front_slo	*s = req->aux;
	int			 ok;

	if (rv != BK_OK) {
		flow_refuse(req, rv, NULL);
		return;
	}
	if (r == NULL) {
		flow_refuse(req, BK_E_SAML_SLO_IN_RESPONSE_TO,
		    "InResponseTo unknown, used, or sent to another browser");
		return;
	}
	front_set_str(&req->fl.user, r->user);
	ok = saml_logout_status_ok(&s->m);
	(void)front_audit(req, "slo_response", ok ? BK_OK :
	    BK_E_SAML_SLO_STATUS, ok ? "signed out at the IdP" : s->m.status);
	front_page_signed_out_slo(req, ok);
}

static void
front_slo_response(struct front_req *req, struct front_slo *s)
{
	char	 name[FRONT_COOKIE_NAMEBUF], key[SAML_ID_MAX + 8];
	char	 bind[BK_DIGEST_HEX + 1], *corr;

	front_slo_cookie_name(req, name);
	if ((corr = front_cookie_get(req, name)) == NULL) {
		flow_refuse(req, BK_E_SAML_SLO_IN_RESPONSE_TO,
		    "no sign-out started in this browser");
		return;
	}
	front_cookie_clear(req, name, "Lax");
	bk_sha256_hex(corr, strlen(corr), bind);
	bk_strfree_secret(corr);
	snprintf(key, sizeof(key), "slo:%s", s->m.in_response_to);
	store_signin_take(front_req_store(req), req->t->id, key, bind,
	    front_slo_taken, req);
}

/* --- IdP-initiated: the IdP's LogoutRequest --- */

static void
front_slo_answer(struct front_req *req, struct front_slo *s, int ok,
    const char *status2)
{
	struct saml_redirect	 r;
	char			*url = NULL;
	int			 rv;

	if ((rv = saml_logout_response_build(req->t->saml_sp, s->m.id,
	    status2, ok, s->m.relay_state, &r)) == BK_OK) {
		rv = front_saml_redirect_url(req, &r, &url);
		saml_redirect_cleanup(&r);
		if (rv == BK_E_SAML_REQUEST_SIGN)
			rv = BK_E_SAML_SLO_SIGN;
	}
	if (rv != BK_OK) {
		/* the sessions are ended; the IdP hears nothing */
		(void)front_audit(req, "slo_request", rv,
		    "no LogoutResponse could be sent");
		front_error(req, rv, NULL);
		return;
	}
	front_redirect(req, 302, url);
	free(url);
}

static void
front_slo_ended(void *arg, int rv, const struct store_slo_ended *e)
{
	struct front_req	*req = arg;
	struct front_slo	*s = req->aux;
	char			 d[96];
	size_t			 i;

	if (rv != BK_OK) {
		flow_refuse(req, rv, NULL);
		return;
	}
	if (e->replay) {
		flow_refuse(req, BK_E_SAML_SLO_REPLAY, NULL);
		return;
	}
	if (e->total == 0) {
		/* Profiles 4.4.4.2: the principal is unknown here */
		(void)front_audit(req, "slo_request", BK_E_SAML_SLO_UNKNOWN,
		    "no session of this NameID and SessionIndex");
		front_slo_answer(req, s, 0, SAML_STATUS_UNKNOWN_PRINCIPAL);
		return;
	}
	for (i = 0; i < e->n; i++) {
		front_set_str(&req->fl.user, e->sess[i].user);
		front_set_str(&req->fl.internal_id, e->sess[i].internal_id);
		(void)front_audit(req, "logout", BK_OK,
		    "single logout from the IdP");
	}
	snprintf(d, sizeof(d), "%zu session(s) and %lld panel token(s) "
	    "ended", e->total, e->tokens);
	(void)front_audit(req, "slo_request", BK_OK, d);
	log_req(LOG_L_INFO, req->id, BK_OK, "tenant %s: single logout from "
	    "the IdP: %s", req->t->id, d);
	front_slo_answer(req, s, 1, NULL);
}

static void
front_slo_request(struct front_req *req, struct front_slo *s)
{
	struct store_slo_in	 in;
	struct bk_buf		 proof;

	bk_buf_init(&proof, 4096);
	if (bk_buf_addf(&proof, "%s\n%s", s->m.issuer, s->m.id) != BK_OK) {
		bk_buf_free(&proof);
		front_error(req, BK_E_NOMEM, NULL);
		return;
	}
	memset(&in, 0, sizeof(in));
	in.tenant = req->t->id;
	in.name_id = s->m.name_id;
	in.session_index = (const char *const *)s->m.session_index;
	in.n_si = s->m.n_si;
	in.proof = proof.data;
	in.proof_ttl = FRONT_SLO_REPLAY_TTL + req->t->saml.clock_skew;
	store_slo_end(front_req_store(req), &in, front_slo_ended, req);
	bk_buf_free(&proof);
}

/* The tenant takes logout messages; *sp set.  Else refused (answered). */
static struct front_slo *
front_slo_open(struct front_req *req)
{
	struct front_slo	*s;
	int			 rv;

	req->fl.event = "slo_request";
	if ((rv = front_gate(req, req->t, CONF_LOGIN_SAML,
	    FLOW_GATE_LOGIN)) != BK_OK) {
		front_error(req, rv, NULL);
		return NULL;
	}
	if ((s = front_slo_aux(req)) == NULL) {
		front_error(req, BK_E_NOMEM, NULL);
		return NULL;
	}
	if (!saml_tenant_has_slo(req->t->saml_sp)) {
		flow_refuse(req, BK_E_SAML_SLO_NOT_CONFIGURED, NULL);
		return NULL;
	}
	return s;
}

/* saml_logout_verify*() said rv: refuse, or go on with the message. */
static void
front_slo_verified(struct front_req *req, struct front_slo *s, int rv,
    const char *detail)
{
	if (s->m.is_response)
		req->fl.event = "slo_response";
	front_slo_note(req, &s->m);
	if (rv != BK_OK)
		flow_refuse(req, rv, detail);
	else if (s->m.is_response)
		front_slo_response(req, s);
	else
		front_slo_request(req, s);
}

/* GET /t/<tenant>/saml/slo: the HTTP-Redirect binding. */
void
front_saml_slo(struct front_req *req)
{
	const struct evhttp_uri	*uri;
	struct front_slo	*s;
	char			*detail = NULL;
	int			 rv;

	if ((s = front_slo_open(req)) == NULL)
		return;
	uri = req->ev != NULL ? evhttp_request_get_evhttp_uri(req->ev) : NULL;
	rv = saml_logout_verify(req->t->saml_sp, uri != NULL ?
	    evhttp_uri_get_query(uri) : NULL, bk_now(), &s->m, &detail);
	front_slo_verified(req, s, rv, detail);
	free(detail);
}

/* POST /t/<tenant>/saml/slo: the HTTP-POST binding (cross-site by design). */
void
front_saml_slo_post(struct front_req *req)
{
	struct front_slo	*s;
	const char		*rq, *rs, *param;
	char			*detail = NULL;
	int			 rv;

	if ((s = front_slo_open(req)) == NULL)
		return;
	if ((rv = front_form_parse(req, FRONT_MAX_BODY_PUBLIC)) != BK_OK) {
		flow_refuse(req, rv == BK_E_HTTP_BODY_TOOBIG ||
		    rv == BK_E_TOOBIG ? BK_E_SAML_SLO_TOOBIG :
		    BK_E_SAML_SLO_PARAM, "form");
		return;
	}
	rq = front_param(&req->form, "SAMLRequest");
	rs = front_param(&req->form, "SAMLResponse");
	if ((rq == NULL) == (rs == NULL)) {
		flow_refuse(req, BK_E_SAML_SLO_PARAM, "exactly one of "
		    "SAMLRequest and SAMLResponse is required");
		return;
	}
	param = rq != NULL ? "SAMLRequest" : "SAMLResponse";
	rv = saml_logout_verify_post(req->t->saml_sp, param, rq != NULL ? rq :
	    rs, front_param(&req->form, "RelayState"), bk_now(), &s->m,
	    &detail);
	front_slo_verified(req, s, rv, detail);
	free(detail);
}
