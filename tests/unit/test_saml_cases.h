/*
 * sso-broker: the SECURITY-CASES rows of test_saml.c, one per line of the
 * cases[] table at the end.  Included once, by test_saml.c only.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * SETUP bodies change the template (r) and signing options (o) before
 * signing; MUT bodies change the signed tree (d) afterwards.
 * Trust: test-only inputs.
 */
#define SETUP(n, body) \
static void su_##n(struct rsp *r, struct sopt *o) { (void)r; (void)o; body; }
#define MUT(n, body) \
static void mu_##n(xmlDocPtr d) { xmlNodePtr a = assertion_of(d); \
	xmlNodePtr sig = saml_xml_child(a, SAML_NS_DS, "Signature"); \
	(void)a; (void)sig; body; }

/* ---- 1.1 signatures and wrapping ---- */
SETUP(resp_signed, o->sign_response = 1)
SETUP(resp_only, o->sign_response = 1; o->sign_assertion = 0)
SETUP(unsigned_all, o->sign_assertion = 0)

/* XSW1/2: a signature-less clone of the Response in/before its Signature. */
MUT(xsw1, xmlNodePtr rs = saml_xml_child(root_of(d), SAML_NS_DS, "Signature");
	xmlNodePtr c = copy_unsigned(root_of(d));
	xmlAddChild(rs, c);
	xmlSetProp(root_of(d), SAML_XC("ID"), SAML_XC("_evil_response_ID"));
	set_text(find(a, SAML_NS_ASSERT, "NameID"), "admin@example.com"))
MUT(xsw2, xmlNodePtr rs = saml_xml_child(root_of(d), SAML_NS_DS, "Signature");
	xmlNodePtr c = copy_unsigned(root_of(d));
	xmlAddPrevSibling(rs, c);
	xmlSetProp(root_of(d), SAML_XC("ID"), SAML_XC("_evil_response_ID"));
	set_text(find(a, SAML_NS_ASSERT, "NameID"), "admin@example.com"))
/* XSW1 on an assertion-only signature: clone of the Response in the Signature. */
MUT(xsw1a, xmlAddChild(sig, copy_unsigned(root_of(d)));
	set_text(find(a, SAML_NS_ASSERT, "NameID"), "admin@example.com"))
MUT(xsw3, xmlNodePtr e = copy_unsigned(a); make_evil(e);
	xmlAddPrevSibling(a, e))
MUT(xsw4, xmlNodePtr e = copy_unsigned(a); make_evil(e);
	xmlAddNextSibling(a, e); xmlUnlinkNode(a); xmlAddChild(e, a))
MUT(xsw5, xmlNodePtr c = copy_unsigned(a); make_evil(a);
	xmlAddNextSibling(a, c))
MUT(xsw6, xmlNodePtr c = copy_unsigned(a); make_evil(a); xmlAddChild(sig, c))
MUT(xsw7, xmlNodePtr e = copy_unsigned(a); xmlNodePtr x; make_evil(e);
	x = xmlNewDocNode(d, a->parent->ns, SAML_XC("Extensions"), NULL);
	xmlAddChild(x, e); xmlAddPrevSibling(a, x))
MUT(xsw8, xmlNodePtr c = copy_unsigned(a); xmlNodePtr ob;
	set_text(find(a, SAML_NS_ASSERT, "NameID"), "admin@example.com");
	ob = xmlNewChild(sig, sig->ns, SAML_XC("Object"), NULL);
	xmlAddChild(ob, c))
/* S08 without a second assertion: any ds:Object is refused. */
MUT(object, xmlNewChild(sig, sig->ns, SAML_XC("Object"), NULL))
MUT(strip_all, xmlNodePtr s;
	while ((s = find(root_of(d), SAML_NS_DS, "Signature")) != NULL) {
		xmlUnlinkNode(s); xmlFreeNode(s); }
	set_text(find(a, SAML_NS_ASSERT, "NameID"), "admin@example.com"))
MUT(append_unsigned, xmlNodePtr e = copy_unsigned(a); make_evil(e);
	xmlAddNextSibling(a, e))
MUT(prepend_unsigned, xmlNodePtr e = copy_unsigned(a); make_evil(e);
	xmlAddPrevSibling(a, e))
/* S14: a second, validly signed assertion (bob). */
MUT(bundle, xmlNodePtr b = copy_unsigned(a); struct sopt so;
	xmlSetProp(b, SAML_XC("ID"), SAML_XC("_bob"));
	set_text(find(b, SAML_NS_ASSERT, "NameID"), "bob@example.com");
	xmlAddNextSibling(a, b); sopt_default(&so); sign_elem(d, b, K_IDP, &so))
SETUP(issuer_other, r->a_issuer = "https://other.test/idp")
SETUP(resp_issuer_other, r->r_issuer = "https://other.test/idp")
SETUP(evil_key, o->akey = K_EVIL)
SETUP(evil_resp_key, o->sign_response = 1; o->rkey = K_EVIL)
MUT(tamper_nameid, set_text(find(a, SAML_NS_ASSERT, "NameID"),
	"admin@example.com"))
MUT(tamper_audience, set_text(find(a, SAML_NS_ASSERT, "Audience"),
	"https://broker.test/sp2"))
MUT(tamper_noa, xmlSetProp(find(a, SAML_NS_ASSERT, "Conditions"),
	SAML_XC("NotOnOrAfter"), SAML_XC("2099-01-01T00:00:00Z")))
MUT(sig_in_subject, xmlUnlinkNode(sig);
	xmlAddChild(find(a, SAML_NS_ASSERT, "Subject"), sig))
MUT(sig_to_response, xmlUnlinkNode(sig); xmlAddChild(root_of(d), sig))
MUT(uri_empty, xmlSetProp(find(sig, SAML_NS_DS, "Reference"), SAML_XC("URI"),
	SAML_XC("")))
MUT(uri_response, xmlSetProp(find(sig, SAML_NS_DS, "Reference"),
	SAML_XC("URI"), SAML_XC("#" RID)))
SETUP(two_refs, o->two_refs = 1)
SETUP(dup_id_ext, r->before_assertion = "<samlp:Extensions><x:y xmlns:x="
	"\"urn:x\" ID=\"" AID "\"/></samlp:Extensions>")
MUT(xml_id, xmlSetNsProp(find(a, SAML_NS_ASSERT, "Subject"),
	xmlSearchNsByHref(d, a, SAML_XC(SAML_NS_XML)), SAML_XC("id"),
	SAML_XC(AID)))
SETUP(signed_long_name, r->nameid = "alice@example.com.evil.test")
MUT(comment_nameid, xmlNodePtr n = find(a, SAML_NS_ASSERT, "NameID");
	set_text(n, "alice@example.com");
	xmlAddChild(n, xmlNewDocComment(d, SAML_XC("")));
	xmlAddChild(n, xmlNewDocText(d, SAML_XC(".evil.test"))))
MUT(cdata_nameid, xmlNodePtr n = find(a, SAML_NS_ASSERT, "NameID");
	set_text(n, "alice@example.com");
	xmlAddChild(n, xmlNewCDataBlock(d, SAML_XC(".evil.test"), 10)))
MUT(pi_nameid, xmlNodePtr n = find(a, SAML_NS_ASSERT, "NameID");
	set_text(n, "alice@example.com");
	xmlAddChild(n, xmlNewDocPI(d, SAML_XC("x"), SAML_XC("y")));
	xmlAddChild(n, xmlNewDocText(d, SAML_XC(".evil.test"))))
SETUP(signed_pi, r->nameid = "alice@example.com<?x y?>.evil.test")
MUT(comment_digest, xmlAddChild(find(sig, SAML_NS_DS, "DigestValue"),
	xmlNewDocComment(d, SAML_XC("x"))))
static void
set_alg(xmlNodePtr sig, const char *elem, int nth, const char *alg)
{
	xmlNodePtr n;

	for (n = sig; n != NULL; n = saml_xml_walk_next(sig, n))
		if (saml_xml_is(n, SAML_NS_DS, elem) && nth-- == 0)
			break;
	assert_non_null(n);
	xmlSetProp(n, SAML_XC("Algorithm"), SAML_XC(alg));
}
MUT(xslt, set_alg(sig, "Transform", 1,
	"http://www.w3.org/TR/1999/REC-xslt-19991116"))
MUT(xpath, set_alg(sig, "Transform", 1,
	"http://www.w3.org/TR/1999/REC-xpath-19991116"))
MUT(xpath2, set_alg(sig, "Transform", 0,
	"http://www.w3.org/2002/06/xmldsig-filter2"))
MUT(with_comments, set_alg(sig, "Transform", 1,
	"http://www.w3.org/2001/10/xml-exc-c14n#WithComments"))
MUT(c14n_comments, set_alg(sig, "CanonicalizationMethod", 0,
	"http://www.w3.org/2001/10/xml-exc-c14n#WithComments"))
MUT(rsa_md5, set_alg(sig, "SignatureMethod", 0,
	"http://www.w3.org/2001/04/xmldsig-more#rsa-md5"))
MUT(unknown_alg, set_alg(sig, "SignatureMethod", 0, "urn:x-unknown"))
MUT(md5_digest, set_alg(sig, "DigestMethod", 0,
	"http://www.w3.org/2001/04/xmldsig-more#md5"))
SETUP(sha1, o->sigalg = xmlSecTransformRsaSha1Id;
	o->digest = xmlSecTransformSha1Id)
SETUP(sha1_allowed, o->sigalg = xmlSecTransformRsaSha1Id;
	o->digest = xmlSecTransformSha1Id; o->allow_sha1 = 1)
SETUP(sha512, o->sigalg = xmlSecTransformRsaSha512Id;
	o->digest = xmlSecTransformSha512Id)
SETUP(hmac, o->hmac = 1)
/* S31: KeyInfo points elsewhere; it is never read, the pinned key verifies. */
MUT(retrieval, xmlNodePtr ki = find(sig, SAML_NS_DS, "KeyInfo");
	xmlNodePtr rm; xmlNodePtr k;
	while ((k = ki->children) != NULL) { xmlUnlinkNode(k); xmlFreeNode(k); }
	rm = xmlNewChild(ki, sig->ns, SAML_XC("RetrievalMethod"), NULL);
	xmlSetProp(rm, SAML_XC("URI"), SAML_XC("http://127.0.0.1:9/x"));
	rm = xmlNewChild(ki, sig->ns, SAML_XC("X509Data"), NULL);
	xmlNewChild(rm, sig->ns, SAML_XC("X509Certificate"),
	    SAML_XC("file:///etc/passwd")))
SETUP(roll_old, o->rollover = 1)
SETUP(roll_new, o->rollover = 1; o->akey = K_IDP2)
SETUP(roll_key_unknown, o->akey = K_IDP2)

/* ---- 1.2 parsing, size, encoding ---- */
#define MINI "<samlp:Response xmlns:samlp=\"" SAML_NS_PROTO "\" ID=\"x\" " \
	"Version=\"2.0\"><n>&x;</n></samlp:Response>"
SETUP(dtd, o->prefix = "<!DOCTYPE r [<!ENTITY x \"y\">]>\n")
SETUP(doctype_only, o->prefix = "<!DOCTYPE samlp:Response>\n")
SETUP(xxe_file, o->raw_xml = "<!DOCTYPE r [<!ENTITY x SYSTEM "
	"\"file:///etc/passwd\">]>" MINI)
SETUP(xxe_param, o->raw_xml = "<!DOCTYPE foo [ <!ENTITY % xxe SYSTEM "
	"\"http://127.0.0.1:9/collab\"> %xxe; ]>" MINI)
SETUP(lol, o->raw_xml = "<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
	"<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
	"<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
	"<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
	"<!ENTITY lol9 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">]>"
	"<samlp:Response xmlns:samlp=\"" SAML_NS_PROTO "\"><n>&lol9;</n>"
	"</samlp:Response>")
SETUP(id_via_entity, o->prefix = "<!DOCTYPE samlp:Response [<!ATTLIST "
	"saml:Assertion ID ID #IMPLIED><!ENTITY idViaEntity \"" AID "\">]>")
/* S34: SAML Raider's DOCTYPE round-trip differential. */
SETUP(roundtrip, o->prefix = "<!DOCTYPE response SYSTEM 'x\"><!--'>"
	"<samlp:Response xmlns:samlp=\"" SAML_NS_PROTO "\"/><![CDATA[-->")
SETUP(undeclared_entity, o->raw_xml = MINI)
SETUP(raw_xml, o->raw_b64 = "<samlp:Response xmlns:samlp=\"" SAML_NS_PROTO
	"\"/>")
SETUP(url_safe, o->raw_b64 = "PD94bWwgdmVyc2lvbj0iMS4wIj8-PHI-PC9yPg__")
SETUP(trailing, o->raw_b64 = "PHIvPg==garbage")
SETUP(not_xml, o->raw_b64 = "aGVsbG8gd29ybGQ=")
SETUP(empty, o->raw_b64 = "")
SETUP(nul_in_xml, o->raw_b64 = "PHIAPjwvcj4=")
SETUP(ns_undeclared, o->raw_xml = "<samlp:Response ID=\"x\"/>")
static char *big_b64;
SETUP(oversized, o->raw_b64 = big_b64)
static char *deep_xml;
SETUP(deep, o->raw_xml = deep_xml)
MUT(many_attrs, xmlNodePtr s = find(a, SAML_NS_ASSERT, "Subject");
	char nm[16]; int i;
	for (i = 0; i < 10000; i++) { snprintf(nm, sizeof(nm), "a%d", i);
		xmlSetProp(s, SAML_XC(nm), SAML_XC("v")); })
SETUP(unknown_in_ar, r->conds = "<saml:AudienceRestriction><saml:Audience>"
	SP "</saml:Audience><x:Foo xmlns:x=\"urn:x\"/></saml:AudienceRestriction>")
SETUP(unknown_in_subject, r->subject_extra = "<x:Foo xmlns:x=\"urn:x\"/>")
SETUP(unknown_in_assertion, r->assertion_extra = "<saml:Advice/>")
SETUP(not_response, r->rid = NULL)
MUT(root_rename, xmlNodeSetName(root_of(d), SAML_XC("ArtifactResponse")))
SETUP(version, r->version = "1.1")
SETUP(a_version, r->a_version = "2.1")

/* ---- 1.3 protocol ---- */
SETUP(aud_wrong, r->conds = "<saml:AudienceRestriction><saml:Audience>"
	"https://evil.test/sp</saml:Audience></saml:AudienceRestriction>")
SETUP(aud_none, r->conds = "")
SETUP(no_conditions, r->no_conditions = 1)
SETUP(aud_and, r->conds = "<saml:AudienceRestriction><saml:Audience>" SP
	"</saml:Audience></saml:AudienceRestriction><saml:AudienceRestriction>"
	"<saml:Audience>https://other.test</saml:Audience>"
	"</saml:AudienceRestriction>")
SETUP(aud_two_foreign, r->conds = "<saml:AudienceRestriction><saml:Audience>"
	"https://other.test</saml:Audience><saml:Audience>https://other2.test"
	"</saml:Audience></saml:AudienceRestriction>")
SETUP(aud_or, r->conds = "<saml:AudienceRestriction><saml:Audience>"
	"https://other.test</saml:Audience><saml:Audience>" SP
	"</saml:Audience></saml:AudienceRestriction>")
SETUP(aud_prefix, r->conds = "<saml:AudienceRestriction><saml:Audience>"
	SP "/</saml:Audience></saml:AudienceRestriction>")
SETUP(rcpt_wrong, r->recipient = "https://evil.test/acs")
SETUP(rcpt_none, r->recipient = NULL)
SETUP(dest_wrong, r->dest = "https://evil.test/acs")
SETUP(dest_none_signed, r->dest = NULL; o->sign_response = 1)
SETUP(dest_none, r->dest = NULL)
SETUP(irt_ok, r->r_irt = "_req1"; r->scd_irt = "_req1")
SETUP(irt_mismatch, r->r_irt = "_req1"; r->scd_irt = "_neverIssued")
SETUP(irt_scd_only, r->scd_irt = "_req1")
SETUP(irt_resp_only, r->r_irt = "_req1")
SETUP(expired, r->cond_noa = ts(-3600); r->scd_noa = ts(-3600))
SETUP(cond_expired, r->cond_noa = ts(-3600))
SETUP(not_yet, r->cond_nb = ts(3600))
SETUP(scd_expired, r->scd_noa = ts(-3600))
SETUP(scd_noa_none, r->scd_noa = NULL)
SETUP(scd_not_yet, r->scd_nb = ts(3600))
SETUP(nb_edge_ok, r->cond_nb = ts(SKEW - 1))
SETUP(nb_edge_exact, r->cond_nb = ts(SKEW))
SETUP(nb_edge_bad, r->cond_nb = ts(SKEW + 1))
SETUP(noa_edge_bad, r->cond_noa = ts(-SKEW))
SETUP(noa_edge_ok, r->cond_noa = ts(-SKEW + 1))
SETUP(scd_noa_edge_bad, r->scd_noa = ts(-SKEW))
SETUP(issue_past, r->r_issue = ts(-SKEW - 301))
SETUP(issue_past_ok, r->r_issue = ts(-SKEW - 300))
SETUP(issue_future, r->a_issue = ts(SKEW + 1))
SETUP(issue_none, r->a_issue = NULL)
SETUP(t_offset, r->cond_nb = "2099-01-01T00:00:00+02:00")
SETUP(t_garbage, r->cond_noa = "garbage")
SETUP(t_lower_z, r->scd_noa = "2026-01-01T00:05:00z")
SETUP(t_no_sec, r->r_issue = "2026-01-01T00:00Z")
SETUP(t_fraction, r->cond_noa = "2026-01-01T00:05:00.123Z")
SETUP(cond_unknown, r->conds = "<saml:AudienceRestriction><saml:Audience>" SP
	"</saml:Audience></saml:AudienceRestriction><saml:Condition "
	"xmlns:x=\"urn:x\" xsi:type=\"x:Foo\"/>")
SETUP(cond_proxy, r->conds = "<saml:AudienceRestriction><saml:Audience>" SP
	"</saml:Audience></saml:AudienceRestriction><saml:ProxyRestriction "
	"Count=\"1\"/>")
SETUP(cond_foreign, r->conds = "<saml:AudienceRestriction><saml:Audience>" SP
	"</saml:Audience></saml:AudienceRestriction><x:Cond xmlns:x=\"urn:x\"/>")
SETUP(one_time_use, r->conds = "<saml:AudienceRestriction><saml:Audience>" SP
	"</saml:Audience></saml:AudienceRestriction><saml:OneTimeUse/>")
SETUP(hok_only, r->method = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key")
SETUP(sv_only, r->method = "urn:oasis:names:tc:SAML:2.0:cm:sender-vouches")
SETUP(hok_then_bearer, r->subject_extra = "<saml:SubjectConfirmation "
	"Method=\"urn:oasis:names:tc:SAML:2.0:cm:holder-of-key\">"
	"<saml:SubjectConfirmationData Recipient=\"https://evil.test/acs\"/>"
	"</saml:SubjectConfirmation>")
SETUP(bad_bearer_then_good, r->subject_extra = "<saml:SubjectConfirmation "
	"Method=\"" SAML_CM_BEARER "\"><saml:SubjectConfirmationData "
	"Recipient=\"https://evil.test/acs\" NotOnOrAfter=\"2099-01-01T00:00:00Z"
	"\"/></saml:SubjectConfirmation>")
SETUP(status_requester, r->status =
	"urn:oasis:names:tc:SAML:2.0:status:Requester")
SETUP(status_authn_failed, r->status =
	"urn:oasis:names:tc:SAML:2.0:status:AuthnFailed")
/* A multi-byte character straddles the 100-byte cut of the detail. */
SETUP(status_multibyte, r->status =
	"urn:oasis:names:tc:SAML:2.0:status:"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	"\xc3\xa9\xe2\x82\xac\xe2\x82\xac\xf0\x9f\x98\x80")
SETUP(issuer_none, r->a_issuer = NULL)
SETUP(resp_issuer_none, r->r_issuer = NULL)
SETUP(issuer_fmt, r->a_issuer_fmt =
	"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")
SETUP(issuer_fmt_none, r->a_issuer_fmt = NULL)
SETUP(authn_future, r->authn_instant = ts(SKEW + 5))
SETUP(authn_old, r->authn_instant = ts(-86400 * 14); o->max_age = 3600)
SETUP(authn_old_nolimit, r->authn_instant = ts(-86400 * 14))
SETUP(session_noa, r->session_noa = ts(300))
SETUP(session_over, r->session_noa = ts(-3600))
SETUP(ws_nameid, r->nameid = "\n  alice@example.com  \n")
SETUP(ws_trailing, r->nameid = "alice@example.com ")
SETUP(empty_nameid, r->nameid = "")
SETUP(transient, r->nameid_fmt =
	"urn:oasis:names:tc:SAML:2.0:nameid-format:transient")
SETUP(persistent, r->nameid_fmt =
	"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
SETUP(email_fmt, r->nameid_fmt =
	"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
SETUP(no_fmt, r->nameid_fmt = NULL)
SETUP(encrypted_id, r->subject_extra = "<saml:EncryptedID/>")
SETUP(element_nameid, r->nameid = "alice<x:b xmlns:x=\"urn:x\"/>@example.com")
SETUP(encrypted_assertion, r->after_assertion =
	"<saml:EncryptedAssertion/>")
SETUP(portal, r->portal = "true")
SETUP(portal_allowed, r->portal = "true"; o->allow_portal = 1)
SETUP(portal_odd, r->portal = "TRUE ")
SETUP(user_attr, o->user_attr = "username"; r->nameid_fmt =
	"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
	r->nameid = "005000000000001")
SETUP(user_attr_missing, o->user_attr = "email")

static const struct tcase cases[] = {
	/* 1.1 */
	{ "S01 XSW1 response-signed", su_resp_signed, mu_xsw1,
	    BK_E_SAML_SCHEMA, NULL },
	{ "S01 XSW1 assertion-signed", NULL, mu_xsw1a,
	    BK_E_SAML_SCHEMA, NULL },
	{ "S02 XSW2 response-signed", su_resp_signed, mu_xsw2,
	    BK_E_SAML_SCHEMA, NULL },
	{ "S03 XSW3 evil assertion before", NULL, mu_xsw3,
	    BK_E_SAML_ASSERTION_COUNT, NULL },
	{ "S04 XSW4 signed assertion inside evil", NULL, mu_xsw4,
	    BK_E_SAML_ASSERTION_COUNT, NULL },
	{ "S05 XSW5 evil signed + unsigned copy", NULL, mu_xsw5,
	    BK_E_SAML_ASSERTION_COUNT, NULL },
	{ "S06 XSW6 copy inside Signature", NULL, mu_xsw6,
	    BK_E_SAML_ASSERTION_COUNT, NULL },
	{ "S07 XSW7 Extensions", NULL, mu_xsw7, BK_E_SAML_ASSERTION_COUNT,
	    NULL },
	{ "S08 XSW8 ds:Object", NULL, mu_xsw8, BK_E_SAML_ASSERTION_COUNT, NULL },
	{ "S08 ds:Object alone", NULL, mu_object, BK_E_SAML_SIG_SHAPE, NULL },
	{ "S09 signatures stripped", NULL, mu_strip_all, BK_E_SAML_SIG_MISSING,
	    NULL },
	{ "S09 never signed", su_unsigned_all, NULL, BK_E_SAML_SIG_MISSING,
	    NULL },
	{ "S10 signed response unsigned assertion", su_resp_only, NULL,
	    BK_E_SAML_SIG_MISSING, NULL },
	{ "S11 positive control", NULL, NULL, BK_OK, ALICE },
	{ "S11 signed response and assertion", su_resp_signed, NULL, BK_OK,
	    ALICE },
	{ "S12 appended unsigned assertion", NULL, mu_append_unsigned,
	    BK_E_SAML_ASSERTION_COUNT, NULL },
	{ "S13 unsigned assertion first", NULL, mu_prepend_unsigned,
	    BK_E_SAML_ASSERTION_COUNT, NULL },
	{ "S14 two signed assertions", NULL, mu_bundle,
	    BK_E_SAML_ASSERTION_COUNT, NULL },
	{ "S15 assertion issuer other", su_issuer_other, NULL,
	    BK_E_SAML_ISSUER, NULL },
	{ "S15 response issuer other", su_resp_issuer_other, NULL,
	    BK_E_SAML_ISSUER, NULL },
	{ "S16 attacker key + KeyInfo", su_evil_key, NULL,
	    BK_E_SAML_SIG_INVALID, NULL },
	{ "S16 attacker-signed response", su_evil_resp_key, NULL,
	    BK_E_SAML_SIG_INVALID, NULL },
	{ "S17 tamper NameID", NULL, mu_tamper_nameid, BK_E_SAML_SIG_INVALID,
	    NULL },
	{ "S17 tamper Audience", NULL, mu_tamper_audience,
	    BK_E_SAML_SIG_INVALID, NULL },
	{ "S17 tamper NotOnOrAfter", NULL, mu_tamper_noa,
	    BK_E_SAML_SIG_INVALID, NULL },
	{ "S18 signature in Subject", NULL, mu_sig_in_subject,
	    BK_E_SAML_SIG_SHAPE, NULL },
	{ "S18 signature moved to Response", NULL, mu_sig_to_response,
	    BK_E_SAML_SIG_SHAPE, NULL },
	{ "S19 Reference URI empty", NULL, mu_uri_empty, BK_E_SAML_SIG_SHAPE,
	    NULL },
	{ "S20 Reference to the Response", NULL, mu_uri_response,
	    BK_E_SAML_SIG_SHAPE, NULL },
	{ "S21 two valid References", su_two_refs, NULL, BK_E_SAML_SIG_SHAPE,
	    NULL },
	{ "S22 duplicate ID", su_dup_id_ext, NULL, BK_E_SAML_DUP_ID, NULL },
	{ "S22 ID pre-registered by xml:id", NULL, mu_xml_id,
	    BK_E_SAML_DUP_ID, NULL },
	{ "S22 ID via DOCTYPE entity", su_id_via_entity, NULL, BK_E_SAML_DTD,
	    NULL },
	{ "S23 comment in NameID reads full", su_signed_long_name,
	    mu_comment_nameid, BK_OK, "alice@example.com.evil.test" },
	{ "S24 CDATA in NameID reads full", su_signed_long_name,
	    mu_cdata_nameid, BK_OK, "alice@example.com.evil.test" },
	{ "S24 PI inserted in NameID", su_signed_long_name, mu_pi_nameid,
	    BK_E_SAML_SIG_INVALID, NULL },
	{ "S24 PI signed in NameID", su_signed_pi, NULL, BK_E_SAML_NAMEID,
	    NULL },
	{ "S25 comment in DigestValue", NULL, mu_comment_digest,
	    BK_E_SAML_SIG_SHAPE, NULL },
	{ "S26 XSLT transform", NULL, mu_xslt, BK_E_SAML_SIG_ALG, NULL },
	{ "S27 XPath transform", NULL, mu_xpath, BK_E_SAML_SIG_ALG, NULL },
	{ "S27 XPath Filter 2", NULL, mu_xpath2, BK_E_SAML_SIG_ALG, NULL },
	{ "S28 WithComments reference", NULL, mu_with_comments,
	    BK_E_SAML_SIG_ALG, NULL },
	{ "S28 WithComments SignedInfo", NULL, mu_c14n_comments,
	    BK_E_SAML_SIG_ALG, NULL },
	{ "S29 rsa-sha1 refused", su_sha1, NULL, BK_E_SAML_SIG_ALG, NULL },
	{ "S29 rsa-sha1 with allow_sha1", su_sha1_allowed, NULL, BK_OK, ALICE },
	{ "S29 rsa-sha512 accepted", su_sha512, NULL, BK_OK, ALICE },
	{ "S30 rsa-md5", NULL, mu_rsa_md5, BK_E_SAML_SIG_ALG, NULL },
	{ "S30 md5 digest", NULL, mu_md5_digest, BK_E_SAML_SIG_ALG, NULL },
	{ "S30 unknown algorithm", NULL, mu_unknown_alg, BK_E_SAML_SIG_ALG,
	    NULL },
	{ "S30 HMAC keyed with the IdP cert", su_hmac, NULL, BK_E_SAML_SIG_ALG,
	    NULL },
	{ "S31 RetrievalMethod ignored", NULL, mu_retrieval, BK_OK, ALICE },
	{ "S32 tampered under LASSO_FLAG", NULL, mu_tamper_nameid,
	    BK_E_SAML_SIG_INVALID, NULL },
	{ "S34 DOCTYPE round trip", su_roundtrip, NULL, BK_E_SAML_DTD, NULL },
	{ "rollover old cert", su_roll_old, NULL, BK_OK, ALICE },
	{ "rollover new cert", su_roll_new, NULL, BK_OK, ALICE },
	{ "rollover cert not in metadata", su_roll_key_unknown, NULL,
	    BK_E_SAML_SIG_INVALID, NULL },
	/* 1.2 */
	{ "X01 internal DTD", su_dtd, NULL, BK_E_SAML_DTD, NULL },
	{ "X01 bare DOCTYPE", su_doctype_only, NULL, BK_E_SAML_DTD, NULL },
	{ "X02 XXE file", su_xxe_file, NULL, BK_E_SAML_DTD, NULL },
	{ "X03 parameter entity", su_xxe_param, NULL, BK_E_SAML_DTD, NULL },
	{ "X04 billion laughs", su_lol, NULL, BK_E_SAML_DTD, NULL },
	{ "X04 undeclared entity", su_undeclared_entity, NULL, BK_E_SAML_XML,
	    NULL },
	{ "X05 oversized", su_oversized, NULL, BK_E_SAML_TOOBIG, NULL },
	{ "X07 raw XML", su_raw_xml, NULL, BK_E_SAML_BASE64, NULL },
	{ "X07 URL-safe base64", su_url_safe, NULL, BK_E_SAML_BASE64, NULL },
	{ "X07 trailing garbage", su_trailing, NULL, BK_E_SAML_BASE64, NULL },
	{ "X07 NUL in document", su_nul_in_xml, NULL, BK_E_SAML_XML, NULL },
	{ "X07 not XML", su_not_xml, NULL, BK_E_SAML_XML, NULL },
	{ "X07 empty", su_empty, NULL, BK_E_SAML_PARAM, NULL },
	{ "X07 undeclared prefix", su_ns_undeclared, NULL, BK_E_SAML_XML,
	    NULL },
	/* Issue 6: shape limits answer before libxml2's own 256 depth cap. */
	{ "X08 deep nesting", su_deep, NULL, BK_E_SAML_XML_DEPTH, NULL },
	{ "X08 10k attributes", NULL, mu_many_attrs, BK_E_SAML_XML_ATTRS,
	    NULL },
	{ "X09 unknown in AudienceRestriction", su_unknown_in_ar, NULL,
	    BK_E_SAML_AUDIENCE, NULL },
	{ "X09 unknown in Subject", su_unknown_in_subject, NULL,
	    BK_E_SAML_SCHEMA, NULL },
	{ "X09 unknown in Assertion", su_unknown_in_assertion, NULL,
	    BK_E_SAML_SCHEMA, NULL },
	{ "schema Response without ID", su_not_response, NULL,
	    BK_E_SAML_SCHEMA, NULL },
	{ "schema root not Response", NULL, mu_root_rename, BK_E_SAML_SCHEMA,
	    NULL },
	{ "version Response 1.1", su_version, NULL, BK_E_SAML_VERSION, NULL },
	{ "version Assertion 2.1", su_a_version, NULL, BK_E_SAML_VERSION,
	    NULL },
	/* 1.3 */
	{ "P01 audience wrong", su_aud_wrong, NULL, BK_E_SAML_AUDIENCE, NULL },
	{ "P01 audience prefix", su_aud_prefix, NULL, BK_E_SAML_AUDIENCE,
	    NULL },
	{ "P02 no AudienceRestriction", su_aud_none, NULL, BK_E_SAML_AUDIENCE,
	    NULL },
	{ "P02 no Conditions", su_no_conditions, NULL, BK_E_SAML_AUDIENCE,
	    NULL },
	{ "P03 restrictions AND", su_aud_and, NULL, BK_E_SAML_AUDIENCE, NULL },
	{ "P04 two foreign audiences", su_aud_two_foreign, NULL,
	    BK_E_SAML_AUDIENCE, NULL },
	{ "P04 ours among two (OR)", su_aud_or, NULL, BK_OK, ALICE },
	{ "P05 Recipient wrong", su_rcpt_wrong, NULL, BK_E_SAML_RECIPIENT,
	    NULL },
	{ "P06 Recipient missing", su_rcpt_none, NULL, BK_E_SAML_RECIPIENT,
	    NULL },
	{ "P07 Destination wrong", su_dest_wrong, NULL, BK_E_SAML_DESTINATION,
	    NULL },
	{ "P08 signed Response no Destination", su_dest_none_signed, NULL,
	    BK_E_SAML_DESTINATION, NULL },
	{ "P08 unsigned Response no Destination", su_dest_none, NULL, BK_OK,
	    ALICE },
	{ "P09 InResponseTo agree", su_irt_ok, NULL, BK_OK, ALICE },
	{ "P09 InResponseTo mismatch", su_irt_mismatch, NULL,
	    BK_E_SAML_IN_RESPONSE_TO, NULL },
	{ "P09 InResponseTo only in SCD", su_irt_scd_only, NULL,
	    BK_E_SAML_IN_RESPONSE_TO, NULL },
	{ "P09 InResponseTo only in Response", su_irt_resp_only, NULL,
	    BK_E_SAML_IN_RESPONSE_TO, NULL },
	{ "P12 expired", su_expired, NULL, BK_E_SAML_EXPIRED, NULL },
	{ "P12 Conditions expired", su_cond_expired, NULL, BK_E_SAML_EXPIRED,
	    NULL },
	{ "P13 not yet valid", su_not_yet, NULL, BK_E_SAML_NOT_YET_VALID, NULL },
	{ "P13 SCD NotBefore future", su_scd_not_yet, NULL,
	    BK_E_SAML_NOT_YET_VALID, NULL },
	{ "P14 bearer expired", su_scd_expired, NULL, BK_E_SAML_EXPIRED, NULL },
	{ "P14 bearer NotOnOrAfter missing", su_scd_noa_none, NULL,
	    BK_E_SAML_SUBJECT_CONF, NULL },
	{ "P15 NotBefore now+s-1", su_nb_edge_ok, NULL, BK_OK, ALICE },
	{ "P15 NotBefore now+s", su_nb_edge_exact, NULL, BK_OK, ALICE },
	{ "P15 NotBefore now+s+1", su_nb_edge_bad, NULL,
	    BK_E_SAML_NOT_YET_VALID, NULL },
	{ "P15 NotOnOrAfter now-s", su_noa_edge_bad, NULL, BK_E_SAML_EXPIRED,
	    NULL },
	{ "P15 NotOnOrAfter now-s+1", su_noa_edge_ok, NULL, BK_OK, ALICE },
	{ "P15 SCD NotOnOrAfter now-s", su_scd_noa_edge_bad, NULL,
	    BK_E_SAML_EXPIRED, NULL },
	{ "P15 IssueInstant too old", su_issue_past, NULL,
	    BK_E_SAML_ISSUE_INSTANT, NULL },
	{ "P15 IssueInstant oldest allowed", su_issue_past_ok, NULL, BK_OK,
	    ALICE },
	{ "P15 IssueInstant future", su_issue_future, NULL,
	    BK_E_SAML_ISSUE_INSTANT, NULL },
	{ "P15 IssueInstant missing", su_issue_none, NULL,
	    BK_E_SAML_ISSUE_INSTANT, NULL },
	{ "P16 offset", su_t_offset, NULL, BK_E_SAML_TIME_FORMAT, NULL },
	{ "P16 garbage", su_t_garbage, NULL, BK_E_SAML_TIME_FORMAT, NULL },
	{ "P16 lower-case z", su_t_lower_z, NULL, BK_E_SAML_TIME_FORMAT, NULL },
	{ "P16 no seconds", su_t_no_sec, NULL, BK_E_SAML_TIME_FORMAT, NULL },
	{ "P16 fraction accepted", su_t_fraction, NULL, BK_OK, ALICE },
	{ "P17 unknown Condition", su_cond_unknown, NULL, BK_E_SAML_CONDITION,
	    NULL },
	{ "P17 ProxyRestriction", su_cond_proxy, NULL, BK_E_SAML_CONDITION,
	    NULL },
	{ "P17 foreign condition element", su_cond_foreign, NULL,
	    BK_E_SAML_CONDITION, NULL },
	{ "P18 OneTimeUse", su_one_time_use, NULL, BK_OK, ALICE },
	{ "P19 holder-of-key only", su_hok_only, NULL, BK_E_SAML_SUBJECT_CONF,
	    NULL },
	{ "P19 sender-vouches only", su_sv_only, NULL, BK_E_SAML_SUBJECT_CONF,
	    NULL },
	{ "P24 foreign hok then bearer", su_hok_then_bearer, NULL, BK_OK,
	    ALICE },
	{ "P24 bad bearer then good bearer", su_bad_bearer_then_good, NULL,
	    BK_OK, ALICE },
	{ "P25 status Requester", su_status_requester, NULL, BK_E_SAML_STATUS,
	    NULL },
	{ "P25 status AuthnFailed", su_status_authn_failed, NULL,
	    BK_E_SAML_STATUS, NULL },
	{ "P25 status cut inside a character", su_status_multibyte, NULL,
	    BK_E_SAML_STATUS, NULL },
	{ "P26 assertion Issuer missing", su_issuer_none, NULL,
	    BK_E_SAML_ISSUER, NULL },
	{ "P26 Response Issuer absent ok", su_resp_issuer_none, NULL, BK_OK,
	    ALICE },
	{ "P26 Issuer Format not entity", su_issuer_fmt, NULL,
	    BK_E_SAML_ISSUER, NULL },
	{ "P26 Issuer Format absent ok", su_issuer_fmt_none, NULL, BK_OK,
	    ALICE },
	{ "P27 AuthnInstant future", su_authn_future, NULL,
	    BK_E_SAML_AUTHN_INSTANT, NULL },
	{ "P27 AuthnInstant too old", su_authn_old, NULL,
	    BK_E_SAML_AUTHN_TOO_OLD, NULL },
	{ "P27 old AuthnInstant, no limit", su_authn_old_nolimit, NULL, BK_OK,
	    ALICE },
	{ "P28 SessionNotOnOrAfter read", su_session_noa, NULL, BK_OK, ALICE },
	{ "P28 SessionNotOnOrAfter passed", su_session_over, NULL,
	    BK_E_SAML_EXPIRED, NULL },
	{ "P29 NameID surrounding white space", su_ws_nameid, NULL,
	    BK_E_SAML_NAMEID, NULL },
	{ "P29 NameID trailing space", su_ws_trailing, NULL, BK_E_SAML_NAMEID,
	    NULL },
	{ "P29 NameID empty", su_empty_nameid, NULL, BK_E_SAML_NAMEID, NULL },
	{ "P30 transient NameID", su_transient, NULL, BK_E_SAML_NAMEID, NULL },
	{ "P30 persistent NameID", su_persistent, NULL, BK_E_SAML_NAMEID,
	    NULL },
	{ "P30 emailAddress NameID", su_email_fmt, NULL, BK_OK, ALICE },
	{ "P30 NameID without Format", su_no_fmt, NULL, BK_OK, ALICE },
	{ "P30 EncryptedID", su_encrypted_id, NULL, BK_E_SAML_NAMEID, NULL },
	{ "P30 element in NameID", su_element_nameid, NULL, BK_E_SAML_NAMEID,
	    NULL },
	{ "P30 username attribute", su_user_attr, NULL, BK_OK, ALICE },
	{ "P30 username attribute missing", su_user_attr_missing, NULL,
	    BK_E_SAML_NAMEID, NULL },
	{ "P31 EncryptedAssertion", su_encrypted_assertion, NULL,
	    BK_E_SAML_ENCRYPTED, NULL },
	{ "portal user refused", su_portal, NULL, BK_E_SAML_PORTAL_USER, NULL },
	{ "portal user allowed", su_portal_allowed, NULL, BK_OK, ALICE },
	{ "portal user odd value", su_portal_odd, NULL, BK_E_SAML_PORTAL_USER,
	    NULL },
};
