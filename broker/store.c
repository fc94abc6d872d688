/*
 * sso-broker: Redis connection management (hiredis async + libevent).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * One connection per worker.  hiredis 0.14 has no command timeout, so we
 * keep the send time of every pending command (replies arrive in order)
 * and a 100 ms tick drops the connection when the oldest is overdue:
 * redisAsyncFree() then calls every pending callback with a NULL reply,
 * which callers see as BK_E_STORE_TIMEOUT.  Reconnects back off from
 * 100 ms to 2 s.  With sentinels configured, the master address is asked
 * of each sentinel in turn before every connect.  The Lua scripts are
 * loaded once per connection (SCRIPT LOAD, pipelined right after SELECT)
 * and run by their SHA-1 name (EVALSHA), so their text is not resent with
 * every call; a NOSCRIPT answer (someone ran SCRIPT FLUSH) drops the
 * connection and the reconnect loads them again.
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
#include "store.h"

#define STORE_TICK_MS		100
#define STORE_BACKOFF_MIN_MS	100
#define STORE_BACKOFF_MAX_MS	2000
#define STORE_READER_MAXBUF	(1024 * 1024)

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

struct store {
	struct event_base	*base;
	const struct conf	*conf;
	redisAsyncContext	*ac;
	/* connected + AUTH + SELECT done */
	int			 up;
	int			 connecting;
	struct store_addr	 addr;
	struct event		*tick;
	struct event		*retry;
	int			 backoff_ms;
	struct store_pending	*head, *tail;	/* pending FIFO */
	int			 was_up;
	/* failed connects since the last success */
	int			 fails;
	/* this connection's AUTH was refused */
	int			 auth_failed;
};

#define STORE_MAX_SCRIPTS	16

/* SHA-1 names of store_lua_all[], computed once per process. */
static char	 store_script_sha[STORE_MAX_SCRIPTS][2 * SHA_DIGEST_LENGTH + 1];

static void store_connect(struct store *);
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
store_addr_init(const struct conf *c, struct store_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->port = c->redis_port;
	a->db = c->redis_db;
	if ((c->redis_host && (a->host = bk_strdup(c->redis_host)) == NULL) ||
	    (c->redis_unix_path &&
	    (a->path = bk_strdup(c->redis_unix_path)) == NULL) ||
	    (c->redis_user && (a->user = bk_strdup(c->redis_user)) == NULL) ||
	    (c->redis_password &&
	    (a->pass = bk_strdup(c->redis_password)) == NULL)) {
		store_addr_cleanup(a);
		return BK_E_NOMEM;
	}
	return BK_OK;
}

/* Ask the sentinels for the current master (blocking, short timeout). */
static int
store_sentinel_resolve(struct store *s)
{
	const struct conf	*c = s->conf;
	struct timeval		 tv = { 0, 300 * 1000 };
	size_t			 i;

	for (i = 0; i < c->n_sentinels; i++) {
		char		 host[256];
		const char	*colon = strrchr(c->sentinels[i], ':');
		long long	 port;
		const char	*why;
		redisContext	*rc;
		redisReply	*r;
		size_t		 hl;

		if (colon == NULL ||
		    (hl = (size_t)(colon - c->sentinels[i])) >= sizeof(host))
			continue;
		memcpy(host, c->sentinels[i], hl);
		host[hl] = '\0';
		if (bk_strtonum(colon + 1, 1, 65535, &port, &why) != BK_OK)
			continue;
		rc = redisConnectWithTimeout(host, (int)port, tv);
		if (rc == NULL || rc->err) {
			if (rc != NULL)
				redisFree(rc);
			continue;
		}
		redisSetTimeout(rc, tv);
		{
			const char *av[3] = { "SENTINEL",
			    "get-master-addr-by-name", c->master_name };

			r = redisCommandArgv(rc, 3, av, NULL);
		}
		if (r != NULL && r->type == REDIS_REPLY_ARRAY &&
		    r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    r->element[1]->type == REDIS_REPLY_STRING &&
		    bk_strtonum(r->element[1]->str, 1, 65535, &port,
		    &why) == BK_OK) {
			free(s->addr.host);
			s->addr.host = bk_strdup(r->element[0]->str);
			s->addr.port = (int)port;
			freeReplyObject(r);
			redisFree(rc);
			return BK_OK;
		}
		if (r != NULL)
			freeReplyObject(r);
		redisFree(rc);
	}
	return BK_E_STORE_DOWN;
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
		log_warnx_r(rv, "redis: %s", log_esc(r->str));
		/* Scripts flushed under us: reconnect, which reloads them. */
		if (strncmp(r->str, "NOSCRIPT", 8) == 0 && s->ac != NULL &&
		    s->up) {
			s->up = 0;
			redisAsyncDisconnect(s->ac);
		}
	}
	if (p->cb != NULL)
		p->cb(rv, (const struct store_reply *)r, p->arg);
	free(p);
}

static int
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
store_ready_cb(int rv, const struct store_reply *r, void *arg)
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
	s->up = 1;
	s->fails = 0;
	s->backoff_ms = STORE_BACKOFF_MIN_MS;
	if (!s->was_up)
		log_info("redis: connected");
	else
		log_info("redis: reconnected");
	s->was_up = 1;
}

static void
store_connect_cb(const redisAsyncContext *ac, int status)
{
	struct store	*s = ac->data;
	const char	*argv[3];
	char		 db[8];
	size_t		 i;
	int		 rv;

	s->connecting = 0;
	if (status != REDIS_OK) {
		/*
		 * Log the first failure, then one in 30 (about a minute at 2
		 * s).
		 */
		if (s->fails++ % 30 == 0)
			log_warnx("redis: connect failed: %s (retrying)",
			    log_esc(ac->errstr));
		/* hiredis frees the context after this callback. */
		s->ac = NULL;
		store_schedule_retry(s);
		return;
	}
	/* AUTH and SELECT go first; the last reply marks the store up. */
	if (s->addr.pass != NULL) {
		int n = 0;

		argv[n++] = "AUTH";
		if (s->addr.user != NULL)
			argv[n++] = s->addr.user;
		argv[n++] = s->addr.pass;
		s->auth_failed = 0;
		if ((rv = store_send(s, store_auth_cb, s, n, argv, NULL)) !=
		    BK_OK)
			goto fail;
	}
	snprintf(db, sizeof(db), "%d", s->addr.db);
	argv[0] = "SELECT";
	argv[1] = db;
	{
		size_t l[2] = { 6, strlen(db) };

		if ((rv = store_send(s, store_ready_cb, s, 2, argv,
		    l)) != BK_OK)
			goto fail;
	}
	/*
	 * Before any EVALSHA: commands sent once the store is up queue behind
	 * these on the same connection, and Redis runs them in order.
	 */
	for (i = 0; store_lua_all[i] != NULL; i++) {
		argv[0] = "SCRIPT";
		argv[1] = "LOAD";
		argv[2] = store_lua_all[i];
		if ((rv = store_send(s, NULL, NULL, 3, argv, NULL)) != BK_OK)
			goto fail;
	}
	return;
 fail:
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
		log_warnx("redis: connection lost%s%s",
		    ac->errstr[0] ? ": " : "",
		    log_esc(ac->errstr));
	s->up = 0;
	s->ac = NULL;	/* hiredis frees it after this callback */
	s->connecting = 0;
	store_schedule_retry(s);
}

static void
store_connect(struct store *s)
{
	redisAsyncContext	*ac;

	if (s->ac != NULL || s->connecting)
		return;
	if (s->conf->n_sentinels > 0 && store_sentinel_resolve(s) != BK_OK) {
		log_warnx("redis: no sentinel answered for master %s",
		    log_esc(s->conf->master_name));
		store_schedule_retry(s);
		return;
	}
	if (s->addr.path != NULL)
		ac = redisAsyncConnectUnix(s->addr.path);
	else
		ac = redisAsyncConnect(s->addr.host, s->addr.port);
	if (ac == NULL || ac->err) {
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

	tv.tv_sec = s->backoff_ms / 1000;
	tv.tv_usec = (s->backoff_ms % 1000) * 1000;
	evtimer_add(s->retry, &tv);
	s->backoff_ms *= 2;
	if (s->backoff_ms > STORE_BACKOFF_MAX_MS)
		s->backoff_ms = STORE_BACKOFF_MAX_MS;
}

/* The command timeout: drop the connection when the oldest reply is late. */
static void
store_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct store	*s = arg;
	struct timeval	 now, d;
	long		 ms;

	(void)fd;
	(void)ev;
	if (s->ac == NULL || s->head == NULL)
		return;
	gettimeofday(&now, NULL);
	timersub(&now, &s->head->sent, &d);
	ms = d.tv_sec * 1000 + d.tv_usec / 1000;
	if (ms < s->conf->redis_timeout_ms)
		return;
	log_warnx_r(BK_E_STORE_TIMEOUT,
	    "redis: no reply in %ld ms, reconnecting", ms);
	s->up = 0;
	{
		redisAsyncContext *ac = s->ac;

		s->ac = NULL;
		/* disconnect callback must not touch s */
		ac->data = NULL;
		s->connecting = 0;
		redisAsyncFree(ac);	/* pending callbacks get NULL */
	}
	store_schedule_retry(s);
}

struct store *
store_new(struct event_base *base, const struct conf *c)
{
	struct store	*s;
	struct timeval	 tv = { 0, STORE_TICK_MS * 1000 };

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	store_scripts_init();
	s->base = base;
	s->conf = c;
	s->backoff_ms = STORE_BACKOFF_MIN_MS;
	if (store_addr_init(c, &s->addr) != BK_OK) {
		free(s);
		return NULL;
	}
	s->tick = event_new(base, -1, EV_PERSIST, store_tick_cb, s);
	s->retry = evtimer_new(base, store_retry_cb, s);
	if (s->tick == NULL || s->retry == NULL) {
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
		redisAsyncFree(ac);
	}
	if (s->tick != NULL)
		event_free(s->tick);
	if (s->retry != NULL)
		event_free(s->retry);
	store_addr_cleanup(&s->addr);
	free(s);
}

int
store_is_up(const struct store *s)
{
	return s != NULL && s->up;
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
