/*
 * sso-broker: fuzz target for ID token verification (oidc_idtoken_verify).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The bytes are an ID token checked against the fixed provider of
 * fuzz_oidc_fixture.h (its JWKS, issuer, client, org, nonce and clock), so
 * seeds signed with tests/keys/oidc-op.key reach every claim check.  The
 * contract: BK_OK with the result filled and no detail, or one of the
 * module's codes with a detail; anything else aborts.  No I/O, no clock;
 * everything is freed.
 * Trust: the fuzzer's bytes stand for the token endpoint's id_token.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "oidc.h"
#include "fuzz_oidc_fixture.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct oidc_keyset *
fuzz_keyset(void)
{
	static struct oidc_keyset *ks;

	if (ks == NULL && oidc_jwks_parse(fuzz_oidc_jwks,
	    strlen(fuzz_oidc_jwks), &ks, NULL) != BK_OK)
		abort();
	return ks;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oidc_result r;
	char *detail = NULL;
	int rv;

	rv = oidc_idtoken_verify(fuzz_keyset(), &fuzz_oidc_expect,
	    (const char *)data, size, FUZZ_OIDC_NOW, &r, &detail);
	if (rv == BK_OK) {
		if (r.issuer == NULL || r.sub == NULL || detail != NULL ||
		    strcmp(r.alg, "RS256") != 0 || r.org_id[0] == '\0')
			abort();
	} else if ((rv > BK_E_OIDC_TOOBIG || rv < BK_E_OIDC_USERNAME) &&
	    rv != BK_E_NOMEM)
		abort();
	else if (detail == NULL)
		abort();
	oidc_result_cleanup(&r);
	free(detail);
	return 0;
}
