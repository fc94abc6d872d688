/*
 * sso-broker: the audit's shared copy in Redis (store_audit.h): the
 * streams, their indexes, the chain heads, and the paged query.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Keys (each with its tenant's hash tag, so one script touches one slot):
 *   bk:v1:{T}:audit                 the stream, field "rec" = the line
 *   bk:v1:{T}:audit:u:<sha256>      per user (lower case): a stream whose
 *                                   entries carry the main entry's ID
 *   bk:v1:{T}:audit:r:<day>         hash request id -> "ID ID ..." of one
 *   bk:v1:{T}:audit:a:<day>         UTC day (days since 1970); assertion id
 *   bk:v1:{_broker}:audit:heads     hash chain -> "seq hash time"
 * T is the tenant, or STORE_AUDIT_BROKER for records without one.  The
 * stream's entry IDs are Redis' millisecond times, so a time range is an
 * XREVRANGE range, and the user index, having the same IDs, is read the
 * same way.  Retention: every append trims the stream and the user's
 * index by MINID (now - [audit] stream_retention days) and caps the
 * stream at [audit] stream_max entries; the index keys expire after the
 * retention.  The heads are a second, tiny script because they live in
 * the broker-wide slot (a Cluster would refuse one script over two
 * slots); both are sent without waiting, one after the other.
 * Trust: stream contents are untrusted (the caller parses every record);
 * the values put in keys are digests or numbers computed here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "bk.h"
#include "conf.h"
#include "log.h"
#include "store_audit.h"
#include "store_int.h"

#define STORE_AUDIT_DAY_MS	86400000LL
/* An id's index value stops growing here (IDs of one request, one day). */
#define STORE_AUDIT_IDS_MAX	"4096"

/*
 * Append one record.
 * KEYS: 1 stream, 2 user index ("" field when no user), 3 request-id day
 *       hash, 4 assertion-id day hash.
 * ARGV: 1 line, 2 MINID (ms), 3 stream cap, 4 index TTL (s), 5 "1" when
 *       KEYS[2] is used, 6 request id ("": none), 7 assertion id ("").
 * Returns the entry ID.  An index that cannot take the ID (a user index
 * whose last ID is later, after a clock step) is left as it is.
 */
const char store_lua_audit_append[] =
	"local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*',"
	    " 'rec', ARGV[1])\n"
	"redis.call('XTRIM', KEYS[1], 'MINID', '~', ARGV[2])\n"
	"if ARGV[5] == '1' then\n"
	"  pcall(redis.call, 'XADD', KEYS[2], 'MINID', '~', ARGV[2], id, 'i',"
	    " '')\n"
	"  redis.call('EXPIRE', KEYS[2], ARGV[4])\n"
	"end\n"
	"local function ix(k, f)\n"
	"  if f == '' then return end\n"
	"  local v = redis.call('HGET', k, f)\n"
	"  if not v then v = id elseif #v < " STORE_AUDIT_IDS_MAX " then\n"
	"    v = v .. ' ' .. id\n"
	"  else return end\n"
	"  redis.call('HSET', k, f, v)\n"
	"  redis.call('EXPIRE', k, ARGV[4])\n"
	"end\n"
	"ix(KEYS[3], ARGV[6])\n"
	"ix(KEYS[4], ARGV[7])\n"
	"return id\n";

/*
 * Raise a chain's head.
 * KEYS: 1 the heads hash.  ARGV: 1 chain, 2 seq, 3 "seq hash time",
 *       4 TTL (s).
 * Returns 1 if the head moved, 0 if the one kept is as high already.
 */
const char store_lua_audit_head[] =
	"local cur = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"if cur then\n"
	"  local s = tonumber(string.match(cur, '^(%d+) '))\n"
	"  if s and s >= tonumber(ARGV[2]) then return 0 end\n"
	"end\n"
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[4])\n"
	"return 1\n";

/*
 * One batch of a query, newest first.
 * KEYS: 1 stream; mode "u": 2 the user index; mode "h": 2.. the day
 *       hashes of a request or assertion id index.
 * ARGV: 1 mode ("s" the stream, "u", "h"), 2 the bound to start from,
 *       3 the bound to go to (XRANGE forms: "-", "+", "ID", "(ID"),
 *       4 count, 5 the id ("h"), 6 "d" newest first (XREVRANGE), "a"
 *       oldest first (XRANGE).
 * Returns {ID, record, ID, record, ...}; the record is "" when the entry
 * is gone (trimmed since the index named it).
 */
const char store_lua_audit_fetch[] =
	"local out = {}\n"
	"local function rec(id)\n"
	"  local e = redis.call('XRANGE', KEYS[1], id, id)\n"
	"  if e[1] and e[1][2][1] == 'rec' then return e[1][2][2] end\n"
	"  return ''\n"
	"end\n"
	"local n = tonumber(ARGV[4])\n"
	"local desc = ARGV[6] == 'd'\n"
	"local cmd = 'XRANGE'\n"
	"if desc then cmd = 'XREVRANGE' end\n"
	"if ARGV[1] == 's' then\n"
	"  for _, e in ipairs(redis.call(cmd, KEYS[1], ARGV[2], ARGV[3],"
	    " 'COUNT', n)) do\n"
	"    local r = ''\n"
	"    if e[2][1] == 'rec' then r = e[2][2] end\n"
	"    out[#out + 1] = e[1]; out[#out + 1] = r\n"
	"  end\n"
	"  return out\n"
	"end\n"
	"if ARGV[1] == 'u' then\n"
	"  for _, e in ipairs(redis.call(cmd, KEYS[2], ARGV[2], ARGV[3],"
	    " 'COUNT', n)) do\n"
	"    out[#out + 1] = e[1]; out[#out + 1] = rec(e[1])\n"
	"  end\n"
	"  return out\n"
	"end\n"
	"local function p(id)\n"
	"  local a, b = string.match(id, '^(%d+)-(%d+)$')\n"
	"  if not a then return nil end\n"
	"  return {tonumber(a), tonumber(b)}\n"
	"end\n"
	"local function lt(x, y)\n"
	"  return x[1] < y[1] or (x[1] == y[1] and x[2] < y[2])\n"
	"end\n"
	"local function b(v)\n"
	"  if v == '-' or v == '+' then return nil, false end\n"
	"  if string.sub(v, 1, 1) == '(' then return p(string.sub(v, 2)), true"
	    " end\n"
	"  return p(v), false\n"
	"end\n"
	"local up, ex = b(ARGV[2])\n"
	"local lo, lex = b(ARGV[3])\n"
	"if not desc then up, ex, lo, lex = lo, lex, up, ex end\n"
	"local ids = {}\n"
	"for i = 2, #KEYS do\n"
	"  local v = redis.call('HGET', KEYS[i], ARGV[5])\n"
	"  if v then\n"
	"    for id in string.gmatch(v, '%S+') do\n"
	"      local x = p(id)\n"
	"      if x and (not lo or lt(lo, x) or (not lex and not lt(x, lo)))"
	    " and (not up or lt(x, up) or (not ex and not lt(up, x))) then\n"
	"        ids[#ids + 1] = {x, id}\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"table.sort(ids, function(x, y)\n"
	"  if desc then return lt(y[1], x[1]) end\n"
	"  return lt(x[1], y[1])\n"
	"end)\n"
	"for i = 1, math.min(n, #ids) do\n"
	"  out[#out + 1] = ids[i][2]; out[#out + 1] = rec(ids[i][2])\n"
	"end\n"
	"return out\n";

static long long
store_audit_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An index key: digest of the value (user: lower case), or a day. */
static char *
store_audit_key(const char *tenant, const char *kind, const char *val,
    long long day)
{
	char	 d[BK_DIGEST_HEX + 1], sfx[80], *low;
	size_t	 i, n;

	if (tenant == NULL)
		tenant = STORE_AUDIT_BROKER;
	if (val == NULL) {
		snprintf(sfx, sizeof(sfx), "%s:%lld", kind, day);
		return store_key(tenant, "audit", sfx);
	}
	n = strlen(val);
	if ((low = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		low[i] = (val[i] >= 'A' && val[i] <= 'Z') ? val[i] + 32 :
		    val[i];
	low[n] = '\0';
	bk_sha256_hex(low, n, d);
	free(low);
	snprintf(sfx, sizeof(sfx), "%s:%s", kind, d);
	return store_key(tenant, "audit", sfx);
}

/* The head script: raise the chain's head to (seq, hash). */
static void
store_audit_head_send(struct store *s, const struct store_audit_meta *m,
    long long ttl)
{
	const char	*args[5];
	char		*key, head[256], sq[32], tl[32], t[32];

	if (m->chain == NULL || *m->chain == '\0' || m->hash == NULL ||
	    *m->hash == '\0' || m->seq == 0)
		return;
	bk_time_fmt(time(NULL), t);
	snprintf(sq, sizeof(sq), "%llu", m->seq);
	snprintf(tl, sizeof(tl), "%lld", ttl);
	if ((size_t)snprintf(head, sizeof(head), "%s %s %s", sq, m->hash, t) >=
	    sizeof(head) || (key = store_key(STORE_AUDIT_BROKER, "audit",
	    "heads")) == NULL)
		return;
	args[0] = key;
	args[1] = m->chain;
	args[2] = sq;
	args[3] = head;
	args[4] = tl;
	(void)store_eval(s, NULL, NULL, store_lua_audit_head, 1, 5, args,
	    NULL);
	free(key);
}

void
store_audit_append_meta(struct store *s, const char *tenant,
    const char *line, const struct store_audit_meta *m)
{
	const char	*args[11], *user = m->user != NULL ? m->user : "";
	char		*k[4] = { NULL, NULL, NULL, NULL }, minid[32], cap[32],
			 ttl[32];
	long long	 now = store_audit_now_ms(), day, keep;
	size_t		 i;

	if (!store_is_up(s))
		return;
	day = now / STORE_AUDIT_DAY_MS;
	keep = (long long)s->conf->audit_stream_retention * 86400;
	k[0] = store_key(tenant != NULL ? tenant : STORE_AUDIT_BROKER, "audit",
	    NULL);
	k[1] = store_audit_key(tenant, "u", user, 0);
	k[2] = store_audit_key(tenant, "r", NULL, day);
	k[3] = store_audit_key(tenant, "a", NULL, day);
	if (k[0] == NULL || k[1] == NULL || k[2] == NULL || k[3] == NULL)
		goto out;
	snprintf(minid, sizeof(minid), "%lld", now - keep * 1000);
	snprintf(cap, sizeof(cap), "%d", s->conf->audit_stream_max);
	snprintf(ttl, sizeof(ttl), "%lld", keep + 86400);
	for (i = 0; i < 4; i++)
		args[i] = k[i];
	args[4] = line;
	args[5] = minid;
	args[6] = cap;
	args[7] = ttl;
	args[8] = *user != '\0' ? "1" : "0";
	args[9] = m->request_id != NULL ? m->request_id : "";
	args[10] = m->assertion_id != NULL ? m->assertion_id : "";
	(void)store_eval(s, NULL, NULL, store_lua_audit_append, 4, 11, args,
	    NULL);
	/* The heads are broker-wide: on the default store, not a tenant's. */
	store_audit_head_send(s->heads != NULL ? s->heads : s, m,
	    keep + 86400);
 out:
	for (i = 0; i < 4; i++)
		free(k[i]);
}

void
store_audit_append(struct store *s, const char *tenant, const char *line)
{
	struct store_audit_meta	 m;
	json_t			*o, *seq;
	json_error_t		 err;

	if (!store_is_up(s) ||
	    (o = json_loads(line, JSON_REJECT_DUPLICATES, &err)) == NULL)
		return;
	memset(&m, 0, sizeof(m));
	m.user = json_string_value(json_object_get(o, "user"));
	m.request_id = json_string_value(json_object_get(o, "request_id"));
	m.assertion_id = json_string_value(json_object_get(o,
	    "assertion_id"));
	m.chain = json_string_value(json_object_get(o, "chain"));
	m.hash = json_string_value(json_object_get(o, "hash"));
	seq = json_object_get(o, "seq");
	if (json_is_integer(seq) && json_integer_value(seq) > 0)
		m.seq = (unsigned long long)json_integer_value(seq);
	store_audit_append_meta(s, tenant, line, &m);
	json_decref(o);
}

/* --- the head --- */

struct store_audit_head_op {
	void	(*cb)(int, unsigned long long, const char *, void *);
	void	*arg;
};

static void
store_audit_head_cb(int rv, const struct store_reply *r, void *arg)
{
	struct store_audit_head_op *op = arg;
	const char	*v, *why;
	char		 buf[256], *sp, *hash = NULL;
	size_t		 len;
	long long	 seq = 0;

	if (rv == BK_OK && store_reply_type(r) == STORE_R_NIL)
		rv = BK_E_NOT_FOUND;
	else if (rv == BK_OK) {
		v = store_reply_str(r, &len);
		rv = BK_E_STORE_REPLY;
		if (v != NULL && len < sizeof(buf)) {
			memcpy(buf, v, len);
			buf[len] = '\0';
			/* "seq hash time"; Redis is untrusted: strictly */
			if ((sp = strchr(buf, ' ')) != NULL) {
				*sp = '\0';
				hash = sp + 1;
				if ((sp = strchr(hash, ' ')) != NULL)
					*sp = '\0';
				if (*hash != '\0' && bk_strtonum(buf, 0,
				    (1LL << 62), &seq, &why) == BK_OK)
					rv = BK_OK;
			}
		}
	}
	if (rv == BK_OK)
		op->cb(BK_OK, (unsigned long long)seq, hash, op->arg);
	else
		op->cb(rv, 0, NULL, op->arg);
	free(op);
}

void
store_audit_head_lookup(struct store *s, const char *chain,
    void (*cb)(int, unsigned long long, const char *, void *), void *arg)
{
	struct store_audit_head_op *op;
	const char	*argv[3];
	char		*key = NULL;
	int		 rv = BK_E_NOMEM;

	if ((op = calloc(1, sizeof(*op))) == NULL ||
	    (key = store_key(STORE_AUDIT_BROKER, "audit", "heads")) == NULL)
		goto out;
	op->cb = cb;
	op->arg = arg;
	argv[0] = "HGET";
	argv[1] = key;
	argv[2] = chain;
	rv = store_cmdv(s, store_audit_head_cb, op, 3, argv);
 out:
	free(key);
	if (rv != BK_OK) {
		free(op);
		cb(rv, 0, NULL, arg);
	}
}

/* --- the query --- */

/* A batch read per command: small, so Redis is never busy for long. */
#define STORE_AUDIT_BATCH	256
/* XREVRANGE IDs as text: "<ms>-<seq>" and an optional leading '('. */
#define STORE_AUDIT_ID_MAX	48
#define STORE_AUDIT_SEQ_MAX	"18446744073709551615"

/* One stream (a tenant's, or its index) and its batch. */
struct store_audit_src {
	char		 tenant[72];
	char		 from[STORE_AUDIT_ID_MAX + 2];	/* the next batch's */
	char		**ids, **recs;
	size_t		 n, pos;
	int		 exhausted;
	struct store_audit_op *op;
	struct store	*s;		/* the store of its tenant */
};

struct store_audit_op {
	struct store		*s;
	struct store_audit_q	 q;
	struct store_audit_src	*src;
	size_t			 nsrc;
	char			 to[STORE_AUDIT_ID_MAX];
	char			 cursor[STORE_AUDIT_ID_MAX + 80];
	size_t			 emitted, examined;
	int			 outstanding, rv, finished;
};

/* "<ms>-<seq>" into two numbers; -1 when s has another form. */
static int
store_audit_id_parse(const char *s, unsigned long long *ms,
    unsigned long long *seq)
{
	char	*end;

	if (*s < '0' || *s > '9')
		return -1;
	*ms = strtoull(s, &end, 10);
	if (*end != '-' || end[1] < '0' || end[1] > '9')
		return -1;
	*seq = strtoull(end + 1, &end, 10);
	return *end == '\0' ? 0 : -1;
}

/* a < b as stream IDs (both parse). */
static int
store_audit_id_lt(const char *a, const char *b)
{
	unsigned long long am, as, bm, bs;

	if (store_audit_id_parse(a, &am, &as) != 0 ||
	    store_audit_id_parse(b, &bm, &bs) != 0)
		return 0;
	return am < bm || (am == bm && as < bs);
}

int
store_audit_cursor_is_valid(const char *s)
{
	const char		*colon = strchr(s, ':'), *t;
	char			 id[STORE_AUDIT_ID_MAX];
	unsigned long long	 ms, seq;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(id))
		return 0;
	memcpy(id, s, (size_t)(colon - s));
	id[colon - s] = '\0';
	if (store_audit_id_parse(id, &ms, &seq) != 0)
		return 0;
	t = colon + 1;
	if (strcmp(t, STORE_AUDIT_BROKER) == 0)
		return 1;
	if (*t == '\0' || *t == '-' || strlen(t) > 63)
		return 0;
	return strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789-") ==
	    strlen(t);
}

static void
store_audit_src_clear(struct store_audit_src *c)
{
	size_t	 i;

	for (i = 0; i < c->n; i++) {
		free(c->ids[i]);
		free(c->recs[i]);
	}
	free(c->ids);
	free(c->recs);
	c->ids = c->recs = NULL;
	c->n = c->pos = 0;
}

static void
store_audit_op_free(struct store_audit_op *op)
{
	size_t	 i;

	for (i = 0; i < op->nsrc; i++)
		store_audit_src_clear(&op->src[i]);
	free(op->src);
	free(op);
}

/* Tell the caller, once; the op goes when no command is outstanding. */
static void
store_audit_finish(struct store_audit_op *op, int rv, const char *next)
{
	if (!op->finished) {
		op->finished = 1;
		op->q.done(rv, next, op->examined, op->q.arg);
	}
	if (op->outstanding == 0)
		store_audit_op_free(op);
}

static void store_audit_merge(struct store_audit_op *);

static char *
store_audit_strndup(const char *s, size_t n)
{
	char	*d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* Keep one batch: {ID, record, ...}.  BK_E_STORE_REPLY, BK_E_NOMEM. */
static int
store_audit_batch_take(struct store_audit_src *c, const struct store_reply *r,
    size_t want)
{
	const struct store_reply *e;
	const char	*v;
	size_t		 n, i, len;

	if (store_reply_type(r) != STORE_R_ARRAY ||
	    (n = store_reply_count(r)) % 2 != 0)
		return BK_E_STORE_REPLY;
	n /= 2;
	if (n > 0 && ((c->ids = calloc(n, sizeof(char *))) == NULL ||
	    (c->recs = calloc(n, sizeof(char *))) == NULL))
		return BK_E_NOMEM;
	for (i = 0; i < n; i++, c->n++) {
		e = store_reply_elem(r, 2 * i);
		if ((v = store_reply_str(e, &len)) == NULL ||
		    len >= STORE_AUDIT_ID_MAX - 1 ||
		    (c->ids[i] = store_audit_strndup(v, len)) == NULL)
			return v == NULL ? BK_E_STORE_REPLY : BK_E_NOMEM;
		c->recs[i] = NULL;
		e = store_reply_elem(r, 2 * i + 1);
		if ((v = store_reply_str(e, &len)) == NULL ||
		    (c->recs[i] = store_audit_strndup(v, len)) == NULL)
			return v == NULL ? BK_E_STORE_REPLY : BK_E_NOMEM;
	}
	/* The next batch starts past the last ID read. */
	if (n > 0)
		snprintf(c->from, sizeof(c->from), "(%s", c->ids[n - 1]);
	c->exhausted = n < want;
	return BK_OK;
}

static void
store_audit_fetch_cb(int rv, const struct store_reply *r, void *arg)
{
	struct store_audit_src	*c = arg;
	struct store_audit_op	*op = c->op;

	op->outstanding--;
	if (rv == BK_OK && !op->finished)
		rv = store_audit_batch_take(c, r, STORE_AUDIT_BATCH);
	if (rv != BK_OK && op->rv == BK_OK)
		op->rv = rv;
	if (op->finished || op->outstanding > 0) {
		if (op->finished && op->outstanding == 0)
			store_audit_op_free(op);
		return;
	}
	if (op->rv != BK_OK)
		store_audit_finish(op, op->rv, NULL);
	else
		store_audit_merge(op);
}

/* The keys of one source's batch: the stream, then the index. */
static int
store_audit_src_keys(struct store_audit_op *op, struct store_audit_src *c,
    char ***keys, int *nkeys)
{
	const struct store_audit_q *q = &op->q;
	long long	 now = store_audit_now_ms(), d0, d1, d;
	long long	 keep = (long long)op->s->conf->audit_stream_retention *
			    STORE_AUDIT_DAY_MS;
	const char	*kind = q->idx == STORE_AUDIT_IDX_REQUEST ? "r" : "a";
	int		 n = 1;

	d0 = (q->since_ms > now - keep ? q->since_ms : now - keep) /
	    STORE_AUDIT_DAY_MS - 1;
	d1 = (q->until_ms > 0 && q->until_ms < now ? q->until_ms : now) /
	    STORE_AUDIT_DAY_MS + 1;
	if (d1 < d0)
		d1 = d0;
	if ((*keys = calloc((size_t)(d1 - d0) + 3, sizeof(char *))) == NULL)
		return BK_E_NOMEM;
	(*keys)[0] = store_key(c->tenant, "audit", NULL);
	if (q->idx == STORE_AUDIT_IDX_USER)
		(*keys)[n++] = store_audit_key(c->tenant, "u", q->idx_val, 0);
	else if (q->idx != STORE_AUDIT_IDX_NONE)
		for (d = d0; d <= d1; d++)
			(*keys)[n++] = store_audit_key(c->tenant, kind, NULL,
			    d);
	*nkeys = n;
	while (n-- > 0)
		if ((*keys)[n] == NULL)
			return BK_E_NOMEM;
	return BK_OK;
}

/* Send one source's next batch. */
static int
store_audit_src_fetch(struct store_audit_op *op, struct store_audit_src *c)
{
	const struct store_audit_q *q = &op->q;
	char		**keys = NULL, cnt[16];
	const char	**args = NULL;
	int		 nkeys = 0, i, rv;

	if ((rv = store_audit_src_keys(op, c, &keys, &nkeys)) != BK_OK ||
	    (args = calloc((size_t)nkeys + 6, sizeof(char *))) == NULL) {
		rv = BK_E_NOMEM;
		goto out;
	}
	snprintf(cnt, sizeof(cnt), "%d", STORE_AUDIT_BATCH);
	for (i = 0; i < nkeys; i++)
		args[i] = keys[i];
	args[i++] = q->idx == STORE_AUDIT_IDX_NONE ? "s" :
	    q->idx == STORE_AUDIT_IDX_USER ? "u" : "h";
	args[i++] = c->from;
	args[i++] = op->to;
	args[i++] = cnt;
	args[i++] = q->idx_val != NULL ? q->idx_val : "";
	args[i++] = q->oldest_first ? "a" : "d";
	rv = store_eval(c->s, store_audit_fetch_cb, c, store_lua_audit_fetch,
	    nkeys, i, args, NULL);
	if (rv == BK_OK)
		op->outstanding++;
 out:
	if (keys != NULL)
		for (i = 0; i < nkeys; i++)
			free(keys[i]);
	free(keys);
	free(args);
	return rv;
}

/*
 * The source whose next entry comes first in the order of every page: ID
 * descending (ascending for oldest_first), then tenant ascending (the
 * cursor's tie-break; the sources are sorted by tenant).  NULL
 * when none has an entry left.  *refill set when a source must read its
 * next batch before the order is known.
 */
static struct store_audit_src *
store_audit_next_src(struct store_audit_op *op, int *refill)
{
	struct store_audit_src	*best = NULL, *c;
	size_t			 i;

	*refill = 0;
	for (i = 0; i < op->nsrc; i++) {
		c = &op->src[i];
		if (c->pos == c->n) {
			if (!c->exhausted) {
				*refill = 1;
				return NULL;
			}
			continue;
		}
		if (best == NULL || (op->q.oldest_first ?
		    store_audit_id_lt(c->ids[c->pos], best->ids[best->pos]) :
		    store_audit_id_lt(best->ids[best->pos], c->ids[c->pos])))
			best = c;
	}
	return best;
}

/* Read the batches every source needs; the last answer merges. */
static void
store_audit_refill(struct store_audit_op *op)
{
	struct store_audit_src	*c;
	size_t			 i;
	int			 rv;

	for (i = 0; i < op->nsrc; i++) {
		c = &op->src[i];
		if (c->pos < c->n || c->exhausted)
			continue;
		store_audit_src_clear(c);
		if ((rv = store_audit_src_fetch(op, c)) != BK_OK) {
			store_audit_finish(op, rv, NULL);
			return;
		}
	}
}

static void
store_audit_merge(struct store_audit_op *op)
{
	struct store_audit_src	*c;
	const char		*rec;
	int			 refill;

	for (;;) {
		if ((c = store_audit_next_src(op, &refill)) == NULL) {
			if (refill)
				store_audit_refill(op);
			else
				store_audit_finish(op, BK_OK, NULL);
			return;
		}
		if (op->emitted >= op->q.limit ||
		    op->examined >= op->q.budget) {
			store_audit_finish(op, BK_OK, op->cursor);
			return;
		}
		rec = c->recs[c->pos];
		op->examined++;
		snprintf(op->cursor, sizeof(op->cursor), "%s:%s",
		    c->ids[c->pos], c->tenant);
		c->pos++;
		if (*rec == '\0' || !op->q.match(rec, strlen(rec), op->q.arg))
			continue;
		op->emitted++;
		if (op->q.emit(rec, strlen(rec), op->q.arg) != 0) {
			store_audit_finish(op, BK_E_IO, NULL);
			return;
		}
	}
}

/*
 * Each source's first bound: the cursor (exclusive for tenants at or
 * before the cursor's, inclusive after it, as the order goes) or the end
 * of the time range, whichever comes later in the page's order.
 */
static void
store_audit_src_from(struct store_audit_op *op, struct store_audit_src *c,
    const char *cid, const char *ct)
{
	char	 t[STORE_AUDIT_ID_MAX];
	int	 asc = op->q.oldest_first;

	t[0] = '\0';
	if (!asc && op->q.until_ms > 0)
		snprintf(t, sizeof(t), "%lld-" STORE_AUDIT_SEQ_MAX,
		    op->q.until_ms);
	else if (asc && op->q.since_ms > 0)
		snprintf(t, sizeof(t), "%lld-0", op->q.since_ms);
	snprintf(c->from, sizeof(c->from), "%s", t[0] != '\0' ? t :
	    asc ? "-" : "+");
	if (cid == NULL || (t[0] != '\0' && (asc ? store_audit_id_lt(cid, t) :
	    store_audit_id_lt(t, cid))))
		return;
	snprintf(c->from, sizeof(c->from), "%s%s",
	    strcmp(c->tenant, ct) > 0 ? "" : "(", cid);
}

static int
store_audit_src_cmp(const void *a, const void *b)
{
	return strcmp(((const struct store_audit_src *)a)->tenant,
	    ((const struct store_audit_src *)b)->tenant);
}

void
store_audit_query(struct store *s, const struct store_audit_q *q)
{
	struct store_audit_op	*op;
	char			 cid[STORE_AUDIT_ID_MAX], *colon;
	const char		*ct = NULL;
	size_t			 i;

	if (q->before != NULL && !store_audit_cursor_is_valid(q->before)) {
		q->done(BK_E_INVAL, NULL, 0, q->arg);
		return;
	}
	if ((op = calloc(1, sizeof(*op))) == NULL || (op->src =
	    calloc(q->n_tenants ? q->n_tenants : 1, sizeof(*op->src))) ==
	    NULL) {
		free(op);
		q->done(BK_E_NOMEM, NULL, 0, q->arg);
		return;
	}
	op->s = s;
	op->q = *q;
	op->nsrc = q->n_tenants;
	if (q->before != NULL) {
		snprintf(cid, sizeof(cid), "%s", q->before);
		colon = strchr(cid, ':');
		*colon = '\0';
		ct = strchr(q->before, ':') + 1;
	}
	if (q->oldest_first)
		snprintf(op->to, sizeof(op->to), q->until_ms > 0 ?
		    "%lld-" STORE_AUDIT_SEQ_MAX : "+", q->until_ms);
	else
		snprintf(op->to, sizeof(op->to), q->since_ms > 0 ? "%lld-0" :
		    "-", q->since_ms);
	for (i = 0; i < op->nsrc; i++) {
		op->src[i].op = op;
		snprintf(op->src[i].tenant, sizeof(op->src[i].tenant), "%s",
		    q->tenants[i]);
		op->src[i].s = q->stores != NULL ? store_map_id(q->stores,
		    q->tenants[i]) : s;
	}
	qsort(op->src, op->nsrc, sizeof(*op->src), store_audit_src_cmp);
	for (i = 0; i < op->nsrc; i++)
		store_audit_src_from(op, &op->src[i], ct != NULL ? cid : NULL,
		    ct);
	store_audit_merge(op);
}
