/*
 * sso-broker: the fixed relying party the oidc fuzz targets and the corpus
 * check in tests/unit/test_oidc.c verify against.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The provider's JWKS is the public half of tests/keys/oidc-op.key (test
 * only, kid op1); the clock and the expected values are the ones
 * tests/corpus/oidc_idtoken/README.md made the seeds with.  No disk, no
 * clock.
 * Trust: test-only material.
 */
#ifndef FUZZ_OIDC_FIXTURE_H
#define FUZZ_OIDC_FIXTURE_H

#define FUZZ_OIDC_NOW	((time_t)1767225600)	/* 2026-01-01T00:00:00Z */
#define FUZZ_OIDC_SECRET	"test-client-secret"

static const char fuzz_oidc_jwks[] =
	"{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"op1\",\"use\":\"sig\",\"al"
	"g\":\"RS256\",\"n\":\"30o1sp530y8cyOw7VLlHevDlfRWlu2ge04gbqGXs6j"
	"MvMEGAdRXUdeqlJpba0BeXWe6B5EMR1i3cLUApXv4iFvPWHeOa3nyQ0oH_e8EFzI"
	"xwyr-VylRPxse9xhVXSQpvqw0GMFNQYygjUiY2CJHC6u6RfZbcLIBfK7ONWaAEab"
	"dOD66qFAOUk5quf5Hjp-VHEfcVGQ095t_SH_YMYc5tHa8APepDdceoF6zv33l334"
	"jATWHQC6Ux2d9TQpl2P4AxgBBwa2GFGcNJ-85myCTrE11FTFpzOUapjR6v5UdvKc"
	"Z752e3KDSYzhTVXeU-bryAReo_5bdTifXqjfLRe9OGMw\",\"e\":\"AQAB\"}]}";

static const struct oidc_expect fuzz_oidc_expect = {
	.issuer = "https://login.salesforce.com",
	.client_id = "3MVG9test.client.id",
	.org_id = "00D5g000004XyZaEAK",
	.nonce = "n-0123456789abcdef0123456789abcdef",
	.access_token = "00D5g000004XyZa!AQ0AQ.test-access-token",
	.identity_url = "https://login.salesforce.com/id/00D5g000004XyZaEAK/"
	    "0055g00000AbCdEAAV",
	.clock_skew = 60,
};

#endif /* FUZZ_OIDC_FIXTURE_H */
