/*
 * sso-broker: unit tests for broker/conf_proxy.c: [server]
 * trusted_proxies and the client address behind them.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The CIDR list's strict parse (with file:line messages), then a table of
 * peers and X-Forwarded-For / Forwarded values, hostile ones included:
 * forged hops left of the proxy's, junk, hidden nodes, unbalanced quotes,
 * oversized chains, headers that disagree, IPv4-mapped peers.  Each row
 * names the client expected and whether a note is expected.
 * Trust: none (test code).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bk.h"
#include "conf.h"

#define CONF_HEAD \
	"[server]\n" \
	"public_url = http://127.0.0.1:18080\n"
#define CONF_TAIL \
	"[audit]\n" \
	"path = /tmp/audit.jsonl\n" \
	"[admin]\n" \
	"token_file = /tmp/admin.token\n" \
	"[tenants]\n" \
	"dir = /tmp/tenants.d\n"

static struct conf *
proxy_conf(const char *list, char **errors)
{
	char		 buf[2048];
	struct conf	*c = NULL;

	*errors = NULL;
	snprintf(buf, sizeof(buf), "%s%s%s%s", CONF_HEAD,
	    list != NULL ? "trusted_proxies = " : "", list != NULL ? list : "",
	    list != NULL ? "\n" CONF_TAIL : CONF_TAIL);
	(void)conf_parse_string(buf, strlen(buf), "b.conf", &c, errors);
	return c;
}

static void
test_proxy_list(void **state)
{
	static const struct {
		const char	*list;
		const char	*err;	/* NULL: accepted */
	} rows[] = {
		{ "10.0.0.0/8", NULL },
		{ "10.0.0.1, 192.168.0.0/16 ,2001:db8::/32", NULL },
		{ "::1/128,127.0.0.1/32,0.0.0.0/0,::/0", NULL },
		{ "10.0.0.1/8", "b.conf:3: invalid trusted_proxies '10.0.0.1/8'"
		    ": the address has bits set beyond the prefix length" },
		{ "10.0.0.0/33", "b.conf:3: invalid trusted_proxies" },
		{ "2001:db8::/129", "b.conf:3: invalid trusted_proxies" },
		{ "10.0.0.0/", "b.conf:3: invalid trusted_proxies" },
		{ "10.0.0.0/+8", "b.conf:3: invalid trusted_proxies" },
		{ "10.0.0.0/08x", "b.conf:3: invalid trusted_proxies" },
		{ "10.0.0", "b.conf:3: invalid trusted_proxies" },
		{ "010.0.0.1", "b.conf:3: invalid trusted_proxies" },
		{ "lb.example.com", "b.conf:3: invalid trusted_proxies" },
		{ "::ffff:10.0.0.1", "b.conf:3: invalid trusted_proxies" },
		{ "fe80::1%eth0", "b.conf:3: invalid trusted_proxies" },
		{ "[::1]", "b.conf:3: invalid trusted_proxies" },
		{ "10.0.0.0/8,,10.1.0.0/16", "b.conf:3: invalid "
		    "trusted_proxies: empty" },
	};
	struct conf	*c;
	char		*errors;
	size_t		 i;

	(void)state;
	for (i = 0; i < BK_NELEM(rows); i++) {
		c = proxy_conf(rows[i].list, &errors);
		if (rows[i].err == NULL) {
			if (c == NULL)
				print_error("%s: %s\n", rows[i].list, errors);
			assert_non_null(c);
		} else {
			assert_null(c);
			assert_non_null(errors);
			if (strstr(errors, rows[i].err) == NULL)
				print_error("%s: got %s\n", rows[i].list,
				    errors);
			assert_non_null(strstr(errors, rows[i].err));
		}
		conf_free(c);
		free(errors);
	}
	/* Default: trust no one; the instance is the host name. */
	c = proxy_conf(NULL, &errors);
	assert_non_null(c);
	assert_int_equal(c->n_trusted_proxies, 0);
	assert_non_null(c->instance);
	assert_true(c->instance[0] != '\0');
	assert_false(conf_proxy_is_trusted(c, "127.0.0.1"));
	conf_free(c);
}

struct proxy_row {
	const char	*peer, *xff, *fwd;
	const char	*client;
	int		 note;
};

static const struct proxy_row proxy_rows[] = {
	/* an untrusted peer: headers never read */
	{ "203.0.113.9", "198.51.100.1", NULL, "203.0.113.9", 0 },
	{ "203.0.113.9", NULL, "for=198.51.100.1", "203.0.113.9", 0 },
	{ "203.0.113.9", "junk", "\"", "203.0.113.9", 0 },
	/* a trusted peer without a header: the peer */
	{ "10.0.0.5", NULL, NULL, "10.0.0.5", 0 },
	/* one hop */
	{ "10.0.0.5", "198.51.100.1", NULL, "198.51.100.1", 0 },
	{ "10.0.0.5", " 198.51.100.1 ", NULL, "198.51.100.1", 0 },
	{ "10.0.0.5", "198.51.100.1:4711", NULL, "198.51.100.1", 0 },
	{ "10.0.0.5", "2001:DB8::0:1", NULL, "2001:db8::1", 0 },
	{ "10.0.0.5", "[2001:db8::1]:443", NULL, "2001:db8::1", 0 },
	{ "10.0.0.5", "::ffff:198.51.100.1", NULL, "198.51.100.1", 0 },
	/* forged hops on the left are never read */
	{ "10.0.0.5", "1.1.1.1, 198.51.100.1", NULL, "198.51.100.1", 0 },
	{ "10.0.0.5", "junk, <script>, 198.51.100.1", NULL, "198.51.100.1",
	    0 },
	{ "10.0.0.5", "10.0.0.1, 198.51.100.1, 10.0.0.7, 10.0.0.6", NULL,
	    "198.51.100.1", 0 },
	/* every hop a trusted proxy: the leftmost */
	{ "10.0.0.5", "10.0.0.8, 10.0.0.9", NULL, "10.0.0.8", 0 },
	/* empty list elements are skipped (RFC 9110 5.6.1) */
	{ "10.0.0.5", "198.51.100.1,,", NULL, "198.51.100.1", 0 },
	/* malformed where it is read: the peer, noted */
	{ "10.0.0.5", "198.51.100.1, junk", NULL, "10.0.0.5", 1 },
	{ "10.0.0.5", "198.51.100.1 10.0.0.8", NULL, "10.0.0.5", 1 },
	{ "10.0.0.5", "198.51.100.1:99999", NULL, "10.0.0.5", 1 },
	{ "10.0.0.5", "198.51.100.1:", NULL, "10.0.0.5", 1 },
	{ "10.0.0.5", "fe80::1%eth0", NULL, "10.0.0.5", 1 },
	{ "10.0.0.5", "[2001:db8::1", NULL, "10.0.0.5", 1 },
	{ "10.0.0.5", "unknown", NULL, "10.0.0.5", 1 },
	{ "10.0.0.5", "", NULL, "10.0.0.5", 1 },
	{ "10.0.0.5", ",", NULL, "10.0.0.5", 1 },
	{ "10.0.0.5", "\x01", NULL, "10.0.0.5", 1 },
	{ "10.0.0.5", "198.51.100.1\r\nX-Evil: 1", NULL, "10.0.0.5", 1 },
	/* Forwarded (RFC 7239) */
	{ "10.0.0.5", NULL, "for=198.51.100.1", "198.51.100.1", 0 },
	{ "10.0.0.5", NULL, "For=\"198.51.100.1:80\";proto=https;by=10.0.0.5",
	    "198.51.100.1", 0 },
	{ "10.0.0.5", NULL, "for=\"[2001:db8:cafe::17]:4711\"",
	    "2001:db8:cafe::17", 0 },
	{ "10.0.0.5", NULL, "for=\"[2001:db8::17]\"", "2001:db8::17", 0 },
	{ "10.0.0.5", NULL, "for=\"\\[2001:db8::17\\]\"", "2001:db8::17", 0 },
	{ "10.0.0.5", NULL, "for=1.1.1.1, for=198.51.100.1;proto=http",
	    "198.51.100.1", 0 },
	{ "10.0.0.5", NULL, "for=198.51.100.1, for=10.0.0.9",
	    "198.51.100.1", 0 },
	{ "10.0.0.5", NULL, "for=\"198.51.100.1:_hidden\"", "198.51.100.1",
	    0 },
	/* hidden or malformed */
	{ "10.0.0.5", NULL, "for=unknown", "10.0.0.5", 1 },
	{ "10.0.0.5", NULL, "for=_gazonk", "10.0.0.5", 1 },
	{ "10.0.0.5", NULL, "proto=https", "10.0.0.5", 1 },
	{ "10.0.0.5", NULL, "for=2001:db8::1", "10.0.0.5", 1 },
	{ "10.0.0.5", NULL, "for=[2001:db8::1]", "10.0.0.5", 1 },
	{ "10.0.0.5", NULL, "for=\"198.51.100.1", "10.0.0.5", 1 },
	{ "10.0.0.5", NULL, "for=198.51.100.1;for=198.51.100.2", "10.0.0.5",
	    1 },
	{ "10.0.0.5", NULL, "for=198.51.100.1 junk", "10.0.0.5", 1 },
	{ "10.0.0.5", NULL, "for=", "10.0.0.5", 1 },
	{ "10.0.0.5", NULL, "=198.51.100.1", "10.0.0.5", 1 },
	{ "10.0.0.5", NULL, "for=\"198.51.100.1\x7f\"", "10.0.0.5", 1 },
	/* a break in the syntax hides the proxy's own element too */
	{ "10.0.0.5", NULL, "for=\"1.1.1.1, for=198.51.100.1", "10.0.0.5",
	    1 },
	/* both headers: they must agree */
	{ "10.0.0.5", "198.51.100.1", "for=198.51.100.1", "198.51.100.1",
	    0 },
	{ "10.0.0.5", "198.51.100.1", "for=1.1.1.1", "10.0.0.5", 1 },
	{ "10.0.0.5", "198.51.100.1", "junk", "10.0.0.5", 1 },
	/* IPv6 and IPv4-mapped peers */
	{ "::ffff:10.0.0.5", "198.51.100.1", NULL, "198.51.100.1", 0 },
	{ "2001:db8:ffff::1", "198.51.100.1", NULL, "198.51.100.1", 0 },
	{ "2001:db9::1", "198.51.100.1", NULL, "2001:db9::1", 0 },
	/* not an IP peer (a unix socket): as it is */
	{ "-", "198.51.100.1", NULL, "-", 0 },
};

static void
test_proxy_client(void **state)
{
	struct conf	*c;
	char		*errors, out[64];
	const char	*note;
	size_t		 i;
	int		 rv;

	(void)state;
	c = proxy_conf("10.0.0.0/8, 2001:db8:ffff::/48", &errors);
	assert_non_null(c);
	for (i = 0; i < BK_NELEM(proxy_rows); i++) {
		const struct proxy_row *r = &proxy_rows[i];

		rv = conf_proxy_client(c, r->peer, r->xff, r->fwd, out,
		    sizeof(out), &note);
		if (strcmp(out, r->client) != 0 || (note != NULL) != r->note)
			print_error("row %zu: peer %s xff %s fwd %s: got %s "
			    "(%s)\n", i, r->peer, r->xff ? r->xff : "-",
			    r->fwd ? r->fwd : "-", out, note ? note : "-");
		assert_string_equal(out, r->client);
		assert_int_equal(note != NULL, r->note);
		assert_int_equal(rv == BK_OK, !r->note);
	}
	conf_free(c);
}

/* A chain longer than the hops read, and the longest hop. */
static void
test_proxy_long(void **state)
{
	struct conf	*c;
	char		*errors, out[64], *h;
	const char	*note;
	size_t		 i, n = 0;

	(void)state;
	c = proxy_conf("10.0.0.0/8", &errors);
	assert_non_null(c);
	assert_non_null(h = malloc(100 * 16));
	for (i = 0; i < 100; i++)
		n += (size_t)snprintf(h + n, 16, "%s10.0.0.%zu", i ? "," : "",
		    i);
	assert_int_not_equal(conf_proxy_client(c, "10.0.0.5", h, NULL, out,
	    sizeof(out), &note), BK_OK);
	assert_string_equal(out, "10.0.0.5");
	assert_non_null(note);
	/* an address padded past any real hop */
	memset(h, '1', 200);
	h[200] = '\0';
	assert_int_not_equal(conf_proxy_client(c, "10.0.0.5", h, NULL, out,
	    sizeof(out), &note), BK_OK);
	free(h);
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proxy_list),
		cmocka_unit_test(test_proxy_client),
		cmocka_unit_test(test_proxy_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
