/*
 * sso-broker: raw assertions checked again, offline (issue 9 item 6).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A tenant with keep_raw_assertions keeps each Response as posted, with
 * the certificate that verified it (saml_tenant_cert_der()).  Months
 * later "ssoctl audit show-assertion ID --verify" runs the same check
 * chain (saml_verify.c) on it against that one certificate, in a tenant
 * context made for the purpose: the signatures are verified exactly as
 * at the sign-in; the checks that follow them (issuer, destination,
 * audience, time, ...) compare with this tenant's settings and the time
 * of the sign-in, which an offline check does not have, so their result
 * is not the question: the signatures verified iff the chain got past
 * the Assertion's signature, which is when it sets cert_fingerprint.
 * Trust: the Response and the certificate come from a file an attacker
 * may have edited; both are parsed with the daemon's limits.
 */
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "saml_int.h"

int
saml_tenant_cert_der(const struct saml_tenant *t, const char *fp,
    const unsigned char **der, size_t *len)
{
	size_t	 i;

	*der = NULL;
	*len = 0;
	if (t == NULL || fp == NULL)
		return BK_E_NOT_FOUND;
	for (i = 0; i < t->info.n_certs; i++)
		if (t->cert_der[i] != NULL &&
		    strcmp(t->info.certs[i].fingerprint, fp) == 0) {
			*der = t->cert_der[i];
			*len = t->cert_der_len[i];
			return BK_OK;
		}
	return BK_E_NOT_FOUND;
}

/* A tenant whose one IdP key is der; the SP side names nothing real. */
static int
saml_offline_tenant(struct saml_tenant *t, const unsigned char *der,
    size_t len, int allow_sha1, const char **why)
{
	static char	 none[] = "urn:sso-broker:offline-recheck";
	int		 rv;

	memset(t, 0, sizeof(*t));
	t->tenant_id = none;
	t->sp_entity_id = none;
	t->acs_url = none;
	t->allow_sha1 = allow_sha1;
	t->clock_skew = 300;
	if ((rv = saml_sig_key_from_der(der, len, &t->keys[0],
	    &t->info.certs[0], why)) != BK_OK)
		return rv;
	if ((rv = saml_si_key_ready(t, 0)) != BK_OK) {
		*why = "the key cannot verify";
		return rv;
	}
	t->info.n_certs = 1;
	return BK_OK;
}

int
saml_response_recheck(const char *b64, size_t len, const unsigned char *der,
    size_t der_len, int allow_sha1, struct saml_result *out, char **detail)
{
	struct saml_tenant	 t;
	const char		*why = NULL;
	char			*d = NULL;
	int			 rv;

	memset(out, 0, sizeof(*out));
	*detail = NULL;
	if ((rv = saml_offline_tenant(&t, der, der_len, allow_sha1,
	    &why)) != BK_OK) {
		*detail = bk_strdup(why != NULL ? why : "unusable certificate");
		goto out;
	}
	rv = saml_response_verify(&t, b64, len, bk_now(), out, &d);
	if (out->cert_fingerprint[0] != '\0') {
		/* past both signatures: what follows is not rechecked */
		free(d);
		rv = BK_OK;
	} else {
		/* fail closed: no fingerprint, no proof */
		if (rv == BK_OK)
			rv = BK_E_SAML_SIG_INVALID;
		*detail = d;
	}
 out:
	saml_si_key_free(&t, 0);
	if (t.keys[0] != NULL)
		xmlSecKeyDestroy(t.keys[0]);
	return rv;
}
