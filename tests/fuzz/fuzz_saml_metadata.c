/*
 * sso-broker: fuzz target for saml_tenant_metadata_update(), the check of
 * an IdP metadata document fetched from idp_metadata_url.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Each input is given to two fixed test tenants: one without a pinned
 * signer (the fuzzer reaches the shape, validUntil, entityID and
 * certificate checks) and one pinned to tests/keys/idp.crt (the signature
 * checks first).  The contract is checked, not only survived: a document
 * that is refused leaves the tenant's IdP facts exactly as they were, and
 * one that is accepted names the tenant's own entityID.  The seeds in
 * tests/corpus/saml_metadata include a document signed with idp.key.
 * Trust: the input is hostile; the tenants and keys are test-only.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "saml.h"

#ifndef KEYDIR
#define KEYDIR "tests/keys"
#endif

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct saml_tenant *
fuzz_md_tenant(int pinned)
{
	struct saml_tenant	*t = NULL;
	struct saml_sp_params	 p;
	const char		*dir = getenv("SAML_FUZZ_KEYDIR");
	char			 md[512], crt[512], pin[512], *why = NULL;

	if (dir == NULL)
		dir = KEYDIR;
	snprintf(md, sizeof(md), "%s/idp-metadata.xml", dir);
	snprintf(crt, sizeof(crt), "%s/sp.crt", dir);
	snprintf(pin, sizeof(pin), "%s/idp.crt", dir);
	memset(&p, 0, sizeof(p));
	p.tenant_id = "fuzz";
	p.sp_entity_id = "https://broker.test/sp";
	p.acs_url = "https://broker.test/acs";
	p.sp_cert_path = crt;
	p.idp_metadata_path = md;
	p.clock_skew = 60;
	p.metadata_expired_ok = 1;
	if (saml_init() != BK_OK || saml_tenant_new(&p, &t, &why) != BK_OK ||
	    (pinned && saml_tenant_pin_load(t, pin, &why) != BK_OK)) {
		fprintf(stderr, "fuzz_saml_metadata: %s\n",
		    why != NULL ? why : "saml_init failed");
		abort();
	}
	return t;
}

static void
fuzz_md_one(struct saml_tenant *t, const uint8_t *data, size_t size)
{
	struct saml_tenant_info	 before, after;
	char			*detail = NULL;
	int			 rv;

	saml_tenant_info(t, &before);
	rv = saml_tenant_metadata_update(t, (const char *)data, size, &detail);
	saml_tenant_info(t, &after);
	/* refused: nothing changed; accepted: still the same IdP */
	if (rv != BK_OK && memcmp(&before, &after, sizeof(before)) != 0)
		abort();
	if (rv == BK_OK && (detail != NULL || strcmp(before.idp_entity_id,
	    after.idp_entity_id) != 0 || after.n_certs == 0))
		abort();
	if (rv != BK_OK && rv != BK_E_NOMEM && detail == NULL)
		abort();
	free(detail);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct saml_tenant *open_t, *pinned_t;

	if (open_t == NULL) {
		open_t = fuzz_md_tenant(0);
		pinned_t = fuzz_md_tenant(1);
	}
	fuzz_md_one(open_t, data, size);
	fuzz_md_one(pinned_t, data, size);
	return 0;
}
