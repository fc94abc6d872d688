/*
 * sso-broker: Redis Sentinel, followed actively and never blocking.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Each worker keeps, per configured sentinel, a query link and a
 * subscriber link, both hiredis async on the worker's loop.  The master is
 * asked for with SENTINEL MASTER <name> (address, flags, config epoch)
 * before every connect and once a second while connected; an answer
 * whose config epoch is older than one already seen is stale and the
 * next sentinel is asked.  Each sentinel gets STORE_SENTINEL_TIMEOUT_MS
 * to connect and answer, checked by the store's tick, so a sentinel that
 * does not answer costs time, never a blocked loop.
 *
 * Why the events: during a failover the old primary keeps answering as
 * a master until Sentinel demotes it, seconds after the promotion (the
 * demotion waits four publish periods, about 8 s), and whatever is written
 * there in between is wiped when it resynchronises from the new master:
 * single-use codes would redeem twice and assertions replay.  So the
 * first sign of a failover of our master (+try-failover and the states
 * before the replica is told SLAVEOF NO ONE) stops writes at once: the
 * connection is dropped and not reopened ("hold") until +promoted-slave
 * or +switch-master names the new master, a -failover-abort-* event
 * (plus STORE_ABORT_GRACE_MS), or STORE_FAILOVER_HOLD_MS without news.
 * Trust: sentinel replies and messages are untrusted: parsed strictly,
 * bounded, and only ever used as an address to connect to.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "bk.h"
#include "conf.h"
#include "log.h"
#include "store_int.h"

#define SEN_HOST_MAX	256
#define SEN_MAX_TOK	12
#define SEN_MSG_MAX	512
#define SEN_REPLY_MAX	256	/* elements of a SENTINEL MASTER answer */

struct sen_link {
	struct store_sentinel	*ss;
	redisAsyncContext	*ac;
	size_t			 idx;
	int			 sub;		/* the subscriber */
	int			 connected;
	struct timeval		 since;		/* connect or query start */
	int			 fails;
};

struct store_sentinel {
	struct store		*s;
	size_t			 n;
	char			 host[CONF_MAX_SENTINELS][SEN_HOST_MAX];
	int			 port[CONF_MAX_SENTINELS];
	struct sen_link		 cmd[CONF_MAX_SENTINELS];
	struct sen_link		 sub[CONF_MAX_SENTINELS];
	/* the query in flight (NULL: none) */
	struct sen_link		*q;
	int			 q_resolve;	/* for a connect */
	size_t			 q_next, q_asked, good;
	int			 q_fails;
	struct timeval		 check_at;
	long long		 epoch;		/* highest seen; -1: none */
	int			 hold;
	struct timeval		 hold_until;
};

enum sen_ev { SEN_HOLD, SEN_PROMOTED, SEN_SWITCH, SEN_ABORT, SEN_CONVERT };

static const struct {
	const char	*ch;
	enum sen_ev	 ev;
} sen_events[] = {
	{ "+try-failover", SEN_HOLD },
	{ "+elected-leader", SEN_HOLD },
	{ "+failover-state-select-slave", SEN_HOLD },
	{ "+selected-slave", SEN_HOLD },
	{ "+failover-state-send-slaveof-noone", SEN_HOLD },
	{ "+failover-state-wait-promotion", SEN_HOLD },
	{ "+promoted-slave", SEN_PROMOTED },
	{ "+switch-master", SEN_SWITCH },
	{ "-failover-abort-not-elected", SEN_ABORT },
	{ "-failover-abort-no-good-slave", SEN_ABORT },
	{ "-failover-abort-slave-timeout", SEN_ABORT },
	{ "+convert-to-slave", SEN_CONVERT },
};

struct sen_tok {
	const char	*p;
	size_t		 len;
};

static void sen_query_next(struct store_sentinel *);

static void
sen_later(struct timeval *tv, int ms)
{
	struct timeval	 d = { ms / 1000, (ms % 1000) * 1000 };

	gettimeofday(tv, NULL);
	timeradd(tv, &d, tv);
}

static int
sen_tok_is(const struct sen_tok *t, const char *s)
{
	return t->len == strlen(s) && memcmp(t->p, s, t->len) == 0;
}

/* A port from a token or a reply string; 0 if it is not one. */
static int
sen_port(const char *p, size_t len)
{
	char		 b[8];
	long long	 v;
	const char	*why;

	if (len == 0 || len >= sizeof(b))
		return 0;
	memcpy(b, p, len);
	b[len] = '\0';
	return bk_strtonum(b, 1, 65535, &v, &why) == BK_OK ? (int)v : 0;
}

/* --- links --- */

static void
sen_link_close(struct sen_link *l)
{
	redisAsyncContext	*ac = l->ac;

	if (ac == NULL)
		return;
	l->ac = NULL;
	l->connected = 0;
	ac->data = NULL;
	redisAsyncFree(ac);	/* our callbacks see ac != l->ac: ignored */
}

static void
sen_link_failed(struct sen_link *l)
{
	struct store_sentinel	*ss = l->ss;

	l->connected = 0;
	gettimeofday(&l->since, NULL);
	if (!l->sub && ss->q == l) {
		ss->q = NULL;
		sen_query_next(ss);
	}
}

static void
sen_connect_cb(const redisAsyncContext *ac, int status)
{
	struct sen_link	*l = ac->data;

	if (l == NULL)
		return;
	if (status != REDIS_OK) {
		l->ac = NULL;	/* hiredis frees it after this callback */
		sen_link_failed(l);
		return;
	}
	l->connected = 1;
}

static void
sen_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct sen_link	*l = ac->data;

	(void)status;
	if (l == NULL)
		return;
	l->ac = NULL;
	sen_link_failed(l);
}

static void	sen_event_cb(redisAsyncContext *, void *, void *);

static int
sen_subscribe(struct sen_link *l)
{
	const char	*av[1 + BK_NELEM(sen_events)];
	size_t		 i;

	av[0] = "SUBSCRIBE";
	for (i = 0; i < BK_NELEM(sen_events); i++)
		av[i + 1] = sen_events[i].ch;
	return redisAsyncCommandArgv(l->ac, sen_event_cb, l,
	    (int)BK_NELEM(av), av, NULL) == REDIS_OK ? BK_OK :
	    BK_E_STORE_DOWN;
}

/* Commands may be queued at once: hiredis sends them once connected. */
static int
sen_link_open(struct sen_link *l)
{
	struct store_sentinel	*ss = l->ss;
	redisAsyncContext	*ac;

	gettimeofday(&l->since, NULL);
	ac = redisAsyncConnect(ss->host[l->idx], ss->port[l->idx]);
	if (ac == NULL || ac->err) {
		if (ac != NULL)
			redisAsyncFree(ac);
		return BK_E_STORE_DOWN;
	}
	ac->c.reader->maxbuf = STORE_READER_MAXBUF;
	ac->data = l;
	l->ac = ac;
	l->connected = 0;
	redisLibeventAttach(ac, ss->s->base);
	redisAsyncSetConnectCallback(ac, sen_connect_cb);
	redisAsyncSetDisconnectCallback(ac, sen_disconnect_cb);
	if (l->sub && sen_subscribe(l) != BK_OK) {
		sen_link_close(l);
		return BK_E_STORE_DOWN;
	}
	return BK_OK;
}

/* --- the hold --- */

static void
sen_hold(struct store_sentinel *ss, const char *why, size_t idx)
{
	struct store	*s = ss->s;

	if (!ss->hold)
		log_warnx_r(BK_E_STORE_FAILOVER, "redis: sentinel %s:%d: "
		    "%s for master %s: writes stop until the new master is "
		    "known", log_esc(ss->host[idx]), ss->port[idx], why,
		    log_esc(s->rc->master_name));
	ss->hold = 1;
	sen_later(&ss->hold_until, STORE_FAILOVER_HOLD_MS);
	store_drop(s, 0, NULL);
}

/* Connect to the master the sentinels just named. */
static void
sen_move(struct store_sentinel *ss, const char *host, int port)
{
	ss->hold = 0;
	store_master_found(ss->s, host, port);
}

/* --- queries --- */

/* SENTINEL MASTER answers field, value, field, value... */
static int
sen_master_parse(const redisReply *r, char *host, size_t hostsz, int *port,
    long long *epoch, int *inprog)
{
	size_t		 i;
	const char	*why;

	*port = 0;
	*epoch = -1;
	*inprog = 0;
	host[0] = '\0';
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0 ||
	    r->elements > SEN_REPLY_MAX)
		return BK_E_STORE_REPLY;
	for (i = 0; i < r->elements; i += 2) {
		const redisReply *k = r->element[i], *v = r->element[i + 1];

		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			return BK_E_STORE_REPLY;
		if (strcmp(k->str, "ip") == 0 && v->len > 0 &&
		    v->len < hostsz && strlen(v->str) == v->len)
			memcpy(host, v->str, v->len + 1);
		else if (strcmp(k->str, "port") == 0)
			*port = sen_port(v->str, v->len);
		else if (strcmp(k->str, "config-epoch") == 0 &&
		    bk_strtonum(v->str, 0, 1LL << 62, epoch, &why) != BK_OK)
			return BK_E_STORE_REPLY;
		else if (strcmp(k->str, "flags") == 0)
			*inprog = strstr(v->str, "failover_in_progress") !=
			    NULL;
	}
	return host[0] != '\0' && *port != 0 && *epoch >= 0 ? BK_OK :
	    BK_E_STORE_REPLY;
}

static void
sen_query_done(struct store_sentinel *ss, size_t idx, const char *host,
    int port, long long epoch, int inprog)
{
	struct store	*s = ss->s;
	int		 here;

	ss->good = idx;
	ss->q_fails = 0;
	if (ss->hold)
		return;		/* asked before the failover began */
	here = s->addr.host != NULL && strcmp(s->addr.host, host) == 0 &&
	    s->addr.port == port;
	/*
	 * The leader names the old master until the switch; once an event
	 * moved us to the promoted replica, its flag is no news.
	 */
	if (inprog && (ss->q_resolve || here)) {
		sen_hold(ss, "failover in progress", idx);
		return;
	}
	if (inprog)
		return;
	if (ss->q_resolve) {
		if (epoch > ss->epoch)
			ss->epoch = epoch;
		sen_move(ss, host, port);
		return;
	}
	/* The periodic check: only a newer configuration moves us. */
	if (epoch <= ss->epoch)
		return;
	ss->epoch = epoch;
	if (here)
		return;
	log_warnx_r(BK_E_STORE_NOT_MASTER, "redis: sentinel %s:%d names %s:%d "
	    "the master of %s (config epoch %lld)", log_esc(ss->host[idx]),
	    ss->port[idx], log_esc(host), port, log_esc(s->rc->master_name),
	    epoch);
	sen_move(ss, host, port);
}

static void
sen_reply_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct sen_link		*l = priv;
	struct store_sentinel	*ss = l->ss;
	char			 host[SEN_HOST_MAX];
	int			 port, inprog;
	long long		 epoch;

	if (ac != l->ac || ss->q != l)
		return;		/* a query we gave up on */
	ss->q = NULL;
	if (reply == NULL || sen_master_parse(reply, host, sizeof(host),
	    &port, &epoch, &inprog) != BK_OK) {
		if (reply != NULL && l->fails++ % 30 == 0)
			log_warnx_r(BK_E_STORE_SENTINEL, "redis: sentinel "
			    "%s:%d does not know master %s",
			    log_esc(ss->host[l->idx]), ss->port[l->idx],
			    log_esc(ss->s->rc->master_name));
		sen_query_next(ss);
		return;
	}
	l->fails = 0;
	if (epoch < ss->epoch) {
		sen_query_next(ss);	/* a sentinel that lags behind */
		return;
	}
	sen_query_done(ss, l->idx, host, port, epoch, inprog);
}

static void
sen_query_failed(struct store_sentinel *ss)
{
	if (!ss->q_resolve)
		return;		/* keep the master we have */
	if (ss->q_fails++ % 30 == 0)
		log_warnx_r(BK_E_STORE_SENTINEL, "redis: no sentinel named "
		    "the master %s (retrying)",
		    log_esc(ss->s->rc->master_name));
	store_master_found(ss->s, NULL, 0);
}

static void
sen_query_next(struct store_sentinel *ss)
{
	struct sen_link	*l;
	const char	*av[3] = { "SENTINEL", "MASTER",
	    ss->s->rc->master_name };

	while (ss->q_asked < ss->n) {
		l = &ss->cmd[ss->q_next];
		ss->q_next = (ss->q_next + 1) % ss->n;
		ss->q_asked++;
		if (l->ac == NULL && sen_link_open(l) != BK_OK)
			continue;
		if (redisAsyncCommandArgv(l->ac, sen_reply_cb, l, 3, av,
		    NULL) != REDIS_OK) {
			sen_link_close(l);
			continue;
		}
		gettimeofday(&l->since, NULL);
		ss->q = l;
		return;
	}
	sen_query_failed(ss);
}

static void
sen_query(struct store_sentinel *ss, int resolve)
{
	if (ss->q != NULL) {
		ss->q_resolve |= resolve;
		return;
	}
	ss->q_resolve = resolve;
	ss->q_asked = 0;
	ss->q_next = ss->good;
	sen_query_next(ss);
}

void
store_sentinel_resolve(struct store *s)
{
	sen_query(s->sen, 1);
}

/* --- events --- */

static size_t
sen_split(const char *p, size_t len, struct sen_tok *t, size_t max)
{
	size_t	 n = 0, i = 0, j;

	while (i < len && n < max) {
		while (i < len && p[i] == ' ')
			i++;
		for (j = i; j < len && p[j] != ' '; j++)
			;
		if (j > i) {
			t[n].p = p + i;
			t[n].len = j - i;
			n++;
		}
		i = j;
	}
	return n;
}

/*
 * Messages name an instance: "<type> <name> <ip> <port>", then, unless
 * it is the master itself, "@ <master> <ip> <port>".  +switch-master is
 * "<master> <old ip> <old port> <new ip> <new port>".
 */
static int
sen_names_ours(const struct store_sentinel *ss, enum sen_ev ev,
    const struct sen_tok *t, size_t n)
{
	const char	*name = ss->s->rc->master_name;
	size_t		 i;

	if (ev == SEN_SWITCH)
		return n == 5 && sen_tok_is(&t[0], name);
	for (i = 0; i + 1 < n; i++)
		if (sen_tok_is(&t[i], "@"))
			return sen_tok_is(&t[i + 1], name);
	return n >= 2 && sen_tok_is(&t[0], "master") &&
	    sen_tok_is(&t[1], name);
}

static void
sen_at(struct store_sentinel *ss, const struct sen_tok *ip,
    const struct sen_tok *port, enum sen_ev ev, size_t idx)
{
	struct store	*s = ss->s;
	char		 host[SEN_HOST_MAX];
	int		 p = sen_port(port->p, port->len);

	if (p == 0 || ip->len == 0 || ip->len >= sizeof(host))
		return;
	memcpy(host, ip->p, ip->len);
	host[ip->len] = '\0';
	if (ev == SEN_CONVERT) {
		if (s->addr.host != NULL && strcmp(s->addr.host, host) == 0 &&
		    s->addr.port == p)
			store_drop(s, BK_E_STORE_NOT_MASTER,
			    "the sentinels demote the server to a replica");
		return;
	}
	if (s->ac == NULL || s->addr.host == NULL ||
	    strcmp(s->addr.host, host) != 0 || s->addr.port != p)
		log_info("redis: sentinel %s:%d: the master of %s is now "
		    "%s:%d", log_esc(ss->host[idx]), ss->port[idx],
		    log_esc(s->rc->master_name), log_esc(host), p);
	sen_move(ss, host, p);
}

static void
sen_event(struct store_sentinel *ss, size_t idx, const redisReply *ch,
    const redisReply *msg)
{
	struct sen_tok	 t[SEN_MAX_TOK];
	struct timeval	 soon;
	size_t		 i, n;

	for (i = 0; i < BK_NELEM(sen_events); i++)
		if (strcmp(ch->str, sen_events[i].ch) == 0)
			break;
	if (i == BK_NELEM(sen_events) || msg->len > SEN_MSG_MAX)
		return;
	n = sen_split(msg->str, msg->len, t, SEN_MAX_TOK);
	if (!sen_names_ours(ss, sen_events[i].ev, t, n))
		return;
	switch (sen_events[i].ev) {
	case SEN_HOLD:
		sen_hold(ss, sen_events[i].ch, idx);
		break;
	case SEN_PROMOTED:
	case SEN_CONVERT:
		/* "slave <ip:port> <ip> <port> @ ..." */
		if (n >= 4)
			sen_at(ss, &t[2], &t[3], sen_events[i].ev, idx);
		break;
	case SEN_SWITCH:
		sen_at(ss, &t[3], &t[4], SEN_SWITCH, idx);
		break;
	case SEN_ABORT:
		sen_later(&soon, STORE_ABORT_GRACE_MS);
		if (ss->hold && timercmp(&soon, &ss->hold_until, <))
			ss->hold_until = soon;
		log_info("redis: sentinel %s:%d: %s",
		    log_esc(ss->host[idx]), ss->port[idx], sen_events[i].ch);
		break;
	}
}

static void
sen_event_cb(redisAsyncContext *ac, void *reply, void *priv)
{
	struct sen_link	*l = priv;
	redisReply	*r = reply;

	if (r == NULL || ac != l->ac || r->type != REDIS_REPLY_ARRAY ||
	    r->elements != 3)
		return;
	if (r->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(r->element[0]->str, "message") != 0 ||
	    r->element[1]->type != REDIS_REPLY_STRING ||
	    r->element[2]->type != REDIS_REPLY_STRING)
		return;		/* subscribe confirmations */
	sen_event(l->ss, l->idx, r->element[1], r->element[2]);
}

/* --- life cycle --- */

static void
sen_tick_query(struct store_sentinel *ss)
{
	struct sen_link	*l = ss->q;

	if (l == NULL ||
	    store_ms_since(&l->since) < STORE_SENTINEL_TIMEOUT_MS)
		return;
	if (l->fails++ % 30 == 0)
		log_warnx_r(BK_E_STORE_SENTINEL, "redis: sentinel %s:%d did "
		    "not answer within %d ms", log_esc(ss->host[l->idx]),
		    ss->port[l->idx], STORE_SENTINEL_TIMEOUT_MS);
	ss->q = NULL;
	sen_link_close(l);
	sen_query_next(ss);
}

void
store_sentinel_tick(struct store *s)
{
	struct store_sentinel	*ss = s->sen;
	struct timeval		 now;
	size_t			 i;

	sen_tick_query(ss);
	for (i = 0; i < ss->n; i++) {
		struct sen_link *l = &ss->sub[i];

		if (l->ac != NULL && !l->connected &&
		    store_ms_since(&l->since) >= STORE_SENTINEL_TIMEOUT_MS)
			sen_link_close(l);
		else if (l->ac == NULL &&
		    store_ms_since(&l->since) >= STORE_PROBE_MS)
			(void)sen_link_open(l);
	}
	gettimeofday(&now, NULL);
	if (ss->hold && timercmp(&now, &ss->hold_until, >=)) {
		ss->hold = 0;
		log_warnx_r(BK_E_STORE_FAILOVER, "redis: no news of the "
		    "failover of %s; asking the sentinels",
		    log_esc(s->rc->master_name));
		store_connect(s);
	}
	if (ss->q == NULL && !ss->hold && s->up &&
	    store_ms_since(&ss->check_at) >= STORE_PROBE_MS) {
		ss->check_at = now;
		sen_query(ss, 0);
	}
}

int
store_sentinel_hold(const struct store *s)
{
	return s->sen != NULL && s->sen->hold;
}

static int
sen_addr(struct store_sentinel *ss, size_t i, const char *hp)
{
	const char	*colon = strrchr(hp, ':');
	size_t		 hl;

	if (colon == NULL || (hl = (size_t)(colon - hp)) == 0 ||
	    (ss->port[i] = sen_port(colon + 1, strlen(colon + 1))) == 0)
		return BK_E_INVAL;
	if (hp[0] == '[' && hl >= 2 && hp[hl - 1] == ']') {
		hp++;
		hl -= 2;
	}
	if (hl >= SEN_HOST_MAX)
		return BK_E_INVAL;
	memcpy(ss->host[i], hp, hl);
	ss->host[i][hl] = '\0';
	return BK_OK;
}

int
store_sentinel_new(struct store *s)
{
	struct store_sentinel	*ss;
	const struct conf_redis	*c = s->rc;
	size_t			 i;

	if ((ss = calloc(1, sizeof(*ss))) == NULL)
		return BK_E_NOMEM;
	ss->s = s;
	ss->epoch = -1;
	for (i = 0; i < c->n_sentinels && i < CONF_MAX_SENTINELS; i++) {
		if (sen_addr(ss, ss->n, c->sentinels[i]) != BK_OK)
			continue;	/* conf.c checked it; be safe */
		ss->cmd[ss->n].ss = ss->sub[ss->n].ss = ss;
		ss->cmd[ss->n].idx = ss->sub[ss->n].idx = ss->n;
		ss->sub[ss->n].sub = 1;
		ss->n++;
	}
	if (ss->n == 0) {
		free(ss);
		return BK_E_INVAL;
	}
	s->sen = ss;
	for (i = 0; i < ss->n; i++)
		(void)sen_link_open(&ss->sub[i]);
	return BK_OK;
}

void
store_sentinel_free(struct store *s)
{
	struct store_sentinel	*ss = s->sen;
	size_t			 i;

	if (ss == NULL)
		return;
	ss->q = NULL;
	for (i = 0; i < ss->n; i++) {
		sen_link_close(&ss->cmd[i]);
		sen_link_close(&ss->sub[i]);
	}
	free(ss);
	s->sen = NULL;
}
