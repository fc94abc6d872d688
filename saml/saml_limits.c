/*
 * sso-broker: the cost bounds of a SAML message, checked before any
 * superlinear work.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Found by attack (issue 6): a 75 KB ACS post without a valid signature
 * held a worker for 12-25 s, because c14n costs grow with namespace
 * declarations in scope times nodes, and an exclusive-c14n PrefixList
 * multiplies that again.  libxml2 2.9.14's parser is itself quadratic in
 * the attributes of one start tag (the uniqueness check in
 * xmlParseStartTag2 and the property list append in SAX2 both scan what
 * came before; 2.12 replaced them by a hash), so a check after parsing
 * would come too late.  The bounds are therefore taken in three places,
 * each cheaper than what it protects:
 *
 *  1 saml_lim_prescan(), before libxml2 sees the bytes: no start tag has
 *    more than SAML_LIM_ATTRS_ELEM + SAML_LIM_NS_ELEM attributes and
 *    namespace declarations.  It only counts '=' outside quoted values in
 *    tags; comments, CDATA and PIs are skipped.  On the well-formed prefix
 *    of a document it agrees with libxml2, and saml_xml_parse() stops
 *    libxml2 at its first error, so the parser never reaches a tag that
 *    was not counted.  The input is UTF-8 (or ASCII) for this reason.
 *  2 saml_lim_hook(): SAX2 callbacks that wrap libxml2's own tree builder
 *    and check each element before its node is made: depth, nodes,
 *    attributes (per element and in all), namespace declarations (per
 *    element, in scope, in all).  The first limit hit stops the parser.
 *  3 saml_check_prefix_lists(), the first step of saml_verify.c on the
 *    tree: every exclusive-c14n InclusiveNamespaces PrefixList is short.
 *
 * With these, the c14n of the signed element costs at most about
 * nodes x (attributes + prefixes + in-scope declarations) x depth steps;
 * tests/unit/test_saml_cost.c measures the worst shapes.  Limits and
 * their rationale: docs/security.md.
 * Trust: the bytes and the tree are untrusted.
 */
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/SAX2.h>

#include "bk.h"
#include "saml_int.h"

#define ALG_EXC_C14N	"http://www.w3.org/2001/10/xml-exc-c14n#"
/* '=' signs allowed in one tag: attributes plus namespace declarations. */
#define SAML_LIM_TAG_EQ	(SAML_LIM_ATTRS_ELEM + SAML_LIM_NS_ELEM)

static int
saml_lim_set(struct saml_lim *l, int rv, const char *what, size_t max)
{
	if (l->rv == BK_OK) {
		l->rv = rv;
		snprintf(l->msg, sizeof(l->msg), "%s (limit %zu)", what, max);
	}
	return rv;
}

/* Past the end of the construct that starts at p ("<!--", "<?"...). */
static const char *
saml_lim_skip(const char *p, const char *end, const char *open,
    const char *close)
{
	size_t olen = strlen(open), clen = strlen(close);
	const char *q;

	if ((size_t)(end - p) < olen || memcmp(p, open, olen) != 0)
		return NULL;
	q = memmem(p + olen, (size_t)(end - p) - olen, close, clen);
	return q == NULL ? end : q + clen;
}

/* The bytes of a tag saml_lim_tag() stops at. */
static const unsigned char saml_lim_tag_stop[256] = {
	['"'] = 1, ['\''] = 1, ['='] = 1, ['>'] = 1,
};

/*
 * p is just after '<' of a tag: count '=' outside quotes up to '>'.  A
 * quoted value is skipped whole (memchr): it is most of a tag's bytes.
 */
static const char *
saml_lim_tag(const char *p, const char *end, size_t *eq)
{
	const char *q;

	for (*eq = 0; p < end; p++) {
		while (p < end && !saml_lim_tag_stop[(unsigned char)*p])
			p++;
		if (p == end)
			break;
		if (*p == '"' || *p == '\'') {
			if ((q = memchr(p + 1, *p, (size_t)(end - p - 1))) ==
			    NULL)
				return end;
			p = q;
		} else if (*p == '=')
			(*eq)++;
		else
			return p + 1;	/* '>' */
	}
	return end;
}

/**
 * Step 1: no start tag carries more than SAML_LIM_TAG_EQ attributes and
 * namespace declarations.  One pass over the bytes.
 * @return BK_OK or BK_E_SAML_XML_ATTRS (reason in l).
 */
int
saml_lim_prescan(const char *buf, size_t len, struct saml_lim *l)
{
	const char *p = buf, *end = buf + len, *q;
	size_t eq;

	while (p < end && (p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		/* Only "<!" and "<?" can open a comment, CDATA or a PI. */
		if (end - p > 1 && (p[1] == '!' || p[1] == '?') &&
		    ((q = saml_lim_skip(p, end, "<!--", "-->")) != NULL ||
		    (q = saml_lim_skip(p, end, "<![CDATA[", "]]>")) != NULL ||
		    (q = saml_lim_skip(p, end, "<?", "?>")) != NULL)) {
			p = q;
			continue;
		}
		p = saml_lim_tag(p + 1, end, &eq);
		if (eq > SAML_LIM_TAG_EQ)
			return saml_lim_set(l, BK_E_SAML_XML_ATTRS,
			    "an element has too many attributes and "
			    "namespace declarations", SAML_LIM_TAG_EQ);
	}
	return BK_OK;
}

static struct saml_lim *
saml_lim_of(void *ctx)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct saml_xml_state *st = ctxt->_private;

	return &st->lim;
}

/* One more node (element, comment, PI, CDATA section). */
static int
saml_lim_node(struct saml_lim *l)
{
	if (++l->nodes > SAML_LIM_NODES)
		return saml_lim_set(l, BK_E_SAML_XML_NODES, "too many nodes",
		    SAML_LIM_NODES);
	return BK_OK;
}

/* The one-rule checks of an element about to be built, in order. */
static int
saml_lim_element(struct saml_lim *l, size_t ns, size_t attrs)
{
	if (l->depth >= SAML_LIM_DEPTH)
		return saml_lim_set(l, BK_E_SAML_XML_DEPTH,
		    "elements nested too deeply", SAML_LIM_DEPTH);
	if (saml_lim_node(l) != BK_OK)
		return l->rv;
	if (attrs > SAML_LIM_ATTRS_ELEM)
		return saml_lim_set(l, BK_E_SAML_XML_ATTRS,
		    "too many attributes on one element", SAML_LIM_ATTRS_ELEM);
	if ((l->attrs += attrs) > SAML_LIM_ATTRS)
		return saml_lim_set(l, BK_E_SAML_XML_ATTRS_TOTAL,
		    "too many attributes", SAML_LIM_ATTRS);
	if (ns > SAML_LIM_NS_ELEM)
		return saml_lim_set(l, BK_E_SAML_XML_NS,
		    "too many namespace declarations on one element",
		    SAML_LIM_NS_ELEM);
	if (l->ns_scope + ns > SAML_LIM_NS_SCOPE)
		return saml_lim_set(l, BK_E_SAML_XML_NS_SCOPE,
		    "too many namespace declarations in scope",
		    SAML_LIM_NS_SCOPE);
	if ((l->ns_total += ns) > SAML_LIM_NS_TOTAL)
		return saml_lim_set(l, BK_E_SAML_XML_NS_TOTAL,
		    "too many namespace declarations", SAML_LIM_NS_TOTAL);
	l->ns_at[l->depth++] = ns;
	l->ns_scope += ns;
	return BK_OK;
}

static void
saml_lim_start(void *ctx, const xmlChar *local, const xmlChar *prefix,
    const xmlChar *uri, int nb_ns, const xmlChar **ns, int nb_attrs,
    int nb_def, const xmlChar **attrs)
{
	if (nb_ns < 0 || nb_attrs < 0 || saml_lim_element(saml_lim_of(ctx),
	    (size_t)nb_ns, (size_t)nb_attrs) != BK_OK) {
		xmlStopParser(ctx);
		return;
	}
	xmlSAX2StartElementNs(ctx, local, prefix, uri, nb_ns, ns, nb_attrs,
	    nb_def, attrs);
}

static void
saml_lim_end(void *ctx, const xmlChar *local, const xmlChar *prefix,
    const xmlChar *uri)
{
	struct saml_lim *l = saml_lim_of(ctx);

	if (l->depth > 0) {
		l->depth--;
		l->ns_scope -= l->ns_at[l->depth];
	}
	xmlSAX2EndElementNs(ctx, local, prefix, uri);
}

static void
saml_lim_comment(void *ctx, const xmlChar *value)
{
	if (saml_lim_node(saml_lim_of(ctx)) != BK_OK) {
		xmlStopParser(ctx);
		return;
	}
	xmlSAX2Comment(ctx, value);
}

static void
saml_lim_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
	if (saml_lim_node(saml_lim_of(ctx)) != BK_OK) {
		xmlStopParser(ctx);
		return;
	}
	xmlSAX2ProcessingInstruction(ctx, target, data);
}

static void
saml_lim_cdata(void *ctx, const xmlChar *value, int len)
{
	if (saml_lim_node(saml_lim_of(ctx)) != BK_OK) {
		xmlStopParser(ctx);
		return;
	}
	xmlSAX2CDataBlock(ctx, value, len);
}

/**
 * Step 2: route the tree builder's element, comment, PI and CDATA events
 * through the limit checks.  ctxt->_private must be a saml_xml_state.
 */
void
saml_lim_hook(xmlSAXHandler *sax)
{
	sax->startElementNs = saml_lim_start;
	sax->endElementNs = saml_lim_end;
	sax->comment = saml_lim_comment;
	sax->processingInstruction = saml_lim_pi;
	sax->cdataBlock = saml_lim_cdata;
}

/* 1 if the PrefixList value s is within both limits. */
static int
saml_lim_prefixes_ok(const char *s)
{
	size_t n = 0, len = strlen(s), i;

	if (len > SAML_LIM_PREFIX_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!strchr(" \t\r\n", s[i]) &&
		    (i == 0 || strchr(" \t\r\n", s[i - 1])))
			n++;
	return n <= SAML_LIM_PREFIXES;
}

/**
 * Step 3 (saml_verify.c step 4): every {exc-c14n}InclusiveNamespaces
 * PrefixList has at most SAML_LIM_PREFIX_LEN bytes and SAML_LIM_PREFIXES
 * prefixes; libxml2 searches the ancestors for each prefix at each node.
 * @return BK_OK or BK_E_SAML_PREFIX_LIST.
 */
int
saml_check_prefix_lists(struct saml_ctx *c)
{
	xmlNodePtr root = xmlDocGetRootElement(c->doc), n;
	xmlAttrPtr a;
	const char *v;

	for (n = root; n != NULL; n = saml_xml_walk_next(root, n)) {
		if (!saml_xml_is(n, ALG_EXC_C14N, "InclusiveNamespaces"))
			continue;
		a = xmlHasNsProp(n, SAML_XC("PrefixList"), NULL);
		v = saml_xml_attr(n, "PrefixList");
		if (a != NULL && (v == NULL || !saml_lim_prefixes_ok(v)))
			return saml_fail(c, BK_E_SAML_PREFIX_LIST,
			    "PrefixList over %d bytes or %d prefixes",
			    SAML_LIM_PREFIX_LEN, SAML_LIM_PREFIXES);
	}
	return BK_OK;
}
