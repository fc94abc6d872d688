/*
 * sso-broker: the sign-in flow, the same for every upstream.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * An upstream (the SAML ACS, the OAuth callback) verifies the person and
 * hands the flow a struct flow_identity; from there the flow does the
 * rest, in this order: the tenant's gate (SSO on, this way in), the
 * store's decision (replay, the sign-in request bound to this browser,
 * the username -> profile lookup, the user's revocation generation), the
 * audit record, a new browser session, consent or a one-time code, and
 * the answer (a redirect, or a page from front_page.c).  Its per-tenant
 * decisions are the pure functions of flow_policy.c.
 * Trust: the identity is verified; everything else in the request is not.
 */
#ifndef BK_FLOW_H
#define BK_FLOW_H

#include <time.h>

#include "conf.h"
#include "rec.h"

struct front_req;

/* What an upstream proved, and what the flow and the audit need of it. */
struct flow_identity {
	enum conf_login	 upstream;	/* which way in verified it */
	const char	*event;		/* audit event: "assertion", ... */
	const char	*username;	/* the Salesforce username */
	const char	*sfdc_key;	/* its lookup key (pol_sfdc_key) */
	const char	*issuer;
	const char	*proof_id;	/* assertion ID, ID token jti */
	const char	*key_id;	/* certificate fingerprint or kid */
	/*
	 * The request it answers: its ID (InResponseTo), for the store to
	 * check against this browser and consume with the decision; or, for
	 * an upstream that had to consume it first (OAuth: the state before
	 * the code exchange), the request itself, already checked.  Neither:
	 * unsolicited.
	 */
	const char	*request_id;
	const struct rec_signin *request;
	time_t		 proof_exp;	/* the proof is refused again until */
	int		 proof_skew;	/* ... plus this many seconds */
	time_t		 sess_max;	/* the session's upper bound, 0 none */
	/* the upstream's codes: proof used before, request not ours */
	int		 replay_rv, request_rv;
};

/*
 * What the audit records of an upstream's proof besides the identity:
 * verified, or, on a refusal, as claimed (what was read before the check
 * that failed).  All borrowed; NULL leaves the field as it was.
 */
struct flow_facts {
	const char	*issuer;
	const char	*name_id;	/* NameID, or the ID token's sub */
	const char	*user;		/* the Salesforce username */
	const char	*proof_id;	/* assertion ID, ID token digest */
	const char	*issue_instant, *authn_instant, *session_index;
	const char	*sig_alg, *digest_alg;
	const char	*cert_fp;	/* SAML: the verifying certificate */
	const char	*key_id;	/* OpenID Connect: the kid */
	const char	*in_response_to;
};

/*
 * Pure per-tenant decisions (flow_policy.c), unit-tested.  The gate a
 * route passes: FLOW_GATE_SSO (SSO is on), FLOW_GATE_LOGIN (the tenant
 * signs in this way, and is set up for it) or both, in that order.
 */
enum flow_gate { FLOW_GATE_LOGIN = 1, FLOW_GATE_SSO = 2, FLOW_GATE_ALL = 3 };
/**
 * @param sso_on	the switch in force (front_sso_in_force(): an admin's
 *			value in Redis, else the file's starting value).
 * @return BK_OK, BK_E_TENANT_LOGIN_MODE or BK_E_TENANT_SSO_OFF.
 */
int	flow_policy_gate(const struct conf_tenant *t, int sso_on,
	    enum conf_login upstream, enum flow_gate g);
/** Whether the Allow page is shown, given a remembered "Allow". */
int	flow_policy_consent(const struct conf_tenant *t, int remembered);

/**
 * Start a sign-in at the tenant's upstream for req (req->fl holds the
 * panel's request, if any): a valid browser session skips the upstream.
 */
void	flow_authorize(struct front_req *req);
/** Straight to the upstream, without looking for a session. */
void	flow_login(struct front_req *req);
/**
 * Keep the upstream request up (its rid, and what the upstream needs
 * back: nonce digest, PKCE verifier), bound to this browser by a new
 * correlation cookie and joined by the panel's request, and send the
 * browser to url.
 */
void	flow_request(struct front_req *req, const struct rec_signin *up,
	    const char *url);
/** Keep f for the request's audit records (copied into req->fl). */
void	flow_note(struct front_req *req, const struct flow_facts *f);
/** The upstream's verified identity: everything after, answered. */
void	flow_signin(struct front_req *req, const struct flow_identity *id);
/**
 * Refuse the sign-in: logged, audited (req->fl.event, "assertion" until
 * an upstream set it) and answered with rv's page.
 */
void	flow_refuse(struct front_req *req, int rv, const char *detail);
/** The same, for a step the browser may have come Back to (flow_spent). */
void	flow_refuse_spent(struct front_req *req, int rv, const char *detail);
/**
 * The person said no (reason: the broker's Allow page, or the upstream's):
 * audited as "consent", the panel sent error=access_denied.
 */
void	flow_deny(struct front_req *req, int reason, const char *detail);
/** A loaded consent transaction's decision (1 Allow, 0 Deny). */
void	flow_consent(struct front_req *req, int allow);
/**
 * The browser came back to a spent step (the consent page or the ACS,
 * after Back): with a valid session for this tenant, say so and link to
 * the panel; otherwise answer rv as an error.
 */
void	flow_spent(struct front_req *req, int rv, const char *detail);
/** The browser's session cookie for req->t, returned-owned, or NULL. */
char	*flow_session_cookie(struct front_req *req);
/** GET /t/<tenant>/signed-in: where the person stands. */
void	flow_signed_in(struct front_req *req);

#endif /* BK_FLOW_H */
