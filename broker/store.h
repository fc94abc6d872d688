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
 * Trust: replies come from outside the trust boundary; callers parse
 * records strictly.
 */
#ifndef BK_STORE_H
#define BK_STORE_H

#include <stddef.h>

struct event_base;
struct conf;
struct store;
/* borrowed view of a reply, valid during the callback */
struct store_reply;

enum store_rtype {
	STORE_R_NIL = 2, STORE_R_STRING, STORE_R_INTEGER, STORE_R_ARRAY,
	STORE_R_STATUS, STORE_R_ERROR
};

/**
 * Completion callback.  rv is BK_OK with a reply, or BK_E_STORE_DOWN /
 * BK_E_STORE_TIMEOUT with r == NULL.  A reply of type STORE_R_ERROR is
 * passed with rv BK_E_STORE_REPLY.
 */
typedef void store_cb(int rv, const struct store_reply *r, void *arg);

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
 * Send one command.  argv/lens are copied by hiredis before return.
 * @return BK_OK (cb will be called exactly once) or BK_E_STORE_DOWN
 *	(cb will not be called).
 */
int	store_cmd(struct store *s, store_cb *cb, void *arg, int argc,
	    const char **argv, const size_t *lens);
/** Same, NUL-terminated strings. */
int	store_cmdv(struct store *s, store_cb *cb, void *arg, int argc,
	    const char **argv);
/** Run a Lua script (EVAL) with nkeys keys followed by args. */
int	store_eval(struct store *s, store_cb *cb, void *arg, const char *script,
	    int nkeys, int nargs, const char **args, const size_t *lens);

enum store_rtype store_reply_type(const struct store_reply *r);
/** String, status or error text; *len set.  NULL for other types. */
const char *store_reply_str(const struct store_reply *r, size_t *len);
long long store_reply_int(const struct store_reply *r);
size_t	store_reply_count(const struct store_reply *r);
/** Element i of an array reply, or NULL. */
const struct store_reply *store_reply_elem(const struct store_reply *r,
    size_t i);
/** 1 if r is a string/status reply equal to s. */
int	store_reply_is(const struct store_reply *r, const char *s);

/**
 * Key for tenant data: "bk:v1:{tenant}:kind[:suffix]" (hash tag so a
 * tenant's keys share one Cluster slot).  Returned-owned.
 */
char	*store_key(const char *tenant, const char *kind, const char *suffix);
/** Key whose suffix is the hex SHA-256 of secret (never the raw secret). */
char	*store_key_digest(const char *tenant, const char *kind,
    const char *secret);


/*
 * Every Lua script (store_signin.c, store_admin.c, each documenting its
 * KEYS and ARGV; all keys a script touches share the tenant's hash tag),
 * NULL-terminated: loaded with SCRIPT LOAD at connect.
 */
extern const char *const store_lua_all[];
#endif /* BK_STORE_H */
