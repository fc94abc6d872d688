/*
 * sso-broker: is the store fit for sign-ins?  Role, loading, and the data
 * marker.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Every second (and right after AUTH/SELECT on a new connection) the
 * store sends ROLE and GET bk:v1:marker, pipelined.  The probe's reply
 * time is held to the command timeout like any command, so a hung Redis
 * drops the connection within [redis] timeout_ms.  ROLE must say
 * "master": anything else (a demoted primary, a replica named by a stale
 * sentinel) drops the connection, and with sentinels the master is asked
 * for again.  GET is refused with LOADING while Redis reads its data
 * set; commands then stop until it answers.
 *
 * The marker: the first broker process to see a store with no marker
 * writes a random 64-bit value under bk:v1:marker (no TTL); every worker
 * of this broker remembers the value it saw first in a page shared by
 * the parent and its workers, which outlives worker restarts and reloads.
 * A marker that is later missing or different means the data the broker
 * was using is gone (Redis restarted without persistence, FLUSHALL,
 * eviction, a failover to a replica that had lost it, or another server):
 * /readyz answers 503 until the marker is back (restored data, or an
 * operator sets it, see docs/admin.md).  A broker started against an
 * already empty store cannot tell that from a first start.
 * Trust: replies are untrusted; the marker is parsed strictly.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <hiredis/hiredis.h>

#include "bk.h"
#include "conf.h"
#include "log.h"
#include "store_int.h"

#define STORE_MARKER_HEX	16

/* Create the marker only where there is none; answer the one in force. */
static const char store_lua_marker[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then\n"
    "  redis.call('SET', KEYS[1], ARGV[1])\n"
    "end\n"
    "return redis.call('GET', KEYS[1])\n";

/*
 * A tenant's own store (store_map.c) remembers its marker in a slot of
 * the same page, found by the target's address (host or socket, port,
 * database; with sentinels the master's name), so every worker of every
 * generation reads the same one.  Bounded: past STORE_SHARED_SLOTS
 * distinct targets a store remembers in its own process only (a
 * restarted worker then forgets, as without the page).
 */
#define STORE_SHARED_SLOTS	1024

struct store_shared_slot {
	uint64_t	key;		/* 0: free; claimed by CAS */
	uint64_t	marker;
};

struct store_shared {
	uint64_t	marker;		/* the default store's; 0: none yet */
	int		up_seen;	/* a worker's store was up (atomic) */
	struct store_shared_slot slot[STORE_SHARED_SLOTS];
};

static struct store_shared	*store_sh;
static struct store_shared	 store_sh_private;

int
store_shared_init(void)
{
	void	*p;

	if (store_sh != NULL)
		return BK_OK;
	p = mmap(NULL, sizeof(*store_sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		/* Per process then: a restarted worker forgets. */
		store_sh = &store_sh_private;
		return BK_E_NOMEM;
	}
	store_sh = p;
	return BK_OK;
}

void
store_shared_up(void)
{
	if (store_sh != NULL)
		__atomic_store_n(&store_sh->up_seen, 1, __ATOMIC_RELEASE);
}

int
store_shared_ready(void)
{
	return store_sh != NULL &&
	    __atomic_load_n(&store_sh->up_seen, __ATOMIC_ACQUIRE) != 0;
}

/* The slot key of s's target: never 0. */
static uint64_t
store_target_key(const struct store *s)
{
	const struct conf_redis	*rc = s->rc;
	unsigned char		 d[32];
	struct bk_buf		 b;
	uint64_t		 k = 0;
	size_t			 i;

	bk_buf_init(&b, 4096);
	if (rc->n_sentinels > 0)
		(void)bk_buf_addf(&b, "s:%s/%d", rc->master_name, rc->db);
	else if (rc->unix_path != NULL)
		(void)bk_buf_addf(&b, "u:%s/%d", rc->unix_path, rc->db);
	else
		(void)bk_buf_addf(&b, "h:%s:%d/%d", rc->host != NULL ?
		    rc->host : "", rc->port, rc->db);
	bk_sha256(b.data != NULL ? b.data : "", b.len, d);
	bk_buf_free(&b);
	for (i = 0; i < 8; i++)
		k = k << 8 | d[i];
	return k != 0 ? k : 1;
}

void
store_marker_slot_init(struct store *s)
{
	struct store_shared_slot	*sl;
	uint64_t			 key, cur;
	size_t				 i;

	s->marker = &s->marker_private;
	if (store_sh == NULL)
		return;
	if (s->is_default) {
		s->marker = &store_sh->marker;
		return;
	}
	key = store_target_key(s);
	for (i = 0; i < STORE_SHARED_SLOTS; i++) {
		sl = &store_sh->slot[(key + i) % STORE_SHARED_SLOTS];
		cur = 0;
		if (__atomic_compare_exchange_n(&sl->key, &cur, key, 0,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) || cur == key) {
			s->marker = &sl->marker;
			return;
		}
	}
	log_warnx("redis: the shared marker page is full; store %s "
	    "remembers its marker in this process only", s->name);
}

void
store_health_reset(struct store *s)
{
	s->selected = 0;
	s->probing = 0;
	s->marker_seen = 0;
	s->role_warned = 0;
	s->loading = 0;
}

static int
store_err_is(const char *msg, size_t len, const char *word)
{
	size_t	 n = strlen(word);

	return len >= n && memcmp(msg, word, n) == 0 &&
	    (len == n || msg[n] == ' ');
}

int
store_health_error(struct store *s, const char *msg, size_t len)
{
	if (store_err_is(msg, len, "LOADING")) {
		if (!s->loading)
			log_warnx_r(BK_E_STORE_LOADING,
			    "redis: the server is loading its data; waiting");
		s->loading = 1;
		s->up = 0;
		return 1;
	}
	if (store_err_is(msg, len, "READONLY") ||
	    store_err_is(msg, len, "MASTERDOWN")) {
		store_drop(s, BK_E_STORE_NOT_MASTER, s->sen != NULL ?
		    "the server is not the master; asking the sentinels" :
		    "the server is not the master");
		return 1;
	}
	if (store_err_is(msg, len, "NOSCRIPT") && s->up) {
		/* Scripts flushed under us: reconnect, which reloads them. */
		s->up = 0;
		redisAsyncDisconnect(s->ac);
	}
	return 0;
}

static void
store_marker_lost(struct store *s, uint64_t want, const char *what)
{
	if (!s->data_lost)
		log_warnx_r(BK_E_STORE_DATA_LOST, "redis: the marker key "
		    STORE_MARKER_KEY " %s (expected %016llx): Redis lost the "
		    "data this broker was using (restarted empty, flushed, "
		    "evicted, or another server); /readyz stays 503 until "
		    "the data is restored, or an operator accepts the loss "
		    "with: redis-cli -n %d SET " STORE_MARKER_KEY " %016llx "
		    "(store %s)", what, (unsigned long long)want, s->addr.db,
		    (unsigned long long)want, s->name);
	s->data_lost = 1;
}

static void
store_marker_ok(struct store *s)
{
	if (s->data_lost)
		log_info("redis: the marker key matches again; ready");
	s->data_lost = 0;
	s->marker_seen = 1;
}

static void store_marker_create(struct store *);

/* v: the marker's value, NULL when the key does not exist. */
static void
store_marker_check(struct store *s, const char *v, size_t len)
{
	uint64_t	 seen, m = 0;
	size_t		 i;

	seen = __atomic_load_n(s->marker, __ATOMIC_ACQUIRE);
	if (v == NULL) {
		/*
		 * Judge by what was known when the GET went out: another
		 * worker may have written the first marker since.
		 */
		if (s->marker_sent == 0)
			store_marker_create(s);
		else
			store_marker_lost(s, seen, "is missing");
		return;
	}
	for (i = 0; i < len && i < STORE_MARKER_HEX; i++) {
		if (!((v[i] >= '0' && v[i] <= '9') ||
		    (v[i] >= 'a' && v[i] <= 'f')))
			break;
		m = m << 4 | (uint64_t)(v[i] <= '9' ? v[i] - '0' :
		    v[i] - 'a' + 10);
	}
	if (len != STORE_MARKER_HEX || i != len || m == 0) {
		store_marker_lost(s, seen, "holds an unexpected value");
		return;
	}
	if (seen == 0 && !__atomic_compare_exchange_n(s->marker,
	    &seen, m, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) && seen != m) {
		store_marker_lost(s, seen, "changed");
		return;
	}
	if (seen != 0 && seen != m) {
		store_marker_lost(s, seen, "changed");
		return;
	}
	store_marker_ok(s);
}

static void
store_marker_created_cb(int rv, const struct store_reply *r, void *arg)
{
	struct store	*s = arg;
	const char	*v;
	size_t		 len;

	if (rv != BK_OK || s->ac == NULL ||
	    store_reply_type(r) != STORE_R_STRING)
		return;		/* the next probe tries again */
	v = store_reply_str(r, &len);
	store_marker_check(s, v, len);
}

static void
store_marker_create(struct store *s)
{
	unsigned char	 b[STORE_MARKER_HEX / 2];
	char		 hex[STORE_MARKER_HEX + 1];
	const char	*av[5];

	do {
		if (bk_random(b, sizeof(b)) != BK_OK)
			return;
	} while (memcmp(b, "\0\0\0\0\0\0\0\0", sizeof(b)) == 0);
	bk_hex(b, sizeof(b), hex);
	av[0] = "EVAL";
	av[1] = store_lua_marker;
	av[2] = "1";
	av[3] = STORE_MARKER_KEY;
	av[4] = hex;
	if (store_send(s, store_marker_created_cb, s, 5, av, NULL) == BK_OK)
		log_info("redis: no marker key yet; writing one");
}

static void
store_role_cb(int rv, const struct store_reply *r, void *arg)
{
	struct store			*s = arg;
	const struct store_reply	*e = store_reply_elem(r, 0);
	char				 why[128];
	size_t				 len;
	const char			*t;

	if (r == NULL || s->ac == NULL)
		return;		/* dropped: the reconnect probes again */
	if (rv == BK_E_STORE_REPLY) {
		/* An ACL without +role: say so, rely on READONLY. */
		if (!s->role_warned)
			log_warnx("redis: cannot check the server's role "
			    "(grant the broker's user +role)");
		s->role_warned = 1;
		return;
	}
	if (store_reply_is(e, "master")) {
		s->replicas = (int)store_reply_count(store_reply_elem(r, 2));
		return;
	}
	t = store_reply_str(e, &len);
	snprintf(why, sizeof(why), "the server's role is %.*s, not master",
	    t != NULL && len < 32 ? (int)len : 7, t != NULL && len < 32 ?
	    t : "unknown");
	/* A url that names a replica would say so every 2 s: not all. */
	store_drop(s, BK_E_STORE_NOT_MASTER, s->fails++ % 30 == 0 ? why : NULL);
}

static void
store_marker_cb(int rv, const struct store_reply *r, void *arg)
{
	struct store	*s = arg;
	const char	*v;
	size_t		 len;

	s->probing = 0;
	if (r == NULL || s->ac == NULL || rv != BK_OK)
		return;		/* LOADING and errors: logged, next probe */
	if (s->loading)
		log_info("redis: the server finished loading its data");
	s->loading = 0;
	if (store_reply_type(r) == STORE_R_NIL)
		store_marker_check(s, NULL, 0);
	else if ((v = store_reply_str(r, &len)) != NULL)
		store_marker_check(s, v, len);
	if (!s->up && s->selected && s->ac != NULL)
		store_go_up(s);
}

void
store_probe(struct store *s)
{
	const char	*role[1] = { "ROLE" };
	const char	*get[2] = { "GET", STORE_MARKER_KEY };

	gettimeofday(&s->probe_at, NULL);
	s->marker_sent = __atomic_load_n(s->marker, __ATOMIC_ACQUIRE);
	if (store_send(s, store_role_cb, s, 1, role, NULL) != BK_OK ||
	    store_send(s, store_marker_cb, s, 2, get, NULL) != BK_OK) {
		store_drop(s, BK_E_STORE_DOWN, "cannot send the probe");
		return;
	}
	s->probing = 1;
}

int
store_ready(const struct store *s)
{
	if (s == NULL)
		return BK_E_STORE_DOWN;
	if (s->sen != NULL && store_sentinel_hold(s))
		return BK_E_STORE_FAILOVER;
	if (s->loading)
		return BK_E_STORE_LOADING;
	if (!s->up)
		return BK_E_STORE_DOWN;
	if (s->data_lost)
		return BK_E_STORE_DATA_LOST;
	if (!s->marker_seen)
		return BK_E_STORE_DOWN;
	if (s->probing &&
	    store_ms_since(&s->probe_at) >= s->rc->timeout_ms)
		return BK_E_STORE_TIMEOUT;
	return BK_OK;
}
