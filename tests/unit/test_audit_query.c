/*
 * sso-broker: unit tests for the audit query filter and the file scan
 * (broker/audit_query.c).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Time bounds as an admin writes them (RFC 3339 with Z, fractions and
 * offsets, a date alone, epoch seconds) against exact milliseconds, and
 * the malformed ones refused; the matcher with and without its
 * precompiled '"key":value' texts giving the same answer on records with
 * escapes; the scan of a file and its rotated siblings newest first,
 * paged by cursor, skipping compressed siblings and junk lines.
 * Trust: none (test code).
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utime.h>

#include <cmocka.h>

#include "audit_query.h"
#include "bk.h"

static const struct {
	const char	*in;
	int		 until;
	long long	 ms;	/* -1: refused */
} time_cases[] = {
	{ "2026-12-03T08:00:00Z", 0, 1796284800000LL },
	{ "2026-12-03T08:00:00Z", 1, 1796284800999LL },
	{ "2026-12-03T08:00:00.25Z", 1, 1796284800250LL },
	{ "2026-12-03T09:00:00+01:00", 0, 1796284800000LL },
	{ "2026-12-03T07:30:00-00:30", 0, 1796284800000LL },
	{ "2026-12-03T08:00:00", 0, 1796284800000LL },
	{ "2026-12-03", 0, 1796256000000LL },
	{ "2026-12-03", 1, 1796342399999LL },
	{ "1796284800", 0, 1796284800000LL },
	{ "2026-02-30", 0, -1 },
	{ "2026-13-01", 0, -1 },
	{ "2026-12-03T25:00:00Z", 0, -1 },
	{ "2026-12-03T08:00:00+1:00", 0, -1 },
	{ "2026-12-03T08:00:00Zjunk", 0, -1 },
	{ "2026-12-3", 0, -1 },
	{ "yesterday", 0, -1 },
	{ "", 0, -1 },
	{ "26-12-03", 0, -1 },
};

static void
test_time_parse(void **state)
{
	const char	*why;
	long long	 ms;
	size_t		 i;
	int		 rv;

	(void)state;
	for (i = 0; i < BK_NELEM(time_cases); i++) {
		rv = audit_query_time_parse(time_cases[i].in,
		    time_cases[i].until, &ms, &why);
		if (time_cases[i].ms < 0) {
			if (rv == BK_OK)
				print_error("accepted: %s\n", time_cases[i].in);
			assert_int_equal(rv, BK_E_INVAL);
			continue;
		}
		if (rv != BK_OK || ms != time_cases[i].ms)
			print_error("%s: %d %lld\n", time_cases[i].in, rv, ms);
		assert_int_equal(rv, BK_OK);
		assert_true(ms == time_cases[i].ms);
	}
}

static const char rec_a[] =
	"{\"client_addr\":\"203.0.113.7\",\"event\":\"assertion\","
	"\"outcome\":\"rejected\",\"reason\":\"saml_replay\","
	"\"request_id\":\"r1\",\"seq\":1,\"tenant\":\"acme\","
	"\"time\":\"2026-12-03T08:00:00Z\",\"user\":\"Alice@Acme.example\"}";
/* jansson's escapes, as audit.c writes them: \uXXXX in upper case */
static const char rec_b[] =
	"{\"assertion_id\":\"_a\\\"q\\u00E9\",\"event\":\"config_reload\","
	"\"outcome\":\"accepted\",\"seq\":2,\"time\":\"2026-12-03T09:00:00Z\"}";

/* Every case twice: plain, and with the needles compiled. */
static void
match_both(struct audit_query *q, const char *rec, int want)
{
	assert_int_equal(audit_query_match(q, rec, strlen(rec)), want);
	assert_int_equal(audit_query_compile(q), BK_OK);
	assert_int_equal(audit_query_match(q, rec, strlen(rec)), want);
	audit_query_cleanup(q);
}

static void
test_match(void **state)
{
	struct audit_query	 q;
	const char		*why;

	(void)state;
	memset(&q, 0, sizeof(q));
	match_both(&q, rec_a, 1);
	q.user = "alice@acme.EXAMPLE";
	match_both(&q, rec_a, 1);
	q.outcome = "rejected";
	q.reason = "saml_replay";
	q.client = "203.0.113.7";
	q.request_id = "r1";
	q.tenant = "acme";
	match_both(&q, rec_a, 1);
	q.client = "203.0.113.70";
	match_both(&q, rec_a, 0);
	memset(&q, 0, sizeof(q));
	q.tenant = AUDIT_QUERY_NO_TENANT;
	match_both(&q, rec_a, 0);
	match_both(&q, rec_b, 1);
	q.tenant = NULL;
	q.assertion_id = "_a\"q\xc3\xa9";	/* as the writer escaped it */
	match_both(&q, rec_b, 1);
	q.assertion_id = "_a\"q";
	match_both(&q, rec_b, 0);
	memset(&q, 0, sizeof(q));
	assert_int_equal(audit_query_time_parse("2026-12-03T08:30:00Z", 0,
	    &q.since_ms, &why), BK_OK);
	match_both(&q, rec_a, 0);
	match_both(&q, rec_b, 1);
	assert_int_equal(audit_query_time_parse("2026-12-03", 1, &q.until_ms,
	    &why), BK_OK);
	match_both(&q, rec_b, 1);
	match_both(&q, "{\"event\":", 0);
}

struct sink {
	char	 seqs[256];
};

static int
sink_emit(const char *line, size_t len, void *arg)
{
	struct sink	*s = arg;
	const char	*p = strstr(line, "\"seq\":");
	char		 n[16];

	(void)len;
	assert_non_null(p);
	snprintf(n, sizeof(n), "%d,", atoi(p + 6));
	strncat(s->seqs, n, sizeof(s->seqs) - strlen(s->seqs) - 1);
	return 0;
}

static void
write_file(const char *path, int from, int to, time_t mtime)
{
	FILE		*fp = fopen(path, "w");
	struct utimbuf	 ut;
	int		 i;

	assert_non_null(fp);
	for (i = from; i <= to; i++)
		fprintf(fp, "{\"chain\":\"c0ffee\",\"event\":\"%s\",\"seq\":%d,"
		    "\"time\":\"2026-12-03T08:00:00Z\"}\n", i % 2 ? "odd" :
		    "even", i);
	fputs("not a record\n", fp);
	fclose(fp);
	ut.actime = ut.modtime = mtime;
	assert_int_equal(utime(path, &ut), 0);
}

static void
rm_dir(const char *dir)
{
	static const char *const names[] = { "audit.jsonl", "audit.jsonl.1",
	    "audit.jsonl.2", "audit.jsonl.3.gz", "other.jsonl" };
	char	 p[256];
	size_t	 i;

	for (i = 0; i < BK_NELEM(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	assert_int_equal(rmdir(dir), 0);
}

static void
test_files_scan(void **state)
{
	char			 dir[] = "/tmp/bk-aq.XXXXXX", p[256], next[96];
	struct audit_query	 q;
	struct sink		 s;
	time_t			 now = time(NULL);

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/audit.jsonl.2", dir);
	write_file(p, 1, 3, now - 300);
	snprintf(p, sizeof(p), "%s/audit.jsonl.1", dir);
	write_file(p, 4, 6, now - 200);
	snprintf(p, sizeof(p), "%s/audit.jsonl.3.gz", dir);
	write_file(p, 100, 101, now - 400);	/* compressed: skipped */
	snprintf(p, sizeof(p), "%s/other.jsonl", dir);
	write_file(p, 200, 201, now - 100);	/* another name: not read */
	snprintf(p, sizeof(p), "%s/audit.jsonl", dir);
	write_file(p, 7, 9, now - 500);		/* the current one: last */
	memset(&q, 0, sizeof(q));
	memset(&s, 0, sizeof(s));
	assert_int_equal(audit_files_scan(p, &q, 1, NULL, 4, sink_emit, &s,
	    next), BK_OK);
	assert_string_equal(s.seqs, "9,8,7,6,");
	assert_string_equal(next, "c0ffee.6");
	memset(&s, 0, sizeof(s));
	assert_int_equal(audit_files_scan(p, &q, 1, "c0ffee.6", 4, sink_emit,
	    &s, next), BK_OK);
	assert_string_equal(s.seqs, "5,4,3,2,");
	assert_string_equal(next, "c0ffee.2");
	memset(&s, 0, sizeof(s));
	assert_int_equal(audit_files_scan(p, &q, 1, "c0ffee.2", 4, sink_emit,
	    &s, next), BK_OK);
	assert_string_equal(s.seqs, "1,");
	assert_string_equal(next, "");
	/* an export: file order, every match */
	q.event = "odd";
	assert_int_equal(audit_query_compile(&q), BK_OK);
	memset(&s, 0, sizeof(s));
	assert_int_equal(audit_files_scan(p, &q, 0, NULL, 0, sink_emit, &s,
	    next), BK_OK);
	assert_string_equal(s.seqs, "1,3,5,7,9,");
	/* with the needles, the cursor's record is still found */
	memset(&s, 0, sizeof(s));
	assert_int_equal(audit_files_scan(p, &q, 1, "c0ffee.8", 2, sink_emit,
	    &s, next), BK_OK);
	assert_string_equal(s.seqs, "7,5,");
	audit_query_cleanup(&q);
	assert_int_equal(audit_files_scan(p, &q, 1, "c0ffee.99", 2, sink_emit,
	    &s, next), BK_E_INVAL);
	assert_false(audit_file_cursor_is_valid("c0ffee"));
	assert_false(audit_file_cursor_is_valid("zz.1"));
	assert_true(audit_file_cursor_is_valid("c0ffee.12"));
	rm_dir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_files_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
