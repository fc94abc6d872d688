/*
 * sso-broker: unit tests of the saml/ module (cmocka).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Table-driven: each row builds a Salesforce-shaped Response (unsigned
 * Response, signed Assertion, RSA-SHA256, exc-c14n, cert in KeyInfo, as
 * shared/acceptance/idp.py makes it), signs it with xmlsec and the test
 * keys in tests/keys, applies one hostile mutation and expects one exact
 * BK_E_SAML_* code at a fixed clock.  Row names start with the
 * SECURITY-CASES ID they cover.  The process starts with
 * LASSO_FLAG=no-verify-signature in its environment (S32): every reject
 * below is therefore also a test that saml_init() neutralised it.
 * Trust: test-only keys; nothing here is production material.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <zlib.h>

#include <openssl/pem.h>

#include <libxml/tree.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/templates.h>
#include <xmlsec/crypto.h>
#include <lasso/lasso.h>
#include <lasso/debug.h>

#include "bk.h"
#include "log.h"
#include "saml_int.h"

#ifndef KEYDIR
#define KEYDIR "tests/keys"
#endif

#define NOW	((time_t)1767225600)	/* 2026-01-01T00:00:00Z */
#define SKEW	60
#define SP	"https://broker.test/sp"
#define ACS	"https://broker.test/acs"
#define IDP	"https://idp.test/sf"
#define ALICE	"alice@example.com"
#define AID	"_a0123456789abcdef"
#define RID	"_r0123456789abcdef"

static struct saml_tenant *T, *T_ROLL;
static xmlSecKeyPtr K_IDP, K_IDP2, K_EVIL, K_HMAC;

/* The Response template's knobs.  NULL omits an optional attribute. */
struct rsp {
	const char *rid, *version, *r_issue, *dest, *r_irt, *r_issuer, *status;
	const char *aid, *a_version, *a_issue, *a_issuer, *a_issuer_fmt;
	const char *nameid, *nameid_fmt, *subject_extra, *method, *recipient;
	const char *scd_noa, *scd_nb, *scd_irt;
	int	    no_conditions;
	const char *cond_nb, *cond_noa, *conds;
	const char *authn_instant, *session_noa, *portal, *attrs_extra;
	const char *before_assertion, *after_assertion, *assertion_extra;
};

/* How to sign, and tenant switches for the row. */
struct sopt {
	int	 sign_assertion, sign_response, two_refs, hmac;
	xmlSecKeyPtr akey, rkey;
	xmlSecTransformId sigalg, digest;
	const char *raw_xml;		/* input instead of the template */
	const char *raw_b64;		/* verbatim SAMLResponse value */
	const char *prefix;		/* inserted after the XML declaration */
	int	 allow_sha1, allow_portal, max_age, rollover;
	const char *user_attr;
	xmlSecTransformId si_c14n;	/* SignedInfo's c14n method */
	const char *si_prefixes;	/* its InclusiveNamespaces PrefixList */
};

struct tcase {
	const char *name;
	void	(*setup)(struct rsp *, struct sopt *);
	void	(*mut)(xmlDocPtr);
	int	 expect;
	const char *want_user;
};

static const char *
ts(long off)
{
	static char buf[16][32];
	static int i;
	time_t t = NOW + off;
	struct tm tm;

	i = (i + 1) % 16;
	gmtime_r(&t, &tm);
	strftime(buf[i], sizeof(buf[i]), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf[i];
}

static void
rsp_default(struct rsp *r)
{
	memset(r, 0, sizeof(*r));
	r->rid = RID;
	r->version = "2.0";
	r->r_issue = ts(0);
	r->dest = ACS;
	r->r_issuer = IDP;
	r->status = "urn:oasis:names:tc:SAML:2.0:status:Success";
	r->aid = AID;
	r->a_version = "2.0";
	r->a_issue = ts(0);
	r->a_issuer = IDP;
	r->a_issuer_fmt = SAML_FMT_ENTITY;
	r->nameid = ALICE;
	r->nameid_fmt = SAML_FMT_UNSPEC;
	r->subject_extra = "";
	r->method = SAML_CM_BEARER;
	r->recipient = ACS;
	r->scd_noa = ts(300);
	r->cond_nb = ts(-30);
	r->cond_noa = ts(300);
	r->conds = "<saml:AudienceRestriction><saml:Audience>" SP
	    "</saml:Audience></saml:AudienceRestriction>";
	r->authn_instant = ts(-10);
	r->portal = "false";
	r->attrs_extra = "";
	r->before_assertion = "";
	r->after_assertion = "";
	r->assertion_extra = "";
}

static void
sopt_default(struct sopt *o)
{
	memset(o, 0, sizeof(*o));
	o->sign_assertion = 1;
	o->akey = K_IDP;
	o->rkey = K_IDP;
	o->sigalg = xmlSecTransformRsaSha256Id;
	o->digest = xmlSecTransformSha256Id;
	o->si_c14n = xmlSecTransformExclC14NId;
}

static void
opt_attr(struct bk_buf *b, const char *name, const char *v)
{
	if (v != NULL)
		assert_int_equal(bk_buf_addf(b, " %s=\"%s\"", name, v), BK_OK);
}

static char *
rsp_build(const struct rsp *r)
{
	struct bk_buf b;

	bk_buf_init(&b, 1 << 20);
	bk_buf_addf(&b, "<samlp:Response xmlns:samlp=\"%s\" xmlns:saml=\"%s\" "
	    "xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" "
	    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"",
	    SAML_NS_PROTO, SAML_NS_ASSERT);
	opt_attr(&b, "ID", r->rid);
	opt_attr(&b, "Version", r->version);
	opt_attr(&b, "IssueInstant", r->r_issue);
	opt_attr(&b, "Destination", r->dest);
	opt_attr(&b, "InResponseTo", r->r_irt);
	bk_buf_adds(&b, ">");
	if (r->r_issuer != NULL)
		bk_buf_addf(&b, "<saml:Issuer>%s</saml:Issuer>", r->r_issuer);
	bk_buf_addf(&b, "<samlp:Status><samlp:StatusCode Value=\"%s\"/>"
	    "</samlp:Status>%s<saml:Assertion", r->status, r->before_assertion);
	opt_attr(&b, "ID", r->aid);
	opt_attr(&b, "Version", r->a_version);
	opt_attr(&b, "IssueInstant", r->a_issue);
	bk_buf_adds(&b, ">");
	if (r->a_issuer != NULL) {
		bk_buf_adds(&b, "<saml:Issuer");
		opt_attr(&b, "Format", r->a_issuer_fmt);
		bk_buf_addf(&b, ">%s</saml:Issuer>", r->a_issuer);
	}
	bk_buf_adds(&b, "<saml:Subject><saml:NameID");
	opt_attr(&b, "Format", r->nameid_fmt);
	bk_buf_addf(&b, ">%s</saml:NameID>%s<saml:SubjectConfirmation",
	    r->nameid, r->subject_extra);
	opt_attr(&b, "Method", r->method);
	bk_buf_adds(&b, "><saml:SubjectConfirmationData");
	opt_attr(&b, "InResponseTo", r->scd_irt);
	opt_attr(&b, "NotBefore", r->scd_nb);
	opt_attr(&b, "NotOnOrAfter", r->scd_noa);
	opt_attr(&b, "Recipient", r->recipient);
	bk_buf_adds(&b, "/></saml:SubjectConfirmation></saml:Subject>");
	if (!r->no_conditions) {
		bk_buf_adds(&b, "<saml:Conditions");
		opt_attr(&b, "NotBefore", r->cond_nb);
		opt_attr(&b, "NotOnOrAfter", r->cond_noa);
		bk_buf_addf(&b, ">%s</saml:Conditions>", r->conds);
	}
	bk_buf_adds(&b, "<saml:AuthnStatement");
	opt_attr(&b, "AuthnInstant", r->authn_instant);
	opt_attr(&b, "SessionNotOnOrAfter", r->session_noa);
	bk_buf_addf(&b, "><saml:AuthnContext><saml:AuthnContextClassRef>"
	    "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"
	    "</saml:AuthnContextClassRef></saml:AuthnContext>"
	    "</saml:AuthnStatement><saml:AttributeStatement>"
	    "<saml:Attribute Name=\"username\"><saml:AttributeValue "
	    "xsi:type=\"xs:anyType\">%s</saml:AttributeValue></saml:Attribute>"
	    "<saml:Attribute Name=\"is_portal_user\"><saml:AttributeValue "
	    "xsi:type=\"xs:anyType\">%s</saml:AttributeValue></saml:Attribute>"
	    "%s</saml:AttributeStatement>%s</saml:Assertion>%s"
	    "</samlp:Response>", ALICE, r->portal, r->attrs_extra,
	    r->assertion_extra, r->after_assertion);
	return bk_buf_take(&b);
}

/* ---- tree helpers for the mutations ---- */

static xmlNodePtr
root_of(xmlDocPtr d)
{
	return xmlDocGetRootElement(d);
}

static xmlNodePtr
assertion_of(xmlDocPtr d)
{
	return saml_xml_child(root_of(d), SAML_NS_ASSERT, "Assertion");
}

static xmlNodePtr
find(xmlNodePtr top, const char *ns, const char *name)
{
	xmlNodePtr n;

	for (n = top; n != NULL; n = saml_xml_walk_next(top, n))
		if (saml_xml_is(n, ns, name))
			return n;
	return NULL;
}

static void
set_text(xmlNodePtr n, const char *s)
{
	xmlNodeSetContent(n, SAML_XC(s));
}

static xmlNodePtr
copy_unsigned(xmlNodePtr n)
{
	xmlNodePtr c = xmlDocCopyNode(n, n->doc, 1);
	xmlNodePtr s = saml_xml_child(c, SAML_NS_DS, "Signature");

	if (s != NULL) {
		xmlUnlinkNode(s);
		xmlFreeNode(s);
	}
	return c;
}

static void
make_evil(xmlNodePtr a)
{
	xmlSetProp(a, SAML_XC("ID"), SAML_XC("_evil_assertion_ID"));
	set_text(find(a, SAML_NS_ASSERT, "NameID"), "admin@example.com");
}

/* ---- signing ---- */

static void
sign_elem(xmlDocPtr d, xmlNodePtr e, xmlSecKeyPtr key, const struct sopt *o)
{
	xmlNodePtr sig, ref, ki, after;
	xmlSecDSigCtxPtr ctx;
	xmlAttrPtr id = xmlHasNsProp(e, SAML_XC("ID"), NULL);
	char uri[SAML_ID_MAX + 2];
	xmlSecTransformId alg = o->hmac ? xmlSecTransformHmacSha256Id :
	    o->sigalg;

	assert_non_null(id);
	snprintf(uri, sizeof(uri), "#%s", saml_xml_attr(e, "ID"));
	if (xmlGetID(d, id->children->content) == NULL)
		xmlAddID(NULL, d, id->children->content, id);
	sig = xmlSecTmplSignatureCreate(d, o->si_c14n, alg, NULL);
	assert_non_null(sig);
	if (o->si_prefixes != NULL)
		assert_int_equal(xmlSecTmplTransformAddC14NInclNamespaces(
		    xmlSecTmplSignatureGetC14NMethodNode(sig),
		    SAML_XC(o->si_prefixes)), 0);
	after = saml_xml_child(e, SAML_NS_ASSERT, "Issuer");
	if (after != NULL)
		xmlAddNextSibling(after, sig);
	else if (e->children != NULL)
		xmlAddPrevSibling(e->children, sig);
	else
		xmlAddChild(e, sig);
	ref = xmlSecTmplSignatureAddReference(sig, o->digest, NULL, SAML_XC(uri),
	    NULL);
	xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId);
	xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId);
	if (o->two_refs) {
		ref = xmlSecTmplSignatureAddReference(sig, o->digest, NULL,
		    SAML_XC(uri), NULL);
		xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId);
	}
	ki = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL);
	if (!o->hmac)
		xmlSecTmplKeyInfoAddX509Data(ki);
	ctx = xmlSecDSigCtxCreate(NULL);
	ctx->signKey = xmlSecKeyDuplicate(o->hmac ? K_HMAC : key);
	assert_int_equal(xmlSecDSigCtxSign(ctx, sig), 0);
	xmlSecDSigCtxDestroy(ctx);
}

static char *
b64_of(const char *s, size_t n)
{
	return bk_b64_encode(s, n);
}

#include "test_saml_cases.h"

/* Build, sign, mutate, serialise, base64: the SAMLResponse value. */
static char *
make_input(const struct tcase *tc, struct sopt *o)
{
	struct rsp r;
	xmlDocPtr d = NULL;
	xmlChar *mem = NULL;
	char *xml, *out, *why = NULL;
	const char *body;
	struct bk_buf b;
	int size = 0;

	rsp_default(&r);
	sopt_default(o);
	if (tc->setup != NULL)
		tc->setup(&r, o);
	if (o->raw_b64 != NULL)
		return bk_strdup(o->raw_b64);
	if (o->raw_xml != NULL)
		return b64_of(o->raw_xml, strlen(o->raw_xml));
	xml = rsp_build(&r);
	if (saml_xml_parse(xml, strlen(xml), 0, &d, &why) != BK_OK)
		fail_msg("template does not parse: %s", why);
	free(xml);
	if (o->sign_assertion)
		sign_elem(d, assertion_of(d), o->akey, o);
	if (o->sign_response)
		sign_elem(d, root_of(d), o->rkey, o);
	if (tc->mut != NULL)
		tc->mut(d);
	xmlDocDumpMemory(d, &mem, &size);
	xmlFreeDoc(d);
	body = strstr((const char *)mem, "?>") + 2;
	bk_buf_init(&b, 4 << 20);
	bk_buf_adds(&b, o->prefix != NULL ? o->prefix : "");
	bk_buf_adds(&b, body);
	out = b64_of(b.data, b.len);
	bk_buf_free(&b);
	xmlFree(mem);
	return out;
}

/*
 * SAML_DUMP_CORPUS=dir writes each row's input as a fuzz seed
 * (tests/corpus/saml_response): NNNN-slug.b64 with its .expect, and the
 * decoded document as NNNN-slug.xml for the raw-XML variant.
 */
static void
dump_corpus(const struct tcase *tc, const char *in)
{
	const char *dir = getenv("SAML_DUMP_CORPUS");
	char path[512], slug[64];
	unsigned char *xml = NULL;
	size_t i, n, len = 0;
	FILE *f;

	if (dir == NULL)
		return;
	for (i = 0, n = 0; tc->name[i] != '\0' && n < sizeof(slug) - 1; i++)
		slug[n++] = (tc->name[i] >= 'a' && tc->name[i] <= 'z') ||
		    (tc->name[i] >= 'A' && tc->name[i] <= 'Z') ||
		    (tc->name[i] >= '0' && tc->name[i] <= '9') ? tc->name[i] : '-';
	slug[n] = '\0';
	n = (size_t)(tc - cases) + 1;
	snprintf(path, sizeof(path), "%s/%04zu-%s.b64", dir, n, slug);
	if ((f = fopen(path, "w")) != NULL) {
		fputs(in, f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/%04zu-%s.b64.expect", dir, n, slug);
	if ((f = fopen(path, "w")) != NULL) {
		fprintf(f, "expect: %s\nkeywords: saml\norigin: "
		    "tests/unit/test_saml.c row \"%s\"\n",
		    bk_err_slug(tc->expect), tc->name);
		fclose(f);
	}
	if (tc->expect != BK_OK || bk_b64_decode(in, strlen(in), 1 << 20, &xml,
	    &len) != BK_OK)
		return;
	snprintf(path, sizeof(path), "%s/%04zu-%s.xml", dir, n, slug);
	if ((f = fopen(path, "w")) != NULL) {
		fwrite(xml, 1, len, f);
		fclose(f);
	}
	free(xml);
}

static void
check_case(const struct tcase *tc, const struct sopt *o, const char *in)
{
	struct saml_result res;
	struct saml_tenant *t;
	char *detail = NULL;
	int rv;

	t = o->rollover ? T_ROLL : T;
	t->allow_sha1 = o->allow_sha1;
	t->allow_portal_users = o->allow_portal;
	t->max_authn_age = o->max_age;
	t->username_attribute = (char *)(uintptr_t)o->user_attr;
	rv = saml_response_verify(t, in, strlen(in), NOW, &res, &detail);
	t->username_attribute = NULL;
	if (rv != tc->expect)
		fail_msg("%s: got %d (%s), want %d (%s)", tc->name, rv,
		    detail != NULL ? detail : "-", tc->expect,
		    bk_strerror(tc->expect));
	if (rv != BK_OK) {
		char *clean;

		/* Every detail is well-formed UTF-8: it reaches the audit. */
		assert_non_null(detail);
		clean = log_utf8(detail, 4096);
		assert_string_equal(clean, detail);
		free(clean);
	}
	if (tc->want_user != NULL)
		assert_string_equal(res.username, tc->want_user);
	if (rv == BK_OK) {
		assert_string_equal(res.issuer, IDP);
		assert_non_null(res.assertion_id);
		assert_true(res.not_on_or_after > NOW - SKEW);
		assert_int_equal(strlen(res.cert_fingerprint), SAML_FP_LEN);
	}
	saml_result_cleanup(&res);
	free(detail);
}

static void
run_case(void **state)
{
	const struct tcase *tc = *state;
	struct sopt o;
	char *in;

	in = make_input(tc, &o);
	assert_non_null(in);
	dump_corpus(tc, in);
	check_case(tc, &o, in);
	free(in);
}

/*
 * ---- the signature over SignedInfo is checked by saml_si.c alone ----
 * (xmlsec validates the Reference only), so these rows pin what it must
 * accept and refuse.
 */

static void
su_si_incl(struct rsp *r, struct sopt *o)
{
	o->si_c14n = xmlSecTransformInclC14NId;
}

static void
su_si_prefixes(struct rsp *r, struct sopt *o)
{
	o->si_prefixes = "saml xs";
}

static void
su_si_sha384(struct rsp *r, struct sopt *o)
{
	o->sigalg = xmlSecTransformRsaSha384Id;
	o->digest = xmlSecTransformSha384Id;
}

/*
 * The attacker's edit with a correct digest: NameID changed, the
 * Assertion re-signed (Reference and DigestValue valid for the edit), and
 * the IdP's SignatureValue put back.  Only the RSA check over SignedInfo
 * can refuse it.
 */
static void
mu_resign_keep_sigvalue(xmlDocPtr d)
{
	xmlNodePtr a = assertion_of(d), sig = find(a, SAML_NS_DS, "Signature");
	xmlChar *sv = xmlNodeGetContent(find(sig, SAML_NS_DS,
	    "SignatureValue"));
	struct sopt o;

	set_text(find(a, SAML_NS_ASSERT, "NameID"), "admin@example.com");
	xmlUnlinkNode(sig);
	xmlFreeNode(sig);
	sopt_default(&o);
	sign_elem(d, a, K_EVIL, &o);
	sig = find(a, SAML_NS_DS, "Signature");
	set_text(find(sig, SAML_NS_DS, "SignatureValue"), (const char *)sv);
	xmlFree(sv);
}

/* A SignedInfo edited after signing (its DigestValue): refused. */
static void
mu_edit_signed_info(xmlDocPtr d)
{
	xmlNodePtr dv = find(assertion_of(d), SAML_NS_DS, "DigestValue");
	xmlChar *v = xmlNodeGetContent(dv);

	v[0] = v[0] == 'A' ? 'B' : 'A';
	set_text(dv, (const char *)v);
	xmlFree(v);
}

/*
 * A relative namespace URI on the Response, outside SignedInfo: libxml2's
 * c14n refuses it (saml_si.c canonicalizes SignedInfo through a view that
 * starts there, so it is xmlsec's c14n of the Assertion that stops).
 */
static void
mu_relative_ns(xmlDocPtr d)
{
	assert_non_null(xmlNewNs(root_of(d), SAML_XC("relative/uri"),
	    SAML_XC("q")));
}

static const struct tcase si_cases[] = {
	{ "SignedInfo inclusive c14n", su_si_incl, NULL, BK_OK, ALICE },
	{ "SignedInfo exc-c14n PrefixList", su_si_prefixes, NULL, BK_OK,
	    ALICE },
	{ "SignedInfo rsa-sha384", su_si_sha384, NULL, BK_OK, ALICE },
	{ "re-signed Reference, IdP SignatureValue", NULL,
	    mu_resign_keep_sigvalue, BK_E_SAML_SIG_INVALID, NULL },
	{ "SignedInfo DigestValue edited", NULL, mu_edit_signed_info,
	    BK_E_SAML_SIG_INVALID, NULL },
	{ "relative namespace URI on the Response", NULL, mu_relative_ns,
	    BK_E_SAML_SIG_INVALID, NULL },
};

/*
 * Strict base64 (lib/bk_util.c), which the SAMLResponse and SignatureValue
 * go through: its fast path leans on EVP_DecodeBlock() refusing every
 * byte outside the alphabet and '=', so an OpenSSL that decoded more
 * would show here.
 */
static void
test_b64_strict(void **state)
{
	static const struct {
		const char	*in;
		int		 rv;
	} t[] = {
		{ "QUJD", BK_OK }, { "QUI=", BK_OK }, { "QQ==", BK_OK },
		{ "QU JD", BK_OK }, { " QUJD\r\n", BK_OK }, { "QQ=\n=", BK_OK },
		{ "QUJ-", BK_E_INVAL }, { "QU_D", BK_E_INVAL },
		{ "QUJD-", BK_E_INVAL }, { "-QUJD", BK_E_INVAL },
		{ "Q=JD", BK_E_INVAL }, { "QQ=A", BK_E_INVAL },
		{ "Q===", BK_E_INVAL }, { "====", BK_E_INVAL },
		{ "QUJ", BK_E_INVAL }, { "", BK_E_INVAL },
		{ "QUJD\x01", BK_E_INVAL }, { "QU\xc3\xa9" "D", BK_E_INVAL },
		{ "QUJD.", BK_E_INVAL }, { "QU\vJD", BK_E_INVAL },
	};
	unsigned char *out;
	size_t i, len;

	(void)state;
	for (i = 0; i < BK_NELEM(t); i++) {
		out = NULL;
		if (bk_b64_decode(t[i].in, strlen(t[i].in), 64, &out, &len) !=
		    t[i].rv)
			fail_msg("base64 row %zu (%s)", i, t[i].in);
		free(out);
	}
	out = NULL;
	assert_int_equal(bk_b64_decode("QUJDRA==", 8, 3, &out, &len),
	    BK_E_TOOBIG);
	free(out);
	assert_int_equal(bk_b64_decode("QUJD", 4, 3, &out, &len), BK_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(out, "ABC", 4);
	free(out);
}

static void
test_signed_info(void **state)
{
	struct sopt o;
	size_t i;
	char *in;

	for (i = 0; i < BK_NELEM(si_cases); i++) {
		in = make_input(&si_cases[i], &o);
		assert_non_null(in);
		check_case(&si_cases[i], &o, in);
		free(in);
	}
}

/* ---- non-table tests ---- */

static void
test_result_fields(void **state)
{
	static const struct tcase tc = { "fields", NULL, NULL, BK_OK, ALICE };
	struct saml_result res;
	struct sopt o;
	char *in = make_input(&tc, &o);

	assert_int_equal(saml_response_verify(T, in, strlen(in), NOW, &res,
	    NULL), BK_OK);
	assert_string_equal(res.response_id, RID);
	assert_string_equal(res.assertion_id, AID);
	assert_null(res.in_response_to);
	assert_int_equal(res.response_signed, 0);
	assert_int_equal(res.not_on_or_after, NOW + 300);
	assert_string_equal(res.cert_fingerprint, T->info.certs[0].fingerprint);
	/* what the audit records besides the identity (issue 9) */
	assert_string_equal(res.name_id, ALICE);
	assert_non_null(res.issue_instant);
	assert_non_null(res.authn_instant);
	assert_string_equal(res.sig_alg,
	    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
	assert_string_equal(res.digest_alg,
	    "http://www.w3.org/2001/04/xmlenc#sha256");
	saml_result_cleanup(&res);
	/* refused later (expired): what was read is kept, as claimed */
	assert_int_not_equal(saml_response_verify(T, in, strlen(in),
	    NOW + 86400, &res, NULL), BK_OK);
	assert_string_equal(res.assertion_id, AID);
	assert_string_equal(res.name_id, ALICE);
	assert_non_null(res.issuer);
	assert_non_null(res.sig_alg);
	saml_result_cleanup(&res);
	free(in);
}

static void
test_lasso_flag(void **state)
{
	/* S32: main() set LASSO_FLAG before saml_init(). */
	assert_null(getenv("LASSO_FLAG"));
	assert_true(lasso_flag_verify_signature);
}

static void
test_tenant_info(void **state)
{
	struct saml_tenant_info in;

	saml_tenant_info(T, &in);
	assert_string_equal(in.idp_entity_id, IDP);
	assert_string_equal(in.idp_sso_url,
	    "https://idp.test/idp/endpoint/HttpRedirect");
	assert_int_equal(in.n_certs, 1);
	assert_int_equal(strlen(in.certs[0].fingerprint), SAML_FP_LEN);
	assert_true(in.certs[0].not_after > NOW);
	assert_int_equal(in.metadata_valid_until, 0);
	saml_tenant_info(T_ROLL, &in);
	assert_int_equal(in.n_certs, 2);
}

static struct saml_sp_params
params(const char *md)
{
	struct saml_sp_params p;

	memset(&p, 0, sizeof(p));
	p.tenant_id = "acme";
	p.sp_entity_id = SP;
	p.acs_url = ACS;
	p.sp_cert_path = KEYDIR "/sp.crt";
	p.idp_metadata_path = md;
	p.clock_skew = SKEW;
	return p;
}

/* Metadata that expires while the broker runs stops being trusted. */
static void
test_metadata_expires_at_runtime(void **state)
{
	struct saml_sp_params	 p;
	struct saml_tenant	*t = NULL;
	struct saml_result	 r;
	char			 path[] = "/tmp/test_saml_md.XXXXXX", *why = NULL;
	char			*md, *at, *detail = NULL;
	FILE			*f;
	long			 n;
	int			 fd;

	(void)state;
	f = fopen(KEYDIR "/idp-metadata.xml", "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	md = calloc(1, (size_t)n + 64);
	assert_int_equal(fread(md, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	at = strstr(md, "entityID=");
	assert_non_null(at);
	memmove(at + 39, at, strlen(at) + 1);
	memcpy(at, "validUntil=\"2099-01-01T00:00:00Z\"      ", 39);
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, md, strlen(md)), (ssize_t)strlen(md));
	close(fd);
	p = params(path);
	assert_int_equal(saml_tenant_new(&p, &t, &why), BK_OK);
	assert_int_equal(saml_response_verify(t, "x", 1, (time_t)4070908800 + 1,
	    &r, &detail), BK_E_SAML_METADATA);
	saml_result_cleanup(&r);
	free(detail);
	/* Before validUntil the same input fails on its own merits. */
	assert_int_equal(saml_response_verify(t, "x", 1, (time_t)4070908800 - 1,
	    &r, &detail), BK_E_SAML_BASE64);
	saml_result_cleanup(&r);
	free(detail);
	saml_tenant_free(t);
	unlink(path);
	free(md);
}

static void
test_tenant_errors(void **state)
{
	struct saml_sp_params p;
	struct saml_tenant *t = NULL;
	char *why = NULL;

	p = params(KEYDIR "/idp-metadata-expired.xml");
	assert_int_equal(saml_tenant_new(&p, &t, &why), BK_E_SAML_METADATA);
	assert_non_null(strstr(why, "expired"));
	free(why);
	p = params(KEYDIR "/no-such-file.xml");
	assert_int_equal(saml_tenant_new(&p, &t, &why), BK_E_SAML_METADATA);
	free(why);
	p = params(KEYDIR "/idp-metadata.xml");
	p.sp_cert_path = KEYDIR "/README";
	assert_int_equal(saml_tenant_new(&p, &t, &why), BK_E_SAML_CERT);
	assert_non_null(strstr(why, "README: "));
	free(why);
	assert_null(t);
}

static void
test_sp_metadata(void **state)
{
	const char *md;
	size_t len;
	xmlDocPtr d = NULL;
	xmlNodePtr sp, acs;

	md = saml_sp_metadata(T, &len);
	assert_int_equal(strlen(md), len);
	assert_int_equal(saml_xml_parse(md, len, 0, &d, NULL), BK_OK);
	assert_true(saml_xml_is(root_of(d), SAML_NS_MD, "EntityDescriptor"));
	assert_string_equal(saml_xml_attr(root_of(d), "entityID"), SP);
	sp = saml_xml_child(root_of(d), SAML_NS_MD, "SPSSODescriptor");
	assert_non_null(sp);
	assert_string_equal(saml_xml_attr(sp, "AuthnRequestsSigned"), "false");
	assert_string_equal(saml_xml_attr(sp, "WantAssertionsSigned"), "true");
	acs = saml_xml_child(sp, SAML_NS_MD, "AssertionConsumerService");
	assert_string_equal(saml_xml_attr(acs, "Location"), ACS);
	assert_string_equal(saml_xml_attr(acs, "Binding"), SAML_BINDING_POST);
	assert_non_null(find(sp, SAML_NS_DS, "X509Certificate"));
	xmlFreeDoc(d);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode the value of key in url's query. */
static char *
query_param(const char *url, const char *key)
{
	const char *p = strchr(url, '?'), *e;
	size_t kl = strlen(key);
	char *out, *o;

	for (; p != NULL; p = strchr(p + 1, '&'))
		if (strncmp(p + 1, key, kl) == 0 && p[kl + 1] == '=')
			break;
	if (p == NULL)
		return NULL;
	p += kl + 2;
	e = p + strcspn(p, "&");
	o = out = calloc(1, (size_t)(e - p) + 1);
	for (; p < e; p++) {
		if (*p == '%' && e - p > 2 && hexval(p[1]) >= 0 &&
		    hexval(p[2]) >= 0) {
			*o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 2;
		} else
			*o++ = *p == '+' ? ' ' : *p;
	}
	return out;
}

static char *
inflate_raw(const unsigned char *in, size_t len)
{
	z_stream z;
	char *out = calloc(1, 65536);

	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, -15), Z_OK);
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (unsigned int)len;
	z.next_out = (unsigned char *)out;
	z.avail_out = 65535;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	inflateEnd(&z);
	return out;
}

/* An unsigned tenant's AuthnRequest as the URL the broker sends. */
static int
authn_url(const struct saml_tenant *t, const char *rs, char **url,
    char id[SAML_ID_MAX + 1])
{
	struct saml_redirect r;
	int rv;

	*url = NULL;
	if ((rv = saml_authn_request_build(t, rs, &r, id)) != BK_OK)
		return rv;
	assert_false(r.sign);
	assert_null(strstr(r.query, "SigAlg="));
	rv = saml_redirect_url_build(r.dest, r.query, NULL, 0, url);
	saml_redirect_cleanup(&r);
	return rv;
}

static void
test_authn_request(void **state)
{
	char id[SAML_ID_MAX + 1], *url = NULL, *req, *xml, *rs;
	unsigned char *raw;
	size_t rawlen;
	xmlDocPtr d = NULL;
	xmlNodePtr r, pol;

	assert_int_equal(authn_url(T, "opaque-key-1", &url, id), BK_OK);
	assert_true(strncmp(url, "https://idp.test/idp/endpoint/HttpRedirect?",
	    43) == 0);
	assert_null(strstr(url, "Signature="));
	rs = query_param(url, "RelayState");
	assert_string_equal(rs, "opaque-key-1");
	free(rs);
	req = query_param(url, "SAMLRequest");
	assert_non_null(req);
	assert_int_equal(bk_b64_decode(req, strlen(req), 65536, &raw, &rawlen),
	    BK_OK);
	xml = inflate_raw(raw, rawlen);
	assert_int_equal(saml_xml_parse(xml, strlen(xml), 0, &d, NULL), BK_OK);
	r = root_of(d);
	assert_true(saml_xml_is(r, SAML_NS_PROTO, "AuthnRequest"));
	assert_string_equal(saml_xml_attr(r, "ID"), id);
	assert_string_equal(saml_xml_attr(r, "Version"), "2.0");
	assert_string_equal(saml_xml_attr(r, "Destination"),
	    "https://idp.test/idp/endpoint/HttpRedirect");
	assert_string_equal(saml_xml_attr(r, "AssertionConsumerServiceURL"),
	    ACS);
	assert_string_equal(saml_xml_attr(r, "ProtocolBinding"),
	    SAML_BINDING_POST);
	assert_true(saml_xml_text_is(saml_xml_child(r, SAML_NS_ASSERT,
	    "Issuer"), SP));
	pol = saml_xml_child(r, SAML_NS_PROTO, "NameIDPolicy");
	assert_string_equal(saml_xml_attr(pol, "Format"), SAML_FMT_UNSPEC);
	assert_string_equal(saml_xml_attr(pol, "AllowCreate"), "true");
	assert_null(find(r, SAML_NS_DS, "Signature"));
	xmlFreeDoc(d);
	free(xml);
	free(raw);
	free(req);
	free(url);
	/* No RelayState unless given; a fresh ID each time; P33 cap. */
	assert_int_equal(authn_url(T, NULL, &url, id), BK_OK);
	assert_null(strstr(url, "RelayState="));
	free(url);
	assert_int_equal(authn_url(T, "0123456789012345678901234"
	    "56789012345678901234567890123456789012345678901234567890", &url,
	    id), BK_E_SAML_RELAYSTATE);
	assert_null(url);
}

/*
 * The string to sign (Bindings 3.4.4.1), a known vector: the parameters
 * in their order, each value URL-encoded with only RFC 3986 unreserved
 * characters left and upper-case hex (what pysaml2's urlencode gives).
 */
static void
test_redirect_query(void **state)
{
	char *q = NULL, *url = NULL;
	const unsigned char sig[] = { 0xfb, 0xff, 0x00, 0x3e };

	(void)state;
	assert_int_equal(saml_redirect_query_build("SAMLRequest", "fZ+/a=",
	    "k1 (x)&y=~", 1, &q), BK_OK);
	assert_string_equal(q, "SAMLRequest=fZ%2B%2Fa%3D"
	    "&RelayState=k1%20%28x%29%26y%3D~"
	    "&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23"
	    "rsa-sha256");
	assert_int_equal(saml_redirect_url_build("https://idp.test/sso", q,
	    sig, sizeof(sig), &url), BK_OK);
	assert_int_equal(strncmp(url, "https://idp.test/sso?", 21), 0);
	assert_string_equal(url + 21 + strlen(q), "&Signature=%2B%2F8APg%3D%3D");
	free(url);
	free(q);
	/* unsigned, no RelayState: SAMLResponse alone; a query kept */
	assert_int_equal(saml_redirect_query_build("SAMLResponse", "AB+=",
	    NULL, 0, &q), BK_OK);
	assert_string_equal(q, "SAMLResponse=AB%2B%3D");
	assert_int_equal(saml_redirect_url_build("https://idp.test/slo?so=1",
	    q, NULL, 0, &url), BK_OK);
	assert_string_equal(url, "https://idp.test/slo?so=1&SAMLResponse=AB%2B%3D");
	free(url);
	free(q);
}

/* What the key holder does (keys.c): RSA-SHA256, PKCS#1 v1.5. */
static size_t
holder_sign(const char *data, unsigned char *sig, size_t cap)
{
	FILE *f = fopen(KEYDIR "/sp.key", "r");
	EVP_PKEY *k;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t n = cap;

	assert_non_null(f);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k),
	    1);
	assert_int_equal(EVP_DigestSign(md, sig, &n,
	    (const unsigned char *)data, strlen(data)), 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return n;
}

/* The Signature of url checks against sp.crt over the bytes before it. */
static int
sp_cert_verifies(const char *url)
{
	FILE *f = fopen(KEYDIR "/sp.crt", "r");
	X509 *x;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const char *q = strchr(url, '?') + 1, *s = strstr(url, "&Signature=");
	char *sig64;
	unsigned char *sig;
	size_t siglen;
	int ok;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(s);
	sig64 = query_param(url, "Signature");
	assert_int_equal(bk_b64_decode(sig64, strlen(sig64), 1024, &sig,
	    &siglen), BK_OK);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    X509_get0_pubkey(x)), 1);
	ok = EVP_DigestVerify(md, sig, siglen, (const unsigned char *)q,
	    (size_t)(s - q)) == 1;
	EVP_MD_CTX_free(md);
	X509_free(x);
	free(sig);
	free(sig64);
	return ok;
}

/* sign_requests: SigAlg last, the holder's signature checks with sp.crt. */
static void
test_authn_request_signed(void **state)
{
	struct saml_sp_params p;
	struct saml_tenant *t = NULL;
	struct saml_redirect r;
	char id[SAML_ID_MAX + 1], *url = NULL, *why = NULL, *req, *xml;
	unsigned char sig[512], *raw;
	size_t n, rawlen;
	xmlDocPtr d = NULL;

	(void)state;
	p = params(KEYDIR "/idp-metadata.xml");
	p.sign_requests = 1;
	assert_int_equal(saml_tenant_new(&p, &t, &why), BK_OK);
	assert_non_null(strstr(saml_sp_metadata(t, NULL),
	    "AuthnRequestsSigned=\"true\""));
	assert_int_equal(saml_authn_request_build(t, "rs-1", &r, id), BK_OK);
	assert_true(r.sign);
	assert_string_equal(r.dest, "https://idp.test/idp/endpoint/HttpRedirect");
	assert_non_null(strstr(r.query, "&RelayState=rs-1&SigAlg="
	    "http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256"));
	n = holder_sign(r.query, sig, sizeof(sig));
	assert_int_equal(saml_redirect_url_build(r.dest, r.query, sig, n, &url),
	    BK_OK);
	assert_true(sp_cert_verifies(url));
	/* the request itself carries no XML signature (the query's is it) */
	req = query_param(url, "SAMLRequest");
	assert_int_equal(bk_b64_decode(req, strlen(req), 65536, &raw, &rawlen),
	    BK_OK);
	xml = inflate_raw(raw, rawlen);
	assert_int_equal(saml_xml_parse(xml, strlen(xml), 0, &d, NULL), BK_OK);
	assert_string_equal(saml_xml_attr(root_of(d), "ID"), id);
	assert_null(find(root_of(d), SAML_NS_DS, "Signature"));
	xmlFreeDoc(d);
	/* one byte of the signed string changed: no longer verifies */
	url[strlen(r.dest) + 1 + 20] ^= 1;
	assert_false(sp_cert_verifies(url));
	free(xml);
	free(raw);
	free(req);
	free(url);
	saml_redirect_cleanup(&r);
	saml_tenant_free(t);
}

/* saml_redirect_encode: raw DEFLATE then base64, inflated back whole. */
static void
test_redirect_encode(void **state)
{
	const char *xml = "<samlp:AuthnRequest ID=\"_x\"/>";
	char *b64 = NULL, *back;
	unsigned char *raw;
	size_t rawlen;

	(void)state;
	assert_int_equal(saml_redirect_encode(xml, strlen(xml), &b64), BK_OK);
	assert_int_equal(bk_b64_decode(b64, strlen(b64), 4096, &raw, &rawlen),
	    BK_OK);
	back = inflate_raw(raw, rawlen);
	assert_string_equal(back, xml);
	free(back);
	free(raw);
	free(b64);
	assert_int_equal(saml_redirect_encode(xml, 0, &b64), BK_E_TOOBIG);
	assert_null(b64);
}

static void
test_time_parse(void **state)
{
	time_t t;

	assert_int_equal(saml_xml_time_parse("2026-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, NOW);
	assert_int_equal(saml_xml_time_parse("2026-01-01T00:00:00.123Z", &t),
	    0);
	assert_int_equal(t, NOW);
	assert_int_equal(saml_xml_time_parse("2024-02-29T23:59:59Z", &t), 0);
	assert_int_equal(saml_xml_time_parse("2025-02-29T00:00:00Z", &t), -1);
	assert_int_equal(saml_xml_time_parse("2026-01-01T00:00:00z", &t), -1);
	assert_int_equal(saml_xml_time_parse("2026-01-01T00:00:00+00:00", &t),
	    -1);
	assert_int_equal(saml_xml_time_parse("2026-01-01 00:00:00Z", &t), -1);
	assert_int_equal(saml_xml_time_parse("2026-01-01T24:00:00Z", &t), -1);
	assert_int_equal(saml_xml_time_parse("2026-01-01T00:00:60Z", &t), -1);
	assert_int_equal(saml_xml_time_parse("2026-01-01T00:00:00.Z", &t), -1);
	assert_int_equal(saml_xml_time_parse("2026-01-01T00:00:00ZZ", &t), -1);
	assert_int_equal(saml_xml_time_parse("+2026-01-01T00:00:00Z", &t), -1);
	assert_int_equal(saml_xml_time_parse("garbage", &t), -1);
}

static xmlSecKeyPtr
load_key(const char *name)
{
	char k[256], c[256];
	xmlSecKeyPtr key;

	snprintf(k, sizeof(k), KEYDIR "/%s.key", name);
	snprintf(c, sizeof(c), KEYDIR "/%s.crt", name);
	key = xmlSecCryptoAppKeyLoad(k, xmlSecKeyDataFormatPem, NULL, NULL,
	    NULL);
	if (key == NULL || xmlSecCryptoAppKeyCertLoad(key, c,
	    xmlSecKeyDataFormatPem) < 0)
		return NULL;
	return key;
}

/* S30: an HMAC key made of the IdP certificate's bytes. */
static xmlSecKeyPtr
load_hmac_key(void)
{
	FILE *f = fopen(KEYDIR "/idp.crt", "rb");
	unsigned char buf[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return xmlSecKeyReadMemory(xmlSecKeyDataHmacId, buf, n);
}

static int
setup_all(void **state)
{
	struct saml_sp_params p;
	char *why = NULL;

	p = params(KEYDIR "/idp-metadata.xml");
	if (saml_tenant_new(&p, &T, &why) != BK_OK) {
		fprintf(stderr, "tenant: %s\n", why);
		return -1;
	}
	p = params(KEYDIR "/idp-metadata-rollover.xml");
	if (saml_tenant_new(&p, &T_ROLL, &why) != BK_OK) {
		fprintf(stderr, "tenant: %s\n", why);
		return -1;
	}
	K_IDP = load_key("idp");
	K_IDP2 = load_key("idp2");
	K_EVIL = load_key("evil");
	K_HMAC = load_hmac_key();
	/* X05: one byte over the cap; X08: 20000 nested elements. */
	big_b64 = calloc(1, SAML_RESPONSE_MAX + 2);
	memset(big_b64, 'A', SAML_RESPONSE_MAX + 1);
	deep_xml = calloc(1, 7 * 20000 + 1);
	for (size_t i = 0; i < 20000; i++)
		memcpy(deep_xml + 3 * i, "<a>", 3);
	for (size_t i = 0; i < 20000; i++)
		memcpy(deep_xml + 60000 + 4 * i, "</a>", 4);
	return K_IDP && K_IDP2 && K_EVIL && K_HMAC ? 0 : -1;
}

static int
teardown_all(void **state)
{
	saml_tenant_free(T);
	saml_tenant_free(T_ROLL);
	xmlSecKeyDestroy(K_IDP);
	xmlSecKeyDestroy(K_IDP2);
	xmlSecKeyDestroy(K_EVIL);
	xmlSecKeyDestroy(K_HMAC);
	free(big_b64);
	free(deep_xml);
	return 0;
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_lasso_flag),
		cmocka_unit_test(test_result_fields),
		cmocka_unit_test(test_signed_info),
		cmocka_unit_test(test_b64_strict),
		cmocka_unit_test(test_tenant_info),
		cmocka_unit_test(test_tenant_errors),
		cmocka_unit_test(test_metadata_expires_at_runtime),
		cmocka_unit_test(test_sp_metadata),
		cmocka_unit_test(test_authn_request),
		cmocka_unit_test(test_redirect_query),
		cmocka_unit_test(test_authn_request_signed),
		cmocka_unit_test(test_redirect_encode),
		cmocka_unit_test(test_time_parse),
	};
	struct CMUnitTest *all;
	size_t i, n = BK_NELEM(cases) + BK_NELEM(fixed);
	int rv;

	/* S32: the hostile environment the broker must neutralise. */
	setenv("LASSO_FLAG", "no-verify-signature", 1);
	if (saml_init() != BK_OK)
		return 1;
	all = calloc(n, sizeof(*all));
	for (i = 0; i < BK_NELEM(fixed); i++)
		all[i] = fixed[i];
	for (i = 0; i < BK_NELEM(cases); i++) {
		all[BK_NELEM(fixed) + i].name = cases[i].name;
		all[BK_NELEM(fixed) + i].test_func = run_case;
		all[BK_NELEM(fixed) + i].initial_state =
		    (void *)(uintptr_t)&cases[i];
	}
	rv = _cmocka_run_group_tests("saml", all, n, setup_all, teardown_all);
	free(all);
	saml_shutdown();
	return rv;
}
