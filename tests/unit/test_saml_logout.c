/*
 * sso-broker: unit tests of saml_logout.c, single logout's messages of
 * the HTTP-Redirect binding (cmocka).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The messages are built here, encoded with saml_redirect.c and signed
 * with the test IdP key (tests/keys/idp.key) by OpenSSL, at a fixed clock;
 * each hostile row changes one thing and names the code it must give.
 * What the broker builds (LogoutRequest, LogoutResponse) is checked by
 * inflating it again and looking at the XML.
 * Trust: test-only keys; nothing here is production material.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <zlib.h>

#include "bk.h"
#include "saml.h"

#ifndef KEYDIR
#define KEYDIR "tests/keys"
#endif
#define NOW	((time_t)1767225600)	/* 2026-01-01T00:00:00Z */
#define II	"2026-01-01T00:00:00Z"
#define DEST	"https://broker.test/slo"
#define IDP	"https://idp.test/sf"
#define SHA1	"http://www.w3.org/2000/09/xmldsig#rsa-sha1"

static struct saml_tenant *
lo_tenant_sha1(const char *md, int allow_sha1)
{
	struct saml_tenant	*t = NULL;
	struct saml_sp_params	 p;
	char			*why = NULL;

	memset(&p, 0, sizeof(p));
	p.allow_sha1 = allow_sha1;
	p.tenant_id = "t";
	p.sp_entity_id = "https://broker.test/sp";
	p.acs_url = "https://broker.test/acs";
	p.sp_cert_path = KEYDIR "/sp.crt";
	p.idp_metadata_path = md;
	p.clock_skew = 60;
	assert_int_equal(saml_tenant_new(&p, &t, &why), BK_OK);
	return t;
}

static struct saml_tenant *
lo_tenant(const char *md)
{
	return lo_tenant_sha1(md, 0);
}

/* RSA-SHA256 (or SHA-1) of s with the key file, base64. */
static char *
lo_sign(const char *s, const char *keyfile, int sha1)
{
	unsigned char	 sig[1024];
	size_t		 len = sizeof(sig);
	EVP_PKEY	*pk;
	EVP_MD_CTX	*m;
	FILE		*f;

	assert_non_null(f = fopen(keyfile, "r"));
	assert_non_null(pk = PEM_read_PrivateKey(f, NULL, NULL, NULL));
	fclose(f);
	assert_non_null(m = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestSignInit(m, NULL, sha1 ? EVP_sha1() :
	    EVP_sha256(), NULL, pk), 1);
	assert_int_equal(EVP_DigestSign(m, sig, &len,
	    (const unsigned char *)s, strlen(s)), 1);
	EVP_MD_CTX_free(m);
	EVP_PKEY_free(pk);
	return bk_b64_encode(sig, len);
}

/* Raw DEFLATE and base64 (saml_redirect_encode() caps at 64 KiB). */
static char *
lo_deflate(const char *xml)
{
	z_stream	 z;
	unsigned char	*out;
	uLong		 cap;
	char		*b64;

	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	cap = deflateBound(&z, strlen(xml));
	assert_non_null(out = malloc(cap));
	z.next_in = (Bytef *)(uintptr_t)xml;
	z.avail_in = (uInt)strlen(xml);
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	b64 = bk_b64_encode(out, z.total_out);
	deflateEnd(&z);
	free(out);
	return b64;
}

/* How a row's query is made from its XML. */
enum lo_how { LO_SIGNED, LO_UNSIGNED, LO_TAMPERED, LO_SHA1, LO_EVIL };

/* The query of param = xml, signed as how says; returned-owned. */
static char *
lo_query(const char *param, const char *xml, enum lo_how how)
{
	char	*b64 = NULL, *q = NULL, *sig, *url = NULL, *esc;
	size_t	 n;

	b64 = lo_deflate(xml);
	assert_int_equal(saml_redirect_query_build(param, b64, NULL,
	    how != LO_UNSIGNED, &q), BK_OK);
	free(b64);
	if (how == LO_UNSIGNED)
		return q;
	if (how == LO_SHA1) {
		/* the same query with SigAlg rsa-sha1 */
		assert_non_null(esc = strstr(q, "&SigAlg="));
		*esc = '\0';
		n = strlen(q) + 128;
		assert_non_null(url = malloc(n));
		snprintf(url, n, "%s&SigAlg=%s", q,
		    "http%3A%2F%2Fwww.w3.org%2F2000%2F09%2Fxmldsig%23rsa-sha1");
		free(q);
		q = url;
		url = NULL;
	}
	sig = lo_sign(q, how == LO_EVIL ? KEYDIR "/evil.key" :
	    KEYDIR "/idp.key", how == LO_SHA1);
	if (how == LO_TAMPERED)
		sig[10] = sig[10] == 'A' ? 'B' : 'A';
	n = strlen(q) + strlen(sig) * 3 + 16;
	assert_non_null(url = malloc(n));
	/* the base64 URL-encoded (+ / =), as saml_redirect.c does */
	esc = g_uri_escape_string(sig, NULL, FALSE);
	snprintf(url, n, "%s&Signature=%s", q, esc);
	g_free(esc);
	free(sig);
	free(q);
	return url;
}

static char *
lo_request_xml(const char *id, const char *issuer, const char *dest,
    const char *ii, const char *extra)
{
	char	*s;

	assert_true(asprintf(&s, "<samlp:LogoutRequest xmlns:samlp=\""
	    "urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:"
	    "names:tc:SAML:2.0:assertion\" ID=\"%s\" Version=\"2.0\" "
	    "IssueInstant=\"%s\" Destination=\"%s\"><saml:Issuer>%s"
	    "</saml:Issuer><saml:NameID Format=\"urn:oasis:names:tc:SAML:1.1:"
	    "nameid-format:unspecified\" NameQualifier=\"nq\">alice@acme."
	    "example</saml:NameID><samlp:SessionIndex>s1</samlp:SessionIndex>"
	    "%s</samlp:LogoutRequest>", id, ii, dest, issuer,
	    extra != NULL ? extra : "") > 0);
	return s;
}

static int
lo_verify(struct saml_tenant *t, const char *q, struct saml_logout_msg *m)
{
	char	*detail = NULL;
	int	 rv = saml_logout_verify(t, q, NOW, m, &detail);

	if (rv != BK_OK)
		assert_non_null(detail);
	free(detail);
	return rv;
}

static void
test_request_ok(void **state)
{
	struct saml_tenant	*t = *state;
	struct saml_logout_msg	 m;
	char			*x = lo_request_xml("_r1", IDP, DEST, II, NULL);
	char			*q = lo_query("SAMLRequest", x, LO_SIGNED);

	assert_int_equal(lo_verify(t, q, &m), BK_OK);
	assert_false(m.is_response);
	assert_string_equal(m.id, "_r1");
	assert_string_equal(m.issuer, IDP);
	assert_string_equal(m.name_id, "alice@acme.example");
	assert_string_equal(m.nid_nq, "nq");
	assert_int_equal(m.n_si, 1);
	assert_string_equal(m.session_index[0], "s1");
	assert_true(m.cert_fingerprint[0] != '\0');
	saml_logout_cleanup(&m);
	free(q);
	free(x);
}

/* One changed thing per row, and its code. */
static void
test_request_hostile(void **state)
{
	struct saml_tenant	*t = *state;
	struct saml_logout_msg	 m;
	char			 big[80 * 1024];
	const struct {
		const char	*id, *issuer, *dest, *ii, *extra;
		enum lo_how	 how;
		int		 rv;
	} rows[] = {
		{ "_a", IDP, DEST, II, NULL, LO_UNSIGNED,
		    BK_E_SAML_SLO_UNSIGNED },
		{ "_b", IDP, DEST, II, NULL, LO_TAMPERED,
		    BK_E_SAML_SLO_SIGNATURE },
		{ "_c", IDP, DEST, II, NULL, LO_EVIL,
		    BK_E_SAML_SLO_SIGNATURE },
		{ "_d", IDP, DEST, II, NULL, LO_SHA1, BK_E_SAML_SLO_SIG_ALG },
		{ "_e", "https://evil.test", DEST, II, NULL, LO_SIGNED,
		    BK_E_SAML_SLO_ISSUER },
		{ "_f", IDP, "https://evil.test/slo", II, NULL, LO_SIGNED,
		    BK_E_SAML_SLO_DESTINATION },
		{ "_g", IDP, DEST, "2025-12-31T23:00:00Z", NULL, LO_SIGNED,
		    BK_E_SAML_SLO_EXPIRED },
		{ "_h", IDP, DEST, "2026-01-01T00:05:00Z", NULL, LO_SIGNED,
		    BK_E_SAML_SLO_EXPIRED },
		{ "_i", IDP, DEST, "yesterday", NULL, LO_SIGNED,
		    BK_E_SAML_SLO_MALFORMED },
		{ "_j", IDP, DEST, II, "<saml:NameID>bob</saml:NameID>",
		    LO_SIGNED, BK_E_SAML_SLO_MALFORMED },
		{ "_k", IDP, DEST, II, "<saml:EncryptedID/>", LO_SIGNED,
		    BK_E_SAML_SLO_MALFORMED },
		{ "_l", IDP, DEST, II, big, LO_SIGNED, BK_E_SAML_SLO_TOOBIG },
	};
	size_t			 i;
	char			*x, *q;

	memset(big, 0, sizeof(big));
	memcpy(big, "<!--", 4);
	memset(big + 4, 'x', sizeof(big) - 8);
	memcpy(big + sizeof(big) - 4, "-->", 3);
	for (i = 0; i < BK_NELEM(rows); i++) {
		x = lo_request_xml(rows[i].id, rows[i].issuer, rows[i].dest,
		    rows[i].ii, rows[i].extra);
		q = lo_query("SAMLRequest", x, rows[i].how);
		if (lo_verify(t, q, &m) != rows[i].rv)
			fail_msg("row %zu (%s): not %d", i, rows[i].id,
			    rows[i].rv);
		saml_logout_cleanup(&m);
		free(q);
		free(x);
	}
	/* a DTD: the ACS's parse refuses it */
	x = lo_request_xml("_m", IDP, DEST, II, NULL);
	assert_true(asprintf(&q, "<!DOCTYPE x [<!ENTITY a \"b\">]>%s", x) > 0);
	free(x);
	x = lo_query("SAMLRequest", q, LO_SIGNED);
	assert_int_equal(lo_verify(t, x, &m), BK_E_SAML_DTD);
	saml_logout_cleanup(&m);
	free(x);
	free(q);
}

static void
test_query_shape(void **state)
{
	struct saml_tenant	*t = *state;
	struct saml_logout_msg	 m;
	char			 big[SAML_LOGOUT_QUERY_MAX + 64];

	assert_int_equal(lo_verify(t, "SAMLRequest=a&SAMLRequest=b", &m),
	    BK_E_SAML_SLO_PARAM);
	saml_logout_cleanup(&m);
	assert_int_equal(lo_verify(t, "SAMLRequest=a&SAMLResponse=b", &m),
	    BK_E_SAML_SLO_PARAM);
	saml_logout_cleanup(&m);
	assert_int_equal(lo_verify(t, "RelayState=x", &m),
	    BK_E_SAML_SLO_PARAM);
	saml_logout_cleanup(&m);
	assert_int_equal(lo_verify(t, "", &m), BK_E_SAML_SLO_PARAM);
	saml_logout_cleanup(&m);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "SAMLRequest=", 12);
	assert_int_equal(lo_verify(t, big, &m), BK_E_SAML_SLO_TOOBIG);
	saml_logout_cleanup(&m);
	/* signed garbage: refused only after the signature verified */
	assert_int_equal(lo_verify(t, "SAMLRequest=a&SigAlg=x&Signature=y",
	    &m), BK_E_SAML_SLO_SIG_ALG);
	saml_logout_cleanup(&m);
}

#define LO_RESP "<samlp:LogoutResponse xmlns:samlp=\"" \
	"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:" \
	"names:tc:SAML:2.0:assertion\" ID=\"_p\" Version=\"2.0\" " \
	"IssueInstant=\"" II "\" Destination=\"" DEST "\"%s><saml:Issuer>" \
	IDP "</saml:Issuer><samlp:Status><samlp:StatusCode Value=\"urn:" \
	"oasis:names:tc:SAML:2.0:status:%s\"/></samlp:Status>" \
	"</samlp:LogoutResponse>"

static void
test_response(void **state)
{
	struct saml_tenant	*t = *state;
	struct saml_logout_msg	 m;
	char			*x, *q;

	assert_true(asprintf(&x, LO_RESP, " InResponseTo=\"_req\"", "Success") >
	    0);
	q = lo_query("SAMLResponse", x, LO_SIGNED);
	assert_int_equal(lo_verify(t, q, &m), BK_OK);
	assert_true(m.is_response);
	assert_string_equal(m.in_response_to, "_req");
	assert_true(saml_logout_status_ok(&m));
	saml_logout_cleanup(&m);
	free(q);
	free(x);
	assert_true(asprintf(&x, LO_RESP, " InResponseTo=\"_req\"", "Responder") >
	    0);
	q = lo_query("SAMLResponse", x, LO_SIGNED);
	assert_int_equal(lo_verify(t, q, &m), BK_OK);
	assert_false(saml_logout_status_ok(&m));
	saml_logout_cleanup(&m);
	free(q);
	free(x);
	/* no InResponseTo: we only ever get answers to our requests */
	assert_true(asprintf(&x, LO_RESP, "", "Success") > 0);
	q = lo_query("SAMLResponse", x, LO_SIGNED);
	assert_int_equal(lo_verify(t, q, &m), BK_E_SAML_SLO_MALFORMED);
	saml_logout_cleanup(&m);
	free(q);
	free(x);
}

/* The XML of a Redirect query's message (SAMLRequest/SAMLResponse). */
static char *
lo_inflate(const char *query)
{
	char		*v, *e, *dec, out[65536];
	unsigned char	*raw;
	size_t		 rawlen;
	uLongf		 n = sizeof(out) - 1;
	z_stream	 z;

	assert_non_null(v = strchr(query, '=') + 1);
	dec = bk_strdup(v);
	if ((e = strchr(dec, '&')) != NULL)
		*e = '\0';
	/* undo %2B %2F %3D */
	for (v = e = dec; *v != '\0'; v++) {
		if (*v == '%') {
			unsigned int c;

			assert_int_equal(sscanf(v + 1, "%2x", &c), 1);
			*e++ = (char)c;
			v += 2;
		} else
			*e++ = *v;
	}
	*e = '\0';
	assert_int_equal(bk_b64_decode(dec, strlen(dec), 65536, &raw, &rawlen),
	    BK_OK);
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, -15), Z_OK);
	z.next_in = raw;
	z.avail_in = (uInt)rawlen;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)n;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	out[z.total_out] = '\0';
	inflateEnd(&z);
	free(raw);
	free(dec);
	return bk_strdup(out);
}

static void
test_build(void **state)
{
	struct saml_tenant	*t = *state;
	struct saml_logout_who	 who;
	struct saml_redirect	 r;
	char			 id[SAML_ID_MAX + 1], *x;
	const char		*md;
	size_t			 len;

	assert_true(saml_tenant_has_slo(t));
	md = saml_sp_metadata(t, &len);
	assert_non_null(strstr(md, "SingleLogoutService"));
	assert_non_null(strstr(md, "Location=\"" DEST "\""));
	memset(&who, 0, sizeof(who));
	who.name_id = "alice&co@acme.example";
	who.format = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
	who.spnq = "sp<q";
	who.session_index = "s1";
	assert_int_equal(saml_logout_request_build(t, &who, &r, id), BK_OK);
	assert_true(r.sign);
	assert_string_equal(r.dest,
	    "https://idp.test/services/auth/idp/saml2/logout");
	assert_int_equal(strncmp(r.query, "SAMLRequest=", 12), 0);
	assert_non_null(strstr(r.query, "&SigAlg="));
	x = lo_inflate(r.query);
	assert_non_null(strstr(x, "alice&amp;co@acme.example</saml:NameID>"));
	assert_non_null(strstr(x, "SPNameQualifier=\"sp&lt;q\""));
	assert_non_null(strstr(x, "<samlp:SessionIndex>s1</"));
	assert_non_null(strstr(x, id));
	assert_non_null(strstr(x, "<saml:Issuer>https://broker.test/sp<"));
	free(x);
	saml_redirect_cleanup(&r);
	assert_int_equal(saml_logout_response_build(t, "_in",
	    SAML_STATUS_UNKNOWN_PRINCIPAL, 0, "rs", &r), BK_OK);
	assert_string_equal(r.dest,
	    "https://idp.test/services/auth/idp/saml2/logout-response");
	assert_non_null(strstr(r.query, "&RelayState=rs&SigAlg="));
	x = lo_inflate(r.query);
	assert_non_null(strstr(x, "InResponseTo=\"_in\""));
	assert_non_null(strstr(x, "status:Requester"));
	assert_non_null(strstr(x, "status:UnknownPrincipal"));
	free(x);
	saml_redirect_cleanup(&r);
}

/* RSA-SHA1 only where the tenant allows it. */
static void
test_sha1_allowed(void **state)
{
	struct saml_tenant	*t = lo_tenant_sha1(KEYDIR "/idp-metadata-slo.xml",
	    1);
	struct saml_logout_msg	 m;
	char			*x = lo_request_xml("_s1", IDP, DEST, II, NULL);
	char			*q = lo_query("SAMLRequest", x, LO_SHA1);

	(void)state;
	assert_int_equal(lo_verify(t, q, &m), BK_OK);
	assert_string_equal(m.sig_alg, SHA1);
	saml_logout_cleanup(&m);
	assert_int_equal(lo_verify(*state != NULL ? *state : t, q, &m),
	    BK_E_SAML_SLO_SIG_ALG);
	saml_logout_cleanup(&m);
	saml_tenant_free(t);
	free(q);
	free(x);
}

/* The HTTP-POST binding: the root's XML signature is required. */
static void
test_post(void **state)
{
	struct saml_tenant	*t = *state;
	struct saml_logout_msg	 m;
	char			*x = lo_request_xml("_post", IDP, DEST, II, NULL);
	char			*b64 = bk_b64_encode(x, strlen(x)), *detail = NULL;
	char			 big[SAML_LOGOUT_XML_MAX / 3 * 4 + 16];

	assert_int_equal(saml_logout_verify_post(t, "SAMLRequest", b64, "rs",
	    NOW, &m, &detail), BK_E_SAML_SLO_UNSIGNED);
	assert_non_null(detail);
	assert_string_equal(m.issuer, IDP);	/* as claimed, for the audit */
	saml_logout_cleanup(&m);
	free(detail);
	assert_int_equal(saml_logout_verify_post(t, "SAMLResponse", b64, NULL,
	    NOW, &m, &detail), BK_E_SAML_SLO_UNSIGNED);
	saml_logout_cleanup(&m);
	free(detail);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(saml_logout_verify_post(t, "SAMLRequest", big, NULL,
	    NOW, &m, &detail), BK_E_SAML_SLO_TOOBIG);
	saml_logout_cleanup(&m);
	free(detail);
	assert_int_equal(saml_logout_verify_post(t, "SAMLRequest", "!!", NULL,
	    NOW, &m, &detail), BK_E_SAML_SLO_MALFORMED);
	saml_logout_cleanup(&m);
	free(detail);
	free(b64);
	free(x);
}

static void
test_no_slo(void **state)
{
	struct saml_tenant	*t = lo_tenant(KEYDIR "/idp-metadata.xml");
	struct saml_logout_who	 who = { "a", NULL, NULL, NULL, NULL };
	struct saml_redirect	 r;
	char			 id[SAML_ID_MAX + 1];

	struct saml_tenant_info	 info;
	char			 buf[16384], *detail = NULL;
	size_t			 len;
	FILE			*f;

	(void)state;
	assert_false(saml_tenant_has_slo(t));
	assert_int_equal(saml_logout_request_build(t, &who, &r, id),
	    BK_E_SAML_SLO_NOT_CONFIGURED);
	/* a metadata refresh (saml_md_swap()) brings the endpoint in */
	assert_non_null(f = fopen(KEYDIR "/idp-metadata-slo.xml", "rb"));
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(saml_tenant_metadata_update(t, buf, len, &detail),
	    BK_OK);
	assert_true(saml_tenant_has_slo(t));
	saml_tenant_info(t, &info);
	assert_string_equal(info.idp_slo_response_url,
	    "https://idp.test/services/auth/idp/saml2/logout-response");
	assert_int_equal(saml_logout_request_build(t, &who, &r, id), BK_OK);
	saml_redirect_cleanup(&r);
	saml_tenant_free(t);
}

static int
lo_setup(void **state)
{
	if (saml_init() != BK_OK)
		return -1;
	*state = lo_tenant(KEYDIR "/idp-metadata-slo.xml");
	return 0;
}

static int
lo_teardown(void **state)
{
	saml_tenant_free(*state);
	saml_shutdown();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_ok),
		cmocka_unit_test(test_request_hostile),
		cmocka_unit_test(test_query_shape),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_sha1_allowed),
		cmocka_unit_test(test_post),
		cmocka_unit_test(test_no_slo),
	};

	return cmocka_run_group_tests(tests, lo_setup, lo_teardown);
}
