/*
 * sso-broker: the Redis store (hiredis async on the worker's libevent loop).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Only store*.c include hiredis.  Commands go out with
 * redisAsyncCommandArgv() only (binary safe, never a format string with
 * user data).  Connect and command timeouts, reconnect with backoff, AUTH
 * (ACL user and password), SELECT, the role and data checks behind
 * /readyz, and Sentinel (asynchronous discovery, failover events) live
 * here.  While the connection is down every command fails at once with
 * BK_E_STORE_DOWN, so callers answer 503 and never block.
 * This header is the connection's life cycle only: the operations are
 * typed (store_signin.h, store_admin.h), and raw commands, replies, keys
 * and scripts are seen by store*.c alone (store_int.h).
 * Trust: replies come from outside the trust boundary; the operations
 * parse records strictly.
 */
#ifndef BK_STORE_H
#define BK_STORE_H

#include <stddef.h>

struct event_base;
struct conf;
struct conf_redis;
struct store;
/**
 * Create one of the worker's stores and start connecting.  Runs in a
 * worker.  A worker has one per distinct target (store_set.h).
 * @param base	borrowed, the worker's loop.
 * @param c	borrowed; must outlive the store.
 * @param rc	borrowed, the [redis] section it serves (&c->redis for the
 *		default store, or a tenant's); must outlive the store.
 * @param name	borrowed, copied: "default" or the tenant id, for logs and
 *		metrics (never a URL: it may carry a password).
 */
struct store *store_new(struct event_base *base, const struct conf *c,
    const struct conf_redis *rc, const char *name);
/** The store's name ("default" or a tenant id).  Borrowed, as s. */
const char *store_name(const struct store *s);
/** Disconnect (pending callbacks get BK_E_STORE_DOWN) and free. */
void	store_free(struct store *s);
/**
 * 1 while commands can be sent: connected, AUTH and SELECT done, the
 * server is a master (ROLE) and not loading its data.
 */
int	store_is_up(const struct store *s);
/**
 * Fit for sign-ins (what /readyz reports).  Runs in a worker.
 * @return BK_OK, or why not: BK_E_STORE_DOWN, BK_E_STORE_TIMEOUT (the
 *	last probe is unanswered after [redis] timeout_ms),
 *	BK_E_STORE_LOADING, BK_E_STORE_FAILOVER (a Sentinel failover of
 *	the master is under way) or BK_E_STORE_DATA_LOST (the marker key is
 *	missing or not the one first seen: see store_health.c).
 */
int	store_ready(const struct store *s);
/**
 * Map the page, shared by the parent and its workers, that remembers the
 * store's marker.  Idempotent; the parent calls it before the first
 * fork, store_new() calls it again (a no-op in a worker).
 * @return BK_OK or BK_E_NOMEM (then each process remembers on its own).
 */
int	store_shared_init(void);
/**
 * 1 once any worker's store has been up (connected, a master, its data
 * there): the parent's "ready" for systemd.  Any process.
 */
int	store_shared_ready(void);

/*
 * A worker's stores (store_map.c): the default one (broker.conf's
 * [redis]) and one per distinct target a tenant file's [redis] names.
 * Tenants naming the same target share a store; every store is a whole
 * connection (Sentinel, probe, marker).  Built and used in one worker.
 */
struct store_map;
struct conf_tenant;
/**
 * Create every store of c and start connecting.
 * @param c	borrowed; must outlive the map.
 * @return the map, or NULL (out of memory).
 */
struct store_map *store_map_new(struct event_base *base, const struct conf *c);
void	store_map_free(struct store_map *m);
/**
 * The store of tenant t (NULL: the default store).  Borrowed, valid while
 * m lives.
 */
struct store *store_map_tenant(const struct store_map *m,
    const struct conf_tenant *t);
/**
 * The same by tenant id; an id that is no tenant (STORE_AUDIT_BROKER,
 * NULL) gives the default store.
 */
struct store *store_map_id(const struct store_map *m, const char *tenant);
/** How many stores: 1 + the distinct targets of the tenants' own. */
size_t	store_map_count(const struct store_map *m);
/** Store i (0: the default), or NULL past the end. */
struct store *store_map_at(const struct store_map *m, size_t i);

#endif /* BK_STORE_H */
