/*
 * sso-broker: the JWS steps of ID token verification.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * An ID token is accepted only as a JWS compact serialization (RFC 7515
 * 7.1: three base64url parts; a JWE's five parts or the JSON
 * serialization are refused) signed RS256 with a key from the provider's
 * JWKS chosen by kid.  The header never chooses the key type or the key:
 * alg is compared with the one allowed value before any key is touched
 * (RFC 8725 3.1, 3.2; SECURITY-CASES O11, O12), and a header that names a
 * key of its own (jku, jwk, x5u, x5c: RFC 7515 4.1.2-4.1.6) or carries crit
 * is refused rather than ignored.  libcjose verifies the signature; the
 * header is also parsed here, with duplicate members refused, so there is
 * one reading of alg and kid.  Claims are read only from the verified
 * payload.
 * Trust: the token is untrusted; the key set is the provider's, checked.
 */
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "oidc_int.h"

/* Longest protected header decoded (bytes). */
#define OIDC_HEADER_MAX		2048

/* RFC 7515 4.1: members that would name a key or change the processing. */
static const char *const oidc_header_refused[] = {
	"jku", "jwk", "x5u", "x5c", "crit", "b64", "zip", "enc",
};

int
oidc_check_compact(struct oidc_vctx *c)
{
	const char *d1, *d2;

	if (c->tok == NULL || c->len == 0)
		return oidc_fail(&c->detail, BK_E_OIDC_TOKEN_FORMAT,
		    "no ID token");
	if (c->len > OIDC_IDTOKEN_MAX)
		return oidc_fail(&c->detail, BK_E_OIDC_TOOBIG,
		    "ID token over %d bytes", OIDC_IDTOKEN_MAX);
	d1 = memchr(c->tok, '.', c->len);
	d2 = d1 == NULL ? NULL : memchr(d1 + 1, '.', c->len -
	    (size_t)(d1 + 1 - c->tok));
	if (d2 == NULL || memchr(d2 + 1, '.', c->len -
	    (size_t)(d2 + 1 - c->tok)) != NULL)
		return oidc_fail(&c->detail, BK_E_OIDC_TOKEN_FORMAT,
		    "ID token is not three dot-separated parts");
	c->dot1 = (size_t)(d1 - c->tok);
	c->dot2 = (size_t)(d2 - c->tok);
	if (c->dot1 == 0 || c->dot2 == c->dot1 + 1 || c->dot2 + 1 == c->len)
		return oidc_fail(&c->detail, BK_E_OIDC_TOKEN_FORMAT,
		    "ID token has an empty part (unsigned?)");
	if (!oidc_b64url_ok(c->tok, c->dot1) ||
	    !oidc_b64url_ok(d1 + 1, c->dot2 - c->dot1 - 1) ||
	    !oidc_b64url_ok(d2 + 1, c->len - c->dot2 - 1))
		return oidc_fail(&c->detail, BK_E_OIDC_BASE64,
		    "ID token part is not base64url");
	return BK_OK;
}

int
oidc_check_header(struct oidc_vctx *c)
{
	uint8_t *h = NULL;
	size_t hlen;
	int rv;

	rv = oidc_b64url_decode(c->tok, c->dot1, OIDC_HEADER_MAX, &h, &hlen);
	if (rv == BK_E_TOOBIG)
		return oidc_fail(&c->detail, BK_E_OIDC_TOOBIG,
		    "ID token header over %d bytes", OIDC_HEADER_MAX);
	if (rv != BK_OK)
		return rv == BK_E_NOMEM ? rv : oidc_fail(&c->detail,
		    BK_E_OIDC_BASE64, "ID token header is not base64url");
	rv = oidc_json_load((const char *)h, hlen, OIDC_HEADER_MAX, &c->hdr,
	    &c->detail);
	oidc_cjose_free(h);
	return rv;
}

int
oidc_check_alg(struct oidc_vctx *c)
{
	const char *alg;
	size_t i;

	if (oidc_json_str(c->hdr, "alg", 32, &alg) != BK_OK)
		return oidc_fail(&c->detail, BK_E_OIDC_ALG,
		    "ID token header has no alg");
	/* For the audit: what the token claimed, printable only. */
	for (i = 0; alg[i] != '\0' && i < sizeof(c->out->alg) - 1; i++)
		c->out->alg[i] = alg[i] > 0x20 && alg[i] < 0x7f ? alg[i] : '?';
	c->out->alg[i] = '\0';
	/* Exact: "none", "HS256", "RS384", "rs256" are all refused. */
	if (strcmp(alg, "RS256") != 0)
		return oidc_fail(&c->detail, BK_E_OIDC_ALG,
		    "ID token alg is %.16s, only RS256 is accepted",
		    c->out->alg);
	return BK_OK;
}

int
oidc_check_header_keys(struct oidc_vctx *c)
{
	size_t i;

	for (i = 0; i < BK_NELEM(oidc_header_refused); i++)
		if (json_object_get(c->hdr, oidc_header_refused[i]) != NULL)
			return oidc_fail(&c->detail, BK_E_OIDC_HEADER,
			    "ID token header carries %s",
			    oidc_header_refused[i]);
	return BK_OK;
}

int
oidc_check_kid(struct oidc_vctx *c)
{
	const char *kid;
	int rv;

	rv = oidc_json_str(c->hdr, "kid", OIDC_KID_MAX, &kid);
	if (rv == BK_E_INVAL)
		return oidc_fail(&c->detail, BK_E_OIDC_HEADER,
		    "ID token kid is not a string of 1..%d bytes",
		    OIDC_KID_MAX);
	if (kid != NULL && (rv = oidc_strset(&c->out->kid, kid)) != BK_OK)
		return rv;
	rv = oidc_keyset_find(c->ks, kid, &c->key);
	if (rv == BK_E_OIDC_KID_UNKNOWN)
		return oidc_fail(&c->detail, rv,
		    "no key in the JWKS for the ID token's kid");
	if (rv == BK_E_OIDC_KID_MISSING)
		return oidc_fail(&c->detail, rv,
		    "ID token names no kid and the JWKS has %zu keys",
		    c->ks->n);
	if (rv == BK_E_OIDC_KEY_WEAK)
		return oidc_fail(&c->detail, rv,
		    "the ID token's key has fewer than %d bits",
		    OIDC_RSA_MIN_BITS);
	return rv;
}

int
oidc_check_signature(struct oidc_vctx *c)
{
	cjose_jws_t *jws;
	cjose_err err;
	uint8_t *p;
	size_t plen;
	int rv;

	if ((jws = cjose_jws_import(c->tok, c->len, &err)) == NULL)
		return err.code == CJOSE_ERR_NO_MEMORY ? BK_E_NOMEM :
		    oidc_fail(&c->detail, BK_E_OIDC_TOKEN_FORMAT,
		    "ID token is not a JWS: %.60s", err.message);
	if (!cjose_jws_verify(jws, c->key->jwk, &err)) {
		rv = err.code == CJOSE_ERR_NO_MEMORY ? BK_E_NOMEM :
		    oidc_fail(&c->detail, BK_E_OIDC_SIG_INVALID,
		    "ID token signature does not verify");
		goto out;
	}
	if (!cjose_jws_get_plaintext(jws, &p, &plen, &err)) {
		rv = BK_E_NOMEM;
		goto out;
	}
	rv = oidc_json_load((const char *)p, plen, OIDC_IDTOKEN_MAX,
	    &c->claims, NULL);
	if (rv != BK_OK)
		rv = oidc_fail(&c->detail, BK_E_OIDC_CLAIMS,
		    "ID token payload is not a JSON object");
out:
	cjose_jws_release(jws);
	return rv;
}
