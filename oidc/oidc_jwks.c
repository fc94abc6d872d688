/*
 * sso-broker: the provider's JSON Web Key Set, as RSA verification keys.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Only RS256 is ever verified (SECURITY-CASES O12), so only RSA keys for
 * signatures are kept: a key of another type, with use other than "sig",
 * key_ops without "verify" or an alg other than RS256 is skipped (RFC 7517
 * 4.2-4.4).  Only n and e are read, so a JWKS that leaks private members
 * gives us nothing more.  An RSA key under 2048 bits is kept by kid only,
 * so a token signed with it fails as key_weak rather than as an unknown
 * kid (which would make the daemon refetch).  Two usable keys under one
 * kid would make the lookup ambiguous: the whole set is refused.  Sizes
 * are capped: the document, the number of entries and of keys, the
 * modulus and the exponent.
 * Trust: the JWKS document is untrusted.
 */
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "oidc_int.h"

/* Entries read from "keys" at most (skipped ones included). */
#define OIDC_JWKS_MAX_ENTRIES	64
/* Public exponent bytes at most. */
#define OIDC_RSA_E_MAX		8

void
oidc_keyset_free(struct oidc_keyset *ks)
{
	size_t i;

	if (ks == NULL)
		return;
	for (i = 0; i < ks->n; i++) {
		free(ks->keys[i].kid);
		if (ks->keys[i].jwk != NULL)
			cjose_jwk_release(ks->keys[i].jwk);
	}
	free(ks);
}

size_t
oidc_keyset_count(const struct oidc_keyset *ks)
{
	size_t i, n = 0;

	for (i = 0; ks != NULL && i < ks->n; i++)
		if (ks->keys[i].jwk != NULL)
			n++;
	return n;
}

int
oidc_keyset_find(const struct oidc_keyset *ks, const char *kid,
    const struct oidc_key **out)
{
	const struct oidc_key *k = NULL;
	size_t i;

	*out = NULL;
	if (kid == NULL) {
		/* O21: no kid is fine only when there is no choice. */
		if (ks->n != 1)
			return BK_E_OIDC_KID_MISSING;
		k = &ks->keys[0];
	}
	for (i = 0; k == NULL && i < ks->n; i++)
		if (ks->keys[i].kid != NULL &&
		    strcmp(ks->keys[i].kid, kid) == 0)
			k = &ks->keys[i];
	if (k == NULL)
		return BK_E_OIDC_KID_UNKNOWN;
	if (k->jwk == NULL)
		return BK_E_OIDC_KEY_WEAK;
	*out = k;
	return BK_OK;
}

int
oidc_keyset_lookup(const struct oidc_keyset *ks, const char *kid)
{
	const struct oidc_key *k;

	return oidc_keyset_find(ks, kid, &k);
}

/* 1 if the entry may verify RS256 signatures (RFC 7517 4.2-4.4). */
static int
oidc_jwk_is_rs256_sig(const json_t *k)
{
	const char *v;
	json_t *ops;
	size_t i;

	if (oidc_json_str(k, "kty", 16, &v) != BK_OK ||
	    strcmp(v, "RSA") != 0)
		return 0;
	if (json_object_get(k, "use") != NULL &&
	    (oidc_json_str(k, "use", 16, &v) != BK_OK ||
	    strcmp(v, "sig") != 0))
		return 0;
	if (json_object_get(k, "alg") != NULL &&
	    (oidc_json_str(k, "alg", 16, &v) != BK_OK ||
	    strcmp(v, "RS256") != 0))
		return 0;
	if ((ops = json_object_get(k, "key_ops")) == NULL)
		return 1;
	for (i = 0; json_is_array(ops) && i < json_array_size(ops); i++)
		if (json_is_string(json_array_get(ops, i)) && strcmp(
		    json_string_value(json_array_get(ops, i)), "verify") == 0)
			return 1;
	return 0;
}

/* Bits in the big-endian unsigned integer p[0..n). */
static int
oidc_bn_bits(const uint8_t *p, size_t n)
{
	uint8_t b;
	int bits;

	while (n > 0 && p[0] == 0) {
		p++;
		n--;
	}
	if (n == 0)
		return 0;
	bits = (int)(n - 1) * 8;
	for (b = p[0]; b != 0; b >>= 1)
		bits++;
	return bits;
}

/* The RSA public key of entry k into key (jwk NULL when weak). */
static int
oidc_jwk_rsa(const json_t *k, struct oidc_key *key, char **detail)
{
	cjose_jwk_rsa_keyspec spec;
	const char *n64, *e64;
	cjose_err err;
	int rv;

	memset(&spec, 0, sizeof(spec));
	if (oidc_json_str(k, "n", OIDC_STR_MAX, &n64) != BK_OK ||
	    oidc_json_str(k, "e", 16, &e64) != BK_OK)
		return oidc_fail(detail, BK_E_OIDC_JWKS,
		    "JWKS: RSA key without n or e");
	if ((rv = oidc_b64url_decode(n64, strlen(n64),
	    OIDC_RSA_MAX_BITS / 8 + 1, &spec.n, &spec.nlen)) != BK_OK ||
	    (rv = oidc_b64url_decode(e64, strlen(e64), OIDC_RSA_E_MAX,
	    &spec.e, &spec.elen)) != BK_OK) {
		if (rv != BK_E_NOMEM)
			rv = oidc_fail(detail, BK_E_OIDC_JWKS,
			    "JWKS: n or e is not base64url or too long");
		goto out;
	}
	key->bits = oidc_bn_bits(spec.n, spec.nlen);
	rv = BK_E_OIDC_JWKS;
	if (key->bits > OIDC_RSA_MAX_BITS || oidc_bn_bits(spec.e,
	    spec.elen) < 2 || (spec.e[spec.elen - 1] & 1) == 0) {
		oidc_fail(detail, rv, "JWKS: RSA modulus or exponent unusable");
		goto out;
	}
	rv = BK_OK;
	if (key->bits < OIDC_RSA_MIN_BITS)
		goto out;
	if ((key->jwk = cjose_jwk_create_RSA_spec(&spec, &err)) == NULL)
		rv = err.code == CJOSE_ERR_NO_MEMORY ? BK_E_NOMEM :
		    oidc_fail(detail, BK_E_OIDC_JWKS, "JWKS: bad RSA key");
out:
	oidc_cjose_free(spec.n);
	oidc_cjose_free(spec.e);
	return rv;
}

/* 1 if ks already holds a key named kid (NULL names the unnamed key). */
static int
oidc_keyset_has(const struct oidc_keyset *ks, const char *kid)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		if ((kid == NULL && ks->keys[i].kid == NULL) ||
		    (kid != NULL && ks->keys[i].kid != NULL &&
		    strcmp(kid, ks->keys[i].kid) == 0))
			return 1;
	return 0;
}

/* Add entry k to ks when it is an RS256 signature key. */
static int
oidc_keyset_add(struct oidc_keyset *ks, const json_t *k, char **detail)
{
	struct oidc_key *key;
	const char *kid = NULL, *kty;
	int rv;

	if (!json_is_object(k))
		return oidc_fail(detail, BK_E_OIDC_JWKS,
		    "JWKS: a key is not an object");
	if (oidc_json_str(k, "kty", 16, &kty) != BK_OK)
		return oidc_fail(detail, BK_E_OIDC_JWKS,
		    "JWKS: a key has no kty");
	if (!oidc_jwk_is_rs256_sig(k))
		return BK_OK;
	rv = oidc_json_str(k, "kid", OIDC_KID_MAX, &kid);
	if (rv == BK_E_INVAL)
		return oidc_fail(detail, BK_E_OIDC_JWKS,
		    "JWKS: kid is not a string of 1..%d bytes", OIDC_KID_MAX);
	if (oidc_keyset_has(ks, kid))
		return oidc_fail(detail, BK_E_OIDC_JWKS,
		    "JWKS: two RSA signing keys share kid %.40s",
		    kid != NULL ? kid : "(none)");
	if (ks->n == OIDC_JWKS_MAX_KEYS)
		return oidc_fail(detail, BK_E_OIDC_JWKS,
		    "JWKS: more than %d RSA signing keys", OIDC_JWKS_MAX_KEYS);
	key = &ks->keys[ks->n];
	memset(key, 0, sizeof(*key));
	if ((rv = oidc_jwk_rsa(k, key, detail)) != BK_OK)
		return rv;
	if (kid != NULL && (key->kid = bk_strdup(kid)) == NULL) {
		if (key->jwk != NULL)
			cjose_jwk_release(key->jwk);
		return BK_E_NOMEM;
	}
	ks->n++;
	return BK_OK;
}

int
oidc_jwks_parse(const char *json, size_t len, struct oidc_keyset **out,
    char **detail)
{
	struct oidc_keyset *ks = NULL;
	json_t *doc = NULL, *keys;
	size_t i;
	int rv;

	*out = NULL;
	if (detail != NULL)
		*detail = NULL;
	if ((rv = oidc_json_load(json, len, OIDC_JWKS_MAX, &doc, detail)) !=
	    BK_OK)
		goto out;
	keys = json_object_get(doc, "keys");
	rv = BK_E_OIDC_JWKS;
	if (!json_is_array(keys) || json_array_size(keys) >
	    OIDC_JWKS_MAX_ENTRIES) {
		oidc_fail(detail, rv, "JWKS: keys is not an array of at "
		    "most %d entries", OIDC_JWKS_MAX_ENTRIES);
		goto out;
	}
	rv = BK_E_NOMEM;
	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		goto out;
	for (i = 0; i < json_array_size(keys); i++)
		if ((rv = oidc_keyset_add(ks, json_array_get(keys, i),
		    detail)) != BK_OK)
			goto out;
	rv = BK_OK;
	if (oidc_keyset_count(ks) == 0)
		rv = oidc_fail(detail, BK_E_OIDC_JWKS_EMPTY, "JWKS: no RSA "
		    "signing key of %d bits or more", OIDC_RSA_MIN_BITS);
out:
	json_decref(doc);
	if (rv != BK_OK)
		oidc_keyset_free(ks);
	else
		*out = ks;
	return rv;
}
