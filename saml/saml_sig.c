/*
 * sso-broker: SAML signature profile checks and xmlsec verification.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Before xmlsec sees a ds:Signature we enforce the SAML signature profile
 * ourselves, the way OpenSAML's SignatureProfileValidator does (SAML core
 * 5.4, SECURITY-CASES S18-S22, S25-S30): the Signature is a direct child of
 * the signed element, one Reference whose URI is "#" + that element's ID,
 * no ds:Object, only the enveloped and exclusive-c14n transforms, and an
 * algorithm allow-list (SHA-1 only when the tenant allows it).  Then the
 * two halves of XML-DSig core validation: saml_si.c checks the RSA
 * signature over the canonical SignedInfo with each pinned key (OpenSSL;
 * KeyInfo in the message is never read, S16, S31), and only then xmlsec
 * validates the one Reference (digest of the signed element after the
 * enveloped and exclusive-c14n transforms), restricted to those transforms
 * and to same-document URIs (it allows XSLT and XPath by default before
 * PR #1221).  xmlSecDSigCtxVerify() would canonicalize SignedInfo and
 * verify the same RSA signature with the same key a second time, and ask
 * the key its type through three OpenSSL parameter exports (issue 7: a
 * fifth of a sign-in), so it is not called.
 * Trust: the signed element and its Signature are untrusted nodes; the
 * keys come from the tenant's IdP metadata.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <libxml/parser.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/transforms.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/evp.h>

#include "bk.h"
#include "saml_int.h"

#define ALG_EXC_C14N	"http://www.w3.org/2001/10/xml-exc-c14n#"
#define ALG_C14N	"http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
#define ALG_ENVELOPED	"http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#define ALG_RSA_SHA1	"http://www.w3.org/2000/09/xmldsig#rsa-sha1"
#define ALG_SHA1	"http://www.w3.org/2000/09/xmldsig#sha1"

static const char *const saml_sig_c14n_algs[] = {
	ALG_EXC_C14N, ALG_C14N, NULL
};
static const char *const saml_sig_sign_algs[] = {
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", NULL
};
static const char *const saml_sig_digest_algs[] = {
	"http://www.w3.org/2001/04/xmlenc#sha256",
	"http://www.w3.org/2001/04/xmldsig-more#sha384",
	"http://www.w3.org/2001/04/xmlenc#sha512", NULL
};

/** Find elem's direct ds:Signature child (NULL if none); two is an error. */
int
saml_sig_find(xmlNodePtr elem, xmlNodePtr *sig)
{
	size_t n = saml_xml_count(elem, SAML_NS_DS, "Signature");

	*sig = NULL;
	if (n > 1)
		return BK_E_SAML_SIG_SHAPE;
	if (n == 1)
		*sig = saml_xml_child(elem, SAML_NS_DS, "Signature");
	return BK_OK;
}

/* 1 if n's Algorithm is in list, or is the SHA-1 form sha1 when allowed. */
static int
saml_sig_alg_ok(const xmlNode *n, const char *const *list, const char *sha1,
    int allow_sha1)
{
	const char *alg = saml_xml_attr(n, "Algorithm");
	size_t i;

	if (alg == NULL)
		return 0;
	for (i = 0; list[i] != NULL; i++)
		if (strcmp(alg, list[i]) == 0)
			return 1;
	return allow_sha1 && sha1 != NULL && strcmp(alg, sha1) == 0;
}

/*
 * 1 if n has no element children other than one optional, empty
 * {exc-c14n}InclusiveNamespaces (xmlsec reads only the first one; its
 * PrefixList is bounded by saml_check_prefix_lists()).
 */
static int
saml_sig_c14n_children_ok(xmlNodePtr n)
{
	xmlNodePtr k = saml_xml_first_elem(n->children);

	if (k == NULL)
		return 1;
	return saml_xml_is(k, ALG_EXC_C14N, "InclusiveNamespaces") &&
	    saml_xml_first_elem(k->children) == NULL &&
	    saml_xml_next_elem(k) == NULL;
}

/*
 * 1 if n holds only text, at most max bytes of it: SignatureValue and
 * DigestValue are base64 that xmlsec decodes (S25: no comment or markup).
 */
static int
saml_sig_b64_text_ok(const xmlNode *n, size_t max)
{
	const xmlNode *k;
	size_t len = 0;

	if (saml_xml_has_markup(n))
		return 0;
	for (k = n->children; k != NULL; k = k->next)
		if (k->content != NULL &&
		    (len += strlen((const char *)k->content)) > max)
			return 0;
	return 1;
}

/*
 * Transforms: enveloped, then exclusive c14n (S26 XSLT, S27 XPath, S28
 * #WithComments are all refused here).
 */
static int
saml_sig_check_transforms(struct saml_ctx *c, xmlNodePtr tr)
{
	xmlNodePtr t;
	size_t n = 0;
	const char *alg;

	for (t = saml_xml_first_elem(tr->children); t != NULL;
	    t = saml_xml_next_elem(t), n++) {
		if (!saml_xml_is(t, SAML_NS_DS, "Transform") || n >= 2)
			return saml_fail(c, BK_E_SAML_SIG_SHAPE,
			    "unexpected Transforms content");
		if ((alg = saml_xml_attr(t, "Algorithm")) == NULL)
			return saml_fail(c, BK_E_SAML_SIG_SHAPE,
			    "Transform without Algorithm");
		if (n == 0 && strcmp(alg, ALG_ENVELOPED) != 0)
			return saml_fail(c, BK_E_SAML_SIG_ALG,
			    "first transform is not enveloped-signature");
		if (n == 1 && strcmp(alg, ALG_EXC_C14N) != 0)
			return saml_fail(c, BK_E_SAML_SIG_ALG,
			    "second transform is not exclusive c14n");
		if ((n == 0 && saml_xml_first_elem(t->children) != NULL) ||
		    (n == 1 && !saml_sig_c14n_children_ok(t)))
			return saml_fail(c, BK_E_SAML_SIG_SHAPE,
			    "unexpected Transform parameters");
	}
	/*
	 * Exclusive c14n is required (SAML core 5.4.3 says SHOULD): without
	 * it xmlsec falls back to inclusive c14n, which renders every
	 * namespace in scope at every node (issue 6).
	 */
	if (n != 2)
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "transforms are not enveloped-signature, exclusive c14n");
	return BK_OK;
}

/* Reference: URI="#ID of elem", Transforms, DigestMethod, DigestValue. */
static int
saml_sig_check_reference(struct saml_ctx *c, xmlNodePtr elem, xmlNodePtr ref)
{
	const char *uri = saml_xml_attr(ref, "URI");
	const char *id = saml_xml_attr(elem, "ID");
	xmlNodePtr tr, dm, dv;
	int rv;

	/* S19 (URI=""), S20 (another element): only "#" + our own ID. */
	if (uri == NULL || id == NULL || uri[0] != '#' || id[0] == '\0' ||
	    strcmp(uri + 1, id) != 0)
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "Reference URI is not #ID of the signed element");
	tr = saml_xml_first_elem(ref->children);
	dm = saml_xml_next_elem(tr);
	dv = saml_xml_next_elem(dm);
	if (!saml_xml_is(tr, SAML_NS_DS, "Transforms") ||
	    !saml_xml_is(dm, SAML_NS_DS, "DigestMethod") ||
	    !saml_xml_is(dv, SAML_NS_DS, "DigestValue") ||
	    saml_xml_next_elem(dv) != NULL)
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "Reference content is not Transforms, DigestMethod, "
		    "DigestValue");
	if ((rv = saml_sig_check_transforms(c, tr)) != BK_OK)
		return rv;
	if (!saml_sig_alg_ok(dm, saml_sig_digest_algs, ALG_SHA1,
	    c->t->allow_sha1))
		return saml_fail(c, BK_E_SAML_SIG_ALG,
		    "digest algorithm not allowed");
	if (saml_xml_first_elem(dm->children) != NULL)
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "DigestMethod content");
	/* S25: a comment or any markup inside DigestValue is refused. */
	if (!saml_sig_b64_text_ok(dv, SAML_LIM_DIGESTVALUE))
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "markup in DigestValue, or over %d bytes",
		    SAML_LIM_DIGESTVALUE);
	return BK_OK;
}

/*
 * SignedInfo: CanonicalizationMethod, SignatureMethod, exactly one Reference.
 */
static int
saml_sig_check_signed_info(struct saml_ctx *c, xmlNodePtr elem, xmlNodePtr si)
{
	xmlNodePtr cm, sm, ref;

	cm = saml_xml_first_elem(si->children);
	sm = saml_xml_next_elem(cm);
	ref = saml_xml_next_elem(sm);
	if (!saml_xml_is(cm, SAML_NS_DS, "CanonicalizationMethod") ||
	    !saml_xml_is(sm, SAML_NS_DS, "SignatureMethod") ||
	    !saml_xml_is(ref, SAML_NS_DS, "Reference"))
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "SignedInfo content out of profile");
	/* S21 (CVE-2025-29774 class): exactly one Reference. */
	if (saml_xml_next_elem(ref) != NULL)
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "more than one Reference or extra SignedInfo content");
	if (!saml_sig_alg_ok(cm, saml_sig_c14n_algs, NULL, 0))
		return saml_fail(c, BK_E_SAML_SIG_ALG,
		    "canonicalization method not allowed");
	if (!saml_sig_c14n_children_ok(cm))
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "CanonicalizationMethod content");
	/* S29/S30: RSA-SHA2 only; rsa-sha1 with allow_sha1; never HMAC. */
	if (!saml_sig_alg_ok(sm, saml_sig_sign_algs, ALG_RSA_SHA1,
	    c->t->allow_sha1))
		return saml_fail(c, BK_E_SAML_SIG_ALG,
		    "signature method not allowed");
	if (saml_xml_first_elem(sm->children) != NULL)
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "SignatureMethod content");
	return saml_sig_check_reference(c, elem, ref);
}

/**
 * The SAML signature profile for sig, the direct-child Signature of elem.
 * @return BK_OK, BK_E_SAML_SIG_SHAPE, BK_E_SAML_SIG_ALG.
 */
int
saml_sig_check_profile(struct saml_ctx *c, xmlNodePtr elem, xmlNodePtr sig)
{
	xmlNodePtr si, sv, k;

	if (sig->parent != elem)
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "signature not enveloped");
	si = saml_xml_first_elem(sig->children);
	sv = saml_xml_next_elem(si);
	if (!saml_xml_is(si, SAML_NS_DS, "SignedInfo") ||
	    !saml_xml_is(sv, SAML_NS_DS, "SignatureValue"))
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "Signature lacks SignedInfo/SignatureValue");
	k = saml_xml_next_elem(sv);
	if (saml_xml_is(k, SAML_NS_DS, "KeyInfo"))
		k = saml_xml_next_elem(k);
	/* S08: no ds:Object (nor anything else) in a SAML signature. */
	if (k != NULL)
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "unexpected %s in Signature", saml_xml_is(k, SAML_NS_DS,
		    "Object") ? "ds:Object" : "element");
	if (!saml_sig_b64_text_ok(sv, SAML_LIM_SIGVALUE))
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "markup in SignatureValue, or over %d bytes",
		    SAML_LIM_SIGVALUE);
	return saml_sig_check_signed_info(c, elem, si);
}

static int
saml_sig_ctx_restrict(xmlSecDSigCtxPtr ctx, int allow_sha1)
{
	int rv = 0;

	ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
	rv |= xmlSecDSigCtxEnableReferenceTransform(ctx,
	    xmlSecTransformEnvelopedId);
	rv |= xmlSecDSigCtxEnableReferenceTransform(ctx,
	    xmlSecTransformExclC14NId);
	rv |= xmlSecDSigCtxEnableReferenceTransform(ctx,
	    xmlSecTransformInclC14NId);
	rv |= xmlSecDSigCtxEnableReferenceTransform(ctx,
	    xmlSecTransformSha256Id);
	rv |= xmlSecDSigCtxEnableReferenceTransform(ctx,
	    xmlSecTransformSha384Id);
	rv |= xmlSecDSigCtxEnableReferenceTransform(ctx,
	    xmlSecTransformSha512Id);
	if (allow_sha1)
		rv |= xmlSecDSigCtxEnableReferenceTransform(ctx,
		    xmlSecTransformSha1Id);
	return rv == 0 ? BK_OK : BK_E_INTERNAL;
}

/*
 * xmlsec's validation of the Reference of sig's SignedInfo (after
 * saml_si_key() has verified the signature over that SignedInfo): the
 * digest of what its URI names, through its transforms, equals its
 * DigestValue.  Success needs a non-negative return, status Succeeded
 * (S35) and, belt and braces over the profile check, the URI "#" + id.
 */
static int
saml_sig_verify_ref(struct saml_ctx *c, xmlNodePtr sig, const char *id)
{
	xmlNodePtr si = saml_xml_first_elem(sig->children);
	xmlNodePtr ref = saml_xml_next_elem(saml_xml_next_elem(
	    saml_xml_first_elem(si->children)));
	xmlSecDSigCtxPtr ctx;
	xmlSecDSigReferenceCtxPtr rc = NULL;
	int rv = BK_E_SAML_SIG_INVALID;

	if ((ctx = xmlSecDSigCtxCreate(NULL)) == NULL)
		return BK_E_NOMEM;
	if (saml_sig_ctx_restrict(ctx, c->t->allow_sha1) != BK_OK) {
		rv = BK_E_INTERNAL;
		goto out;
	}
	ctx->operation = xmlSecTransformOperationVerify;
	if ((rc = xmlSecDSigReferenceCtxCreate(ctx,
	    xmlSecDSigReferenceOriginSignedInfo)) == NULL) {
		rv = BK_E_NOMEM;
		goto out;
	}
	if (xmlSecDSigReferenceCtxProcessNode(rc, ref) < 0 ||
	    rc->status != xmlSecDSigStatusSucceeded)
		goto out;
	if (rc->uri == NULL || rc->uri[0] != '#' ||
	    strcmp((const char *)rc->uri + 1, id) != 0)
		goto out;
	rv = BK_OK;
 out:
	if (rc != NULL)
		xmlSecDSigReferenceCtxDestroy(rc);
	xmlSecDSigCtxDestroy(ctx);
	return rv;
}

/*
 * Register elem's ID as the one the Reference may resolve to.  An ID that
 * is already registered for another attribute (xml:id, S22) is refused.
 */
static int
saml_sig_register_id(struct saml_ctx *c, xmlNodePtr elem, const char **idp)
{
	xmlAttrPtr attr = xmlHasNsProp(elem, SAML_XC("ID"), NULL);
	xmlAttrPtr prev;
	const char *id = saml_xml_attr(elem, "ID");

	if (attr == NULL || id == NULL || id[0] == '\0')
		return saml_fail(c, BK_E_SAML_SCHEMA,
		    "signed element without ID");
	prev = xmlGetID(c->doc, SAML_XC(id));
	if (prev != NULL && prev != attr)
		return saml_fail(c, BK_E_SAML_DUP_ID, "ID already registered");
	if (prev == NULL && xmlAddID(NULL, c->doc, SAML_XC(id), attr) == NULL)
		return saml_fail(c, BK_E_SAML_DUP_ID,
		    "ID could not be registered");
	*idp = id;
	return BK_OK;
}

/**
 * Verify sig over elem with the tenant's keys (either, for rollover):
 * saml_si_key() finds the one whose signature over SignedInfo verifies,
 * then xmlsec validates the Reference.
 * @param fp	the SHA-256 fingerprint of the certificate that verified.
 * @return BK_OK, BK_E_SAML_SIG_INVALID, BK_E_SAML_DUP_ID, BK_E_NOMEM.
 */
int
saml_sig_verify(struct saml_ctx *c, xmlNodePtr elem, xmlNodePtr sig,
    char fp[SAML_FP_LEN + 1])
{
	const char *id = NULL;
	size_t i;
	int rv;

	if ((rv = saml_sig_register_id(c, elem, &id)) != BK_OK)
		return rv;
	/*
	 * Issue 6: the digest of elem (the costly c14n) is computed only
	 * once a pinned key has verified the signature over SignedInfo.
	 */
	if ((rv = saml_si_key(c, sig, &i)) == BK_OK &&
	    (rv = saml_sig_verify_ref(c, sig, id)) == BK_OK) {
		memcpy(fp, c->t->info.certs[i].fingerprint, SAML_FP_LEN + 1);
		return BK_OK;
	}
	if (rv == BK_E_SAML_SIG_INVALID)
		return saml_fail(c, rv, "signature of %s does not verify",
		    (const char *)elem->name);
	return saml_fail(c, rv, "signature verification error");
}

/**
 * A pinned verification key from a DER certificate (IdP metadata): only
 * the RSA public key is kept; KeyInfo-style certificate data is not.
 * @param key	returned-owned xmlSecKey.
 * @param why	static reason on failure.
 * @return BK_OK, BK_E_SAML_CERT, BK_E_NOMEM.
 */
/* Fingerprint (SHA-256 of the DER), notAfter and subject of x. */
void
saml_cert_info_fill(X509 *x, const unsigned char *der, size_t len,
    struct saml_cert_info *info)
{
	struct tm	 tm;

	memset(info, 0, sizeof(*info));
	bk_sha256_hex(der, len, info->fingerprint);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
		info->not_after = timegm(&tm);
	X509_NAME_oneline(X509_get_subject_name(x), info->subject,
	    sizeof(info->subject));
}

int
saml_sig_key_from_der(const unsigned char *der, size_t len, xmlSecKeyPtr *key,
    struct saml_cert_info *info, const char **why)
{
	const unsigned char *p = der;
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	xmlSecKeyDataPtr data = NULL;
	xmlSecKeyPtr k = NULL;
	int rv = BK_E_SAML_CERT;

	*key = NULL;
	*why = "not a DER X.509 certificate";
	if (len > 65536 || (x = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    p != der + len)
		goto out;
	*why = "certificate has no RSA public key of at least 2048 bits";
	if ((pk = X509_get_pubkey(x)) == NULL ||
	    EVP_PKEY_base_id(pk) != EVP_PKEY_RSA || EVP_PKEY_bits(pk) < 2048)
		goto out;
	*why = "xmlsec could not adopt the key";
	if ((data = xmlSecOpenSSLEvpKeyAdopt(pk)) == NULL)
		goto out;
	pk = NULL;
	if ((k = xmlSecKeyCreate()) == NULL || xmlSecKeySetValue(k, data) < 0)
		goto out;
	data = NULL;
	saml_cert_info_fill(x, der, len, info);
	*key = k;
	k = NULL;
	*why = NULL;
	rv = BK_OK;
 out:
	if (k != NULL)
		xmlSecKeyDestroy(k);
	if (data != NULL)
		xmlSecKeyDataDestroy(data);
	EVP_PKEY_free(pk);
	X509_free(x);
	return rv;
}
