/*
 * sso-broker: Salesforce's side of OpenID Connect: record IDs, the
 * identity URL, the token response and its signature, UserInfo.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A Salesforce ID is 15 case-sensitive characters, or 18: the same 15
 * plus 3 characters that encode which of them are upper case, so that the
 * 18-character form survives case-insensitive tools.  Both forms of one ID
 * must compare equal and two IDs differing only in case must not, so an
 * 18-character ID is checked against its suffix and reduced to 15.
 * The identity URL (the ID token's sub and the token response's id) is
 * https://<host>/id/<orgId>/<userId>; the org in it is what pins a
 * sign-in to the configured org (SECURITY-CASES O25).  The token
 * response's signature is base64(HMAC-SHA256(client secret, id ||
 * issued_at)) and proves the id came from the provider that knows our
 * secret.  URLs are split by OpenSSL, JSON read by jansson, base64 by
 * OpenSSL (bk_b64_decode), never by hand.
 * Trust: every document and URL is untrusted; the secret is trusted.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/http.h>
#include <openssl/sha.h>

#include "bk.h"
#include "oidc_int.h"

/* Caps on token response members (bytes). */
#define OIDC_ACCESS_TOKEN_MAX	8192
#define OIDC_ISSUED_AT_MAX	20
#define OIDC_SIGNATURE_MAX	128

static const char oidc_sfid_suffix[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

int
oidc_sfid_parse(const char *id, char out[OIDC_SFID_LEN + 1])
{
	size_t len, i, j;
	int flags;

	memset(out, 0, OIDC_SFID_LEN + 1);
	if (id == NULL || ((len = strlen(id)) != 15 && len != 18))
		return BK_E_INVAL;
	for (i = 0; i < OIDC_SFID_LEN; i++)
		if (!isascii((unsigned char)id[i]) ||
		    !isalnum((unsigned char)id[i]))
			return BK_E_INVAL;
	for (i = 0; len == 18 && i < 3; i++) {
		flags = 0;
		for (j = 0; j < 5; j++)
			if (id[i * 5 + j] >= 'A' && id[i * 5 + j] <= 'Z')
				flags |= 1 << j;
		if (id[OIDC_SFID_LEN + i] != oidc_sfid_suffix[flags])
			return BK_E_INVAL;
	}
	memcpy(out, id, OIDC_SFID_LEN);
	return BK_OK;
}

int
oidc_identity_parse(const char *url, struct oidc_identity *out)
{
	char *path = NULL, *query = NULL, *frag = NULL, *p, *org, *user;
	int rv = BK_E_OIDC_IDENTITY;

	memset(out, 0, sizeof(*out));
	if (oidc_url_https_check(url) != BK_OK)
		return rv;
	if (OSSL_parse_url(url, NULL, NULL, NULL, NULL, NULL, &path, &query,
	    &frag) != 1 || path == NULL || (query != NULL && query[0] != '\0'))
		goto out;
	/* /id/<org>/<user>, nothing more: one reading of the two IDs. */
	if (strncmp(path, "/id/", 4) != 0)
		goto out;
	org = path + 4;
	if ((p = strchr(org, '/')) == NULL)
		goto out;
	*p = '\0';
	user = p + 1;
	if (strchr(user, '/') != NULL)
		goto out;
	if (oidc_sfid_parse(org, out->org_id) != BK_OK ||
	    oidc_sfid_parse(user, out->user_id) != BK_OK) {
		memset(out, 0, sizeof(*out));
		goto out;
	}
	rv = BK_OK;
out:
	OPENSSL_free(path);
	OPENSSL_free(query);
	OPENSSL_free(frag);
	return rv;
}

void
oidc_token_response_cleanup(struct oidc_token_response *tr)
{
	if (tr == NULL)
		return;
	bk_strfree_secret(tr->access_token);
	bk_strfree_secret(tr->id_token);
	free(tr->id);
	free(tr->issued_at);
	free(tr->signature);
	free(tr->token_type);
	memset(tr, 0, sizeof(*tr));
}

/* Required string member k of 1..max bytes into *dst. */
static int
oidc_tr_member(const json_t *doc, const char *k, size_t max, char **dst,
    char **detail)
{
	const char *v;

	if (oidc_json_str(doc, k, max, &v) != BK_OK)
		return oidc_fail(detail, BK_E_OIDC_TOKEN_RESPONSE,
		    "token response: %s missing, not a string or too long", k);
	return oidc_strset(dst, v);
}

/* RFC 6749 5.2: an error answer, reported by its (printable) code. */
static int
oidc_tr_error(const json_t *doc, char **detail)
{
	const char *err;

	if (json_object_get(doc, "error") == NULL)
		return BK_OK;
	if (oidc_json_str(doc, "error", 64, &err) != BK_OK ||
	    !bk_str_is_printable(err))
		err = "(unreadable)";
	return oidc_fail(detail, BK_E_OIDC_TOKEN_RESPONSE,
	    "token endpoint error: %s", err);
}

static int
oidc_tr_fields(const json_t *doc, struct oidc_token_response *tr,
    char **detail)
{
	size_t i;
	int rv;

	if ((rv = oidc_tr_error(doc, detail)) != BK_OK ||
	    (rv = oidc_tr_member(doc, "access_token", OIDC_ACCESS_TOKEN_MAX,
	    &tr->access_token, detail)) != BK_OK ||
	    (rv = oidc_tr_member(doc, "id_token", OIDC_IDTOKEN_MAX,
	    &tr->id_token, detail)) != BK_OK ||
	    (rv = oidc_tr_member(doc, "id", OIDC_URL_MAX, &tr->id,
	    detail)) != BK_OK ||
	    (rv = oidc_tr_member(doc, "issued_at", OIDC_ISSUED_AT_MAX,
	    &tr->issued_at, detail)) != BK_OK ||
	    (rv = oidc_tr_member(doc, "signature", OIDC_SIGNATURE_MAX,
	    &tr->signature, detail)) != BK_OK ||
	    (rv = oidc_tr_member(doc, "token_type", 32, &tr->token_type,
	    detail)) != BK_OK)
		return rv;
	/* RFC 6749 7.1: the type name is case-insensitive. */
	if (strcasecmp(tr->token_type, "Bearer") != 0)
		return oidc_fail(detail, BK_E_OIDC_TOKEN_RESPONSE,
		    "token response: token_type is not Bearer");
	for (i = 0; tr->issued_at[i] != '\0'; i++)
		if (!isdigit((unsigned char)tr->issued_at[i]))
			return oidc_fail(detail, BK_E_OIDC_TOKEN_RESPONSE,
			    "token response: issued_at is not digits");
	return BK_OK;
}

int
oidc_token_response_parse(const char *json, size_t len,
    struct oidc_token_response *out, char **detail)
{
	json_t *doc = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if (detail != NULL)
		*detail = NULL;
	/* A refresh_token is never read: it is not copied anywhere. */
	if ((rv = oidc_json_load(json, len, OIDC_TOKENRESP_MAX, &doc,
	    detail)) == BK_OK)
		rv = oidc_tr_fields(doc, out, detail);
	json_decref(doc);
	if (rv != BK_OK)
		oidc_token_response_cleanup(out);
	return rv;
}

int
oidc_token_signature_verify(const struct oidc_token_response *tr,
    const char *secret, size_t slen)
{
	unsigned char mac[EVP_MAX_MD_SIZE], *sig = NULL;
	struct bk_buf msg;
	unsigned int maclen = 0;
	size_t siglen = 0;
	int rv = BK_E_OIDC_TOKEN_SIGNATURE;

	bk_buf_init(&msg, OIDC_URL_MAX + OIDC_ISSUED_AT_MAX);
	if (tr->id == NULL || tr->issued_at == NULL || tr->signature == NULL ||
	    secret == NULL || slen == 0 || slen > INT32_MAX)
		goto out;
	if (bk_buf_adds(&msg, tr->id) != BK_OK ||
	    bk_buf_adds(&msg, tr->issued_at) != BK_OK)
		goto out;
	if (bk_b64_decode(tr->signature, strlen(tr->signature), 64, &sig,
	    &siglen) != BK_OK)
		goto out;
	if (HMAC(EVP_sha256(), secret, (int)slen,
	    (const unsigned char *)msg.data, msg.len, mac, &maclen) == NULL)
		goto out;
	if (siglen == maclen && CRYPTO_memcmp(sig, mac, maclen) == 0)
		rv = BK_OK;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	free(sig);
	bk_buf_free(&msg);
	return rv;
}

int
oidc_username_check(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || len == 0 || len > OIDC_USERNAME_MAX ||
	    strlen(s) != len || s[0] == ' ' || s[len - 1] == ' ')
		return BK_E_OIDC_USERNAME;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return BK_E_OIDC_USERNAME;
	return BK_OK;
}

/* The answer's sub (UserInfo) or id (identity answer) is the token's sub. */
static int
oidc_userinfo_who(const json_t *doc, const char *sub, char **detail)
{
	struct oidc_identity want, got;
	char org[OIDC_SFID_LEN + 1];
	const char *who, *v;

	if (oidc_identity_parse(sub, &want) != BK_OK)
		return oidc_fail(detail, BK_E_OIDC_USERINFO_SUB,
		    "the ID token sub is not an identity URL");
	if (oidc_json_str(doc, "sub", OIDC_URL_MAX, &who) != BK_OK &&
	    oidc_json_str(doc, "id", OIDC_URL_MAX, &who) != BK_OK)
		return oidc_fail(detail, BK_E_OIDC_USERINFO,
		    "UserInfo: neither sub nor id");
	/* O23: the answer is about the signed-in user, in either form. */
	if (oidc_identity_parse(who, &got) != BK_OK ||
	    strcmp(got.org_id, want.org_id) != 0 ||
	    strcmp(got.user_id, want.user_id) != 0)
		return oidc_fail(detail, BK_E_OIDC_USERINFO_SUB,
		    "UserInfo is about another user than the ID token");
	if (oidc_json_str(doc, "organization_id", 32, &v) == BK_OK &&
	    (oidc_sfid_parse(v, org) != BK_OK || strcmp(org,
	    want.org_id) != 0))
		return oidc_fail(detail, BK_E_OIDC_USERINFO_SUB,
		    "UserInfo organization_id is another org");
	if (oidc_json_str(doc, "user_id", 32, &v) == BK_OK &&
	    (oidc_sfid_parse(v, org) != BK_OK || strcmp(org,
	    want.user_id) != 0))
		return oidc_fail(detail, BK_E_OIDC_USERINFO_SUB,
		    "UserInfo user_id is another user");
	return BK_OK;
}

int
oidc_userinfo_parse(const char *json, size_t len, const char *sub,
    char **username, char **detail)
{
	json_t *doc = NULL, *u;
	int rv;

	*username = NULL;
	if (detail != NULL)
		*detail = NULL;
	if ((rv = oidc_json_load(json, len, OIDC_USERINFO_MAX, &doc,
	    detail)) != BK_OK || (rv = oidc_userinfo_who(doc, sub,
	    detail)) != BK_OK)
		goto out;
	if ((u = json_object_get(doc, "preferred_username")) == NULL)
		u = json_object_get(doc, "username");
	if (!json_is_string(u) || oidc_username_check(json_string_value(u),
	    json_string_length(u)) != BK_OK) {
		rv = oidc_fail(detail, BK_E_OIDC_USERNAME,
		    "UserInfo has no acceptable preferred_username");
		goto out;
	}
	rv = oidc_strset(username, json_string_value(u));
out:
	json_decref(doc);
	return rv;
}

void
oidc_pkce_s256(const char *verifier, char out[44])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char *s;

	bk_sha256(verifier, strlen(verifier), md);
	memset(out, 0, 44);
	/* bk_b64url_encode fails only for want of memory: fail closed. */
	if ((s = bk_b64url_encode(md, sizeof(md))) != NULL) {
		memcpy(out, s, strlen(s) < 43 ? strlen(s) : 43);
		free(s);
	}
}
