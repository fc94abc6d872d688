/*
 * sso-broker: the account's SSO switch in Redis (store_sso.h): its
 * scripts, keys and the parsing of their replies.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * bk:v1:{T}:sso is a hash: on ("1" or "0"), by (the credential that set
 * it), at (Unix time), gen (the tenant's generation, moved on by every
 * off).  Anything else reads as "no admin value" (logged): the file's
 * value then stays in force, as before any admin set it.
 * Trust: ARGV values are computed by the broker; stored values are
 * untrusted and checked here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "log.h"
#include "store_int.h"
#include "store_sso.h"

/*
 * Many tenants' switches, one script: ARGV are their sso keys (as
 * store_lua_hlen, so they need not share a slot).  A key of the wrong
 * type reads as absent.
 * Returns n x {on, by, at, gen} (nil where absent).
 */
const char store_lua_sso_read[] =
	"local r = {}\n"
	"for i, k in ipairs(ARGV) do\n"
	"  local v = redis.pcall('HMGET', k, 'on', 'by', 'at', 'gen')\n"
	"  if type(v) ~= 'table' or v.err then v = {false, false, false, "
	    "false} end\n"
	"  r[i] = v\n"
	"end\n"
	"return r\n";

/*
 * Set the switch.  Off moves the tenant's generation on: that alone voids
 * every session, code, Allow page and token of the tenant at once (the
 * sign-in's scripts compare it, LUA_CUR_GEN_FN); store_lua_sso_sweep then
 * deletes what is void, for the count.
 * The type check comes before any write, so a refused script changed
 * nothing; under maxmemory only the first write can be refused.
 * KEYS: 1 the sso hash.  ARGV: 1 "1" | "0", 2 by, 3 at.
 * Returns {"badtype"} | {"ok", was on, was by, was at, gen}.
 */
const char store_lua_sso_set[] =
	"local t = redis.call('TYPE', KEYS[1]).ok\n"
	"if t ~= 'hash' and t ~= 'none' then return {'badtype'} end\n"
	"local w = redis.call('HMGET', KEYS[1], 'on', 'by', 'at')\n"
	"redis.call('HSET', KEYS[1], 'on', ARGV[1], 'by', ARGV[2], 'at', "
	    "ARGV[3])\n"
	"if ARGV[1] == '0' then redis.call('HINCRBY', KEYS[1], 'gen', 1) end\n"
	"return {'ok', w[1], w[2], w[3], redis.call('HGET', KEYS[1], 'gen') "
	    "or '0'}\n";

/*
 * After an off, one batch of the sweep: the token and session index sets
 * of the next STORE_SSO_SWEEP profiles (HSCAN from the cursor) are
 * emptied and what they list deleted.  A batch at a time, so Redis never
 * stalls for a big account (one script over 100,000 profiles took half a
 * second).  It stops when the switch is no longer off at generation gen
 * (switched on, or off again: that off sweeps), so a session made after
 * an on is never touched.
 * KEYS: 1 the sso hash, 2 users hash.
 * ARGV: 1 gen, 2 cursor, 3 batch size, 4 token-index prefix,
 *   5 session-index prefix.
 * Returns {next cursor ("0": done), tokens, sessions}.
 */
const char store_lua_sso_sweep[] =
	"local s = redis.pcall('HMGET', KEYS[1], 'on', 'gen')\n"
	"if type(s) ~= 'table' or s.err or s[1] ~= '0' or s[2] ~= ARGV[1] "
	    "then\n"
	"  return {'0', 0, 0}\n"
	"end\n"
	"if redis.call('TYPE', KEYS[2]).ok ~= 'hash' then return {'0', 0, 0} "
	    "end\n"
	"local function ends(k)\n"
	"  local c = 0\n"
	"  local ms = redis.pcall('SMEMBERS', k)\n"
	"  if type(ms) == 'table' and not ms.err then\n"
	"    for _, x in ipairs(ms) do c = c + redis.call('DEL', x) end\n"
	"    redis.call('DEL', k)\n"
	"  end\n"
	"  return c\n"
	"end\n"
	"local r = redis.call('HSCAN', KEYS[2], ARGV[2], 'COUNT', ARGV[3])\n"
	"local n, m = 0, 0\n"
	"for i = 1, #r[2], 2 do\n"
	"  n = n + ends(ARGV[4] .. r[2][i])\n"
	"  m = m + ends(ARGV[5] .. r[2][i])\n"
	"end\n"
	"return {r[1], n, m}\n";

/*
 * A panel token, for introspection and revocation: the record, unless
 * its generation is no longer the user's and tenant's (a revocation, a
 * changed profile, SSO switched off since it was minted).
 * KEYS: 1 token key, 2 revocation generations, 3 the sso hash.
 * Returns the record or nil.
 */
const char store_lua_token_get[] =
	LUA_CUR_GEN_FN
	"local v = redis.call('GET', KEYS[1])\n"
	"if not v then return false end\n"
	"local ok, o = pcall(cjson.decode, v)\n"
	"if not ok or type(o) ~= 'table' or type(o.internal_id) ~= 'string' "
	    "then\n"
	"  return v\n"	/* the C parser says why it is unreadable */
	"end\n"
	"local g = cur_gen(KEYS[2], KEYS[3], o.internal_id)\n"
	"if not g or tostring(o.gen or '0') ~= g then return false end\n"
	"return v\n";

struct ssop {
	void			*arg;
	store_sso_read_cb	*read;
	store_sso_set_cb	*set;
	size_t			 n;
	/* set: what is written, then the sweep's state */
	int			 on;
	time_t			 at;
	char			 by[STORE_SSO_BY_MAX + 1];
	struct store		*s;
	char			*tenant;
	char			 cursor[24];
	char			 gen[24];
	struct store_sso_done	 d;
};

/* A decimal string reply in [0, max] into *x: 1, or 0 (absent: *x 0). */
static int
sso_num(const struct store_reply *r, long long max, long long *x, int *bad)
{
	const char	*p, *why;
	char		 b[24];
	size_t		 len;

	*x = 0;
	if ((p = store_reply_str(r, &len)) == NULL)
		return 0;
	if (len >= sizeof(b)) {
		*bad = 1;
		return 0;
	}
	memcpy(b, p, len);
	b[len] = '\0';
	if (bk_strtonum(b, 0, max, x, &why) != BK_OK) {
		*bad = 1;
		*x = 0;
		return 0;
	}
	return 1;
}

/* Fields (on, by, at, gen) of one stored switch into v (set 0: none). */
static void
sso_parse(const struct store_reply *on, const struct store_reply *by,
    const struct store_reply *at, const struct store_reply *gen,
    struct store_sso *v)
{
	const char	*p, *why = NULL;
	size_t		 len;
	long long	 x;

	memset(v, 0, sizeof(*v));
	if ((p = store_reply_str(on, &len)) == NULL)
		return;		/* never set by an admin */
	if (len != 1 || (p[0] != '0' && p[0] != '1'))
		why = "on is not 0 or 1";
	else
		v->on = p[0] == '1';
	if (why == NULL && (p = store_reply_str(by, &len)) != NULL) {
		if (len > STORE_SSO_BY_MAX || memchr(p, '\0', len) != NULL)
			why = "by is too long";
		else {
			memcpy(v->by, p, len);
			v->by[len] = '\0';
			if (!bk_str_is_printable(v->by))
				why = "by is not printable";
		}
	}
	if (why == NULL) {
		int	 bad = 0;

		(void)sso_num(at, 1LL << 40, &x, &bad);
		v->at = (time_t)x;
		(void)sso_num(gen, 1LL << 62, &v->gen, &bad);
		if (bad)
			why = "at or gen is not a number";
	}
	if (why != NULL) {
		log_warnx_r(BK_E_STORE_RECORD, "stored SSO switch unreadable "
		    "(%s): the tenant file's value stays in force", why);
		memset(v, 0, sizeof(*v));
		return;
	}
	v->set = 1;
}

static const struct store_reply *
elem(const struct store_reply *r, size_t i)
{
	return store_reply_elem(r, i);
}

static void
sso_read_done(int rv, const struct store_reply *r, void *arg)
{
	struct ssop		*o = arg;
	struct store_sso	*v = NULL;
	const struct store_reply *e;
	size_t			 i;

	if (rv == BK_OK && store_reply_count(r) != o->n)
		rv = BK_E_STORE_REPLY;
	if (rv == BK_OK && (v = calloc(o->n + 1, sizeof(*v))) == NULL)
		rv = BK_E_NOMEM;
	for (i = 0; rv == BK_OK && i < o->n; i++) {
		e = elem(r, i);
		sso_parse(elem(e, 0), elem(e, 1), elem(e, 2), elem(e, 3),
		    &v[i]);
	}
	o->read(o->arg, rv, rv == BK_OK ? v : NULL, o->n);
	free(v);
	free(o);
}

void
store_sso_read(struct store *s, const char *const *tenants, size_t n,
    store_sso_read_cb *cb, void *arg)
{
	struct ssop	*o = calloc(1, sizeof(*o));
	char		**keys = calloc(n + 1, sizeof(*keys));
	const char	**args = calloc(n + 1, sizeof(*args));
	size_t		 i;
	int		 rv = BK_E_NOMEM;

	if (o == NULL || keys == NULL || args == NULL) {
		cb(arg, BK_E_NOMEM, NULL, n);
		free(o);
		goto out;
	}
	o->arg = arg;
	o->read = cb;
	o->n = n;
	for (i = 0; i < n; i++)
		if ((args[i] = keys[i] = store_key(tenants[i], "sso", NULL)) ==
		    NULL)
			break;
	if (i == n)
		rv = store_eval(s, sso_read_done, o, store_lua_sso_read, 0,
		    (int)n, args, NULL);
	if (rv != BK_OK)
		sso_read_done(rv, NULL, o);
 out:
	for (i = 0; keys != NULL && i < n; i++)
		free(keys[i]);
	free(keys);
	free(args);
}

static void
ssop_free(struct ssop *o)
{
	free(o->tenant);
	free(o);
}

static void	sso_sweep_next(struct ssop *o);

/* The switch is set; a failed sweep only leaves the counts short. */
static void
sso_sweep_done(int rv, const struct store_reply *r, void *arg)
{
	struct ssop	*o = arg;
	const char	*c;
	size_t		 len;

	if (rv == BK_OK && (c = store_reply_str(elem(r, 0), &len)) != NULL &&
	    len > 0 && len < sizeof(o->cursor)) {
		memcpy(o->cursor, c, len);
		o->cursor[len] = '\0';
		o->d.tokens += store_reply_int(elem(r, 1));
		o->d.sessions += store_reply_int(elem(r, 2));
		if (strcmp(o->cursor, "0") != 0) {
			sso_sweep_next(o);
			return;
		}
	} else
		o->d.partial = 1;
	o->set(o->arg, BK_OK, &o->d);
	ssop_free(o);
}

static void
sso_sweep_next(struct ssop *o)
{
	char		*k0, *k1, *p4, *p5, n[16];
	const char	*args[7];
	int		 rv = BK_E_NOMEM;

	snprintf(n, sizeof(n), "%d", STORE_SSO_SWEEP);
	args[0] = k0 = store_key(o->tenant, "sso", NULL);
	args[1] = k1 = store_key(o->tenant, "users", NULL);
	args[2] = o->gen;
	args[3] = o->cursor;
	args[4] = n;
	args[5] = p4 = store_key(o->tenant, "utok", "");
	args[6] = p5 = store_key(o->tenant, "usess", "");
	if (k0 != NULL && k1 != NULL && p4 != NULL && p5 != NULL)
		rv = store_eval(o->s, sso_sweep_done, o, store_lua_sso_sweep, 2,
		    7, args, NULL);
	free(k0);
	free(k1);
	free(p4);
	free(p5);
	if (rv != BK_OK)
		sso_sweep_done(rv, NULL, o);
}

static void
sso_set_done(int rv, const struct store_reply *r, void *arg)
{
	struct ssop		*o = arg;
	struct store_sso_done	*d = &o->d;
	const char		*g;
	size_t			 len;
	int			 bad = 0;

	if (rv == BK_OK && store_reply_is(elem(r, 0), "badtype")) {
		log_warnx_r(BK_E_STORE_REPLY, "redis: the SSO switch's key "
		    "is not a hash: nothing changed");
		rv = BK_E_STORE_REPLY;
	} else if (rv == BK_OK && (!store_reply_is(elem(r, 0), "ok") ||
	    store_reply_count(r) != 5))
		rv = BK_E_STORE_REPLY;
	if (rv != BK_OK) {
		o->set(o->arg, rv, NULL);
		ssop_free(o);
		return;
	}
	sso_parse(elem(r, 1), elem(r, 2), elem(r, 3), NULL, &d->was);
	(void)sso_num(elem(r, 4), 1LL << 62, &d->now.gen, &bad);
	d->now.set = 1;
	d->now.on = o->on;
	d->now.at = o->at;
	snprintf(d->now.by, sizeof(d->now.by), "%s", o->by);
	g = store_reply_str(elem(r, 4), &len);
	if (o->on || g == NULL || len == 0 || len >= sizeof(o->gen)) {
		o->set(o->arg, BK_OK, d);
		ssop_free(o);
		return;
	}
	memcpy(o->gen, g, len);
	o->gen[len] = '\0';
	snprintf(o->cursor, sizeof(o->cursor), "0");
	sso_sweep_next(o);
}

void
store_sso_set(struct store *s, const char *tenant, int on, const char *by,
    time_t at, store_sso_set_cb *cb, void *arg)
{
	struct ssop	*o = calloc(1, sizeof(*o));
	char		*k0, ts[24];
	const char	*args[4];
	int		 rv = BK_E_NOMEM;

	if (o == NULL || (o->tenant = bk_strdup(tenant)) == NULL) {
		free(o);
		cb(arg, BK_E_NOMEM, NULL);
		return;
	}
	o->arg = arg;
	o->set = cb;
	o->s = s;
	o->on = on != 0;
	o->at = at;
	snprintf(o->by, sizeof(o->by), "%s", by != NULL ? by : "");
	snprintf(ts, sizeof(ts), "%lld", (long long)at);
	args[0] = k0 = store_key(tenant, "sso", NULL);
	args[1] = on ? "1" : "0";
	args[2] = o->by;
	args[3] = ts;
	if (k0 != NULL)
		rv = store_eval(s, sso_set_done, o, store_lua_sso_set, 1, 4,
		    args, NULL);
	free(k0);
	if (rv != BK_OK)
		sso_set_done(rv, NULL, o);
}
