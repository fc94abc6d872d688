/*
 * sso-broker: benchmark of ID token verification in-process (oidc/).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Makes an RSA 2048 provider key with libcjose, signs one Salesforce-shaped
 * ID token (RS256, kid, at_hash, identity URL sub) and verifies it with
 * oidc_idtoken_verify() in a loop on one thread, timed by the process CPU
 * clock, so the figure is verifications per second per core whatever else
 * the machine is doing.  Batches of libcjose's import and RS256
 * verification alone (the floor the rest of the checks add to) alternate
 * with the full ones, so both see the same machine load.
 *   bench/oidc_verify [SECONDS] [MIN_PER_SEC]
 * exits 2 when the rate is under MIN_PER_SEC (default 20000, issue 8).
 * Trust: everything here is made by the program itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <cjose/cjose.h>
#include <openssl/sha.h>

#include "bk.h"
#include "oidc.h"

#define ISS	"https://login.salesforce.com"
#define CID	"3MVG9bench.client.id"
#define NONCE	"n-0123456789abcdef0123456789abcdef"
#define AT	"00D5g000004XyZa!AQ0AQ.bench-access-token"
#define SUB	ISS "/id/00D5g000004XyZaEAK/0055g00000AbCdEAAV"
/* Verifications per timed batch; full and floor batches alternate. */
#define BENCH_BATCH	200

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The key's JWKS and one token signed with it, both returned-owned. */
static int
bench_make(cjose_jwk_t *k, time_t now, char **jwks, char **tok)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char *pub, *ath, *payload;
	const char *ser;
	cjose_jws_t *jws;
	json_t *h, *c;
	cjose_err err;

	bk_sha256(AT, strlen(AT), md);
	ath = bk_b64url_encode(md, 16);
	c = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s}", "iss", ISS,
	    "sub", SUB, "aud", CID, "exp", (json_int_t)now + 300, "iat",
	    (json_int_t)now - 5, "nonce", NONCE, "at_hash", ath,
	    "preferred_username", "alice@example.com");
	h = json_pack("{s:s, s:s, s:s}", "alg", "RS256", "kid", "230",
	    "typ", "JWT");
	payload = json_dumps(c, JSON_COMPACT);
	pub = cjose_jwk_to_json(k, false, &err);
	if (ath == NULL || c == NULL || h == NULL || payload == NULL ||
	    pub == NULL)
		return -1;
	jws = cjose_jws_sign(k, (cjose_header_t *)h, (uint8_t *)payload,
	    strlen(payload), &err);
	if (jws == NULL || !cjose_jws_export(jws, &ser, &err))
		return -1;
	*tok = bk_strdup(ser);
	if (asprintf(jwks, "{\"keys\":[%s]}", pub) < 0)
		return -1;
	cjose_jws_release(jws);
	json_decref(c);
	json_decref(h);
	free(payload);
	free(pub);
	free(ath);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const uint8_t e65537[] = { 1, 0, 1 };
	struct oidc_expect ex = { .issuer = ISS, .client_id = CID,
	    .org_id = "00D5g000004XyZa", .nonce = NONCE, .access_token = AT,
	    .identity_url = SUB, .clock_skew = 60 };
	double secs = argc > 1 ? atof(argv[1]) : 3.0, t0, dt, dtf, rate, floor;
	long min = argc > 2 ? atol(argv[2]) : 20000, n, i;
	struct oidc_keyset *ks;
	struct oidc_result r;
	cjose_jwk_t *k;
	cjose_jws_t *jws;
	char *jwks, *tok;
	time_t now = time(NULL);
	cjose_err err;

	k = cjose_jwk_create_RSA_random(2048, e65537, 3, &err);
	if (k == NULL || !cjose_jwk_set_kid(k, "230", 3, &err) ||
	    bench_make(k, now, &jwks, &tok) != 0 ||
	    oidc_jwks_parse(jwks, strlen(jwks), &ks, NULL) != BK_OK) {
		fprintf(stderr, "oidc_verify: set-up failed\n");
		return 1;
	}
	if (oidc_idtoken_verify(ks, &ex, tok, strlen(tok), now, &r, NULL) !=
	    BK_OK) {
		fprintf(stderr, "oidc_verify: the token does not verify\n");
		return 1;
	}
	oidc_result_cleanup(&r);
	for (n = 0, dt = dtf = 0; dt + dtf < secs; n += BENCH_BATCH) {
		t0 = cpu_now();
		for (i = 0; i < BENCH_BATCH; i++) {
			if (oidc_idtoken_verify(ks, &ex, tok, strlen(tok), now,
			    &r, NULL) != BK_OK)
				return 1;
			oidc_result_cleanup(&r);
		}
		dt += cpu_now() - t0;
		t0 = cpu_now();
		for (i = 0; i < BENCH_BATCH; i++) {
			jws = cjose_jws_import(tok, strlen(tok), &err);
			if (jws == NULL || !cjose_jws_verify(jws, k, &err))
				return 1;
			cjose_jws_release(jws);
		}
		dtf += cpu_now() - t0;
	}
	rate = (double)n / dt;
	floor = (double)n / dtf;
	printf("token bytes: %zu, RSA 2048, RS256\n", strlen(tok));
	printf("oidc_idtoken_verify: %.0f verifications/s per core "
	    "(%.1f us each)\n", rate, 1e6 / rate);
	printf("floor (cjose import + RS256 verify only): %.0f/s per core\n",
	    floor);
	printf("target: %ld/s per core: %s\n", min, rate >= min ? "met" :
	    "NOT MET");
	oidc_keyset_free(ks);
	cjose_jwk_release(k);
	free(jwks);
	free(tok);
	return rate >= min ? 0 : 2;
}
