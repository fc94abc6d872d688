/*
 * sso-broker: fuzz target for saml_response_verify().
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Each input is tried twice against one fixed test tenant at a fixed
 * clock: as the SAMLResponse form value itself (the base64 path), and as
 * raw XML that is base64-encoded first (so the fuzzer reaches the parser
 * and the checks).  The seeds in tests/corpus/saml_response are the rows
 * of tests/unit/test_saml.c, so signed, verifying documents are in reach.
 * Trust: the input is hostile; the tenant and keys are test-only.
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
#define FUZZ_NOW	((time_t)1767225600)	/* the unit tests' clock */

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct saml_tenant *
fuzz_tenant(void)
{
	static struct saml_tenant *t;
	struct saml_sp_params p;
	const char *dir = getenv("SAML_FUZZ_KEYDIR");
	char md[512], crt[512], *why = NULL;

	if (t != NULL)
		return t;
	if (dir == NULL)
		dir = KEYDIR;
	snprintf(md, sizeof(md), "%s/idp-metadata-rollover.xml", dir);
	snprintf(crt, sizeof(crt), "%s/sp.crt", dir);
	memset(&p, 0, sizeof(p));
	p.tenant_id = "fuzz";
	p.sp_entity_id = "https://broker.test/sp";
	p.acs_url = "https://broker.test/acs";
	p.sp_cert_path = crt;
	p.idp_metadata_path = md;
	p.clock_skew = 60;
	if (saml_init() != BK_OK || saml_tenant_new(&p, &t, &why) != BK_OK) {
		fprintf(stderr, "fuzz_saml_response: %s\n",
		    why != NULL ? why : "saml_init failed");
		abort();
	}
	return t;
}

static void
fuzz_one(struct saml_tenant *t, const char *b64, size_t len)
{
	struct saml_result res;
	char *detail = NULL;

	(void)saml_response_verify(t, b64, len, FUZZ_NOW, &res, &detail);
	saml_result_cleanup(&res);
	free(detail);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct saml_tenant *t = fuzz_tenant();
	char *b64;

	fuzz_one(t, (const char *)data, size);
	if (size > 0 && size <= SAML_RESPONSE_MAX / 4 * 3 &&
	    (b64 = bk_b64_encode(data, size)) != NULL) {
		fuzz_one(t, b64, strlen(b64));
		free(b64);
	}
	return 0;
}
