/*
 * sso-broker: the per-tenant decisions of a sign-in, pure.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Every route that signs someone in asks these, so the rules are written
 * once (tests/unit/test_flow.c): which way in a tenant uses and whether it
 * is set up for it, whether SSO is on (the account's switch, its value in
 * force given by the caller: front_sso_in_force()), and whether
 * the Allow page is shown.
 * Trust: the configuration is checked; nothing here reads a request.
 */
#include "bk.h"
#include "conf.h"
#include "flow.h"

/* The tenant signs in this way and has what that way needs. */
static int
flow_policy_login(const struct conf_tenant *t, enum conf_login upstream)
{
	if (t->login != upstream)
		return 0;
	switch (upstream) {
	case CONF_LOGIN_SAML:
		return t->saml_sp != NULL;
	case CONF_LOGIN_OIDC:
		/* configured; whether its provider answers is rp_ready()'s */
		return 1;
	}
	return 0;
}

int
flow_policy_gate(const struct conf_tenant *t, int sso_on,
    enum conf_login upstream, enum flow_gate g)
{
	/* The account's switch first: it says more than "not this way". */
	if ((g & FLOW_GATE_SSO) && !sso_on)
		return BK_E_TENANT_SSO_OFF;
	if ((g & FLOW_GATE_LOGIN) && !flow_policy_login(t, upstream))
		return BK_E_TENANT_LOGIN_MODE;
	return BK_OK;
}

int
flow_policy_consent(const struct conf_tenant *t, int remembered)
{
	switch (t->policy.consent) {
	case CONF_CONSENT_NEVER:
		return 0;
	case CONF_CONSENT_ALWAYS:
		return 1;
	case CONF_CONSENT_FIRST_USE:
		break;
	}
	return !remembered;
}
