/*
 * sso-broker: the admin's store operations (store_admin.h).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The user mapping (read at one instant, an import applied all or
 * nothing, one profile written or deleted), a user's revocation and the
 * user counts: their scripts, keys, argument order and reply parsing.
 * Each script runs atomically in Redis; every write checks the mapping
 * version (or the profile) the caller read, so a concurrent change is
 * refused, never overwritten.  Revoking a user deletes the tokens and
 * sessions listed in the user's index sets.
 * Trust: ARGV values are computed by the broker; stored values are
 * untrusted and parsed strictly again in C.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bk.h"
#include "pol.h"
#include "store_admin.h"
#include "store_int.h"
#include "store_snap.h"

/* Revoke a user's tokens and browser sessions (used by several scripts). */
#define LUA_REVOKE_FN \
	"local function revoke_user(utok, usess)\n" \
	"  local n, m = 0, 0\n" \
	"  for _, k in ipairs(redis.call('SMEMBERS', utok)) do\n" \
	"    n = n + redis.call('DEL', k)\n" \
	"  end\n" \
	"  for _, k in ipairs(redis.call('SMEMBERS', usess)) do\n" \
	"    m = m + redis.call('DEL', k)\n" \
	"  end\n" \
	"  redis.call('DEL', utok, usess)\n" \
	"  return n, m\n" \
	"end\n"

#define SA_XSTR(x)	#x
#define SA_STR(x)	SA_XSTR(x)

/*
 * Move the mapping version on and record, in the tenant's change log
 * (store_snap.h), the internal IDs this write touched.  A log that does
 * not end at the version this write started from (none yet, or a write
 * that did not log) begins again, with a new epoch.  A write touching
 * more IDs than a reader takes one by one starts the log at its own
 * version (a copy from before it is read again whole).  The log keeps
 * at most 10,000 more IDs than there are profiles (the deleted ones):
 * the oldest go, and the log then starts at the last version dropped.
 * The sorted set of every internal ID (idx: the users page's paging
 * without a copy) follows the same IDs; when its size is not the
 * profiles' (before its first write, or after a write around the broker)
 * it is built again from HKEYS.
 */
#define LUA_LOG_FN \
	"local function log_change(ver, log, chg, users, ids, idx)\n" \
	"  for _, id in ipairs(ids) do\n" \
	"    if redis.call('HEXISTS', users, id) == 1 then\n" \
	"      redis.call('ZADD', idx, 0, id)\n" \
	"    else redis.call('ZREM', idx, id) end\n" \
	"  end\n" \
	"  if redis.call('ZCARD', idx) ~= redis.call('HLEN', users) then\n" \
	"    redis.call('DEL', idx)\n" \
	"    local all, a = redis.call('HKEYS', users), {}\n" \
	"    for i, id in ipairs(all) do\n" \
	"      a[#a + 1] = 0; a[#a + 1] = id\n" \
	"      if #a >= 2000 or i == #all then\n" \
	"        redis.call('ZADD', idx, unpack(a)); a = {}\n" \
	"      end\n" \
	"    end\n" \
	"  end\n" \
	"  local old = redis.call('GET', ver) or '0'\n" \
	"  local new = redis.call('INCR', ver)\n" \
	"  if redis.call('HGET', log, 'at') ~= old then\n" \
	"    local t = redis.call('TIME')\n" \
	"    redis.call('DEL', chg)\n" \
	"    redis.call('HSET', log, 'from', old, 'epoch', t[1] .. '.' .. " \
	    "t[2])\n" \
	"  end\n" \
	"  redis.call('HSET', log, 'at', new)\n" \
	"  if #ids > " SA_STR(STORE_SNAP_SINCE_MAX) " then\n" \
	"    redis.call('DEL', chg)\n" \
	"    redis.call('HSET', log, 'from', new)\n" \
	"    return\n" \
	"  end\n" \
	"  for _, id in ipairs(ids) do redis.call('ZADD', chg, new, id) end\n" \
	"  local over = redis.call('ZCARD', chg) - redis.call('HLEN', users) " \
	    "- 10000\n" \
	"  if over > 0 then\n" \
	"    local last = redis.call('ZRANGE', chg, over - 1, over - 1, " \
	    "'WITHSCORES')\n" \
	"    redis.call('ZREMRANGEBYRANK', chg, 0, over - 1)\n" \
	"    redis.call('HSET', log, 'from', last[2])\n" \
	"  end\n" \
	"end\n"

/*
 * Every token and session of one user, and every code, consent
 * transaction and sign-in in flight: the generation bump voids whatever
 * recorded the old one (store_lua_issue, store_lua_redeem,
 * store_lua_session_authz compare it).
 * KEYS: 1 token index, 2 session index, 3 revocation generations.
 * ARGV: 1 internal ID.  Returns {tokens, sessions, new generation}.
 */
const char store_lua_user_revoke[] =
	LUA_REVOKE_FN
	"local n, m = revoke_user(KEYS[1], KEYS[2])\n"
	"local g = redis.call('HINCRBY', KEYS[3], ARGV[1], 1)\n"
	"return {n, m, g}\n";

/*
 * Apply a validated import all or nothing (BRIEF: atomic).  The version
 * check refuses a plan computed from a mapping that changed since.
 * KEYS: 1 users, 2 Salesforce index, 3 version, 4 revocation generations,
 *   5 change log, 6 changed IDs, 7 every ID (sorted).
 * ARGV: 1 expected version, 2 token-index prefix, 3 session-index prefix,
 *   then sections, each a count and its items:
 *   upserts (id, record), deletes (id), index deletes (key),
 *   index sets (key, id), revocations (id: its tokens and sessions end,
 *   its generation moves on, so codes and sign-ins in flight are void).
 */
const char store_lua_apply[] =
	LUA_REVOKE_FN
	LUA_LOG_FN
	"for _, k in ipairs({KEYS[1], KEYS[2]}) do\n"
	"  local t = redis.call('TYPE', k).ok\n"
	"  if t ~= 'hash' and t ~= 'none' then return 'badtype' end\n"
	"end\n"
	"if (redis.call('GET', KEYS[3]) or '0') ~= ARGV[1] then return "
	    "'conflict' end\n"
	"local i, ids = 4, {}\n"
	"local n = tonumber(ARGV[i]); i = i + 1\n"
	"for k = 1, n do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]); "
	    "ids[#ids + 1] = ARGV[i]; i = i + 2 end\n"
	"n = tonumber(ARGV[i]); i = i + 1\n"
	"for k = 1, n do redis.call('HDEL', KEYS[1], ARGV[i]); "
	    "ids[#ids + 1] = ARGV[i]; i = i + 1 end\n"
	"n = tonumber(ARGV[i]); i = i + 1\n"
	"for k = 1, n do redis.call('HDEL', KEYS[2], ARGV[i]); i = i + 1 end\n"
	"n = tonumber(ARGV[i]); i = i + 1\n"
	"for k = 1, n do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]); i "
	    "= i + 2 end\n"
	"n = tonumber(ARGV[i]); i = i + 1\n"
	"for k = 1, n do revoke_user(ARGV[2] .. ARGV[i], ARGV[3] .. ARGV[i]); "
	    "redis.call('HINCRBY', KEYS[4], ARGV[i], 1); i = i + 1 end\n"
	"log_change(KEYS[3], KEYS[5], KEYS[6], KEYS[1], ids, KEYS[7])\n"
	"return 'OK'\n";

/*
 * One profile written, if it is still what the caller read.
 * KEYS: 1 users, 2 Salesforce index, 3 version, 4 revocation generations,
 *   5 change log, 6 changed IDs, 7 every ID (sorted).
 * ARGV: 1 id, 2 expected current record ("" = must not exist), 3 new record,
 *   4 old Salesforce key (""), 5 new Salesforce key (""), 6 token-index
 *   prefix, 7 session-index prefix, 8 "1" when the user's sign-ins end
 *   (the Salesforce ID or the extension changes: issue 10 item 4).
 * Returns {"ok"} | {"conflict"} | {"dup", other id}.
 */
const char store_lua_user_set[] =
	LUA_REVOKE_FN
	LUA_LOG_FN
	"if (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then "
	    "return {'conflict'} end\n"
	"if ARGV[5] ~= '' then\n"
	"  local other = redis.call('HGET', KEYS[2], ARGV[5])\n"
	"  if other and other ~= ARGV[1] then return {'dup', other} end\n"
	"end\n"
	"if ARGV[4] ~= '' and ARGV[4] ~= ARGV[5] then\n"
	"  redis.call('HDEL', KEYS[2], ARGV[4])\n"
	"end\n"
	"if ARGV[8] == '1' then\n"
	"  revoke_user(ARGV[6] .. ARGV[1], ARGV[7] .. ARGV[1])\n"
	"  redis.call('HINCRBY', KEYS[4], ARGV[1], 1)\n"
	"end\n"
	"if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], ARGV[5], ARGV[1]) "
	    "end\n"
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])\n"
	"log_change(KEYS[3], KEYS[5], KEYS[6], KEYS[1], {ARGV[1]}, "
	    "KEYS[7])\n"
	"return {'ok'}\n";

/* The size of each given hash.  ARGV: hash keys (the admin's user counts). */
const char store_lua_hlen[] =
	"local r = {}\n"
	"for i, k in ipairs(ARGV) do r[i] = redis.call('HLEN', k) end\n"
	"return r\n";

/*
 * Delete one profile (and end its sessions), if unchanged since read.
 * KEYS: 1 users, 2 Salesforce index, 3 version, 4 revocation generations,
 *   5 change log, 6 changed IDs, 7 every ID (sorted).
 * ARGV: 1 id, 2 expected record, 3 its Salesforce key (""), 4 token-index
 *   prefix, 5 session-index prefix.
 */
const char store_lua_user_del[] =
	LUA_REVOKE_FN
	LUA_LOG_FN
	"if (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then "
	    "return {'conflict'} end\n"
	"if ARGV[3] ~= '' and redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[1] "
	    "then\n"
	"  redis.call('HDEL', KEYS[2], ARGV[3])\n"
	"end\n"
	"redis.call('HDEL', KEYS[1], ARGV[1])\n"
	"revoke_user(ARGV[4] .. ARGV[1], ARGV[5] .. ARGV[1])\n"
	"redis.call('HINCRBY', KEYS[4], ARGV[1], 1)\n"
	"log_change(KEYS[3], KEYS[5], KEYS[6], KEYS[1], {ARGV[1]}, "
	    "KEYS[7])\n"
	"return {'ok'}\n";

/* --- calls --- */

/* One operation in flight: the caller's typed callback and what the reply
   needs. */
struct sa_call {
	union {
		store_mapping_cb	*mapping;
		store_apply_cb		*apply;
		store_user_cb		*user;
		store_write_cb		*write;
		store_revoke_user_cb	*revoke;
		store_counts_cb		*counts;
	} cb;
	void	*arg;
	size_t	 n;	/* counts: tenants asked */
	char	*rec;	/* put: the record written */
};

static struct sa_call *
sa_call_new(void *arg)
{
	struct sa_call	*c = calloc(1, sizeof(*c));

	if (c != NULL)
		c->arg = arg;
	return c;
}

static void
sa_call_free(struct sa_call *c)
{
	free(c->rec);
	free(c);
}

/*
 * Run script for c; done(rv, reply, c) runs exactly once, at once (reply
 * NULL) if an argument is missing (out of memory) or the command cannot
 * be sent.
 */
static void
sa_eval(struct store *s, struct sa_call *c, store_cb *done,
    const char *script, int nkeys, int nargs, const char **args,
    const size_t *lens)
{
	int	 i, rv = BK_OK;

	for (i = 0; i < nargs; i++)
		if (args[i] == NULL)
			rv = BK_E_NOMEM;
	if (rv == BK_OK)
		rv = store_eval(s, done, c, script, nkeys, nargs, args, lens);
	if (rv != BK_OK)
		done(rv, NULL, c);
}

/* The tenant's keys every mapping write needs, returned-owned (NULL on
   ENOMEM): the scripts' seven KEYS in their order (users, Salesforce
   index, version, revocation generations, change log, changed IDs,
   every ID),
   then the token and session index prefixes. */
enum { SA_USERS, SA_SFDC, SA_VER, SA_UGEN, SA_LOG, SA_CHG, SA_IDS, SA_UTOK,
	SA_USESS, SA_NKEYS };
#define SA_NSKEYS	7	/* the scripts' KEYS */

static void
sa_keys(const char *tenant, char *k[SA_NKEYS])
{
	k[SA_USERS] = store_key(tenant, "users", NULL);
	k[SA_SFDC] = store_key(tenant, "sfdc", NULL);
	k[SA_VER] = store_key(tenant, "users:ver", NULL);
	k[SA_UGEN] = store_key(tenant, "ugen", NULL);
	k[SA_LOG] = store_key(tenant, "users:log", NULL);
	k[SA_CHG] = store_key(tenant, "users:chg", NULL);
	k[SA_IDS] = store_key(tenant, "users:ids", NULL);
	k[SA_UTOK] = store_key(tenant, "utok", "");
	k[SA_USESS] = store_key(tenant, "usess", "");
}

static void
sa_keys_free(char *k[SA_NKEYS])
{
	int	 i;

	for (i = 0; i < SA_NKEYS; i++)
		free(k[i]);
}

/* --- the mapping --- */

/* The profiles of a whole read -> m.  A profile that does not parse, or
   that names another internal ID than its field, fails. */
static int
sa_mapping_parse(const struct store_snap *sn, struct store_mapping *m)
{
	struct pol_user	 u;
	size_t		 i;
	int		 rv;

	memcpy(m->ver, sn->ver, sizeof(m->ver));
	if ((rv = pol_userset_new(&m->users)) != BK_OK)
		return rv;
	for (i = 0; i < sn->n; i++) {
		if ((rv = pol_user_parse(sn->recs[i].rec, sn->recs[i].len,
		    &u)) != BK_OK)
			return rv;
		if (u.f[POL_COL_INTERNAL_ID] == NULL ||
		    strcmp(u.f[POL_COL_INTERNAL_ID], sn->recs[i].id) != 0) {
			pol_user_cleanup(&u);
			return BK_E_STORE_RECORD;
		}
		if ((rv = pol_userset_add_take(m->users, &u)) != BK_OK) {
			pol_user_cleanup(&u);
			return rv;
		}
	}
	return BK_OK;
}

static void
sa_mapping_done(void *arg, int rv, struct store_snap *sn)
{
	struct sa_call		*c = arg;
	struct store_mapping	 m;

	memset(&m, 0, sizeof(m));
	if (rv == BK_OK)
		rv = sa_mapping_parse(sn, &m);
	c->cb.mapping(c->arg, rv, rv == BK_OK ? &m : NULL);
	pol_userset_free(m.users);
	sa_call_free(c);
}

void
store_mapping_read(struct store *s, const char *tenant, store_mapping_cb *cb,
    void *arg)
{
	struct sa_call	*c;

	if ((c = sa_call_new(arg)) == NULL) {
		cb(arg, BK_E_NOMEM, NULL);
		return;
	}
	c->cb.mapping = cb;
	store_snap_full(s, tenant, sa_mapping_done, c);
}

/* ARGV of store_lua_apply, counted before it is built. */
struct sa_argv {
	const char	**v;
	char		**own;	/* the strings built here */
	size_t		 n, nown, cap;
	int		 nomem;
};

static void
sa_argv_add(struct sa_argv *a, const char *s, char *owned)
{
	BK_ASSERT(a->n < a->cap);
	if (owned != NULL)
		a->own[a->nown++] = owned;
	if (s == NULL)
		a->nomem = 1;
	a->v[a->n++] = s != NULL ? s : "";
}

/* A section's item count, as a decimal argument. */
static void
sa_argv_count(struct sa_argv *a, size_t n)
{
	char	 b[24], *s;

	snprintf(b, sizeof(b), "%zu", n);
	s = bk_strdup(b);
	sa_argv_add(a, s, s);
}

static void
sa_argv_free(struct sa_argv *a)
{
	size_t	 i;

	for (i = 0; i < a->nown; i++)
		free(a->own[i]);
	free(a->own);
	free(a->v);
}

/* See store_lua_apply for the order. */
/*
 * Whether a field that says who signs in where changed: the Salesforce
 * ID (compared as its index key would be: case-insensitively) or the
 * extension.  A user's sign-ins end then (issue 10 item 4).
 */
static int
sa_field_differs(const char *a, const char *b, int nocase)
{
	a = a != NULL ? a : "";
	b = b != NULL ? b : "";
	return nocase ? strcasecmp(a, b) != 0 : strcmp(a, b) != 0;
}

static int
sa_user_moved(const struct pol_user *old, const struct pol_user *u)
{
	return sa_field_differs(old->f[POL_COL_SFDC_ID], u->f[POL_COL_SFDC_ID],
	    1) || sa_field_differs(old->f[POL_COL_EXTENSION],
	    u->f[POL_COL_EXTENSION], 0);
}

/* The plan's changed rows whose user moved: counted, or added to a. */
static size_t
sa_plan_moved(const struct pol_plan *p, struct sa_argv *a)
{
	const struct pol_row	*r;
	size_t			 i, j, n = 0;

	for (i = 0; i < p->n_rows; i++) {
		r = &p->rows[i];
		if (r->kind != POL_CHANGED || r->internal_id == NULL)
			continue;
		for (j = 0; j < r->n_changes; j++)
			if (r->changes[j].col == POL_COL_SFDC_ID ||
			    r->changes[j].col == POL_COL_EXTENSION)
				break;
		if (j == r->n_changes)
			continue;
		if (a != NULL)
			sa_argv_add(a, r->internal_id, NULL);
		n++;
	}
	return n;
}

static int
sa_apply_argv(char *k[SA_NKEYS], const char *ver, const struct pol_plan *p,
    struct sa_argv *a)
{
	size_t	 i;
	char	*rec;

	memset(a, 0, sizeof(*a));
	a->cap = 11 + 2 * p->n_upserts + 1 + p->n_deletes + 1 + p->n_index_del +
	    1 + 2 * p->n_index_set + 1 + p->n_deletes + p->n_rows;
	a->v = calloc(a->cap, sizeof(*a->v));
	a->own = calloc(a->cap, sizeof(*a->own));
	if (a->v == NULL || a->own == NULL)
		return BK_E_NOMEM;
	for (i = 0; i < SA_NSKEYS; i++)
		sa_argv_add(a, k[i], NULL);
	sa_argv_add(a, ver, NULL);
	sa_argv_add(a, k[SA_UTOK], NULL);
	sa_argv_add(a, k[SA_USESS], NULL);
	sa_argv_count(a, p->n_upserts);
	for (i = 0; i < p->n_upserts; i++) {
		rec = NULL;
		if (pol_user_build(&p->upserts[i], &rec) != BK_OK)
			a->nomem = 1;
		sa_argv_add(a, p->upserts[i].f[POL_COL_INTERNAL_ID], NULL);
		sa_argv_add(a, rec, rec);
	}
	sa_argv_count(a, p->n_deletes);
	for (i = 0; i < p->n_deletes; i++)
		sa_argv_add(a, p->deletes[i], NULL);
	sa_argv_count(a, p->n_index_del);
	for (i = 0; i < p->n_index_del; i++)
		sa_argv_add(a, p->index_del[i], NULL);
	sa_argv_count(a, p->n_index_set);
	for (i = 0; i < p->n_index_set; i++) {
		sa_argv_add(a, p->index_set[2 * i], NULL);
		sa_argv_add(a, p->index_set[2 * i + 1], NULL);
	}
	/* Sign-ins end for deleted profiles and changed ways in (item 4). */
	sa_argv_count(a, p->n_deletes + sa_plan_moved(p, NULL));
	for (i = 0; i < p->n_deletes; i++)
		sa_argv_add(a, p->deletes[i], NULL);
	sa_plan_moved(p, a);
	return a->nomem ? BK_E_NOMEM : BK_OK;
}

static void
sa_apply_done(int rv, const struct store_reply *r, void *arg)
{
	struct sa_call		*c = arg;
	enum store_apply_result	 res = STORE_APPLY_REFUSED;

	if (rv == BK_OK && store_reply_is(r, "OK"))
		res = STORE_APPLY_OK;
	else if (rv == BK_OK && store_reply_is(r, "conflict"))
		res = STORE_APPLY_CONFLICT;
	c->cb.apply(c->arg, rv, res);
	sa_call_free(c);
}

void
store_mapping_apply(struct store *s, const char *tenant, const char *ver,
    const struct pol_plan *plan, store_apply_cb *cb, void *arg)
{
	struct sa_call	*c;
	struct sa_argv	 a;
	char		*k[SA_NKEYS];

	if ((c = sa_call_new(arg)) == NULL) {
		cb(arg, BK_E_NOMEM, STORE_APPLY_REFUSED);
		return;
	}
	c->cb.apply = cb;
	sa_keys(tenant, k);
	if (sa_apply_argv(k, ver, plan, &a) != BK_OK)
		sa_apply_done(BK_E_NOMEM, NULL, c);
	else
		sa_eval(s, c, sa_apply_done, store_lua_apply, SA_NSKEYS,
		    (int)a.n, a.v,
		    NULL);
	sa_argv_free(&a);
	sa_keys_free(k);
}

/* --- one profile --- */

void
store_user_cleanup(struct store_user *u)
{
	pol_user_cleanup(&u->user);
	free(u->stored);
	memset(u, 0, sizeof(*u));
}

void
store_user_move(struct store_user *dst, struct store_user *src)
{
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

static void
sa_user_done(int rv, const struct store_reply *r, void *arg)
{
	struct sa_call		*c = arg;
	struct store_user	 u;
	const char		*rec;
	size_t			 len;

	memset(&u, 0, sizeof(u));
	if (rv == BK_OK && (rec = store_reply_str(r, &len)) != NULL) {
		u.found = 1;
		if ((rv = pol_user_parse(rec, len, &u.user)) == BK_OK &&
		    (u.stored = strndup(rec, len)) == NULL)
			rv = BK_E_NOMEM;
	}
	c->cb.user(c->arg, rv, rv == BK_OK ? &u : NULL);
	store_user_cleanup(&u);
	sa_call_free(c);
}

void
store_user_get(struct store *s, const char *tenant, const char *id,
    store_user_cb *cb, void *arg)
{
	struct sa_call	*c;
	char		*key;
	const char	*argv[3];
	int		 rv = BK_E_NOMEM;

	if ((c = sa_call_new(arg)) == NULL) {
		cb(arg, BK_E_NOMEM, NULL);
		return;
	}
	c->cb.user = cb;
	argv[0] = "HGET";
	argv[1] = key = store_key(tenant, "users", NULL);
	argv[2] = id;
	if (key != NULL)
		rv = store_cmdv(s, sa_user_done, c, 3, argv);
	if (rv != BK_OK)
		sa_user_done(rv, NULL, c);
	free(key);
}

/* The Salesforce index key of u ("" when u has no Salesforce ID). */
static int
sa_sfdc_key(const struct pol_user *u, char **out)
{
	const char	*why;

	if (u->f[POL_COL_SFDC_ID] == NULL || u->f[POL_COL_SFDC_ID][0] == '\0')
		return (*out = bk_strdup("")) != NULL ? BK_OK : BK_E_NOMEM;
	return pol_sfdc_key(u->f[POL_COL_SFDC_ID], out, &why);
}

/* {"ok"} | {"conflict"} | {"dup", other id}; after a put, the profile. */
static int
sa_write_parse(const struct store_reply *r, const char *rec,
    struct store_written *w)
{
	const struct store_reply *st = store_reply_elem(r, 0);
	const char	*other;
	size_t		 len;

	if (store_reply_is(st, "conflict")) {
		w->result = STORE_WRITE_CONFLICT;
		return BK_OK;
	}
	if (store_reply_is(st, "dup")) {
		w->result = STORE_WRITE_DUP;
		if ((other = store_reply_str(store_reply_elem(r, 1),
		    &len)) == NULL) {
			other = "?";
			len = 1;
		}
		if (len >= sizeof(w->other))
			len = sizeof(w->other) - 1;
		memcpy(w->other, other, len);
		return BK_OK;
	}
	if (!store_reply_is(st, "ok"))
		return BK_E_STORE_REPLY;
	w->result = STORE_WRITE_OK;
	return rec != NULL ? pol_user_parse(rec, strlen(rec), &w->user) : BK_OK;
}

static void
sa_write_done(int rv, const struct store_reply *r, void *arg)
{
	struct sa_call		*c = arg;
	struct store_written	 w;

	memset(&w, 0, sizeof(w));
	if (rv == BK_OK)
		rv = sa_write_parse(r, c->rec, &w);
	c->cb.write(c->arg, rv, rv == BK_OK ? &w : NULL);
	pol_user_cleanup(&w.user);
	sa_call_free(c);
}

/* A put (u) or a delete (u NULL) of id, if old is still what is stored. */
static void
sa_write(struct store *s, const char *tenant, const char *id,
    const struct store_user *old, const struct pol_user *u,
    store_write_cb *cb, void *arg)
{
	struct sa_call	*c;
	char		*k[SA_NKEYS], *okey = NULL, *nkey = NULL;
	const char	*args[SA_NSKEYS + 8];
	int		 rv, i;

	if ((c = sa_call_new(arg)) == NULL) {
		cb(arg, BK_E_NOMEM, NULL);
		return;
	}
	c->cb.write = cb;
	sa_keys(tenant, k);
	if (old->found)
		rv = sa_sfdc_key(&old->user, &okey);
	else
		rv = (okey = bk_strdup("")) != NULL ? BK_OK : BK_E_NOMEM;
	if (rv == BK_OK && u != NULL)
		rv = pol_user_build(u, &c->rec);
	if (rv == BK_OK && u != NULL)
		rv = sa_sfdc_key(u, &nkey);
	if (rv != BK_OK) {
		sa_write_done(rv, NULL, c);
		goto out;
	}
	/* See store_lua_user_set and store_lua_user_del for the order. */
	for (i = 0; i < SA_NSKEYS; i++)
		args[i] = k[i];
	args[SA_NSKEYS] = id;
	args[SA_NSKEYS + 1] = old->found ? old->stored : "";
	if (u != NULL) {
		args[SA_NSKEYS + 2] = c->rec;
		args[SA_NSKEYS + 3] = okey;
		args[SA_NSKEYS + 4] = nkey;
		args[SA_NSKEYS + 5] = k[SA_UTOK];
		args[SA_NSKEYS + 6] = k[SA_USESS];
		args[SA_NSKEYS + 7] = old->found &&
		    sa_user_moved(&old->user, u) ? "1" : "0";
		sa_eval(s, c, sa_write_done, store_lua_user_set, SA_NSKEYS,
		    SA_NSKEYS + 8, args, NULL);
	} else {
		args[SA_NSKEYS + 2] = okey;
		args[SA_NSKEYS + 3] = k[SA_UTOK];
		args[SA_NSKEYS + 4] = k[SA_USESS];
		sa_eval(s, c, sa_write_done, store_lua_user_del, SA_NSKEYS,
		    SA_NSKEYS + 5, args, NULL);
	}
 out:
	free(okey);
	free(nkey);
	sa_keys_free(k);
}

void
store_user_put(struct store *s, const char *tenant, const char *id,
    const struct store_user *old, const struct pol_user *u,
    store_write_cb *cb, void *arg)
{
	BK_ASSERT(u != NULL);
	sa_write(s, tenant, id, old, u, cb, arg);
}

void
store_user_delete(struct store *s, const char *tenant, const char *id,
    const struct store_user *old, store_write_cb *cb, void *arg)
{
	BK_ASSERT(old->found);
	sa_write(s, tenant, id, old, NULL, cb, arg);
}

/* --- revocation and counts --- */

static void
sa_revoke_done(int rv, const struct store_reply *r, void *arg)
{
	struct sa_call		*c = arg;
	struct store_revoked	 x;

	memset(&x, 0, sizeof(x));
	if (rv == BK_OK) {
		x.tokens = store_reply_int(store_reply_elem(r, 0));
		x.sessions = store_reply_int(store_reply_elem(r, 1));
		x.gen = store_reply_int(store_reply_elem(r, 2));
	}
	c->cb.revoke(c->arg, rv, rv == BK_OK ? &x : NULL);
	sa_call_free(c);
}

void
store_user_revoke(struct store *s, const char *tenant, const char *id,
    store_revoke_user_cb *cb, void *arg)
{
	struct sa_call	*c;
	char		*utok, *usess, *ugen;
	const char	*args[4];

	if ((c = sa_call_new(arg)) == NULL) {
		cb(arg, BK_E_NOMEM, NULL);
		return;
	}
	c->cb.revoke = cb;
	/* See store_lua_user_revoke for the order. */
	args[0] = utok = store_key(tenant, "utok", id);
	args[1] = usess = store_key(tenant, "usess", id);
	args[2] = ugen = store_key(tenant, "ugen", NULL);
	args[3] = id;
	sa_eval(s, c, sa_revoke_done, store_lua_user_revoke, 3, 4, args, NULL);
	free(utok);
	free(usess);
	free(ugen);
}

static void
sa_counts_done(int rv, const struct store_reply *r, void *arg)
{
	struct sa_call	*c = arg;
	long long	*n = NULL;
	size_t		 i;

	if (rv == BK_OK && store_reply_count(r) != c->n)
		rv = BK_E_STORE_REPLY;
	if (rv == BK_OK && (n = calloc(c->n + 1, sizeof(*n))) == NULL)
		rv = BK_E_NOMEM;
	for (i = 0; rv == BK_OK && i < c->n; i++)
		n[i] = store_reply_int(store_reply_elem(r, i));
	c->cb.counts(c->arg, rv, rv == BK_OK ? n : NULL, c->n);
	free(n);
	sa_call_free(c);
}

void
store_user_counts(struct store *s, const char *const *tenants, size_t n,
    store_counts_cb *cb, void *arg)
{
	struct sa_call	*c;
	char		**keys = calloc(n + 1, sizeof(*keys));
	const char	**args = calloc(n + 1, sizeof(*args));
	size_t		 i;

	if (keys == NULL || args == NULL || (c = sa_call_new(arg)) == NULL) {
		free(keys);
		free(args);
		cb(arg, BK_E_NOMEM, NULL, n);
		return;
	}
	c->cb.counts = cb;
	c->n = n;
	for (i = 0; i < n; i++)
		args[i] = keys[i] = store_key(tenants[i], "users", NULL);
	/* The keys are ARGV: the tenants' keys need not share a slot. */
	sa_eval(s, c, sa_counts_done, store_lua_hlen, 0, (int)n, args, NULL);
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(args);
}
