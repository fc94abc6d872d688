/*
 * sso-broker: unit tests of the oidc/ module (cmocka).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Keys are made by libcjose in the set-up (RSA 2048 for the provider, a
 * rotated key, an attacker's key, an RSA 1024 key and an EC P-256 key);
 * ID tokens are signed here with libcjose in Salesforce's shape (header
 * alg RS256 with a kid, sub the identity URL, at_hash) at a fixed clock.
 * The table rows change one thing each and expect one exact code; row
 * names start with the SECURITY-CASES ID (section 1.4) or the conformance
 * test (section 3) they cover.  The other tests cover the JWKS, discovery,
 * the token response and its signature, the identity URL, the 15/18
 * character IDs, UserInfo and PKCE.
 * Trust: test-only keys, made afresh at each run.
 */
/* cjose hands out its RSA keys as RSA *: the PEM case needs that API. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>
#include <cjose/cjose.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "bk.h"
#include "oidc.h"
#include "fuzz_oidc_fixture.h"

#ifndef CORPUS
#define CORPUS "tests/corpus"
#endif

#define NOW	((time_t)1767225600)	/* 2026-01-01T00:00:00Z */
#define SKEW	60
#define ISS	"https://login.salesforce.com"
#define CID	"3MVG9test.client.id"
#define NONCE	"n-0123456789abcdef0123456789abcdef"
#define AT	"00D5g000004XyZa!AQ0AQ.test-access-token"
#define ORG15	"00D5g000004XyZa"
#define ORG18	"00D5g000004XyZaEAK"
#define USR18	"0055g00000AbCdEAAV"
#define SUB	ISS "/id/" ORG18 "/" USR18
#define SECRET	"test-client-secret"
#define HDR	"{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}"

enum { K_MAIN, K_ROT, K_EVIL, K_WEAK, K_EC, K_NKEYS };
static cjose_jwk_t *KEYS[K_NKEYS];
/* KS: k1 and the weak kw; KS1: k1 alone; KS_ROT: k1 and k2. */
static struct oidc_keyset *KS, *KS1, *KS_ROT;
static char AT_HASH[64];

static const struct oidc_expect EXPECT = {
	.issuer = ISS, .client_id = CID, .org_id = ORG18, .nonce = NONCE,
	.access_token = AT, .identity_url = SUB, .clock_skew = SKEW,
};

static char *
b64url(const void *p, size_t n)
{
	char *out = NULL;
	size_t len;
	cjose_err err;

	assert_true(cjose_base64url_encode(p, n, &out, &len, &err));
	return out;
}

/* The default claims, as Salesforce sends them. */
static json_t *
claims_new(void)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s}",
	    "iss", ISS, "sub", SUB, "aud", CID, "exp", (json_int_t)NOW + 300,
	    "iat", (json_int_t)NOW - 10, "nonce", NONCE, "at_hash", AT_HASH,
	    "preferred_username", "alice@example.com");

	assert_non_null(c);
	return c;
}

/* Sign claims (or raw payload text) with key under header text hdr. */
static char *
sign(int key, const char *hdr, const char *payload)
{
	json_t *h = json_loads(hdr, 0, NULL);
	cjose_jws_t *jws;
	const char *ser;
	cjose_err err;
	char *out;

	assert_non_null(h);
	jws = cjose_jws_sign(KEYS[key], (cjose_header_t *)h,
	    (const uint8_t *)payload, strlen(payload), &err);
	assert_non_null(jws);
	assert_true(cjose_jws_export(jws, &ser, &err));
	out = strdup(ser);
	cjose_jws_release(jws);
	json_decref(h);
	return out;
}

static char *
token(int key, const char *hdr, json_t *claims)
{
	char *p = json_dumps(claims, JSON_COMPACT), *t;

	t = sign(key, hdr, p);
	free(p);
	return t;
}

/* A token from parts we write ourselves (no valid signature). */
static char *
raw_token(const char *hdr, const char *payload, const char *sig)
{
	char *h = b64url(hdr, strlen(hdr)), *p = b64url(payload,
	    strlen(payload)), *t;

	assert_true(asprintf(&t, "%s.%s.%s", h, p, sig) > 0);
	free(h);
	free(p);
	return t;
}

static int
verify_ks(const struct oidc_keyset *ks, const struct oidc_expect *e,
    const char *tok, struct oidc_result *r)
{
	char *detail = NULL;
	int rv;

	rv = oidc_idtoken_verify(ks, e, tok, strlen(tok), NOW, r, &detail);
	if (rv != BK_OK)
		assert_non_null(detail);
	else
		assert_null(detail);
	free(detail);
	return rv;
}

static int
verify(const char *tok)
{
	struct oidc_result r;
	int rv = verify_ks(KS, &EXPECT, tok, &r);

	oidc_result_cleanup(&r);
	return rv;
}

/* One row: a header, a signing key and one claim set (or removed). */
struct tc {
	const char *name;
	const char *hdr;	/* NULL: HDR */
	int	    key;
	const char *claim;	/* NULL: the default claims */
	const char *value;	/* JSON text; NULL removes the claim */
	int	    expect;
};

static const struct tc cases[] = {
	{ "happy path (oidcc-client-test, -idtoken-sig-rs256)", NULL, K_MAIN,
	    NULL, NULL, BK_OK },
	{ "O10 signed by another key under our kid", NULL, K_EVIL, NULL, NULL,
	    BK_E_OIDC_SIG_INVALID },
	{ "O12 ES256 (-invalid-sig-es256)",
	    "{\"alg\":\"ES256\",\"kid\":\"k1\"}", K_EC, NULL, NULL,
	    BK_E_OIDC_ALG },
	{ "O12 RS512 is not RS256", "{\"alg\":\"RS512\",\"kid\":\"k1\"}",
	    K_MAIN, NULL, NULL, BK_E_OIDC_ALG },
	{ "O12 PS256 is not RS256", "{\"alg\":\"PS256\",\"kid\":\"k1\"}",
	    K_MAIN, NULL, NULL, BK_E_OIDC_ALG },
	{ "RFC8725 jku injection",
	    "{\"alg\":\"RS256\",\"kid\":\"k1\",\"jku\":\"https://evil/k\"}",
	    K_EVIL, NULL, NULL, BK_E_OIDC_HEADER },
	{ "RFC8725 jwk injection", "{\"alg\":\"RS256\",\"kid\":\"k1\","
	    "\"jwk\":{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}}",
	    K_EVIL, NULL, NULL, BK_E_OIDC_HEADER },
	{ "RFC8725 x5u injection",
	    "{\"alg\":\"RS256\",\"kid\":\"k1\",\"x5u\":\"https://evil/c\"}",
	    K_EVIL, NULL, NULL, BK_E_OIDC_HEADER },
	{ "RFC8725 x5c injection",
	    "{\"alg\":\"RS256\",\"kid\":\"k1\",\"x5c\":[\"MIIB\"]}",
	    K_EVIL, NULL, NULL, BK_E_OIDC_HEADER },
	{ "RFC7515 crit refused",
	    "{\"alg\":\"RS256\",\"kid\":\"k1\",\"crit\":[\"exp\"]}",
	    K_MAIN, NULL, NULL, BK_E_OIDC_HEADER },
	{ "O21 unknown kid (-signing-key-rotation)",
	    "{\"alg\":\"RS256\",\"kid\":\"k2\"}", K_ROT, NULL, NULL,
	    BK_E_OIDC_KID_UNKNOWN },
	{ "O21 kid absent, several keys (-kid-absent-multiple-jwks)",
	    "{\"alg\":\"RS256\"}", K_MAIN, NULL, NULL,
	    BK_E_OIDC_KID_MISSING },
	{ "O21 kid not a string", "{\"alg\":\"RS256\",\"kid\":7}", K_MAIN,
	    NULL, NULL, BK_E_OIDC_HEADER },
	{ "JWKS key under 2048 bits", "{\"alg\":\"RS256\",\"kid\":\"kw\"}",
	    K_WEAK, NULL, NULL, BK_E_OIDC_KEY_WEAK },
	{ "O13 iss test.salesforce.com (-invalid-iss)", NULL, K_MAIN, "iss",
	    "\"https://test.salesforce.com\"", BK_E_OIDC_ISS },
	{ "O13 iss with a trailing slash", NULL, K_MAIN, "iss",
	    "\"https://login.salesforce.com/\"", BK_E_OIDC_ISS },
	{ "O14 iss missing (fapi1 invalid-missing-iss)", NULL, K_MAIN, "iss",
	    NULL, BK_E_OIDC_ISS },
	{ "O14 iss not a string", NULL, K_MAIN, "iss", "[\"" ISS "\"]",
	    BK_E_OIDC_ISS },
	{ "O15 aud another client (-invalid-aud)", NULL, K_MAIN, "aud",
	    "\"3MVG9other\"", BK_E_OIDC_AUD },
	{ "O15 aud missing (-missing-aud)", NULL, K_MAIN, "aud", NULL,
	    BK_E_OIDC_AUD },
	{ "O15 aud empty array", NULL, K_MAIN, "aud", "[]", BK_E_OIDC_AUD },
	{ "O16 extra untrusted aud (fapi1 invalid-secondary-aud)", NULL,
	    K_MAIN, "aud", "[\"" CID "\",\"evil\"]", BK_E_OIDC_AUD },
	{ "O17 aud as a one-element array (fapi1 valid-aud-as-array)", NULL,
	    K_MAIN, "aud", "[\"" CID "\"]", BK_OK },
	{ "O16 several aud entries need azp", NULL, K_MAIN, "aud",
	    "[\"" CID "\",\"" CID "\"]", BK_E_OIDC_AZP },
	{ "O16 azp another client", NULL, K_MAIN, "azp", "\"3MVG9other\"",
	    BK_E_OIDC_AZP },
	{ "O16 azp our client", NULL, K_MAIN, "azp", "\"" CID "\"", BK_OK },
	{ "O18 expired (fapi1 invalid-expired-exp)", NULL, K_MAIN, "exp",
	    "1767225540", BK_E_OIDC_EXPIRED },
	{ "O18 exp within the skew", NULL, K_MAIN, "exp", "1767225541",
	    BK_OK },
	{ "O18 exp missing (fapi1 invalid-missing-exp)", NULL, K_MAIN, "exp",
	    NULL, BK_E_OIDC_EXPIRED },
	{ "O18 exp a string", NULL, K_MAIN, "exp", "\"1767229999\"",
	    BK_E_OIDC_EXPIRED },
	{ "RFC7519 NumericDate may be a real", NULL, K_MAIN, "exp",
	    "1767225900.5", BK_OK },
	{ "nbf in the future", NULL, K_MAIN, "nbf", "1767225661",
	    BK_E_OIDC_NBF },
	{ "O19 iat missing (-missing-iat)", NULL, K_MAIN, "iat", NULL,
	    BK_E_OIDC_IAT },
	{ "O19 iat in the future", NULL, K_MAIN, "iat", "1767225661",
	    BK_E_OIDC_IAT },
	{ "O19 iat a week in the past (fapi1 iat-is-week-in-past)", NULL,
	    K_MAIN, "iat", "1766620800", BK_E_OIDC_IAT },
	{ "O19 iat just too old", NULL, K_MAIN, "iat", "1767224939",
	    BK_E_OIDC_IAT },
	{ "O19 iat at the oldest accepted", NULL, K_MAIN, "iat", "1767224940",
	    BK_OK },
	{ "O07 nonce missing (fapi1 invalid-missing-nonce)", NULL, K_MAIN,
	    "nonce", NULL, BK_E_OIDC_NONCE_MISSING },
	{ "O08 nonce wrong (-nonce-invalid)", NULL, K_MAIN, "nonce",
	    "\"n-0123456789abcdef0123456789abcdeX\"", BK_E_OIDC_NONCE },
	{ "O08 nonce a prefix of ours", NULL, K_MAIN, "nonce", "\"n-01\"",
	    BK_E_OIDC_NONCE },
	{ "O08 nonce not a string", NULL, K_MAIN, "nonce", "1",
	    BK_E_OIDC_NONCE },
	{ "O22 at_hash wrong (-invalid-athash)", NULL, K_MAIN, "at_hash",
	    "\"AAAAAAAAAAAAAAAAAAAAAA\"", BK_E_OIDC_AT_HASH },
	{ "O22 at_hash absent is fine in code flow", NULL, K_MAIN, "at_hash",
	    NULL, BK_OK },
	{ "O20 sub missing (-missing-sub)", NULL, K_MAIN, "sub", NULL,
	    BK_E_OIDC_SUB },
	{ "O20 sub not an identity URL", NULL, K_MAIN, "sub",
	    "\"005000000000001\"", BK_E_OIDC_SUB },
	{ "O20 sub identity URL over http", NULL, K_MAIN, "sub",
	    "\"http://login.salesforce.com/id/" ORG18 "/" USR18 "\"",
	    BK_E_OIDC_SUB },
	{ "O20 sub 18-char org with a bad checksum", NULL, K_MAIN, "sub",
	    "\"" ISS "/id/00D5g000004XyZaEAA/" USR18 "\"", BK_E_OIDC_SUB },
	{ "O25 another org (cross-org identity)", NULL, K_MAIN, "sub",
	    "\"" ISS "/id/00D5g000004XyZbEAK/" USR18 "\"", BK_E_OIDC_ORG },
	{ "O25 an org differing only in case", NULL, K_MAIN, "sub",
	    "\"" ISS "/id/00D5G000004XyZa/0055g00000AbCdE\"", BK_E_OIDC_ORG },
	{ "O25 15-char org and user in sub, 18-char org_id", NULL, K_MAIN,
	    "sub", "\"" ISS "/id/" ORG15 "/0055g00000AbCdE\"", BK_OK },
	{ "O23 token response id names another user", NULL, K_MAIN, "sub",
	    "\"" ISS "/id/" ORG18 "/0055g00000AbCdFAAV\"",
	    BK_E_OIDC_IDENTITY },
	{ "preferred_username with a control byte", NULL, K_MAIN,
	    "preferred_username", "\"alice\\u0001@example.com\"",
	    BK_E_OIDC_USERNAME },
};

static void
run_case(void **state)
{
	const struct tc *t = *state;
	json_t *c = claims_new(), *v;
	char *tok;

	if (t->claim != NULL && t->value == NULL)
		json_object_del(c, t->claim);
	else if (t->claim != NULL) {
		v = json_loads(t->value, JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		json_object_set_new(c, t->claim, v);
	}
	tok = token(t->key, t->hdr != NULL ? t->hdr : HDR, c);
	assert_int_equal(verify(tok), t->expect);
	free(tok);
	json_decref(c);
}

static void
test_result_fields(void **state)
{
	struct oidc_result r;
	json_t *c = claims_new();
	char *tok = token(K_MAIN, HDR, c);

	assert_int_equal(verify_ks(KS, &EXPECT, tok, &r), BK_OK);
	assert_string_equal(r.issuer, ISS);
	assert_string_equal(r.sub, SUB);
	assert_string_equal(r.kid, "k1");
	assert_string_equal(r.alg, "RS256");
	assert_string_equal(r.org_id, ORG15);
	assert_string_equal(r.user_id, "0055g00000AbCdE");
	assert_string_equal(r.username, "alice@example.com");
	assert_int_equal(r.exp, NOW + 300);
	assert_int_equal(r.iat, NOW - 10);
	oidc_result_cleanup(&r);
	/* A failure keeps what was read, for the audit record. */
	json_object_set_new(c, "nonce", json_string("other"));
	free(tok);
	tok = token(K_MAIN, HDR, c);
	assert_int_equal(verify_ks(KS, &EXPECT, tok, &r), BK_E_OIDC_NONCE);
	assert_string_equal(r.issuer, ISS);
	assert_string_equal(r.kid, "k1");
	assert_string_equal(r.alg, "RS256");
	oidc_result_cleanup(&r);
	free(tok);
	json_decref(c);
}

/* O11: alg none, unsigned (empty part) or with a junk signature. */
static void
test_alg_none(void **state)
{
	json_t *c = claims_new();
	char *p = json_dumps(c, JSON_COMPACT), *t;

	t = raw_token("{\"alg\":\"none\"}", p, "");
	assert_int_equal(verify(t), BK_E_OIDC_TOKEN_FORMAT);
	free(t);
	t = raw_token("{\"alg\":\"none\",\"kid\":\"k1\"}", p, "AAAA");
	assert_int_equal(verify(t), BK_E_OIDC_ALG);
	free(t);
	t = raw_token("{\"alg\":\"None\",\"kid\":\"k1\"}", p, "AAAA");
	assert_int_equal(verify(t), BK_E_OIDC_ALG);
	free(t);
	t = raw_token("{\"kid\":\"k1\"}", p, "AAAA");
	assert_int_equal(verify(t), BK_E_OIDC_ALG);
	free(t);
	/* Two alg members: one reading only, so the header is refused. */
	t = raw_token("{\"alg\":\"none\",\"alg\":\"RS256\",\"kid\":\"k1\"}", p,
	    "AAAA");
	assert_int_equal(verify(t), BK_E_OIDC_JSON);
	free(t);
	free(p);
	json_decref(c);
}

/* O12: HS256 keyed with the provider's public key (JWK and PEM bytes). */
static void
test_hs256_public_key(void **state)
{
	const char *hdr = "{\"alg\":\"HS256\",\"kid\":\"k1\"}";
	char *pub, *p, *pem = NULL;
	cjose_jwk_t *saved = KEYS[K_EC], *oct;
	json_t *c = claims_new();
	cjose_err err;
	EVP_PKEY *pk;
	BIO *bio;
	long n;
	int i;

	pub = cjose_jwk_to_json(KEYS[K_MAIN], false, &err);
	assert_non_null(pub);
	for (i = 0; i < 2; i++) {
		if (i == 0)
			oct = cjose_jwk_create_oct_spec((uint8_t *)pub,
			    strlen(pub), &err);
		else {
			pk = EVP_PKEY_new();
			assert_int_equal(EVP_PKEY_set1_RSA(pk,
			    cjose_jwk_get_keydata(KEYS[K_MAIN], &err)), 1);
			bio = BIO_new(BIO_s_mem());
			assert_int_equal(PEM_write_bio_PUBKEY(bio, pk), 1);
			n = BIO_get_mem_data(bio, &pem);
			oct = cjose_jwk_create_oct_spec((uint8_t *)pem,
			    (size_t)n, &err);
			BIO_free(bio);
			EVP_PKEY_free(pk);
		}
		assert_non_null(oct);
		KEYS[K_EC] = oct;
		p = token(K_EC, hdr, c);
		assert_int_equal(verify(p), BK_E_OIDC_ALG);
		free(p);
		cjose_jwk_release(oct);
	}
	KEYS[K_EC] = saved;
	free(pub);
	json_decref(c);
}

/* O10: the signature corrupted, or moved to another payload. */
static void
test_bad_signature(void **state)
{
	json_t *c = claims_new();
	char *t = token(K_MAIN, HDR, c), *t2, *d1, *d2, *mix;
	size_t n = strlen(t);
	char was = t[n - 5];

	t[n - 5] = was == 'A' ? 'B' : 'A';
	assert_int_equal(verify(t), BK_E_OIDC_SIG_INVALID);
	t[n - 5] = was;
	assert_int_equal(verify(t), BK_OK);
	/* A truncated signature. */
	t[n - 4] = '\0';
	assert_int_equal(verify(t), BK_E_OIDC_SIG_INVALID);
	free(t);
	/* Header and payload of one token, signature of another. */
	t = token(K_MAIN, HDR, c);
	json_object_set_new(c, "sub", json_string(ISS "/id/00D5g000004XyZbEAK/"
	    USR18));
	t2 = token(K_MAIN, HDR, c);
	d1 = strrchr(t, '.');
	d2 = strrchr(t2, '.');
	assert_true(asprintf(&mix, "%.*s%s", (int)(d2 - t2), t2, d1) > 0);
	assert_int_equal(verify(mix), BK_E_OIDC_SIG_INVALID);
	free(mix);
	free(t);
	free(t2);
	json_decref(c);
}

/* Shape, size and encoding of the compact serialization. */
static void
test_token_format(void **state)
{
	json_t *c = claims_new();
	char *t = token(K_MAIN, HDR, c), *big, *jwe;
	struct oidc_result r;

	assert_int_equal(verify(""), BK_E_OIDC_TOKEN_FORMAT);
	assert_int_equal(verify("a.b"), BK_E_OIDC_TOKEN_FORMAT);
	assert_int_equal(verify("a.b.c.d"), BK_E_OIDC_TOKEN_FORMAT);
	assert_int_equal(verify(".b.c"), BK_E_OIDC_TOKEN_FORMAT);
	assert_true(asprintf(&jwe, "%s.AAAA.AAAA", t) > 0);
	assert_int_equal(verify(jwe), BK_E_OIDC_TOKEN_FORMAT);
	free(jwe);
	assert_int_equal(verify("e30.e30.A*AA"), BK_E_OIDC_BASE64);
	assert_int_equal(verify("e30=.e30.AAAA"), BK_E_OIDC_BASE64);
	assert_int_equal(verify("e 30.e30.AAAA"), BK_E_OIDC_BASE64);
	assert_int_equal(verify("e3.e30.AAAA"), BK_E_OIDC_JSON);
	assert_int_equal(verify("aGVsbG8.e30.AAAA"), BK_E_OIDC_JSON);
	assert_int_equal(verify("W10.e30.AAAA"), BK_E_OIDC_JSON);
	/* One byte over the cap, then NUL inside the length. */
	big = calloc(1, OIDC_IDTOKEN_MAX + 2);
	memset(big, 'A', OIDC_IDTOKEN_MAX + 1);
	big[10] = '.';
	big[20] = '.';
	assert_int_equal(verify(big), BK_E_OIDC_TOOBIG);
	free(big);
	assert_int_equal(oidc_idtoken_verify(KS, &EXPECT, t, strlen(t) + 1,
	    NOW, &r, NULL), BK_E_OIDC_BASE64);
	oidc_result_cleanup(&r);
	free(t);
	/* A signed payload that is not a JSON object. */
	t = sign(K_MAIN, HDR, "not json");
	assert_int_equal(verify(t), BK_E_OIDC_CLAIMS);
	free(t);
	t = sign(K_MAIN, HDR, "[1,2]");
	assert_int_equal(verify(t), BK_E_OIDC_CLAIMS);
	free(t);
	json_decref(c);
}

/* O21: no kid with a single key; key rotation after a refetch. */
static void
test_kid_and_rotation(void **state)
{
	struct oidc_result r;
	json_t *c = claims_new();
	char *t = token(K_MAIN, "{\"alg\":\"RS256\"}", c);

	assert_int_equal(verify_ks(KS1, &EXPECT, t, &r), BK_OK);
	oidc_result_cleanup(&r);
	assert_int_equal(verify_ks(KS, &EXPECT, t, &r), BK_E_OIDC_KID_MISSING);
	oidc_result_cleanup(&r);
	free(t);
	t = token(K_ROT, "{\"alg\":\"RS256\",\"kid\":\"k2\"}", c);
	assert_int_equal(verify_ks(KS, &EXPECT, t, &r), BK_E_OIDC_KID_UNKNOWN);
	oidc_result_cleanup(&r);
	assert_int_equal(oidc_keyset_lookup(KS, "k2"), BK_E_OIDC_KID_UNKNOWN);
	assert_int_equal(oidc_keyset_lookup(KS_ROT, "k2"), BK_OK);
	assert_int_equal(verify_ks(KS_ROT, &EXPECT, t, &r), BK_OK);
	assert_string_equal(r.kid, "k2");
	oidc_result_cleanup(&r);
	free(t);
	json_decref(c);
}

/* What the caller passes: 15-char org_id, no access token, no id. */
static void
test_expect_variants(void **state)
{
	struct oidc_expect e = EXPECT;
	struct oidc_result r;
	json_t *c = claims_new();
	char *t = token(K_MAIN, HDR, c);

	e.org_id = ORG15;
	assert_int_equal(verify_ks(KS, &e, t, &r), BK_OK);
	oidc_result_cleanup(&r);
	e.org_id = "00D5g000004xyza";
	assert_int_equal(verify_ks(KS, &e, t, &r), BK_E_OIDC_ORG);
	oidc_result_cleanup(&r);
	e.org_id = "not-an-org-id";
	assert_int_equal(verify_ks(KS, &e, t, &r), BK_E_OIDC_ORG);
	oidc_result_cleanup(&r);
	e = EXPECT;
	e.identity_url = NULL;
	assert_int_equal(verify_ks(KS, &e, t, &r), BK_OK);
	oidc_result_cleanup(&r);
	e.identity_url = "https://login.salesforce.com/id/" ORG15
	    "/0055g00000AbCdE";
	assert_int_equal(verify_ks(KS, &e, t, &r), BK_OK);
	oidc_result_cleanup(&r);
	e.identity_url = "https://login.salesforce.com/services/" ORG15;
	assert_int_equal(verify_ks(KS, &e, t, &r), BK_E_OIDC_IDENTITY);
	oidc_result_cleanup(&r);
	e = EXPECT;
	e.access_token = NULL;
	assert_int_equal(verify_ks(KS, &e, t, &r), BK_E_OIDC_AT_HASH);
	oidc_result_cleanup(&r);
	e.access_token = AT "x";
	assert_int_equal(verify_ks(KS, &e, t, &r), BK_E_OIDC_AT_HASH);
	oidc_result_cleanup(&r);
	e = EXPECT;
	e.nonce = "";
	assert_int_equal(verify_ks(KS, &e, t, &r), BK_E_OIDC_NONCE);
	oidc_result_cleanup(&r);
	{
		/* Only the nonce's digest was kept (the daemon's way). */
		char d[BK_DIGEST_HEX + 1];

		bk_sha256_hex(NONCE, strlen(NONCE), d);
		e = EXPECT;
		e.nonce = NULL;
		e.nonce_digest = d;
		assert_int_equal(verify_ks(KS, &e, t, &r), BK_OK);
		oidc_result_cleanup(&r);
		d[0] = d[0] == '0' ? '1' : '0';
		assert_int_equal(verify_ks(KS, &e, t, &r), BK_E_OIDC_NONCE);
		oidc_result_cleanup(&r);
	}
	e = EXPECT;
	e.iat_max_age = 5;
	assert_int_equal(verify_ks(KS, &e, t, &r), BK_OK);
	oidc_result_cleanup(&r);
	e.clock_skew = 0;
	assert_int_equal(verify_ks(KS, &e, t, &r), BK_E_OIDC_IAT);
	oidc_result_cleanup(&r);
	free(t);
	json_decref(c);
}

static char *
jwk_json(int key, const char *kid, const char *extra)
{
	char *j, *out;
	cjose_err err;
	size_t n;

	assert_true(cjose_jwk_set_kid(KEYS[key], kid, strlen(kid), &err));
	j = cjose_jwk_to_json(KEYS[key], false, &err);
	assert_non_null(j);
	n = strlen(j);
	assert_true(asprintf(&out, "%.*s%s}", (int)n - 1, j,
	    extra != NULL ? extra : "") > 0);
	free(j);
	return out;
}

static int
jwks(const char *json, struct oidc_keyset **out)
{
	struct oidc_keyset *ks = NULL;
	char *detail = NULL;
	int rv = oidc_jwks_parse(json, strlen(json), &ks, &detail);

	if (rv == BK_OK) {
		assert_non_null(ks);
		assert_null(detail);
	} else {
		assert_null(ks);
		assert_non_null(detail);
	}
	free(detail);
	if (out != NULL)
		*out = ks;
	else
		oidc_keyset_free(ks);
	return rv;
}

/* A JWKS of the main key with extra members. */
static int
jwks_main(const char *extra)
{
	char *k = jwk_json(K_MAIN, "k1", extra), *doc;
	int rv;

	assert_true(asprintf(&doc, "{\"keys\":[%s]}", k) > 0);
	rv = jwks(doc, NULL);
	free(doc);
	free(k);
	return rv;
}

static void
test_jwks(void **state)
{
	char *k1 = jwk_json(K_MAIN, "k1", NULL), *kw = jwk_json(K_WEAK, "kw",
	    NULL), *ec = jwk_json(K_EC, "e1", NULL), *doc;
	struct oidc_keyset *ks;

	assert_true(asprintf(&doc, "{\"keys\":[%s,%s,%s,"
	    "{\"kty\":\"oct\",\"k\":\"AAAA\"}]}", ec, k1, kw) > 0);
	assert_int_equal(jwks(doc, &ks), BK_OK);
	assert_int_equal(oidc_keyset_count(ks), 1);
	assert_int_equal(oidc_keyset_lookup(ks, "k1"), BK_OK);
	assert_int_equal(oidc_keyset_lookup(ks, "kw"), BK_E_OIDC_KEY_WEAK);
	assert_int_equal(oidc_keyset_lookup(ks, "e1"), BK_E_OIDC_KID_UNKNOWN);
	oidc_keyset_free(ks);
	free(doc);
	/* Skipped: enc keys, other algs, key_ops without verify. */
	assert_int_equal(jwks_main(",\"use\":\"enc\""), BK_E_OIDC_JWKS_EMPTY);
	assert_int_equal(jwks_main(",\"alg\":\"RS512\""),
	    BK_E_OIDC_JWKS_EMPTY);
	assert_int_equal(jwks_main(",\"key_ops\":[\"encrypt\"]"),
	    BK_E_OIDC_JWKS_EMPTY);
	assert_int_equal(jwks_main(",\"use\":\"sig\",\"alg\":\"RS256\","
	    "\"key_ops\":[\"verify\"]"), BK_OK);
	/* Only weak keys; two keys under one kid. */
	assert_true(asprintf(&doc, "{\"keys\":[%s]}", kw) > 0);
	assert_int_equal(jwks(doc, NULL), BK_E_OIDC_JWKS_EMPTY);
	free(doc);
	assert_true(asprintf(&doc, "{\"keys\":[%s,%s]}", k1, k1) > 0);
	assert_int_equal(jwks(doc, NULL), BK_E_OIDC_JWKS);
	free(doc);
	free(k1);
	free(kw);
	free(ec);
	free(jwk_json(K_MAIN, "k1", NULL));
}

/* Caps, malformed members and documents. */
static void
test_jwks_malformed(void **state)
{
	struct bk_buf b;
	char *k, kid[8], *big;
	size_t i;

	bk_buf_init(&b, OIDC_JWKS_MAX);
	assert_int_equal(bk_buf_adds(&b, "{\"keys\":["), BK_OK);
	for (i = 0; i <= OIDC_JWKS_MAX_KEYS; i++) {
		snprintf(kid, sizeof(kid), "k%zu", i);
		k = jwk_json(K_MAIN, kid, NULL);
		assert_int_equal(bk_buf_adds(&b, k), BK_OK);
		assert_int_equal(bk_buf_adds(&b, i < OIDC_JWKS_MAX_KEYS ? "," :
		    "]}"), BK_OK);
		free(k);
	}
	assert_int_equal(jwks(b.data, NULL), BK_E_OIDC_JWKS);
	bk_buf_free(&b);
	free(jwk_json(K_MAIN, "k1", NULL));
	assert_int_equal(jwks("{\"keys\":{}}", NULL), BK_E_OIDC_JWKS);
	assert_int_equal(jwks("{}", NULL), BK_E_OIDC_JWKS);
	assert_int_equal(jwks("{\"keys\":[1]}", NULL), BK_E_OIDC_JWKS);
	assert_int_equal(jwks("{\"keys\":[{\"n\":\"AQAB\"}]}", NULL),
	    BK_E_OIDC_JWKS);
	assert_int_equal(jwks("{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\"}]}",
	    NULL), BK_E_OIDC_JWKS);
	assert_int_equal(jwks("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"A+B/\","
	    "\"e\":\"AQAB\"}]}", NULL), BK_E_OIDC_JWKS);
	assert_int_equal(jwks("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\","
	    "\"e\":\"AAAA\"}]}", NULL), BK_E_OIDC_JWKS);
	assert_int_equal(jwks("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"\","
	    "\"n\":\"AQAB\",\"e\":\"AQAB\"}]}", NULL), BK_E_OIDC_JWKS);
	assert_int_equal(jwks("{\"keys\":[", NULL), BK_E_OIDC_JSON);
	assert_int_equal(jwks("[]", NULL), BK_E_OIDC_JSON);
	assert_int_equal(jwks("{\"keys\":[],\"keys\":[]}", NULL),
	    BK_E_OIDC_JSON);
	assert_int_equal(jwks("{\"a\":[[[[[[[[[[1]]]]]]]]]]}", NULL),
	    BK_E_OIDC_JSON);
	big = calloc(1, OIDC_JWKS_MAX + 2);
	memset(big, ' ', OIDC_JWKS_MAX + 1);
	big[0] = '{';
	big[OIDC_JWKS_MAX] = '}';
	assert_int_equal(jwks(big, NULL), BK_E_OIDC_TOOBIG);
	free(big);
}

static int
disco(const char *doc, struct oidc_provider *p)
{
	char *detail = NULL;
	int rv = oidc_discovery_parse(doc, strlen(doc), ISS, p, &detail);

	assert_true(rv == BK_OK ? detail == NULL : detail != NULL);
	free(detail);
	return rv;
}

#define DISCO(iss, auth, jwks, extra) "{\"issuer\":\"" iss "\"," \
	"\"authorization_endpoint\":\"" auth "\"," \
	"\"token_endpoint\":\"https://login.salesforce.com/services/oauth2/" \
	"token\",\"jwks_uri\":\"" jwks "\",\"userinfo_endpoint\":" \
	"\"https://login.salesforce.com/services/oauth2/userinfo\"" extra "}"
#define AUTHZ	"https://login.salesforce.com/services/oauth2/authorize"
#define JWKSU	"https://login.salesforce.com/id/keys"

static void
test_discovery(void **state)
{
	struct oidc_provider p;
	char *big;

	assert_int_equal(disco(DISCO(ISS, AUTHZ, JWKSU,
	    ",\"id_token_signing_alg_values_supported\":[\"RS256\"]"), &p),
	    BK_OK);
	assert_string_equal(p.issuer, ISS);
	assert_string_equal(p.authorization_endpoint, AUTHZ);
	assert_string_equal(p.jwks_uri, JWKSU);
	assert_non_null(p.token_endpoint);
	assert_non_null(p.userinfo_endpoint);
	oidc_provider_cleanup(&p);
	/* -discovery-issuer-mismatch, trailing slash, case. */
	assert_int_equal(disco(DISCO("https://evil.example", AUTHZ, JWKSU, ""),
	    &p), BK_E_OIDC_DISCOVERY_ISSUER);
	assert_int_equal(disco(DISCO(ISS "/", AUTHZ, JWKSU, ""), &p),
	    BK_E_OIDC_DISCOVERY_ISSUER);
	assert_int_equal(disco(DISCO("https://LOGIN.salesforce.com", AUTHZ,
	    JWKSU, ""), &p), BK_E_OIDC_DISCOVERY_ISSUER);
	/* O30: every endpoint https, no user info, no fragment. */
	assert_int_equal(disco(DISCO(ISS, "http://login.salesforce.com/a",
	    JWKSU, ""), &p), BK_E_OIDC_ENDPOINT);
	assert_int_equal(disco(DISCO(ISS, AUTHZ, "http://evil/keys", ""), &p),
	    BK_E_OIDC_ENDPOINT);
	assert_int_equal(disco(DISCO(ISS, AUTHZ,
	    "https://login.salesforce.com@evil/keys", ""), &p),
	    BK_E_OIDC_ENDPOINT);
	assert_int_equal(disco(DISCO(ISS, AUTHZ, "https:///keys", ""), &p),
	    BK_E_OIDC_ENDPOINT);
	assert_int_equal(disco(DISCO(ISS, AUTHZ, "https://h/keys#f", ""), &p),
	    BK_E_OIDC_ENDPOINT);
	assert_int_equal(disco(DISCO(ISS, AUTHZ, "/id/keys", ""), &p),
	    BK_E_OIDC_ENDPOINT);
	assert_int_equal(disco(DISCO(ISS, AUTHZ, "https://h/a b", ""), &p),
	    BK_E_OIDC_ENDPOINT);
	assert_int_equal(disco(DISCO(ISS, AUTHZ, JWKSU,
	    ",\"id_token_signing_alg_values_supported\":[\"HS256\"]"), &p),
	    BK_E_OIDC_DISCOVERY);
	assert_int_equal(disco("{\"issuer\":\"" ISS "\"}", &p),
	    BK_E_OIDC_DISCOVERY);
	assert_int_equal(disco("{\"issuer\":1}", &p), BK_E_OIDC_DISCOVERY);
	assert_int_equal(disco("{\"issuer\":", &p), BK_E_OIDC_JSON);
	assert_int_equal(disco("\"" ISS "\"", &p), BK_E_OIDC_JSON);
	big = calloc(1, OIDC_DISCOVERY_MAX + 2);
	memset(big, ' ', OIDC_DISCOVERY_MAX + 1);
	big[0] = '{';
	big[OIDC_DISCOVERY_MAX] = '}';
	assert_int_equal(disco(big, &p), BK_E_OIDC_TOOBIG);
	free(big);
	assert_int_equal(oidc_url_https_check("https://127.0.0.1:8443/x?y=1"),
	    BK_OK);
	assert_int_equal(oidc_url_https_check("HTTPS://h/"),
	    BK_E_OIDC_ENDPOINT);
	assert_int_equal(oidc_url_https_check("https://h/\x01"),
	    BK_E_OIDC_ENDPOINT);
	assert_int_equal(oidc_url_https_check(NULL), BK_E_OIDC_ENDPOINT);
}

/* Salesforce's signature: base64(HMAC-SHA256(secret, id || issued_at)). */
static char *
sfdc_sig(const char *id, const char *issued_at, const char *secret)
{
	unsigned char mac[32];
	unsigned int n = 0;
	char *msg, *out = NULL;
	size_t len;
	cjose_err err;

	assert_true(asprintf(&msg, "%s%s", id, issued_at) > 0);
	assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (unsigned char *)msg, strlen(msg), mac, &n));
	assert_true(cjose_base64_encode(mac, n, &out, &len, &err));
	free(msg);
	return out;
}

static int
tresp(const char *doc, struct oidc_token_response *tr)
{
	char *detail = NULL;
	int rv = oidc_token_response_parse(doc, strlen(doc), tr, &detail);

	assert_true(rv == BK_OK ? detail == NULL : detail != NULL);
	free(detail);
	return rv;
}

static void
test_token_response(void **state)
{
	struct oidc_token_response tr;
	char *sig = sfdc_sig(SUB, "1767225600123", SECRET), *doc, *big;
	json_t *j;

	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "access_token", AT, "refresh_token", "5Aep-never-kept",
	    "signature", sig, "scope", "openid id", "id_token", "e30.e30.AA",
	    "instance_url", "https://acme.my.salesforce.com", "id", SUB,
	    "token_type", "Bearer", "issued_at", "1767225600123");
	doc = json_dumps(j, JSON_COMPACT);
	assert_int_equal(tresp(doc, &tr), BK_OK);
	assert_string_equal(tr.access_token, AT);
	assert_string_equal(tr.id, SUB);
	assert_string_equal(tr.issued_at, "1767225600123");
	assert_int_equal(oidc_token_signature_verify(&tr, SECRET,
	    strlen(SECRET)), BK_OK);
	/* Wrong secret; the id changed; the issued_at changed. */
	assert_int_equal(oidc_token_signature_verify(&tr, "other",
	    strlen("other")), BK_E_OIDC_TOKEN_SIGNATURE);
	assert_int_equal(oidc_token_signature_verify(&tr, SECRET,
	    strlen(SECRET) - 1), BK_E_OIDC_TOKEN_SIGNATURE);
	tr.issued_at[0] = '2';
	assert_int_equal(oidc_token_signature_verify(&tr, SECRET,
	    strlen(SECRET)), BK_E_OIDC_TOKEN_SIGNATURE);
	tr.issued_at[0] = '1';
	tr.id[strlen(tr.id) - 1] = 'X';
	assert_int_equal(oidc_token_signature_verify(&tr, SECRET,
	    strlen(SECRET)), BK_E_OIDC_TOKEN_SIGNATURE);
	tr.id[strlen(tr.id) - 1] = 'V';
	free(tr.signature);
	tr.signature = strdup("not base64!");
	assert_int_equal(oidc_token_signature_verify(&tr, SECRET,
	    strlen(SECRET)), BK_E_OIDC_TOKEN_SIGNATURE);
	free(tr.signature);
	tr.signature = strdup("AAAA");
	assert_int_equal(oidc_token_signature_verify(&tr, SECRET,
	    strlen(SECRET)), BK_E_OIDC_TOKEN_SIGNATURE);
	oidc_token_response_cleanup(&tr);
	free(doc);
	/* Missing or bad members, error answers. */
	json_object_set_new(j, "token_type", json_string("bearer"));
	doc = json_dumps(j, JSON_COMPACT);
	assert_int_equal(tresp(doc, &tr), BK_OK);
	oidc_token_response_cleanup(&tr);
	free(doc);
	json_object_set_new(j, "token_type", json_string("mac"));
	doc = json_dumps(j, JSON_COMPACT);
	assert_int_equal(tresp(doc, &tr), BK_E_OIDC_TOKEN_RESPONSE);
	free(doc);
	json_object_set_new(j, "token_type", json_string("Bearer"));
	json_object_set_new(j, "issued_at", json_string("17672x"));
	doc = json_dumps(j, JSON_COMPACT);
	assert_int_equal(tresp(doc, &tr), BK_E_OIDC_TOKEN_RESPONSE);
	free(doc);
	json_object_set_new(j, "issued_at", json_integer(1767225600123));
	doc = json_dumps(j, JSON_COMPACT);
	assert_int_equal(tresp(doc, &tr), BK_E_OIDC_TOKEN_RESPONSE);
	free(doc);
	json_object_set_new(j, "issued_at", json_string("1767225600123"));
	json_object_del(j, "id_token");
	doc = json_dumps(j, JSON_COMPACT);
	assert_int_equal(tresp(doc, &tr), BK_E_OIDC_TOKEN_RESPONSE);
	free(doc);
	assert_int_equal(tresp("{\"error\":\"invalid_grant\","
	    "\"error_description\":\"expired authorization code\"}", &tr),
	    BK_E_OIDC_TOKEN_RESPONSE);
	assert_int_equal(tresp("{\"access_token\":", &tr), BK_E_OIDC_JSON);
	assert_int_equal(tresp("", &tr), BK_E_OIDC_JSON);
	big = calloc(1, OIDC_TOKENRESP_MAX + 2);
	memset(big, ' ', OIDC_TOKENRESP_MAX + 1);
	big[0] = '{';
	big[OIDC_TOKENRESP_MAX] = '}';
	assert_int_equal(tresp(big, &tr), BK_E_OIDC_TOOBIG);
	free(big);
	json_decref(j);
	free(sig);
}

static void
test_sfid_identity(void **state)
{
	struct oidc_identity id;
	char out[OIDC_SFID_LEN + 1];

	/* Salesforce's documented example pair. */
	assert_int_equal(oidc_sfid_parse("001A0000006Vm9rIAC", out), BK_OK);
	assert_string_equal(out, "001A0000006Vm9r");
	assert_int_equal(oidc_sfid_parse("001A0000006Vm9r", out), BK_OK);
	assert_string_equal(out, "001A0000006Vm9r");
	assert_int_equal(oidc_sfid_parse("001a0000006Vm9rIAC", out),
	    BK_E_INVAL);
	assert_int_equal(oidc_sfid_parse("001A0000006Vm9riac", out),
	    BK_E_INVAL);
	assert_int_equal(oidc_sfid_parse("001A0000006Vm9", out), BK_E_INVAL);
	assert_int_equal(oidc_sfid_parse("001A0000006Vm9rI", out), BK_E_INVAL);
	assert_int_equal(oidc_sfid_parse("001A000000-Vm9r", out), BK_E_INVAL);
	assert_int_equal(oidc_identity_parse(SUB, &id), BK_OK);
	assert_string_equal(id.org_id, ORG15);
	assert_string_equal(id.user_id, "0055g00000AbCdE");
	assert_int_equal(oidc_identity_parse("https://acme.my.salesforce.com"
	    "/id/" ORG15 "/0055g00000AbCdE", &id), BK_OK);
	assert_int_equal(oidc_identity_parse(SUB "/", &id),
	    BK_E_OIDC_IDENTITY);
	assert_int_equal(oidc_identity_parse(SUB "?x=1", &id),
	    BK_E_OIDC_IDENTITY);
	assert_int_equal(oidc_identity_parse(ISS "/id/" ORG18, &id),
	    BK_E_OIDC_IDENTITY);
	assert_int_equal(oidc_identity_parse(ISS "/x/id/" ORG18 "/" USR18,
	    &id), BK_E_OIDC_IDENTITY);
	assert_int_equal(oidc_identity_parse(ISS "/id/" ORG18 "/" USR18 "/x",
	    &id), BK_E_OIDC_IDENTITY);
	assert_int_equal(oidc_identity_parse("https://u:p@login.salesforce.com"
	    "/id/" ORG18 "/" USR18, &id), BK_E_OIDC_IDENTITY);
}

static int
uinfo(const char *doc, char **user)
{
	char *detail = NULL;
	int rv = oidc_userinfo_parse(doc, strlen(doc), SUB, user, &detail);

	assert_true(rv == BK_OK ? detail == NULL : detail != NULL);
	assert_true(rv == BK_OK ? *user != NULL : *user == NULL);
	free(detail);
	return rv;
}

static void
test_userinfo(void **state)
{
	char *u, *big, *doc;

	assert_int_equal(uinfo("{\"sub\":\"" SUB "\",\"user_id\":\"" USR18
	    "\",\"organization_id\":\"" ORG18 "\",\"preferred_username\":"
	    "\"alice@example.com\"}", &u), BK_OK);
	assert_string_equal(u, "alice@example.com");
	free(u);
	/* The identity URL answer: id and username, 15-char IDs. */
	assert_int_equal(uinfo("{\"id\":\"" ISS "/id/" ORG15
	    "/0055g00000AbCdE\",\"username\":\"alice@example.com\"}", &u),
	    BK_OK);
	free(u);
	/* O23 (-userinfo-invalid-sub). */
	assert_int_equal(uinfo("{\"sub\":\"" ISS "/id/" ORG18
	    "/0055g00000AbCdFAAV\",\"preferred_username\":\"mallory\"}", &u),
	    BK_E_OIDC_USERINFO_SUB);
	assert_int_equal(uinfo("{\"sub\":\"" SUB "\",\"organization_id\":"
	    "\"00D5g000004XyZbEAK\",\"preferred_username\":\"a\"}", &u),
	    BK_E_OIDC_USERINFO_SUB);
	assert_int_equal(uinfo("{\"sub\":\"" SUB "\",\"user_id\":"
	    "\"0055g00000AbCdF\",\"preferred_username\":\"a\"}", &u),
	    BK_E_OIDC_USERINFO_SUB);
	assert_int_equal(uinfo("{\"preferred_username\":\"a\"}", &u),
	    BK_E_OIDC_USERINFO);
	assert_int_equal(uinfo("{\"sub\":\"" SUB "\"}", &u),
	    BK_E_OIDC_USERNAME);
	assert_int_equal(uinfo("{\"sub\":\"" SUB "\",\"preferred_username\":"
	    "\" alice\"}", &u), BK_E_OIDC_USERNAME);
	assert_int_equal(uinfo("{\"sub\":\"" SUB "\",\"preferred_username\":"
	    "\"al\\nice\"}", &u), BK_E_OIDC_USERNAME);
	assert_int_equal(uinfo("{\"sub\":\"" SUB "\",\"preferred_username\":"
	    "\"al\\u0000ice\"}", &u), BK_E_OIDC_JSON);
	assert_int_equal(uinfo("{\"sub\":\"" SUB "\",\"preferred_username\":"
	    "7}", &u), BK_E_OIDC_USERNAME);
	big = calloc(1, OIDC_USERNAME_MAX + 2);
	memset(big, 'a', OIDC_USERNAME_MAX + 1);
	assert_true(asprintf(&doc, "{\"sub\":\"" SUB "\",\"preferred_username\""
	    ":\"%s\"}", big) > 0);
	assert_int_equal(uinfo(doc, &u), BK_E_OIDC_USERNAME);
	free(doc);
	big[OIDC_USERNAME_MAX] = '\0';
	assert_true(asprintf(&doc, "{\"sub\":\"" SUB "\",\"preferred_username\""
	    ":\"%s\"}", big) > 0);
	assert_int_equal(uinfo(doc, &u), BK_OK);
	free(u);
	free(doc);
	free(big);
	big = calloc(1, OIDC_USERINFO_MAX + 2);
	memset(big, ' ', OIDC_USERINFO_MAX + 1);
	big[0] = '{';
	big[OIDC_USERINFO_MAX] = '}';
	assert_int_equal(uinfo(big, &u), BK_E_OIDC_TOOBIG);
	free(big);
	assert_int_equal(uinfo("not json", &u), BK_E_OIDC_JSON);
}

/* RFC 7636 appendix B. */
static void
test_pkce(void **state)
{
	char out[44];

	oidc_pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", out);
	assert_string_equal(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

/* What the corpus file path gives, as "ok" or the audit slug. */
static const char *
corpus_result(const char *area, const char *data, size_t n)
{
	struct oidc_token_response tr;
	struct oidc_keyset *ks = NULL;
	struct oidc_result r;
	int rv;

	if (strcmp(area, "oidc_idtoken") == 0) {
		assert_int_equal(oidc_jwks_parse(fuzz_oidc_jwks,
		    strlen(fuzz_oidc_jwks), &ks, NULL), BK_OK);
		rv = oidc_idtoken_verify(ks, &fuzz_oidc_expect, data, n,
		    FUZZ_OIDC_NOW, &r, NULL);
		oidc_result_cleanup(&r);
	} else if (strcmp(area, "oidc_jwks") == 0)
		rv = oidc_jwks_parse(data, n, &ks, NULL);
	else {
		rv = oidc_token_response_parse(data, n, &tr, NULL);
		if (rv == BK_OK)
			rv = oidc_token_signature_verify(&tr, FUZZ_OIDC_SECRET,
			    strlen(FUZZ_OIDC_SECRET));
		oidc_token_response_cleanup(&tr);
	}
	oidc_keyset_free(ks);
	return rv == BK_OK ? "ok" : bk_err_slug(rv);
}

/* Every seed gives the code its .expect file names. */
static void
test_corpus_expect(void **state)
{
	static const char *const areas[] = { "oidc_idtoken", "oidc_jwks",
	    "oidc_tokenresp" };
	char path[1024], data[OIDC_IDTOKEN_MAX * 2], want[64];
	struct dirent *de;
	size_t i, n, seen = 0;
	DIR *d;
	FILE *f;

	for (i = 0; i < BK_NELEM(areas); i++) {
		snprintf(path, sizeof(path), "%s/%s", CORPUS, areas[i]);
		assert_non_null(d = opendir(path));
		while ((de = readdir(d)) != NULL) {
			n = strlen(de->d_name);
			if (n < 8 || strcmp(de->d_name + n - 7, ".expect") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", CORPUS,
			    areas[i], de->d_name);
			assert_non_null(f = fopen(path, "r"));
			assert_int_equal(fscanf(f, "expect: %63s", want), 1);
			fclose(f);
			path[strlen(path) - 7] = '\0';
			assert_non_null(f = fopen(path, "rb"));
			n = fread(data, 1, sizeof(data), f);
			fclose(f);
			if (strcmp(corpus_result(areas[i], data, n), want) != 0)
				fail_msg("%s: want %s, got %s", path, want,
				    corpus_result(areas[i], data, n));
			seen++;
		}
		closedir(d);
	}
	assert_true(seen >= 40);
}

static struct oidc_keyset *
keyset(const char *a, const char *b)
{
	struct oidc_keyset *ks;
	char *doc;

	assert_true(asprintf(&doc, "{\"keys\":[%s%s%s]}", a,
	    b != NULL ? "," : "", b != NULL ? b : "") > 0);
	assert_int_equal(jwks(doc, &ks), BK_OK);
	free(doc);
	return ks;
}

static int
setup_all(void **state)
{
	static const uint8_t e[] = { 1, 0, 1 };
	unsigned char md[SHA256_DIGEST_LENGTH];
	char *k1, *k2, *kw, *h;
	cjose_err err;

	KEYS[K_MAIN] = cjose_jwk_create_RSA_random(2048, e, 3, &err);
	KEYS[K_ROT] = cjose_jwk_create_RSA_random(2048, e, 3, &err);
	KEYS[K_EVIL] = cjose_jwk_create_RSA_random(2048, e, 3, &err);
	KEYS[K_WEAK] = cjose_jwk_create_RSA_random(1024, e, 3, &err);
	KEYS[K_EC] = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
	for (size_t i = 0; i < K_NKEYS; i++)
		if (KEYS[i] == NULL)
			return -1;
	SHA256((const unsigned char *)AT, strlen(AT), md);
	h = b64url(md, 16);
	snprintf(AT_HASH, sizeof(AT_HASH), "%s", h);
	free(h);
	k1 = jwk_json(K_MAIN, "k1", NULL);
	k2 = jwk_json(K_ROT, "k2", NULL);
	kw = jwk_json(K_WEAK, "kw", NULL);
	KS = keyset(k1, kw);
	KS1 = keyset(k1, NULL);
	KS_ROT = keyset(k1, k2);
	free(k1);
	free(k2);
	free(kw);
	return 0;
}

static int
teardown_all(void **state)
{
	for (size_t i = 0; i < K_NKEYS; i++)
		cjose_jwk_release(KEYS[i]);
	oidc_keyset_free(KS);
	oidc_keyset_free(KS1);
	oidc_keyset_free(KS_ROT);
	return 0;
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_result_fields),
		cmocka_unit_test(test_alg_none),
		cmocka_unit_test(test_hs256_public_key),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_token_format),
		cmocka_unit_test(test_kid_and_rotation),
		cmocka_unit_test(test_expect_variants),
		cmocka_unit_test(test_jwks),
		cmocka_unit_test(test_jwks_malformed),
		cmocka_unit_test(test_discovery),
		cmocka_unit_test(test_token_response),
		cmocka_unit_test(test_sfid_identity),
		cmocka_unit_test(test_userinfo),
		cmocka_unit_test(test_pkce),
		cmocka_unit_test(test_corpus_expect),
	};
	struct CMUnitTest *all;
	size_t i, n = BK_NELEM(cases) + BK_NELEM(fixed);
	int rv;

	all = calloc(n, sizeof(*all));
	for (i = 0; i < BK_NELEM(fixed); i++)
		all[i] = fixed[i];
	for (i = 0; i < BK_NELEM(cases); i++) {
		all[BK_NELEM(fixed) + i].name = cases[i].name;
		all[BK_NELEM(fixed) + i].test_func = run_case;
		all[BK_NELEM(fixed) + i].initial_state =
		    (void *)(uintptr_t)&cases[i];
	}
	rv = _cmocka_run_group_tests("oidc", all, n, setup_all, teardown_all);
	free(all);
	return rv;
}
