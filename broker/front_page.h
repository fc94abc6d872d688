/*
 * sso-broker: the pages a person sees (error, consent, signed in, signed
 * out), rendered in one place.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Included by front_int.h.  Every page has the same layout (lang, title,
 * one heading, the request ID agents quote), no external asset, and the
 * strict Content-Security-Policy of front_page_csp().  Every link on a
 * page comes from the configuration (public_url, the panel's URIs), never
 * from the request, so a page cannot be made to point elsewhere.
 * Trust: every value shown is escaped here.
 */
#ifndef BK_FRONT_PAGE_H
#define BK_FRONT_PAGE_H

#include <stddef.h>

struct front_req;
struct conf_tenant;

/**
 * The Content-Security-Policy of every answer into buf: nothing may load,
 * inline style only, forms post to our origin plus req->form_action (the
 * panel's origins on the Allow page), never framed.  Any context.
 */
void	front_page_csp(const struct front_req *req, char *buf, size_t size);

/**
 * The error page for rv, with the HTTP status given (front_error() derives
 * it from bk_err_http()): titled by the kind of the reason (404 "Not
 * found", 405 "Method not allowed", "Bad request", "Service unavailable",
 * "Sign-in refused", ...; front_page_error_title()), with the reason's
 * message, its code, the request ID and the next steps.  For
 * BK_E_POL_UNMAPPED the Salesforce username received (req->fl.user,
 * escaped) and how to get mapped.  Ends the request.
 */
void	front_page_error(struct front_req *req, int status, int rv);

/**
 * The title of the error page for rv answered with status (a static
 * string).  Pure.
 */
const char *front_page_error_title(int rv, int status);

/**
 * "You are signed in" (as user, borrowed, escaped here; may be NULL), with
 * a link to continue to the panel (its initiate_login_uri, else its
 * origin).  For a browser that comes Back to the Allow page or the ACS
 * while it holds a valid session, and for the result page.  Ends the
 * request.
 */
void	front_page_signed_in(struct front_req *req, int status,
	    const char *user);

/**
 * The Allow page (200) for req->t: user and extension (borrowed, escaped
 * here; extension may be NULL) and the form posting tx and csrf (borrowed,
 * base64url) with decision=allow|deny to /t/<tenant>/consent.  Sets
 * req->form_action to the panel's origins (both decisions end with a
 * redirect there; CSP 2 form-action governs it) and a same-origin
 * Referrer-Policy.  Ends the request.
 */
void	front_page_consent(struct front_req *req, const char *user,
	    const char *extension, const char *tx, const char *csrf);

/** "Signed out" (200) with the next steps.  Ends the request. */
void	front_page_signed_out(struct front_req *req);
/**
 * "Signed out" after single logout: here and at the IdP (idp_confirmed),
 * or here only.  Ends the request.
 */
void	front_page_signed_out_slo(struct front_req *req, int idp_confirmed);

/**
 * The panel's origins ("scheme://host[:port]" of each redirect URI and of
 * initiate_login_uri, each once), space separated, returned-owned, or
 * NULL when there is none (or on allocation failure).
 */
char	*front_page_panel_origins(const struct conf_tenant *t);

#endif /* BK_FRONT_PAGE_H */
