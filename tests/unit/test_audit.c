/*
 * sso-broker: unit tests for the audit writer (broker/audit.c) and the
 * UTF-8 cleaning it relies on (log_utf8 in lib/log.c).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Exact outputs for invalid and cut UTF-8; a record written whole or not
 * at all under a file-size limit, even when the writer is killed in the
 * middle of it (SIGXFSZ); a record after a damaged tail on its own
 * line; a rotation (move + audit_reopen) that a process forked earlier
 * follows, so the two files form one gapless chain; each line is exactly
 * jansson's canonical dump of itself (sorted keys) and its hash covers
 * that dump without the hash.  The chain module (lib/bk_chain.c): the
 * key evolution against values computed independently (Python hmac), a
 * keyed file whose every seal verifies from the initial key, and each kind
 * of damage named at its line.  Files live under a mkdtemp() directory
 * removed at the end.
 * Trust: none (test code).
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
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
#include "chain.h"
#include "log.h"

static char	 tdir[64];

static void
tpath(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", tdir, name);
}

static off_t
fsize(const char *path)
{
	struct stat	 st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static int
rec(struct audit *a, const char *user)
{
	struct audit_rec	 r;

	memset(&r, 0, sizeof(r));
	r.event = "assertion";
	r.outcome = "accepted";
	r.reason = "ok";
	r.user = user;
	return audit_write(a, &r);
}

/* A new audit file tdir/name holding one record. */
static struct audit *
start(const char *name, char *path, size_t len)
{
	struct audit	*a;

	tpath(path, len, name);
	assert_int_equal(audit_open(path, &a), BK_OK);
	assert_int_equal(rec(a, "alice@acme.example"), BK_OK);
	return a;
}

/* The file verifies as one chain of n records. */
static void
verify_n(struct audit *a, size_t n)
{
	struct audit_verify_result	 vr;

	assert_int_equal(audit_verify(a, &vr), BK_OK);
	assert_true(vr.ok);
	assert_int_equal(vr.records, n);
}

static void
test_utf8_table(void **state)
{
	static const struct {
		const char	*in;
		size_t		 max;
		const char	*out;
	} t[] = {
		{ "plain ascii", 64, "plain ascii" },
		{ "\xff\xfe", 64, "\\xff\\xfe" },
		{ "caf\xc3\xa9", 64, "caf\xc3\xa9" },
		{ "cut \xe2\x82", 64, "cut \\xe2\\x82" },	/* half a euro */
		{ "\xc0\xaf", 64, "\\xc0\\xaf" },		/* overlong / */
		{ "\xed\xa0\x80", 64, "\\xed\\xa0\\x80" },	/* surrogate */
		{ "\xf4\x90\x80\x80", 64, "\\xf4\\x90\\x80\\x80" },
		{ "\xf0\x9f\x98\x80!", 64, "\xf0\x9f\x98\x80!" },
		{ "\x80x", 64, "\\x80x" },
		/* cut on a character boundary, with "..." within max */
		{ "abcdefghijkl", 10, "abcdefg..." },
		{ "ab\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 10,
		    "ab\xe2\x82\xac..." },
		{ "\xff\xff\xff", 10, "\\xff..." },
		{ "", 10, "" },
	};
	size_t	 i;
	char	*s;

	(void)state;
	for (i = 0; i < BK_NELEM(t); i++) {
		s = log_utf8(t[i].in, t[i].max);
		assert_non_null(s);
		assert_string_equal(s, t[i].out);
		assert_true(strlen(s) <= t[i].max);
		free(s);
	}
}

/*
 * The line as written is byte for byte jansson's dump of it with sorted
 * keys (the writer serialises the record in two halves around "hash"),
 * and its hash is SHA-256(prev "\n" the same dump without "hash").
 */
static void
check_canonical(const char *line, char *prev)
{
	json_t		*o;
	json_error_t	 err;
	char		*dump, want[BK_DIGEST_HEX + 1];
	struct bk_buf	 b;
	const size_t	 flags = JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENSURE_ASCII;

	o = json_loads(line, JSON_REJECT_DUPLICATES, &err);
	assert_non_null(o);
	dump = json_dumps(o, flags);
	assert_string_equal(dump, line);
	free(dump);
	assert_string_equal(json_string_value(json_object_get(o, "prev")),
	    prev);
	memcpy(prev, json_string_value(json_object_get(o, "hash")),
	    BK_DIGEST_HEX + 1);
	json_object_del(o, "hash");
	dump = json_dumps(o, flags);
	bk_buf_init(&b, 1 << 20);
	assert_int_equal(bk_buf_adds(&b, json_string_value(json_object_get(o,
	    "prev"))), BK_OK);
	assert_int_equal(bk_buf_adds(&b, "\n"), BK_OK);
	assert_int_equal(bk_buf_adds(&b, dump), BK_OK);
	bk_sha256_hex(b.data, b.len, want);
	assert_string_equal(want, prev);
	bk_buf_free(&b);
	free(dump);
	json_decref(o);
}

static void
test_canonical_line(void **state)
{
	static const char *const odd[] = {
		"plain", "quote \" back\\slash / slash", "\t tab \r\n nl",
		"caf\xc3\xa9 \xf0\x9f\x98\x80", "\xff\xfe bad", "\x01\x1f\x7f",
		"\",\"hash\":\"0000\",\"", "}{][", "",
	};
	struct audit		*a;
	struct audit_rec	 r;
	char			 path[128], prev[BK_DIGEST_HEX + 1];
	char			*line;
	size_t			 i;

	(void)state;
	tpath(path, sizeof(path), "canon.jsonl");
	assert_int_equal(audit_open(path, &a), BK_OK);
	memset(prev, '0', BK_DIGEST_HEX);
	prev[BK_DIGEST_HEX] = '\0';
	for (i = 0; i < BK_NELEM(odd); i++) {
		memset(&r, 0, sizeof(r));
		r.event = "assertion";
		r.outcome = i % 2 ? "accepted" : "rejected";
		r.reason = odd[i];
		r.tenant = r.issuer = r.user = r.internal_id = odd[i];
		r.assertion_id = r.client_id = r.client_addr = odd[i];
		r.request_id = r.cert_fingerprint = r.detail = odd[i];
		if (i == 0)	/* only the fields that are always there */
			r.tenant = r.issuer = r.user = r.internal_id =
			    r.assertion_id = r.client_id = r.client_addr =
			    r.request_id = r.cert_fingerprint = r.detail = NULL;
		assert_int_equal(audit_write_line(a, &r, &line), BK_OK);
		check_canonical(line, prev);
		free(line);
	}
	verify_n(a, BK_NELEM(odd));
	audit_free(a);
}

static void
test_whole_or_nothing(void **state)
{
	struct audit			*a;
	struct rlimit			 rl, low;
	char				 path[128];
	off_t				 before, after;
	int				 rv, ready_low, ready_again;

	(void)state;
	a = start("fsize.jsonl", path, sizeof(path));
	before = fsize(path);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	low = rl;
	low.rlim_cur = (rlim_t)before + 10;	/* room for 10 bytes only */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
	rv = rec(a, "bob@acme.example");
	after = fsize(path);
	ready_low = audit_is_ready(a);
	setrlimit(RLIMIT_FSIZE, &rl);	/* before any assert prints */
	ready_again = audit_is_ready(a);
	assert_int_equal(rv, BK_E_AUDIT_WRITE);
	assert_int_equal(after, before);	/* the 10 bytes were cut back */
	assert_false(ready_low);
	assert_true(ready_again);
	assert_int_equal(rec(a, "carol@acme.example"), BK_OK);
	verify_n(a, 2);	/* seq 1, 2: no gap */
	audit_free(a);
}

/* A writer killed mid-record (SIGXFSZ, as before it was ignored). */
static void
test_owner_died_mid_write(void **state)
{
	struct audit			*a;
	struct rlimit			 rl;
	char				 path[128];
	off_t				 before;
	int				 st;
	pid_t				 pid;

	(void)state;
	a = start("died.jsonl", path, sizeof(path));
	before = fsize(path);
	if ((pid = fork()) == 0) {
		signal(SIGXFSZ, SIG_DFL);
		getrlimit(RLIMIT_FSIZE, &rl);
		rl.rlim_cur = (rlim_t)before + 10;
		setrlimit(RLIMIT_FSIZE, &rl);
		rec(a, "bob@acme.example");	/* dies inside, holding the lock */
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGXFSZ);
	assert_int_equal(fsize(path), before + 10);	/* its half record */
	assert_int_equal(rec(a, "carol@acme.example"), BK_OK);
	verify_n(a, 2);
	audit_free(a);
}

static void
test_damaged_tail(void **state)
{
	struct audit	*a;
	char		 path[128], buf[8192], *nl;
	json_t		*o;
	json_error_t	 err;
	ssize_t		 n;
	int		 fd;

	(void)state;
	a = start("tail.jsonl", path, sizeof(path));
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"half", 6), 6);
	close(fd);
	assert_int_equal(rec(a, "bob@acme.example"), BK_OK);
	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	/* the garbage keeps its line; the record has one of its own */
	nl = strstr(buf, "{\"half\n");
	assert_non_null(nl);
	o = json_loads(nl + 7, JSON_DISABLE_EOF_CHECK, &err);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "seq")), 2);
	json_decref(o);
	audit_free(a);
}

static void
test_rotation_followed(void **state)
{
	struct audit			*a;
	struct audit_verify_result	 vr;
	char				 path[128], old[128], c;
	int				 go[2], st;
	pid_t				 pid;

	(void)state;
	tpath(old, sizeof(old), "rot.jsonl.1");
	a = start("rot.jsonl", path, sizeof(path));
	assert_int_equal(pipe(go), 0);
	if ((pid = fork()) == 0) {
		/* an old worker: forked before the rotation */
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(rec(a, "bob@acme.example") == BK_OK ? 0 : 1);
	}
	close(go[0]);
	assert_int_equal(rename(path, old), 0);
	assert_int_equal(rec(a, "moved@acme.example"), BK_OK); /* before HUP */
	assert_int_equal(audit_reopen(a, NULL), BK_OK);
	assert_int_equal(write(go[1], "x", 1), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(rec(a, "carol@acme.example"), BK_OK);
	close(go[1]);
	assert_int_equal(audit_verify_path(old, &vr), BK_OK);
	assert_true(vr.ok);
	assert_int_equal(vr.records, 2);
	verify_n(a, 2);	/* the child's, then ours */
	/* a reopen with no rotation changes nothing */
	assert_int_equal(audit_reopen(a, NULL), BK_OK);
	assert_int_equal(rec(a, "dave@acme.example"), BK_OK);
	assert_int_equal(audit_verify(a, &vr), BK_OK);
	assert_true(vr.ok && vr.records == 3 && vr.chains == 1);
	audit_free(a);
}

/* --- the chain module: lib/bk_chain.c --- */

/* K_0 = 32 zero bytes; K_1, K_2 and a seal computed with Python's hmac. */
static void
test_chain_key_step(void **state)
{
	struct bk_chain_key	 k;
	char			 hex[2 * BK_CHAIN_KEY_LEN + 1], h[65];
	static const char	 msg[] = "00000000000000000000000000000000"
	    "00000000000000000000000000000000\n{\"a\":1}";

	(void)state;
	memset(&k, 0, sizeof(k));
	bk_chain_key_step(&k, 1);
	bk_hex(k.k, sizeof(k.k), hex);
	assert_string_equal(hex, "b297024c98fd27f435178e438a8717c6"
	    "08719021b35a718d1c3a8ff299521f1e");
	bk_chain_key_step(&k, 2);
	bk_hex(k.k, sizeof(k.k), hex);
	assert_string_equal(hex, "45ec28d514152615c30b5ea85a1fe757"
	    "9daf1993a9f4305eee67fc0705390082");
	assert_int_equal(k.epoch, 2);
	assert_int_equal(bk_chain_seal(&k, msg, sizeof(msg) - 1, h), BK_OK);
	assert_string_equal(h, "caeccb93f82abec2ada08d390afdbb03"
	    "e04110173ac985a6a131fc104742e62a");
	bk_chain_key_step(&k, 1);	/* never backwards */
	assert_int_equal(k.epoch, 2);
}

static void
test_chain_key_parse(void **state)
{
	struct bk_chain_key	 k, k2;
	char			*s;
	size_t			 n;

	(void)state;
	assert_int_equal(bk_chain_key_parse("  00112233445566778899aabbccddeeff"
	    "00112233445566778899AABBCCDDEEFF\n", 67, &k), BK_OK);
	assert_int_equal(k.epoch, 0);
	assert_int_equal(k.start, 0);
	assert_int_equal(k.k[31], 0xff);
	k.epoch = 7;
	k.start = 1700000000;
	assert_int_equal(bk_chain_key_build(&k, &s, &n), BK_OK);
	assert_int_equal(bk_chain_key_parse(s, n, &k2), BK_OK);
	assert_memory_equal(&k, &k2, sizeof(k));
	bk_freezero(s, n);
	assert_int_equal(bk_chain_key_parse("0011", 4, &k), BK_E_INVAL);
	assert_int_equal(bk_chain_key_parse("zz112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff", 64, &k), BK_E_INVAL);
	assert_int_equal(bk_chain_key_parse("{\"epoch\":-1,\"key\":\"00\","
	    "\"start\":0}", 33, &k), BK_E_INVAL);
}

/* A keyed file: audit_key_set, records, then every seal from K_0. */
static void
test_chain_keyed_file(void **state)
{
	struct bk_chain_verify	 v;
	struct bk_chain_key	 k0;
	struct audit		*a;
	char			 path[128], kpath[128], buf[256];
	int			 fd, i;
	ssize_t			 n;

	(void)state;
	memset(&k0, 0x5a, sizeof(k0));
	k0.epoch = 0;
	k0.start = 0;
	tpath(kpath, sizeof(kpath), "seal.key");
	bk_hex(k0.k, sizeof(k0.k), buf);
	fd = open(kpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, 64), 64);
	close(fd);
	tpath(path, sizeof(path), "seal.jsonl");
	assert_int_equal(audit_open(path, &a), BK_OK);
	assert_int_equal(audit_key_set(a, kpath, 3600), BK_OK);
	for (i = 0; i < 5; i++)
		assert_int_equal(rec(a, "alice@acme.example"), BK_OK);
	bk_chain_verify_init(&v, &k0);
	fd = open(path, O_RDONLY);
	assert_int_equal(bk_chain_verify_fd(&v, fd, path), BK_OK);
	close(fd);
	assert_true(bk_chain_verify_end(&v));
	assert_int_equal(v.records, 5);
	assert_int_equal(v.seals_checked, 5);
	assert_int_equal(bk_chain_verify_hold(&v), 0);
	bk_chain_verify_cleanup(&v);
	verify_n(a, 5);		/* and the broker's own check, with K_0 */
	audit_free(a);
	/* the key file now holds the state form, mode 0600 */
	fd = open(kpath, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0 && buf[0] == '{');
	assert_int_equal(fsize(kpath) > 0, 1);
}

/* The lines of seal.jsonl (test_chain_keyed_file), changed by the caller. */
static size_t
chain_lines(char lines[][4096], size_t max)
{
	char	 path[128];
	FILE	*f;
	size_t	 n = 0;

	tpath(path, sizeof(path), "seal.jsonl");
	f = fopen(path, "r");
	assert_non_null(f);
	while (n < max && fgets(lines[n], 4096, f) != NULL) {
		lines[n][strcspn(lines[n], "\n")] = '\0';
		n++;
	}
	fclose(f);
	return n;
}

/* Verify lines[0..n) with K_0 (0x5a...) and the head of the original. */
static const struct bk_chain_bad *
chain_check(struct bk_chain_verify *v, char lines[][4096], size_t n,
    const char *head_hash, unsigned long long head_seq)
{
	struct bk_chain_key	 k0;
	size_t			 i;

	memset(&k0, 0x5a, sizeof(k0));
	k0.epoch = 0;
	k0.start = 0;
	bk_chain_verify_init(v, &k0);
	if (head_hash != NULL)
		assert_int_equal(bk_chain_verify_anchor(v, "", head_seq,
		    head_hash, "test"), BK_OK);
	for (i = 0; i < n; i++)
		(void)bk_chain_verify_line(v, i + 1, lines[i],
		    strlen(lines[i]));
	(void)bk_chain_verify_end(v);
	bk_chain_verify_cleanup(v);
	return v->ok ? NULL : &v->bad;
}

static void
test_chain_damage_named(void **state)
{
	static char		 l[8][4096], c[8][4096], head[65];
	struct bk_chain_verify	 v;
	const struct bk_chain_bad *b;
	json_t			*o;
	json_error_t		 err;
	char			*p;
	size_t			 n;

	(void)state;
	n = chain_lines(l, 8);
	assert_int_equal(n, 5);
	o = json_loads(l[4], 0, &err);
	snprintf(head, sizeof(head), "%s",
	    json_string_value(json_object_get(o, "hash")));
	json_decref(o);
	assert_null(chain_check(&v, l, n, head, 5));
	/* edited: one character of line 3 */
	memcpy(c, l, sizeof(c));
	p = strstr(c[2], "alice");
	*p = 'A';
	b = chain_check(&v, c, n, NULL, 0);
	assert_non_null(b);
	assert_string_equal(b->kind, "edited");
	assert_int_equal(b->line, 3);
	assert_int_equal(b->epoch, 0);
	/* removed: line 2 */
	memcpy(c[0], l[0], 4096);
	memcpy(c[1], l[2], 4096 * 3);
	b = chain_check(&v, c, n - 1, NULL, 0);
	assert_string_equal(b->kind, "removed");
	assert_int_equal(b->line, 2);
	assert_int_equal(b->seq, 2);
	/* reordered: lines 3 and 4 swapped */
	memcpy(c, l, sizeof(c));
	memcpy(c[2], l[3], 4096);
	memcpy(c[3], l[2], 4096);
	b = chain_check(&v, c, n, NULL, 0);
	assert_string_equal(b->kind, "reordered");
	assert_int_equal(b->line, 3);
	/* cut: the last two, against the head */
	b = chain_check(&v, l, n - 2, head, 5);
	assert_string_equal(b->kind, "cut");
	assert_int_equal(b->seq, 4);
	assert_int_equal(b->line, 4);
	assert_int_equal(bk_chain_verify_hold(&v), 0);	/* what is left holds */
	/* not a record */
	memcpy(c, l, sizeof(c));
	snprintf(c[1], 4096, "{\"seq\":");
	b = chain_check(&v, c, n, NULL, 0);
	assert_string_equal(b->kind, "malformed");
	assert_int_equal(b->line, 2);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tdir, sizeof(tdir), "/tmp/bk-audit-XXXXXX");
	return mkdtemp(tdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	static const char *const names[] = { "fsize.jsonl", "died.jsonl",
	    "tail.jsonl", "rot.jsonl", "rot.jsonl.1", "canon.jsonl",
	    "seal.jsonl", "seal.key", "seal.key.tmp" };
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
		cmocka_unit_test(test_utf8_table),
		cmocka_unit_test(test_canonical_line),
		cmocka_unit_test(test_whole_or_nothing),
		cmocka_unit_test(test_owner_died_mid_write),
		cmocka_unit_test(test_damaged_tail),
		cmocka_unit_test(test_rotation_followed),
		cmocka_unit_test(test_chain_key_step),
		cmocka_unit_test(test_chain_key_parse),
		cmocka_unit_test(test_chain_keyed_file),
		cmocka_unit_test(test_chain_damage_named),
	};

	log_init("test_audit", 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
