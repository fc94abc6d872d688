/*
 * sso-broker: the one XML parser of the SAML module, and node helpers.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * saml_xml_parse() is the only place in the tree that calls a libxml2
 * parse function (STYLE.md 9).  It parses without network access, without
 * entity substitution, without DTD loading and without "huge" mode, and it
 * stops at the first DOCTYPE or entity declaration (SECURITY-CASES X01-X04,
 * S22, S34): a SAML message never needs a DTD, and every XXE, billion
 * laughs and DOCTYPE parser-differential payload starts with one.
 * libxml2's own depth cap (256) holds because XML_PARSE_HUGE is never set
 * (X08), and so do its dictionary and text-size caps.  With SAML_XML_LIMITS
 * (every untrusted message) the shape limits of saml_limits.c apply as
 * well: a byte pre-scan of the start tags, then checks on every element as
 * the tree is built, so a hostile shape costs a bounded, small amount
 * before anything else runs (issue 6).  The parser stops at its first
 * error: libxml2 would otherwise go on scanning, unguarded, after it.
 * The encoding is UTF-8 (or ASCII): a declared encoding is ignored and a
 * UTF-16, UCS-4 or EBCDIC document is refused, so the bytes the pre-scan
 * reads are the characters the parser reads (a UTF-7 declaration would
 * otherwise hide every tag from it).  libxml2's own error output is
 * swallowed: the caller gets a short reason instead.
 * Trust: the bytes given to saml_xml_parse() are untrusted; the helpers
 * below read nodes of the tree it returns.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/encoding.h>
#include <libxml/xmlerror.h>

#include "bk.h"
#include "saml_int.h"

/* The external entity loader of the whole process: always fails (S31, X02). */
static xmlParserInputPtr
saml_xml_no_entity_loader(const char *url, const char *id,
    xmlParserCtxtPtr ctxt)
{
	return NULL;
}

static void
saml_xml_silent_cb(void *ctx, const char *fmt, ...)
{
}

static void
saml_xml_serror_cb(void *ctx, xmlErrorPtr err)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct saml_xml_state *st;
	size_t n;

	if (ctxt == NULL || ctxt->_private == NULL || err == NULL)
		return;
	st = ctxt->_private;
	/* Stop at the first error: nothing after it is guarded or needed. */
	if (err->level >= XML_ERR_ERROR)
		xmlStopParser(ctxt);
	if (st->msg[0] != '\0' || err->message == NULL)
		return;
	snprintf(st->msg, sizeof(st->msg), "line %d: %s", err->line,
	    err->message);
	n = strlen(st->msg);
	while (n > 0 && (st->msg[n - 1] == '\n' || st->msg[n - 1] == ' '))
		st->msg[--n] = '\0';
}

/* Any DOCTYPE, internal or external subset, or entity declaration. */
static void
saml_xml_dtd_stop(xmlParserCtxtPtr ctxt)
{
	struct saml_xml_state *st = ctxt->_private;

	if (st != NULL)
		st->dtd = 1;
	xmlStopParser(ctxt);
}

static void
saml_xml_subset_cb(void *ctx, const xmlChar *name, const xmlChar *ext,
    const xmlChar *sys)
{
	saml_xml_dtd_stop(ctx);
}

static void
saml_xml_entity_cb(void *ctx, const xmlChar *name, int type,
    const xmlChar *pub, const xmlChar *sys, xmlChar *content)
{
	saml_xml_dtd_stop(ctx);
}

/** Process-wide libxml2 hardening; called by saml_init(). */
void
saml_xml_init(void)
{
	xmlInitParser();
	xmlSetExternalEntityLoader(saml_xml_no_entity_loader);
	/* Never print to stderr from libxml2; errors are recorded per parse. */
	xmlSetGenericErrorFunc(NULL, saml_xml_silent_cb);
	xmlSetStructuredErrorFunc(NULL, NULL);
	xmlSubstituteEntitiesDefault(0);
	xmlLoadExtDtdDefaultValue = 0;
	xmlPedanticParserDefault(0);
}

/*
 * With SAML_XML_LIMITS: only an ASCII-compatible encoding, and the start
 * tags within bounds (saml_limits.c step 1).
 */
static int
saml_xml_precheck(const char *buf, size_t len, struct saml_xml_state *st)
{
	xmlCharEncoding enc = XML_CHAR_ENCODING_NONE;

	if (len >= 4)
		enc = xmlDetectCharEncoding((const unsigned char *)buf, 4);
	if (enc != XML_CHAR_ENCODING_NONE && enc != XML_CHAR_ENCODING_UTF8) {
		snprintf(st->msg, sizeof(st->msg), "the message is not UTF-8");
		return BK_E_SAML_XML_ENCODING;
	}
	if (saml_lim_prescan(buf, len, &st->lim) != BK_OK) {
		snprintf(st->msg, sizeof(st->msg), "%s", st->lim.msg);
		return st->lim.rv;
	}
	return BK_OK;
}

/* The outcome of a parse: the first of DTD, limit, libxml2 error. */
static int
saml_xml_outcome(xmlParserCtxtPtr ctxt, xmlDocPtr d,
    struct saml_xml_state *st)
{
	if (st->dtd || (d != NULL && (d->intSubset != NULL ||
	    d->extSubset != NULL))) {
		snprintf(st->msg, sizeof(st->msg), "DTD or entity declaration");
		return BK_E_SAML_DTD;
	}
	if (st->lim.rv != BK_OK) {
		snprintf(st->msg, sizeof(st->msg), "%s", st->lim.msg);
		return st->lim.rv;
	}
	if (d == NULL || !ctxt->wellFormed || !ctxt->nsWellFormed ||
	    xmlDocGetRootElement(d) == NULL) {
		if (st->msg[0] == '\0')
			snprintf(st->msg, sizeof(st->msg), "not well-formed");
		return BK_E_SAML_XML;
	}
	return BK_OK;
}

/**
 * Parse untrusted XML into a tree.
 * @param buf, len	borrowed bytes.
 * @param flags		SAML_XML_LIMITS for a SAML message (shape limits,
 *			UTF-8 only); 0 for the operator's own files.
 * @param doc		returned-owned tree on BK_OK.
 * @param why		returned-owned reason on failure (may be NULL).
 * @return BK_OK, BK_E_SAML_XML, BK_E_SAML_DTD, BK_E_NOMEM, and with
 *	   SAML_XML_LIMITS BK_E_SAML_XML_ENCODING or a limit's code
 *	   (BK_E_SAML_XML_DEPTH ... BK_E_SAML_XML_NS_TOTAL).
 */
int
saml_xml_parse(const char *buf, size_t len, int flags, xmlDocPtr *doc,
    char **why)
{
	struct saml_xml_state st;
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr d = NULL;
	int rv = BK_E_SAML_XML;
	int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;

	*doc = NULL;
	if (why != NULL)
		*why = NULL;
	memset(&st, 0, sizeof(st));
	st.limits = (flags & SAML_XML_LIMITS) != 0;
	if (len == 0 || len > INT_MAX) {
		snprintf(st.msg, sizeof(st.msg), "empty or oversized document");
		goto out;
	}
	if (st.limits && (rv = saml_xml_precheck(buf, len, &st)) != BK_OK)
		goto out;
	if ((ctxt = xmlNewParserCtxt()) == NULL) {
		rv = BK_E_NOMEM;
		goto out;
	}
	ctxt->_private = &st;
	ctxt->sax->internalSubset = saml_xml_subset_cb;
	ctxt->sax->externalSubset = saml_xml_subset_cb;
	ctxt->sax->entityDecl = saml_xml_entity_cb;
	ctxt->sax->serror = saml_xml_serror_cb;
	ctxt->sax->initialized = XML_SAX2_MAGIC;
	if (st.limits) {
		saml_lim_hook(ctxt->sax);
		opts |= XML_PARSE_IGNORE_ENC;
	}
	d = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL, opts);
	if ((rv = saml_xml_outcome(ctxt, d, &st)) != BK_OK)
		goto out;
	*doc = d;
	d = NULL;
 out:
	if (rv != BK_OK && why != NULL)
		*why = bk_strdup(st.msg);
	if (d != NULL)
		xmlFreeDoc(d);
	if (ctxt != NULL) {
		ctxt->_private = NULL;
		xmlFreeParserCtxt(ctxt);
	}
	return rv;
}

/** 1 if n is an element in namespace ns (NULL: no namespace). */
int
saml_xml_ns_is(const xmlNode *n, const char *ns)
{
	if (n == NULL || n->type != XML_ELEMENT_NODE)
		return 0;
	if (ns == NULL)
		return n->ns == NULL;
	return n->ns != NULL && n->ns->href != NULL &&
	    xmlStrEqual(n->ns->href, SAML_XC(ns));
}

/** 1 if n is the element {ns}name. */
int
saml_xml_is(const xmlNode *n, const char *ns, const char *name)
{
	/* The local name first: short, and it tells most elements apart. */
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	    xmlStrEqual(n->name, SAML_XC(name)) && saml_xml_ns_is(n, ns);
}

/** n itself if it is an element, else the next element sibling. */
xmlNodePtr
saml_xml_first_elem(xmlNodePtr n)
{
	while (n != NULL && n->type != XML_ELEMENT_NODE)
		n = n->next;
	return n;
}

/** The element sibling after n. */
xmlNodePtr
saml_xml_next_elem(xmlNodePtr n)
{
	return n == NULL ? NULL : saml_xml_first_elem(n->next);
}

/** First direct child {ns}name of parent, or NULL. */
xmlNodePtr
saml_xml_child(xmlNodePtr parent, const char *ns, const char *name)
{
	xmlNodePtr n;

	if (parent == NULL)
		return NULL;
	for (n = saml_xml_first_elem(parent->children); n != NULL;
	    n = saml_xml_next_elem(n))
		if (saml_xml_is(n, ns, name))
			return n;
	return NULL;
}

/** Number of direct children {ns}name of parent. */
size_t
saml_xml_count(xmlNodePtr parent, const char *ns, const char *name)
{
	xmlNodePtr n;
	size_t cnt = 0;

	if (parent == NULL)
		return 0;
	for (n = saml_xml_first_elem(parent->children); n != NULL;
	    n = saml_xml_next_elem(n))
		if (saml_xml_is(n, ns, name))
			cnt++;
	return cnt;
}

/*
 * The node after n in document order within root's subtree (elements only
 * are descended into), or NULL at the end.  Iterative: no recursion on
 * untrusted depth.
 */
xmlNodePtr
saml_xml_walk_next(xmlNodePtr root, xmlNodePtr n)
{
	if (n->type == XML_ELEMENT_NODE && n->children != NULL)
		return n->children;
	while (n != NULL && n != root && n->next == NULL)
		n = n->parent;
	if (n == NULL || n == root)
		return NULL;
	return n->next;
}

/** Number of elements {ns}name anywhere under and including root. */
size_t
saml_xml_count_desc(xmlNodePtr root, const char *ns, const char *name)
{
	xmlNodePtr n;
	size_t cnt = 0;

	for (n = root; n != NULL; n = saml_xml_walk_next(root, n))
		if (saml_xml_is(n, ns, name))
			cnt++;
	return cnt;
}

/*
 * Value of the un-namespaced attribute name, borrowed from the tree, or
 * NULL when absent.  Without a DTD an attribute value is a single text
 * node (character references are already resolved); any other shape is
 * treated as absent, which every caller handles fail-closed.
 */
const char *
saml_xml_attr(const xmlNode *n, const char *name)
{
	xmlAttrPtr a;

	if (n == NULL || n->type != XML_ELEMENT_NODE)
		return NULL;
	a = xmlHasNsProp(n, SAML_XC(name), NULL);
	if (a == NULL || a->type != XML_ATTRIBUTE_NODE)
		return NULL;
	if (a->children == NULL)
		return "";
	if (a->children->type != XML_TEXT_NODE || a->children->next != NULL ||
	    a->children->content == NULL)
		return NULL;
	return (const char *)a->children->content;
}

/*
 * The text of a simple-content element: the concatenation of all its text
 * and CDATA children, comments skipped (SECURITY-CASES S23/S24, Duo 2018:
 * never read only the first text node).  An element, processing
 * instruction or entity reference child is an error (S24, OneUptime #2988).
 * @param out	returned-owned NUL-terminated text ("" if empty).
 * @return BK_OK, BK_E_INVAL (markup), BK_E_TOOBIG, BK_E_NOMEM.
 */
int
saml_xml_text(const xmlNode *n, char **out)
{
	struct bk_buf b;
	const xmlNode *k;
	int rv;

	*out = NULL;
	bk_buf_init(&b, SAML_TEXT_MAX);
	for (k = n->children; k != NULL; k = k->next) {
		switch (k->type) {
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			if (k->content == NULL)
				break;
			if ((rv = bk_buf_adds(&b, (const char *)k->content)) !=
			    BK_OK)
				goto out;
			break;
		case XML_COMMENT_NODE:
			break;
		default:
			rv = BK_E_INVAL;
			goto out;
		}
	}
	if ((*out = bk_buf_take(&b)) == NULL &&
	    (*out = bk_strdup("")) == NULL) {
		rv = BK_E_NOMEM;
		goto out;
	}
	rv = BK_OK;
 out:
	bk_buf_free(&b);
	return rv;
}

/** 1 if the text of n (as saml_xml_text() reads it) is exactly want. */
int
saml_xml_text_is(const xmlNode *n, const char *want)
{
	char *s;
	int eq;

	if (n == NULL || saml_xml_text(n, &s) != BK_OK)
		return 0;
	eq = strcmp(s, want) == 0;
	free(s);
	return eq;
}

/** 1 if n has any child other than a plain text node (strict values). */
int
saml_xml_has_markup(const xmlNode *n)
{
	const xmlNode *k;

	for (k = n->children; k != NULL; k = k->next)
		if (k->type != XML_TEXT_NODE)
			return 1;
	return 0;
}

static int
saml_xml_digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
saml_xml_mdays(int year, int mon)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return mon == 2 && leap ? 29 : days[mon - 1];
}

/*
 * Strict xs:dateTime in UTC: YYYY-MM-DDThh:mm:ss(.d{1,9})?Z, upper-case T
 * and Z only.  Offsets, lower-case z, missing seconds, out-of-range fields
 * and trailing bytes are refused (SECURITY-CASES P16: lasso's own parser
 * fails open).  Fractions are accepted (Salesforce sends milliseconds) and
 * truncated.
 * @return 0 and *out, or -1.
 */
int
saml_xml_time_parse(const char *s, time_t *out)
{
	struct tm tm;
	int y, mo, d, h, mi, se, i;
	time_t t;

	if (s == NULL || strlen(s) < 20)
		return -1;
	if (saml_xml_digits(s, 4, &y) || s[4] != '-' ||
	    saml_xml_digits(s + 5, 2, &mo) || s[7] != '-' ||
	    saml_xml_digits(s + 8, 2, &d) || s[10] != 'T' ||
	    saml_xml_digits(s + 11, 2, &h) || s[13] != ':' ||
	    saml_xml_digits(s + 14, 2, &mi) || s[16] != ':' ||
	    saml_xml_digits(s + 17, 2, &se))
		return -1;
	s += 19;
	if (*s == '.') {
		for (i = 1; s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == 1 || i > 10)
			return -1;
		s += i;
	}
	if (s[0] != 'Z' || s[1] != '\0')
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > saml_xml_mdays(y, mo) || h > 23 || mi > 59 || se > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*out = t;
	return 0;
}
