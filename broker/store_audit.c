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
 * ARGV: 1 mode ("s" the stream, "u", "h"), 2 upper bound (XREVRANGE
 *       form: "+", "ID" or "(ID"), 3 lower bound ("-" or "ID"), 4 count,
 *       5 the id ("h").
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
	"if ARGV[1] == 's' then\n"
	"  for _, e in ipairs(redis.call('XREVRANGE', KEYS[1], ARGV[2], ARGV[3],"
	    " 'COUNT', n)) do\n"
	"    local r = ''\n"
	"    if e[2][1] == 'rec' then r = e[2][2] end\n"
	"    out[#out + 1] = e[1]; out[#out + 1] = r\n"
	"  end\n"
	"  return out\n"
	"end\n"
	"if ARGV[1] == 'u' then\n"
	"  for _, e in ipairs(redis.call('XREVRANGE', KEYS[2], ARGV[2], ARGV[3],"
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
	"local up, ex, lo = nil, false, nil\n"
	"if ARGV[2] ~= '+' then\n"
	"  local u = ARGV[2]\n"
	"  if string.sub(u, 1, 1) == '(' then ex = true; u = string.sub(u, 2)"
	    " end\n"
	"  up = p(u)\n"
	"end\n"
	"if ARGV[3] ~= '-' then lo = p(ARGV[3]) end\n"
	"local ids = {}\n"
	"for i = 2, #KEYS do\n"
	"  local v = redis.call('HGET', KEYS[i], ARGV[5])\n"
	"  if v then\n"
	"    for id in string.gmatch(v, '%S+') do\n"
	"      local x = p(id)\n"
	"      if x and (not lo or not lt(x, lo)) and (not up or lt(x, up) or"
	    " (not ex and not lt(up, x))) then\n"
	"        ids[#ids + 1] = {x, id}\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"table.sort(ids, function(a, b) return lt(b[1], a[1]) end)\n"
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

static const char *
store_audit_str(json_t *o, const char *k)
{
	const char	*v = json_string_value(json_object_get(o, k));

	return v != NULL ? v : "";
}

/* The head script, for a record with chain, seq and hash. */
static void
store_audit_head_send(struct store *s, json_t *o, long long ttl)
{
	const char	*args[5], *chain = store_audit_str(o, "chain");
	json_t		*seq = json_object_get(o, "seq");
	char		*key, head[256], sq[32], tl[32];

	if (*chain == '\0' || !json_is_integer(seq) ||
	    json_integer_value(seq) < 0 || *store_audit_str(o, "hash") == '\0')
		return;
	snprintf(sq, sizeof(sq), "%lld", (long long)json_integer_value(seq));
	snprintf(tl, sizeof(tl), "%lld", ttl);
	if ((size_t)snprintf(head, sizeof(head), "%s %s %s", sq,
	    store_audit_str(o, "hash"), store_audit_str(o, "time")) >=
	    sizeof(head) || (key = store_key(STORE_AUDIT_BROKER, "audit",
	    "heads")) == NULL)
		return;
	args[0] = key;
	args[1] = chain;
	args[2] = sq;
	args[3] = head;
	args[4] = tl;
	(void)store_eval(s, NULL, NULL, store_lua_audit_head, 1, 5, args,
	    NULL);
	free(key);
}

void
store_audit_append(struct store *s, const char *tenant, const char *line)
{
	const char	*args[11], *user;
	char		*k[4] = { NULL, NULL, NULL, NULL }, minid[32], cap[32],
			 ttl[32];
	long long	 now = store_audit_now_ms(), day = now / STORE_AUDIT_DAY_MS;
	long long	 keep = (long long)s->conf->audit_stream_retention * 86400;
	json_t		*o;
	json_error_t	 err;
	size_t		 i;

	if (!store_is_up(s) ||
	    (o = json_loads(line, JSON_REJECT_DUPLICATES, &err)) == NULL)
		return;
	user = store_audit_str(o, "user");
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
	args[9] = store_audit_str(o, "request_id");
	args[10] = store_audit_str(o, "assertion_id");
	(void)store_eval(s, NULL, NULL, store_lua_audit_append, 4, 11, args,
	    NULL);
	store_audit_head_send(s, o, keep + 86400);
 out:
	for (i = 0; i < 4; i++)
		free(k[i]);
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
			/* "seq hash time": Redis is untrusted, parse strictly */
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
