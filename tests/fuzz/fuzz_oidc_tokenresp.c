/*
 * sso-broker: fuzz target for the token endpoint's answer
 * (oidc_token_response_parse, then oidc_token_signature_verify).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The contract: BK_OK with every required member set, and the signature
 * check answering BK_OK or its one code; or one of the parser's codes
 * with nothing kept.  The secret is the fixture's, so a seed with a right
 * signature reaches the HMAC comparison.  No I/O; everything is freed.
 * Trust: the fuzzer's bytes stand for the token endpoint's answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "oidc.h"
#include "fuzz_oidc_fixture.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oidc_token_response tr;
	char *detail = NULL;
	int rv;

	rv = oidc_token_response_parse((const char *)data, size, &tr,
	    &detail);
	if (rv == BK_OK) {
		if (tr.access_token == NULL || tr.id_token == NULL ||
		    tr.id == NULL || tr.issued_at == NULL ||
		    tr.signature == NULL || tr.token_type == NULL ||
		    detail != NULL)
			abort();
		rv = oidc_token_signature_verify(&tr, FUZZ_OIDC_SECRET,
		    strlen(FUZZ_OIDC_SECRET));
		if (rv != BK_OK && rv != BK_E_OIDC_TOKEN_SIGNATURE)
			abort();
	} else if (tr.access_token != NULL || tr.id_token != NULL ||
	    detail == NULL || (rv != BK_E_NOMEM && rv != BK_E_OIDC_TOOBIG &&
	    rv != BK_E_OIDC_JSON && rv != BK_E_OIDC_TOKEN_RESPONSE))
		abort();
	oidc_token_response_cleanup(&tr);
	free(detail);
	return 0;
}
