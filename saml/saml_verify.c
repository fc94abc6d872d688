/*
 * sso-broker: SAML Response verification, as an ordered chain of one-rule
 * checks.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * saml_response_verify() runs these checks in this order; the first
 * failure wins and its code is returned (SECURITY-CASES row in brackets):
 *
 *  0 metadata		SAML_METADATA: the IdP metadata in force is past its
 *			validUntil (a metadata URL's may be renewed, mdr.c)
 *  1 size		SAML_PARAM (empty), SAML_TOOBIG before decoding [X05]
 *  2 base64		SAML_BASE64: strict standard alphabet [X07]
 *  3 xml		SAML_XML, SAML_DTD: the one parser, one tree [X01-X04,
 *			X08, S22, S34]; SAML_XML_ENCODING: UTF-8 only; the
 *			shape limits, while the tree is built (saml_limits.c,
 *			issue 6): SAML_XML_ATTRS (pre-scan of the start tags,
 *			then per element), SAML_XML_DEPTH, SAML_XML_NODES,
 *			SAML_XML_ATTRS_TOTAL, SAML_XML_NS, SAML_XML_NS_SCOPE,
 *			SAML_XML_NS_TOTAL
 *  3a prefix_lists	SAML_PREFIX_LIST: every exc-c14n PrefixList is short
 *  4 root		SAML_SCHEMA (root is not samlp:Response, no ID, nested
 *			Response), SAML_VERSION
 *  5 status		SAML_STATUS: top-level StatusCode is Success [P25]
 *  5a encrypted	SAML_ENC_*, SAML_DECRYPT (saml_enc.c, with a key
 *			holder only): the EncryptedAssertion decrypted and
 *			put in its place, so 6-19 check it as a plain one;
 *			SAML_ENC_REQUIRED for a plain one where required
 *  6 assertion_count	SAML_ENCRYPTED (any EncryptedAssertion) [P31],
 *			SAML_ASSERTION_COUNT: exactly one Assertion in the whole
 *			document and it is a child of the Response [S01-S08,
 *			S12-S14]; SAML_SCHEMA/SAML_VERSION for the Assertion
 *  7 sig_placement	SAML_SIG_SHAPE: a ds:Signature anywhere but as the one
 *			direct child of the Response or the Assertion [S18]
 *  8 ids		SAML_DUP_ID: every ID and xml:id is unique [S22]
 *  9 response_sig	if the Response is signed: profile (SIG_SHAPE,
 *			SIG_ALG; one Reference, at most two Transforms, one
 *			InclusiveNamespaces, short Signature/DigestValue)
 *			then xmlsec (SIG_INVALID) [S19-S30, S35]
 * 10 assertion_sig	SAML_SIG_MISSING if unsigned, even when the Response
 *			is signed [S09, S10]; then profile and xmlsec [S16, S17]
 * 11 issuer		SAML_ISSUER: Response Issuer (optional) and Assertion
 *			Issuer equal the IdP entityID, Format entity [S15, P26]
 * 12 destination	SAML_DESTINATION: required when the Response is
 *			signed, always equal to our ACS when present [P07, P08]
 * 13 subject		one NameID; a bearer confirmation with our Recipient
 *			and an unexpired NotOnOrAfter [P05, P06, P14, P19, P24]
 * 14 in_response_to	SAML_IN_RESPONSE_TO: Response and bearer SCD agree
 * 15 conditions	required; time window, only AudienceRestriction and
 *			OneTimeUse, audience AND/OR [P01-P04, P12, P13, P15-P18]
 * 16 issue_instant	SAML_ISSUE_INSTANT [P15]
 * 17 authn_statement	SAML_AUTHN_INSTANT, SAML_AUTHN_TOO_OLD [P27, P28]
 * 18 username		SAML_NAMEID: full text, no markup, no surrounding
 *			white space, allowed Format [S23, S24, P29, P30]
 * 19 portal_user	SAML_PORTAL_USER unless allow_portal_users
 *
 * Everything before step 9 is linear in the size of the tree, and steps 3
 * and 3a bound that tree, so the cost paid before a signature is verified
 * is bounded whatever the input (docs/security.md, "Cost before the
 * signature").
 * Time format errors (SAML_TIME_FORMAT, P16) come from whichever of 13-17
 * reads the timestamp first.  Replay (P20) and InResponseTo correlation
 * (P09) need the store and are the caller's.
 * Trust: the SAMLResponse value is untrusted; every value reported comes
 * from the node the signature check verified.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/hash.h>

#include "bk.h"
#include "log.h"
#include "saml_int.h"

/**
 * Record the reason (the first one wins) and return rv.  Control bytes
 * are replaced: details can quote message values (a status URI).
 */
int
saml_fail(struct saml_ctx *c, int rv, const char *fmt, ...)
{
	va_list ap;

	if (c->detail != NULL)
		return rv;
	/* Well-formed UTF-8, cut on a character boundary: always auditable. */
	va_start(ap, fmt);
	c->detail = log_vdetail(160, fmt, ap);
	va_end(ap);
	return rv;
}

/* The longest prefix of s, at most max bytes, that ends on a character. */
static int
saml_prefix_len(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n <= max)
		return (int)n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

static int
saml_check_root(struct saml_ctx *c)
{
	const char *v, *id;

	c->response = xmlDocGetRootElement(c->doc);
	if (!saml_xml_is(c->response, SAML_NS_PROTO, "Response"))
		return saml_fail(c, BK_E_SAML_SCHEMA,
		    "root is not samlp:Response");
	if ((v = saml_xml_attr(c->response, "Version")) == NULL ||
	    strcmp(v, "2.0") != 0)
		return saml_fail(c, BK_E_SAML_VERSION,
		    "Response Version is not 2.0");
	id = saml_xml_attr(c->response, "ID");
	if (id == NULL || id[0] == '\0' || strlen(id) > SAML_ID_MAX)
		return saml_fail(c, BK_E_SAML_SCHEMA,
		    "Response ID missing or too long");
	if (saml_xml_count_desc(c->response, SAML_NS_PROTO, "Response") != 1)
		return saml_fail(c, BK_E_SAML_SCHEMA,
		    "nested Response element");
	return BK_OK;
}

static int
saml_check_status(struct saml_ctx *c)
{
	xmlNodePtr st, sc;
	const char *v;

	if (saml_xml_count(c->response, SAML_NS_PROTO, "Status") != 1)
		return saml_fail(c, BK_E_SAML_STATUS,
		    "Response needs one Status");
	st = saml_xml_child(c->response, SAML_NS_PROTO, "Status");
	sc = saml_xml_first_elem(st->children);
	if (!saml_xml_is(sc, SAML_NS_PROTO, "StatusCode"))
		return saml_fail(c, BK_E_SAML_STATUS,
		    "Status without StatusCode");
	v = saml_xml_attr(sc, "Value");
	if (v == NULL || strcmp(v, SAML_STATUS_SUCCESS) != 0)
		return saml_fail(c, BK_E_SAML_STATUS, "status %.*s",
		    v != NULL ? saml_prefix_len(v, 100) : 6,
		    v != NULL ? v : "(none)");
	return BK_OK;
}

/* 1 if element n may appear as a child of the Response (r) or Assertion. */
static int
saml_child_allowed(xmlNodePtr n, int r)
{
	static const char *const resp[] = { "Issuer", "Extensions", "Status",
	    "Assertion", NULL };
	static const char *const assn[] = { "Issuer", "Subject", "Conditions",
	    "AuthnStatement", "AttributeStatement", NULL };
	const char *const *l = r ? resp : assn;
	const char *ns;
	size_t i;

	if (saml_xml_is(n, SAML_NS_DS, "Signature"))
		return 1;
	for (i = 0; l[i] != NULL; i++) {
		ns = r && i > 0 && i < 3 ? SAML_NS_PROTO : SAML_NS_ASSERT;
		if (saml_xml_is(n, ns, l[i]))
			return 1;
	}
	return 0;
}

static int
saml_check_children(struct saml_ctx *c, xmlNodePtr parent, int r)
{
	xmlNodePtr n;

	for (n = saml_xml_first_elem(parent->children); n != NULL;
	    n = saml_xml_next_elem(n))
		if (!saml_child_allowed(n, r))
			return saml_fail(c, BK_E_SAML_SCHEMA,
			    "unexpected element %.*s in %s",
			    saml_prefix_len((const char *)n->name, 40),
			    (const char *)n->name,
			    r ? "Response" : "Assertion");
	return BK_OK;
}

static int
saml_check_assertion_count(struct saml_ctx *c)
{
	const char *v, *id;
	int rv;

	if (saml_xml_count_desc(c->response, SAML_NS_ASSERT,
	    "EncryptedAssertion") != 0)
		return saml_fail(c, BK_E_SAML_ENCRYPTED, "EncryptedAssertion");
	if (saml_xml_count_desc(c->response, SAML_NS_ASSERT, "Assertion") != 1)
		return saml_fail(c, BK_E_SAML_ASSERTION_COUNT,
		    "document must hold exactly one Assertion");
	c->assertion = saml_xml_child(c->response, SAML_NS_ASSERT, "Assertion");
	if (c->assertion == NULL)
		return saml_fail(c, BK_E_SAML_ASSERTION_COUNT,
		    "the Assertion is not a child of the Response");
	if ((rv = saml_check_children(c, c->response, 1)) != BK_OK)
		return rv;
	if ((v = saml_xml_attr(c->assertion, "Version")) == NULL ||
	    strcmp(v, "2.0") != 0)
		return saml_fail(c, BK_E_SAML_VERSION,
		    "Assertion Version is not 2.0");
	id = saml_xml_attr(c->assertion, "ID");
	if (id == NULL || id[0] == '\0' || strlen(id) > SAML_ID_MAX)
		return saml_fail(c, BK_E_SAML_SCHEMA,
		    "Assertion ID missing or too long");
	return saml_check_children(c, c->assertion, 0);
}

static int
saml_check_sig_placement(struct saml_ctx *c)
{
	size_t want;

	if (saml_sig_find(c->response, &c->resp_sig) != BK_OK ||
	    saml_sig_find(c->assertion, &c->assert_sig) != BK_OK)
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "two Signatures on one element");
	want = (c->resp_sig != NULL) + (c->assert_sig != NULL);
	if (saml_xml_count_desc(c->response, SAML_NS_DS, "Signature") != want)
		return saml_fail(c, BK_E_SAML_SIG_SHAPE,
		    "Signature outside Response/Assertion");
	return BK_OK;
}

/* 1 if a is an ID-typed attribute: SAML's ID or xml:id. */
static int
saml_attr_is_id(const xmlAttr *a)
{
	if (a->ns == NULL)
		return xmlStrEqual(a->name, SAML_XC("ID"));
	return a->ns->href != NULL &&
	    xmlStrEqual(a->ns->href, SAML_XC(SAML_NS_XML)) &&
	    xmlStrEqual(a->name, SAML_XC("id"));
}

/*
 * Every ID and xml:id value in the document is distinct (S22, the
 * CVE-2025-23369 shape): a Reference can then only ever name one element.
 */
static int
saml_check_ids(struct saml_ctx *c)
{
	xmlHashTablePtr h;
	xmlNodePtr n;
	xmlAttrPtr a;
	xmlChar *v;
	int rv = BK_OK, dup;

	if ((h = xmlHashCreate(16)) == NULL)
		return BK_E_NOMEM;
	for (n = c->response; n != NULL && rv == BK_OK;
	    n = saml_xml_walk_next(c->response, n)) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		for (a = n->properties; a != NULL && rv == BK_OK; a = a->next) {
			if (!saml_attr_is_id(a))
				continue;
			if ((v = xmlNodeListGetString(c->doc, a->children,
			    1)) ==
			    NULL)
				v = xmlStrdup(SAML_XC(""));
			if (v == NULL) {
				rv = BK_E_NOMEM;
				break;
			}
			dup = xmlHashAddEntry(h, v, h) != 0;
			xmlFree(v);
			if (dup)
				rv = saml_fail(c, BK_E_SAML_DUP_ID,
				    "duplicate ID value");
		}
	}
	xmlHashFree(h, NULL);
	return rv;
}

static int
saml_check_response_sig(struct saml_ctx *c)
{
	char fp[SAML_FP_LEN + 1];
	int rv;

	/* checked before decryption (saml_enc.c): it covers the ciphertext */
	if (c->resp_sig == NULL || c->resp_verified)
		return BK_OK;
	if ((rv = saml_sig_check_profile(c, c->response, c->resp_sig)) != BK_OK)
		return rv;
	if ((rv = saml_sig_verify(c, c->response, c->resp_sig, fp)) != BK_OK)
		return rv;
	c->out->response_signed = 1;
	return BK_OK;
}

/* S10: the Assertion must carry its own signature (requireSignedAssertions). */
static int
saml_check_assertion_sig(struct saml_ctx *c)
{
	int rv;

	if (c->assert_sig == NULL)
		return saml_fail(c, BK_E_SAML_SIG_MISSING,
		    "Assertion is not signed");
	if ((rv = saml_sig_check_profile(c, c->assertion, c->assert_sig)) !=
	    BK_OK)
		return rv;
	rv = saml_sig_verify(c, c->assertion, c->assert_sig,
	    c->out->cert_fingerprint);
	c->assert_verified = rv == BK_OK;
	return rv;
}

/* One Issuer element: Format absent or entity, text the IdP's entityID. */
static int
saml_check_one_issuer(struct saml_ctx *c, xmlNodePtr parent, int required)
{
	size_t n = saml_xml_count(parent, SAML_NS_ASSERT, "Issuer");
	xmlNodePtr is;
	const char *fmt;

	if (n == 0 && !required)
		return BK_OK;
	if (n != 1)
		return saml_fail(c, BK_E_SAML_ISSUER, "%s needs one Issuer",
		    (const char *)parent->name);
	is = saml_xml_child(parent, SAML_NS_ASSERT, "Issuer");
	fmt = saml_xml_attr(is, "Format");
	if (fmt != NULL && strcmp(fmt, SAML_FMT_ENTITY) != 0)
		return saml_fail(c, BK_E_SAML_ISSUER,
		    "Issuer Format is not entity");
	if (!saml_xml_text_is(is, c->t->info.idp_entity_id))
		return saml_fail(c, BK_E_SAML_ISSUER,
		    "%s Issuer is not the tenant's IdP",
		    (const char *)parent->name);
	return BK_OK;
}

static int
saml_check_issuer(struct saml_ctx *c)
{
	int rv;

	if ((rv = saml_check_one_issuer(c, c->response, 0)) != BK_OK)
		return rv;
	return saml_check_one_issuer(c, c->assertion, 1);
}

static int
saml_check_destination(struct saml_ctx *c)
{
	const char *d = saml_xml_attr(c->response, "Destination");

	if (d == NULL && c->out->response_signed)
		return saml_fail(c, BK_E_SAML_DESTINATION,
		    "signed Response without Destination");
	if (d != NULL && strcmp(d, c->t->acs_url) != 0)
		return saml_fail(c, BK_E_SAML_DESTINATION,
		    "Destination is not our ACS");
	return BK_OK;
}

/*
 * The element whose text is the user name: NameID or the configured attribute.
 */
static int
saml_username_node(struct saml_ctx *c, xmlNodePtr *out)
{
	xmlNodePtr st, a, found = NULL;
	const char *name, *fmt;

	*out = NULL;
	if (c->t->username_attribute == NULL) {
		*out = saml_xml_child(saml_xml_child(c->assertion,
		    SAML_NS_ASSERT, "Subject"), SAML_NS_ASSERT, "NameID");
		fmt = saml_xml_attr(*out, "Format");
		if (fmt != NULL && strcmp(fmt, SAML_FMT_UNSPEC) != 0 &&
		    strcmp(fmt, SAML_FMT_EMAIL) != 0)
			return saml_fail(c, BK_E_SAML_NAMEID,
			    "NameID Format not accepted");
		return BK_OK;
	}
	for (st = saml_xml_first_elem(c->assertion->children); st != NULL;
	    st = saml_xml_next_elem(st)) {
		if (!saml_xml_is(st, SAML_NS_ASSERT, "AttributeStatement"))
			continue;
		for (a = saml_xml_first_elem(st->children); a != NULL;
		    a = saml_xml_next_elem(a)) {
			name = saml_xml_attr(a, "Name");
			if (!saml_xml_is(a, SAML_NS_ASSERT, "Attribute") ||
			    name == NULL ||
			    strcmp(name, c->t->username_attribute) != 0)
				continue;
			if (found != NULL)
				return saml_fail(c, BK_E_SAML_NAMEID,
				    "user name attribute repeated");
			found = a;
		}
	}
	if (found == NULL || saml_xml_count(found, SAML_NS_ASSERT,
	    "AttributeValue") != 1)
		return saml_fail(c, BK_E_SAML_NAMEID,
		    "user name attribute missing or not single-valued");
	*out = saml_xml_child(found, SAML_NS_ASSERT, "AttributeValue");
	return BK_OK;
}

/*
 * The user name is the full text (S23 comment, S24 CDATA), with no markup
 * inside (S24 processing instruction), no control bytes and no leading or
 * trailing white space: we never trim, so there is one reading (P29).
 */
static int
saml_check_username(struct saml_ctx *c)
{
	xmlNodePtr n;
	char *s = NULL;
	size_t i, len;
	int rv;

	if ((rv = saml_username_node(c, &n)) != BK_OK)
		return rv;
	if (n == NULL || (rv = saml_xml_text(n, &s)) != BK_OK) {
		if (rv == BK_E_NOMEM)
			return rv;
		return saml_fail(c, BK_E_SAML_NAMEID,
		    "user name has markup or is too long");
	}
	len = strlen(s);
	rv = BK_OK;
	if (len == 0)
		rv = saml_fail(c, BK_E_SAML_NAMEID, "empty user name");
	for (i = 0; i < len && rv == BK_OK; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ||
		    ((i == 0 || i == len - 1) && s[i] == ' '))
			rv = saml_fail(c, BK_E_SAML_NAMEID,
			    "white space or control byte in user name");
	if (rv != BK_OK) {
		free(s);
		return rv;
	}
	free(c->out->username);
	c->out->username = s;
	return BK_OK;
}

/*
 * Salesforce's is_portal_user attribute: any value but "false" counts as
 * a portal user (fail closed).
 */
static int
saml_check_portal_user(struct saml_ctx *c)
{
	xmlNodePtr st, a, v;
	const char *name;

	if (c->t->allow_portal_users)
		return BK_OK;
	for (st = saml_xml_first_elem(c->assertion->children); st != NULL;
	    st = saml_xml_next_elem(st)) {
		if (!saml_xml_is(st, SAML_NS_ASSERT, "AttributeStatement"))
			continue;
		for (a = saml_xml_first_elem(st->children); a != NULL;
		    a = saml_xml_next_elem(a)) {
			name = saml_xml_attr(a, "Name");
			if (!saml_xml_is(a, SAML_NS_ASSERT, "Attribute") ||
			    name == NULL || strcmp(name, "is_portal_user") != 0)
				continue;
			for (v = saml_xml_first_elem(a->children); v != NULL;
			    v = saml_xml_next_elem(v))
				if (!saml_xml_text_is(v, "false"))
					return saml_fail(c,
					    BK_E_SAML_PORTAL_USER,
					    "portal user");
		}
	}
	return BK_OK;
}

static char *
saml_dup_attr(xmlNodePtr n, const char *name)
{
	const char *v = saml_xml_attr(n, name);

	return v == NULL ? NULL : bk_strdup(v);
}

static int saml_result_fill(struct saml_ctx *);

/* n's attribute name into *out (unless set), when at most max bytes. */
static int
saml_keep_attr(xmlNodePtr n, const char *name, size_t max, char **out)
{
	const char *v = saml_xml_attr(n, name);

	if (*out != NULL || v == NULL || strlen(v) > max)
		return BK_OK;
	return (*out = bk_strdup(v)) == NULL ? BK_E_NOMEM : BK_OK;
}

/*
 * What the audit records besides the identity: NameID, instants,
 * SessionIndex, the signature's algorithms.  Read as the message has
 * them; on a failure they were never checked (saml.h).
 */
static int
saml_result_facts(struct saml_ctx *c)
{
	struct saml_result *r = c->out;
	xmlNodePtr nid, st, si, sig;
	int rv;

	nid = saml_xml_child(saml_xml_child(c->assertion, SAML_NS_ASSERT,
	    "Subject"), SAML_NS_ASSERT, "NameID");
	if (r->name_id == NULL && nid != NULL &&
	    saml_xml_text(nid, &r->name_id) == BK_E_NOMEM)
		return BK_E_NOMEM;
	if ((rv = saml_keep_attr(nid, "Format", 256,
	    &r->name_id_format)) != BK_OK ||
	    (rv = saml_keep_attr(nid, "NameQualifier", 1024,
	    &r->name_qualifier)) != BK_OK ||
	    (rv = saml_keep_attr(nid, "SPNameQualifier", 1024,
	    &r->sp_name_qualifier)) != BK_OK)
		return rv;
	st = saml_xml_child(c->assertion, SAML_NS_ASSERT, "AuthnStatement");
	sig = c->assert_sig != NULL ? c->assert_sig : c->resp_sig;
	/* refused before the Signatures were placed: the ones it has */
	if (sig == NULL && (sig = saml_xml_child(c->assertion, SAML_NS_DS,
	    "Signature")) == NULL)
		sig = saml_xml_child(c->response, SAML_NS_DS, "Signature");
	si = saml_xml_child(sig, SAML_NS_DS, "SignedInfo");
	if ((rv = saml_keep_attr(c->assertion, "IssueInstant", 64,
	    &r->issue_instant)) != BK_OK ||
	    (rv = saml_keep_attr(st, "AuthnInstant", 64,
	    &r->authn_instant)) != BK_OK ||
	    (rv = saml_keep_attr(st, "SessionIndex", SAML_ID_MAX,
	    &r->session_index)) != BK_OK ||
	    (rv = saml_keep_attr(saml_xml_child(si, SAML_NS_DS,
	    "SignatureMethod"), "Algorithm", 256, &r->sig_alg)) != BK_OK)
		return rv;
	return saml_keep_attr(saml_xml_child(saml_xml_child(si, SAML_NS_DS,
	    "Reference"), SAML_NS_DS, "DigestMethod"), "Algorithm", 256,
	    &r->digest_alg);
}

/*
 * A refused message, for the audit: what the Response says of itself
 * (its Issuer when the Assertion has none, InResponseTo as claimed), and
 * what saml_result_fill() reads once the Assertion was found.
 */
static void
saml_result_claimed(struct saml_ctx *c)
{
	struct saml_result *r = c->out;
	xmlNodePtr is;

	if (!saml_xml_is(c->response, SAML_NS_PROTO, "Response"))
		return;
	is = saml_xml_child(c->response, SAML_NS_ASSERT, "Issuer");
	if (c->assertion != NULL)
		(void)saml_result_fill(c);
	if (r->issuer == NULL && is != NULL)
		(void)saml_xml_text(is, &r->issuer);
	(void)saml_keep_attr(c->response, "ID", SAML_ID_MAX,
	    &r->response_id);
	(void)saml_keep_attr(c->response, "InResponseTo", SAML_ID_MAX,
	    &r->in_response_to);
}

/* The verified facts.  Also used, best effort, for the audit on failure. */
static int
saml_result_fill(struct saml_ctx *c)
{
	struct saml_result *r = c->out;
	xmlNodePtr is;

	is = saml_xml_child(c->assertion, SAML_NS_ASSERT, "Issuer");
	if (r->issuer == NULL && is != NULL && saml_xml_text(is, &r->issuer) ==
	    BK_E_NOMEM)
		return BK_E_NOMEM;
	if (r->response_id == NULL && c->response != NULL &&
	    (r->response_id = saml_dup_attr(c->response, "ID")) == NULL)
		return BK_E_NOMEM;
	if (r->assertion_id == NULL &&
	    (r->assertion_id = saml_dup_attr(c->assertion, "ID")) == NULL)
		return BK_E_NOMEM;
	r->not_on_or_after = c->scd_not_on_or_after;
	if (c->cond_not_on_or_after != 0 && (r->not_on_or_after == 0 ||
	    c->cond_not_on_or_after < r->not_on_or_after))
		r->not_on_or_after = c->cond_not_on_or_after;
	return saml_result_facts(c);
}

static int
saml_check_size(const char *b64, size_t len)
{
	if (b64 == NULL || len == 0)
		return BK_E_SAML_PARAM;
	if (len > SAML_RESPONSE_MAX)
		return BK_E_SAML_TOOBIG;
	return BK_OK;
}

static int
saml_check_base64(const char *b64, size_t len, unsigned char **xml,
    size_t *xml_len)
{
	int rv = bk_b64_decode(b64, len, SAML_RESPONSE_MAX, xml, xml_len);

	if (rv == BK_E_TOOBIG)
		return BK_E_SAML_TOOBIG;
	if (rv == BK_E_NOMEM)
		return rv;
	return rv == BK_OK ? BK_OK : BK_E_SAML_BASE64;
}

static int (*const saml_checks[])(struct saml_ctx *) = {
	saml_check_prefix_lists,
	saml_check_root,
	saml_check_status,
	saml_check_encrypted,
	saml_check_assertion_count,
	saml_check_sig_placement,
	saml_check_ids,
	saml_check_response_sig,
	saml_check_assertion_sig,
	saml_check_issuer,
	saml_check_destination,
	saml_check_subject,
	saml_check_in_response_to,
	saml_check_conditions,
	saml_check_issue_instant,
	saml_check_authn_statement,
	saml_check_username,
	saml_check_portal_user,
};

static int
saml_run_checks(struct saml_ctx *c, const char *b64, size_t len)
{
	unsigned char *xml = NULL;
	size_t xml_len = 0, i;
	char *why = NULL;
	int rv;

	/* Metadata past its validUntil is no longer a trust anchor. */
	if (c->t->info.metadata_valid_until != 0 &&
	    c->now >= c->t->info.metadata_valid_until)
		return saml_fail(c, BK_E_SAML_METADATA, "the IdP metadata "
		    "expired (validUntil); refresh it and reload");
	if ((rv = saml_check_size(b64, len)) != BK_OK)
		return saml_fail(c, rv, "SAMLResponse empty or over %d bytes",
		    SAML_RESPONSE_MAX);
	if ((rv = saml_check_base64(b64, len, &xml, &xml_len)) != BK_OK)
		return saml_fail(c, rv, "SAMLResponse is not strict base64");
	rv = saml_xml_parse((const char *)xml, xml_len, SAML_XML_LIMITS,
	    &c->doc, &why);
	free(xml);
	if (rv != BK_OK) {
		saml_fail(c, rv, "%s", why != NULL ? why : "parse error");
		free(why);
		return rv;
	}
	for (i = 0; i < BK_NELEM(saml_checks); i++)
		if ((rv = saml_checks[i](c)) != BK_OK)
			return saml_enc_collapse(c, rv);
	return saml_result_fill(c);
}

int
saml_response_verify(const struct saml_tenant *t, const char *b64, size_t len,
    time_t now, struct saml_result *out, char **detail)
{
	return saml_response_verify_enc(t, b64, len, now, NULL, out, detail);
}

int
saml_response_verify_enc(const struct saml_tenant *t, const char *b64,
    size_t len, time_t now, const struct saml_unwrap *uw,
    struct saml_result *out, char **detail)
{
	struct saml_ctx c;
	int rv;

	memset(out, 0, sizeof(*out));
	if (detail != NULL)
		*detail = NULL;
	memset(&c, 0, sizeof(c));
	c.t = t;
	c.now = now;
	c.out = out;
	c.uw = uw;
	/*
	 * Metadata past its validUntil is not to be relied on (SAML metadata
	 * 2.1.1); a metadata URL may still renew it (broker/mdr.c).
	 */
	if (t->info.metadata_valid_until != 0 &&
	    now >= t->info.metadata_valid_until)
		rv = saml_fail(&c, BK_E_SAML_METADATA,
		    "the IdP metadata is past its validUntil");
	else
		rv = saml_run_checks(&c, b64, len);
	if (rv != BK_OK && c.response != NULL)
		saml_result_claimed(&c);	/* audit only, never trusted */
	if (rv == BK_OK) {
		free(c.detail);
		c.detail = NULL;
	}
	if (detail != NULL)
		*detail = c.detail;
	else
		free(c.detail);
	if (c.doc != NULL)
		xmlFreeDoc(c.doc);
	return rv;
}

void
saml_result_cleanup(struct saml_result *r)
{
	if (r == NULL)
		return;
	free(r->issuer);
	free(r->response_id);
	free(r->assertion_id);
	free(r->in_response_to);
	free(r->username);
	free(r->name_id);
	free(r->name_id_format);
	free(r->name_qualifier);
	free(r->sp_name_qualifier);
	free(r->issue_instant);
	free(r->authn_instant);
	free(r->session_index);
	free(r->sig_alg);
	free(r->digest_alg);
	memset(r, 0, sizeof(*r));
}
