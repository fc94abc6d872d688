/*
 * sso-broker: the pages a person sees, rendered in one place.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * One layout (front_page_render()): plain HTML with lang, a title equal to
 * the one heading, inline style only and the request ID agents quote.  An
 * error page is titled by the kind of its reason (front_page_kinds[],
 * chosen by front_page_kind_of()), so a 404 reads "Not found" and a store
 * outage "Service unavailable", while the status, the reason code and the
 * JSON answers stay those of lib/errors.def.  Pages offer the next step
 * ("Sign in again", "Back to the communication panel") only where the
 * configuration says where it goes and it can work: the links are built
 * from public_url and the panel's URIs, never from the request.  Details
 * of a failure go to the log and the audit record only (P35).
 * Trust: every value shown is escaped here; tx and csrf are base64url.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "front_int.h"

/* What an error page says, by kind; the text is HTML already. */
enum front_page_kind {
	FPK_REFUSED,
	FPK_NOT_FOUND,
	FPK_METHOD,
	FPK_BAD_REQUEST,
	FPK_UNAVAILABLE,
	FPK_SSO_OFF,
	FPK_DENIED,
	FPK_EXPIRED
};

static const struct front_page_kind_text {
	const char	*title;
	const char	*next;		/* what the person can do */
	int		 contact;	/* "contact your administrator" */
} front_page_kinds[] = {
	[FPK_REFUSED] = { "Sign-in refused",
	    "Single sign-on could not accept this sign-in.", 1 },
	[FPK_NOT_FOUND] = { "Not found",
	    "There is no page at this address. Check the link, or start "
	    "again from the communication panel.", 0 },
	[FPK_METHOD] = { "Method not allowed",
	    "This address cannot be opened this way. Start again from the "
	    "communication panel.", 0 },
	[FPK_BAD_REQUEST] = { "Bad request",
	    "The request that brought you here was incomplete or malformed. "
	    "Start again from the communication panel.", 1 },
	[FPK_UNAVAILABLE] = { "Service unavailable",
	    "Single sign-on has a temporary problem on our side: try again "
	    "in a moment.", 1 },
	[FPK_SSO_OFF] = { "Single sign-on is not enabled for this account",
	    "Salesforce single sign-on is switched off for this account. "
	    "Ask your account administrator to turn it on.", 0 },
	[FPK_DENIED] = { "Single sign-on was not allowed",
	    "You chose not to let the communication panel sign you in with "
	    "Salesforce. You can sign in again at any time.", 0 },
	[FPK_EXPIRED] = { "This sign-in has expired",
	    "The sign-in took too long, was already used, or was started in "
	    "another browser. Sign in again to start a new one.", 0 },
};

/*
 * Reasons whose kind is not the one of their status or block.  The rest:
 * 404, 405 and 5xx by status; the saml and oidc blocks (and any other 401
 * or 403) are refused sign-ins; any other 4xx is a bad request.
 */
static const struct {
	int			 rv;
	enum front_page_kind	 kind;
} front_page_reasons[] = {
	{ BK_E_TENANT_SSO_OFF,		FPK_SSO_OFF },
	{ BK_E_OAUTH_ACCESS_DENIED,	FPK_DENIED },
	{ BK_E_POL_CONSENT_REQUIRED,	FPK_DENIED },
	{ BK_E_HTTP_NOCOOKIE,		FPK_EXPIRED },
	{ BK_E_SAML_EXPIRED,		FPK_EXPIRED },
	{ BK_E_SAML_REPLAY,		FPK_EXPIRED },
	{ BK_E_SAML_IN_RESPONSE_TO,	FPK_EXPIRED },
	{ BK_E_OAUTH_REVOKED,		FPK_EXPIRED },
	{ BK_E_OIDC_DENIED,		FPK_DENIED },
	{ BK_E_OIDC_AUTHZ_ERROR,	FPK_DENIED },
	{ BK_E_OIDC_STATE,		FPK_EXPIRED },
	{ BK_E_OIDC_REPLAY,		FPK_EXPIRED },
};

static enum front_page_kind
front_page_kind_of(int rv, int status)
{
	size_t	 i;
	int	 block = -rv / 100;

	for (i = 0; i < BK_NELEM(front_page_reasons); i++)
		if (front_page_reasons[i].rv == rv)
			return front_page_reasons[i].kind;
	if (status == 404)
		return FPK_NOT_FOUND;
	if (status == 405)
		return FPK_METHOD;
	if (status >= 500)
		return FPK_UNAVAILABLE;
	if (block == 2 || block == 9 || status == 401 || status == 403)
		return FPK_REFUSED;
	return FPK_BAD_REQUEST;
}

const char *
front_page_error_title(int rv, int status)
{
	return front_page_kinds[front_page_kind_of(rv, status)].title;
}

char *
front_html_esc(const char *s)
{
	return evhttp_htmlescape(s ? s : "");
}

void
front_page_csp(const struct front_req *req, char *buf, size_t size)
{
	/*
	 * form-action also governs where a form's POST may redirect (CSP 2),
	 * so a page whose form ends at the panel lists the panel's origins
	 * (req->form_action).
	 */
	if (req->csp != NULL) {
		snprintf(buf, size, "%s", req->csp);
		return;
	}
	snprintf(buf, size, "default-src 'none'; style-src 'unsafe-inline'; "
	    "form-action 'self'%s%s; frame-ancestors 'none'; base-uri 'none'",
	    req->form_action ? " " : "",
	    req->form_action ? req->form_action : "");
}

/* The layout; next_html (the next-step links) may be NULL. */
static void
front_page_render(struct front_req *req, int status, const char *title,
    const char *body_html, const char *next_html)
{
	struct bk_buf	 b;
	char		*et = front_html_esc(title);

	bk_buf_init(&b, 64 * 1024);
	if (et == NULL ||
	    bk_buf_addf(&b,
	    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">"
	    "<title>%s</title><style>"
	    "body{font-family:system-ui,sans-serif;background:#f4f6f9;"
	    "color:#1b2430;margin:0;display:flex;min-height:100vh;"
	    "align-items:center;justify-content:center}"
	    "main{background:#fff;border-radius:10px;padding:2rem 2.5rem;"
	    "box-shadow:0 2px 12px rgba(0,0,0,.08);max-width:32rem}"
	    "h1{font-size:1.35rem;margin-top:0}"
	    ".meta{color:#5b6675;font-size:.85rem}"
	    "button{font-size:1rem;padding:.6rem 1.4rem;border-radius:6px;"
	    "border:1px solid #0b5cab;margin-right:.6rem;cursor:pointer}"
	    "button.allow{background:#0b5cab;color:#fff}"
	    "button.deny{background:#fff;color:#0b5cab}"
	    "a.button{display:inline-block;font-size:1rem;padding:.6rem 1.4rem;"
	    "border-radius:6px;border:1px solid #0b5cab;margin:0 .6rem .6rem 0;"
	    "text-decoration:none;background:#0b5cab;color:#fff}"
	    "a.button.secondary{background:#fff;color:#0b5cab}"
	    "a.button:focus{outline:3px solid #f0a30a;outline-offset:2px}"
	    "code{background:#eef1f5;padding:.1rem .3rem;border-radius:3px}"
	    "</style></head><body><main><h1>%s</h1>%s%s"
	    "<p class=\"meta\">Request ID: "
	    "<code>%s</code></p></main></body></html>\n",
	    et, et, body_html, next_html ? next_html : "", req->id) != BK_OK) {
		free(et);
		bk_buf_free(&b);
		front_reply(req, 500, "text/plain", "internal error\n", 15);
		return;
	}
	free(et);
	front_reply(req, status, "text/html; charset=utf-8", b.data, b.len);
	bk_buf_free(&b);
}

void
front_page(struct front_req *req, int status, const char *title,
    const char *body_html)
{
	front_page_render(req, status, title, body_html, NULL);
}

/* "scheme://host[:port]" of url (libevent's URI parser) into o; 0 or -1. */
static int
front_page_origin(const char *url, char *o, size_t size)
{
	struct evhttp_uri	*u;
	const char		*scheme, *host;
	int			 port, rv = -1;

	o[0] = '\0';
	if (url == NULL || (u = evhttp_uri_parse(url)) == NULL)
		return -1;
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	port = evhttp_uri_get_port(u);
	if (scheme != NULL && host != NULL) {
		if (port > 0)
			snprintf(o, size, "%s://%s:%d", scheme, host, port);
		else
			snprintf(o, size, "%s://%s", scheme, host);
		rv = 0;
	}
	evhttp_uri_free(u);
	return rv;
}

/* Append " origin" of url to b unless it is there already. */
static void
front_page_origin_add(struct bk_buf *b, const char *url)
{
	char	 o[600], *hit;
	size_t	 ol;

	o[0] = ' ';
	if (front_page_origin(url, o + 1, sizeof(o) - 1) != 0)
		return;
	ol = strlen(o);
	/* Each origin once (several redirect URIs share one). */
	hit = b->data ? strstr(b->data, o) : NULL;
	while (hit != NULL && hit[ol] != ' ' && hit[ol] != '\0')
		hit = strstr(hit + 1, o);
	if (hit == NULL)
		bk_buf_add(b, o, ol);
}

char *
front_page_panel_origins(const struct conf_tenant *t)
{
	struct bk_buf	 b;
	size_t		 i;

	bk_buf_init(&b, 1024);
	for (i = 0; i < t->panel.n_redirect_uris; i++)
		front_page_origin_add(&b, t->panel.redirect_uris[i]);
	front_page_origin_add(&b, t->panel.initiate_login_uri);
	if (b.len == 0) {
		bk_buf_free(&b);
		return NULL;
	}
	memmove(b.data, b.data + 1, b.len);	/* the leading space */
	return bk_buf_take(&b);
}

/* The tenant the links are for: the request's, or the only one. */
static const struct conf_tenant *
front_page_tenant(const struct front_req *req)
{
	const struct conf	*c = req->f->conf;

	if (req->admin)
		return NULL;
	if (req->t != NULL)
		return req->t;
	return c->n_tenants == 1 ? c->tenants[0] : NULL;
}

/*
 * Where a new sign-in starts, returned-owned, or NULL where none can work
 * (no tenant, SSO off, neither a panel start nor SAML): the panel's
 * initiate_login_uri (with iss, OIDC Core 4), whose authorization ends in
 * the panel with a code, else our SAML login.
 */
static char *
front_page_signin_url(const struct front_req *req,
    const struct conf_tenant *t)
{
	struct bk_buf	 b;

	if (t == NULL || front_gate(req, t, t->login, FLOW_GATE_SSO) != BK_OK)
		return NULL;
	if (t->panel.initiate_login_uri != NULL)
		return front_url_add(t->panel.initiate_login_uri, "iss",
		    req->f->conf->public_url, NULL, NULL, NULL, NULL);
	if (front_gate(req, t, CONF_LOGIN_SAML, FLOW_GATE_LOGIN) != BK_OK)
		return NULL;
	bk_buf_init(&b, 256);
	if (bk_buf_addf(&b, "/t/%s/saml/login", t->id) != BK_OK) {
		bk_buf_free(&b);
		return NULL;
	}
	return bk_buf_take(&b);
}

/*
 * The panel's own page: the origin of its first redirect URI (else of its
 * initiate_login_uri), returned-owned, or NULL.  Not initiate_login_uri
 * itself: that starts a sign-in, which is "Sign in again".
 */
static char *
front_page_panel_url(const struct conf_tenant *t)
{
	char		 o[600];
	const char	*u;
	size_t		 ol;

	if (t == NULL)
		return NULL;
	u = t->panel.n_redirect_uris > 0 ? t->panel.redirect_uris[0] :
	    t->panel.initiate_login_uri;
	if (front_page_origin(u, o, sizeof(o) - 1) != 0)
		return NULL;
	ol = strlen(o);
	o[ol] = '/';
	o[ol + 1] = '\0';
	return bk_strdup(o);
}

/* One link styled as a button; url from the configuration, escaped. */
static int
front_page_link_add(struct bk_buf *b, const char *id, const char *cls,
    const char *url, const char *label)
{
	char	*eu;
	int	 rv;

	if (url == NULL)
		return BK_OK;
	if ((eu = front_html_esc(url)) == NULL)
		return BK_E_NOMEM;
	rv = bk_buf_addf(b, "<a id=\"%s\" class=\"%s\" href=\"%s\">%s</a>",
	    id, cls, eu, label);
	free(eu);
	return rv;
}

/*
 * A row of up to two links (a NULL url is left out), returned-owned ("" when
 * both are NULL), NULL on allocation failure.  The first is the main one.
 */
static char *
front_page_nav(const char *id1, const char *url1, const char *label1,
    const char *id2, const char *url2, const char *label2)
{
	struct bk_buf	 b;
	char		*out = NULL;

	if (url1 == NULL && url2 == NULL)
		return bk_strdup("");
	bk_buf_init(&b, 8192);
	if (bk_buf_adds(&b, "<nav aria-label=\"Next steps\"><p>") == BK_OK &&
	    front_page_link_add(&b, id1, "button", url1, label1) == BK_OK &&
	    (url1 == NULL || url2 == NULL || bk_buf_adds(&b, " ") == BK_OK) &&
	    front_page_link_add(&b, id2, url1 ? "button secondary" : "button",
	    url2, label2) == BK_OK &&
	    bk_buf_adds(&b, "</p></nav>") == BK_OK)
		out = bk_buf_take(&b);
	bk_buf_free(&b);
	return out;
}

/* "Sign in again" (where it can work), "Back to the communication panel". */
static char *
front_page_next(const struct front_req *req)
{
	const struct conf_tenant *t = front_page_tenant(req);
	char	*su = front_page_signin_url(req, t);
	char	*pu = front_page_panel_url(t), *out;

	out = front_page_nav("signin-again", su, "Sign in again",
	    "back-to-panel", pu, "Back to the communication panel");
	free(su);
	free(pu);
	return out;
}

/* What an unmapped person needs: the username received, how to get in. */
static int
front_page_unmapped_add(struct bk_buf *b, const char *user)
{
	char	*eu;
	int	 rv;

	if (user == NULL)
		return bk_buf_adds(b, "<p>No 8x8 user is mapped to your "
		    "Salesforce username. Ask your account administrator to "
		    "add it to the 8x8 user mapping, then sign in again.</p>");
	if ((eu = front_html_esc(user)) == NULL)
		return BK_E_NOMEM;
	rv = bk_buf_addf(b, "<p>Salesforce signed you in as <b>%s</b>, but "
	    "no 8x8 user is mapped to this Salesforce username.</p>"
	    "<p>To get access, ask your account administrator to add "
	    "<b>%s</b> to the 8x8 user mapping (as the Salesforce ID of your "
	    "8x8 user), then sign in again.</p>", eu, eu);
	free(eu);
	return rv;
}

/* The body of the error page for rv, returned-owned, or NULL. */
static char *
front_page_error_body(struct front_req *req, int rv,
    const struct front_page_kind_text *k)
{
	struct bk_buf	 b;
	char		*msg = front_html_esc(bk_strerror(rv)), *out = NULL;
	int		 brv;

	if (msg == NULL)
		return NULL;
	bk_buf_init(&b, 16384);
	/* Unmapped: the username and whom to ask say it all. */
	if (rv == BK_E_POL_UNMAPPED)
		brv = front_page_unmapped_add(&b, req->fl.user);
	else
		brv = bk_buf_addf(&b, "<p>%s.</p><p>%s</p>", msg, k->next);
	if (brv == BK_OK)
		brv = bk_buf_addf(&b, "<p class=\"meta\">Reason code: "
		    "<code>%s</code></p>", bk_err_slug(rv));
	if (brv == BK_OK && k->contact && rv != BK_E_POL_UNMAPPED)
		brv = bk_buf_adds(&b, "<p>If this keeps happening, contact "
		    "your administrator with the request ID below.</p>");
	if (brv == BK_OK)
		out = bk_buf_take(&b);
	bk_buf_free(&b);
	free(msg);
	return out;
}

void
front_page_error(struct front_req *req, int status, int rv)
{
	const struct front_page_kind_text *k =
	    &front_page_kinds[front_page_kind_of(rv, status)];
	char	*body = front_page_error_body(req, rv, k);
	char	*next = front_page_next(req);

	front_page_render(req, status, k->title, body ? body : "", next);
	free(body);
	free(next);
}

void
front_page_signed_out(struct front_req *req)
{
	char	*next = front_page_next(req);

	front_page_render(req, 200, "Signed out",
	    "<p>You are signed out of single sign-on. Close this window, or "
	    "sign in again from the communication panel.</p>", next);
	free(next);
}

void
front_page_signed_out_slo(struct front_req *req, int idp_confirmed)
{
	char	*next = front_page_next(req);

	front_page_render(req, 200, "Signed out", idp_confirmed ?
	    "<p>You are signed out here and at Salesforce.</p>" :
	    "<p>You are signed out here only: Salesforce did not confirm "
	    "the sign-out, so your Salesforce session may still be open. "
	    "Sign out in Salesforce, or close the browser.</p>", next);
	free(next);
}

void
front_page_signed_in(struct front_req *req, int status, const char *user)
{
	const struct conf_tenant *t = front_page_tenant(req);
	char		*eu = front_html_esc(user), *url, *next;
	struct bk_buf	 b;
	int		 rv = BK_E_NOMEM;

	/* initiate_login_uri: the panel's authorization completes at once. */
	url = front_page_signin_url(req, t);
	if (url == NULL || t->panel.initiate_login_uri == NULL) {
		free(url);
		url = front_page_panel_url(t);
	}
	next = front_page_nav("continue", url,
	    "Continue to the communication panel", NULL, NULL, NULL);
	bk_buf_init(&b, 16384);
	if (eu != NULL && user != NULL)
		rv = bk_buf_addf(&b, "<p>You are signed in as <b>%s</b>.</p>",
		    eu);
	else if (eu != NULL)
		rv = bk_buf_adds(&b, "<p>You are signed in.</p>");
	if (rv == BK_OK && url == NULL)
		rv = bk_buf_adds(&b, "<p>Open the communication panel to "
		    "continue.</p>");
	if (rv != BK_OK || next == NULL)
		front_page_error(req, 500, BK_E_NOMEM);
	else
		front_page_render(req, status, "You are signed in", b.data,
		    next);
	bk_buf_free(&b);
	free(next);
	free(eu);
	free(url);
}

void
front_page_consent(struct front_req *req, const char *user,
    const char *extension, const char *tx, const char *csrf)
{
	char		*u, *e, *body = NULL;
	struct bk_buf	 b;

	u = front_html_esc(user);
	e = front_html_esc(extension ? extension : "-");
	bk_buf_init(&b, 16384);
	/* tx and csrf are base64url: nothing to escape. */
	if (u && e && bk_buf_addf(&b,
	    "<p><b>%s</b> is signing in to the communication panel on "
	    "extension <b>%s</b> with Salesforce single sign-on.</p>"
	    "<p>Allow the communication panel to sign you in with your "
	    "Salesforce account?</p>"
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
	free(req->form_action);
	req->form_action = front_page_panel_origins(req->t);
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
