/*
 * sso-broker: IdP metadata from a URL: the pinned metadata-signing
 * certificate, and the refresh of a tenant's IdP keys (issue 11 item 4).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A fetched document goes through the same checks as the file
 * (saml_md_parse(), with the message shape limits of saml_limits.c on
 * top, because it comes from the network), into a scratch tenant; only
 * when every check passed are its keys exchanged with the tenant's, so a
 * document that fails never replaces good metadata.  The signature on
 * the metadata is checked as the signature of a Response is (saml_sig.c:
 * the SAML signature profile, then the RSA signature over SignedInfo with
 * the pinned key alone, then the Reference), like Shibboleth's
 * SignatureMetadataFilter: the certificate comes from the configuration,
 * never from the document's KeyInfo.
 * Trust: the fetched document is untrusted; the pinned certificate is
 * operator input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bk.h"
#include "saml_int.h"

/* A tenant whose one key verifies metadata signatures (RSA-SHA2 only). */
static int
saml_md_pin_new(const unsigned char *der, size_t len,
    struct saml_tenant **out, const char **why)
{
	struct saml_tenant	*pin;
	int			 rv;

	*out = NULL;
	if ((pin = calloc(1, sizeof(*pin))) == NULL)
		return BK_E_NOMEM;
	if ((rv = saml_sig_key_from_der(der, len, &pin->keys[0],
	    &pin->info.certs[0], why)) == BK_OK &&
	    (rv = saml_si_key_ready(pin, 0)) != BK_OK)
		*why = "the key cannot verify";
	if (rv != BK_OK) {
		saml_tenant_free(pin);
		return rv == BK_E_NOMEM ? rv : BK_E_SAML_CERT;
	}
	pin->info.n_certs = 1;
	*out = pin;
	return BK_OK;
}

int
saml_tenant_pin_load(struct saml_tenant *t, const char *path, char **why)
{
	FILE		*f;
	X509		*x = NULL;
	unsigned char	*der = NULL;
	const char	*reason = "cannot read PEM certificate";
	struct bk_buf	 b;
	int		 len, rv = BK_E_SAML_CERT;

	*why = NULL;
	if ((f = fopen(path, "r")) != NULL) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (x != NULL && (len = i2d_X509(x, &der)) > 0) {
		saml_tenant_free(t->md_pin);
		t->md_pin = NULL;
		rv = saml_md_pin_new(der, (size_t)len, &t->md_pin, &reason);
	}
	if (rv != BK_OK && rv != BK_E_NOMEM) {
		bk_buf_init(&b, 1024);
		(void)bk_buf_addf(&b, "%s: metadata_signing_cert: %s", path,
		    reason);
		*why = bk_buf_take(&b);
		bk_buf_free(&b);
	}
	OPENSSL_free(der);
	X509_free(x);
	return rv;
}

/*
 * The root's enveloped Signature, by pin's key: the profile of
 * saml_sig_check_profile() (one Reference to the root's ID, enveloped and
 * exclusive c14n, RSA-SHA2), then saml_sig_verify().
 */
int
saml_md_sig_check(const struct saml_tenant *pin, xmlDocPtr doc,
    xmlNodePtr root, const char **reason)
{
	struct saml_ctx	 c;
	xmlNodePtr	 sig = NULL;
	char		 fp[SAML_FP_LEN + 1];
	int		 rv;

	memset(&c, 0, sizeof(c));
	c.t = pin;
	c.doc = doc;
	c.now = bk_now();
	if (saml_sig_find(root, &sig) != BK_OK || sig == NULL) {
		*reason = "no enveloped Signature on the root element, and "
		    "metadata_signing_cert requires one";
		return BK_E_SAML_MD_UNSIGNED;
	}
	if ((rv = saml_check_prefix_lists(&c)) == BK_OK &&
	    (rv = saml_sig_check_profile(&c, root, sig)) == BK_OK)
		rv = saml_sig_verify(&c, root, sig, fp);
	free(c.detail);
	if (rv == BK_OK || rv == BK_E_NOMEM)
		return rv;
	*reason = "the signature does not verify with metadata_signing_cert, "
	    "or is out of the SAML signature profile";
	return BK_E_SAML_MD_SIGNATURE;
}

/* Exchange len bytes of a and b. */
static void
saml_md_xchg(void *a, void *b, size_t len)
{
	unsigned char	 tmp[2048];

	BK_ASSERT(len <= sizeof(tmp));
	memcpy(tmp, a, len);
	memcpy(a, b, len);
	memcpy(b, tmp, len);
}

/*
 * The IdP side of n into t, t's old one into n (freed with n).  Every
 * field that saml_md_parse() fills from the document, but the entityID
 * (the same by then), is exchanged here: one it would add must be too.
 */
static void
saml_md_swap(struct saml_tenant *t, struct saml_tenant *n)
{
	saml_md_xchg(t->keys, n->keys, sizeof(t->keys));
	saml_md_xchg(t->cert_der, n->cert_der, sizeof(t->cert_der));
	saml_md_xchg(t->cert_der_len, n->cert_der_len,
	    sizeof(t->cert_der_len));
	saml_md_xchg(t->verify_ctx, n->verify_ctx, sizeof(t->verify_ctx));
	saml_md_xchg(&t->info.n_certs, &n->info.n_certs,
	    sizeof(t->info.n_certs));
	saml_md_xchg(t->info.certs, n->info.certs, sizeof(t->info.certs));
	saml_md_xchg(t->info.idp_sso_url, n->info.idp_sso_url,
	    sizeof(t->info.idp_sso_url));
	saml_md_xchg(&t->info.metadata_valid_until,
	    &n->info.metadata_valid_until,
	    sizeof(t->info.metadata_valid_until));
	saml_md_xchg(t->info.idp_slo_url, n->info.idp_slo_url,
	    sizeof(t->info.idp_slo_url));
	saml_md_xchg(t->info.idp_slo_response_url,
	    n->info.idp_slo_response_url,
	    sizeof(t->info.idp_slo_response_url));
}

/* "reason" or "reason: entityID" into *detail (returned-owned). */
static void
saml_md_detail(char **detail, const char *reason, const char *eid)
{
	struct bk_buf	 b;

	bk_buf_init(&b, 1024);
	(void)bk_buf_addf(&b, "%s%s%s", reason, eid != NULL ? ": " : "",
	    eid != NULL ? eid : "");
	*detail = bk_buf_take(&b);
	bk_buf_free(&b);
}

int
saml_tenant_metadata_update(struct saml_tenant *t, const char *buf,
    size_t len, char **detail)
{
	struct saml_tenant	*n;
	const char		*reason = NULL, *eid = NULL;
	int			 rv;

	*detail = NULL;
	if (len > SAML_METADATA_MAX) {
		saml_md_detail(detail, "over 1 MiB", NULL);
		return BK_E_SAML_MD_TOOBIG;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return BK_E_NOMEM;
	n->allow_sha1 = 0;
	rv = saml_md_parse(n, buf, len, SAML_XML_LIMITS, t->md_pin, NULL,
	    &reason);
	if (rv == BK_OK && strcmp(n->info.idp_entity_id,
	    t->info.idp_entity_id) != 0) {
		rv = BK_E_SAML_MD_ENTITY;
		reason = "the document is for another entityID";
		eid = n->info.idp_entity_id;
	}
	if (rv == BK_OK)
		saml_md_swap(t, n);
	else if (rv != BK_E_NOMEM)
		saml_md_detail(detail, reason != NULL ? reason : "invalid",
		    eid);
	saml_tenant_free(n);
	return rv;
}
