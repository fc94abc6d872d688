/*
 * sso-broker: fuzz target for saml_logout_verify(), the LogoutRequest and
 * LogoutResponse of single logout (HTTP-Redirect binding).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The first byte of an input chooses how the rest is used, against one
 * fixed test tenant (tests/keys/idp-metadata-slo.xml) at a fixed clock:
 * even, the rest is the raw query string itself (the split, SigAlg and
 * Signature path); odd, the rest is a message's XML, which is DEFLATE-
 * and base64-encoded and signed here with the test IdP key as a
 * SAMLRequest (bit 1 clear) or SAMLResponse (bit 1 set), so the fuzzer
 * reaches the inflate, the hardened parse and every check after the
 * signature; bit 2 set (and bit 0 clear), the rest is the HTTP-POST
 * binding's XML (unsigned by the key: it must never verify).  The
 * contract is checked, not only survived: a message that
 * verifies comes from the tenant's IdP, to our SingleLogoutService, and a
 * refusal always says why.  The seeds are in tests/corpus/saml_logout.
 * Trust: the input is hostile; the tenant and keys are test-only.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "bk.h"
#include "saml.h"

#ifndef KEYDIR
#define KEYDIR "tests/keys"
#endif
#define FUZZ_NOW	((time_t)1767225600)	/* 2026-01-01T00:00:00Z */

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
fuzz_lo_dir(void)
{
	const char	*dir = getenv("SAML_FUZZ_KEYDIR");

	return dir != NULL ? dir : KEYDIR;
}

static struct saml_tenant *
fuzz_lo_tenant(void)
{
	static struct saml_tenant *t;
	struct saml_sp_params	 p;
	char			 md[512], crt[512], *why = NULL;

	if (t != NULL)
		return t;
	snprintf(md, sizeof(md), "%s/idp-metadata-slo.xml", fuzz_lo_dir());
	snprintf(crt, sizeof(crt), "%s/sp.crt", fuzz_lo_dir());
	memset(&p, 0, sizeof(p));
	p.tenant_id = "fuzz";
	p.sp_entity_id = "https://broker.test/sp";
	p.acs_url = "https://broker.test/acs";
	p.sp_cert_path = crt;
	p.idp_metadata_path = md;
	p.clock_skew = 60;
	if (saml_init() != BK_OK || saml_tenant_new(&p, &t, &why) != BK_OK) {
		fprintf(stderr, "fuzz_saml_logout: %s\n",
		    why != NULL ? why : "saml_init failed");
		abort();
	}
	return t;
}

static EVP_PKEY *
fuzz_lo_key(void)
{
	static EVP_PKEY	*pk;
	char		 path[512];
	FILE		*f;

	if (pk != NULL)
		return pk;
	snprintf(path, sizeof(path), "%s/idp.key", fuzz_lo_dir());
	if ((f = fopen(path, "r")) == NULL ||
	    (pk = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
		abort();
	fclose(f);
	return pk;
}

static void
fuzz_lo_one(const char *query)
{
	struct saml_tenant	*t = fuzz_lo_tenant();
	struct saml_tenant_info	 info;
	struct saml_logout_msg	 m;
	char			*detail = NULL;
	int			 rv;

	rv = saml_logout_verify(t, query, FUZZ_NOW, &m, &detail);
	saml_tenant_info(t, &info);
	if (rv == BK_OK && (m.issuer == NULL || strcmp(m.issuer,
	    info.idp_entity_id) != 0 || m.destination == NULL ||
	    strcmp(m.destination, "https://broker.test/slo") != 0 ||
	    m.id == NULL || (m.is_response && m.in_response_to == NULL) ||
	    (!m.is_response && m.name_id == NULL)))
		abort();
	if (rv != BK_OK && rv != BK_E_NOMEM && detail == NULL)
		abort();
	saml_logout_cleanup(&m);
	free(detail);
}

/* xml as a signed Redirect-binding message, then verified. */
static void
fuzz_lo_signed(const char *xml, size_t len, int response)
{
	unsigned char	 sig[512];
	size_t		 siglen = sizeof(sig);
	EVP_MD_CTX	*m;
	char		*b64 = NULL, *q = NULL, *url = NULL;

	if (saml_redirect_encode(xml, len, &b64) != BK_OK)
		return;
	if (saml_redirect_query_build(response ? "SAMLResponse" :
	    "SAMLRequest", b64, NULL, 1, &q) == BK_OK &&
	    (m = EVP_MD_CTX_new()) != NULL) {
		if (EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL,
		    fuzz_lo_key()) == 1 && EVP_DigestSign(m, sig, &siglen,
		    (const unsigned char *)q, strlen(q)) == 1 &&
		    saml_redirect_url_build("x", q, sig, siglen, &url) ==
		    BK_OK)
			fuzz_lo_one(url + 2);
		EVP_MD_CTX_free(m);
	}
	free(url);
	free(q);
	free(b64);
}

/* xml as the HTTP-POST binding's form value (its own XML signature). */
static void
fuzz_lo_post(const char *xml, size_t len, int response)
{
	struct saml_logout_msg	 m;
	char			*b64, *detail = NULL;
	int			 rv;

	if ((b64 = bk_b64_encode(xml, len)) == NULL)
		return;
	rv = saml_logout_verify_post(fuzz_lo_tenant(), response ?
	    "SAMLResponse" : "SAMLRequest", b64, NULL, FUZZ_NOW, &m, &detail);
	/* nothing here is signed by the IdP's key */
	if (rv == BK_OK || (rv != BK_E_NOMEM && detail == NULL))
		abort();
	saml_logout_cleanup(&m);
	free(detail);
	free(b64);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	if (size == 0 || (s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if ((data[0] & 5) == 4)
		fuzz_lo_post(s, size - 1, (data[0] & 2) != 0);
	else if ((data[0] & 1) == 0)
		fuzz_lo_one(s);
	else if (size > 1)
		fuzz_lo_signed(s, size - 1, (data[0] & 2) != 0);
	free(s);
	return 0;
}
