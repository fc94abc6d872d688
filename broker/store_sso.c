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
 * Set the switch.  Off moves the tenant's generation on first (that is
 * what voids every session, code, Allow page and token at once: the
 * sign-in's scripts compare it, LUA_CUR_GEN_FN), then empties every
 * profile's token and session index sets, deleting what they list, for
 * the count (O(profiles) in one script: an admin action, rare).
 * The type check comes before any write, so a refused script changed
 * nothing; under maxmemory only the first write can be refused.
 * KEYS: 1 the sso hash, 2 users hash.
 * ARGV: 1 "1" | "0", 2 by, 3 at, 4 the token-index prefix, 5 the
 *   session-index prefix.
 * Returns {"badtype"} | {"ok", was on, was by, was at, gen, tokens,
 *   sessions}.
 */
const char store_lua_sso_set[] =
	"local t = redis.call('TYPE', KEYS[1]).ok\n"
	"if t ~= 'hash' and t ~= 'none' then return {'badtype'} end\n"
	"local w = redis.call('HMGET', KEYS[1], 'on', 'by', 'at')\n"
	"redis.call('HSET', KEYS[1], 'on', ARGV[1], 'by', ARGV[2], 'at', "
	    "ARGV[3])\n"
	"local n, m = 0, 0\n"
	"local function ends(k)\n"
	"  local c = 0\n"
	"  local ms = redis.pcall('SMEMBERS', k)\n"
	"  if type(ms) == 'table' and not ms.err then\n"
	"    for _, x in ipairs(ms) do c = c + redis.call('DEL', x) end\n"
	"    redis.call('DEL', k)\n"
	"  end\n"
	"  return c\n"
	"end\n"
	"if ARGV[1] == '0' then\n"
	"  redis.call('HINCRBY', KEYS[1], 'gen', 1)\n"
	"  if redis.call('TYPE', KEYS[2]).ok == 'hash' then\n"
	"    for _, id in ipairs(redis.call('HKEYS', KEYS[2])) do\n"
	"      n = n + ends(ARGV[4] .. id)\n"
	"      m = m + ends(ARGV[5] .. id)\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return {'ok', w[1], w[2], w[3], redis.call('HGET', KEYS[1], 'gen') "
	    "or '0', n, m}\n";

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
	/* set: what is written */
	int			 on;
	time_t			 at;
	char			 by[STORE_SSO_BY_MAX + 1];
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
sso_set_done(int rv, const struct store_reply *r, void *arg)
{
	struct ssop		*o = arg;
	struct store_sso_done	 d;
	int			 bad = 0;

	memset(&d, 0, sizeof(d));
	if (rv == BK_OK && store_reply_is(elem(r, 0), "badtype")) {
		log_warnx_r(BK_E_STORE_REPLY, "redis: the SSO switch's key "
		    "is not a hash: nothing changed");
		rv = BK_E_STORE_REPLY;
	} else if (rv == BK_OK && (!store_reply_is(elem(r, 0), "ok") ||
	    store_reply_count(r) != 7))
		rv = BK_E_STORE_REPLY;
	if (rv == BK_OK) {
		sso_parse(elem(r, 1), elem(r, 2), elem(r, 3), NULL, &d.was);
		d.tokens = store_reply_int(elem(r, 5));
		d.sessions = store_reply_int(elem(r, 6));
		(void)sso_num(elem(r, 4), 1LL << 62, &d.now.gen, &bad);
		d.now.set = 1;
		d.now.on = o->on;
		d.now.at = o->at;
		snprintf(d.now.by, sizeof(d.now.by), "%s", o->by);
	}
	o->set(o->arg, rv, rv == BK_OK ? &d : NULL);
	free(o);
}

void
store_sso_set(struct store *s, const char *tenant, int on, const char *by,
    time_t at, store_sso_set_cb *cb, void *arg)
{
	struct ssop	*o = calloc(1, sizeof(*o));
	char		*k0, *k1, *p4, *p5, ts[24];
	const char	*args[7];
	int		 rv = BK_E_NOMEM;

	if (o == NULL) {
		cb(arg, BK_E_NOMEM, NULL);
		return;
	}
	o->arg = arg;
	o->set = cb;
	o->on = on != 0;
	o->at = at;
	snprintf(o->by, sizeof(o->by), "%s", by != NULL ? by : "");
	snprintf(ts, sizeof(ts), "%lld", (long long)at);
	args[0] = k0 = store_key(tenant, "sso", NULL);
	args[1] = k1 = store_key(tenant, "users", NULL);
	args[2] = on ? "1" : "0";
	args[3] = o->by;
	args[4] = ts;
	args[5] = p4 = store_key(tenant, "utok", "");
	args[6] = p5 = store_key(tenant, "usess", "");
	if (k0 != NULL && k1 != NULL && p4 != NULL && p5 != NULL)
		rv = store_eval(s, sso_set_done, o, store_lua_sso_set, 2, 7,
		    args, NULL);
	if (rv != BK_OK)
		sso_set_done(rv, NULL, o);
	free(k0);
	free(k1);
	free(p4);
	free(p5);
}
