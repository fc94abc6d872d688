/*
 * sso-broker: subject, bearer confirmation, conditions, audience and time
 * checks of a SAML assertion (the rules lasso does not apply for an SP).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Each saml_check_*() is one rule with its own error code; saml_verify.c
 * runs them in order.  They read the verified xmlNode tree directly,
 * never lasso's object model, which drops an AudienceRestriction with two
 * Audience children (SECURITY-CASES P04).  Time comparisons, with s the
 * tenant's clock_skew (P15):
 *   NotBefore		accepted while NotBefore <= now + s
 *   NotOnOrAfter	refused once now - s >= NotOnOrAfter
 *   IssueInstant	within [now - s - SAML_ISSUE_MAX_AGE, now + s]
 *   AuthnInstant	not after now + s; not older than max_authn_age + s
 * Trust: all nodes are untrusted input, already signature-verified.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bk.h"
#include "saml_int.h"

/**
 * Read the time attribute name of n.
 * @return BK_OK (*out set), BK_E_NOT_FOUND when absent (no detail set),
 *	   BK_E_SAML_TIME_FORMAT when malformed (P16).
 */
int
saml_time_attr(struct saml_ctx *c, xmlNodePtr n, const char *name,
    int required, time_t *out)
{
	const char *v = saml_xml_attr(n, name);

	*out = 0;
	if (v == NULL)
		return BK_E_NOT_FOUND;
	if (saml_xml_time_parse(v, out) != 0)
		return saml_fail(c, BK_E_SAML_TIME_FORMAT, "malformed %s on %s",
		    name, (const char *)n->name);
	return BK_OK;
}

/* NotBefore (optional) and NotOnOrAfter (required or not) of n. */
static int
saml_check_window(struct saml_ctx *c, xmlNodePtr n, int noa_required,
    time_t *noa)
{
	time_t nb, skew = c->t->clock_skew;
	int rv;

	rv = saml_time_attr(c, n, "NotBefore", 0, &nb);
	if (rv != BK_OK && rv != BK_E_NOT_FOUND)
		return rv;
	if (rv == BK_OK && nb > c->now + skew)
		return saml_fail(c, BK_E_SAML_NOT_YET_VALID,
		    "%s NotBefore is in the future", (const char *)n->name);
	rv = saml_time_attr(c, n, "NotOnOrAfter", noa_required, noa);
	if (rv == BK_E_NOT_FOUND && !noa_required)
		return BK_OK;
	if (rv == BK_E_NOT_FOUND)
		return saml_fail(c, BK_E_SAML_SUBJECT_CONF,
		    "%s without NotOnOrAfter", (const char *)n->name);
	if (rv != BK_OK)
		return rv;
	if (c->now - skew >= *noa)
		return saml_fail(c, BK_E_SAML_EXPIRED, "%s NotOnOrAfter passed",
		    (const char *)n->name);
	return BK_OK;
}

/*
 * One bearer SubjectConfirmation (profiles 4.1.4.2): exactly one
 * SubjectConfirmationData whose Recipient is our ACS (P05, P06) and which
 * carries an unexpired NotOnOrAfter (P14).
 */
static int
saml_check_bearer(struct saml_ctx *c, xmlNodePtr sc)
{
	xmlNodePtr scd;
	const char *rcpt;
	time_t noa = 0;
	int rv;

	if (saml_xml_count(sc, SAML_NS_ASSERT, "SubjectConfirmationData") != 1)
		return saml_fail(c, BK_E_SAML_SUBJECT_CONF,
		    "bearer confirmation needs one SubjectConfirmationData");
	scd = saml_xml_child(sc, SAML_NS_ASSERT, "SubjectConfirmationData");
	if ((rcpt = saml_xml_attr(scd, "Recipient")) == NULL)
		return saml_fail(c, BK_E_SAML_RECIPIENT, "Recipient missing");
	if (strcmp(rcpt, c->t->acs_url) != 0)
		return saml_fail(c, BK_E_SAML_RECIPIENT,
		    "Recipient is not our ACS");
	if ((rv = saml_check_window(c, scd, 1, &noa)) != BK_OK)
		return rv;
	c->bearer_scd = scd;
	c->scd_not_on_or_after = noa;
	return BK_OK;
}

/*
 * Subject: exactly one NameID (no EncryptedID or BaseID, P30) and at least
 * one valid bearer confirmation.  Other methods (holder-of-key,
 * sender-vouches) are ignored, so only-non-bearer is refused (P19) and a
 * foreign holder-of-key before a valid bearer is fine (P24).  With several
 * bearer confirmations the first valid one is used; if none is valid the
 * first one's reason is reported.
 */
int
saml_check_subject(struct saml_ctx *c)
{
	xmlNodePtr subj, n;
	const char *m;
	int rv, first = 0;

	if (saml_xml_count(c->assertion, SAML_NS_ASSERT, "Subject") != 1)
		return saml_fail(c, BK_E_SAML_SCHEMA,
		    "assertion needs one Subject");
	subj = saml_xml_child(c->assertion, SAML_NS_ASSERT, "Subject");
	if (saml_xml_count(subj, SAML_NS_ASSERT, "NameID") != 1 ||
	    saml_xml_count(subj, SAML_NS_ASSERT, "EncryptedID") != 0 ||
	    saml_xml_count(subj, SAML_NS_ASSERT, "BaseID") != 0)
		return saml_fail(c, BK_E_SAML_NAMEID,
		    "Subject needs exactly one plain NameID");
	for (n = saml_xml_first_elem(subj->children); n != NULL;
	    n = saml_xml_next_elem(n)) {
		if (saml_xml_is(n, SAML_NS_ASSERT, "NameID"))
			continue;
		if (!saml_xml_is(n, SAML_NS_ASSERT, "SubjectConfirmation"))
			return saml_fail(c, BK_E_SAML_SCHEMA,
			    "unexpected element in Subject");
		m = saml_xml_attr(n, "Method");
		if (m == NULL || strcmp(m, SAML_CM_BEARER) != 0)
			continue;
		rv = saml_check_bearer(c, n);
		if (rv == BK_OK) {
			free(c->detail);
			c->detail = NULL;
			return BK_OK;
		}
		if (first == 0)
			first = rv;
	}
	if (first == 0)
		return saml_fail(c, BK_E_SAML_SUBJECT_CONF,
		    "no bearer SubjectConfirmation");
	return first;
}

/*
 * The Response's and the bearer confirmation's InResponseTo must agree;
 * both absent is an unsolicited response.  Correlation with the stored
 * request (P09) is the caller's.
 */
int
saml_check_in_response_to(struct saml_ctx *c)
{
	const char *r = saml_xml_attr(c->response, "InResponseTo");
	const char *s = saml_xml_attr(c->bearer_scd, "InResponseTo");

	if (r == NULL && s == NULL)
		return BK_OK;
	if (r == NULL || s == NULL || strcmp(r, s) != 0)
		return saml_fail(c, BK_E_SAML_IN_RESPONSE_TO,
		    "Response and SubjectConfirmationData InResponseTo differ");
	if (r[0] == '\0' || strlen(r) > SAML_ID_MAX)
		return saml_fail(c, BK_E_SAML_IN_RESPONSE_TO,
		    "InResponseTo empty or too long");
	if ((c->out->in_response_to = bk_strdup(r)) == NULL)
		return BK_E_NOMEM;
	return BK_OK;
}

/*
 * Audience (core 2.5.1.4, profiles 4.1.4.2): at least one
 * AudienceRestriction, and every one of them names us among its Audience
 * children: OR within, AND across (P01-P04).  Anything but Audience inside
 * a restriction fails closed (X09).
 */
int
saml_check_audience(struct saml_ctx *c, xmlNodePtr cond)
{
	xmlNodePtr ar, a;
	size_t n_ar = 0;
	int ours;

	for (ar = saml_xml_first_elem(cond->children); ar != NULL;
	    ar = saml_xml_next_elem(ar)) {
		if (!saml_xml_is(ar, SAML_NS_ASSERT, "AudienceRestriction"))
			continue;
		n_ar++;
		ours = 0;
		for (a = saml_xml_first_elem(ar->children); a != NULL;
		    a = saml_xml_next_elem(a)) {
			if (!saml_xml_is(a, SAML_NS_ASSERT, "Audience"))
				return saml_fail(c, BK_E_SAML_AUDIENCE,
				    "unexpected element in "
				    "AudienceRestriction");
			if (saml_xml_text_is(a, c->t->sp_entity_id))
				ours = 1;
		}
		if (!ours)
			return saml_fail(c, BK_E_SAML_AUDIENCE,
			    "an AudienceRestriction does not name us");
	}
	if (n_ar == 0)
		return saml_fail(c, BK_E_SAML_AUDIENCE,
		    "no AudienceRestriction");
	return BK_OK;
}

/*
 * Conditions are required (they carry the audience); time window; only
 * AudienceRestriction and one OneTimeUse are understood.  ProxyRestriction,
 * saml:Condition (any xsi:type) and anything else are refused (P17,
 * mellon am_validate_conditions).  OneTimeUse is satisfied by the caller's
 * replay cache (P18).
 */
int
saml_check_conditions(struct saml_ctx *c)
{
	xmlNodePtr cond, n;
	size_t n_otu = 0;
	int rv;

	if (saml_xml_count(c->assertion, SAML_NS_ASSERT, "Conditions") == 0)
		return saml_fail(c, BK_E_SAML_AUDIENCE, "no Conditions");
	if (saml_xml_count(c->assertion, SAML_NS_ASSERT, "Conditions") != 1)
		return saml_fail(c, BK_E_SAML_SCHEMA, "several Conditions");
	cond = saml_xml_child(c->assertion, SAML_NS_ASSERT, "Conditions");
	if ((rv = saml_check_window(c, cond, 0, &c->cond_not_on_or_after)) !=
	    BK_OK)
		return rv;
	for (n = saml_xml_first_elem(cond->children); n != NULL;
	    n = saml_xml_next_elem(n)) {
		if (saml_xml_is(n, SAML_NS_ASSERT, "AudienceRestriction"))
			continue;
		if (saml_xml_is(n, SAML_NS_ASSERT, "OneTimeUse") &&
		    n_otu++ == 0)
			continue;
		return saml_fail(c, BK_E_SAML_CONDITION,
		    "unsupported condition %s", saml_xml_ns_is(n,
		    SAML_NS_ASSERT) ? (const char *)n->name : "(foreign)");
	}
	return saml_check_audience(c, cond);
}

static int
saml_check_instant(struct saml_ctx *c, xmlNodePtr n)
{
	time_t t, skew = c->t->clock_skew;
	int rv;

	rv = saml_time_attr(c, n, "IssueInstant", 1, &t);
	if (rv == BK_E_NOT_FOUND)
		return saml_fail(c, BK_E_SAML_ISSUE_INSTANT,
		    "%s without IssueInstant", (const char *)n->name);
	if (rv != BK_OK)
		return rv;
	if (t > c->now + skew || t < c->now - skew - SAML_ISSUE_MAX_AGE)
		return saml_fail(c, BK_E_SAML_ISSUE_INSTANT,
		    "%s IssueInstant outside the window",
		    (const char *)n->name);
	return BK_OK;
}

/** IssueInstant of the Response and of the Assertion (P15). */
int
saml_check_issue_instant(struct saml_ctx *c)
{
	int rv;

	if ((rv = saml_check_instant(c, c->response)) != BK_OK)
		return rv;
	return saml_check_instant(c, c->assertion);
}

static int
saml_check_one_authn(struct saml_ctx *c, xmlNodePtr st, time_t *snoa)
{
	time_t ai, skew = c->t->clock_skew;
	int rv;

	rv = saml_time_attr(c, st, "AuthnInstant", 1, &ai);
	if (rv == BK_E_NOT_FOUND)
		return saml_fail(c, BK_E_SAML_SCHEMA,
		    "AuthnStatement without AuthnInstant");
	if (rv != BK_OK)
		return rv;
	if (ai > c->now + skew)
		return saml_fail(c, BK_E_SAML_AUTHN_INSTANT,
		    "AuthnInstant in the future");
	if (c->t->max_authn_age > 0 &&
	    c->now - skew - ai > (time_t)c->t->max_authn_age)
		return saml_fail(c, BK_E_SAML_AUTHN_TOO_OLD,
		    "AuthnInstant older than max_authn_age");
	rv = saml_time_attr(c, st, "SessionNotOnOrAfter", 0, snoa);
	if (rv == BK_E_NOT_FOUND)
		return BK_OK;
	if (rv != BK_OK)
		return rv;
	if (c->now - skew >= *snoa)
		return saml_fail(c, BK_E_SAML_EXPIRED,
		    "SessionNotOnOrAfter passed");
	return BK_OK;
}

/*
 * At least one AuthnStatement (profiles 4.1.4.2); AuthnInstant sanity
 * (P27) and the earliest SessionNotOnOrAfter (P28).
 */
int
saml_check_authn_statement(struct saml_ctx *c)
{
	xmlNodePtr st;
	time_t snoa;
	size_t n = 0;
	int rv;

	for (st = saml_xml_first_elem(c->assertion->children); st != NULL;
	    st = saml_xml_next_elem(st)) {
		if (!saml_xml_is(st, SAML_NS_ASSERT, "AuthnStatement"))
			continue;
		n++;
		if ((rv = saml_check_one_authn(c, st, &snoa)) != BK_OK)
			return rv;
		if (snoa != 0 && (c->out->session_not_on_or_after == 0 ||
		    snoa < c->out->session_not_on_or_after))
			c->out->session_not_on_or_after = snoa;
	}
	if (n == 0)
		return saml_fail(c, BK_E_SAML_SCHEMA, "no AuthnStatement");
	return BK_OK;
}
