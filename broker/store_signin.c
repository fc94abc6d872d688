/*
 * sso-broker: the sign-in's store operations (store_signin.h): the keys,
 * the Lua scripts that make multi-key decisions atomic, and the parsing of
 * every reply.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Each script runs atomically in Redis, so "check then write" can never
 * race: a replayed assertion, a second use of a request ID or a code, or a
 * concurrent mapping change all see the first writer's result.  Records
 * are JSON written by this project; scripts decode them with pcall and
 * treat anything unexpected as absent (fail closed).  Only digests of
 * secrets ever appear in keys.
 * Trust: ARGV values are computed by the broker; stored values are
 * untrusted and parsed strictly again in C.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "log.h"
#include "pol.h"
#include "rec.h"
#include "store_int.h"
#include "store_signin.h"

/*
 * The decision on a verified identity (any upstream), after every pure
 * check passed.
 * KEYS: 1 replay key, 2 sign-in request key (unused when unsolicited),
 *       3 Salesforce index hash, 4 users hash, 5 revocation generations,
 *       6 the tenant's SSO switch (store_sso.h).
 * ARGV: 1 request ID ("" = unsolicited), 2 browser binding digest,
 *       3 replay TTL, 4 Salesforce key, 5 consent key prefix,
 *       6 client_id for unsolicited sign-ins, 7 "console" when the
 *       request, already taken, opened the admin console.
 * Returns {"replay"} | {"irt"} | {"unmapped"} | {"console", request or ""} |
 *         {"ok", user record, request record or "", consent 0/1, generation}.
 * A console sign-in (its request says so) needs no profile: it is marked
 * used and its request consumed, and the console decides the role.
 * Nothing is written unless the answer is "ok" (P20, P21, P11, T05).  While
 * the tenant's stored switch is off the generation is "0.0", which no real
 * one equals (a tenant generation starts at 1), so store_lua_issue refuses
 * it.  The
 * user's revocation generation is read here, at the instant the assertion
 * is accepted, so a revocation while the sign-in is finishing voids it.
 */
const char store_lua_decide[] =
	LUA_CUR_GEN_FN
	"if redis.call('EXISTS', KEYS[1]) == 1 then return {'replay'} end\n"
	"local st = false\n"
	"local client = ARGV[6]\n"
	"if ARGV[1] ~= '' then\n"
	"  st = redis.call('GET', KEYS[2])\n"
	"  if not st then return {'irt'} end\n"
	"  local ok, o = pcall(cjson.decode, st)\n"
	"  if not ok or type(o) ~= 'table' or o.rid ~= ARGV[1] or o.bind ~= "
	    "ARGV[2] then\n"
	"    return {'irt'}\n"
	"  end\n"
	"  if type(o.client_id) == 'string' then client = o.client_id end\n"
	"  if o.purpose == 'console' then ARGV[7] = 'console' end\n"
	"end\n"
	"if ARGV[7] == 'console' then\n"
	"  redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3])\n"
	"  if ARGV[1] ~= '' then redis.call('DEL', KEYS[2]) end\n"
	"  return {'console', st or ''}\n"
	"end\n"
	"local id = redis.call('HGET', KEYS[3], ARGV[4])\n"
	"if not id then return {'unmapped'} end\n"
	"local rec = redis.call('HGET', KEYS[4], id)\n"
	"if not rec then return {'unmapped'} end\n"
	"redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3])\n"
	"if ARGV[1] ~= '' then redis.call('DEL', KEYS[2]) end\n"
	"local consent = redis.call('EXISTS', ARGV[5] .. id .. ':' .. client)\n"
	"return {'ok', rec, st or '', consent, "
	    "cur_gen(KEYS[5], KEYS[6], id) or '0.0'}\n";

/*
 * What a sign-in issues (session, code, consent transaction, remembered
 * consent), in one step, if the user was not revoked since the flow read
 * the user's generation (at the ACS, from the session, or into the consent
 * transaction): a revocation racing a sign-in wins.
 * KEYS: 1 revocation generations (hash: internal ID -> count), 2 the
 *   tenant's SSO switch (switched off since: "revoked" too).
 * ARGV: 1 internal ID, 2 expected generation, then n, n x (key, value,
 *   ttl), then m, m x (set, member, ttl).  A set's TTL only ever grows.
 * Returns "OK" | "revoked" (nothing written).
 */
const char store_lua_issue[] =
	LUA_CUR_GEN_FN
	"if cur_gen(KEYS[1], KEYS[2], ARGV[1]) ~= ARGV[2] then\n"
	"  return 'revoked'\n"
	"end\n"
	"local i = 4\n"
	"for k = 1, tonumber(ARGV[3]) do\n"
	"  redis.call('SET', ARGV[i], ARGV[i + 1], 'EX', ARGV[i + 2]); i = i + "
	    "3\n"
	"end\n"
	"local m = tonumber(ARGV[i]); i = i + 1\n"
	"for k = 1, m do\n"
	"  redis.call('SADD', ARGV[i], ARGV[i + 1])\n"
	"  if redis.call('TTL', ARGV[i]) < tonumber(ARGV[i + 2]) then\n"
	"    redis.call('EXPIRE', ARGV[i], ARGV[i + 2])\n"
	"  end\n"
	"  i = i + 3\n"
	"end\n"
	"return 'OK'\n";

/*
 * A browser session authorizes a panel: the session must exist, must not
 * predate a revocation of its user, and its user must still map to the
 * same profile.
 * KEYS: 1 Salesforce index hash, 2 users hash, 3 revocation generations,
 *       4 the tenant's SSO switch (switched off since: no session).
 * ARGV: 1 session key, 2 consent key prefix, 3 client_id.
 * Returns {"nosession"} | {"gone"} |
 *         {"ok", session, user record, consent, generation}.
 */
const char store_lua_session_authz[] =
	LUA_CUR_GEN_FN
	"local s = redis.call('GET', ARGV[1])\n"
	"if not s then return {'nosession'} end\n"
	"local ok, o = pcall(cjson.decode, s)\n"
	"if not ok or type(o) ~= 'table' or type(o.sfdc_key) ~= 'string' or\n"
	"   type(o.internal_id) ~= 'string' then return {'nosession'} end\n"
	"local gen = cur_gen(KEYS[3], KEYS[4], o.internal_id)\n"
	"if not gen or (o.gen or '0') ~= gen then return {'nosession'} end\n"
	"local id = redis.call('HGET', KEYS[1], o.sfdc_key)\n"
	"if id ~= o.internal_id then return {'gone'} end\n"
	"local rec = redis.call('HGET', KEYS[2], id)\n"
	"if not rec then return {'gone'} end\n"
	"local consent = redis.call('EXISTS', ARGV[2] .. id .. ':' .. "
	    "ARGV[3])\n"
	"return {'ok', s, rec, consent, gen}\n";

/*
 * Redeem a code: consume it and mint its token in one step, so no fault
 * between the two can burn a code without a token (or mint twice).
 * Checks, in order: the code exists (else a tombstone means a second use:
 * the token minted from it is revoked, RFC 6749 4.1.2); client,
 * redirect_uri and PKCE S256 (RFC 6819 5.1.5.8, RFC 7636 4.6); the user was
 * not revoked since the code was issued; the user still maps to the
 * profile; the session has time left.  A failed check consumes the code.
 * The challenge is compared here with Lua's ==: it is not a secret (it
 * came through the browser) and Lua strings are interned, so equality is
 * a pointer compare.
 * Order of writes: the token first.  Under maxmemory Redis refuses only a
 * script's first denyoom write, so an out-of-memory fault leaves the code
 * as it was; later writes of a script that wrote are never refused.
 * KEYS: 1 code key, 2 its tombstone key, 3 Salesforce index hash,
 *       4 revocation generations, 5 the tenant's SSO switch.
 * ARGV: 1 client_id, 2 redirect_uri, 3 S256(code_verifier), 4 digest of
 *       the new token, 5 token key prefix, 6 token-index prefix, 7 tenant,
 *       8 now, 9 session_ttl, 10 tombstone TTL, 11 the session's
 *       token-set prefix (stok:, the tokens a sign-out of that session
 *       ends).
 * Returns {"unknown"} | {"reused", tombstone, revoked 0/1} | {"bad"} |
 *   {"mismatch", code record, "client" | "redirect_uri" | "verifier"} |
 *   {"revoked", code record} |
 *   {"gone", code record} | {"expired", code record} | {"badtype"} |
 *   {"ok", token record, ttl}.
 */
const char store_lua_redeem[] =
	LUA_CUR_GEN_FN
	"local v = redis.call('GET', KEYS[1])\n"
	"if not v then\n"
	"  local t = redis.call('GET', KEYS[2])\n"
	"  if not t then return {'unknown'} end\n"
	"  local ok, o = pcall(cjson.decode, t)\n"
	"  local n = 0\n"
	"  if ok and type(o) == 'table' and type(o.tok) == 'string' and\n"
	"     o.tok:match('^%x+$') then\n"
	"    n = redis.call('DEL', ARGV[5] .. o.tok)\n"
	"    if type(o.internal_id) == 'string' then\n"
	"      redis.call('SREM', ARGV[6] .. o.internal_id, ARGV[5] .. "
	    "o.tok)\n"
	"    end\n"
	"  end\n"
	"  return {'reused', t, n}\n"
	"end\n"
	"local ok, o = pcall(cjson.decode, v)\n"
	"if not ok or type(o) ~= 'table' or type(o.internal_id) ~= 'string' "
	    "or\n"
	"   type(o.user) ~= 'string' or type(o.sfdc_key) ~= 'string' then\n"
	"  redis.call('DEL', KEYS[1])\n"
	"  return {'bad'}\n"
	"end\n"
	"local why = false\n"
	"if o.client_id ~= ARGV[1] then why = 'client'\n"
	"elseif o.redirect_uri ~= ARGV[2] then why = 'redirect_uri'\n"
	"elseif o.challenge ~= ARGV[3] then why = 'verifier' end\n"
	"if why then redis.call('DEL', KEYS[1]); return {'mismatch', v, why} "
	    "end\n"
	"local gen = cur_gen(KEYS[4], KEYS[5], o.internal_id)\n"
	"if not gen or (o.gen or '0') ~= gen then\n"
	"  redis.call('DEL', KEYS[1]); return {'revoked', v}\n"
	"end\n"
	"if redis.call('HGET', KEYS[3], o.sfdc_key) ~= o.internal_id then\n"
	"  redis.call('DEL', KEYS[1]); return {'gone', v}\n"
	"end\n"
	"local now = tonumber(ARGV[8])\n"
	"local ttl = (tonumber(o.sess_exp) or 0) - now\n"
	"if ttl > tonumber(ARGV[9]) then ttl = tonumber(ARGV[9]) end\n"
	"if ttl <= 0 then redis.call('DEL', KEYS[1]); return {'expired', v} "
	    "end\n"
	"local utok = ARGV[6] .. o.internal_id\n"
	"local ty = redis.call('TYPE', utok).ok\n"
	"if ty ~= 'set' and ty ~= 'none' then return {'badtype'} end\n"
	"local stok = false\n"
	"if type(o.sess) == 'string' and o.sess:match('^%x+$') then\n"
	"  stok = ARGV[11] .. o.sess\n"
	"  ty = redis.call('TYPE', stok).ok\n"
	"  if ty ~= 'set' and ty ~= 'none' then return {'badtype'} end\n"
	"end\n"
	"local tkey = ARGV[5] .. ARGV[4]\n"
	"local rec = cjson.encode({v = 1, tenant = ARGV[7], client_id = "
	    "o.client_id,\n"
	"  internal_id = o.internal_id, user = o.user, extension = "
	    "o.extension,\n"
	"  sfdc_key = o.sfdc_key, iat = now, exp = now + ttl, gen = gen})\n"
	"redis.call('SET', tkey, rec, 'EX', ttl)\n"
	"redis.call('DEL', KEYS[1])\n"
	"redis.call('SET', KEYS[2], cjson.encode({v = 1, tok = ARGV[4],\n"
	"  internal_id = o.internal_id, user = o.user}), 'EX', ARGV[10])\n"
	"redis.call('SADD', utok, tkey)\n"
	"if redis.call('TTL', utok) < ttl then redis.call('EXPIRE', utok, ttl) "
	    "end\n"
	"if stok then\n"
	"  redis.call('SADD', stok, tkey)\n"
	"  if redis.call('TTL', stok) < ttl then redis.call('EXPIRE', stok, "
	    "ttl) end\n"
	"end\n"
	"return {'ok', rec, ttl}\n";

/*
 * RFC 7009 revocation by the client the token was issued to (T06).
 * KEYS: 1 token key.  ARGV: 1 client_id, 2 token-index prefix.
 * Returns 1 revoked, 0 unknown, -1 another client's token.
 */
const char store_lua_revoke[] =
	"local v = redis.call('GET', KEYS[1])\n"
	"if not v then return 0 end\n"
	"local ok, o = pcall(cjson.decode, v)\n"
	"if not ok or type(o) ~= 'table' then return 0 end\n"
	"if o.client_id ~= ARGV[1] then return -1 end\n"
	"redis.call('DEL', KEYS[1])\n"
	"if type(o.internal_id) == 'string' then\n"
	"  redis.call('SREM', ARGV[2] .. o.internal_id, KEYS[1])\n"
	"end\n"
	"return 1\n";

/* --- operations in flight --- */

static const struct store_hold *store_hold;

void
store_set_hold(const struct store_hold *h)
{
	store_hold = h;
}

/* One typed operation: its reply parser and the caller's callback. */
struct sop {
	void	*arg;
	void	(*reply)(struct sop *, int, const struct store_reply *);
	char	 bind[BK_DIGEST_HEX + 1];	/* store_signin_take */
	union {
		store_done_cb		*done;
		store_signin_cb		*signin;
		store_decide_cb		*decide;
		store_session_cb	*session;
		store_grant_cb		*grant;
		store_redeem_cb		*redeem;
		store_token_cb		*token;
		store_revoke_cb		*revoke;
		store_slo_cb		*slo;
	} cb;
	int	 flag;	/* per operation: request given, take, ... */
	void	*ctx;	/* per operation: store_code_redeem's wait */
	/* called instead of reply when the request is gone (ctx cleanup) */
	void	(*drop)(struct sop *);
};

static struct sop *
sop_new(void *arg, void (*reply)(struct sop *, int,
    const struct store_reply *))
{
	struct sop	*o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->arg = arg;
	o->reply = reply;
	if (arg != NULL && store_hold != NULL)
		store_hold->ref(arg);
	return o;
}

/* The reply (or the failure to send): parse, call back, let go. */
static void
sop_done(int rv, const struct store_reply *r, void *p)
{
	struct sop	*o = p;

	if (rv == BK_E_STORE_REPLY)	/* the script failed: nothing written */
		rv = BK_E_STORE_DOWN;
	if (o->arg == NULL || store_hold == NULL || store_hold->alive(o->arg))
		o->reply(o, rv, r);
	else if (o->drop != NULL)
		o->drop(o);
	if (o->arg != NULL && store_hold != NULL)
		store_hold->unref(o->arg);
	free(o);
}

static void
sop_eval(struct store *s, struct sop *o, const char *script, int nkeys,
    int nargs, const char **args)
{
	int	 rv;

	if ((rv = store_eval(s, sop_done, o, script, nkeys, nargs, args,
	    NULL)) != BK_OK)
		sop_done(rv, NULL, o);
}

static void
sop_cmd(struct store *s, struct sop *o, int argc, const char **argv)
{
	int	 rv;

	if ((rv = store_cmdv(s, sop_done, o, argc, argv)) != BK_OK)
		sop_done(rv, NULL, o);
}

/* Keys built for one operation, freed together. */
struct skeys {
	char	*k[8];
	size_t	 n;
	int	 nomem;
};

static const char *
skeys_add(struct skeys *ks, char *k)
{
	if (k == NULL || ks->n == BK_NELEM(ks->k)) {
		free(k);
		ks->nomem = 1;
		return "";
	}
	return ks->k[ks->n++] = k;
}

static void
skeys_free(struct skeys *ks)
{
	size_t	 i;

	for (i = 0; i < ks->n; i++)
		free(ks->k[i]);
}

/* Element i of an array reply as a string, or NULL. */
static const char *
reply_str(const struct store_reply *r, size_t i, size_t *len)
{
	*len = 0;
	return store_reply_str(store_reply_elem(r, i), len);
}


/*
 * A plain string reply as a record of kind k: BK_OK (out filled), or
 * absent (none, or unreadable: logged) with out zeroed.
 */
static int
reply_plain_rec(int rv, const struct store_reply *r, enum rec_kind k,
    void *out)
{
	const char	*p, *why = NULL;
	size_t		 len;

	if (rv != BK_OK || (p = store_reply_str(r, &len)) == NULL)
		return rec_read(k, NULL, 0, out, NULL);	/* none: zeroed */
	if ((rv = rec_read(k, p, len, out, &why)) == BK_E_STORE_RECORD)
		log_warnx_r(rv, "stored %s record unreadable (%s): treated as "
		    "absent", rec_kind_name(k), why);
	return rv;
}

/* Element i of an array reply as a record (as reply_plain_rec). */
static int
reply_elem_rec(const struct store_reply *r, size_t i, enum rec_kind k,
    void *out)
{
	return reply_plain_rec(BK_OK, store_reply_elem(r, i), k, out);
}

/* One record by its secret: GET, or GETDEL when take (read once). */
static void
sop_get_rec(struct store *s, struct sop *o, const char *tenant,
    const char *kind, const char *secret, int take)
{
	const char	*argv[2];
	char		*key;

	argv[0] = take ? "GETDEL" : "GET";
	argv[1] = key = store_key_digest(tenant, kind, secret);
	if (key == NULL)
		sop_done(BK_E_NOMEM, NULL, o);
	else
		sop_cmd(s, o, 2, argv);
	free(key);
}

/* The profile in a stored user record (the policy module's parser). */
static int
reply_profile(const struct store_reply *r, size_t i,
    struct store_profile *prof)
{
	struct pol_user	 u;
	const char	*p;
	size_t		 len;

	memset(prof, 0, sizeof(*prof));
	memset(&u, 0, sizeof(u));
	if ((p = reply_str(r, i, &len)) == NULL ||
	    pol_user_parse(p, len, &u) != BK_OK ||
	    u.f[POL_COL_INTERNAL_ID] == NULL) {
		pol_user_cleanup(&u);
		log_warnx_r(BK_E_STORE_RECORD,
		    "stored user record unreadable");
		return BK_E_STORE_RECORD;
	}
	prof->internal_id = bk_strdup(u.f[POL_COL_INTERNAL_ID]);
	prof->extension = pol_user_primary_ext(&u);
	pol_user_cleanup(&u);
	return prof->internal_id != NULL ? BK_OK : BK_E_NOMEM;
}

static void
profile_cleanup(struct store_profile *prof)
{
	free(prof->internal_id);
	free(prof->extension);
	memset(prof, 0, sizeof(*prof));
}

/* The generation in element i (digits; anything else reads as unknown). */
static void
reply_gen(const struct store_reply *r, size_t i, char gen[REC_GEN_MAX + 1])
{
	const char	*g;
	size_t		 len;

	gen[0] = '\0';
	if ((g = reply_str(r, i, &len)) != NULL && rec_gen_ok(g, len)) {
		memcpy(gen, g, len);
		gen[len] = '\0';
	}
}

static void
ttl_str(char *buf, size_t size, long ttl)
{
	snprintf(buf, size, "%ld", ttl);
}

/* --- the sign-in request --- */

static void
signin_put_reply(struct sop *o, int rv, const struct store_reply *r)
{
	(void)r;
	o->cb.done(o->arg, rv);
}

void
store_signin_put(struct store *s, const char *tenant,
    const struct rec_signin *rec, int ttl, store_done_cb *cb, void *arg)
{
	struct sop	*o = sop_new(arg, signin_put_reply);
	char		*key, *val, t[24];
	const char	*argv[5];

	if (o == NULL) {
		cb(arg, BK_E_NOMEM);
		return;
	}
	o->cb.done = cb;
	key = store_key_digest(tenant, "authn", rec->rid);
	val = rec_write(REC_SIGNIN, rec);
	ttl_str(t, sizeof(t), ttl);
	argv[0] = "SET";
	argv[1] = key;
	argv[2] = val;
	argv[3] = "EX";
	argv[4] = t;
	if (key == NULL || val == NULL)
		sop_done(BK_E_NOMEM, NULL, o);
	else
		sop_cmd(s, o, 5, argv);
	free(key);
	free(val);
}

static void
signin_take_reply(struct sop *o, int rv, const struct store_reply *r)
{
	struct rec_signin sr;
	int		 ok;

	ok = reply_plain_rec(rv, r, REC_SIGNIN, &sr) == BK_OK &&
	    strlen(o->bind) == BK_DIGEST_HEX &&
	    bk_ct_eq(sr.bind, strlen(sr.bind), o->bind, BK_DIGEST_HEX);
	o->cb.signin(o->arg, rv, ok ? &sr : NULL);
	rec_cleanup(REC_SIGNIN, &sr);
}

void
store_signin_take(struct store *s, const char *tenant, const char *rid,
    const char *bind, store_signin_cb *cb, void *arg)
{
	struct sop	*o = sop_new(arg, signin_take_reply);

	if (o == NULL) {
		cb(arg, BK_E_NOMEM, NULL);
		return;
	}
	o->cb.signin = cb;
	snprintf(o->bind, sizeof(o->bind), "%s", bind ? bind : "");
	sop_get_rec(s, o, tenant, "authn", rid, 1);
}

/* --- the decision --- */

static void
decide_reply(struct sop *o, int rv, const struct store_reply *r)
{
	struct store_decision	 d;
	const struct store_reply *st = store_reply_elem(r, 0);

	memset(&d, 0, sizeof(d));
	if (rv != BK_OK) {
		o->cb.decide(o->arg, rv, NULL);
		return;
	}
	if (store_reply_is(st, "replay"))
		d.verdict = STORE_DECIDE_REPLAY;
	else if (store_reply_is(st, "irt"))
		d.verdict = STORE_DECIDE_REQUEST;
	else if (store_reply_is(st, "unmapped"))
		d.verdict = STORE_DECIDE_UNMAPPED;
	else if (store_reply_is(st, "console")) {
		d.verdict = STORE_DECIDE_CONSOLE;
		if (o->flag && reply_elem_rec(r, 1, REC_SIGNIN, &d.request) ==
		    BK_OK)
			d.has_request = 1;
	} else if (!store_reply_is(st, "ok") ||
	    reply_profile(r, 1, &d.prof) != BK_OK)
		rv = BK_E_STORE_RECORD;
	else if (o->flag) {
		/* A request that cannot be read was never ours. */
		if (reply_elem_rec(r, 2, REC_SIGNIN, &d.request) == BK_OK)
			d.has_request = 1;
		else
			d.verdict = STORE_DECIDE_REQUEST;
	}
	d.consent = store_reply_int(store_reply_elem(r, 3)) == 1;
	reply_gen(r, 4, d.gen);
	o->cb.decide(o->arg, rv, rv == BK_OK ? &d : NULL);
	profile_cleanup(&d.prof);
	rec_cleanup(REC_SIGNIN, &d.request);
}

void
store_decide(struct store *s, const struct store_decide_in *in,
    store_decide_cb *cb, void *arg)
{
	struct sop	*o = sop_new(arg, decide_reply);
	struct skeys	 ks;
	const char	*args[13];
	char		 ttl[24];

	if (o == NULL) {
		cb(arg, BK_E_NOMEM, NULL);
		return;
	}
	memset(&ks, 0, sizeof(ks));
	o->cb.decide = cb;
	o->flag = in->request_id != NULL;
	/* Keyed on the proof itself: re-encoding does not help (P22). */
	args[0] = skeys_add(&ks, store_key_digest(in->tenant, "replay",
	    in->proof));
	args[1] = skeys_add(&ks, store_key_digest(in->tenant, "authn",
	    in->request_id ? in->request_id : "-"));
	args[2] = skeys_add(&ks, store_key(in->tenant, "sfdc", NULL));
	args[3] = skeys_add(&ks, store_key(in->tenant, "users", NULL));
	args[4] = skeys_add(&ks, store_key(in->tenant, "ugen", NULL));
	args[5] = skeys_add(&ks, store_key(in->tenant, "sso", NULL));
	args[6] = in->request_id ? in->request_id : "";
	args[7] = in->bind ? in->bind : "";
	ttl_str(ttl, sizeof(ttl), in->proof_ttl < 60 ? 60 : in->proof_ttl);
	args[8] = ttl;
	args[9] = in->sfdc_key;
	args[10] = skeys_add(&ks, store_key(in->tenant, "consent", ""));
	args[11] = in->client_id ? in->client_id : "";
	args[12] = in->console ? "console" : "";
	if (ks.nomem)
		sop_done(BK_E_NOMEM, NULL, o);
	else
		sop_eval(s, o, store_lua_decide, 6, 13, args);
	skeys_free(&ks);
}

/* --- a browser session --- */

static void
session_reply(struct sop *o, int rv, const struct store_reply *r)
{
	struct store_session_found f;

	memset(&f, 0, sizeof(f));
	if (rv != BK_OK) {
		o->cb.session(o->arg, rv, NULL);
		return;
	}
	/* Expired, revoked, remapped or unreadable: no session. */
	if (store_reply_is(store_reply_elem(r, 0), "ok") &&
	    reply_elem_rec(r, 1, REC_SESSION, &f.sess) == BK_OK &&
	    reply_profile(r, 2, &f.prof) == BK_OK)
		f.found = 1;
	f.consent = store_reply_int(store_reply_elem(r, 3)) == 1;
	reply_gen(r, 4, f.gen);
	o->cb.session(o->arg, BK_OK, &f);
	rec_cleanup(REC_SESSION, &f.sess);
	profile_cleanup(&f.prof);
}

void
store_session_authz(struct store *s, const char *tenant, const char *cookie,
    const char *client_id, store_session_cb *cb, void *arg)
{
	struct sop	*o = sop_new(arg, session_reply);
	struct skeys	 ks;
	const char	*args[7];

	if (o == NULL) {
		cb(arg, BK_E_NOMEM, NULL);
		return;
	}
	memset(&ks, 0, sizeof(ks));
	o->cb.session = cb;
	args[0] = skeys_add(&ks, store_key(tenant, "sfdc", NULL));
	args[1] = skeys_add(&ks, store_key(tenant, "users", NULL));
	args[2] = skeys_add(&ks, store_key(tenant, "ugen", NULL));
	args[3] = skeys_add(&ks, store_key(tenant, "sso", NULL));
	args[4] = skeys_add(&ks, store_key_digest(tenant, "sess", cookie));
	args[5] = skeys_add(&ks, store_key(tenant, "consent", ""));
	args[6] = client_id ? client_id : "";
	if (ks.nomem)
		sop_done(BK_E_NOMEM, NULL, o);
	else
		sop_eval(s, o, store_lua_session_authz, 4, 7, args);
	skeys_free(&ks);
}

/* --- issuing --- */

/* The ARGV of store_lua_issue; every string it owns is freed with it. */
struct issue_argv {
	const char	*a[28];
	char		*own[12];
	size_t		 n, nown;
	int		 nomem;
	char		 ttl[3][24];
	char		 nsets[8];
};

static void
iv_add(struct issue_argv *v, const char *s)
{
	if (s == NULL)
		v->nomem = 1;
	v->a[v->n++] = s != NULL ? s : "";
}

static void
iv_own(struct issue_argv *v, char *s)
{
	if (s != NULL)
		v->own[v->nown++] = s;
	iv_add(v, s);
}

static void
issue_reply(struct sop *o, int rv, const struct store_reply *r)
{
	if (rv == BK_OK && store_reply_is(r, "revoked"))
		rv = BK_E_OAUTH_REVOKED;
	else if (rv == BK_OK && !store_reply_is(r, "OK"))
		rv = BK_E_STORE_DOWN;
	o->cb.done(o->arg, rv);
}

/* The SETs: session, remembered consent, code or consent transaction. */
static int
issue_sets(struct issue_argv *v, const struct store_issue_in *in)
{
	int	 n = 0;

	if (in->session != NULL) {
		iv_own(v, store_key_digest(in->tenant, "sess", in->session));
		iv_own(v, rec_write(REC_SESSION, in->sess));
		ttl_str(v->ttl[0], sizeof(v->ttl[0]), in->sess_ttl);
		iv_add(v, v->ttl[0]);
		n++;
	}
	if (in->remember_client != NULL) {
		struct bk_buf b;

		bk_buf_init(&b, 2048);
		if (bk_buf_addf(&b, "%s:%s", in->internal_id,
		    in->remember_client) == BK_OK)
			iv_own(v, store_key(in->tenant, "consent", b.data));
		else
			iv_add(v, NULL);
		bk_buf_free(&b);
		iv_add(v, "1");
		ttl_str(v->ttl[1], sizeof(v->ttl[1]), in->remember_ttl);
		iv_add(v, v->ttl[1]);
		n++;
	}
	if (in->grant != STORE_GRANT_NONE) {
		iv_own(v, store_key_digest(in->tenant,
		    in->grant == STORE_GRANT_CODE ? "code" : "ctx",
		    in->grant_secret));
		iv_own(v, rec_write(REC_GRANT, in->grant_rec));
		ttl_str(v->ttl[2], sizeof(v->ttl[2]), in->grant_ttl);
		iv_add(v, v->ttl[2]);
		n++;
	}
	return n;
}

void
store_issue(struct store *s, const struct store_issue_in *in,
    store_done_cb *cb, void *arg)
{
	struct sop		*o = sop_new(arg, issue_reply);
	struct issue_argv	 v;
	char			 sdig[BK_DIGEST_HEX + 1];
	size_t			 i, at;
	int			 slo;

	if (o == NULL) {
		cb(arg, BK_E_NOMEM);
		return;
	}
	o->cb.done = cb;
	memset(&v, 0, sizeof(v));
	iv_own(&v, store_key(in->tenant, "ugen", NULL));
	iv_own(&v, store_key(in->tenant, "sso", NULL));
	iv_add(&v, in->internal_id);
	iv_add(&v, in->gen[0] != '\0' ? in->gen : "0");
	at = v.n;
	iv_add(&v, v.nsets);
	snprintf(v.nsets, sizeof(v.nsets), "%d", issue_sets(&v, in));
	/* The user's session index, for "revoke every session of a user". */
	slo = in->session != NULL && in->sess->name_id != NULL;
	iv_add(&v, slo ? "2" : in->session != NULL ? "1" : "0");
	if (in->session != NULL) {
		iv_own(&v, store_key(in->tenant, "usess", in->internal_id));
		iv_add(&v, v.a[at + 1]);	/* the session's key */
		iv_add(&v, v.ttl[0]);
	}
	/* The NameID's sessions, for single logout from the IdP. */
	if (slo) {
		bk_sha256_hex(in->session, strlen(in->session), sdig);
		iv_own(&v, store_key_digest(in->tenant, "slo",
		    in->sess->name_id));
		iv_add(&v, sdig);
		iv_add(&v, v.ttl[0]);
	}
	if (v.nomem)
		sop_done(BK_E_NOMEM, NULL, o);
	else
		sop_eval(s, o, store_lua_issue, 2, (int)v.n, v.a);
	for (i = 0; i < v.nown; i++)
		bk_strfree_secret(v.own[i]);
}

/* --- the consent transaction --- */

static void
consent_reply(struct sop *o, int rv, const struct store_reply *r)
{
	struct rec_grant g;
	int		 ok = reply_plain_rec(rv, r, REC_GRANT, &g) == BK_OK;

	o->cb.grant(o->arg, rv, ok ? &g : NULL);
	rec_cleanup(REC_GRANT, &g);
}

void
store_consent_get(struct store *s, const char *tenant, const char *tx,
    int take, store_grant_cb *cb, void *arg)
{
	struct sop	*o = sop_new(arg, consent_reply);

	if (o == NULL) {
		cb(arg, BK_E_NOMEM, NULL);
		return;
	}
	o->cb.grant = cb;
	/* GETDEL: a decision counts once. */
	sop_get_rec(s, o, tenant, "ctx", tx, take);
}

/* --- redeeming a code --- */

static const struct {
	const char			*answer;
	enum store_redeem_verdict	 verdict;
} redeem_answers[] = {
	{ "ok", STORE_REDEEM_OK },
	{ "unknown", STORE_REDEEM_UNKNOWN },
	{ "reused", STORE_REDEEM_REUSED },
	{ "mismatch", STORE_REDEEM_MISMATCH },
	{ "revoked", STORE_REDEEM_REVOKED },
	{ "gone", STORE_REDEEM_GONE },
	{ "expired", STORE_REDEEM_EXPIRED },
	{ "bad", STORE_REDEEM_BAD },
};

/* What did not match, as the panel hears it. */
static const char *
redeem_why(const struct store_reply *r)
{
	if (store_reply_is(store_reply_elem(r, 2), "client"))
		return "code issued to another client";
	if (store_reply_is(store_reply_elem(r, 2), "redirect_uri"))
		return "redirect_uri does not match";
	return "code_verifier does not match";
}

/* The user fields of the code or tombstone, for the audit. */
static void
redeem_user(const struct store_reply *r, struct store_redeemed *d)
{
	struct rec_grant g;
	struct rec_tomb	 t;

	if (d->verdict == STORE_REDEEM_REUSED) {
		if (reply_elem_rec(r, 1, REC_TOMB, &t) != BK_OK)
			return;
		d->tok.internal_id = t.internal_id;
		d->tok.user = t.user;
		t.internal_id = t.user = NULL;
		rec_cleanup(REC_TOMB, &t);
		d->token_revoked = store_reply_int(store_reply_elem(r, 2)) == 1;
		return;
	}
	if (reply_elem_rec(r, 1, REC_GRANT, &g) != BK_OK)
		return;
	d->tok.internal_id = g.internal_id;
	d->tok.user = g.user;
	d->tok.extension = g.extension;
	g.internal_id = g.user = g.extension = NULL;
	rec_cleanup(REC_GRANT, &g);
}

/* The redemption script's answer into d (its token owned by d). */
static int
redeem_parse(int rv, const struct store_reply *r, struct store_redeemed *d)
{
	size_t	 i;

	memset(d, 0, sizeof(*d));
	d->verdict = STORE_REDEEM_BADTYPE;
	if (rv != BK_OK)
		return rv;
	for (i = 0; i < BK_NELEM(redeem_answers); i++)
		if (store_reply_is(store_reply_elem(r, 0),
		    redeem_answers[i].answer))
			d->verdict = redeem_answers[i].verdict;
	if (d->verdict == STORE_REDEEM_OK) {
		if (reply_elem_rec(r, 1, REC_TOKEN, &d->tok) != BK_OK)
			rv = BK_E_STORE_RECORD;
		d->ttl = store_reply_int(store_reply_elem(r, 2));
	} else if (d->verdict != STORE_REDEEM_BADTYPE)
		redeem_user(r, d);
	if (d->verdict == STORE_REDEEM_MISMATCH)
		d->why = redeem_why(r);
	return rv;
}

static void
redeem_reply(struct sop *o, int rv, const struct store_reply *r)
{
	struct store_redeemed	 d;

	rv = redeem_parse(rv, r, &d);
	o->cb.redeem(o->arg, rv, rv == BK_OK ? &d : NULL);
	rec_cleanup(REC_TOKEN, &d.tok);
}

/*
 * With replicas, the script's answer is kept until WAIT 1 (sent right
 * after it on the same connection, so it covers the script's writes) says
 * a replica has the redemption: a token is handed out only for a
 * redemption a failover cannot undo.  Without a confirmation the code
 * stays used on this master and the panel gets BK_E_STORE_REPLICA.
 */
struct redeem_wait {
	int			 rv;
	int			 kept;		/* the script answered */
	int			 refs;		/* the two replies */
	struct store_redeemed	 d;
};

static void
redeem_wait_unref(struct redeem_wait *w)
{
	if (--w->refs > 0)
		return;
	if (w->kept)
		rec_cleanup(REC_TOKEN, &w->d.tok);
	free(w);
}

/* The script's answer, kept for the WAIT that follows it. */
static void
redeem_keep(struct sop *o, int rv, const struct store_reply *r)
{
	struct redeem_wait	*w = o->ctx;

	w->rv = redeem_parse(rv, r, &w->d);
	w->kept = 1;
	redeem_wait_unref(w);
}

static void
redeem_wait_drop(struct sop *o)
{
	redeem_wait_unref(o->ctx);
}

static void
redeem_wait_reply(struct sop *o, int rv, const struct store_reply *r)
{
	struct redeem_wait	*w = o->ctx;

	if (!w->kept)		/* WAIT could not be sent: no answer yet */
		w->rv = rv != BK_OK ? rv : BK_E_STORE_DOWN;
	else if (w->rv == BK_OK && w->d.verdict == STORE_REDEEM_OK &&
	    (rv != BK_OK || store_reply_int(r) < 1)) {
		log_warnx("redis: no replica confirmed a code's redemption "
		    "within %d ms; the token is not handed out",
		    STORE_REPLICA_WAIT_MS);
		w->rv = BK_E_STORE_REPLICA;
	}
	o->cb.redeem(o->arg, w->rv, w->rv == BK_OK && w->kept ? &w->d : NULL);
	redeem_wait_unref(w);
}

/* Script, then WAIT 1, pipelined; the answer once both are in. */
static void
redeem_send_waiting(struct store *s, struct sop *o, const char **args)
{
	struct redeem_wait	*w = calloc(1, sizeof(*w));
	struct sop		*k = w != NULL ? sop_new(NULL, redeem_keep) :
	    NULL;
	char			 ms[16];
	const char		*argv[3] = { "WAIT", "1", ms };

	if (k == NULL) {
		free(w);
		sop_done(BK_E_NOMEM, NULL, o);
		return;
	}
	snprintf(ms, sizeof(ms), "%d", STORE_REPLICA_WAIT_MS);
	w->refs = 2;
	k->ctx = w;
	o->ctx = w;
	o->reply = redeem_wait_reply;
	o->drop = redeem_wait_drop;
	w->rv = BK_E_STORE_DOWN;
	sop_eval(s, k, store_lua_redeem, 5, 16, args);
	sop_cmd(s, o, 3, argv);
}

void
store_code_redeem(struct store *s, const struct store_redeem_in *in,
    store_redeem_cb *cb, void *arg)
{
	struct sop	*o = sop_new(arg, redeem_reply);
	struct skeys	 ks;
	char		 tdig[BK_DIGEST_HEX + 1], now[24], sttl[24], cttl[24];
	const char	*args[16];

	if (o == NULL) {
		cb(arg, BK_E_NOMEM, NULL);
		return;
	}
	memset(&ks, 0, sizeof(ks));
	o->cb.redeem = cb;
	bk_sha256_hex(in->token, strlen(in->token), tdig);
	ttl_str(now, sizeof(now), in->now);
	ttl_str(sttl, sizeof(sttl), in->session_ttl);
	ttl_str(cttl, sizeof(cttl), in->code_ttl);
	args[0] = skeys_add(&ks, store_key_digest(in->tenant, "code",
	    in->code));
	args[1] = skeys_add(&ks, store_key_digest(in->tenant, "codeused",
	    in->code));
	args[2] = skeys_add(&ks, store_key(in->tenant, "sfdc", NULL));
	args[3] = skeys_add(&ks, store_key(in->tenant, "ugen", NULL));
	args[4] = skeys_add(&ks, store_key(in->tenant, "sso", NULL));
	args[5] = in->client_id;
	args[6] = in->redirect_uri;
	args[7] = in->challenge;
	args[8] = tdig;
	args[9] = skeys_add(&ks, store_key(in->tenant, "tok", ""));
	args[10] = skeys_add(&ks, store_key(in->tenant, "utok", ""));
	args[11] = in->tenant;
	args[12] = now;
	args[13] = sttl;
	args[14] = cttl;
	args[15] = skeys_add(&ks, store_key(in->tenant, "stok", ""));
	if (ks.nomem)
		sop_done(BK_E_NOMEM, NULL, o);
	else if (s->replicas > 0)
		redeem_send_waiting(s, o, args);
	else
		sop_eval(s, o, store_lua_redeem, 5, 16, args);
	skeys_free(&ks);
}

/* --- tokens --- */

static void
token_reply(struct sop *o, int rv, const struct store_reply *r)
{
	struct rec_token t;
	int		 ok = reply_plain_rec(rv, r, REC_TOKEN, &t) == BK_OK;

	o->cb.token(o->arg, rv, ok ? &t : NULL);
	rec_cleanup(REC_TOKEN, &t);
}

void
store_token_get(struct store *s, const char *tenant, const char *token,
    store_token_cb *cb, void *arg)
{
	struct sop	*o = sop_new(arg, token_reply);
	struct skeys	 ks;
	const char	*args[3];

	if (o == NULL) {
		cb(arg, BK_E_NOMEM, NULL);
		return;
	}
	o->cb.token = cb;
	/* Its generation checked too: SSO off voids it (store_sso.h). */
	memset(&ks, 0, sizeof(ks));
	args[0] = skeys_add(&ks, store_key_digest(tenant, "tok", token));
	args[1] = skeys_add(&ks, store_key(tenant, "ugen", NULL));
	args[2] = skeys_add(&ks, store_key(tenant, "sso", NULL));
	if (ks.nomem)
		sop_done(BK_E_NOMEM, NULL, o);
	else
		sop_eval(s, o, store_lua_token_get, 3, 3, args);
	skeys_free(&ks);
}

static void
revoke_reply(struct sop *o, int rv, const struct store_reply *r)
{
	long long	 n = rv == BK_OK ? store_reply_int(r) : 0;

	o->cb.revoke(o->arg, rv, n == 1 ? STORE_REVOKE_DONE :
	    n == -1 ? STORE_REVOKE_OTHER_CLIENT : STORE_REVOKE_UNKNOWN);
}

void
store_token_revoke(struct store *s, const char *tenant, const char *token,
    const char *client_id, store_revoke_cb *cb, void *arg)
{
	struct sop	*o = sop_new(arg, revoke_reply);
	struct skeys	 ks;
	const char	*args[3];

	if (o == NULL) {
		cb(arg, BK_E_NOMEM, STORE_REVOKE_UNKNOWN);
		return;
	}
	memset(&ks, 0, sizeof(ks));
	o->cb.revoke = cb;
	args[0] = skeys_add(&ks, store_key_digest(tenant, "tok", token));
	args[1] = client_id;
	args[2] = skeys_add(&ks, store_key(tenant, "utok", ""));
	if (ks.nomem)
		sop_done(BK_E_NOMEM, NULL, o);
	else
		sop_eval(s, o, store_lua_revoke, 1, 3, args);
	skeys_free(&ks);
}

/* --- sign-out --- */

/*
 * End one browser session and every panel token minted from it: the
 * session key, its token set, and their entries in the user's indexes.
 * p is the tenant's key prefix, d the digest of the session cookie.
 */
#define LUA_END_SESSION_FN \
	"local function end_session(p, d)\n" \
	"  local sk, tk = p .. 'sess:' .. d, p .. 'stok:' .. d\n" \
	"  local s = redis.call('GET', sk)\n" \
	"  local id, n = false, 0\n" \
	"  if s then\n" \
	"    local ok, o = pcall(cjson.decode, s)\n" \
	"    if ok and type(o) == 'table' and type(o.internal_id) == " \
	    "'string' then\n" \
	"      id = o.internal_id\n" \
	"    end\n" \
	"  end\n" \
	"  if redis.call('TYPE', tk).ok == 'set' then\n" \
	"    for _, k in ipairs(redis.call('SMEMBERS', tk)) do\n" \
	"      n = n + redis.call('DEL', k)\n" \
	"      if id then redis.call('SREM', p .. 'utok:' .. id, k) end\n" \
	"    end\n" \
	"  end\n" \
	"  if id then redis.call('SREM', p .. 'usess:' .. id, sk) end\n" \
	"  redis.call('DEL', sk, tk)\n" \
	"  return s, n\n" \
	"end\n"

/*
 * Sign-out in this browser: n sessions, each with its tokens, in one step.
 * ARGV: n x (tenant key prefix, digest of the session cookie).
 * Returns "OK".
 */
const char store_lua_sessions_end[] =
	LUA_END_SESSION_FN
	"for i = 1, #ARGV, 2 do end_session(ARGV[i], ARGV[i + 1]) end\n"
	"return 'OK'\n";

/*
 * Single logout from the IdP: the sessions of one NameID (and, when the
 * LogoutRequest names any, of one of its SessionIndex values), each with
 * its tokens, after the request's ID is remembered (replay).  A session
 * of another NameID is never touched, even if listed.
 * ARGV: 1 tenant key prefix, 2 the NameID's session index key, 3 NameID,
 *   4 replay key, 5 replay TTL, 6 count of SessionIndex values, 7.. them.
 * Returns {"replay"} | {"ok", n x (session record, tokens ended)}.
 */
const char store_lua_slo_end[] =
	LUA_END_SESSION_FN
	"if redis.call('SET', ARGV[4], '1', 'NX', 'EX', ARGV[5]) == false "
	    "then\n"
	"  return {'replay'}\n"
	"end\n"
	"local out = {'ok'}\n"
	"if redis.call('TYPE', ARGV[2]).ok ~= 'set' then return out end\n"
	"local n = tonumber(ARGV[6])\n"
	"for _, d in ipairs(redis.call('SMEMBERS', ARGV[2])) do\n"
	"  local s = redis.call('GET', ARGV[1] .. 'sess:' .. d)\n"
	"  local ok, o = false, nil\n"
	"  if s then ok, o = pcall(cjson.decode, s) end\n"
	"  if not s then\n"
	"    redis.call('SREM', ARGV[2], d)\n"
	"  elseif ok and type(o) == 'table' and o.name_id == ARGV[3] then\n"
	"    local m = n == 0\n"
	"    for i = 1, n do\n"
	"      if o.session_index == ARGV[6 + i] then m = true end\n"
	"    end\n"
	"    if m then\n"
	"      local rec, t = end_session(ARGV[1], d)\n"
	"      redis.call('SREM', ARGV[2], d)\n"
	"      out[#out + 1] = rec\n"
	"      out[#out + 1] = t\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return out\n";

void
store_sessions_end(struct store *s, size_t n, const char *const *tenants,
    const char *const *cookies, store_done_cb *cb, void *arg)
{
	struct sop	*o = sop_new(arg, signin_put_reply);
	struct skeys	 ks;
	const char	*argv[2 * BK_NELEM(ks.k)];
	char		 d[BK_NELEM(ks.k)][BK_DIGEST_HEX + 1];
	size_t		 i;

	if (o == NULL) {
		cb(arg, BK_E_NOMEM);
		return;
	}
	memset(&ks, 0, sizeof(ks));
	o->cb.done = cb;
	for (i = 0; i < n && i < BK_NELEM(ks.k); i++) {
		argv[2 * i] = skeys_add(&ks, store_key(tenants[i], "", NULL));
		bk_sha256_hex(cookies[i], strlen(cookies[i]), d[i]);
		argv[2 * i + 1] = d[i];
	}
	if (n == 0)
		sop_done(BK_OK, NULL, o);
	else if (ks.nomem)
		sop_done(BK_E_NOMEM, NULL, o);
	else
		sop_eval(s, o, store_lua_sessions_end, 0, (int)(2 * i), argv);
	skeys_free(&ks);
}

static void
slo_end_reply(struct sop *o, int rv, const struct store_reply *r)
{
	struct store_slo_ended	 e;
	size_t			 i, n;

	memset(&e, 0, sizeof(e));
	if (rv == BK_OK && store_reply_is(store_reply_elem(r, 0), "replay"))
		e.replay = 1;
	else if (rv == BK_OK && !store_reply_is(store_reply_elem(r, 0), "ok"))
		rv = BK_E_STORE_RECORD;
	n = rv == BK_OK && !e.replay ? store_reply_count(r) : 0;
	for (i = 1; i + 1 < n && e.n < BK_NELEM(e.sess); i += 2) {
		/* an unreadable record still ended: counted, unnamed */
		(void)reply_elem_rec(r, i, REC_SESSION, &e.sess[e.n]);
		e.tokens += store_reply_int(store_reply_elem(r, i + 1));
		e.n++;
	}
	if (n > 1)
		e.total = (n - 1) / 2;
	o->cb.slo(o->arg, rv, rv == BK_OK ? &e : NULL);
	for (i = 0; i < e.n; i++)
		rec_cleanup(REC_SESSION, &e.sess[i]);
}

void
store_slo_end(struct store *s, const struct store_slo_in *in,
    store_slo_cb *cb, void *arg)
{
	struct sop	*o = sop_new(arg, slo_end_reply);
	struct skeys	 ks;
	const char	*argv[6 + 4];
	char		 ttl[24], cnt[8];
	size_t		 i;

	if (o == NULL) {
		cb(arg, BK_E_NOMEM, NULL);
		return;
	}
	memset(&ks, 0, sizeof(ks));
	o->cb.slo = cb;
	argv[0] = skeys_add(&ks, store_key(in->tenant, "", NULL));
	argv[1] = skeys_add(&ks, store_key_digest(in->tenant, "slo",
	    in->name_id));
	argv[2] = in->name_id;
	argv[3] = skeys_add(&ks, store_key_digest(in->tenant, "sloreplay",
	    in->proof));
	ttl_str(ttl, sizeof(ttl), in->proof_ttl < 60 ? 60 : in->proof_ttl);
	argv[4] = ttl;
	for (i = 0; i < in->n_si && i < 4; i++)
		argv[6 + i] = in->session_index[i];
	snprintf(cnt, sizeof(cnt), "%zu", i);
	argv[5] = cnt;
	if (ks.nomem)
		sop_done(BK_E_NOMEM, NULL, o);
	else
		sop_eval(s, o, store_lua_slo_end, 0, (int)(6 + i), argv);
	skeys_free(&ks);
}
