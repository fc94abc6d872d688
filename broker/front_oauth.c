/*
 * sso-broker: /oauth2/authorize, the panel's front channel (RFC 6749 code
 * grant, RFC 7636 PKCE S256 only, RFC 9700: exact redirect_uri match).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The handler checks the panel's request and hands it to the flow
 * (flow_authorize in flow.c): a valid browser session, or the tenant's
 * upstream.  Errors before the client and redirect_uri are known are a
 * page, never a redirect; after, they go back to the client.
 * Trust: every parameter is untrusted.
 */
#include <stdlib.h>
#include <string.h>

#include "front_int.h"
#include "log.h"

/*
 * Errors after client and redirect_uri are known go back to the client (RFC
 * 6749 4.1.2.1), with iss like every authorization response (RFC 9207 2).
 */
static void
front_authz_redirect_error(struct front_req *req, int rv, const char *error,
    const char *desc)
{
	char	*u, *url = NULL;

	front_audit(req, "authorize", rv, desc);
	u = front_url_add(req->fl.redirect_uri, "error", error,
	    "error_description", desc, "state", req->fl.state);
	if (u != NULL)
		url = front_url_add(u, "iss", req->f->conf->public_url, NULL,
		    NULL, NULL, NULL);
	free(u);
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
		front_authz_redirect_error(req, BK_E_OAUTH_INVALID_REQUEST,
		    "invalid_request", "state is malformed");
		return;
	}
	front_set_str(&req->fl.state, state);
	if (rtype == NULL || strcmp(rtype, "code") != 0) {
		front_authz_redirect_error(req,
		    BK_E_OAUTH_UNSUPPORTED_RESPONSE,
		    "unsupported_response_type",
		    "only response_type=code is supported");
		return;
	}
	if (meth == NULL || strcmp(meth, "S256") != 0 || !front_pkce_ok(chal) ||
	    strlen(chal) != BK_TOKEN_LEN) {
		front_authz_redirect_error(req, BK_E_OAUTH_PKCE,
		    "invalid_request",
		    "PKCE with code_challenge_method=S256 is required");
		return;
	}
	front_set_str(&req->fl.challenge, chal);
	flow_authorize(req);
}

