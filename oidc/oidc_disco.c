/*
 * sso-broker: the provider's discovery document and its https endpoints.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * OpenID Connect Discovery 1.0 section 4.3: the issuer in the document
 * MUST be identical to the one the configuration was fetched for, or the
 * document is refused (the suite's discovery-issuer-mismatch).  Every
 * endpoint we call must be https (RFC 9700 2.6, SECURITY-CASES O30):
 * the ID token's trust rests on TLS to the token endpoint and the JWKS.
 * URLs are split by OpenSSL's OSSL_parse_url, never by hand.
 * Trust: the document is untrusted, the configured issuer is trusted.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/http.h>

#include "bk.h"
#include "oidc_int.h"

int
oidc_url_https_check(const char *url)
{
	char *scheme = NULL, *user = NULL, *host = NULL, *frag = NULL;
	int rv = BK_E_OIDC_ENDPOINT;

	if (url == NULL || strlen(url) > OIDC_URL_MAX ||
	    !bk_str_is_printable(url) || strchr(url, ' ') != NULL)
		return rv;
	if (OSSL_parse_url(url, &scheme, &user, &host, NULL, NULL, NULL, NULL,
	    &frag) != 1)
		goto out;
	/* No user info (credentials, or an "@" that hides the real host). */
	if (scheme != NULL && strcmp(scheme, "https") == 0 &&
	    (user == NULL || user[0] == '\0') && host != NULL &&
	    host[0] != '\0' && (frag == NULL || frag[0] == '\0') &&
	    strchr(url, '@') == NULL)
		rv = BK_OK;
out:
	OPENSSL_free(scheme);
	OPENSSL_free(user);
	OPENSSL_free(host);
	OPENSSL_free(frag);
	return rv;
}

void
oidc_provider_cleanup(struct oidc_provider *p)
{
	if (p == NULL)
		return;
	free(p->issuer);
	free(p->authorization_endpoint);
	free(p->token_endpoint);
	free(p->jwks_uri);
	free(p->userinfo_endpoint);
	memset(p, 0, sizeof(*p));
}

/* One required https endpoint member k into *dst. */
static int
oidc_disco_endpoint(const json_t *doc, const char *k, char **dst,
    char **detail)
{
	const char *v;

	if (oidc_json_str(doc, k, OIDC_URL_MAX, &v) != BK_OK)
		return oidc_fail(detail, BK_E_OIDC_DISCOVERY,
		    "discovery: %s missing or not a string", k);
	if (oidc_url_https_check(v) != BK_OK)
		return oidc_fail(detail, BK_E_OIDC_ENDPOINT,
		    "discovery: %s is not an https URL", k);
	return oidc_strset(dst, v);
}

/* When the provider lists its ID token algorithms, RS256 must be one. */
static int
oidc_disco_algs(const json_t *doc, char **detail)
{
	json_t *a;
	size_t i;

	a = json_object_get(doc, "id_token_signing_alg_values_supported");
	if (a == NULL)
		return BK_OK;
	if (!json_is_array(a))
		return oidc_fail(detail, BK_E_OIDC_DISCOVERY, "discovery: "
		    "id_token_signing_alg_values_supported is not an array");
	for (i = 0; i < json_array_size(a); i++)
		if (json_is_string(json_array_get(a, i)) &&
		    strcmp(json_string_value(json_array_get(a, i)),
		    "RS256") == 0)
			return BK_OK;
	return oidc_fail(detail, BK_E_OIDC_DISCOVERY,
	    "discovery: the provider does not sign ID tokens with RS256");
}

int
oidc_discovery_parse(const char *json, size_t len, const char *issuer,
    struct oidc_provider *out, char **detail)
{
	json_t *doc = NULL;
	const char *iss;
	int rv;

	memset(out, 0, sizeof(*out));
	if (detail != NULL)
		*detail = NULL;
	BK_ASSERT(issuer != NULL);
	if ((rv = oidc_json_load(json, len, OIDC_DISCOVERY_MAX, &doc,
	    detail)) != BK_OK)
		goto out;
	if (oidc_json_str(doc, "issuer", OIDC_URL_MAX, &iss) != BK_OK) {
		rv = oidc_fail(detail, BK_E_OIDC_DISCOVERY,
		    "discovery: issuer missing or not a string");
		goto out;
	}
	/* Discovery 4.3: identical, not merely equivalent. */
	if (strcmp(iss, issuer) != 0) {
		rv = oidc_fail(detail, BK_E_OIDC_DISCOVERY_ISSUER,
		    "discovery: issuer is not the configured issuer");
		goto out;
	}
	if ((rv = oidc_strset(&out->issuer, iss)) != BK_OK ||
	    (rv = oidc_disco_endpoint(doc, "authorization_endpoint",
	    &out->authorization_endpoint, detail)) != BK_OK ||
	    (rv = oidc_disco_endpoint(doc, "token_endpoint",
	    &out->token_endpoint, detail)) != BK_OK ||
	    (rv = oidc_disco_endpoint(doc, "jwks_uri", &out->jwks_uri,
	    detail)) != BK_OK ||
	    (rv = oidc_disco_endpoint(doc, "userinfo_endpoint",
	    &out->userinfo_endpoint, detail)) != BK_OK ||
	    (rv = oidc_disco_algs(doc, detail)) != BK_OK)
		goto out;
	rv = BK_OK;
out:
	json_decref(doc);
	if (rv != BK_OK)
		oidc_provider_cleanup(out);
	return rv;
}
