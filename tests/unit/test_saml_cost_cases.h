/*
 * sso-broker: the rows of test_saml_cost.c (included once, by it only).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A fill function sizes a shape from the template's own counts (base) so
 * that it lands exactly on a limit (over = 0) or one past it (over = 1).
 * Trust: test-only inputs.
 */
#define SUBJECT_DEPTH	3	/* Response, Assertion, Subject */

struct lcase {
	const char *name;
	struct shape s;
	void	(*fill)(struct shape *, const struct counts *, int);
	int	 over;
	int	 expect;
};

struct ccase {
	const char *name;
	struct shape s;
	void	(*fill)(struct shape *, const struct counts *, int);
	int	 expect;
};

static void
fill_depth(struct shape *s, const struct counts *b, int over)
{
	(void)b;
	s->depth = s->elems = SAML_LIM_DEPTH - SUBJECT_DEPTH + over;
}

static void
fill_nodes(struct shape *s, const struct counts *b, int over)
{
	s->elems = SAML_LIM_NODES - (int)b->nodes + over;
}

static void
fill_attrs(struct shape *s, const struct counts *b, int over)
{
	int left = SAML_LIM_ATTRS - (int)b->attrs;

	s->attrs = 8;
	s->elems = left / 8;
	s->attrs0 = left % 8 + over;
}

static void
fill_ns_total(struct shape *s, const struct counts *b, int over)
{
	int left = SAML_LIM_NS_TOTAL - (int)b->ns_total;

	s->ns_elem = 8;
	s->elems = left / 8;
	s->ns_assert = left % 8 + over;
}

/* PrefixList of exactly SAML_LIM_PREFIX_LEN bytes (+ over). */
static void
fill_plist(struct shape *s, const struct counts *b, int over)
{
	static char buf[2][SAML_LIM_PREFIX_LEN + 2];

	(void)b;
	memset(buf[over], 'p', SAML_LIM_PREFIX_LEN + over);
	buf[over][SAML_LIM_PREFIX_LEN + over] = '\0';
	s->plist = buf[over];
}

/* Comments count as nodes too. */
static void
fill_comments(struct shape *s, const struct counts *b, int over)
{
	static char *raw[2];
	struct bk_buf x;
	char *xml, *at;
	int i;

	if (raw[over] == NULL) {
		xml = shape_xml(s);
		at = strstr(xml, "<saml:Subject>") + 14;
		bk_buf_init(&x, 1 << 20);
		assert_int_equal(bk_buf_add(&x, xml, (size_t)(at - xml)),
		    BK_OK);
		for (i = 0; i < SAML_LIM_NODES - (int)b->nodes + over; i++)
			add(&x, "<!--c-->");
		assert_int_equal(bk_buf_adds(&x, at), BK_OK);
		raw[over] = bk_buf_take(&x);
		free(xml);
	}
	s->raw = raw[over];
}

/*
 * A well-formedness error, then what libxml2 would still scan without
 * callbacks: 200 levels of 8 declarations, then 8,000 prefixed elements
 * that each search all 1,600 of them.  Stopping at the first error is
 * what keeps it cheap.
 */
static void
fill_error_then_scope(struct shape *s, const struct counts *b, int over)
{
	static char *raw;
	struct bk_buf x;
	int i, k;

	(void)b;
	(void)over;
	if (raw == NULL) {
		bk_buf_init(&x, 1 << 20);
		add(&x, "<samlp:Response xmlns:samlp=\"%s\"><a b=></a>",
		    SAML_NS_PROTO);
		for (i = 0; i < 200; i++) {
			add(&x, "<d");
			for (k = 0; k < 8; k++)
				add(&x, " xmlns:n%d_%d=\"u\"", i, k);
			add(&x, ">");
		}
		for (i = 0; i < 8000; i++)
			add(&x, "<n0_0:e/>");
		raw = bk_buf_take(&x);
	}
	s->raw = raw;
}

/* Every payload element with SAML_LIM_NS_SCOPE declarations in scope. */
#define WIDE	.ns_assert = 8, .wraps = 1, .wrap_ns = SAML_LIM_NS_SCOPE - 10

#define AT(n, sh, f, code) \
	{ n " at the limit", sh, f, 0, BK_E_SAML_SIG_INVALID }, \
	{ n " over the limit", sh, f, 1, code }

static const struct lcase limits[] = {
	AT("depth", { .elems = 0 }, fill_depth, BK_E_SAML_XML_DEPTH),
	AT("nodes", { .elems = 0 }, fill_nodes, BK_E_SAML_XML_NODES),
	AT("nodes as comments", { .elems = 0 }, fill_comments,
	    BK_E_SAML_XML_NODES),
	{ "attributes on one element at the limit",
	    { .elems = 1, .attrs = SAML_LIM_ATTRS_ELEM }, NULL, 0,
	    BK_E_SAML_SIG_INVALID },
	{ "attributes on one element over the limit",
	    { .elems = 1, .attrs = SAML_LIM_ATTRS_ELEM + 1 }, NULL, 0,
	    BK_E_SAML_XML_ATTRS },
	{ "attributes and declarations over the pre-scan",
	    { .elems = 1, .attrs = SAML_LIM_ATTRS_ELEM + 1,
	    .ns_elem = SAML_LIM_NS_ELEM }, NULL, 0, BK_E_SAML_XML_ATTRS },
	AT("attributes in all", { .elems = 0 }, fill_attrs,
	    BK_E_SAML_XML_ATTRS_TOTAL),
	{ "declarations on one element at the limit",
	    { .elems = 1, .ns_elem = SAML_LIM_NS_ELEM }, NULL, 0,
	    BK_E_SAML_SIG_INVALID },
	{ "declarations on one element over the limit",
	    { .elems = 1, .ns_elem = SAML_LIM_NS_ELEM + 1 }, NULL, 0,
	    BK_E_SAML_XML_NS },
	{ "declarations in scope at the limit", { .elems = 1, WIDE }, NULL,
	    0, BK_E_SAML_SIG_INVALID },
	{ "declarations in scope over the limit", { .elems = 1, WIDE,
	    .ns_elem = 1 }, NULL, 0, BK_E_SAML_XML_NS_SCOPE },
	AT("declarations in all", { .elems = 0 }, fill_ns_total,
	    BK_E_SAML_XML_NS_TOTAL),
	{ "PrefixList prefixes at the limit",
	    { .prefixes = SAML_LIM_PREFIXES }, NULL, 0,
	    BK_E_SAML_SIG_INVALID },
	{ "PrefixList prefixes over the limit",
	    { .prefixes = SAML_LIM_PREFIXES + 1 }, NULL, 0,
	    BK_E_SAML_PREFIX_LIST },
	AT("PrefixList bytes", { .elems = 1 }, fill_plist,
	    BK_E_SAML_PREFIX_LIST),
	{ "SignatureValue at the limit", { .sigvalue = SAML_LIM_SIGVALUE },
	    NULL, 0, BK_E_SAML_SIG_INVALID },
	{ "SignatureValue over the limit",
	    { .sigvalue = SAML_LIM_SIGVALUE + 1 }, NULL, 0,
	    BK_E_SAML_SIG_SHAPE },
	{ "DigestValue at the limit",
	    { .digestvalue = SAML_LIM_DIGESTVALUE }, NULL, 0,
	    BK_E_SAML_SIG_INVALID },
	{ "DigestValue over the limit",
	    { .digestvalue = SAML_LIM_DIGESTVALUE + 1 }, NULL, 0,
	    BK_E_SAML_SIG_SHAPE },
	{ "enveloped transform only (implicit inclusive c14n)",
	    { .elems = 1, .plain = 1 }, NULL, 0, BK_E_SAML_SIG_SHAPE },
	{ "two InclusiveNamespaces", { .prefixes = 1, .inc_twice = 1 }, NULL,
	    0, BK_E_SAML_SIG_SHAPE },
	{ "UTF-16 document", { .elems = 1, .utf16 = 1 }, NULL, 0,
	    BK_E_SAML_XML_ENCODING },
};

/*
 * The worst shapes within every limit (they fail at the signature, after
 * all of xmlsec's work, with both keys of the rollover tenant), then the
 * attack of issue 6 and shapes over the limits.  Sizes: all within the
 * 256 KiB SAMLResponse cap (shape_b64 checks).
 */
#define MAXN	(SAML_LIM_NODES - 40)

static const struct ccase costs[] = {
	{ "ns-x-nodes-inclusive-cm", { WIDE, .elems = MAXN,
	    .inc_cm = 1 }, NULL, BK_E_SAML_SIG_INVALID },
	{ "ns-x-nodes-prefixlist", { WIDE, .elems = MAXN,
	    .prefixes = SAML_LIM_PREFIXES, .attrs = 1 }, NULL,
	    BK_E_SAML_SIG_INVALID },
	{ "deep-chains", { WIDE, .elems = MAXN, .depth = SAML_LIM_DEPTH -
	    SUBJECT_DEPTH - 1 }, NULL, BK_E_SAML_SIG_INVALID },
	{ "many-attributes", { WIDE, .elems = (SAML_LIM_ATTRS - 64) / 16,
	    .attrs = 16, .prefixes = SAML_LIM_PREFIXES }, NULL,
	    BK_E_SAML_SIG_INVALID },
	{ "many-declarations", { .elems = (SAML_LIM_NS_TOTAL - 16) / 8,
	    .ns_elem = 8, .ns_assert = SAML_LIM_NS_SCOPE - 10, .attrs = 8 }, NULL,
	    BK_E_SAML_SIG_INVALID },
	{ "wide-flat-text", { WIDE, .elems = MAXN, .text = 70 },
	    NULL, BK_E_SAML_SIG_INVALID },
	{ "max-comments", { .elems = 0 }, fill_comments,
	    BK_E_SAML_SIG_INVALID },
	{ "huge-text", { .elems = 1, .text = 180000 }, NULL,
	    BK_E_SAML_SIG_INVALID },
	{ "many-references", { .elems = 1, .refs = 120 }, NULL,
	    BK_E_SAML_SIG_SHAPE },
	{ "huge-signaturevalue", { .elems = 1, .sigvalue = 180000 }, NULL,
	    BK_E_SAML_SIG_SHAPE },
	{ "error-then-scan", { .elems = 0 }, fill_error_then_scope,
	    BK_E_SAML_XML },
	{ "attack-1000ns-x-1000nodes", { .ns_assert = 1000, .elems = 1000 }, NULL, BK_E_SAML_XML_ATTRS },
	{ "attack-prefixlist-1000", { WIDE, .elems = MAXN, .prefixes = 1000 },
	    NULL, BK_E_SAML_PREFIX_LIST },
	{ "attack-16000-attributes", { .elems = 1, .attrs = 16000 }, NULL,
	    BK_E_SAML_XML_ATTRS },
	{ "attack-flat-10000-nodes", { .elems = 10000 }, NULL,
	    BK_E_SAML_XML_NODES },
	{ "attack-nesting-250", { .elems = 250, .depth = 250 }, NULL,
	    BK_E_SAML_XML_DEPTH },
};
