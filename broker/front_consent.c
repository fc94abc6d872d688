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
 * consumed with GETDEL, so a decision counts once.
 * Trust: tx, csrf, decision and the headers are untrusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>

#include "front_int.h"
#include "log.h"

static char	*front_consent_panel_origins(const struct conf_tenant *);

static char *
front_consent_session(struct front_req *req)
{
	char	 name[FRONT_COOKIE_NAMEBUF];

	front_cookie_name(req, FRONT_COOKIE_SESSION, req->t->id, name,
	    sizeof(name));
	return front_cookie_get(req, name);
}

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

/* Load the flow fields from a consent record; checks the browser binding. */
static int
front_consent_load(struct front_req *req, const char *s, size_t len,
    const char *session)
{
	json_t		*o;
	json_error_t	 err;
	char		 d[BK_DIGEST_HEX + 1];
	const char	*sess, *g;
	int		 rv = BK_E_HTTP_NOCOOKIE;

	if ((o = json_loadb(s, len, 0, &err)) == NULL)
		return BK_E_STORE_RECORD;
	sess = json_string_value(json_object_get(o, "sess"));
	if (session != NULL && sess != NULL) {
		bk_sha256_hex(session, strlen(session), d);
		if (bk_ct_eq(d, BK_DIGEST_HEX, sess, strlen(sess)))
			rv = BK_OK;
	}
	if (rv == BK_OK) {
		front_set_str(&req->fl.internal_id,
		    json_string_value(json_object_get(o, "internal_id")));
		front_set_str(&req->fl.user,
		    json_string_value(json_object_get(o, "user")));
		front_set_str(&req->fl.extension,
		    json_string_value(json_object_get(o, "extension")));
		front_set_str(&req->fl.client_id,
		    json_string_value(json_object_get(o, "client_id")));
		front_set_str(&req->fl.redirect_uri,
		    json_string_value(json_object_get(o, "redirect_uri")));
		front_set_str(&req->fl.state,
		    json_string_value(json_object_get(o, "state")));
		front_set_str(&req->fl.challenge,
		    json_string_value(json_object_get(o, "challenge")));
		req->fl.sess_exp =
		    (time_t)json_integer_value(json_object_get(o, "sess_exp"));
		req->fl.idp_initiated =
		    json_is_true(json_object_get(o, "idp_init"));
		g = json_string_value(json_object_get(o, "gen"));
		front_flow_set_gen(req, g, g ? strlen(g) : 0);
		if (req->fl.internal_id == NULL || req->fl.user == NULL ||
		    req->fl.client_id == NULL ||
		    (!req->fl.idp_initiated && req->fl.redirect_uri == NULL))
			rv = BK_E_STORE_RECORD;
	}
	json_decref(o);
	return rv;
}

static void
front_consent_page_cb(struct front_req *req, int rv,
    const struct store_reply *r)
{
	const char	*s, *tx = front_param(&req->q, "tx");
	size_t		 len;
	char		*u = NULL, *e = NULL, *body = NULL, *session;
	char		 csrf[BK_TOKEN_LEN + 1];
	struct bk_buf	 b;

	if (rv != BK_OK) {
		front_error(req, rv == BK_E_STORE_REPLY ? BK_E_STORE_DOWN : rv,
		    NULL);
		return;
	}
	if ((s = store_reply_str(r, &len)) == NULL) {
		front_error(req, BK_E_HTTP_NOCOOKIE,
		    "consent transaction expired");
		return;
	}
	session = front_consent_session(req);
	rv = front_consent_load(req, s, len, session);
	if (rv == BK_OK)
		rv = front_consent_csrf(tx, session, csrf);
	bk_strfree_secret(session);
	if (rv != BK_OK) {
		front_error(req, rv, NULL);
		return;
	}
	u = front_html_esc(req->fl.user);
	e = front_html_esc(req->fl.extension ? req->fl.extension : "-");
	bk_buf_init(&b, 16384);
	/* tx and csrf are base64url: nothing to escape. */
	if (u && e && bk_buf_addf(&b,
	    "<p><b>%s</b> is signing in to the communication panel on "
	    "extension "
	    "<b>%s</b> with Salesforce single sign-on.</p>"
	    "<p>Allow the communication panel to sign you in with your "
	    "Salesforce "
	    "account?</p>"
	    "<form method=\"post\" action=\"/t/%s/consent\">"
	    "<input type=\"hidden\" name=\"tx\" value=\"%s\">"
	    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
	    "<button class=\"allow\" type=\"submit\" name=\"decision\" "
	    "value=\"allow\">Allow</button>"
	    "<button class=\"deny\" type=\"submit\" name=\"decision\" "
	    "value=\"deny\">Deny</button>"
	    "</form>", u, e, req->t->id, tx, csrf) == BK_OK)
		body = bk_buf_take(&b);
	bk_buf_free(&b);
	/* Allow and Deny end with a redirect to the panel: list its origins. */
	req->form_action = front_consent_panel_origins(req->t);
	req->referrer = "same-origin";
	if (body == NULL)
		front_error(req, BK_E_NOMEM, NULL);
	else
		front_page(req, 200,
		    "Allow single sign-on to the communication panel?", body);
	free(u);
	free(e);
	bk_freezero(body, body ? strlen(body) : 0);
}

/* "scheme://host[:port]" of url (libevent's URI parser), appended to b. */
static void
front_origin_add(struct bk_buf *b, const char *url)
{
	struct evhttp_uri	*u;
	const char		*scheme, *host;
	int			 port;

	if (url == NULL || (u = evhttp_uri_parse(url)) == NULL)
		return;
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	port = evhttp_uri_get_port(u);
	if (scheme != NULL && host != NULL) {
		char	 o[600], *hit;
		size_t	 ol;

		if (port > 0)
			snprintf(o, sizeof(o), " %s://%s:%d", scheme, host,
			    port);
		else
			snprintf(o, sizeof(o), " %s://%s", scheme, host);
		ol = strlen(o);
		/* Each origin once (several redirect URIs share one). */
		hit = b->data ? strstr(b->data, o) : NULL;
		while (hit != NULL && hit[ol] != ' ' && hit[ol] != '\0')
			hit = strstr(hit + 1, o);
		if (hit == NULL)
			bk_buf_add(b, o, ol);
	}
	evhttp_uri_free(u);
}

/* The panel's origins (redirect URIs, initiate_login_uri), space separated. */
static char *
front_consent_panel_origins(const struct conf_tenant *t)
{
	struct bk_buf	 b;
	size_t		 i;

	bk_buf_init(&b, 1024);
	for (i = 0; i < t->panel.n_redirect_uris; i++)
		front_origin_add(&b, t->panel.redirect_uris[i]);
	front_origin_add(&b, t->panel.initiate_login_uri);
	if (b.len == 0) {
		bk_buf_free(&b);
		return NULL;
	}
	memmove(b.data, b.data + 1, b.len);	/* the leading space */
	return bk_buf_take(&b);
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
 * SSO switched off (SIGHUP) while the page was open: an outstanding
 * transaction yields no code (issue 6).
 */
static int
front_consent_sso_off(struct front_req *req)
{
	if (req->t->sso_enabled)
		return 0;
	front_audit(req, "consent", BK_E_TENANT_SSO_OFF, NULL);
	front_error(req, BK_E_TENANT_SSO_OFF, NULL);
	return 1;
}

void
front_consent_get(struct front_req *req)
{
	const char	*tx = front_param(&req->q, "tx");
	char		*key;
	const char	*argv[2];

	if (!front_tx_ok(tx)) {
		front_error(req, BK_E_HTTP_BADPARAM, "tx");
		return;
	}
	if (front_consent_sso_off(req))
		return;
	if ((key = store_key_digest(req->t->id, "ctx", tx)) == NULL) {
		front_error(req, BK_E_NOMEM, NULL);
		return;
	}
	argv[0] = "GET";
	argv[1] = key;
	front_store(req, front_consent_page_cb, 2, argv, NULL);
	free(key);
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

/* Deny: audited, and the panel hears access_denied (RFC 6749 4.1.2.1). */
static void
front_consent_denied(struct front_req *req)
{
	char	*url;
	int	 arv;

	arv = front_audit(req, "consent", BK_E_OAUTH_ACCESS_DENIED,
	    "user chose Deny");
	if (arv != BK_OK) {
		front_error(req, arv, NULL);
		return;
	}
	if (req->fl.idp_initiated || req->fl.redirect_uri == NULL) {
		front_error(req, BK_E_OAUTH_ACCESS_DENIED, NULL);
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

static void
front_consent_decided(struct front_req *req, int rv,
    const struct store_reply *r)
{
	const char	*s, *tx = front_param(&req->form, "tx");
	const char	*csrf = front_param(&req->form, "csrf");
	const char	*dec = front_param(&req->form, "decision");
	size_t		 len;
	char		*session, want[BK_TOKEN_LEN + 1];
	int		 arv;

	if (rv != BK_OK) {
		front_error(req, rv == BK_E_STORE_REPLY ? BK_E_STORE_DOWN : rv,
		    NULL);
		return;
	}
	if ((s = store_reply_str(r, &len)) == NULL) {
		front_audit(req, "consent", BK_E_HTTP_NOCOOKIE,
		    "transaction unknown or used");
		front_error(req, BK_E_HTTP_NOCOOKIE, NULL);
		return;
	}
	session = front_consent_session(req);
	rv = front_consent_load(req, s, len, session);
	if (rv == BK_OK && (front_consent_csrf(tx, session, want) != BK_OK ||
	    !bk_ct_eq(want, strlen(want), csrf, strlen(csrf))))
		rv = BK_E_HTTP_CSRF;
	bk_strfree_secret(session);
	if (rv != BK_OK) {
		front_audit(req, "consent", rv, NULL);
		front_error(req, rv, NULL);
		return;
	}
	if (strcmp(dec, "allow") != 0) {
		front_consent_denied(req);
		return;
	}
	if ((arv = front_audit(req, "consent", BK_OK,
	    "user chose Allow")) != BK_OK) {
		front_error(req, arv, NULL);
		return;
	}
	/*
	 * The remembered decision is written with the code, in one step that
	 * a revocation since the page was opened refuses (store_lua_issue).
	 */
	req->fl.allow = 1;
	req->fl.consent_needed = 0;
	front_flow_finish(req);
}

void
front_consent_post(struct front_req *req)
{
	const char	*tx, *csrf, *dec;
	char		*key;
	const char	*argv[2];
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
	if ((key = store_key_digest(req->t->id, "ctx", tx)) == NULL) {
		front_error(req, BK_E_NOMEM, NULL);
		return;
	}
	argv[0] = "GETDEL";
	argv[1] = key;
	front_store(req, front_consent_decided, 2, argv, NULL);
	free(key);
}
