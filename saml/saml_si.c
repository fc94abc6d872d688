/*
 * sso-broker: the signature over SignedInfo, checked before any digest.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * XML-DSig core validation has two halves: the signature over the
 * canonical SignedInfo, and each Reference's digest.  The digest of the
 * referenced element (the whole Assertion, the costly c14n) is the
 * expensive one, so this half runs first (issue 6): we canonicalize
 * SignedInfo alone (a dozen nodes, bounded by saml_limits.c) with
 * libxml2's c14n as its CanonicalizationMethod says (the SignedInfo
 * subtree, no comments, the method's PrefixList), exactly the node set
 * and algorithm xmlsec uses, and verify the SignatureValue with OpenSSL
 * against each pinned key.  A message that no pinned key signed is
 * refused here, having cost two small RSA checks; for one that a key did
 * sign, saml_sig.c has xmlsec validate the Reference (issue 7: xmlsec's
 * own pass over SignedInfo would repeat this same RSA verification).
 * Trust: SignedInfo and SignatureValue are untrusted; the keys are the
 * tenant's.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <libxml/c14n.h>
#include <libxml/xmlIO.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/openssl/evp.h>

#include "bk.h"
#include "saml_int.h"

#define ALG_EXC_C14N	"http://www.w3.org/2001/10/xml-exc-c14n#"

/* xmlsec's SignedInfo node set: the subtree (namespace nodes by parent). */
static int
saml_si_visible(void *si, xmlNodePtr node, xmlNodePtr parent)
{
	const xmlNode *n = node->type == XML_NAMESPACE_DECL ? parent : node;

	for (; n != NULL; n = n->parent)
		if (n == si)
			return 1;
	return 0;
}

/* Split the CanonicalizationMethod's PrefixList (held in *buf) in place. */
static void
saml_si_prefixes(xmlNodePtr cm, char **buf, xmlChar **list, size_t max)
{
	xmlNodePtr inc = saml_xml_first_elem(cm->children);
	const char *v = saml_xml_attr(inc, "PrefixList");
	size_t n = 0;
	char *p;

	list[0] = NULL;
	if (!saml_xml_is(inc, ALG_EXC_C14N, "InclusiveNamespaces") ||
	    v == NULL || (*buf = bk_strdup(v)) == NULL)
		return;
	for (p = *buf; *p != '\0' && n < max; ) {
		while (*p != '\0' && strchr(" \t\r\n", *p) != NULL)
			*p++ = '\0';
		if (*p == '\0')
			break;
		list[n++] = (xmlChar *)p;
		while (*p != '\0' && strchr(" \t\r\n", *p) == NULL)
			p++;
	}
	list[n] = NULL;
}

/*
 * The canonical form of SignedInfo, returned-owned in *out.
 * xmlC14NExecute() walks the whole document from doc->children: it asks
 * the callback about every node and works out the namespace and
 * attribute axes of the invisible ones too, and the Response around
 * SignedInfo was nine tenths of this c14n's cost (issue 7).  So it is
 * given a view: a document node of our own whose child list starts at
 * SignedInfo (the siblings after it, SignatureValue and KeyInfo, are
 * walked and invisible).  The tree is not touched and its nodes keep
 * their parents, so in-scope namespaces are found as before; and the
 * walk reaches SignedInfo in the state the full walk has there, since
 * every node before it is invisible, and an invisible node renders
 * nothing and leaves the position, the document-element flag and the
 * rendered-namespace stack as they were.
 */
static int
saml_si_c14n(xmlNodePtr si, xmlNodePtr cm, unsigned char **out, size_t *len)
{
	xmlChar *list[SAML_LIM_PREFIXES + 1];
	xmlOutputBufferPtr ob;
	xmlDoc view;
	const char *alg = saml_xml_attr(cm, "Algorithm");
	char *buf = NULL;
	int exc = alg != NULL && strcmp(alg, ALG_EXC_C14N) == 0, rv = BK_OK;

	*out = NULL;
	saml_si_prefixes(cm, &buf, list, SAML_LIM_PREFIXES);
	if ((ob = xmlAllocOutputBuffer(NULL)) == NULL) {
		free(buf);
		return BK_E_NOMEM;
	}
	memset(&view, 0, sizeof(view));
	view.type = XML_DOCUMENT_NODE;
	view.children = si;
	view.dict = si->doc->dict;
	if (xmlC14NExecute(&view, saml_si_visible, si, exc ?
	    XML_C14N_EXCLUSIVE_1_0 : XML_C14N_1_0, exc ? list : NULL, 0,
	    ob) < 0 || xmlOutputBufferGetContent(ob) == NULL)
		rv = BK_E_SAML_SIG_INVALID;
	else if ((*out = malloc(xmlOutputBufferGetSize(ob) + 1)) == NULL)
		rv = BK_E_NOMEM;
	else {
		*len = xmlOutputBufferGetSize(ob);
		memcpy(*out, xmlOutputBufferGetContent(ob), *len);
	}
	xmlOutputBufferClose(ob);
	free(buf);
	return rv;
}

/* SignatureValue: base64 with XML white space, at most SAML_TEXT_MAX. */
static int
saml_si_sigvalue(xmlNodePtr sv, unsigned char **sig, size_t *len)
{
	char *s = NULL;
	size_t i, n = 0;
	int rv;

	*sig = NULL;
	if ((rv = saml_xml_text(sv, &s)) != BK_OK)
		return rv == BK_E_NOMEM ? rv : BK_E_SAML_SIG_INVALID;
	for (i = 0; s[i] != '\0'; i++)
		if (strchr(" \t\r\n", s[i]) == NULL)
			s[n++] = s[i];
	rv = bk_b64_decode(s, n, SAML_TEXT_MAX, sig, len);
	free(s);
	if (rv == BK_E_NOMEM)
		return rv;
	return rv == BK_OK ? BK_OK : BK_E_SAML_SIG_INVALID;
}

/* The digests a SignatureMethod may name, in verify_ctx order. */
static const EVP_MD *
saml_si_evp_md(int m)
{
	switch (m) {
	case 0:
		return EVP_sha256();
	case 1:
		return EVP_sha384();
	case 2:
		return EVP_sha512();
	default:
		return EVP_sha1();
	}
}

/* The digest index of the (profile-checked) SignatureMethod, or -1. */
static int
saml_si_md(xmlNodePtr sm)
{
	const char *alg = saml_xml_attr(sm, "Algorithm"), *h;

	if (alg == NULL || (h = strrchr(alg, '-')) == NULL)
		return -1;
	if (strcmp(h, "-sha256") == 0)
		return 0;
	if (strcmp(h, "-sha384") == 0)
		return 1;
	if (strcmp(h, "-sha512") == 0)
		return 2;
	return strcmp(alg, "http://www.w3.org/2000/09/xmldsig#rsa-sha1") == 0 ?
	    3 : -1;
}

/*
 * A verification context per key and digest, initialised once at load:
 * EVP_DigestVerifyInit() looks the key's algorithm up among the
 * provider's key managers every time (27k instructions, a tenth of the
 * RSA verification itself), a copy of an initialised context does not.
 * One that cannot be made stays NULL and is initialised per call.
 */
int
saml_si_key_ready(struct saml_tenant *t, size_t i)
{
	EVP_PKEY *pk = xmlSecOpenSSLEvpKeyDataGetEvp(xmlSecKeyGetValue(
	    t->keys[i]));
	EVP_MD_CTX *m;
	int k;

	if (pk == NULL)
		return BK_E_SAML_CERT;
	for (k = 0; k < SAML_SI_MDS; k++) {
		if ((m = EVP_MD_CTX_new()) == NULL)
			return BK_E_NOMEM;
		if (EVP_DigestVerifyInit(m, NULL, saml_si_evp_md(k), NULL,
		    pk) != 1) {
			EVP_MD_CTX_free(m);
			m = NULL;
		}
		t->verify_ctx[i][k] = m;
	}
	return BK_OK;
}

void
saml_si_key_free(struct saml_tenant *t, size_t i)
{
	int k;

	for (k = 0; k < SAML_SI_MDS; k++) {
		EVP_MD_CTX_free(t->verify_ctx[i][k]);
		t->verify_ctx[i][k] = NULL;
	}
}

/* 1 if sig is key i's signature of tbs with digest m (saml_logout.c too). */
int
saml_si_rsa_ok(const struct saml_tenant *t, size_t i, int md,
    const unsigned char *sig, size_t siglen, const unsigned char *tbs,
    size_t len)
{
	EVP_PKEY *pk = xmlSecOpenSSLEvpKeyDataGetEvp(xmlSecKeyGetValue(
	    t->keys[i]));
	const EVP_MD_CTX *tmpl = t->verify_ctx[i][md];
	EVP_MD_CTX *m;
	int ok;

	if (pk == NULL || (m = EVP_MD_CTX_new()) == NULL)
		return 0;
	if (tmpl != NULL)
		ok = EVP_MD_CTX_copy_ex(m, tmpl) == 1;
	else
		ok = EVP_DigestVerifyInit(m, NULL, saml_si_evp_md(md), NULL,
		    pk) == 1;
	ok = ok && EVP_DigestVerify(m, sig, siglen, tbs, len) == 1;
	EVP_MD_CTX_free(m);
	return ok;
}

/**
 * The index of the tenant key whose RSA signature over sig's SignedInfo
 * verifies (sig has passed saml_sig_check_profile()).
 * @return BK_OK and *which, BK_E_SAML_SIG_INVALID, BK_E_NOMEM.
 */
int
saml_si_key(struct saml_ctx *c, xmlNodePtr sig, size_t *which)
{
	xmlNodePtr si = saml_xml_first_elem(sig->children);
	xmlNodePtr sv = saml_xml_next_elem(si);
	xmlNodePtr cm = saml_xml_first_elem(si->children);
	int md = saml_si_md(saml_xml_next_elem(cm));
	unsigned char *tbs = NULL, *sv_raw = NULL;
	size_t len = 0, svlen = 0, i;
	int rv;

	if (md < 0)
		return BK_E_SAML_SIG_INVALID;
	if ((rv = saml_si_c14n(si, cm, &tbs, &len)) != BK_OK ||
	    (rv = saml_si_sigvalue(sv, &sv_raw, &svlen)) != BK_OK)
		goto out;
	rv = BK_E_SAML_SIG_INVALID;
	for (i = 0; i < c->t->info.n_certs && rv != BK_OK; i++)
		if (saml_si_rsa_ok(c->t, i, md, sv_raw, svlen, tbs, len)) {
			*which = i;
			rv = BK_OK;
		}
 out:
	free(tbs);
	free(sv_raw);
	return rv;
}
