/*
 * sso-broker: ID token verification, as an ordered chain of one-rule
 * checks.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * oidc_idtoken_verify() runs these checks in this order; the first
 * failure wins and its code is returned (SECURITY-CASES row in brackets):
 *
 *  1 compact		OIDC_TOOBIG, OIDC_TOKEN_FORMAT: three non-empty parts
 *			(an unsigned "x.y." token fails here) [O11];
 *			OIDC_BASE64: each part base64url
 *  2 header		OIDC_BASE64, OIDC_JSON: one JSON object, no duplicate
 *			member
 *  3 alg		OIDC_ALG: exactly RS256; never none, HS256 (even keyed
 *			with the public key) or ES256 [O11, O12]
 *  4 header_keys	OIDC_HEADER: no jku, jwk, x5u, x5c, crit (nor b64,
 *			zip, enc) [RFC 8725 3.10]
 *  5 kid		OIDC_KID_UNKNOWN (the caller may refetch the JWKS, at
 *			most once per interval), OIDC_KID_MISSING (no kid and
 *			several keys), OIDC_KEY_WEAK [O21]
 *  6 signature		OIDC_SIG_INVALID (libcjose, RS256) [O10];
 *			OIDC_CLAIMS: the payload is a JSON object
 *  7 iss		OIDC_ISS: present, exactly the issuer [O13, O14]
 *  8 aud		OIDC_AUD: our client_id and no one else [O15-O17]
 *  9 azp		OIDC_AZP: our client_id when present; required with
 *			several aud entries [O16]
 * 10 exp		OIDC_EXPIRED: present, now < exp + skew [O18]
 * 11 nbf		OIDC_NBF: when present, not after now + skew
 * 12 iat		OIDC_IAT: present, within [now - skew - max age,
 *			now + skew] [O19]
 * 13 nonce		OIDC_NONCE_MISSING, OIDC_NONCE: the one sent, constant
 *			time [O07, O08]
 * 14 at_hash		OIDC_AT_HASH: when present, SHA-256 left half of the
 *			access token [O22]
 * 15 sub		OIDC_SUB: a Salesforce identity URL [O20]
 * 16 org		OIDC_ORG: the sub's org is org_id, 15/18 forms [O25]
 * 17 identity		OIDC_IDENTITY: the token response's id names the same
 *			org and user as sub [O23]
 * 18 username		OIDC_USERNAME: preferred_username, when present, is
 *			a usable name
 *
 * State, PKCE, nonce storage and replay (O01-O06, O09) and UserInfo
 * (oidc_userinfo_parse) are the caller's.
 * Trust: the token is untrusted; claims are read only after step 6.
 */
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "oidc_int.h"

static int (*const oidc_checks[])(struct oidc_vctx *) = {
	oidc_check_compact,
	oidc_check_header,
	oidc_check_alg,
	oidc_check_header_keys,
	oidc_check_kid,
	oidc_check_signature,
	oidc_check_iss,
	oidc_check_aud,
	oidc_check_azp,
	oidc_check_exp,
	oidc_check_nbf,
	oidc_check_iat,
	oidc_check_nonce,
	oidc_check_at_hash,
	oidc_check_sub,
	oidc_check_org,
	oidc_check_identity,
	oidc_check_username,
};

/*
 * A token refused after its signature verified: the sub and iat the
 * signed claims hold, for the audit record (never for a decision).
 */
static void
oidc_result_claimed(struct oidc_vctx *c)
{
	const char	*sub;

	if (c->out->sub == NULL && oidc_json_str(c->claims, "sub",
	    OIDC_URL_MAX, &sub) == BK_OK)
		(void)oidc_strset(&c->out->sub, sub);
	if (c->out->iat == 0 &&
	    oidc_json_time(c->claims, "iat", &c->out->iat) != BK_OK)
		c->out->iat = 0;
}

int
oidc_idtoken_verify(const struct oidc_keyset *ks, const struct oidc_expect *e,
    const char *tok, size_t len, time_t now, struct oidc_result *out,
    char **detail)
{
	struct oidc_vctx c;
	size_t i;
	int rv = BK_OK;

	memset(out, 0, sizeof(*out));
	if (detail != NULL)
		*detail = NULL;
	BK_ASSERT(ks != NULL && e != NULL && e->issuer != NULL &&
	    e->client_id != NULL && e->org_id != NULL &&
	    (e->nonce != NULL || e->nonce_digest != NULL));
	memset(&c, 0, sizeof(c));
	c.ks = ks;
	c.e = e;
	c.now = now;
	c.tok = tok;
	c.len = len;
	c.out = out;
	for (i = 0; i < BK_NELEM(oidc_checks) && rv == BK_OK; i++)
		rv = oidc_checks[i](&c);
	/* For the audit record only (OIDC core 2): optional, not checked. */
	if (c.claims != NULL &&
	    oidc_json_time(c.claims, "auth_time", &out->auth_time) != BK_OK)
		out->auth_time = 0;
	if (rv != BK_OK && rv != BK_E_NOMEM && c.claims != NULL)
		oidc_result_claimed(&c);
	if (rv == BK_OK) {
		free(c.detail);
		c.detail = NULL;
	} else if (rv == BK_E_NOMEM && c.detail == NULL)
		oidc_fail(&c.detail, rv, "out of memory");
	if (detail != NULL)
		*detail = c.detail;
	else
		free(c.detail);
	json_decref(c.hdr);
	json_decref(c.claims);
	return rv;
}

void
oidc_result_cleanup(struct oidc_result *r)
{
	if (r == NULL)
		return;
	free(r->issuer);
	free(r->sub);
	free(r->kid);
	free(r->username);
	memset(r, 0, sizeof(*r));
}
