/*
 * sso-broker: the sign-in flow, the same for every upstream (flow.h).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Read top to bottom, this is a sign-in: the start (a session, or the
 * upstream's request kept and bound to this browser), the verified
 * identity decided on by the store, the audit record, what is issued
 * (session, consent transaction or code, in one store step that a
 * revocation racing it voids) and the answer.  Every step that waits
 * for Redis ends in a callback named after what it waited for.  Pages
 * come from front_page.c; the per-tenant rules from flow_policy.c.
 * Trust: see flow.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "front_int.h"
#include "log.h"
#include "pol.h"
#include "store_signin.h"

void
front_flow_cleanup(struct front_flow *fl)
{
	free(fl->client_id);
	free(fl->redirect_uri);
	free(fl->state);
	free(fl->challenge);
	free(fl->internal_id);
	free(fl->user);
	free(fl->sfdc_key);
	free(fl->extension);
	free(fl->issuer);
	free(fl->assertion_id);
	free(fl->cert_fp);
	free(fl->request_id);
	free(fl->name_id);
	free(fl->issue_instant);
	free(fl->authn_instant);
	free(fl->session_index);
	free(fl->sig_alg);
	free(fl->digest_alg);
	free(fl->key_id);
	free(fl->nid_format);
	free(fl->nid_nq);
	free(fl->nid_spnq);
	free(fl->before);
	free(fl->after);
	bk_strfree_secret(fl->tx);
	bk_strfree_secret(fl->code);
	bk_strfree_secret(fl->token);
	bk_strfree_secret(fl->session);
	bk_strfree_secret(fl->corr);
	free(fl->spent_detail);
	free(fl->tenant);
	memset(fl, 0, sizeof(*fl));
}

void
front_set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? bk_strdup(v) : NULL;
}

char *
flow_session_cookie(struct front_req *req)
{
	char	 name[FRONT_COOKIE_NAMEBUF];

	front_cookie_name(req, FRONT_COOKIE_SESSION, req->t->id, name,
	    sizeof(name));
	return front_cookie_get(req, name);
}

/* The correlation cookie a sign-in started with, or NULL. */
static char *
flow_corr_cookie(struct front_req *req)
{
	char	 name[FRONT_COOKIE_NAMEBUF];

	front_cookie_name(req, FRONT_COOKIE_CORR, NULL, name, sizeof(name));
	return front_cookie_get(req, name);
}

static void
flow_set_gen(struct front_req *req, const char *gen)
{
	snprintf(req->fl.gen, sizeof(req->fl.gen), "%s", gen);
}

/* A store step's failure: the store's code, as an error page. */
static void
flow_store_failed(struct front_req *req, int rv)
{
	front_error(req, rv, NULL);
}

/* The log's fields of this sign-in (a static copy: one at a time). */
static const struct log_fields *
flow_log_fields(const struct front_req *req, const char *event)
{
	static struct log_fields	 lf;

	memset(&lf, 0, sizeof(lf));
	lf.req = req->id;
	lf.tenant = req->t != NULL ? req->t->id : NULL;
	lf.event = event;
	lf.user = req->fl.user;
	lf.id = req->fl.assertion_id;
	lf.duration_ms = -1;
	return &lf;
}

/* A refusal, logged and audited (still a refusal if the record fails). */
static void
flow_refusal(struct front_req *req, int rv, const char *detail)
{
	const char	*ev = req->fl.event ? req->fl.event : "assertion";

	log_fields(LOG_L_INFO, flow_log_fields(req, ev), rv, "%s rejected%s%s",
	    ev, detail ? ": " : "", detail ? log_esc(detail) : "");
	(void)front_audit(req, ev, rv, detail);
}

void
flow_refuse(struct front_req *req, int rv, const char *detail)
{
	flow_refusal(req, rv, detail);
	front_error(req, rv, detail);
}

/* --- the start --- */

static void flow_finish(struct front_req *);
static void flow_session_found(void *, int,
    const struct store_session_found *);

void
flow_authorize(struct front_req *req)
{
	char	*cookie;
	int	 rv;

	if ((rv = front_gate(req, req->t, req->t->login, FLOW_GATE_ALL)) !=
	    BK_OK) {
		if (rv == BK_E_TENANT_SSO_OFF)
			(void)front_audit(req, "authorize", rv, NULL);
		front_error(req, rv, req->t->login == CONF_LOGIN_OIDC ?
		    "OIDC sign-in is not available" : NULL);
		return;
	}
	if ((cookie = flow_session_cookie(req)) == NULL) {
		flow_login(req);
		return;
	}
	/* Kept (never set back): a consent transaction is bound to it. */
	bk_strfree_secret(req->fl.session);
	req->fl.session = cookie;
	store_session_authz(front_req_store(req), req->t->id, cookie,
	    req->fl.client_id, flow_session_found, req);
}

/* Sign in once: a valid session skips the upstream. */
static void
flow_session_found(void *arg, int rv, const struct store_session_found *f)
{
	struct front_req *req = arg;

	if (rv != BK_OK) {
		flow_store_failed(req, rv);
		return;
	}
	if (!f->found || f->sess.exp <= bk_now()) {
		/* expired, revoked, or the mapping changed */
		flow_login(req);
		return;
	}
	front_set_str(&req->fl.user, f->sess.user);
	front_set_str(&req->fl.sfdc_key, f->sess.sfdc_key);
	front_set_str(&req->fl.issuer, f->sess.issuer);
	front_set_str(&req->fl.internal_id, f->prof.internal_id);
	front_set_str(&req->fl.extension, f->prof.extension);
	req->fl.sess_exp = f->sess.exp;
	req->fl.consent_needed = flow_policy_consent(req->t, f->consent);
	flow_set_gen(req, f->gen);
	flow_finish(req);
}

void
flow_login(struct front_req *req)
{
	switch (req->t->login) {
	case CONF_LOGIN_SAML:
		front_saml_start(req);
		return;
	case CONF_LOGIN_OIDC:
		front_oidc_start(req);
		return;
	}
	front_error(req, BK_E_TENANT_LOGIN_MODE, NULL);
}

static void flow_request_kept(void *, int);

/* A request's purpose, kept with it: the console's (front_console_sso.c). */
static char flow_purpose_console[] = "console";

/*
 * The upstream request rid, bound to this browser through the
 * correlation cookie (P09), for FRONT_AUTHN_TTL.  The cookie's value is
 * minted here every time, never taken from the request: a value an
 * attacker planted (or chose for his own browser) would let him bind his
 * sign-in to the victim's browser (login CSRF, issue 6).  A second
 * sign-in started in another tab of the same browser replaces it.
 */
void
flow_request(struct front_req *req, const struct rec_signin *up,
    const char *url)
{
	struct rec_signin	 r;
	char			 bind[BK_DIGEST_HEX + 1];

	bk_strfree_secret(req->fl.corr);
	req->fl.corr = NULL;
	if (bk_token_new_dup(&req->fl.corr) != BK_OK) {
		front_error(req, BK_E_RANDOM, NULL);
		return;
	}
	if ((req->aux = bk_strdup(url)) == NULL) {
		front_error(req, BK_E_NOMEM, NULL);
		return;
	}
	req->aux_free = free;
	bk_sha256_hex(req->fl.corr, strlen(req->fl.corr), bind);
	r = *up;
	r.bind = bind;
	r.client_id = req->fl.client_id;
	r.redirect_uri = req->fl.redirect_uri;
	r.state = req->fl.state;
	r.challenge = req->fl.challenge;
	r.purpose = req->fl.console ? flow_purpose_console : NULL;
	store_signin_put(front_req_store(req), req->t->id, &r, FRONT_AUTHN_TTL,
	    flow_request_kept, req);
}

static void
flow_request_kept(void *arg, int rv)
{
	struct front_req *req = arg;
	char		 name[FRONT_COOKIE_NAMEBUF];

	if (rv != BK_OK) {
		flow_store_failed(req, rv);
		return;
	}
	front_cookie_name(req, FRONT_COOKIE_CORR, NULL, name, sizeof(name));
	front_cookie_set(req, name, req->fl.corr, FRONT_AUTHN_TTL, "None");
	front_redirect(req, 302, req->aux);
}

/* --- the verified identity --- */

/* The panel's request a sign-in started with, if it had one. */
static void
flow_set_request(struct front_req *req, const struct rec_signin *r)
{
	if (r->client_id == NULL)
		return;
	front_set_str(&req->fl.client_id, r->client_id);
	front_set_str(&req->fl.redirect_uri, r->redirect_uri);
	front_set_str(&req->fl.state, r->state);
	front_set_str(&req->fl.challenge, r->challenge);
}

static void flow_decided(void *, int, const struct store_decision *);

static void
flow_note_str(char **dst, const char *v)
{
	if (v != NULL)
		front_set_str(dst, v);
}

void
flow_note(struct front_req *req, const struct flow_facts *f)
{
	struct front_flow	*fl = &req->fl;

	flow_note_str(&fl->issuer, f->issuer);
	flow_note_str(&fl->name_id, f->name_id);
	flow_note_str(&fl->user, f->user);
	flow_note_str(&fl->assertion_id, f->proof_id);
	flow_note_str(&fl->issue_instant, f->issue_instant);
	flow_note_str(&fl->authn_instant, f->authn_instant);
	flow_note_str(&fl->session_index, f->session_index);
	flow_note_str(&fl->sig_alg, f->sig_alg);
	flow_note_str(&fl->digest_alg, f->digest_alg);
	flow_note_str(&fl->cert_fp, f->cert_fp);
	flow_note_str(&fl->key_id, f->key_id);
	flow_note_str(&fl->request_id, f->in_response_to);
}

/* What the flow and the audit keep of the identity (it is borrowed). */
static void
flow_keep_identity(struct front_req *req, const struct flow_identity *id)
{
	req->fl.upstream = id->upstream;
	req->fl.event = id->event;
	req->fl.replay_rv = id->replay_rv;
	req->fl.request_rv = id->request_rv;
	front_set_str(&req->fl.issuer, id->issuer);
	front_set_str(&req->fl.assertion_id, id->proof_id);
	front_set_str(&req->fl.user, id->username);
	front_set_str(&req->fl.sfdc_key, id->sfdc_key);
	front_set_str(id->upstream == CONF_LOGIN_OIDC ? &req->fl.key_id :
	    &req->fl.cert_fp, id->key_id);
	front_set_str(&req->fl.request_id, id->request != NULL ?
	    id->request->rid : id->request_id);
	if (id->request != NULL)
		flow_set_request(req, id->request);
}

void
flow_signin(struct front_req *req, const struct flow_identity *id)
{
	struct store_decide_in	 in;
	struct bk_buf		 proof;
	char			*corr, bind[BK_DIGEST_HEX + 1] = "";
	enum flow_gate		 g = FLOW_GATE_ALL;
	int			 rv, console;

	flow_keep_identity(req, id);
	/*
	 * A console sign-in passes with SSO off (an admin may be about to
	 * switch it on).  Whether a SAML request opened the console is known
	 * once the store has it: SSO is then checked on its decision.
	 */
	console = id->request != NULL && id->request->purpose != NULL &&
	    strcmp(id->request->purpose, "console") == 0;
	if (console || (id->request == NULL && id->request_id != NULL))
		g = FLOW_GATE_LOGIN;
	if ((rv = front_gate(req, req->t, id->upstream, g)) != BK_OK) {
		flow_refuse(req, rv, NULL);
		return;
	}
	req->fl.sess_exp = bk_now() + req->t->policy.session_ttl;
	if (id->sess_max != 0 && id->sess_max < req->fl.sess_exp)
		req->fl.sess_exp = id->sess_max;	/* P28 */
	if ((corr = flow_corr_cookie(req)) != NULL) {
		bk_sha256_hex(corr, strlen(corr), bind);
		bk_strfree_secret(corr);
	} else if (id->request_id != NULL && id->request == NULL) {
		/* Spent (Back, reload) or never started here. */
		flow_refuse_spent(req, id->request_rv,
		    "no sign-in started in this browser");
		return;
	}
	bk_buf_init(&proof, 4096);
	if (req->fl.sfdc_key == NULL || (id->issuer != NULL &&
	    req->fl.issuer == NULL) || bk_buf_addf(&proof, "%s\n%s",
	    id->issuer ? id->issuer : "", id->proof_id) != BK_OK) {
		bk_buf_free(&proof);
		front_error(req, BK_E_NOMEM, NULL);
		return;
	}
	memset(&in, 0, sizeof(in));
	in.tenant = req->t->id;
	in.proof = proof.data;
	/* The proof stays refused until it expires, plus the skew (P20). */
	in.proof_ttl = (long)(id->proof_exp - bk_now()) + id->proof_skew;
	in.request_id = id->request == NULL ? id->request_id : NULL;
	in.bind = bind;
	in.sfdc_key = req->fl.sfdc_key;
	in.client_id = req->t->panel.client_id;
	in.console = console;
	store_decide(front_req_store(req), &in, flow_decided, req);
	bk_buf_free(&proof);
}

/* The panel's request the sign-in answers; none: it ends at the panel. */
static void
flow_take_request(struct front_req *req, const struct store_decision *d)
{
	if (d->has_request)
		flow_set_request(req, &d->request);
	req->fl.idp_initiated = req->fl.client_id == NULL ||
	    req->fl.redirect_uri == NULL;
	if (req->fl.idp_initiated) {
		free(req->fl.client_id);
		req->fl.client_id = NULL;
	}
}

static void
flow_decided(void *arg, int rv, const struct store_decision *d)
{
	struct front_req *req = arg;

	if (rv != BK_OK) {
		/* Fail closed: no replay check, no sign-in (P23). */
		flow_refuse(req, rv, NULL);
		return;
	}
	if (d->verdict == STORE_DECIDE_CONSOLE) {
		front_console_signin(req);
		return;
	}
	if ((rv = front_gate(req, req->t, req->fl.upstream, FLOW_GATE_SSO)) !=
	    BK_OK) {
		flow_refuse(req, rv, NULL);
		return;
	}
	switch (d->verdict) {
	case STORE_DECIDE_REPLAY:
		flow_refuse_spent(req, req->fl.replay_rv, NULL);
		return;
	case STORE_DECIDE_REQUEST:
		flow_refuse_spent(req, req->fl.request_rv,
		    "InResponseTo unknown, used, or issued to another browser");
		return;
	case STORE_DECIDE_UNMAPPED:
		flow_refuse(req, BK_E_POL_UNMAPPED, NULL);
		return;
	case STORE_DECIDE_OK:
	case STORE_DECIDE_CONSOLE:
		break;
	}
	front_set_str(&req->fl.internal_id, d->prof.internal_id);
	front_set_str(&req->fl.extension, d->prof.extension);
	flow_take_request(req, d);
	req->fl.consent_needed = flow_policy_consent(req->t, d->consent);
	/* The generation read with the mapping: a revocation since voids. */
	flow_set_gen(req, d->gen);
	if ((rv = front_audit(req, req->fl.event, BK_OK, NULL)) != BK_OK) {
		/* fail closed: no session without a record */
		front_error(req, rv, NULL);
		return;
	}
	log_fields(LOG_L_INFO, flow_log_fields(req, req->fl.event), 0,
	    "%s accepted", req->fl.event);
	bk_strfree_secret(req->fl.session);
	req->fl.session = NULL;
	if (bk_token_new_dup(&req->fl.session) != BK_OK) {
		front_error(req, BK_E_RANDOM, NULL);
		return;
	}
	req->fl.new_session = 1;
	flow_finish(req);
}

/* --- what is issued --- */

/* The audit event of what flow_finish was about to issue. */
static const char *
flow_event(const struct front_req *req)
{
	if (req->fl.consent_needed)
		return "consent";
	return req->fl.idp_initiated ? "authorize" : "code_issued";
}

/* The pending authorization's record (code or consent transaction). */
static void
flow_grant_rec(struct front_req *req, struct rec_grant *g,
    char sess[BK_DIGEST_HEX + 1])
{
	memset(g, 0, sizeof(*g));
	g->tenant = req->fl.tenant;
	g->internal_id = req->fl.internal_id;
	g->user = req->fl.user;
	g->sfdc_key = req->fl.sfdc_key;
	g->extension = req->fl.extension;
	g->client_id = req->fl.client_id;
	g->redirect_uri = req->fl.redirect_uri;
	g->challenge = req->fl.challenge;
	g->state = req->fl.state;
	if (req->fl.session != NULL) {
		/* The Allow page is bound to this browser's session. */
		bk_sha256_hex(req->fl.session, strlen(req->fl.session), sess);
		g->sess = sess;
	}
	g->sess_exp = req->fl.sess_exp;
	g->idp_init = req->fl.idp_initiated;
	snprintf(g->gen, sizeof(g->gen), "%s", req->fl.gen);
}

static void
flow_session_rec(struct front_req *req, struct rec_session *r)
{
	memset(r, 0, sizeof(*r));
	r->internal_id = req->fl.internal_id;
	r->user = req->fl.user;
	r->sfdc_key = req->fl.sfdc_key;
	r->issuer = req->fl.issuer;
	r->assertion_id = req->fl.assertion_id;
	r->exp = req->fl.sess_exp;
	snprintf(r->gen, sizeof(r->gen), "%s", req->fl.gen);
	if (req->fl.upstream == CONF_LOGIN_SAML) {
		/* what single logout names (front_slo.c) */
		r->name_id = req->fl.name_id;
		r->nid_format = req->fl.nid_format;
		r->nid_nq = req->fl.nid_nq;
		r->nid_spnq = req->fl.nid_spnq;
		r->session_index = req->fl.session_index;
	}
}

/* The grant to issue: a consent transaction, a code, or none. */
static int
flow_grant_secret(struct front_req *req, struct store_issue_in *in)
{
	char	**secret;

	if (req->fl.consent_needed) {
		in->grant = STORE_GRANT_CONSENT;
		in->grant_ttl = FRONT_CONSENT_TX_TTL;
		secret = &req->fl.tx;
	} else if (!req->fl.idp_initiated) {
		in->grant = STORE_GRANT_CODE;
		in->grant_ttl = req->t->policy.code_ttl;
		secret = &req->fl.code;
	} else
		return BK_OK;
	if (bk_token_new_dup(secret) != BK_OK)
		return BK_E_RANDOM;
	in->grant_secret = *secret;
	return BK_OK;
}

static void flow_issued(void *, int);

/*
 * Store what the sign-in produced (new browser session, code or consent
 * transaction, remembered consent) in one atomic step, then answer.  The
 * step refuses if the user was revoked since the flow read the user's
 * generation.  The session cookie and the redirect go out only after
 * Redis said OK.
 */
static void
flow_finish(struct front_req *req)
{
	struct store_issue_in	 in;
	struct rec_session	 sess;
	struct rec_grant	 grant;
	char			 sdig[BK_DIGEST_HEX + 1];
	int			 rv;

	if (front_gate(req, req->t, req->t->login, FLOW_GATE_SSO) != BK_OK) {
		/* Switched off (SIGHUP) while this sign-in was under way. */
		(void)front_audit(req, "authorize", BK_E_TENANT_SSO_OFF, NULL);
		front_error(req, BK_E_TENANT_SSO_OFF, NULL);
		return;
	}
	if (req->fl.sess_exp <= bk_now()) {
		front_error(req, BK_E_SAML_EXPIRED, "session already expired");
		return;
	}
	if (req->fl.idp_initiated && req->fl.client_id == NULL)
		front_set_str(&req->fl.client_id, req->t->panel.client_id);
	memset(&in, 0, sizeof(in));
	in.tenant = req->t->id;
	in.internal_id = req->fl.internal_id;
	in.gen = req->fl.gen;
	if (req->fl.new_session) {
		flow_session_rec(req, &sess);
		in.session = req->fl.session;
		in.sess = &sess;
		in.sess_ttl = (long)(req->fl.sess_exp - bk_now());
	}
	if (req->fl.allow && req->t->policy.consent != CONF_CONSENT_ALWAYS) {
		in.remember_client = req->fl.client_id;
		in.remember_ttl = FRONT_CONSENT_TTL;
	}
	if ((rv = flow_grant_secret(req, &in)) != BK_OK) {
		front_error(req, rv, NULL);
		return;
	}
	front_set_str(&req->fl.tenant, req->t->id);
	flow_grant_rec(req, &grant, sdig);
	in.grant_rec = &grant;
	store_issue(front_req_store(req), &in, flow_issued, req);
}

/* Cookies of a new browser session; the correlation cookie is spent. */
static void
flow_cookies(struct front_req *req)
{
	char	 name[FRONT_COOKIE_NAMEBUF];

	if (!req->fl.new_session)
		return;
	front_cookie_name(req, FRONT_COOKIE_SESSION, req->t->id, name,
	    sizeof(name));
	front_cookie_set(req, name, req->fl.session,
	    (int)(req->fl.sess_exp - bk_now()), "Lax");
	if (req->fl.request_id != NULL) {
		front_cookie_name(req, FRONT_COOKIE_CORR, NULL, name,
		    sizeof(name));
		front_cookie_clear(req, name, "None");
	}
}

/* A redirect to base + path (+ one parameter); 303 after a POST. */
static void
flow_redirect(struct front_req *req, int status, const char *base,
    const char *path, const char *k, const char *v)
{
	struct bk_buf	 b;
	char		*url = NULL;

	bk_buf_init(&b, 8192);
	if (bk_buf_addf(&b, "%s%s", base, path) == BK_OK)
		url = front_url_add(b.data, k, v, NULL, NULL, NULL, NULL);
	bk_buf_free(&b);
	if (url == NULL)
		front_error(req, BK_E_NOMEM, NULL);
	else
		front_redirect(req, status, url);
	bk_strfree_secret(url);
}

/*
 * Without a panel request: the panel starts its own authorization
 * (OIDC 4), or the person lands on the result page, by redirect, so a
 * reload never posts the SAMLResponse again.
 */
static void
flow_idp_initiated(struct front_req *req)
{
	struct bk_buf	 b;

	if (req->t->panel.initiate_login_uri != NULL) {
		flow_redirect(req, 303, req->t->panel.initiate_login_uri, "",
		    "iss", req->f->conf->public_url);
		return;
	}
	bk_buf_init(&b, 512);
	if (bk_buf_addf(&b, "/t/%s/signed-in", req->t->id) != BK_OK) {
		bk_buf_free(&b);
		front_error(req, BK_E_NOMEM, NULL);
		return;
	}
	flow_redirect(req, 303, req->f->conf->public_url, b.data, NULL, NULL);
	bk_buf_free(&b);
}

static void
flow_issued(void *arg, int rv)
{
	struct front_req *req = arg;
	struct bk_buf	 b;
	char		*url;

	if (rv == BK_E_OAUTH_REVOKED) {
		(void)front_audit(req, flow_event(req), rv,
		    "the user was revoked while signing in");
		front_error(req, rv, NULL);
		return;
	}
	if (rv != BK_OK) {
		flow_store_failed(req, rv);
		return;
	}
	flow_cookies(req);
	if (req->fl.consent_needed) {
		bk_buf_init(&b, 512);
		if (bk_buf_addf(&b, "/t/%s/consent", req->t->id) == BK_OK)
			flow_redirect(req, 303, req->f->conf->public_url,
			    b.data, "tx", req->fl.tx);
		else
			front_error(req, BK_E_NOMEM, NULL);
		bk_buf_free(&b);
		return;
	}
	if (req->fl.idp_initiated) {
		flow_idp_initiated(req);
		return;
	}
	if ((rv = front_audit(req, "code_issued", BK_OK, NULL)) != BK_OK) {
		/* The code is never handed out; it expires unused. */
		front_error(req, rv, NULL);
		return;
	}
	url = front_url_add(req->fl.redirect_uri, "code", req->fl.code, "state",
	    req->fl.state, "iss", req->f->conf->public_url);
	if (url == NULL)
		front_error(req, BK_E_NOMEM, NULL);
	else
		front_redirect(req, req->route == MR_AUTHORIZE ? 302 : 303,
		    url);
	bk_strfree_secret(url);
}

/* --- consent --- */

/*
 * Deny (here or at the upstream): audited, and the panel hears
 * access_denied (RFC 6749 4.1.2.1); without a panel request, a page.
 */
void
flow_deny(struct front_req *req, int reason, const char *detail)
{
	char	*url;
	int	 rv;

	if ((rv = front_audit(req, "consent", reason, detail)) != BK_OK) {
		front_error(req, rv, NULL);
		return;
	}
	if (req->fl.idp_initiated || req->fl.redirect_uri == NULL) {
		front_error(req, reason, NULL);
		return;
	}
	url = front_url_add(req->fl.redirect_uri, "error", "access_denied",
	    "state", req->fl.state, "iss", req->f->conf->public_url);
	if (url == NULL)
		front_error(req, BK_E_NOMEM, NULL);
	else
		front_redirect(req, 303, url);
	free(url);
}

void
flow_consent(struct front_req *req, int allow)
{
	int	 rv;

	if (!allow) {
		flow_deny(req, BK_E_OAUTH_ACCESS_DENIED, "user chose Deny");
		return;
	}
	if ((rv = front_audit(req, "consent", BK_OK, "user chose Allow")) !=
	    BK_OK) {
		front_error(req, rv, NULL);
		return;
	}
	/*
	 * The remembered decision is written with the code, in one step that
	 * a revocation since the page was opened refuses.
	 */
	req->fl.allow = 1;
	req->fl.consent_needed = 0;
	flow_finish(req);
}

/* --- where the person stands --- */

static void flow_standing(void *, int, const struct store_session_found *);

/* Look up the browser's session; flow_standing answers. */
static void
flow_stand(struct front_req *req, int rv, const char *detail)
{
	char	*cookie;

	req->fl.spent_rv = rv;
	front_set_str(&req->fl.spent_detail, detail);
	if ((cookie = flow_session_cookie(req)) == NULL) {
		front_error(req, rv, detail);
		return;
	}
	store_session_authz(front_req_store(req), req->t->id, cookie,
	    req->t->panel.client_id, flow_standing, req);
	bk_strfree_secret(cookie);
}

static void
flow_standing(void *arg, int rv, const struct store_session_found *f)
{
	struct front_req *req = arg;

	if (rv == BK_OK && f->found && f->sess.exp > bk_now())
		front_page_signed_in(req, req->fl.spent_rv == BK_OK ? 200 :
		    bk_err_http(req->fl.spent_rv), f->sess.user);
	else
		front_error(req, req->fl.spent_rv == BK_OK ?
		    BK_E_HTTP_NOCOOKIE : req->fl.spent_rv,
		    req->fl.spent_detail);
}

void
flow_spent(struct front_req *req, int rv, const char *detail)
{
	flow_stand(req, rv, detail);
}

void
flow_refuse_spent(struct front_req *req, int rv, const char *detail)
{
	flow_refusal(req, rv, detail);
	flow_stand(req, rv, detail);
}

void
flow_signed_in(struct front_req *req)
{
	flow_stand(req, BK_OK, "no single sign-on session in this browser");
}
