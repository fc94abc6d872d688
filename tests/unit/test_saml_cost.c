/*
 * sso-broker: unit tests of the cost bounds before the signature (cmocka).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Issue 6: a 75 KB ACS post without a valid signature held a worker for
 * 12-25 s in canonicalization.  Three tables here, all on documents built
 * in C (a Response, an Assertion with a profile-shaped but worthless
 * Signature, a hostile payload in its Subject):
 *  - limits[]: each shape limit of saml_limits.c at its value passes (the
 *    input then fails later, at the signature) and one over gets the
 *    limit's own code;
 *  - costs[]: adversarial shapes within the 256 KiB SAMLResponse cap (many
 *    namespace declarations times many nodes, deep nesting, many
 *    attributes, long PrefixList, many References, wide flat trees, huge
 *    text) cost less than COST_MAX_MS of CPU time per verification
 *    (CLOCK_PROCESS_CPUTIME_ID, best of COST_RUNS), a generous bound that
 *    stays robust on a loaded machine and under the sanitizers; a real
 *    signed Response (the S11 corpus seed) is the reference, and every
 *    figure is printed;
 *  - the reference itself verifies and uses a small fraction of each limit.
 * SAML_DUMP_CORPUS=dir writes each costs[] input as a corpus seed
 * (tests/corpus/saml_response/3NNN-cost-*.b64), as test_saml.c does.
 * Trust: test-only keys and inputs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glob.h>
#include <cmocka.h>

#include <libxml/tree.h>

#include "bk.h"
#include "saml_int.h"

#ifndef KEYDIR
#define KEYDIR "tests/keys"
#endif
#define CORPUS	KEYDIR "/../corpus/saml_response"

#define NOW		((time_t)1767225600)	/* the corpus seeds' clock */
#define COST_MAX_MS	50.0
#define COST_RUNS	3
#define DS_NS		"xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\""
#define EXC		"http://www.w3.org/2001/10/xml-exc-c14n#"
#define INC		"http://www.w3.org/TR/2001/REC-xml-c14n-20010315"

static struct saml_tenant *T, *T_ROLL;
static double REF_MS, REF_ROLL_MS;

/* A hostile document: knobs for the payload and the Signature. */
struct shape {
	int	 ns_assert;	/* declarations p0.. on the Assertion */
	int	 ns_elem;	/* declarations q0.. on each payload element */
	int	 elems;		/* payload elements under Subject */
	int	 depth;		/* payload chains of this depth (0, 1: flat) */
	int	 attrs;		/* attributes of each payload element */
	int	 attrs0;	/* more attributes on the first one */
	int	 wraps;		/* wrapper elements around the payload */
	int	 wrap_ns;	/* declarations w<level>_.. on each wrapper */
	int	 text;		/* bytes of text in each payload leaf */
	int	 prefixes;	/* PrefixList of p0..: exc-c14n transform */
	int	 plain;		/* enveloped transform only (implicit c14n) */
	int	 inc_cm;	/* inclusive c14n for SignedInfo */
	int	 refs;		/* extra References */
	int	 inc_twice;	/* two InclusiveNamespaces */
	int	 sigvalue;	/* bytes of SignatureValue (0: 344) */
	int	 digestvalue;	/* bytes of DigestValue (0: 44) */
	const char *plist;	/* PrefixList text instead of prefixes */
	const char *raw;	/* a document instead of the template */
	int	 utf16;		/* encode as UTF-16LE with a BOM */
};

static void
add(struct bk_buf *b, const char *fmt, ...)
{
	va_list ap;
	char tmp[512];

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	assert_int_equal(bk_buf_adds(b, tmp), BK_OK);
}

static void
add_rep(struct bk_buf *b, char c, int n)
{
	for (; n > 0; n--)
		assert_int_equal(bk_buf_add(b, &c, 1), BK_OK);
}

/* The Transforms of one Reference. */
static void
shape_transforms(struct bk_buf *b, const struct shape *s)
{
	int i;

	add(b, "<ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/"
	    "2000/09/xmldsig#enveloped-signature\"/>");
	if (s->plain) {
		add(b, "</ds:Transforms>");
		return;
	}
	add(b, "<ds:Transform Algorithm=\"%s\">", EXC);
	if (s->prefixes > 0 || s->plist != NULL) {
		add(b, "<ec:InclusiveNamespaces xmlns:ec=\"%s\" PrefixList=\"",
		    EXC);
		if (s->plist != NULL)
			assert_int_equal(bk_buf_adds(b, s->plist), BK_OK);
		for (i = 0; s->plist == NULL && i < s->prefixes; i++)
			add(b, "%sp%d", i > 0 ? " " : "", i);
		add(b, "\"/>");
	}
	if (s->inc_twice)
		add(b, "<ec:InclusiveNamespaces xmlns:ec=\"%s\" "
		    "PrefixList=\"p0\"/>", EXC);
	add(b, "</ds:Transform></ds:Transforms>");
}

static void
shape_signature(struct bk_buf *b, const struct shape *s)
{
	int i;

	add(b, "<ds:Signature " DS_NS "><ds:SignedInfo>"
	    "<ds:CanonicalizationMethod Algorithm=\"%s\"/>"
	    "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/"
	    "xmldsig-more#rsa-sha256\"/>", s->inc_cm ? INC : EXC);
	for (i = 0; i <= s->refs; i++) {
		add(b, "<ds:Reference URI=\"#_a1\">");
		shape_transforms(b, s);
		add(b, "<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/"
		    "xmlenc#sha256\"/><ds:DigestValue>");
		add_rep(b, 'A', s->digestvalue ? s->digestvalue : 44);
		add(b, "</ds:DigestValue></ds:Reference>");
	}
	add(b, "</ds:SignedInfo><ds:SignatureValue>");
	add_rep(b, 'A', s->sigvalue ? s->sigvalue : 344);
	add(b, "</ds:SignatureValue></ds:Signature>");
}

/* One payload element's start tag: prefixed name, declarations, attrs. */
static void
shape_start(struct bk_buf *b, const struct shape *s, int i)
{
	int k, na = s->attrs + (i == 0 ? s->attrs0 : 0);

	if (s->ns_assert > 0)
		add(b, "<p%d:e", i % s->ns_assert);
	else
		add(b, "<saml:e");
	for (k = 0; k < s->ns_elem; k++)
		add(b, " xmlns:q%d=\"urn:q:%d\"", k, k);
	for (k = 0; k < na; k++)
		if (k < s->ns_assert)
			add(b, " p%d:a=\"v\"", k);
		else
			add(b, " a%d=\"v\"", k);
	add(b, ">");
}

static void
shape_end(struct bk_buf *b, const struct shape *s, int i)
{
	if (s->ns_assert > 0)
		add(b, "</p%d:e>", i % s->ns_assert);
	else
		add(b, "</saml:e>");
}

static void
shape_payload(struct bk_buf *b, const struct shape *s)
{
	int depth = s->depth > 1 ? s->depth : 1, i = 0, d, w, k;

	for (w = 0; w < s->wraps; w++) {
		add(b, "<saml:w");
		for (k = 0; k < s->wrap_ns; k++)
			add(b, " xmlns:w%d_%d=\"urn:w:%d:%d\"", w, k, w, k);
		add(b, ">");
	}
	while (i < s->elems) {
		for (d = 0; d < depth && i + d < s->elems; d++)
			shape_start(b, s, i + d);
		add_rep(b, 'x', s->text);
		while (d-- > 0)
			shape_end(b, s, i + d);
		i += depth;
	}
	for (w = 0; w < s->wraps; w++)
		add(b, "</saml:w>");
}

static char *
shape_xml(const struct shape *s)
{
	struct bk_buf b;
	int i;

	if (s->raw != NULL)
		return bk_strdup(s->raw);
	bk_buf_init(&b, 4 << 20);
	add(&b, "<samlp:Response xmlns:samlp=\"%s\" xmlns:saml=\"%s\" "
	    "ID=\"_r1\" Version=\"2.0\" IssueInstant=\"2026-01-01T00:00:00Z\">"
	    "<samlp:Status><samlp:StatusCode Value=\"%s\"/></samlp:Status>"
	    "<saml:Assertion ID=\"_a1\" Version=\"2.0\" "
	    "IssueInstant=\"2026-01-01T00:00:00Z\"", SAML_NS_PROTO,
	    SAML_NS_ASSERT, SAML_STATUS_SUCCESS);
	for (i = 0; i < s->ns_assert; i++)
		add(&b, " xmlns:p%d=\"urn:p:%d\"", i, i);
	add(&b, "><saml:Issuer>https://idp.test/sf</saml:Issuer>");
	shape_signature(&b, s);
	add(&b, "<saml:Subject>");
	shape_payload(&b, s);
	add(&b, "</saml:Subject></saml:Assertion></samlp:Response>");
	return bk_buf_take(&b);
}

/* The SAMLResponse form value of a shape (checked to be within the cap). */
static char *
shape_b64(const struct shape *s)
{
	char *xml = shape_xml(s), *out, *u;
	size_t i, n = strlen(xml);

	if (!s->utf16) {
		out = bk_b64_encode(xml, n);
	} else {
		u = calloc(2, n + 1);
		u[0] = (char)0xff;
		u[1] = (char)0xfe;
		for (i = 0; i < n; i++)
			u[2 + 2 * i] = xml[i];
		out = bk_b64_encode(u, 2 * n + 2);
		free(u);
	}
	free(xml);
	assert_non_null(out);
	assert_true(strlen(out) <= SAML_RESPONSE_MAX);
	return out;
}

/* Shape counters of a tree, as saml_limits.c counts them. */
struct counts {
	size_t	 depth, nodes, attrs_elem, attrs, ns_elem, ns_scope, ns_total;
};

static void
count_tree(xmlNodePtr n, size_t depth, size_t scope, struct counts *c)
{
	xmlAttrPtr a;
	xmlNsPtr ns;
	size_t na = 0, nn = 0;

	for (; n != NULL; n = n->next) {
		if (n->type == XML_TEXT_NODE)
			continue;
		c->nodes++;
		if (n->type != XML_ELEMENT_NODE)
			continue;
		for (a = n->properties, na = 0; a != NULL; a = a->next)
			na++;
		for (ns = n->nsDef, nn = 0; ns != NULL; ns = ns->next)
			nn++;
		c->depth = depth > c->depth ? depth : c->depth;
		c->attrs_elem = na > c->attrs_elem ? na : c->attrs_elem;
		c->ns_elem = nn > c->ns_elem ? nn : c->ns_elem;
		c->ns_scope = scope + nn > c->ns_scope ? scope + nn :
		    c->ns_scope;
		c->attrs += na;
		c->ns_total += nn;
		count_tree(n->children, depth + 1, scope + nn, c);
	}
}

static struct counts
count_xml(const char *xml)
{
	struct counts c;
	xmlDocPtr d = NULL;

	memset(&c, 0, sizeof(c));
	assert_int_equal(saml_xml_parse(xml, strlen(xml), 0, &d, NULL), BK_OK);
	count_tree(d->children, 1, 0, &c);
	xmlFreeDoc(d);
	return c;
}

/* The template's own counts, with no payload. */
static struct counts
base_counts(const struct shape *s)
{
	struct shape b = *s;
	struct counts c;
	char *xml;

	b.elems = 0;
	xml = shape_xml(&b);
	c = count_xml(xml);
	free(xml);
	return c;
}

static double
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Best CPU time of COST_RUNS verifications; *rv, *detail of the last. */
static double
verify_cost(struct saml_tenant *t, const char *b64, int *rv, char **detail)
{
	struct saml_result res;
	double best = 1e9, t0, dt;
	int i;

	*detail = NULL;
	for (i = 0; i < COST_RUNS; i++) {
		free(*detail);
		*detail = NULL;
		t0 = cpu_ms();
		*rv = saml_response_verify(t, b64, strlen(b64), NOW, &res,
		    detail);
		dt = cpu_ms() - t0;
		saml_result_cleanup(&res);
		best = dt < best ? dt : best;
	}
	return best;
}

#include "test_saml_cost_cases.h"

static void
run_limit(void **state)
{
	const struct lcase *lc = *state;
	struct shape s = lc->s;
	struct counts base;
	char *in, *detail = NULL;
	int rv;

	if (lc->fill != NULL) {
		base = base_counts(&s);
		lc->fill(&s, &base, lc->over);
	}
	in = shape_b64(&s);
	(void)verify_cost(T, in, &rv, &detail);
	if (rv != lc->expect)
		fail_msg("%s: got %d (%s), want %d (%s)", lc->name, rv,
		    detail != NULL ? detail : "-", lc->expect,
		    bk_strerror(lc->expect));
	free(detail);
	free(in);
}

static void
dump_seed(size_t n, const char *name, const char *in, int expect)
{
	const char *dir = getenv("SAML_DUMP_CORPUS");
	char path[512];
	FILE *f;

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%04zu-cost-%s.b64", dir, 3000 + n,
	    name);
	if ((f = fopen(path, "w")) != NULL) {
		fputs(in, f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/%04zu-cost-%s.b64.expect", dir,
	    3000 + n, name);
	if ((f = fopen(path, "w")) != NULL) {
		fprintf(f, "expect: %s\nkeywords: saml, cost, issue 6\n"
		    "origin: tests/unit/test_saml_cost.c shape \"%s\"\n",
		    bk_err_slug(expect), name);
		fclose(f);
	}
}

static void
run_cost(void **state)
{
	const struct ccase *cc = *state;
	struct shape s = cc->s;
	struct counts base;
	char *in, *detail = NULL;
	double ms;
	int rv;

	if (cc->fill != NULL) {
		base = base_counts(&s);
		cc->fill(&s, &base, 0);
	}
	in = shape_b64(&s);
	dump_seed((size_t)(cc - costs) + 1, cc->name, in, cc->expect);
	ms = verify_cost(T_ROLL, in, &rv, &detail);
	print_message("  %-28s %7zu B  %-28s %6.2f ms (reference %.2f)\n",
	    cc->name, strlen(in), bk_err_slug(rv), ms, REF_ROLL_MS);
	if (rv != cc->expect)
		fail_msg("%s: got %d (%s), want %s", cc->name, rv,
		    detail != NULL ? detail : "-", bk_err_slug(cc->expect));
	if (ms > COST_MAX_MS)
		fail_msg("%s: %.1f ms of CPU, bound %.0f ms", cc->name, ms,
		    COST_MAX_MS);
	free(detail);
	free(in);
}

static char *
read_reference(void)
{
	glob_t g;
	FILE *f;
	char *buf;
	long n;

	assert_int_equal(glob(CORPUS "/*-S11-positive-control.b64", 0, NULL,
	    &g), 0);
	f = fopen(g.gl_pathv[0], "r");
	globfree(&g);
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return buf;
}

/* The real signed Response verifies, and uses a fraction of each limit. */
static void
test_reference(void **state)
{
	char *in = read_reference(), *detail = NULL;
	unsigned char *xml;
	size_t len;
	struct counts c;
	int rv;

	(void)state;
	REF_MS = verify_cost(T, in, &rv, &detail);
	assert_int_equal(rv, BK_OK);
	REF_ROLL_MS = verify_cost(T_ROLL, in, &rv, &detail);
	assert_int_equal(rv, BK_OK);
	print_message("  reference: %.2f ms (one key), %.2f ms (two keys)\n",
	    REF_MS, REF_ROLL_MS);
	assert_int_equal(bk_b64_decode(in, strlen(in), SAML_RESPONSE_MAX, &xml,
	    &len), BK_OK);
	xml = realloc(xml, len + 1);
	xml[len] = '\0';
	c = count_xml((const char *)xml);
	assert_true(c.depth * 3 <= SAML_LIM_DEPTH);
	assert_true(c.nodes * 16 <= SAML_LIM_NODES);
	assert_true(c.attrs_elem * 2 <= SAML_LIM_ATTRS_ELEM);
	assert_true(c.attrs * 16 <= SAML_LIM_ATTRS);
	assert_true(c.ns_elem * 2 <= SAML_LIM_NS_ELEM);
	assert_true(c.ns_scope * 3 <= SAML_LIM_NS_SCOPE);
	assert_true(c.ns_total * 16 <= SAML_LIM_NS_TOTAL);
	free(xml);
	free(detail);
	free(in);
}

static void
tenant(const char *md, struct saml_tenant **t)
{
	struct saml_sp_params p;
	char *why = NULL;

	memset(&p, 0, sizeof(p));
	p.tenant_id = "acme";
	p.sp_entity_id = "https://broker.test/sp";
	p.acs_url = "https://broker.test/acs";
	p.sp_cert_path = KEYDIR "/sp.crt";
	p.idp_metadata_path = md;
	p.clock_skew = 60;
	if (saml_tenant_new(&p, t, &why) != BK_OK)
		fail_msg("tenant %s: %s", md, why);
}

static int
setup_all(void **state)
{
	(void)state;
	tenant(KEYDIR "/idp-metadata.xml", &T);
	tenant(KEYDIR "/idp-metadata-rollover.xml", &T_ROLL);
	return 0;
}

static int
teardown_all(void **state)
{
	(void)state;
	saml_tenant_free(T);
	saml_tenant_free(T_ROLL);
	return 0;
}

int
main(void)
{
	struct CMUnitTest *all;
	size_t i, n = 1 + BK_NELEM(limits) + BK_NELEM(costs), k = 0;
	int rv;

	if (saml_init() != BK_OK)
		return 1;
	all = calloc(n, sizeof(*all));
	all[k++] = (struct CMUnitTest)cmocka_unit_test(test_reference);
	for (i = 0; i < BK_NELEM(limits); i++, k++) {
		all[k].name = limits[i].name;
		all[k].test_func = run_limit;
		all[k].initial_state = (void *)(uintptr_t)&limits[i];
	}
	for (i = 0; i < BK_NELEM(costs); i++, k++) {
		all[k].name = costs[i].name;
		all[k].test_func = run_cost;
		all[k].initial_state = (void *)(uintptr_t)&costs[i];
	}
	rv = _cmocka_run_group_tests("saml_cost", all, n, setup_all,
	    teardown_all);
	free(all);
	saml_shutdown();
	return rv;
}
