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
struct store;
/**
 * Create the worker's store and start connecting.  Runs in a worker.
 * @param base	borrowed, the worker's loop.
 * @param c	borrowed; must outlive the store.
 */
struct store *store_new(struct event_base *base, const struct conf *c);
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

#endif /* BK_STORE_H */
