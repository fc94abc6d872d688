/*
 * sso-broker: encrypted assertions (XML Encryption 1.1 in SAML 2.0 core
 * 2.3.4), decrypted without the SP private key.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * An EncryptedAssertion is one xenc:EncryptedData (Type Element) with one
 * xenc:EncryptedKey, in its ds:KeyInfo or beside it.  The key transport is
 * RSA-OAEP (xmlenc#rsa-oaep-mgf1p, xmlenc11#rsa-oaep); RSA PKCS#1 v1.5 is
 * never accepted (Bleichenbacher; Jager, Schinzel, Somorovsky, ESORICS
 * 2012).  The wrapped key goes to the caller's unwrap callback (the key
 * holder, broker/keys.c); this file never sees a private key.  The content
 * is AES-GCM (xmlenc11#aes128-gcm, aes256-gcm), AES-CBC only with the
 * tenant's allow_cbc.  Nothing is ever fetched: a RetrievalMethod or a
 * CipherReference is refused.
 *
 * The oracle stance (Jager, Somorovsky, "How to break XML Encryption",
 * CCS 2011): CBC is malleable, so while the plaintext is not vouched for
 * by the IdP's signature, every failure of a CBC message - the key does
 * not unwrap, the padding, the plaintext is not XML or not one Assertion,
 * any check up to and including the Assertion's signature - is the one
 * answer BK_E_SAML_DECRYPT with one detail (saml_enc_collapse()), and the
 * work is the same: a key that does not unwrap is replaced by a random
 * one, the padding is checked without a branch and a bad one still goes
 * to the parser.  GCM is authenticated: a tampered ciphertext is refused
 * by the tag, so after the tag the codes are the plain assertion's.
 *
 * The plaintext is parsed with saml_xml_parse() and SAML_XML_LIMITS (no
 * DTD, no network, the shape limits) on its own, then copied into the
 * Response in the place of the EncryptedAssertion; the chain of
 * saml_verify.c then checks it as any Assertion, its signature included
 * (exclusive c14n: moving the element does not change what was signed).
 * A signed Response covers the ciphertext: its signature is checked here,
 * before anything is decrypted.
 * Trust: the whole EncryptedAssertion, the wrapped key and the plaintext
 * are untrusted; the tenant's certificates are operator input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "bk.h"
#include "log.h"
#include "saml_int.h"

#define SAML_NS_XENC	"http://www.w3.org/2001/04/xmlenc#"
#define SAML_NS_XENC11	"http://www.w3.org/2009/xmlenc11#"
#define SAML_XENC_ELEMENT	SAML_NS_XENC "Element"
#define SAML_RSA_OAEP_MGF1P	SAML_NS_XENC "rsa-oaep-mgf1p"
#define SAML_RSA_OAEP11		SAML_NS_XENC11 "rsa-oaep"
#define SAML_RSA_15		SAML_NS_XENC "rsa-1_5"
#define SAML_DIGEST_SHA1	"http://www.w3.org/2000/09/xmldsig#sha1"
#define SAML_DIGEST_SHA256	SAML_NS_XENC "sha256"
#define SAML_MGF1_SHA1		SAML_NS_XENC11 "mgf1sha1"
#define SAML_MGF1_SHA256	SAML_NS_XENC11 "mgf1sha256"

#define SAML_ENC_GCM_IV		12
#define SAML_ENC_GCM_TAG	16
#define SAML_ENC_CBC_IV		16
#define SAML_ENC_ONE_ANSWER	"the encrypted assertion could not be decrypted"

/* The content algorithms, in the order the SP metadata offers them. */
static const struct saml_enc_alg {
	const char	*uri;
	size_t		 key_len;
	int		 gcm;
} saml_enc_algs[] = {
	{ SAML_NS_XENC11 "aes256-gcm", 32, 1 },
	{ SAML_NS_XENC11 "aes128-gcm", 16, 1 },
	{ SAML_NS_XENC "aes256-cbc", 32, 0 },
	{ SAML_NS_XENC "aes128-cbc", 16, 0 },
};

/* What one EncryptedAssertion says, before anything is decrypted. */
struct saml_enc_msg {
	xmlNodePtr		 ea, ed, ek;
	const struct saml_enc_alg *alg;
	int			 oaep_md, mgf1_md;
	int			 slots[2];	/* keys to try, -1 ends */
	unsigned char		*wrapped, *cipher;
	size_t			 wrapped_len, cipher_len;
};

/* --- the tenant: certificates and the SP metadata --- */

static int
saml_enc_der_load(const char *path, unsigned char **der, size_t *len,
    struct saml_cert_info *info, char **why)
{
	FILE *f;
	X509 *x = NULL;
	unsigned char *d = NULL;
	int n;

	*der = NULL;
	*len = 0;
	if ((f = fopen(path, "r")) != NULL) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (x == NULL || (n = i2d_X509(x, &d)) <= 0) {
		struct bk_buf b;

		X509_free(x);
		if (why != NULL) {
			free(*why);
			bk_buf_init(&b, 1024);
			(void)bk_buf_addf(&b, "%s: cannot read PEM certificate",
			    path);
			*why = bk_buf_take(&b);
			bk_buf_free(&b);
		}
		return BK_E_SAML_CERT;
	}
	if (info != NULL)
		saml_cert_info_fill(x, d, (size_t)n, info);
	X509_free(x);
	*der = malloc((size_t)n);
	if (*der != NULL)
		memcpy(*der, d, (size_t)n);
	OPENSSL_free(d);
	*len = (size_t)n;
	return *der == NULL ? BK_E_NOMEM : BK_OK;
}

int
saml_enc_tenant_load(struct saml_tenant *t, const struct saml_sp_params *p,
    char **why)
{
	int rv;

	t->require_encryption = p->require_encryption != 0;
	t->allow_cbc = p->allow_cbc != 0;
	if ((rv = saml_enc_der_load(p->sp_cert_path, &t->enc_der[0],
	    &t->enc_der_len[0], NULL, why)) != BK_OK)
		return rv;
	if (p->sp_next_cert_path == NULL)
		return BK_OK;
	return saml_enc_der_load(p->sp_next_cert_path, &t->enc_der[1],
	    &t->enc_der_len[1], &t->info.sp_next_cert, why);
}

void
saml_enc_tenant_free(struct saml_tenant *t)
{
	free(t->enc_der[0]);
	free(t->enc_der[1]);
}

/* <md:EncryptionMethod Algorithm="uri"/> into k. */
static int
saml_enc_md_method(xmlNodePtr k, xmlNsPtr md, const char *uri)
{
	xmlNodePtr em = xmlNewChild(k, md, SAML_XC("EncryptionMethod"), NULL);

	return em != NULL && xmlNewProp(em, SAML_XC("Algorithm"),
	    SAML_XC(uri)) != NULL;
}

/*
 * After the signing KeyDescriptor kd: one use="encryption" KeyDescriptor
 * per SP certificate (the current one first, then sp_next_cert), each
 * with the algorithms accepted (SAML metadata 2.4.1.1).
 */
int
saml_enc_metadata_add(const struct saml_tenant *t, xmlNodePtr kd, xmlNsPtr md)
{
	static const char *const transport[] = { SAML_RSA_OAEP11,
	    SAML_RSA_OAEP_MGF1P };
	xmlNsPtr ds = kd->children != NULL ? kd->children->ns : NULL;
	xmlNodePtr k, ki, xd;
	char *b64;
	size_t i, j;
	int ok;

	for (i = 0; i < 2; i++) {
		if (t->enc_der[i] == NULL)
			continue;
		if ((b64 = bk_b64_encode(t->enc_der[i], t->enc_der_len[i])) ==
		    NULL)
			return BK_E_NOMEM;
		ok = (k = xmlNewChild(kd->parent, md, SAML_XC("KeyDescriptor"),
		    NULL)) != NULL &&
		    xmlNewProp(k, SAML_XC("use"), SAML_XC("encryption")) !=
		    NULL &&
		    (ki = xmlNewChild(k, ds, SAML_XC("KeyInfo"), NULL)) !=
		    NULL &&
		    (xd = xmlNewChild(ki, ds, SAML_XC("X509Data"), NULL)) !=
		    NULL && xmlNewTextChild(xd, ds, SAML_XC("X509Certificate"),
		    SAML_XC(b64)) != NULL;
		free(b64);
		for (j = 0; ok && j < BK_NELEM(saml_enc_algs); j++)
			if (saml_enc_algs[j].gcm || t->allow_cbc)
				ok = saml_enc_md_method(k, md,
				    saml_enc_algs[j].uri);
		for (j = 0; ok && j < BK_NELEM(transport); j++)
			ok = saml_enc_md_method(k, md, transport[j]);
		if (!ok)
			return BK_E_NOMEM;
	}
	return BK_OK;
}

/* --- the message's shape and algorithms --- */

/* Base64 text of n into *out (at most max bytes). */
static int
saml_enc_b64(const xmlNode *n, size_t max, unsigned char **out, size_t *len)
{
	struct bk_buf b;
	const xmlNode *k;
	char *s = NULL;
	int rv;

	*out = NULL;
	*len = 0;
	/* text only (no comment either: one reading), XML white space kept */
	if (n == NULL || saml_xml_has_markup(n))
		return BK_E_SAML_ENC_SHAPE;
	bk_buf_init(&b, max / 3 * 4 + max / 8 + 64);
	for (k = n->children, rv = BK_OK; k != NULL && rv == BK_OK;
	    k = k->next)
		if (k->content != NULL)
			rv = bk_buf_adds(&b, (const char *)k->content);
	if (rv != BK_OK || (s = bk_buf_take(&b)) == NULL) {
		bk_buf_free(&b);
		return rv == BK_E_NOMEM ? rv : BK_E_SAML_ENC_SHAPE;
	}
	bk_buf_free(&b);
	rv = bk_b64_decode(s, strlen(s), max, out, len);
	free(s);
	if (rv == BK_E_NOMEM)
		return rv;
	return rv == BK_OK ? BK_OK : BK_E_SAML_ENC_SHAPE;
}

/* CipherData with exactly one CipherValue: its bytes. */
static int
saml_enc_cipher_value(struct saml_ctx *c, xmlNodePtr parent, size_t max,
    unsigned char **out, size_t *len)
{
	xmlNodePtr cd = saml_xml_child(parent, SAML_NS_XENC, "CipherData");
	int rv;

	if (cd == NULL ||
	    saml_xml_count(cd, SAML_NS_XENC, "CipherValue") != 1 ||
	    saml_xml_first_elem(cd->children) != saml_xml_child(cd,
	    SAML_NS_XENC, "CipherValue") ||
	    saml_xml_next_elem(saml_xml_first_elem(cd->children)) != NULL)
		return saml_fail(c, BK_E_SAML_ENC_SHAPE,
		    "%s needs a CipherData with one CipherValue",
		    (const char *)parent->name);
	rv = saml_enc_b64(saml_xml_child(cd, SAML_NS_XENC, "CipherValue"),
	    max, out, len);
	if (rv != BK_OK && rv != BK_E_NOMEM)
		return saml_fail(c, rv, "%s CipherValue is not base64 or too "
		    "long", (const char *)parent->name);
	return rv;
}

/*
 * Nothing in the EncryptedAssertion points elsewhere (W3C XML Signature
 * Best Practices 7 and 8, S31): no RetrievalMethod, no CipherReference, no
 * key agreement, no plain Signature or Assertion in the clear.
 */
static int
saml_enc_check_refs(struct saml_ctx *c, xmlNodePtr ea)
{
	if (saml_xml_count_desc(ea, SAML_NS_DS, "RetrievalMethod") != 0 ||
	    saml_xml_count_desc(ea, SAML_NS_XENC, "CipherReference") != 0 ||
	    saml_xml_count_desc(ea, SAML_NS_XENC, "AgreementMethod") != 0)
		return saml_fail(c, BK_E_SAML_ENC_REFERENCE,
		    "RetrievalMethod, CipherReference or AgreementMethod in "
		    "the EncryptedAssertion (never followed)");
	if (saml_xml_count_desc(ea, SAML_NS_DS, "Signature") != 0)
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "Signature inside the EncryptedAssertion");
	return BK_OK;
}

/*
 * EncryptedAssertion: EncryptedData and at most one EncryptedKey beside
 * it; the one EncryptedKey of the whole element there or in the
 * EncryptedData's KeyInfo.
 */
static int
saml_enc_find(struct saml_ctx *c, struct saml_enc_msg *m)
{
	xmlNodePtr n, ki;
	const char *type;
	size_t nd = 0;

	for (n = saml_xml_first_elem(m->ea->children); n != NULL;
	    n = saml_xml_next_elem(n)) {
		if (saml_xml_is(n, SAML_NS_XENC, "EncryptedData"))
			nd++;
		else if (!saml_xml_is(n, SAML_NS_XENC, "EncryptedKey"))
			return saml_fail(c, BK_E_SAML_ENC_SHAPE,
			    "unexpected element in EncryptedAssertion");
	}
	m->ed = saml_xml_child(m->ea, SAML_NS_XENC, "EncryptedData");
	if (nd != 1 || saml_xml_count_desc(m->ea, SAML_NS_XENC,
	    "EncryptedData") != 1)
		return saml_fail(c, BK_E_SAML_ENC_SHAPE,
		    "EncryptedAssertion needs one EncryptedData");
	type = saml_xml_attr(m->ed, "Type");
	if (type != NULL && strcmp(type, SAML_XENC_ELEMENT) != 0)
		return saml_fail(c, BK_E_SAML_ENC_SHAPE,
		    "EncryptedData Type is not Element");
	if (saml_xml_count_desc(m->ea, SAML_NS_XENC, "EncryptedKey") != 1)
		return saml_fail(c, BK_E_SAML_ENC_SHAPE,
		    "EncryptedAssertion needs exactly one EncryptedKey");
	ki = saml_xml_child(m->ed, SAML_NS_DS, "KeyInfo");
	if ((m->ek = saml_xml_child(ki, SAML_NS_XENC, "EncryptedKey")) ==
	    NULL)
		m->ek = saml_xml_child(m->ea, SAML_NS_XENC, "EncryptedKey");
	if (m->ek == NULL)
		return saml_fail(c, BK_E_SAML_ENC_SHAPE,
		    "EncryptedKey neither in the EncryptedData's KeyInfo nor "
		    "beside it");
	return BK_OK;
}

static int
saml_enc_method_alg(xmlNodePtr parent, const char **alg)
{
	xmlNodePtr em = saml_xml_child(parent, SAML_NS_XENC,
	    "EncryptionMethod");

	*alg = NULL;
	if (em == NULL || saml_xml_count(parent, SAML_NS_XENC,
	    "EncryptionMethod") != 1)
		return BK_E_SAML_ENC_SHAPE;
	*alg = saml_xml_attr(em, "Algorithm");
	return *alg == NULL ? BK_E_SAML_ENC_SHAPE : BK_OK;
}

/* The content algorithm: AES-GCM, or AES-CBC where the tenant allows it. */
static int
saml_enc_content_alg(struct saml_ctx *c, struct saml_enc_msg *m)
{
	const char *alg;
	size_t i;

	if (saml_enc_method_alg(m->ed, &alg) != BK_OK)
		return saml_fail(c, BK_E_SAML_ENC_SHAPE,
		    "EncryptedData needs one EncryptionMethod");
	for (i = 0; i < BK_NELEM(saml_enc_algs); i++)
		if (strcmp(alg, saml_enc_algs[i].uri) == 0)
			m->alg = &saml_enc_algs[i];
	if (m->alg == NULL)
		return saml_fail(c, BK_E_SAML_ENC_ALG,
		    "content encryption algorithm not accepted");
	if (!m->alg->gcm && !c->t->allow_cbc)
		return saml_fail(c, BK_E_SAML_ENC_CBC,
		    "AES-CBC content encryption, and allow_cbc is off");
	return BK_OK;
}

/* An optional child's Algorithm among two URIs: *md 1, 2 (absent: 1). */
static int
saml_enc_param(xmlNodePtr em, const char *ns, const char *name,
    const char *uri1, const char *uri2, int *md)
{
	xmlNodePtr n = saml_xml_child(em, ns, name);
	const char *a;

	*md = SAML_MD_SHA1;
	if (n == NULL)
		return BK_OK;
	if (saml_xml_count(em, ns, name) != 1 ||
	    (a = saml_xml_attr(n, "Algorithm")) == NULL)
		return BK_E_SAML_ENC_ALG;
	if (strcmp(a, uri1) == 0)
		return BK_OK;
	*md = SAML_MD_SHA256;
	return strcmp(a, uri2) == 0 ? BK_OK : BK_E_SAML_ENC_ALG;
}

/*
 * The key transport: RSA-OAEP with SHA-1 or SHA-256 as its digest, MGF1
 * with SHA-1 (mgf1p, and xmlenc11's default) or SHA-256 (xmlenc11), no
 * OAEPparams.  rsa-1_5 has its own code: it is an attack's signature.
 */
static int
saml_enc_transport_alg(struct saml_ctx *c, struct saml_enc_msg *m)
{
	xmlNodePtr em = saml_xml_child(m->ek, SAML_NS_XENC, "EncryptionMethod");
	const char *alg;
	int oaep11;

	if (saml_enc_method_alg(m->ek, &alg) != BK_OK)
		return saml_fail(c, BK_E_SAML_ENC_SHAPE,
		    "EncryptedKey needs one EncryptionMethod");
	if (strcmp(alg, SAML_RSA_15) == 0)
		return saml_fail(c, BK_E_SAML_ENC_RSA15,
		    "RSA PKCS#1 v1.5 key transport is never accepted");
	oaep11 = strcmp(alg, SAML_RSA_OAEP11) == 0;
	if (!oaep11 && strcmp(alg, SAML_RSA_OAEP_MGF1P) != 0)
		return saml_fail(c, BK_E_SAML_ENC_ALG,
		    "key transport algorithm not accepted (RSA-OAEP only)");
	if (saml_xml_child(em, SAML_NS_XENC, "OAEPparams") != NULL ||
	    saml_enc_param(em, SAML_NS_DS, "DigestMethod", SAML_DIGEST_SHA1,
	    SAML_DIGEST_SHA256, &m->oaep_md) != BK_OK ||
	    (!oaep11 && saml_xml_child(em, SAML_NS_XENC11, "MGF") != NULL) ||
	    saml_enc_param(em, SAML_NS_XENC11, "MGF", SAML_MGF1_SHA1,
	    SAML_MGF1_SHA256, &m->mgf1_md) != BK_OK)
		return saml_fail(c, BK_E_SAML_ENC_ALG,
		    "RSA-OAEP digest, MGF or OAEPparams not accepted");
	return BK_OK;
}

/*
 * Which SP keys to try: the one whose certificate the EncryptedKey's
 * KeyInfo carries (a public fact: no oracle), else every key the tenant
 * has.  A certificate that is none of ours is refused before any key is
 * used.
 */
static int
saml_enc_slots(struct saml_ctx *c, struct saml_enc_msg *m)
{
	xmlNodePtr x;
	unsigned char *der = NULL;
	size_t len, i, n = 0;
	int rv;

	m->slots[0] = m->slots[1] = -1;
	x = saml_xml_child(saml_xml_child(saml_xml_child(m->ek, SAML_NS_DS,
	    "KeyInfo"), SAML_NS_DS, "X509Data"), SAML_NS_DS, "X509Certificate");
	if (x == NULL) {
		for (i = 0; i < 2; i++)
			if (c->t->enc_der[i] != NULL)
				m->slots[n++] = (int)i;
		return BK_OK;
	}
	if ((rv = saml_enc_b64(x, 65536, &der, &len)) != BK_OK)
		return rv == BK_E_NOMEM ? rv : saml_fail(c, BK_E_SAML_ENC_SHAPE,
		    "EncryptedKey X509Certificate is not base64");
	for (i = 0; i < 2; i++)
		if (c->t->enc_der[i] != NULL && len == c->t->enc_der_len[i] &&
		    memcmp(der, c->t->enc_der[i], len) == 0)
			m->slots[0] = (int)i;
	free(der);
	if (m->slots[0] < 0)
		return saml_fail(c, BK_E_SAML_ENC_KEY, "EncryptedKey names a "
		    "certificate that is not one of this SP's");
	return BK_OK;
}

/* --- decryption --- */

/*
 * AES-GCM: IV (12) | ciphertext | tag (16), XML Encryption 1.1 5.2.4.
 * *pt returned-owned (len + 1 bytes, NUL-terminated).
 */
static int
saml_enc_gcm(const struct saml_enc_alg *a, const unsigned char *key,
    const unsigned char *in, size_t len, unsigned char **pt, size_t *ptlen)
{
	EVP_CIPHER_CTX *x;
	unsigned char *out;
	size_t n;
	int l1 = 0, l2 = 0, ok;

	*pt = NULL;
	*ptlen = 0;
	if (len < SAML_ENC_GCM_IV + SAML_ENC_GCM_TAG)
		return BK_E_SAML_DECRYPT;
	n = len - SAML_ENC_GCM_IV - SAML_ENC_GCM_TAG;
	if ((out = malloc(n + 1)) == NULL)
		return BK_E_NOMEM;
	if ((x = EVP_CIPHER_CTX_new()) == NULL) {
		free(out);
		return BK_E_NOMEM;
	}
	ok = EVP_DecryptInit_ex(x, a->key_len == 32 ? EVP_aes_256_gcm() :
	    EVP_aes_128_gcm(), NULL, NULL, NULL) == 1 &&
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_IVLEN, SAML_ENC_GCM_IV,
	    NULL) == 1 &&
	    EVP_DecryptInit_ex(x, NULL, NULL, key, in) == 1 &&
	    EVP_DecryptUpdate(x, out, &l1, in + SAML_ENC_GCM_IV, (int)n) == 1 &&
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, SAML_ENC_GCM_TAG,
	    (void *)(uintptr_t)(in + len - SAML_ENC_GCM_TAG)) == 1 &&
	    EVP_DecryptFinal_ex(x, out + l1, &l2) == 1;
	EVP_CIPHER_CTX_free(x);
	if (!ok) {
		OPENSSL_cleanse(out, n + 1);
		free(out);
		return BK_E_SAML_DECRYPT;
	}
	out[l1 + l2] = '\0';
	*pt = out;
	*ptlen = (size_t)(l1 + l2);
	return BK_OK;
}

/*
 * AES-CBC: IV (16) | blocks, XML Encryption 5.2.1 padding (the last byte
 * says how many bytes to drop, 1 to 16; the others are arbitrary).  The
 * padding is checked without a branch on it, and a bad one keeps every
 * byte, so the parser runs on it as on any other: *bad is the only trace.
 */
static int
saml_enc_cbc(const struct saml_enc_alg *a, const unsigned char *key,
    const unsigned char *in, size_t len, unsigned char **pt, size_t *ptlen,
    unsigned int *bad)
{
	EVP_CIPHER_CTX *x;
	unsigned char *out;
	unsigned int p, ok_pad;
	size_t n;
	int l1 = 0, l2 = 0, ok;

	*pt = NULL;
	*ptlen = 0;
	*bad = 1;
	if (len < 2 * SAML_ENC_CBC_IV || len % SAML_ENC_CBC_IV != 0)
		return BK_E_SAML_DECRYPT;
	n = len - SAML_ENC_CBC_IV;
	if ((out = malloc(n + 1)) == NULL)
		return BK_E_NOMEM;
	if ((x = EVP_CIPHER_CTX_new()) == NULL) {
		free(out);
		return BK_E_NOMEM;
	}
	ok = EVP_DecryptInit_ex(x, a->key_len == 32 ? EVP_aes_256_cbc() :
	    EVP_aes_128_cbc(), NULL, key, in) == 1 &&
	    EVP_CIPHER_CTX_set_padding(x, 0) == 1 &&
	    EVP_DecryptUpdate(x, out, &l1, in + SAML_ENC_CBC_IV, (int)n) == 1 &&
	    EVP_DecryptFinal_ex(x, out + l1, &l2) == 1 &&
	    (size_t)(l1 + l2) == n;
	EVP_CIPHER_CTX_free(x);
	if (!ok) {
		free(out);
		return BK_E_INTERNAL;
	}
	p = out[n - 1];
	/* 1 <= p <= 16 without a branch: p != 0, and p - 17 wraps */
	ok_pad = ((p | (0u - p)) >> 31) & ((p - 17u) >> 31) & 1u;
	*bad = ok_pad ^ 1u;
	n -= p & (0u - ok_pad);
	out[n] = '\0';
	*pt = out;
	*ptlen = n;
	return BK_OK;
}

/*
 * The plaintext as one Assertion: the hardened parser with the message
 * limits, the root a SAML 2.0 Assertion with no Assertion or
 * EncryptedAssertion inside it.  *doc returned-owned.
 */
static int
saml_enc_parse(struct saml_ctx *c, const unsigned char *pt, size_t len,
    xmlDocPtr *doc)
{
	xmlNodePtr root;
	char *why = NULL;
	int rv;

	*doc = NULL;
	if ((rv = saml_xml_parse((const char *)pt, len, SAML_XML_LIMITS, doc,
	    &why)) != BK_OK) {
		saml_fail(c, rv, "decrypted assertion: %s",
		    why != NULL ? why : "parse error");
		free(why);
		return rv;
	}
	root = xmlDocGetRootElement(*doc);
	if (!saml_xml_is(root, SAML_NS_ASSERT, "Assertion") ||
	    saml_xml_count_desc(root, SAML_NS_ASSERT, "Assertion") != 1 ||
	    saml_xml_count_desc(root, SAML_NS_ASSERT,
	    "EncryptedAssertion") != 0) {
		xmlFreeDoc(*doc);
		*doc = NULL;
		return saml_fail(c, BK_E_SAML_ENC_CONTENT, "the encrypted "
		    "content is not one Assertion (another element, or an "
		    "Assertion inside it)");
	}
	return BK_OK;
}

/* The content decrypted with key and parsed; *doc on BK_OK. */
static int
saml_enc_open(struct saml_ctx *c, const struct saml_enc_msg *m,
    const unsigned char *key, xmlDocPtr *doc)
{
	unsigned char *pt = NULL;
	size_t len = 0;
	unsigned int bad = 0;
	int rv;

	*doc = NULL;
	if (m->alg->gcm)
		rv = saml_enc_gcm(m->alg, key, m->cipher, m->cipher_len, &pt,
		    &len);
	else
		rv = saml_enc_cbc(m->alg, key, m->cipher, m->cipher_len, &pt,
		    &len, &bad);
	if (rv == BK_E_SAML_DECRYPT)
		return saml_fail(c, rv, "AES-GCM tag mismatch, truncated "
		    "ciphertext, or the key does not unwrap");
	if (rv != BK_OK)
		return rv;
	rv = saml_enc_parse(c, pt, len, doc);
	OPENSSL_cleanse(pt, len);
	free(pt);
	if (rv == BK_OK && bad) {
		/* well-formed, and still a bad padding: the one answer */
		xmlFreeDoc(*doc);
		*doc = NULL;
		rv = saml_fail(c, BK_E_SAML_DECRYPT, "bad CBC padding");
	}
	return rv;
}

/*
 * Every key to try unwrapped first (a key that does not unwrap becomes a
 * random one, so what follows does the same work), then the content
 * opened with each until one gives an Assertion.
 */
static int
saml_enc_decrypt(struct saml_ctx *c, const struct saml_enc_msg *m,
    xmlDocPtr *doc)
{
	unsigned char cek[2][32];
	size_t i, n;
	int rv = BK_E_SAML_DECRYPT, r;

	*doc = NULL;
	for (n = 0; n < 2 && m->slots[n] >= 0; n++) {
		r = c->uw->cb(c->uw->arg, m->slots[n], m->oaep_md, m->mgf1_md,
		    m->wrapped, m->wrapped_len, cek[n], m->alg->key_len);
		if (r == BK_E_IPC_PEER || r == BK_E_NOMEM) {
			rv = saml_fail(c, r, "the key holder did not answer");
			goto out;
		}
		if (r != BK_OK &&
		    RAND_bytes(cek[n], (int)m->alg->key_len) != 1) {
			rv = BK_E_RANDOM;
			goto out;
		}
	}
	if (n == 0)
		rv = saml_fail(c, BK_E_SAML_ENCRYPTED, "no SP key to decrypt");
	for (i = 0; i < n && *doc == NULL; i++) {
		free(c->detail);
		c->detail = NULL;
		rv = saml_enc_open(c, m, cek[i], doc);
		/* GCM: past the tag, the key was the right one */
		if (rv == BK_E_NOMEM || rv == BK_E_INTERNAL ||
		    (m->alg->gcm && rv != BK_E_SAML_DECRYPT))
			break;
	}
 out:
	OPENSSL_cleanse(cek, sizeof(cek));
	return rv;
}

/* The decrypted Assertion in the place of the EncryptedAssertion. */
static int
saml_enc_swap(struct saml_ctx *c, xmlNodePtr ea, xmlDocPtr adoc)
{
	xmlNodePtr copy;

	if ((copy = xmlDocCopyNode(xmlDocGetRootElement(adoc), c->doc, 1)) ==
	    NULL)
		return BK_E_NOMEM;
	xmlReplaceNode(ea, copy);
	xmlFreeNode(ea);
	return BK_OK;
}

/*
 * A signed Response is checked now, over the ciphertext it signed; step 9
 * of saml_verify.c then knows (resp_verified).
 */
static int
saml_enc_response_sig(struct saml_ctx *c)
{
	char fp[SAML_FP_LEN + 1];
	xmlNodePtr sig;
	int rv;

	if (saml_sig_find(c->response, &sig) != BK_OK)
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "two Signatures on the Response");
	if (saml_xml_count_desc(c->response, SAML_NS_DS, "Signature") !=
	    (sig != NULL ? 1u : 0u))
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "Signature outside the Response");
	if (sig == NULL)
		return BK_OK;
	if ((rv = saml_sig_check_profile(c, c->response, sig)) != BK_OK ||
	    (rv = saml_sig_verify(c, c->response, sig, fp)) != BK_OK)
		return rv;
	c->resp_verified = 1;
	c->out->response_signed = 1;
	return BK_OK;
}

static void
saml_enc_msg_free(struct saml_enc_msg *m)
{
	free(m->wrapped);
	free(m->cipher);
}

/* Step 5a of saml_verify.c. */
int
saml_check_encrypted(struct saml_ctx *c)
{
	struct saml_enc_msg m;
	xmlDocPtr adoc = NULL;
	size_t n;
	int rv;

	n = saml_xml_count_desc(c->response, SAML_NS_ASSERT,
	    "EncryptedAssertion");
	if (n == 0)
		return c->t->require_encryption ? saml_fail(c,
		    BK_E_SAML_ENC_REQUIRED, "plain Assertion, and this "
		    "account requires encryption") : BK_OK;
	if (c->uw == NULL)
		return BK_OK;	/* step 6 refuses it: BK_E_SAML_ENCRYPTED */
	memset(&m, 0, sizeof(m));
	m.ea = saml_xml_child(c->response, SAML_NS_ASSERT,
	    "EncryptedAssertion");
	if (n != 1 || m.ea == NULL || saml_xml_count_desc(c->response,
	    SAML_NS_ASSERT, "Assertion") != 0)
		return saml_fail(c, BK_E_SAML_ASSERTION_COUNT, "the Response "
		    "must carry one EncryptedAssertion as its child and no "
		    "other Assertion");
	if ((rv = saml_enc_check_refs(c, m.ea)) != BK_OK ||
	    (rv = saml_enc_find(c, &m)) != BK_OK ||
	    (rv = saml_enc_content_alg(c, &m)) != BK_OK ||
	    (rv = saml_enc_transport_alg(c, &m)) != BK_OK ||
	    (rv = saml_enc_slots(c, &m)) != BK_OK ||
	    (rv = saml_enc_cipher_value(c, m.ek, SAML_WRAPPED_MAX, &m.wrapped,
	    &m.wrapped_len)) != BK_OK ||
	    (rv = saml_enc_cipher_value(c, m.ed, SAML_RESPONSE_MAX, &m.cipher,
	    &m.cipher_len)) != BK_OK ||
	    (rv = saml_enc_response_sig(c)) != BK_OK)
		goto out;
	/* CBC the IdP did not sign over: one answer until it has (above) */
	c->enc_oracle = !m.alg->gcm && !c->resp_verified;
	if ((rv = saml_enc_decrypt(c, &m, &adoc)) != BK_OK)
		goto out;
	rv = saml_enc_swap(c, m.ea, adoc);
 out:
	if (adoc != NULL)
		xmlFreeDoc(adoc);
	saml_enc_msg_free(&m);
	return rv;
}

/*
 * The CBC oracle's one answer: while the plaintext of an unsigned CBC
 * message is not vouched for by the Assertion's signature, any refusal
 * becomes BK_E_SAML_DECRYPT with one detail.  Other messages keep rv.
 */
int
saml_enc_collapse(struct saml_ctx *c, int rv)
{
	if (!c->enc_oracle || c->assert_verified || rv == BK_E_NOMEM ||
	    rv == BK_E_IPC_PEER)
		return rv;
	/* the operator may see the cause at debug level; the client never */
	log_debug("saml: CBC refusal answered as %s: %s (%s)",
	    bk_err_slug(BK_E_SAML_DECRYPT), bk_err_slug(rv),
	    c->detail != NULL ? c->detail : "");
	free(c->detail);
	c->detail = NULL;
	return saml_fail(c, BK_E_SAML_DECRYPT, "%s", SAML_ENC_ONE_ANSWER);
}
