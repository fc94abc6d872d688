/*
 * sso-broker: Redis connection management (hiredis async + libevent).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * One connection per worker.  hiredis 0.14 has neither a command nor a
 * connect timeout, so both are ours: a TCP connect still pending after
 * [redis] timeout_ms is dropped by a timer, and we keep the send time of
 * every pending command (replies arrive in order) so a 100 ms tick drops
 * the connection when the oldest is overdue: redisAsyncFree() then calls
 * every pending callback with a NULL reply, which callers see as
 * BK_E_STORE_TIMEOUT.  Reconnects back off from 100 ms to 2 s.
 *
 * A connection carries commands ("up") only once AUTH and SELECT were
 * accepted and the first probe (store_health.c) found a master that is
 * not loading its data; the probe then runs every second, so a hung
 * Redis is noticed within the timeout even when no request is waiting.
 * READONLY or a role other than master drops the connection and asks
 * the sentinels again (store_sentinel.c), which are only ever talked to
 * asynchronously.  The Lua scripts are loaded once per connection
 * (SCRIPT LOAD) and run by their SHA-1 name (EVALSHA); a NOSCRIPT answer
 * (someone ran SCRIPT FLUSH) drops the connection and the reconnect
 * loads them again.
 * Trust: replies are untrusted (see store.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/sha.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "bk.h"
#include "conf.h"
#include "log.h"
#include "store_int.h"

#define STORE_MAX_SCRIPTS	24

/* Every script, loaded with SCRIPT LOAD at connect. */
const char *const store_lua_all[] = {
	/* sign-in (store_signin.c) */
	store_lua_decide, store_lua_issue, store_lua_session_authz,
	store_lua_redeem, store_lua_revoke,
	/* admin (store_admin.c) */
	store_lua_user_revoke, store_lua_snap_head, store_lua_snap_since,
	store_lua_snap_page, store_lua_apply,
	store_lua_user_set, store_lua_user_del, store_lua_hlen,
	/* the SSO switch (store_sso.c) */
	store_lua_sso_read, store_lua_sso_set, store_lua_sso_sweep,
	store_lua_token_get,
	/* audit (store_audit.c) */
	store_lua_audit_append, store_lua_audit_head, store_lua_audit_fetch,
	/* admin credentials (store_cred.c) */
	store_lua_cred_add, store_lua_cred_revoke,
	NULL
};

/* SHA-1 names of store_lua_all[], computed once per process. */
static char	 store_script_sha[STORE_MAX_SCRIPTS][2 * SHA_DIGEST_LENGTH + 1];

static void store_schedule_retry(struct store *);

static void
store_addr_cleanup(struct store_addr *a)
{
	free(a->host);
	free(a->path);
	bk_strfree_secret(a->user);
	bk_strfree_secret(a->pass);
	memset(a, 0, sizeof(*a));
}

/* The address comes from the configuration, already parsed and checked. */
static int
store_addr_init(const struct conf_redis *c, struct store_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->port = c->port;
	a->db = c->db;
	if ((c->host && (a->host = bk_strdup(c->host)) == NULL) ||
	    (c->unix_path &&
	    (a->path = bk_strdup(c->unix_path)) == NULL) ||
	    (c->user && (a->user = bk_strdup(c->user)) == NULL) ||
	    (c->password &&
	    (a->pass = bk_strdup(c->password)) == NULL)) {
		store_addr_cleanup(a);
		return BK_E_NOMEM;
	}
	return BK_OK;
}

long
store_ms_since(const struct timeval *t)
{
	struct timeval	 now, d;

	gettimeofday(&now, NULL);
	timersub(&now, t, &d);
	return d.tv_sec * 1000 + d.tv_usec / 1000;
}

static void
store_pending_pop(struct store *s, struct store_pending *p)
{
	/* Replies arrive in order, so p is the head. */
	BK_ASSERT(s->head == p);
	s->head = p->next;
	if (s->head == NULL)
		s->tail = NULL;
}

static void
store_reply_cb(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct store_pending	*p = privdata;
	struct store		*s = p->s;
	redisReply		*r = reply;
	int			 rv = BK_OK;

	(void)ac;
	store_pending_pop(s, p);
	if (r == NULL)
		rv = s->up ? BK_E_STORE_DOWN : BK_E_STORE_TIMEOUT;
	else if (r->type == REDIS_REPLY_ERROR) {
		rv = BK_E_STORE_REPLY;
		if (s->ac == NULL || !store_health_error(s, r->str, r->len))
			log_warnx_r(rv, "redis: %s", log_esc(r->str));
	}
	if (p->cb != NULL)
		p->cb(rv, (const struct store_reply *)r, p->arg);
	free(p);
}

int
store_send(struct store *s, store_cb *cb, void *arg, int argc,
    const char **argv, const size_t *lens)
{
	struct store_pending	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return BK_E_NOMEM;
	p->cb = cb;
	p->arg = arg;
	p->s = s;
	gettimeofday(&p->sent, NULL);
	if (redisAsyncCommandArgv(s->ac, store_reply_cb, p, argc, argv,
	    lens) != REDIS_OK) {
		free(p);
		return BK_E_STORE_DOWN;
	}
	if (s->tail != NULL)
		s->tail->next = p;
	else
		s->head = p;
	s->tail = p;
	return BK_OK;
}

int
store_cmd(struct store *s, store_cb *cb, void *arg, int argc,
    const char **argv, const size_t *lens)
{
	if (s == NULL || !s->up || s->ac == NULL)
		return BK_E_STORE_DOWN;
	return store_send(s, cb, arg, argc, argv, lens);
}

int
store_cmdv(struct store *s, store_cb *cb, void *arg, int argc,
    const char **argv)
{
	size_t	 lens[32];
	int	 i;

	BK_ASSERT(argc <= 32);
	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	return store_cmd(s, cb, arg, argc, argv, lens);
}

static void
store_scripts_init(void)
{
	unsigned char	 d[SHA_DIGEST_LENGTH];
	size_t		 i;

	if (store_script_sha[0][0] != '\0')
		return;
	for (i = 0; store_lua_all[i] != NULL; i++) {
		BK_ASSERT(i < STORE_MAX_SCRIPTS);
		SHA1((const unsigned char *)store_lua_all[i],
		    strlen(store_lua_all[i]), d);
		bk_hex(d, sizeof(d), store_script_sha[i]);
	}
}

/* The SHA-1 name of a registered script, or NULL (then EVAL sends it). */
static const char *
store_script_name(const char *script)
{
	size_t	 i;

	for (i = 0; store_lua_all[i] != NULL; i++)
		if (store_lua_all[i] == script)
			return store_script_sha[i];
	return NULL;
}

int
store_eval(struct store *s, store_cb *cb, void *arg, const char *script,
    int nkeys, int nargs, const char **args, const size_t *lens)
{
	const char	 *sha = store_script_name(script);
	const char	**av;
	size_t		 *al;
	char		  nk[16];
	int		  i, rv;

	if ((av = calloc((size_t)nargs + 3, sizeof(*av))) == NULL)
		return BK_E_NOMEM;
	if ((al = calloc((size_t)nargs + 3, sizeof(*al))) == NULL) {
		free(av);
		return BK_E_NOMEM;
	}
	snprintf(nk, sizeof(nk), "%d", nkeys);
	av[0] = sha != NULL ? "EVALSHA" : "EVAL";
	al[0] = strlen(av[0]);
	av[1] = sha != NULL ? sha : script;
	al[1] = strlen(av[1]);
	av[2] = nk;
	al[2] = strlen(nk);
	for (i = 0; i < nargs; i++) {
		av[i + 3] = args[i];
		al[i + 3] = lens != NULL ? lens[i] : strlen(args[i]);
	}
	rv = store_cmd(s, cb, arg, nargs + 3, av, al);
	free(av);
	free(al);
	return rv;
}

/* --- connection life cycle --- */

/*
 * AUTH has its own check: if it fails, a server whose "default" user is
 * open would still accept SELECT, and the broker would run as the wrong
 * user.  The refusal drops the connection.
 */
static void
store_auth_cb(int rv, const struct store_reply *r, void *arg)
{
	struct store	*s = arg;

	(void)r;
	if (rv == BK_OK)
		return;
	s->auth_failed = 1;
	log_warnx_r(rv, "redis: AUTH refused for %s",
	    s->addr.user ? log_esc(s->addr.user) : "the default user");
	if (s->ac != NULL)
		redisAsyncDisconnect(s->ac);
}

static void
store_select_cb(int rv, const struct store_reply *r, void *arg)
{
	struct store	*s = arg;

	(void)r;
	if (rv == BK_OK && s->auth_failed)
		return;		/* already disconnecting */
	if (rv != BK_OK) {
		log_warnx_r(rv, "redis: AUTH/SELECT failed");
		if (s->ac != NULL)
			redisAsyncDisconnect(s->ac);
		return;
	}
	s->selected = 1;
}

/*
 * The probe said: a master, not loading.  Load the scripts before any
 * EVALSHA: commands sent once the store is up queue behind them on the
 * same connection, and Redis runs them in order.
 */
void
store_go_up(struct store *s)
{
	const char	*argv[3];
	size_t		 i;

	if (s->is_default)
		store_shared_up();
	for (i = 0; store_lua_all[i] != NULL; i++) {
		argv[0] = "SCRIPT";
		argv[1] = "LOAD";
		argv[2] = store_lua_all[i];
		if (store_send(s, NULL, NULL, 3, argv, NULL) != BK_OK) {
			store_drop(s, BK_E_STORE_DOWN, "cannot load scripts");
			return;
		}
	}
	s->up = 1;
	s->fails = 0;
	s->backoff_ms = STORE_BACKOFF_MIN_MS;
	if (s->addr.path != NULL)
		log_info("redis: %s %s (store %s)", s->was_up ?
		    "reconnected to" : "connected to", log_esc(s->addr.path),
		    s->name);
	else
		log_info("redis: %s %s:%d (store %s)", s->was_up ?
		    "reconnected to" : "connected to", log_esc(s->addr.host),
		    s->addr.port, s->name);
	s->was_up = 1;
}

static void
store_connect_cb(const redisAsyncContext *ac, int status)
{
	struct store	*s = ac->data;
	const char	*argv[3];
	char		 db[8];
	int		 rv;

	if (s == NULL)
		return;
	s->connecting = 0;
	evtimer_del(s->conn_timer);
	if (status != REDIS_OK) {
		/*
		 * Log the first failure, then one in 30 (about a minute at 2
		 * s).
		 */
		if (s->fails++ % 30 == 0)
			log_warnx("redis: connect failed: %s (store %s, "
			    "retrying)", log_esc(ac->errstr), s->name);
		/* hiredis frees the context after this callback. */
		s->ac = NULL;
		store_schedule_retry(s);
		return;
	}
	/* AUTH, SELECT and the first probe go out together. */
	if (s->addr.pass != NULL) {
		int n = 0;

		argv[n++] = "AUTH";
		if (s->addr.user != NULL)
			argv[n++] = s->addr.user;
		argv[n++] = s->addr.pass;
		s->auth_failed = 0;
		if ((rv = store_send(s, store_auth_cb, s, n, argv, NULL)) !=
		    BK_OK)
			goto out;
	}
	snprintf(db, sizeof(db), "%d", s->addr.db);
	argv[0] = "SELECT";
	argv[1] = db;
	if ((rv = store_send(s, store_select_cb, s, 2, argv, NULL)) != BK_OK)
		goto out;
	store_probe(s);
	return;
 out:
	log_warnx_r(rv, "redis: cannot send AUTH/SELECT");
}

static void
store_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct store	*s = ac->data;

	(void)status;
	if (s == NULL)
		return;
	if (s->up)
		log_warnx("redis: connection lost%s%s (store %s)",
		    ac->errstr[0] ? ": " : "",
		    log_esc(ac->errstr), s->name);
	s->up = 0;
	s->ac = NULL;	/* hiredis frees it after this callback */
	s->connecting = 0;
	store_health_reset(s);
	store_schedule_retry(s);
}

void
store_drop(struct store *s, int rv, const char *why)
{
	redisAsyncContext	*ac = s->ac;

	if (ac == NULL)
		return;
	if (why != NULL)
		log_warnx_r(rv, "redis: %s; reconnecting", why);
	s->ac = NULL;
	s->up = 0;
	s->connecting = 0;
	evtimer_del(s->conn_timer);
	store_health_reset(s);
	/* The disconnect callback must not touch s. */
	ac->data = NULL;
	/* Pending callbacks get NULL (after the current one, if in one). */
	redisAsyncFree(ac);
	store_schedule_retry(s);
}

/* hiredis 0.14 has no connect timeout: a SYN nobody answers ends here. */
static void
store_conn_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct store	*s = arg;

	(void)fd;
	(void)ev;
	if (s->ac == NULL || !s->connecting)
		return;
	if (s->fails++ % 30 == 0)
		log_warnx_r(BK_E_STORE_CONNECT_TIMEOUT,
		    "redis: connect not accepted within %d ms (store %s, "
		    "retrying)", s->rc->timeout_ms, s->name);
	store_drop(s, 0, NULL);
}

static void
store_connect_addr(struct store *s)
{
	redisAsyncContext	*ac;
	struct timeval		 tv;

	store_health_reset(s);
	if (s->addr.path != NULL)
		ac = redisAsyncConnectUnix(s->addr.path);
	else
		ac = redisAsyncConnect(s->addr.host, s->addr.port);
	if (ac == NULL || ac->err) {
		if (s->fails++ % 30 == 0)
			log_warnx("redis: connect: %s",
			    ac ? log_esc(ac->errstr) : "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		store_schedule_retry(s);
		return;
	}
	ac->c.reader->maxbuf = STORE_READER_MAXBUF;
	ac->data = s;
	s->ac = ac;
	s->connecting = 1;
	redisLibeventAttach(ac, s->base);
	redisAsyncSetConnectCallback(ac, store_connect_cb);
	redisAsyncSetDisconnectCallback(ac, store_disconnect_cb);
	tv.tv_sec = s->rc->timeout_ms / 1000;
	tv.tv_usec = (s->rc->timeout_ms % 1000) * 1000;
	evtimer_add(s->conn_timer, &tv);
}

/*
 * With sentinels, every connect is preceded by asking them (the answer
 * comes back later and calls us again with addr_fresh set).
 */
void
store_connect(struct store *s)
{
	if (s->ac != NULL || s->connecting)
		return;
	if (s->sen != NULL) {
		if (store_sentinel_hold(s)) {
			store_schedule_retry(s);
			return;
		}
		if (!s->addr_fresh) {
			store_sentinel_resolve(s);
			return;
		}
		s->addr_fresh = 0;
	}
	store_connect_addr(s);
}

/*
 * The sentinels named the master (host NULL: none answered).  A move
 * drops the connection to the old address at once and connects to the
 * new one without waiting for the backoff.
 */
void
store_master_found(struct store *s, const char *host, int port)
{
	char	*h;

	if (host == NULL || store_sentinel_hold(s)) {
		store_schedule_retry(s);
		return;
	}
	if (s->ac != NULL && s->addr.host != NULL &&
	    strcmp(s->addr.host, host) == 0 && s->addr.port == port)
		return;
	if ((h = bk_strdup(host)) == NULL) {
		store_schedule_retry(s);
		return;
	}
	free(s->addr.host);
	s->addr.host = h;
	s->addr.port = port;
	free(s->addr.path);	/* a sentinel names a TCP address */
	s->addr.path = NULL;
	if (s->ac != NULL)
		store_drop(s, BK_E_STORE_NOT_MASTER,
		    "the sentinels moved the master");
	evtimer_del(s->retry);
	s->backoff_ms = STORE_BACKOFF_MIN_MS;
	s->addr_fresh = 1;
	store_connect(s);
}

static void
store_retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	store_connect(arg);
}

static void
store_schedule_retry(struct store *s)
{
	struct timeval	 tv;

	if (evtimer_pending(s->retry, NULL))
		return;
	tv.tv_sec = s->backoff_ms / 1000;
	tv.tv_usec = (s->backoff_ms % 1000) * 1000;
	evtimer_add(s->retry, &tv);
	s->backoff_ms *= 2;
	if (s->backoff_ms > STORE_BACKOFF_MAX_MS)
		s->backoff_ms = STORE_BACKOFF_MAX_MS;
}

/*
 * The command timeout (drop the connection when the oldest reply is
 * late), the periodic probe, and the sentinels' own timers.
 */
static void
store_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct store	*s = arg;
	long		 ms;

	(void)fd;
	(void)ev;
	if (s->sen != NULL)
		store_sentinel_tick(s);
	if (s->ac == NULL || s->connecting)
		return;
	ms = s->head != NULL ? store_ms_since(&s->head->sent) : 0;
	if (s->head != NULL && ms >= s->rc->timeout_ms) {
		log_warnx_r(BK_E_STORE_TIMEOUT,
		    "redis: no reply in %ld ms (store %s), reconnecting", ms,
		    s->name);
		store_drop(s, 0, NULL);
		return;
	}
	if (!s->probing && store_ms_since(&s->probe_at) >= STORE_PROBE_MS)
		store_probe(s);
}

struct store *
store_new(struct event_base *base, const struct conf *c,
    const struct conf_redis *rc, const char *name)
{
	struct store	*s;
	struct timeval	 tv = { 0, STORE_TICK_MS * 1000 };

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	store_scripts_init();
	(void)store_shared_init();	/* the parent's page, or our own */
	s->base = base;
	s->conf = c;
	s->rc = rc;
	s->is_default = rc == &c->redis;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->backoff_ms = STORE_BACKOFF_MIN_MS;
	store_marker_slot_init(s);
	if (store_addr_init(rc, &s->addr) != BK_OK) {
		free(s);
		return NULL;
	}
	s->tick = event_new(base, -1, EV_PERSIST, store_tick_cb, s);
	s->retry = evtimer_new(base, store_retry_cb, s);
	s->conn_timer = evtimer_new(base, store_conn_timer_cb, s);
	if (s->tick == NULL || s->retry == NULL || s->conn_timer == NULL ||
	    (rc->n_sentinels > 0 && store_sentinel_new(s) != BK_OK)) {
		store_free(s);
		return NULL;
	}
	evtimer_add(s->tick, &tv);
	store_connect(s);
	return s;
}

void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	if (s->ac != NULL) {
		redisAsyncContext *ac = s->ac;

		s->ac = NULL;
		s->up = 0;
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	store_sentinel_free(s);
	if (s->tick != NULL)
		event_free(s->tick);
	if (s->retry != NULL)
		event_free(s->retry);
	if (s->conn_timer != NULL)
		event_free(s->conn_timer);
	store_addr_cleanup(&s->addr);
	free(s);
}

int
store_is_up(const struct store *s)
{
	return s != NULL && s->up;
}

const char *
store_name(const struct store *s)
{
	return s != NULL ? s->name : "none";
}

/* --- replies --- */

enum store_rtype
store_reply_type(const struct store_reply *sr)
{
	const redisReply *r = (const redisReply *)sr;

	if (r == NULL)
		return STORE_R_NIL;
	switch (r->type) {
	case REDIS_REPLY_STRING:
		return STORE_R_STRING;
	case REDIS_REPLY_INTEGER:
		return STORE_R_INTEGER;
	case REDIS_REPLY_ARRAY:
		return STORE_R_ARRAY;
	case REDIS_REPLY_STATUS:
		return STORE_R_STATUS;
	case REDIS_REPLY_ERROR:
		return STORE_R_ERROR;
	default:
		return STORE_R_NIL;
	}
}

const char *
store_reply_str(const struct store_reply *sr, size_t *len)
{
	const redisReply *r = (const redisReply *)sr;

	*len = 0;
	if (r == NULL || (r->type != REDIS_REPLY_STRING &&
	    r->type != REDIS_REPLY_STATUS && r->type != REDIS_REPLY_ERROR))
		return NULL;
	*len = r->len;
	return r->str;
}

long long
store_reply_int(const struct store_reply *sr)
{
	const redisReply *r = (const redisReply *)sr;

	return (r != NULL && r->type == REDIS_REPLY_INTEGER) ? r->integer : 0;
}

size_t
store_reply_count(const struct store_reply *sr)
{
	const redisReply *r = (const redisReply *)sr;

	return (r != NULL && r->type == REDIS_REPLY_ARRAY) ? r->elements : 0;
}

const struct store_reply *
store_reply_elem(const struct store_reply *sr, size_t i)
{
	const redisReply *r = (const redisReply *)sr;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || i >= r->elements)
		return NULL;
	return (const struct store_reply *)r->element[i];
}

int
store_reply_is(const struct store_reply *r, const char *s)
{
	size_t		 len;
	const char	*p = store_reply_str(r, &len);

	return p != NULL && len == strlen(s) && memcmp(p, s, len) == 0;
}

char *
store_key(const char *tenant, const char *kind, const char *suffix)
{
	struct bk_buf	 b;

	bk_buf_init(&b, 1024);
	if (bk_buf_addf(&b, "bk:v1:{%s}:%s%s%s", tenant, kind,
	    suffix ? ":" : "", suffix ? suffix : "") != BK_OK) {
		bk_buf_free(&b);
		return NULL;
	}
	return bk_buf_take(&b);
}

char *
store_key_digest(const char *tenant, const char *kind, const char *secret)
{
	char	 d[BK_DIGEST_HEX + 1];

	bk_sha256_hex(secret, strlen(secret), d);
	return store_key(tenant, kind, d);
}
