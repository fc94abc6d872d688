/*
 * sso-broker: the claim steps of ID token verification, one rule each.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * OpenID Connect Core 1.0 section 3.1.3.7 and the errata, with the
 * broker's choices where the spec leaves them to the client: no audience
 * but our client_id is trusted, so an aud listing anyone else is refused
 * (O16); the iat window is now + skew back to OIDC_IAT_MAX_AGE (O19);
 * the nonce is always sent, so it is always required (O07); at_hash is
 * checked whenever present (O22); and Salesforce's sub, the identity URL,
 * pins the org (O25), since login.salesforce.com is every org's issuer.
 * Each step reads only the verified payload and returns one code.
 * Trust: the claims are signed by the provider but still checked as
 * untrusted input (types, lengths).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "bk.h"
#include "oidc_int.h"

/* OIDC 3.1.3.7 (2): exact string comparison (O13, O14). */
int
oidc_check_iss(struct oidc_vctx *c)
{
	const char *iss;
	int rv;

	if (oidc_json_str(c->claims, "iss", OIDC_URL_MAX, &iss) != BK_OK)
		return oidc_fail(&c->detail, BK_E_OIDC_ISS,
		    "ID token has no iss string");
	if ((rv = oidc_strset(&c->out->issuer, iss)) != BK_OK)
		return rv;
	if (strcmp(iss, c->e->issuer) != 0)
		return oidc_fail(&c->detail, BK_E_OIDC_ISS,
		    "ID token iss is not the configured issuer");
	return BK_OK;
}

/* 1 if v is a string equal to the client_id. */
static int
oidc_is_client(const json_t *v, const char *client_id)
{
	return json_is_string(v) && strcmp(json_string_value(v),
	    client_id) == 0;
}

/*
 * OIDC 3.1.3.7 (3): aud contains our client_id, and the token is refused
 * if it lists audiences we do not trust: we trust none other (O15-O17).
 */
int
oidc_check_aud(struct oidc_vctx *c)
{
	json_t *aud = json_object_get(c->claims, "aud");
	size_t i;

	if (json_is_string(aud)) {
		c->aud_n = 1;
		if (!oidc_is_client(aud, c->e->client_id))
			return oidc_fail(&c->detail, BK_E_OIDC_AUD,
			    "ID token aud is not our client_id");
		return BK_OK;
	}
	if (!json_is_array(aud) || json_array_size(aud) == 0)
		return oidc_fail(&c->detail, BK_E_OIDC_AUD,
		    "ID token has no aud");
	c->aud_n = json_array_size(aud);
	for (i = 0; i < c->aud_n; i++)
		if (!oidc_is_client(json_array_get(aud, i), c->e->client_id))
			return oidc_fail(&c->detail, BK_E_OIDC_AUD,
			    "ID token aud lists another audience");
	return BK_OK;
}

/*
 * OIDC 3.1.3.7 (4, 5 as amended by the errata): azp, when present, is our
 * client_id; with several aud entries it must be present.
 */
int
oidc_check_azp(struct oidc_vctx *c)
{
	json_t *azp = json_object_get(c->claims, "azp");

	if (azp == NULL && c->aud_n > 1)
		return oidc_fail(&c->detail, BK_E_OIDC_AZP,
		    "ID token has several aud entries and no azp");
	if (azp != NULL && !oidc_is_client(azp, c->e->client_id))
		return oidc_fail(&c->detail, BK_E_OIDC_AZP,
		    "ID token azp is not our client_id");
	return BK_OK;
}

/* OIDC 3.1.3.7 (9): now is before exp, with the configured skew (O18). */
int
oidc_check_exp(struct oidc_vctx *c)
{
	if (oidc_json_time(c->claims, "exp", &c->out->exp) != BK_OK)
		return oidc_fail(&c->detail, BK_E_OIDC_EXPIRED,
		    "ID token has no numeric exp");
	if (c->now >= c->out->exp + c->e->clock_skew)
		return oidc_fail(&c->detail, BK_E_OIDC_EXPIRED,
		    "ID token expired %lld s ago",
		    (long long)(c->now - c->out->exp));
	return BK_OK;
}

/* RFC 7519 4.1.5: not before nbf (optional in an ID token). */
int
oidc_check_nbf(struct oidc_vctx *c)
{
	time_t nbf;
	int rv = oidc_json_time(c->claims, "nbf", &nbf);

	if (rv == BK_E_NOT_FOUND)
		return BK_OK;
	if (rv != BK_OK || nbf > c->now + c->e->clock_skew)
		return oidc_fail(&c->detail, BK_E_OIDC_NBF,
		    "ID token nbf is not a time or in the future");
	return BK_OK;
}

/* OIDC 3.1.3.7 (10): iat present, not ahead of us, not old (O19). */
int
oidc_check_iat(struct oidc_vctx *c)
{
	int age = c->e->iat_max_age > 0 ? c->e->iat_max_age : OIDC_IAT_MAX_AGE;

	if (oidc_json_time(c->claims, "iat", &c->out->iat) != BK_OK)
		return oidc_fail(&c->detail, BK_E_OIDC_IAT,
		    "ID token has no numeric iat");
	if (c->out->iat > c->now + c->e->clock_skew)
		return oidc_fail(&c->detail, BK_E_OIDC_IAT,
		    "ID token iat is %lld s in the future",
		    (long long)(c->out->iat - c->now));
	if (c->out->iat < c->now - c->e->clock_skew - age)
		return oidc_fail(&c->detail, BK_E_OIDC_IAT,
		    "ID token iat is %lld s old (at most %d)",
		    (long long)(c->now - c->out->iat), age);
	return BK_OK;
}

/*
 * OIDC 3.1.3.7 (11): the nonce we sent, compared in constant time; or its
 * SHA-256 (hex), when only the digest was kept.
 */
int
oidc_check_nonce(struct oidc_vctx *c)
{
	const char	*n, *want;
	char		 d[BK_DIGEST_HEX + 1];
	int		 rv;

	rv = oidc_json_str(c->claims, "nonce", OIDC_STR_MAX, &n);

	if (rv == BK_E_NOT_FOUND)
		return oidc_fail(&c->detail, BK_E_OIDC_NONCE_MISSING,
		    "ID token has no nonce");
	want = c->e->nonce;
	if (rv == BK_OK && c->e->nonce_digest != NULL) {
		bk_sha256_hex(n, strlen(n), d);
		n = d;
		want = c->e->nonce_digest;
	}
	if (rv != BK_OK || !bk_ct_eq(n, strlen(n), want, strlen(want)))
		return oidc_fail(&c->detail, BK_E_OIDC_NONCE,
		    "ID token nonce is not this sign-in's");
	return BK_OK;
}

/*
 * OIDC 3.3.2.11: at_hash is the base64url of the left half of SHA-256 of
 * the access token (RS256).  Checked whenever present (O22).
 */
int
oidc_check_at_hash(struct oidc_vctx *c)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	const char *h, *at = c->e->access_token;
	char *want;
	int rv = oidc_json_str(c->claims, "at_hash", 64, &h);

	if (rv == BK_E_NOT_FOUND)
		return BK_OK;
	if (rv != BK_OK || at == NULL)
		return oidc_fail(&c->detail, BK_E_OIDC_AT_HASH,
		    "ID token at_hash cannot be checked");
	bk_sha256(at, strlen(at), md);
	if ((want = bk_b64url_encode(md, sizeof(md) / 2)) == NULL)
		return BK_E_NOMEM;
	rv = bk_ct_eq(h, strlen(h), want, strlen(want)) ? BK_OK :
	    oidc_fail(&c->detail, BK_E_OIDC_AT_HASH,
	    "ID token at_hash does not match the access token");
	free(want);
	return rv;
}

/* O20: sub present; Salesforce's is its identity URL. */
int
oidc_check_sub(struct oidc_vctx *c)
{
	const char *sub;
	int rv;

	if (oidc_json_str(c->claims, "sub", OIDC_URL_MAX, &sub) != BK_OK)
		return oidc_fail(&c->detail, BK_E_OIDC_SUB,
		    "ID token has no sub string");
	if ((rv = oidc_strset(&c->out->sub, sub)) != BK_OK)
		return rv;
	if (oidc_identity_parse(sub, &c->sub_id) != BK_OK)
		return oidc_fail(&c->detail, BK_E_OIDC_SUB,
		    "ID token sub is not https://host/id/<org>/<user>");
	memcpy(c->out->org_id, c->sub_id.org_id, sizeof(c->out->org_id));
	memcpy(c->out->user_id, c->sub_id.user_id, sizeof(c->out->user_id));
	return BK_OK;
}

/* O25: the org in sub is the configured one (15- and 18-char alike). */
int
oidc_check_org(struct oidc_vctx *c)
{
	char want[OIDC_SFID_LEN + 1];

	if (oidc_sfid_parse(c->e->org_id, want) != BK_OK)
		return oidc_fail(&c->detail, BK_E_OIDC_ORG,
		    "the configured org_id is not a Salesforce ID");
	if (strcmp(want, c->sub_id.org_id) != 0)
		return oidc_fail(&c->detail, BK_E_OIDC_ORG,
		    "ID token is for org %s, not the configured org",
		    c->sub_id.org_id);
	return BK_OK;
}

/* The token response's identity URL names the same org and user. */
int
oidc_check_identity(struct oidc_vctx *c)
{
	struct oidc_identity id;

	/* Usually the very same string as sub: nothing more to compare. */
	if (c->e->identity_url == NULL ||
	    strcmp(c->e->identity_url, c->out->sub) == 0)
		return BK_OK;
	if (oidc_identity_parse(c->e->identity_url, &id) != BK_OK)
		return oidc_fail(&c->detail, BK_E_OIDC_IDENTITY,
		    "the token response id is not an identity URL");
	if (strcmp(id.org_id, c->sub_id.org_id) != 0 ||
	    strcmp(id.user_id, c->sub_id.user_id) != 0)
		return oidc_fail(&c->detail, BK_E_OIDC_IDENTITY,
		    "the token response id is another user than sub");
	return BK_OK;
}

/* preferred_username, when the token has it, must be a usable name. */
int
oidc_check_username(struct oidc_vctx *c)
{
	json_t *v = json_object_get(c->claims, "preferred_username");

	if (v == NULL)
		return BK_OK;
	if (!json_is_string(v) || oidc_username_check(json_string_value(v),
	    json_string_length(v)) != BK_OK)
		return oidc_fail(&c->detail, BK_E_OIDC_USERNAME,
		    "ID token preferred_username is not acceptable");
	return oidc_strset(&c->out->username, json_string_value(v));
}
