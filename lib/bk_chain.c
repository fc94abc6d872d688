/*
 * sso-broker: the audit record chain: seals, epoch keys, verification.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Pure: no daemon state, no I/O but pread on a descriptor it is given.
 * The verifier walks lines in chain order (files oldest first) and keeps
 * only the last good record, so a file of any size takes constant memory.
 * The first failure is kept in v->bad; later lines are still parsed, but
 * only to see whether a missing seq turns up further on (a reordering).
 * Trust: lines are untrusted: parsed by jansson, duplicate keys refused,
 * every field's type and size checked before use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "chain.h"
#include "log.h"

#define BK_CHAIN_DUMP_FLAGS \
	(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)

void
bk_chain_key_step(struct bk_chain_key *k, unsigned long long to)
{
	unsigned char	 next[EVP_MAX_MD_SIZE];
	unsigned int	 n = 0;
	char		 msg[sizeof(BK_CHAIN_EVOLVE_LABEL) + 24];
	int		 len;

	while (k->epoch < to) {
		len = snprintf(msg, sizeof(msg), "%s%llu",
		    BK_CHAIN_EVOLVE_LABEL, k->epoch + 1);
		if (HMAC(EVP_sha256(), k->k, sizeof(k->k), (unsigned char *)msg,
		    (size_t)len, next, &n) == NULL || n != sizeof(k->k))
			bk_assert_fail(__FILE__, __LINE__, "HMAC-SHA256");
		memcpy(k->k, next, sizeof(k->k));
		k->epoch++;
	}
	OPENSSL_cleanse(next, sizeof(next));
}

void
bk_chain_key_cleanup(struct bk_chain_key *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

static int
bk_chain_unhex(const char *s, size_t n, unsigned char *out)
{
	size_t	 i;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		hi = OPENSSL_hexchar2int((unsigned char)s[2 * i]);
		lo = OPENSSL_hexchar2int((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return BK_E_INVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return BK_OK;
}

/* The state form: {"epoch":E,"key":"hex","start":S}. */
static int
bk_chain_key_parse_json(const char *text, size_t len, struct bk_chain_key *k)
{
	json_t		*o, *e, *s, *h;
	json_error_t	 err;
	int		 rv = BK_E_INVAL;

	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	e = json_object_get(o, "epoch");
	s = json_object_get(o, "start");
	h = json_object_get(o, "key");
	if (json_is_object(o) && json_object_size(o) == 3 &&
	    json_is_integer(e) && json_integer_value(e) >= 0 &&
	    json_is_integer(s) && json_integer_value(s) >= 0 &&
	    json_is_string(h) &&
	    json_string_length(h) == 2 * BK_CHAIN_KEY_LEN &&
	    bk_chain_unhex(json_string_value(h), BK_CHAIN_KEY_LEN,
	    k->k) == BK_OK) {
		k->epoch = (unsigned long long)json_integer_value(e);
		k->start = (long long)json_integer_value(s);
		rv = BK_OK;
	}
	json_decref(o);
	return rv;
}

int
bk_chain_key_parse(const char *text, size_t len, struct bk_chain_key *k)
{
	static const char ws[] = " \t\r\n";
	int	 rv;

	memset(k, 0, sizeof(*k));
	while (len > 0 && strchr(ws, text[0]) != NULL && text[0] != '\0') {
		text++;
		len--;
	}
	while (len > 0 && strchr(ws, text[len - 1]) != NULL &&
	    text[len - 1] != '\0')
		len--;
	if (len == 2 * BK_CHAIN_KEY_LEN)
		rv = bk_chain_unhex(text, BK_CHAIN_KEY_LEN, k->k);
	else if (len > 0 && text[0] == '{')
		rv = bk_chain_key_parse_json(text, len, k);
	else
		rv = BK_E_INVAL;
	if (rv != BK_OK)
		bk_chain_key_cleanup(k);
	return rv;
}

int
bk_chain_key_build(const struct bk_chain_key *k, char **out, size_t *len)
{
	char	 hex[2 * BK_CHAIN_KEY_LEN + 1];
	char	*s;
	int	 n;

	*out = NULL;
	if ((s = malloc(128 + sizeof(hex))) == NULL)
		return BK_E_NOMEM;
	bk_hex(k->k, sizeof(k->k), hex);
	n = snprintf(s, 128 + sizeof(hex),
	    "{\"epoch\":%llu,\"key\":\"%s\",\"start\":%lld}\n", k->epoch, hex,
	    k->start);
	OPENSSL_cleanse(hex, sizeof(hex));
	*out = s;
	*len = (size_t)n;
	return BK_OK;
}

int
bk_chain_key_load(const char *path, struct bk_chain_key *k)
{
	char		 buf[1024];
	struct stat	 st;
	ssize_t		 n;
	int		 fd, rv = BK_E_AUDIT_KEY;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		log_warn("audit: key_file %s", path);
		return BK_E_AUDIT_KEY;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0) {
		log_warnx("audit: key_file %s must be a regular file of mode "
		    "0600", path);
		close(fd);
		return BK_E_CONF_SECRET_PERM;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0 && bk_chain_key_parse(buf, (size_t)n, k) == BK_OK)
		rv = BK_OK;
	else
		log_warnx("audit: key_file %s holds no audit key", path);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rv;
}

int
bk_chain_key_save(const char *path, const struct bk_chain_key *k)
{
	char	*s = NULL;
	size_t	 n = 0;
	int	 e;

	if (bk_chain_key_build(k, &s, &n) != BK_OK)
		return ENOMEM;
	e = bk_file_replace(path, s, n, 0600);
	bk_freezero(s, n);
	return e;
}

int
bk_chain_seal(const struct bk_chain_key *k, const void *msg, size_t len,
    char out[BK_DIGEST_HEX + 1])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 n = 0;

	if (k == NULL) {
		bk_sha256_hex(msg, len, out);
		return BK_OK;
	}
	if (HMAC(EVP_sha256(), k->k, sizeof(k->k), msg, len, md, &n) == NULL ||
	    n != 32)
		return BK_E_INTERNAL;
	bk_hex(md, 32, out);
	OPENSSL_cleanse(md, sizeof(md));
	return BK_OK;
}

/* --- verification --- */

void
bk_chain_verify_init(struct bk_chain_verify *v, const struct bk_chain_key *k0)
{
	memset(v, 0, sizeof(*v));
	v->ok = 1;
	v->epoch = -1;
	v->max_epoch = -1;
	v->bad.epoch = -1;
	if (k0 != NULL) {
		v->keyed = 1;
		v->key = *k0;
		v->key_epoch0 = k0->epoch;
	}
}

int
bk_chain_verify_anchor(struct bk_chain_verify *v, const char *chain,
    unsigned long long seq, const char *hash, const char *source)
{
	struct bk_chain_anchor	*a;

	if (v->n_anchors >= BK_CHAIN_ANCHORS_MAX)
		return BK_E_TOOBIG;
	a = &v->anchors[v->n_anchors++];
	memset(a, 0, sizeof(*a));
	snprintf(a->chain, sizeof(a->chain), "%s", chain != NULL ? chain : "");
	a->seq = seq;
	snprintf(a->hash, sizeof(a->hash), "%s", hash);
	snprintf(a->source, sizeof(a->source), "%s", source);
	return BK_OK;
}

void
bk_chain_verify_cleanup(struct bk_chain_verify *v)
{
	bk_chain_key_cleanup(&v->key);
}

/* Record the first failure; always BK_E_AUDIT_CHAIN. */
static int
bk_chain_fail(struct bk_chain_verify *v, const char *file, size_t line,
    unsigned long long seq, long long epoch, const char *kind,
    const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static int
bk_chain_fail(struct bk_chain_verify *v, const char *file, size_t line,
    unsigned long long seq, long long epoch, const char *kind,
    const char *fmt, ...)
{
	va_list	 ap;

	if (!v->ok)
		return BK_E_AUDIT_CHAIN;
	v->ok = 0;
	snprintf(v->bad.file, sizeof(v->bad.file), "%s", file);
	v->bad.line = line;
	v->bad.seq = seq;
	v->bad.epoch = epoch;
	v->bad.kind = kind;
	va_start(ap, fmt);
	vsnprintf(v->bad.reason, sizeof(v->bad.reason), fmt, ap);
	va_end(ap);
	return BK_E_AUDIT_CHAIN;
}

/* The fields of one parsed record. */
struct bk_chain_rec {
	json_t			*o;
	char			 hash[BK_DIGEST_HEX + 1];
	const char		*prev, *chain;
	unsigned long long	 seq;
	long long		 epoch;		/* -1: unkeyed */
	int			 hmac;
};

static int
bk_chain_is_hex64(const char *s)
{
	size_t	 i;

	if (s == NULL || strlen(s) != BK_DIGEST_HEX)
		return 0;
	for (i = 0; i < BK_DIGEST_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return 1;
}

/* Parse and type-check; NULL on success, else what is wrong. */
static const char *
bk_chain_rec_parse(const char *line, size_t len, struct bk_chain_rec *r)
{
	json_error_t	 err;
	json_t		*seq, *ep;
	const char	*seal, *h;

	memset(r, 0, sizeof(*r));
	r->epoch = -1;
	if (line == NULL)
		return "the line is longer than any record";
	r->o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
	if (!json_is_object(r->o))
		return "the line is not a JSON object";
	h = json_string_value(json_object_get(r->o, "hash"));
	r->prev = json_string_value(json_object_get(r->o, "prev"));
	r->chain = json_string_value(json_object_get(r->o, "chain"));
	seq = json_object_get(r->o, "seq");
	if (!bk_chain_is_hex64(h) || !bk_chain_is_hex64(r->prev) ||
	    r->chain == NULL || r->chain[0] == '\0' ||
	    strlen(r->chain) > BK_CHAIN_ID_MAX || !json_is_integer(seq) ||
	    json_integer_value(seq) < 1)
		return "hash, prev, chain or seq is missing or malformed";
	memcpy(r->hash, h, sizeof(r->hash));
	r->seq = (unsigned long long)json_integer_value(seq);
	seal = json_string_value(json_object_get(r->o, "seal"));
	ep = json_object_get(r->o, "epoch");
	if (seal == NULL && json_object_get(r->o, "seal") != NULL)
		return "seal is not a string";
	if (seal == NULL || strcmp(seal, BK_CHAIN_SEAL_SHA) == 0) {
		if (ep != NULL)
			return "an unkeyed record carries an epoch";
		return NULL;
	}
	if (strcmp(seal, BK_CHAIN_SEAL_HMAC) != 0)
		return "unknown seal";
	if (!json_is_integer(ep) || json_integer_value(ep) < 0)
		return "a keyed record has no valid epoch";
	r->hmac = 1;
	r->epoch = (long long)json_integer_value(ep);
	return NULL;
}

/*
 * 1: the seal holds; 0: it does not (also when it cannot be computed: out
 * of memory fails closed); -1: not checked (no key, or the key given is of
 * a later epoch than the record's).
 */
static int
bk_chain_rec_seal_check(struct bk_chain_verify *v, struct bk_chain_rec *r)
{
	char	*canon, *msg, want[BK_DIGEST_HEX + 1];
	size_t	 clen;
	int	 ok = 0, rv;

	if (r->hmac && (!v->keyed || (unsigned long long)r->epoch <
	    v->key.epoch))
		return -1;
	if (r->hmac && (unsigned long long)r->epoch - v->key.epoch >
	    BK_CHAIN_EPOCH_JUMP_MAX)
		return 0;
	json_object_del(r->o, "hash");
	if ((canon = json_dumps(r->o, BK_CHAIN_DUMP_FLAGS)) == NULL)
		return 0;
	clen = strlen(canon);
	if ((msg = malloc(BK_DIGEST_HEX + 1 + clen)) != NULL) {
		memcpy(msg, r->prev, BK_DIGEST_HEX);
		msg[BK_DIGEST_HEX] = '\n';
		memcpy(msg + BK_DIGEST_HEX + 1, canon, clen);
		if (r->hmac && v->mac != NULL) {
			if ((rv = v->mac(v->mac_arg, (unsigned long long)
			    r->epoch, msg, BK_DIGEST_HEX + 1 + clen, want)) ==
			    BK_OK)
				ok = CRYPTO_memcmp(want, r->hash,
				    BK_DIGEST_HEX) == 0;
			else if (rv == BK_E_NOT_FOUND)
				ok = -1;
		} else {
			if (r->hmac)
				bk_chain_key_step(&v->key,
				    (unsigned long long)r->epoch);
			if (bk_chain_seal(r->hmac ? &v->key : NULL, msg,
			    BK_DIGEST_HEX + 1 + clen, want) == BK_OK)
				ok = CRYPTO_memcmp(want, r->hash,
				    BK_DIGEST_HEX) == 0;
		}
		free(msg);
	}
	free(canon);
	return ok;
}

/*
 * The link from the last good record.  *fresh: r starts a chain (the
 * first line read, which may continue a file not given, or a genesis).
 */
static int
bk_chain_link_check(struct bk_chain_verify *v, const struct bk_chain_rec *r,
    size_t lineno, int *fresh)
{
	*fresh = 1;
	if (!v->started)
		return BK_OK;
	if (r->seq == 1 && strcmp(r->prev, BK_CHAIN_GENESIS) == 0) {
		/* a chain begins anew only under a new random id */
		if (strcmp(r->chain, v->chain) != 0)
			return BK_OK;
		return bk_chain_fail(v, v->file, lineno, r->seq, r->epoch,
		    "reordered", "chain %s begins again (seq 1) after seq "
		    "%llu: files or records out of order", r->chain, v->seq);
	}
	*fresh = 0;
	if (strcmp(r->chain, v->chain) != 0)
		return bk_chain_fail(v, v->file, lineno, r->seq, r->epoch,
		    "forged", "record seq %llu names chain %s in the middle of "
		    "chain %s", r->seq, r->chain, v->chain);
	if (r->seq == v->seq + 1 && strcmp(r->prev, v->prev) == 0)
		return BK_OK;
	if (r->seq == v->seq + 1)
		return bk_chain_fail(v, v->last_file, v->last_line, v->seq,
		    v->epoch, "edited", "record seq %llu was rewritten: the "
		    "next record (%s line %zu) links to another hash%s", v->seq,
		    v->file, lineno, r->epoch < v->epoch ? "; it is of a later "
		    "epoch than the next record: re-sealed with a later key" :
		    "");
	if (r->seq > v->seq + 1) {
		v->miss_lo = v->seq + 1;
		v->miss_hi = r->seq - 1;
		return bk_chain_fail(v, v->file, lineno, v->seq + 1, r->epoch,
		    "removed", "records seq %llu to %llu are missing before "
		    "this line (seq %llu)", v->seq + 1, r->seq - 1, r->seq);
	}
	return bk_chain_fail(v, v->file, lineno, r->seq, r->epoch, "reordered",
	    "record seq %llu comes after seq %llu", r->seq, v->seq);
}

/* Keyed records: epochs never go back, and a keyed chain stays keyed. */
static int
bk_chain_epoch_check(struct bk_chain_verify *v, const struct bk_chain_rec *r,
    size_t lineno, int fresh)
{
	if (fresh || v->epoch < 0)
		return BK_OK;
	if (!r->hmac)
		return bk_chain_fail(v, v->file, lineno, r->seq, -1, "forged",
		    "record seq %llu is not keyed in a keyed chain (seal "
		    "downgraded)", r->seq);
	if (r->epoch < v->epoch)
		return bk_chain_fail(v, v->file, lineno, r->seq, r->epoch,
		    "forged", "record seq %llu is of epoch %lld, after a "
		    "record of epoch %lld", r->seq, r->epoch, v->epoch);
	return BK_OK;
}

static void
bk_chain_anchor_note(struct bk_chain_verify *v, const struct bk_chain_rec *r,
    size_t lineno)
{
	struct bk_chain_anchor	*a;
	size_t			 i;

	for (i = 0; i < v->n_anchors; i++) {
		a = &v->anchors[i];
		if (a->seq != r->seq || (a->chain[0] != '\0' &&
		    strcmp(a->chain, r->chain) != 0))
			continue;
		a->seen = 1;
		memcpy(a->seen_hash, r->hash, sizeof(a->seen_hash));
		snprintf(a->seen_chain, sizeof(a->seen_chain), "%s", r->chain);
		snprintf(a->seen_file, sizeof(a->seen_file), "%s", v->file);
		a->seen_line = lineno;
	}
}

/* After the first failure: does a missing seq turn up further on? */
static void
bk_chain_after(struct bk_chain_verify *v, size_t lineno, const char *line,
    size_t len)
{
	json_t			*o;
	json_error_t		 err;
	const char		*chain;
	unsigned long long	 seq;
	size_t			 n;

	if (v->miss_lo == 0 || line == NULL ||
	    (o = json_loadb(line, len, 0, &err)) == NULL)
		return;
	chain = json_string_value(json_object_get(o, "chain"));
	seq = (unsigned long long)json_integer_value(json_object_get(o, "seq"));
	if (chain != NULL && strcmp(chain, v->chain) == 0 &&
	    seq >= v->miss_lo && seq <= v->miss_hi) {
		v->bad.kind = "reordered";
		n = strlen(v->bad.reason);
		snprintf(v->bad.reason + n, sizeof(v->bad.reason) - n,
		    "; seq %llu is found later, at %s line %zu: reordered", seq,
		    v->file, lineno);
		v->miss_lo = v->miss_hi = 0;
	}
	json_decref(o);
}

static void
bk_chain_accept(struct bk_chain_verify *v, const struct bk_chain_rec *r,
    size_t lineno, int fresh, int seal)
{
	if (fresh)
		v->chains++;
	v->started = 1;
	memcpy(v->prev, r->hash, sizeof(v->prev));
	snprintf(v->chain, sizeof(v->chain), "%s", r->chain);
	v->seq = r->seq;
	v->epoch = r->epoch;
	memcpy(v->last_file, v->file, sizeof(v->last_file));
	v->last_line = lineno;
	v->records++;
	if (seal == 1 && r->hmac)
		v->seals_checked++;
	else if (seal == -1)
		v->seals_unchecked++;
	if (seal == 1 && r->hmac && r->epoch > v->max_epoch)
		v->max_epoch = r->epoch;
}

int
bk_chain_verify_line(struct bk_chain_verify *v, size_t lineno,
    const char *line, size_t len)
{
	struct bk_chain_rec	 r;
	const char		*why;
	int			 seal, fresh, rv;

	if (!v->ok) {
		bk_chain_after(v, lineno, line, len);
		return BK_E_AUDIT_CHAIN;
	}
	if ((why = bk_chain_rec_parse(line, len, &r)) != NULL) {
		rv = bk_chain_fail(v, v->file, lineno, v->started ? v->seq + 1 :
		    0, -1, "malformed", "%s", why);
		goto out;
	}
	if ((seal = bk_chain_rec_seal_check(v, &r)) == 0) {
		rv = bk_chain_fail(v, v->file, lineno, r.seq, r.epoch, "edited",
		    "record seq %llu: its seal does not match its content "
		    "(edited, or sealed with another key)", r.seq);
		goto out;
	}
	if ((rv = bk_chain_link_check(v, &r, lineno, &fresh)) != BK_OK ||
	    (rv = bk_chain_epoch_check(v, &r, lineno, fresh)) != BK_OK)
		goto out;
	bk_chain_anchor_note(v, &r, lineno);
	bk_chain_accept(v, &r, lineno, fresh, seal);
 out:
	json_decref(r.o);
	return rv;
}

/* An unterminated last line that does not parse: a record cut mid-way. */
static int
bk_chain_verify_tail(struct bk_chain_verify *v, size_t lineno,
    const struct bk_buf *cur)
{
	json_t		*o;
	json_error_t	 err;

	if (cur->len > BK_CHAIN_LINE_MAX)
		return bk_chain_verify_line(v, lineno, NULL, cur->len);
	if ((o = json_loadb(cur->data, cur->len, 0, &err)) == NULL) {
		v->partial_tail = 1;
		return BK_OK;
	}
	json_decref(o);
	return bk_chain_verify_line(v, lineno, cur->data, cur->len);
}

static void
bk_chain_verify_one(struct bk_chain_verify *v, size_t lineno,
    struct bk_buf *cur)
{
	if (cur->len > BK_CHAIN_LINE_MAX)
		(void)bk_chain_verify_line(v, lineno, NULL, cur->len);
	else
		(void)bk_chain_verify_line(v, lineno, cur->data ? cur->data :
		    "", cur->len);
	cur->len = 0;
}

int
bk_chain_verify_fd(struct bk_chain_verify *v, int fd, const char *file)
{
	char		 buf[65536];
	struct bk_buf	 cur;
	off_t		 off = 0;
	ssize_t		 n, i, start;
	size_t		 lineno = 0;

	snprintf(v->file, sizeof(v->file), "%s", file);
	v->files++;
	bk_buf_init(&cur, BK_CHAIN_LINE_MAX);
	for (;;) {
		n = pread(fd, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			bk_buf_free(&cur);
			return BK_E_IO;
		}
		if (n == 0)
			break;
		off += n;
		for (start = 0, i = 0; i < n; i++) {
			if (buf[i] != '\n')
				continue;
			if (bk_buf_add(&cur, buf + start,
			    (size_t)(i - start)) != BK_OK)
				cur.len = BK_CHAIN_LINE_MAX + 1;
			bk_chain_verify_one(v, ++lineno, &cur);
			start = i + 1;
		}
		if (start < n && bk_buf_add(&cur, buf + start,
		    (size_t)(n - start)) != BK_OK)
			cur.len = BK_CHAIN_LINE_MAX + 1;
	}
	if (cur.len > 0)
		(void)bk_chain_verify_tail(v, ++lineno, &cur);
	bk_buf_free(&cur);
	return BK_OK;
}

static int
bk_chain_anchor_check(struct bk_chain_verify *v,
    const struct bk_chain_anchor *a)
{
	int	 here = a->seen && (a->chain[0] != '\0' ||
	    strcmp(a->seen_chain, v->chain) == 0);

	if (here && strcmp(a->seen_hash, a->hash) != 0)
		return bk_chain_fail(v, a->seen_file, a->seen_line, a->seq, -1,
		    "edited", "record seq %llu is not the head anchored in %s "
		    "(hash %.16s..., anchored %.16s...)", a->seq, a->source,
		    a->seen_hash, a->hash);
	if (here)
		return BK_OK;
	if (a->chain[0] == '\0' || strcmp(a->chain, v->chain) == 0) {
		if (v->seq < a->seq)
			return bk_chain_fail(v, v->last_file, v->last_line + 1,
			    v->seq + 1, v->epoch, "cut", "records seq %llu to "
			    "%llu are cut off the end (the head anchored in %s "
			    "is seq %llu)", v->seq + 1, a->seq, a->source,
			    a->seq);
		return BK_OK;
	}
	return bk_chain_fail(v, v->last_file, v->last_line + 1, a->seq, -1,
	    "cut", "chain %s, anchored in %s at seq %llu, does not end these "
	    "files (last chain %s)", a->chain, a->source, a->seq,
	    v->chain[0] != '\0' ? v->chain : "none");
}

int
bk_chain_verify_end(struct bk_chain_verify *v)
{
	size_t	 i;

	for (i = 0; i < v->n_anchors && v->ok; i++)
		(void)bk_chain_anchor_check(v, &v->anchors[i]);
	return v->ok;
}

long long
bk_chain_verify_hold(const struct bk_chain_verify *v)
{
	long long	 e;

	if (!v->keyed || v->max_epoch < 0)
		return -1;
	if (v->ok || strcmp(v->bad.kind, "cut") == 0)
		return v->max_epoch;
	e = v->bad.epoch >= 0 ? v->bad.epoch : v->epoch;
	if (e < 0)
		return -1;
	return e - 1 < v->max_epoch ? e - 1 : v->max_epoch;
}

static const char *
bk_chain_seals_word(const struct bk_chain_verify *v)
{
	if (v->seals_checked + v->seals_unchecked == 0)
		return "unkeyed";
	if (v->seals_checked == 0)
		return "not_checked";
	return v->seals_unchecked > 0 ? "partly_checked" : "checked";
}

static json_t *
bk_chain_report_bad(const struct bk_chain_verify *v)
{
	if (v->ok)
		return json_null();
	return json_pack("{s:s, s:I, s:I, s:o, s:s, s:s}", "file", v->bad.file,
	    "line", (json_int_t)v->bad.line, "seq", (json_int_t)v->bad.seq,
	    "epoch", v->bad.epoch >= 0 ? json_integer(v->bad.epoch) :
	    json_null(), "kind", v->bad.kind, "reason", v->bad.reason);
}

static json_t *
bk_chain_report_anchors(const struct bk_chain_verify *v)
{
	const struct bk_chain_anchor	*a;
	json_t				*arr = json_array();
	size_t				 i;

	for (i = 0; arr != NULL && i < v->n_anchors; i++) {
		a = &v->anchors[i];
		json_array_append_new(arr, json_pack(
		    "{s:s, s:s, s:I, s:s, s:b}", "source", a->source,
		    "chain", a->chain, "seq", (json_int_t)a->seq, "hash",
		    a->hash, "found", a->seen &&
		    strcmp(a->seen_hash, a->hash) == 0));
	}
	return arr;
}

int
bk_chain_verify_report(const struct bk_chain_verify *v, const char *notes,
    char **out)
{
	long long	 hold = bk_chain_verify_hold(v);
	json_t		*o;

	*out = NULL;
	o = json_pack("{s:b, s:I, s:I, s:I, s:I, s:s, s:o, s:s, s:I, s:I, "
	    "s:o, s:o, s:o, s:{s:s, s:I, s:s, s:o}, s:o, s:b, s:s}",
	    "ok", v->ok, "records", (json_int_t)v->records,
	    "chains", (json_int_t)v->chains, "files", (json_int_t)v->files,
	    "first_bad_line", (json_int_t)(v->ok ? 0 : v->bad.line),
	    "reason", v->ok ? "" : v->bad.reason,
	    "first_bad", bk_chain_report_bad(v),
	    "seals", bk_chain_seals_word(v),
	    "seals_checked", (json_int_t)v->seals_checked,
	    "seals_unchecked", (json_int_t)v->seals_unchecked,
	    "key_epoch", v->keyed ? json_integer((json_int_t)v->key_epoch0) :
	    json_null(),
	    "seals_hold_through_epoch", hold >= 0 ? json_integer(hold) :
	    json_null(),
	    "untrusted_from_epoch", v->keyed && !v->ok && hold + 1 >= 0 &&
	    strcmp(v->bad.kind, "cut") != 0 ? json_integer(hold + 1) :
	    json_null(),
	    "head", "chain", v->chain, "seq", (json_int_t)v->seq, "hash",
	    v->started ? v->prev : "", "epoch", v->epoch >= 0 ?
	    json_integer(v->epoch) : json_null(),
	    "anchors", bk_chain_report_anchors(v),
	    "partial_tail", v->partial_tail, "notes", notes != NULL ? notes :
	    "");
	if (o == NULL)
		return BK_E_NOMEM;
	*out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return *out != NULL ? BK_OK : BK_E_NOMEM;
}
