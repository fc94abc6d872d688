/*
 * sso-broker: a tenant's mapping as stored records (store_snap.h).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Keys (the tenant's, as store_admin.c names them): users (hash), users:ver,
 * users:log (hash: from, at, epoch), users:chg and users:ids (sorted
 * sets), written by store_admin.c's scripts (LUA_LOG_FN there).  The
 * whole read sends its three commands in one go so they run in order on
 * one connection; the answers are copied into one buffer before the
 * last arrives.
 * Trust: every reply is checked for its type; records stay bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "store_int.h"
#include "store_snap.h"

/*
 * The mapping's head: {version, epoch}.  KEYS: 1 version, 2 log.
 */
const char store_lua_snap_head[] =
	"return {redis.call('GET', KEYS[1]) or '0', redis.call('HGET', "
	    "KEYS[2], 'epoch') or ''}\n";

/*
 * What changed since a copy.  KEYS: 1 users, 2 version, 3 log, 4 changes.
 * ARGV: 1 the copy's version, 2 its epoch, 3 the most changes handed out.
 * Returns {version, epoch, 'same'} | {version, epoch, 'full'} |
 *   {version, epoch, 'since', ids, records (false: deleted)}.
 */
const char store_lua_snap_since[] =
	"local cur = redis.call('GET', KEYS[2]) or '0'\n"
	"local log = redis.call('HMGET', KEYS[3], 'from', 'at', 'epoch')\n"
	"local ep = log[3] or ''\n"
	"if cur == ARGV[1] and ep == ARGV[2] then return {cur, ep, 'same'} "
	    "end\n"
	"local v, from = tonumber(ARGV[1]), tonumber(log[1])\n"
	"if ep ~= ARGV[2] or log[2] ~= cur or not from or not v or v < from "
	    "or v > tonumber(cur) then return {cur, ep, 'full'} end\n"
	"local ids = redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. ARGV[1], "
	    "'+inf', 'LIMIT', 0, tonumber(ARGV[3]) + 1)\n"
	"if #ids > tonumber(ARGV[3]) then return {cur, ep, 'full'} end\n"
	"if #ids == 0 then return {cur, ep, 'since', {}, {}} end\n"
	"return {cur, ep, 'since', ids, redis.call('HMGET', KEYS[1], "
	    "unpack(ids))}\n";

/*
 * One page in ID order.  KEYS: 1 users, 2 version, 3 log, 4 every ID.
 * ARGV: 1 the first rank, 2 how many.  Returns {version, epoch,
 * 'noindex'} | {version, epoch, 'page', total, ids, records}.
 */
const char store_lua_snap_page[] =
	"local cur = redis.call('GET', KEYS[2]) or '0'\n"
	"local ep = redis.call('HGET', KEYS[3], 'epoch') or ''\n"
	"local n = redis.call('HLEN', KEYS[1])\n"
	"if redis.call('ZCARD', KEYS[4]) ~= n then return {cur, ep, "
	    "'noindex'} end\n"
	"local from = tonumber(ARGV[1])\n"
	"local ids = redis.call('ZRANGE', KEYS[4], from, from + "
	    "tonumber(ARGV[2]) - 1)\n"
	"if #ids == 0 then return {cur, ep, 'page', n, {}, {}} end\n"
	"return {cur, ep, 'page', n, ids, redis.call('HMGET', KEYS[1], "
	    "unpack(ids))}\n";

struct ss_call {
	store_snap_cb	*cb;
	void		*arg;
	struct store	*s;
	char		*tenant;
	int		 pending;	/* replies of the whole read to come */
	int		 rv;		/* the first failure among them */
	int		 tries;
	int		 whole;		/* since: read everything if need be */
	size_t		 count;		/* page: how many asked */
	/* "version epoch" before and after the profiles */
	char		 head[2][STORE_MAPPING_VER_MAX + STORE_SNAP_EPOCH_MAX +
			    2];
	struct store_snap m;
};

static void
ss_snap_clear(struct store_snap *m)
{
	free(m->recs);
	free(m->buf);
	m->recs = NULL;
	m->buf = NULL;
	m->n = 0;
}

static void
ss_end(struct ss_call *c, int rv)
{
	c->cb(c->arg, rv, rv == BK_OK ? &c->m : NULL);
	ss_snap_clear(&c->m);
	free(c->tenant);
	free(c);
}

/* A string of at most max bytes into out (NUL-ended). */
static int
ss_str(const struct store_reply *r, char *out, size_t max)
{
	const char	*v;
	size_t		 len;

	if (store_reply_type(r) != STORE_R_STRING ||
	    (v = store_reply_str(r, &len)) == NULL || len > max ||
	    memchr(v, '\0', len) != NULL)
		return BK_E_STORE_REPLY;
	memcpy(out, v, len);
	out[len] = '\0';
	return BK_OK;
}

/* {version, epoch, ...} -> m's version and epoch. */
static int
ss_head(const struct store_reply *r, struct store_snap *m)
{
	int	 rv = ss_str(store_reply_elem(r, 0), m->ver,
	    STORE_MAPPING_VER_MAX);

	if (rv == BK_OK)
		rv = ss_str(store_reply_elem(r, 1), m->epoch,
		    STORE_SNAP_EPOCH_MAX);
	return rv;
}

/* len bytes of v, NUL-ended, at *at in buf (moved on); where they went. */
static const char *
ss_put(char *buf, size_t *at, const char *v, size_t len)
{
	char	*p = buf + *at;

	memcpy(p, v, len);
	p[len] = '\0';
	*at += len + 1;
	return p;
}

/*
 * n records into m: the i-th ID is element i * step of ids, its record
 * element i * step + off of vals (nil allowed only when deleted is 1).
 * Both are copied into one buffer.
 */
static int
ss_fill(struct store_snap *m, const struct store_reply *ids,
    const struct store_reply *vals, size_t n, size_t step, size_t off,
    int deleted)
{
	const struct store_reply *ir, *vr;
	const char	*id, *v;
	size_t		 i, idl, vl, total = 0, at = 0;

	for (i = 0; i < n; i++) {
		ir = store_reply_elem(ids, i * step);
		vr = store_reply_elem(vals, i * step + off);
		if (store_reply_type(ir) != STORE_R_STRING ||
		    (id = store_reply_str(ir, &idl)) == NULL || idl == 0 ||
		    memchr(id, '\0', idl) != NULL)
			return BK_E_STORE_REPLY;
		if (store_reply_type(vr) == STORE_R_NIL && deleted)
			vl = 0;
		else if (store_reply_type(vr) != STORE_R_STRING ||
		    store_reply_str(vr, &vl) == NULL)
			return BK_E_STORE_REPLY;
		total += idl + vl + 2;
	}
	if ((m->recs = calloc(n + 1, sizeof(*m->recs))) == NULL ||
	    (m->buf = malloc(total + 1)) == NULL)
		return BK_E_NOMEM;
	for (i = 0; i < n; i++) {
		id = store_reply_str(store_reply_elem(ids, i * step), &idl);
		vr = store_reply_elem(vals, i * step + off);
		m->recs[i].id = ss_put(m->buf, &at, id, idl);
		m->recs[i].id_len = idl;
		if (store_reply_type(vr) == STORE_R_NIL)
			continue;	/* deleted: rec stays NULL */
		v = store_reply_str(vr, &vl);
		m->recs[i].rec = ss_put(m->buf, &at, v, vl);
		m->recs[i].len = vl;
	}
	m->n = n;
	return BK_OK;
}

/* --- the whole mapping --- */

static void ss_full_send(struct ss_call *c);

static void
ss_full_reply(struct ss_call *c, int rv)
{
	if (rv != BK_OK && c->rv == BK_OK)
		c->rv = rv;
	if (--c->pending > 0)
		return;
	if (c->rv != BK_OK) {
		ss_end(c, c->rv);
		return;
	}
	if (strcmp(c->head[0], c->head[1]) == 0) {
		c->m.kind = STORE_SNAP_FULL;
		ss_end(c, BK_OK);
		return;
	}
	/* a write came between the heads: read again */
	ss_snap_clear(&c->m);
	if (++c->tries >= STORE_SNAP_TRIES)
		ss_end(c, BK_E_STORE_BUSY);
	else
		ss_full_send(c);
}

static void
ss_head_got(struct ss_call *c, int rv, const struct store_reply *r, int i)
{
	if (rv == BK_OK && (rv = ss_head(r, &c->m)) == BK_OK)
		snprintf(c->head[i], sizeof(c->head[i]), "%s %s", c->m.ver,
		    c->m.epoch);
	ss_full_reply(c, rv);
}

static void
ss_head0(int rv, const struct store_reply *r, void *arg)
{
	ss_head_got(arg, rv, r, 0);
}

static void
ss_head1(int rv, const struct store_reply *r, void *arg)
{
	ss_head_got(arg, rv, r, 1);
}

static void
ss_all(int rv, const struct store_reply *r, void *arg)
{
	struct ss_call	*c = arg;
	size_t		 n = store_reply_count(r);

	if (rv == BK_OK && store_reply_type(r) != STORE_R_ARRAY)
		rv = BK_E_STORE_REPLY;
	if (rv == BK_OK && n % 2 != 0)
		rv = BK_E_STORE_REPLY;
	if (rv == BK_OK)
		rv = ss_fill(&c->m, r, r, n / 2, 2, 1, 0);
	ss_full_reply(c, rv);
}

/* One command of the whole read; a send that fails counts as its reply. */
static void
ss_full_cmd(struct ss_call *c, store_cb *cb, int rv)
{
	c->pending++;
	if (rv != BK_OK)
		cb(rv, NULL, c);
}

static void
ss_full_send(struct ss_call *c)
{
	char		*users, *ver, *log;
	const char	*argv[2];
	int		 rv = BK_E_NOMEM;

	c->rv = BK_OK;
	c->pending = 1;		/* held until every command is sent */
	users = store_key(c->tenant, "users", NULL);
	ver = store_key(c->tenant, "users:ver", NULL);
	log = store_key(c->tenant, "users:log", NULL);
	if (users != NULL && ver != NULL && log != NULL) {
		argv[0] = ver;
		argv[1] = log;
		rv = store_eval(c->s, ss_head0, c, store_lua_snap_head, 2, 2,
		    argv, NULL);
		ss_full_cmd(c, ss_head0, rv);
		argv[0] = "HGETALL";
		argv[1] = users;
		ss_full_cmd(c, ss_all, rv == BK_OK ?
		    store_cmdv(c->s, ss_all, c, 2, argv) : rv);
		argv[0] = ver;
		argv[1] = log;
		ss_full_cmd(c, ss_head1, rv == BK_OK ?
		    store_eval(c->s, ss_head1, c, store_lua_snap_head, 2, 2,
		    argv, NULL) : rv);
	}
	free(users);
	free(ver);
	free(log);
	ss_full_reply(c, rv);	/* the hold */
}

static struct ss_call *
ss_call_new(struct store *s, const char *tenant, store_snap_cb *cb,
    void *arg)
{
	struct ss_call	*c = calloc(1, sizeof(*c));

	if (c == NULL || (c->tenant = bk_strdup(tenant)) == NULL) {
		free(c);
		cb(arg, BK_E_NOMEM, NULL);
		return NULL;
	}
	c->cb = cb;
	c->arg = arg;
	c->s = s;
	return c;
}

void
store_snap_full(struct store *s, const char *tenant, store_snap_cb *cb,
    void *arg)
{
	struct ss_call	*c;

	if ((c = ss_call_new(s, tenant, cb, arg)) != NULL)
		ss_full_send(c);
}

/*
 * Run script for c with KEYS users, users:ver, users:log and the set
 * named last, and ARGV argv[0..nargv); c ends at once if it cannot be
 * sent.
 */
static void
ss_eval4(struct ss_call *c, store_cb *cb, const char *script,
    const char *set, const char **argv, int nargv)
{
	static const char *const names[3] = { "users", "users:ver",
	    "users:log" };
	const char	*args[8];
	char		*k[4];
	int		 rv = BK_OK, i;

	BK_ASSERT(nargv <= 4);
	for (i = 0; i < 4; i++)
		if ((k[i] = store_key(c->tenant, i < 3 ? names[i] : set,
		    NULL)) == NULL)
			rv = BK_E_NOMEM;
	for (i = 0; i < 4 + nargv; i++)
		args[i] = i < 4 ? k[i] : argv[i - 4];
	if (rv == BK_OK)
		rv = store_eval(c->s, cb, c, script, 4, 4 + nargv, args, NULL);
	for (i = 0; i < 4; i++)
		free(k[i]);
	if (rv != BK_OK)
		ss_end(c, rv);
}

/* --- the changes since a copy --- */

static void
ss_since_got(int rv, const struct store_reply *r, void *arg)
{
	struct ss_call			*c = arg;
	const struct store_reply	*ids, *vals;

	if (rv == BK_OK && (rv = ss_head(r, &c->m)) == BK_OK) {
		if (store_reply_is(store_reply_elem(r, 2), "same")) {
			c->m.kind = STORE_SNAP_SAME;
		} else if (store_reply_is(store_reply_elem(r, 2), "full")) {
			if (c->whole) {
				memset(&c->m, 0, sizeof(c->m));
				ss_full_send(c);
				return;
			}
			c->m.kind = STORE_SNAP_STALE;
		} else if (store_reply_is(store_reply_elem(r, 2), "since")) {
			c->m.kind = STORE_SNAP_SINCE;
			ids = store_reply_elem(r, 3);
			vals = store_reply_elem(r, 4);
			if (store_reply_count(ids) != store_reply_count(vals) ||
			    store_reply_count(ids) > STORE_SNAP_SINCE_MAX)
				rv = BK_E_STORE_REPLY;
			else
				rv = ss_fill(&c->m, ids, vals,
				    store_reply_count(ids), 1, 0, 1);
		} else
			rv = BK_E_STORE_REPLY;
	}
	ss_end(c, rv);
}

void
store_snap_since(struct store *s, const char *tenant, const char *ver,
    const char *epoch, int whole, store_snap_cb *cb, void *arg)
{
	struct ss_call	*c;
	char		 lim[16];
	const char	*args[3];

	if ((c = ss_call_new(s, tenant, cb, arg)) == NULL)
		return;
	c->whole = whole;
	if (ver == NULL && whole) {
		ss_full_send(c);
		return;
	}
	if (ver == NULL) {
		c->m.kind = STORE_SNAP_STALE;
		ss_end(c, BK_OK);
		return;
	}
	snprintf(lim, sizeof(lim), "%d", STORE_SNAP_SINCE_MAX);
	args[0] = ver;
	args[1] = epoch != NULL ? epoch : "";
	args[2] = lim;
	ss_eval4(c, ss_since_got, store_lua_snap_since, "users:chg", args, 3);
}

/* --- one page in ID order --- */

static void
ss_page_got(int rv, const struct store_reply *r, void *arg)
{
	struct ss_call			*c = arg;
	const struct store_reply	*ids, *vals;
	long long			 total;
	size_t				 i, n;

	if (rv == BK_OK && (rv = ss_head(r, &c->m)) == BK_OK) {
		if (store_reply_is(store_reply_elem(r, 2), "noindex")) {
			memset(&c->m, 0, sizeof(c->m));
			ss_full_send(c);
			return;
		}
		ids = store_reply_elem(r, 4);
		vals = store_reply_elem(r, 5);
		n = store_reply_count(ids);
		total = store_reply_type(store_reply_elem(r, 3)) ==
		    STORE_R_INTEGER ? store_reply_int(store_reply_elem(r, 3)) :
		    -1;
		if (!store_reply_is(store_reply_elem(r, 2), "page") ||
		    total < 0 || n != store_reply_count(vals) || n > c->count)
			rv = BK_E_STORE_REPLY;
		else
			rv = ss_fill(&c->m, ids, vals, n, 1, 0, 1);
		for (i = 0; rv == BK_OK && i < n; i++)
			if (c->m.recs[i].rec == NULL) {
				/* a profile gone from under its ID: the set is
				   not to be trusted; read everything */
				ss_snap_clear(&c->m);
				memset(&c->m, 0, sizeof(c->m));
				ss_full_send(c);
				return;
			}
		c->m.kind = STORE_SNAP_PAGE;
		c->m.total = (size_t)total;
	}
	ss_end(c, rv);
}

void
store_snap_page(struct store *s, const char *tenant, size_t offset,
    size_t count, store_snap_cb *cb, void *arg)
{
	struct ss_call	*c;
	char		 off[24], cnt[24];
	const char	*args[2];

	if ((c = ss_call_new(s, tenant, cb, arg)) == NULL)
		return;
	c->count = count;
	snprintf(off, sizeof(off), "%zu", offset);
	snprintf(cnt, sizeof(cnt), "%zu", count);
	args[0] = off;
	args[1] = cnt;
	ss_eval4(c, ss_page_got, store_lua_snap_page, "users:ids", args, 2);
}
