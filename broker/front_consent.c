/*
 * sso-broker: the Allow page ("Allow single sign-on to the communication
 * panel?").
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The transaction (tx) is a random key to a server-side record bound to
 * the browser session (the record holds the session cookie's digest).
 * The CSRF token is derived, never stored: base64url(SHA-256("csrf" tx
 * session-cookie)), so only a page rendered for this browser can carry it
 * (a double-submit token keyed by the HttpOnly session cookie).  The POST
 * must also pass Fetch Metadata (Sec-Fetch-Site: same-origin) or, without
 * it, an Origin or Referer of our public origin (OWASP CSRF cheat sheet;
 * SECURITY-CASES T12).  The page is never framed (T13).  The record is
 * consumed when the decision is taken, so a decision counts once; the
 * decision itself is the flow's (flow_consent).
 * Trust: tx, csrf, decision and the headers are untrusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front_int.h"
#include "log.h"
#include "store_signin.h"

/* The CSRF token for tx in this browser, into out[BK_TOKEN_LEN+1]. */
static int
front_consent_csrf(const char *tx, const char *session,
    char out[BK_TOKEN_LEN + 1])
{
	struct bk_buf	 b;
	unsigned char	 d[32];
	char		*s;
	int		 rv;

	out[0] = '\0';
	bk_buf_init(&b, 512);
	if ((rv = bk_buf_addf(&b, "csrf\n%s\n%s", tx, session)) != BK_OK) {
		bk_buf_free(&b);
		return rv;
	}
	bk_sha256(b.data, b.len, d);
	bk_buf_free(&b);
	if ((s = bk_b64url_encode(d, sizeof(d))) == NULL)
		return BK_E_NOMEM;
	snprintf(out, BK_TOKEN_LEN + 1, "%s", s);
	bk_strfree_secret(s);
	return BK_OK;
}

/* The flow fields from a consent record, if it is this browser's. */
static int
front_consent_load(struct front_req *req, const struct rec_grant *g,
    const char *session)
{
	char	 d[BK_DIGEST_HEX + 1];

	if (session == NULL || g->sess == NULL)
		return BK_E_HTTP_NOCOOKIE;
	bk_sha256_hex(session, strlen(session), d);
	if (!bk_ct_eq(d, BK_DIGEST_HEX, g->sess, strlen(g->sess)))
		return BK_E_HTTP_NOCOOKIE;
	if (g->client_id == NULL || (!g->idp_init && g->redirect_uri == NULL))
		return BK_E_STORE_RECORD;
	/* the code names its session: a sign-out of it ends the token */
	bk_strfree_secret(req->fl.session);
	req->fl.session = bk_strdup(session);
	front_set_str(&req->fl.internal_id, g->internal_id);
	front_set_str(&req->fl.user, g->user);
	front_set_str(&req->fl.sfdc_key, g->sfdc_key);
	front_set_str(&req->fl.extension, g->extension);
	front_set_str(&req->fl.client_id, g->client_id);
	front_set_str(&req->fl.redirect_uri, g->redirect_uri);
	front_set_str(&req->fl.state, g->state);
	front_set_str(&req->fl.challenge, g->challenge);
	req->fl.sess_exp = g->sess_exp;
	req->fl.idp_initiated = g->idp_init;
	snprintf(req->fl.gen, sizeof(req->fl.gen), "%s", g->gen);
	return BK_OK;
}

static void
front_consent_page_cb(void *arg, int rv, const struct rec_grant *g)
{
	struct front_req *req = arg;
	const char	*tx = front_param(&req->q, "tx");
	char		*session, csrf[BK_TOKEN_LEN + 1];

	if (rv != BK_OK) {
		front_error(req, rv, NULL);
		return;
	}
	if (g == NULL) {
		/* Back to a page already answered: where does it stand? */
		flow_spent(req, BK_E_HTTP_NOCOOKIE,
		    "consent transaction expired");
		return;
	}
	session = flow_session_cookie(req);
	rv = front_consent_load(req, g, session);
	if (rv == BK_OK)
		rv = front_consent_csrf(tx, session, csrf);
	bk_strfree_secret(session);
	if (rv != BK_OK) {
		front_error(req, rv, NULL);
		return;
	}
	front_page_consent(req, req->fl.user, req->fl.extension, tx, csrf);
}

/* A transaction id is one of our tokens: 43 base64url characters. */
static int
front_tx_ok(const char *tx)
{
	size_t	 i;

	if (tx == NULL || strlen(tx) != BK_TOKEN_LEN)
		return 0;
	for (i = 0; i < BK_TOKEN_LEN; i++) {
		char c = tx[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/*
 * SSO switched off (by an admin, or a SIGHUP) while the page was open: an
 * outstanding transaction yields no code (issue 6; issue 10 item 3).
 */
static int
front_consent_sso_off(struct front_req *req)
{
	if (front_sso_in_force(req->f, req->t))
		return 0;
	front_audit(req, "consent", BK_E_TENANT_SSO_OFF, NULL);
	front_error(req, BK_E_TENANT_SSO_OFF, NULL);
	return 1;
}

void
front_consent_get(struct front_req *req)
{
	const char	*tx = front_param(&req->q, "tx");

	if (!front_tx_ok(tx)) {
		front_error(req, BK_E_HTTP_BADPARAM, "tx");
		return;
	}
	if (front_consent_sso_off(req))
		return;
	store_consent_get(front_req_store(req), req->t->id, tx, 0,
	    front_consent_page_cb, req);
}

/* Fetch Metadata first, then Origin, then Referer; none of them: refuse. */
static int
front_consent_same_origin(struct front_req *req)
{
	const char	*sfs = front_header(req, "Sec-Fetch-Site");
	const char	*origin = front_header(req, "Origin");
	const char	*ref = front_header(req, "Referer");
	size_t		 ol = strlen(req->f->origin);

	/*
	 * Sec-Fetch-Site is set by the browser and cannot be forged by a
	 * page; a same-origin POST may still carry "Origin: null" (privacy
	 * settings, or a no-referrer policy).
	 */
	if (sfs != NULL)
		return strcmp(sfs, "same-origin") == 0 &&
		    (origin == NULL || strcmp(origin, "null") == 0 ||
		    strcmp(origin, req->f->origin) == 0);
	if (origin != NULL)
		return strcmp(origin, req->f->origin) == 0;
	if (ref != NULL)
		return strncmp(ref, req->f->origin, ol) == 0 && ref[ol] == '/';
	return 0;
}

static void
front_consent_decided(void *arg, int rv, const struct rec_grant *g)
{
	struct front_req *req = arg;
	const char	*tx = front_param(&req->form, "tx");
	const char	*csrf = front_param(&req->form, "csrf");
	const char	*dec = front_param(&req->form, "decision");
	char		*session, want[BK_TOKEN_LEN + 1];

	if (rv != BK_OK) {
		front_error(req, rv, NULL);
		return;
	}
	if (g == NULL) {
		(void)front_audit(req, "consent", BK_E_HTTP_NOCOOKIE,
		    "transaction unknown or used");
		flow_spent(req, BK_E_HTTP_NOCOOKIE, NULL);
		return;
	}
	session = flow_session_cookie(req);
	rv = front_consent_load(req, g, session);
	if (rv == BK_OK && (front_consent_csrf(tx, session, want) != BK_OK ||
	    !bk_ct_eq(want, strlen(want), csrf, strlen(csrf))))
		rv = BK_E_HTTP_CSRF;
	bk_strfree_secret(session);
	if (rv != BK_OK) {
		(void)front_audit(req, "consent", rv, NULL);
		front_error(req, rv, NULL);
		return;
	}
	flow_consent(req, strcmp(dec, "allow") == 0);
}

void
front_consent_post(struct front_req *req)
{
	const char	*tx, *csrf, *dec;
	int		 rv;

	if ((rv = front_form_parse(req, 4096)) != BK_OK) {
		front_error(req, rv, NULL);
		return;
	}
	if (!front_consent_same_origin(req)) {
		front_audit(req, "consent", BK_E_HTTP_CSRF,
		    "cross-site or origin-less POST");
		front_error(req, BK_E_HTTP_CSRF, NULL);
		return;
	}
	if (front_consent_sso_off(req))
		return;
	tx = front_param(&req->form, "tx");
	csrf = front_param(&req->form, "csrf");
	dec = front_param(&req->form, "decision");
	if (!front_tx_ok(tx) || csrf == NULL || dec == NULL ||
	    (strcmp(dec, "allow") != 0 && strcmp(dec, "deny") != 0)) {
		front_audit(req, "consent", BK_E_HTTP_CSRF,
		    "missing tx, csrf or decision");
		front_error(req,
		    csrf == NULL ? BK_E_HTTP_CSRF : BK_E_HTTP_BADPARAM, NULL);
		return;
	}
	store_consent_get(front_req_store(req), req->t->id, tx, 1,
	    front_consent_decided, req);
}
