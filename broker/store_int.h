/*
 * sso-broker: the store's private parts, shared by store.c (connection
 * and commands), store_health.c (role, loading, the data marker) and
 * store_sentinel.c (master discovery and failover events).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Only store*.c include this header (and with it hiredis).
 * Trust: see store.h.
 */
#ifndef BK_STORE_INT_H
#define BK_STORE_INT_H

#include <stdint.h>
#include <sys/time.h>

#include <hiredis/async.h>

#include "store.h"

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

#define STORE_TICK_MS		100
#define STORE_BACKOFF_MIN_MS	100
#define STORE_BACKOFF_MAX_MS	2000
#define STORE_READER_MAXBUF	(1024 * 1024)
/* ROLE and the marker are checked this often on a live connection. */
#define STORE_PROBE_MS		1000
/* A sentinel must connect and answer within this (each, in turn). */
#define STORE_SENTINEL_TIMEOUT_MS	500
/* Writes stay stopped this long after a failover event, at most. */
#define STORE_FAILOVER_HOLD_MS	10000
/* After an aborted failover, resume this soon unless more news comes. */
#define STORE_ABORT_GRACE_MS	1000
/*
 * A code's redemption waits this long (WAIT 1) for a replica to confirm
 * it, when the master has replicas: a failover must not bring back a code
 * already redeemed.
 */
#define STORE_REPLICA_WAIT_MS	200
/* The key whose value tells the store the broker has been writing to. */
#define STORE_MARKER_KEY	"bk:v1:marker"

struct store_pending {
	store_cb		*cb;
	void			*arg;
	struct store		*s;
	struct timeval		 sent;
	struct store_pending	*next;	/* FIFO, in send order */
};

struct store_addr {
	char	*host;		/* NULL for unix */
	int	 port;
	char	*path;		/* unix socket */
	char	*user, *pass;	/* secret */
	int	 db;
};

struct store_sentinel;

#define STORE_NAME_MAX		72	/* "default" or a tenant id */

struct store {
	struct event_base	*base;
	const struct conf	*conf;
	/* the [redis] section it serves: broker.conf's or a tenant's */
	const struct conf_redis	*rc;
	/* broker.conf's store: systemd's READY, the audit heads */
	int			 is_default;
	/* for logs and metrics: "default", or the first tenant served */
	char			 name[STORE_NAME_MAX];
	/* the marker first seen on this target (shared page, store_health.c) */
	uint64_t		*marker;
	uint64_t		 marker_private;	/* no shared slot */
	/* where the audit's chain heads go: the default store (store_map.c) */
	struct store		*heads;
	redisAsyncContext	*ac;
	/* connected, AUTH + SELECT done, ROLE master, not loading */
	int			 up;
	int			 connecting;
	/* AUTH and SELECT answered on this connection */
	int			 selected;
	struct store_addr	 addr;
	/* addr came from the sentinels just now: connect without asking */
	int			 addr_fresh;
	struct event		*tick;
	struct event		*retry;
	/* a TCP connect still pending when this fires is dropped */
	struct event		*conn_timer;
	int			 backoff_ms;
	struct store_pending	*head, *tail;	/* pending FIFO */
	int			 was_up;
	/* failed connects since the last success */
	int			 fails;
	/* this connection's AUTH was refused */
	int			 auth_failed;
	/* health (store_health.c) */
	/* ROLE + GET marker in flight */
	int			 probing;
	struct timeval		 probe_at;	/* last probe sent */
	int			 role_warned;
	int			 loading;
	/* the marker is missing or not the one this broker saw first */
	int			 data_lost;
	/* the marker was checked on this connection */
	int			 marker_seen;
	/* the shared marker when the probe went out (0: none yet) */
	uint64_t		 marker_sent;
	/* replicas the master listed in its last ROLE answer */
	int			 replicas;
	struct store_sentinel	*sen;
};

/* The sign-in's scripts (store_signin.c), seen by the store alone. */
extern const char store_lua_decide[];
extern const char store_lua_issue[];
extern const char store_lua_session_authz[];
extern const char store_lua_redeem[];
extern const char store_lua_revoke[];

/* The admin's scripts (store_admin.c), seen by the store alone. */
extern const char store_lua_user_revoke[];
extern const char store_lua_snap_head[];
extern const char store_lua_snap_since[];
extern const char store_lua_snap_page[];
extern const char store_lua_apply[];
extern const char store_lua_user_set[];
extern const char store_lua_user_del[];
extern const char store_lua_hlen[];
/* The admin credentials' scripts (store_cred.c). */
extern const char store_lua_cred_add[];
extern const char store_lua_cred_revoke[];

/* The SSO switch's scripts (store_sso.c), seen by the store alone. */
extern const char store_lua_sso_read[];
extern const char store_lua_sso_set[];
extern const char store_lua_sso_sweep[];
extern const char store_lua_token_get[];

/*
 * The generation a sign-in records and its later steps compare: the
 * user's (ugen, bumped by a revocation or a change of the profile) and,
 * once the tenant's switch was ever set off, ".<tenant generation>" (the
 * sso hash's gen, bumped by every off: store_sso.h).  false while the
 * stored switch is off, which no recorded generation equals.  A tenant
 * never switched off keeps the plain user generation, as before.
 */
#define LUA_CUR_GEN_FN \
	"local function cur_gen(ugen, sso, id)\n" \
	"  local g = redis.call('HGET', ugen, id) or '0'\n" \
	"  local s = redis.pcall('HMGET', sso, 'on', 'gen')\n" \
	"  if type(s) ~= 'table' or s.err then return false end\n" \
	"  if s[1] == '0' then return false end\n" \
	"  if s[2] then return g .. '.' .. s[2] end\n" \
	"  return g\n" \
	"end\n"

/* The audit's scripts (store_audit.c), seen by the store alone. */
extern const char store_lua_audit_append[];
extern const char store_lua_audit_head[];
extern const char store_lua_audit_fetch[];

/* store.c */
int	store_send(struct store *, store_cb *, void *, int, const char **,
	    const size_t *);
/** Drop the connection now (pending callbacks get NULL), then reconnect. */
void	store_drop(struct store *, int rv, const char *why);
void	store_connect(struct store *);
/** Commands may flow: the first good probe on this connection. */
void	store_go_up(struct store *);
/** The sentinels' answer: connect there (host NULL: retry later). */
void	store_master_found(struct store *, const char *host, int port);
long	store_ms_since(const struct timeval *);

/* store_health.c */
/**
 * Point s->marker at the shared slot of s's target (the default store has
 * its own slot; others are found by their address), or at a private one
 * when the page is full.
 */
void	store_marker_slot_init(struct store *);
/** Tell the parent (store_shared_ready()) that a store is up. */
void	store_shared_up(void);
/** Send ROLE and GET marker (once AUTH/SELECT were queued). */
void	store_probe(struct store *);
/**
 * A reply error on any command: LOADING, READONLY, MASTERDOWN and NOSCRIPT
 * need action.  1 if it was one of those (and logged), else 0.
 */
int	store_health_error(struct store *, const char *msg, size_t len);
void	store_health_reset(struct store *);

/* store_sentinel.c */
int	store_sentinel_new(struct store *);
void	store_sentinel_free(struct store *);
/** Ask the sentinels for the master; store_connect() again when known. */
void	store_sentinel_resolve(struct store *);
/** Timeouts, periodic checks, subscriber reconnects (from the tick). */
void	store_sentinel_tick(struct store *);
/** 1 while a failover of our master is under way (no writes). */
int	store_sentinel_hold(const struct store *);
#endif /* BK_STORE_INT_H */
