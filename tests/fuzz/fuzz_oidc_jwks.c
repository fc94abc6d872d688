/*
 * sso-broker: fuzz target for the provider's key set (oidc_jwks_parse).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The contract: BK_OK with at least one usable key and at most
 * OIDC_JWKS_MAX_KEYS, every lookup answering one of its three codes; or
 * one of the module's codes, no key set and a detail.  No I/O; everything
 * is freed.
 * Trust: the fuzzer's bytes stand for the jwks_uri answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "bk.h"
#include "oidc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_lookup(const struct oidc_keyset *ks, const char *kid)
{
	int rv = oidc_keyset_lookup(ks, kid);

	if (rv != BK_OK && rv != BK_E_OIDC_KID_UNKNOWN &&
	    rv != BK_E_OIDC_KID_MISSING && rv != BK_E_OIDC_KEY_WEAK)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oidc_keyset *ks = NULL;
	char *detail = NULL;
	int rv;

	rv = oidc_jwks_parse((const char *)data, size, &ks, &detail);
	if (rv == BK_OK) {
		if (ks == NULL || detail != NULL ||
		    oidc_keyset_count(ks) == 0 ||
		    oidc_keyset_count(ks) > OIDC_JWKS_MAX_KEYS)
			abort();
		fuzz_lookup(ks, NULL);
		fuzz_lookup(ks, "op1");
		fuzz_lookup(ks, "");
	} else if (ks != NULL || detail == NULL || (rv != BK_E_NOMEM &&
	    rv != BK_E_OIDC_TOOBIG && rv != BK_E_OIDC_JSON &&
	    rv != BK_E_OIDC_JWKS && rv != BK_E_OIDC_JWKS_EMPTY))
		abort();
	oidc_keyset_free(ks);
	free(detail);
	return 0;
}
