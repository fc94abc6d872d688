/*
 * sso-broker: unit tests for the audit's durability (issue 9 items 4, 5):
 * the end of broker/audit.c, broker/audit_sync.c, broker/audit_agg.c.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A half record left by a crash is cut at the next open and the chain goes
 * on and verifies; audit_sync_now() publishes the seq it flushed; the sync
 * thread flushes on a kick and makes its descriptor readable; the junk
 * table (which codes are counted), the per-key and per-broker allowances,
 * one counted record per key with count/first/last, the "other" bucket
 * once the table is full.  Files live under a mkdtemp() directory removed
 * at the end.
 * Trust: none (test code).
 */
#include <sys/stat.h>

#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "audit.h"
#include "bk.h"
#include "log.h"

static char	 tdir[64];

static void
tpath(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", tdir, name);
}

static int
rec(struct audit *a, const char *event, int rv)
{
	struct audit_rec	 r;

	memset(&r, 0, sizeof(r));
	r.event = event;
	r.outcome = rv == BK_OK ? "accepted" : "rejected";
	r.reason = bk_err_slug(rv);
	r.tenant = "acme";
	r.client_addr = "192.0.2.1";
	return audit_write(a, &r);
}

/* Every line of path parsed, in order (the caller frees the array). */
static json_t *
lines_of(const char *path)
{
	FILE	*fp = fopen(path, "r");
	json_t	*arr = json_array(), *o;
	char	 buf[65536];

	assert_non_null(fp);
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		o = json_loads(buf, 0, NULL);
		assert_non_null(o);
		json_array_append_new(arr, o);
	}
	fclose(fp);
	return arr;
}

static void
test_partial_record_cut_at_open(void **state)
{
	struct audit			*a;
	struct audit_verify_result	 res;
	char				 p[128];
	FILE				*fp;

	(void)state;
	tpath(p, sizeof(p), "cut.jsonl");
	assert_int_equal(audit_open(p, &a), BK_OK);
	assert_int_equal(rec(a, "assertion", BK_OK), BK_OK);
	assert_int_equal(rec(a, "code_issued", BK_OK), BK_OK);
	audit_free(a);
	/* a kill -9 of every process in the middle of the third record */
	assert_non_null(fp = fopen(p, "a"));
	fputs("{\"audit_version\":2,\"chain\":\"abc\",\"even", fp);
	fclose(fp);
	assert_int_equal(audit_open(p, &a), BK_OK);
	assert_int_equal(audit_seq(a), 2);
	assert_int_equal(audit_synced_seq(a), 2);
	assert_int_equal(rec(a, "assertion", BK_OK), BK_OK);
	assert_int_equal(audit_verify_path(p, &res), BK_OK);
	assert_true(res.ok);
	assert_int_equal(res.records, 3);
	assert_int_equal(res.chains, 1);
	audit_free(a);
}

static void
test_sync_publishes_seq(void **state)
{
	struct audit	*a;
	char		 p[128];

	(void)state;
	tpath(p, sizeof(p), "sync.jsonl");
	assert_int_equal(audit_open(p, &a), BK_OK);
	assert_int_equal(rec(a, "assertion", BK_OK), BK_OK);
	assert_int_equal(rec(a, "code_issued", BK_OK), BK_OK);
	assert_int_equal(audit_seq(a), 2);
	assert_true(audit_synced_seq(a) < 2);
	assert_int_equal(audit_sync_now(a), BK_OK);
	assert_int_equal(audit_synced_seq(a), 2);
	/* nothing new: no flush needed, still fine */
	assert_int_equal(audit_sync_now(a), BK_OK);
	audit_free(a);
}

static void
test_sync_thread(void **state)
{
	struct audit		*a;
	struct audit_sync	*s;
	struct pollfd		 pfd;
	char			 p[128];
	int			 i;

	(void)state;
	tpath(p, sizeof(p), "thread.jsonl");
	assert_int_equal(audit_open(p, &a), BK_OK);
	assert_non_null(s = audit_sync_new(a));
	for (i = 0; i < 5; i++)
		assert_int_equal(rec(a, "assertion", BK_OK), BK_OK);
	audit_sync_kick(s);
	audit_sync_kick(s);	/* coalesces */
	pfd.fd = audit_sync_fd(s);
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(audit_sync_ack(s), BK_OK);
	assert_true(audit_synced_seq(a) >= 5);
	audit_sync_free(s);
	audit_free(a);
}

static void
test_junk_table(void **state)
{
	(void)state;
	/* before a verified signature: counted */
	assert_true(audit_agg_is_junk("assertion", BK_E_SAML_BASE64));
	assert_true(audit_agg_is_junk("assertion", BK_E_SAML_SIG_INVALID));
	assert_true(audit_agg_is_junk("assertion", BK_E_SAML_METHOD));
	assert_true(audit_agg_is_junk("assertion", BK_E_TENANT_UNKNOWN));
	assert_true(audit_agg_is_junk("id_token", BK_E_OIDC_STATE));
	/* a verified signature, or a decision: its own record */
	assert_false(audit_agg_is_junk("assertion", BK_OK));
	assert_false(audit_agg_is_junk("assertion", BK_E_SAML_AUDIENCE));
	assert_false(audit_agg_is_junk("assertion", BK_E_SAML_REPLAY));
	assert_false(audit_agg_is_junk("assertion", BK_E_POL_UNMAPPED));
	assert_false(audit_agg_is_junk("id_token", BK_E_OIDC_SIG_INVALID));
	assert_false(audit_agg_is_junk("consent", BK_E_HTTP_CSRF));
	assert_false(audit_agg_is_junk(NULL, BK_E_SAML_XML));
}

static void
test_agg_allowance_and_counts(void **state)
{
	struct audit			*a;
	struct audit_agg		*g;
	struct audit_verify_result	 res;
	json_t				*arr, *o;
	char				 p[128];
	int				 own = 0, i;
	time_t				 t0 = 1700000000;

	(void)state;
	tpath(p, sizeof(p), "agg.jsonl");
	assert_int_equal(audit_open(p, &a), BK_OK);
	assert_non_null(g = audit_agg_new(a, 60, 500));
	for (i = 0; i < 250 + 50; i++)
		own += audit_agg_add(g, "assertion", BK_E_SAML_XML, "acme",
		    "192.0.2.7", t0 + i / 100);
	assert_int_equal(own, 250);
	assert_int_equal(audit_agg_counted(g), 50);
	assert_int_equal(audit_agg_flush(g, NULL, NULL), BK_OK);
	arr = lines_of(p);
	assert_int_equal(json_array_size(arr), 1);
	o = json_array_get(arr, 0);
	assert_int_equal(json_integer_value(json_object_get(o, "count")), 50);
	assert_string_equal(json_string_value(json_object_get(o, "reason")),
	    "saml_xml");
	assert_string_equal(json_string_value(json_object_get(o,
	    "client_addr")), "192.0.2.7");
	assert_non_null(json_string_value(json_object_get(o, "first")));
	assert_non_null(json_string_value(json_object_get(o, "last")));
	json_decref(arr);
	/* a new interval: the key has its allowance again */
	assert_int_equal(audit_agg_add(g, "assertion", BK_E_SAML_XML, "acme",
	    "192.0.2.7", t0 + 3), 1);
	assert_int_equal(audit_verify_path(p, &res), BK_OK);
	assert_true(res.ok);
	audit_agg_free(g);
	audit_free(a);
}

static void
test_agg_broker_budget_and_other(void **state)
{
	struct audit		*a;
	struct audit_agg	*g;
	json_t			*arr, *o;
	char			 p[128], addr[64];
	int			 own = 0, i;
	time_t			 t0 = 1700000400;

	(void)state;
	tpath(p, sizeof(p), "budget.jsonl");
	assert_int_equal(audit_open(p, &a), BK_OK);
	assert_non_null(g = audit_agg_new(a, 60, 500));
	/* four keys of 250: the broker's 500 a minute are spent at half */
	for (i = 0; i < 4 * 250; i++) {
		snprintf(addr, sizeof(addr), "198.51.100.%d", i % 4);
		own += audit_agg_add(g, "assertion", BK_E_SAML_PARAM, NULL,
		    addr, t0);
	}
	assert_int_equal(own, 500);
	assert_int_equal(audit_agg_counted(g),
	    4 * 250 - 500);
	assert_int_equal(audit_agg_flush(g, NULL, NULL), BK_OK);
	audit_agg_free(g);
	/* many addresses in a new minute: 128 keys, then the "other" bucket */
	assert_non_null(g = audit_agg_new(a, 60, 500));
	for (i = 0, own = 0; i < 2 * AUDIT_AGG_MAX; i++) {
		snprintf(addr, sizeof(addr), "203.0.113.%d", i);
		own += audit_agg_add(g, "assertion", BK_E_SAML_PARAM, NULL,
		    addr, t0 + 60);
	}
	assert_int_equal(own, AUDIT_AGG_MAX);
	assert_int_equal(audit_agg_counted(g), AUDIT_AGG_MAX);
	assert_int_equal(audit_agg_flush(g, NULL, NULL), BK_OK);
	arr = lines_of(p);
	/* 4 counted records of the first minute, one "other" of the second */
	assert_int_equal(json_array_size(arr), 5);
	o = json_array_get(arr, 4);
	assert_string_equal(json_string_value(json_object_get(o,
	    "client_addr")), "other");
	assert_int_equal(json_integer_value(json_object_get(o, "count")),
	    AUDIT_AGG_MAX);
	json_decref(arr);
	audit_agg_free(g);
	audit_free(a);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tdir, sizeof(tdir), "/tmp/bk-durable-XXXXXX");
	return mkdtemp(tdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	static const char *const names[] = { "cut.jsonl", "sync.jsonl",
	    "thread.jsonl", "agg.jsonl", "budget.jsonl" };
	char	 p[128];
	size_t	 i;

	(void)state;
	for (i = 0; i < BK_NELEM(names); i++) {
		tpath(p, sizeof(p), names[i]);
		unlink(p);
	}
	return rmdir(tdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partial_record_cut_at_open),
		cmocka_unit_test(test_sync_publishes_seq),
		cmocka_unit_test(test_sync_thread),
		cmocka_unit_test(test_junk_table),
		cmocka_unit_test(test_agg_allowance_and_counts),
		cmocka_unit_test(test_agg_broker_budget_and_other),
	};

	log_init("test_audit_durable", 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
