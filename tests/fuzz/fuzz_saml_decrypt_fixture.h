/*
 * sso-broker: the encrypted-assertion fixture shared by fuzz_saml_decrypt
 * and tests/unit/test_saml_enc.c: two test tenants and an in-process
 * stand-in for the key holder's unwrap (broker/keys.c does it for real).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Tenant "enc": SP certificate sp.crt, rollover certificate idp2.crt (a
 * test key reused as the next SP key), AES-GCM only.  Tenant "cbc": the
 * same keys, allow_cbc and require_encryption.  The unwrap does RSA-OAEP
 * with sp.key (slot 0) or idp2.key (slot 1) as the holder does, and counts
 * its calls.  Test keys only (tests/keys/README).
 * Trust: the inputs are hostile; the keys are published test keys.
 */
#ifndef FUZZ_SAML_DECRYPT_FIXTURE_H
#define FUZZ_SAML_DECRYPT_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "bk.h"
#include "saml.h"

#ifndef KEYDIR
#define KEYDIR "tests/keys"
#endif
#define FUZZ_NOW	((time_t)1767225600)	/* 2026-01-01T00:00:00Z */

struct fx_enc {
	struct saml_tenant	*enc, *cbc;
	EVP_PKEY		*key[2];
	int			 calls;		/* unwraps since reset */
	int			 force;		/* != BK_OK: the answer */
};

static EVP_PKEY *
fx_enc_key(const char *name)
{
	char	 path[512];
	FILE	*f;
	EVP_PKEY *k = NULL;

	snprintf(path, sizeof(path), "%s/%s", KEYDIR, name);
	if ((f = fopen(path, "r")) != NULL) {
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (k == NULL)
		abort();
	return k;
}

static struct saml_tenant *
fx_enc_tenant(const char *id, int cbc)
{
	struct saml_sp_params	 p;
	struct saml_tenant	*t = NULL;
	char			*why = NULL;

	memset(&p, 0, sizeof(p));
	p.tenant_id = id;
	p.sp_entity_id = "https://broker.test/sp";
	p.acs_url = "https://broker.test/acs";
	p.sp_cert_path = KEYDIR "/sp.crt";
	p.sp_next_cert_path = KEYDIR "/idp2.crt";
	p.idp_metadata_path = KEYDIR "/idp-metadata-rollover.xml";
	p.clock_skew = 60;
	p.allow_cbc = cbc;
	p.require_encryption = cbc;
	if (saml_tenant_new(&p, &t, &why) != BK_OK) {
		fprintf(stderr, "fx_enc: %s\n", why != NULL ? why : "?");
		abort();
	}
	return t;
}

static struct fx_enc *
fx_enc_get(void)
{
	static struct fx_enc	 fx;

	if (fx.enc != NULL)
		return &fx;
	if (saml_init() != BK_OK)
		abort();
	fx.enc = fx_enc_tenant("enc", 0);
	fx.cbc = fx_enc_tenant("cbc", 1);
	fx.key[0] = fx_enc_key("sp.key");
	fx.key[1] = fx_enc_key("idp2.key");
	return &fx;
}

/* The key holder's unwrap, in process (keys_rsa_unwrap()). */
static int
fx_enc_unwrap_cb(void *arg, int slot, int oaep_md, int mgf1_md,
    const unsigned char *wrapped, size_t len, unsigned char *cek,
    size_t cek_len)
{
	struct fx_enc	*fx = arg;
	EVP_PKEY_CTX	*pc;
	unsigned char	 out[1024];
	size_t		 outlen = sizeof(out);
	int		 ok;

	fx->calls++;
	if (fx->force != BK_OK)
		return fx->force;
	if (slot < 0 || slot > 1 || len == 0 || len > SAML_WRAPPED_MAX ||
	    (pc = EVP_PKEY_CTX_new(fx->key[slot], NULL)) == NULL)
		return BK_E_INTERNAL;
	ok = EVP_PKEY_decrypt_init(pc) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_oaep_md(pc, oaep_md == SAML_MD_SHA256 ?
	    EVP_sha256() : EVP_sha1()) == 1 &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, mgf1_md == SAML_MD_SHA256 ?
	    EVP_sha256() : EVP_sha1()) == 1 &&
	    EVP_PKEY_decrypt(pc, out, &outlen, wrapped, len) == 1 &&
	    outlen == cek_len;
	if (ok)
		memcpy(cek, out, cek_len);
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
	return ok ? BK_OK : BK_E_KEYS_UNWRAP;
}

/* Verify raw Response XML against t with the stand-in holder. */
static int
fx_enc_verify(struct fx_enc *fx, struct saml_tenant *t, const void *xml,
    size_t len, struct saml_result *res, char **detail)
{
	struct saml_unwrap	 uw = { fx_enc_unwrap_cb, fx };
	char			*b64;
	int			 rv;

	memset(res, 0, sizeof(*res));
	*detail = NULL;
	if ((b64 = bk_b64_encode(xml, len)) == NULL)
		return BK_E_NOMEM;
	rv = saml_response_verify_enc(t, b64, strlen(b64), FUZZ_NOW, &uw, res,
	    detail);
	free(b64);
	return rv;
}

#endif /* FUZZ_SAML_DECRYPT_FIXTURE_H */
