/*
 * sso-broker: an admin signs in to the console with their own Salesforce
 * account, through the tenant's upstream (issue 10 item 2).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * GET /t/<tenant>/console/login starts the tenant's way in (SAML or
 * OAuth) like an agent's sign-in, its request marked "console".  The
 * verified identity comes back through the flow (flow.c), whose store
 * decision consumes that request bound to this browser and marks the
 * proof used; it asks no profile and no SSO switch: an admin may have no
 * extension, and may be about to switch SSO on.  Here the Salesforce
 * username must be one the tenant file names in [admin] users (role
 * admin) or auditors (role auditor).  The admin listener is another
 * origin, so the browser is sent there with a one-time code
 * (store_console.h): the grant lives 60 s and redeems once.
 * Trust: the identity is verified; the request's purpose is ours (kept in
 * the store, bound to the browser).
 */
#include <stdlib.h>
#include <string.h>

#include "front_int.h"
#include "flow.h"
#include "log.h"
#include "pol.h"
#include "store_cgrant.h"

/* GET /t/<tenant>/console/login */
void
front_console_login(struct front_req *req)
{
	int	 rv;

	req->fl.event = "console_signin";
	if ((rv = front_gate(req, req->t, req->t->login, FLOW_GATE_LOGIN)) !=
	    BK_OK) {
		flow_refuse(req, rv, NULL);
		return;
	}
	if (req->t->n_console_admins == 0 && req->t->n_console_auditors == 0) {
		flow_refuse(req, BK_E_CONSOLE_NOT_ALLOWED,
		    "the tenant file names no [admin] users or auditors");
		return;
	}
	req->fl.console = 1;
	flow_login(req);
}

/* 1 if the Salesforce lookup key k is one of the n usernames in list. */
static int
front_console_listed(char *const *list, size_t n, const char *k)
{
	const char	*why;
	char		*lk;
	size_t		 i;
	int		 found = 0;

	for (i = 0; i < n && !found; i++) {
		if (pol_sfdc_key(list[i], &lk, &why) != BK_OK)
			continue;
		found = strcmp(lk, k) == 0;
		free(lk);
	}
	return found;
}

/* The console roles of the verified username, or NULL: none. */
static const char *
front_console_role(const struct conf_tenant *t, const char *key)
{
	int	 adm, aud;

	adm = front_console_listed(t->console_admins, t->n_console_admins, key);
	aud = front_console_listed(t->console_auditors, t->n_console_auditors,
	    key);
	if (adm && aud)
		return "admin+auditor";
	return adm ? "admin" : aud ? "auditor" : NULL;
}

static void front_console_kept(void *, int);

void
front_console_signin(struct front_req *req)
{
	struct store_console_grant	 g;
	int				 rv;

	req->fl.event = "console_signin";
	g.user = req->fl.user;
	g.role = (req->fl.sfdc_key != NULL ?
	    front_console_role(req->t, req->fl.sfdc_key) : NULL);
	if (g.role == NULL) {
		flow_refuse(req, BK_E_CONSOLE_NOT_ALLOWED,
		    "the Salesforce username is not in [admin] users or "
		    "auditors");
		return;
	}
	if (req->f->conf->console_url == NULL) {
		flow_refuse(req, BK_E_HTTP_NOROUTE, "no admin listener");
		return;
	}
	/* The record first: no console without it (fail closed). */
	if ((rv = front_audit(req, req->fl.event, BK_OK, g.role)) != BK_OK) {
		front_error(req, rv, NULL);
		return;
	}
	bk_strfree_secret(req->fl.code);
	req->fl.code = NULL;
	if (bk_token_new_dup(&req->fl.code) != BK_OK) {
		front_error(req, BK_E_RANDOM, NULL);
		return;
	}
	log_info("console sign-in accepted for tenant %s as %s", req->t->id,
	    g.role);
	store_console_grant_put(front_req_store(req), req->t->id, req->fl.code,
	    &g, front_console_kept, req);
}

static void
front_console_kept(void *arg, int rv)
{
	struct front_req	*req = arg;
	struct bk_buf		 u;

	if (rv != BK_OK) {
		front_error(req, rv, NULL);
		return;
	}
	bk_buf_init(&u, 8192);
	if (bk_buf_addf(&u, "%s/console/sso?tenant=%s&code=%s",
	    req->f->conf->console_url, req->t->id, req->fl.code) != BK_OK) {
		bk_buf_free(&u);
		front_error(req, BK_E_NOMEM, NULL);
		return;
	}
	front_redirect(req, 303, u.data);
	bk_buf_free(&u);
}
