/*
 * sso-broker: fuzz target for the encrypted-assertion path
 * (saml_response_verify_enc(), saml/saml_enc.c).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Each input is a Response's XML, verified against both test tenants of
 * fuzz_saml_decrypt_fixture.h (GCM only; allow_cbc with
 * require_encryption) at the fixed clock, the SP keys' unwrap done in
 * process as the key holder does it.  The seeds in
 * tests/corpus/saml_decrypt (tests/fuzz/gen_saml_decrypt.py) decrypt and
 * verify, so the fuzzer starts past the RSA-OAEP and AES layers.  The
 * contract: an accepted Response names its user and assertion; the
 * unwrap is asked at most twice (two SP keys).
 * Trust: the input is hostile; the tenants and keys are test-only.
 */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_saml_decrypt_fixture.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_one(struct fx_enc *fx, struct saml_tenant *t, const uint8_t *data,
    size_t size)
{
	struct saml_result	 res;
	char			*detail = NULL;
	int			 rv;

	fx->calls = 0;
	rv = fx_enc_verify(fx, t, data, size, &res, &detail);
	if (rv == BK_OK && (res.username == NULL || res.assertion_id == NULL))
		abort();
	if (fx->calls > 2)
		abort();
	saml_result_cleanup(&res);
	free(detail);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fx_enc	*fx = fx_enc_get();

	if (size == 0 || size > SAML_RESPONSE_MAX / 4 * 3)
		return 0;
	fuzz_one(fx, fx->enc, data, size);
	fuzz_one(fx, fx->cbc, data, size);
	return 0;
}
