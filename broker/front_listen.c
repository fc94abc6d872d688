/*
 * sso-broker: the worker's listeners: limits, connection caps, the accept
 * pause, the store-ready gate, the drain, and giving body memory back.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A worker accepts only while its store is up (or FRONT_READY_WAIT_MS
 * after it started, so a Redis outage still gets clean 503s and /healthz
 * answers), while it is not draining, while accept() has not just failed,
 * and while each listener is under its connection cap.  The caps keep
 * the worker below its file descriptor limit, so accept() rarely fails;
 * when it does (EMFILE, ENFILE), the listeners pause for a moment instead
 * of spinning on a socket that stays readable, and the log says so once,
 * not a million times.
 * Trust: none of the inputs here come from the network.
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "front_http.h"
#include "log.h"

/* evconnlistener's error callback has no argument of ours. */
static struct front_http	*front_http_self;

long
front_http_ms(const struct timespec *a, const struct timespec *b)
{
	return (long)(b->tv_sec - a->tv_sec) * 1000 +
	    (b->tv_nsec - a->tv_nsec) / 1000000;
}

void
front_http_logr(struct front_http *fh, int kind, const char *id, int rv,
    const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;
	time_t	 now = time(NULL);
	/* refusals: 10 lines a second; accept and cap notices: 1 in 10 s */
	int	 max = kind == 0 ? 10 : 1;
	time_t	 win = kind == 0 ? 1 : 10;

	if (now - fh->log_sec[kind] >= win) {
		fh->log_sec[kind] = now;
		fh->log_n[kind] = 0;
	}
	if (fh->log_n[kind]++ >= max) {
		fh->log_dropped[kind]++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (fh->log_dropped[kind] > 0) {
		log_req(LOG_L_WARN, id, rv, "%s (%lu similar lines suppressed)",
		    msg, fh->log_dropped[kind]);
		fh->log_dropped[kind] = 0;
	} else
		log_req(LOG_L_WARN, id, rv, "%s", msg);
}

void
front_http_accept_update(struct front_http *fh)
{
	struct front_lsn	*l;
	struct evconnlistener	*lev;
	size_t			 i;
	int			 want;

	for (i = 0; i < BK_NELEM(fh->lsn); i++) {
		l = &fh->lsn[i];
		if (l->bs == NULL)
			continue;
		want = fh->ready && !fh->draining && !fh->paused &&
		    l->nconns < l->cap;
		if (want == l->on)
			continue;
		lev = evhttp_bound_socket_get_listener(l->bs);
		if (want)
			evconnlistener_enable(lev);
		else
			evconnlistener_disable(lev);
		l->on = want;
	}
}

static void
front_http_resume_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct front_http	*fh = arg;

	(void)fd;
	(void)ev;
	fh->paused = 0;
	front_http_accept_update(fh);
}

/*
 * accept() failed for a reason that retrying at once will not cure: the
 * socket stays readable, so a listener left enabled spins the loop.
 */
static void
front_http_accept_err(struct evconnlistener *lev, void *arg)
{
	struct front_http	*fh = front_http_self;
	struct timeval		 tv = { 0, FRONT_ACCEPT_PAUSE_MS * 1000 };
	int			 e = errno;

	(void)lev;
	(void)arg;
	if (fh == NULL)
		return;
	front_http_logr(fh, 1, NULL, 0, "accept: %s; pausing new connections "
	    "for %d ms", strerror(e), FRONT_ACCEPT_PAUSE_MS);
	fh->paused = 1;
	front_http_accept_update(fh);
	evtimer_add(fh->resume, &tv);
}

static void
front_http_gate_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct front_http	*fh = arg;
	struct timespec		 now;
	long			 el;

	(void)fd;
	(void)ev;
	clock_gettime(CLOCK_MONOTONIC, &now);
	el = front_http_ms(&fh->t_start, &now);
	if (!store_is_up(fh->f->store_default) && el < FRONT_READY_WAIT_MS)
		return;
	if (!store_is_up(fh->f->store_default))
		log_warnx("the store is not ready after %ld ms; accepting "
		    "anyway (requests that need it get 503)", el);
	else
		log_debug("store ready after %ld ms; accepting", el);
	event_del(fh->gate);
	fh->ready = 1;
	front_http_accept_update(fh);
}

static void
front_http_trim_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct front_http	*fh = arg;

	(void)fd;
	(void)ev;
	fh->trim_pending = 0;
	/*
	 * Bodies arrive in many small evbuffer chains, below the mmap
	 * threshold; freed, they leave holes in the heap that only
	 * malloc_trim() hands back (it releases free pages anywhere in the
	 * heap, not just at its top).
	 */
	malloc_trim(0);
}

void
front_http_trim_soon(struct front_http *fh)
{
	/* After the reply (which frees the body); at most 4 a second. */
	struct timeval	 tv = { 0, 250 * 1000 };

	if (fh->trim_pending || fh->trim == NULL)
		return;
	fh->trim_pending = 1;
	evtimer_add(fh->trim, &tv);
}

/* Caps from the fd limit (raised to the hard limit by the parent). */
static void
front_http_caps(struct front_http *fh)
{
	struct rlimit	 rl;
	long		 budget = FRONT_MAX_CONNS, adm;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		budget = (long)rl.rlim_cur > 2 * FRONT_FD_RESERVE ?
		    (long)rl.rlim_cur - FRONT_FD_RESERVE :
		    (long)rl.rlim_cur / 2;
	if (budget > FRONT_MAX_CONNS)
		budget = FRONT_MAX_CONNS;
	if (budget < 16)
		budget = 16;
	adm = budget / 8 < FRONT_ADMIN_CONNS ? budget / 8 : FRONT_ADMIN_CONNS;
	fh->lsn[0].cap = (int)(budget - adm);
	fh->lsn[1].cap = (int)adm;
	log_debug("connection caps: public %d, admin %d", fh->lsn[0].cap,
	    fh->lsn[1].cap);
}

struct front_http *
front_http_new(struct front *f)
{
	struct front_http	*fh;
	struct timeval		 tv = { 0, 50 * 1000 };
	char			 hex[33];

	if ((fh = calloc(1, sizeof(*fh))) == NULL)
		return NULL;
	fh->f = f;
	TAILQ_INIT(&fh->conns);
	clock_gettime(CLOCK_MONOTONIC, &fh->t_start);
	front_http_caps(fh);
	fh->lsn[1].admin = 1;
	fh->lsn[0].deadline = FRONT_REQUEST_SEC;
	fh->lsn[1].deadline = FRONT_REQUEST_ADMIN_SEC;
	fh->lsn[0].fh = fh->lsn[1].fh = fh;
	/* The stand-in path is unguessable: no client can ask for it. */
	if (bk_random_hex(hex, 16) != BK_OK)
		goto out;
	snprintf(fh->prefix, sizeof(fh->prefix), "/.refused-%s/", hex);
	fh->gate = event_new(f->base, -1, EV_PERSIST, front_http_gate_cb, fh);
	fh->resume = evtimer_new(f->base, front_http_resume_cb, fh);
	fh->trim = evtimer_new(f->base, front_http_trim_cb, fh);
	if (fh->gate == NULL || fh->resume == NULL || fh->trim == NULL)
		goto out;
	evtimer_add(fh->gate, &tv);
	front_http_self = fh;
	return fh;
 out:
	front_http_free(fh);
	return NULL;
}

static void
front_http_gencb(struct evhttp_request *ev, void *arg)
{
	struct front_lsn	*l = arg;

	if (front_http_refused(l->fh, ev, l->admin))
		return;
	l->cb(ev, l->fh->f);
}

struct evhttp *
front_http_listen(struct front_http *fh, int admin, int fd, size_t max_body,
    int methods, void (*cb)(struct evhttp_request *, void *))
{
	struct front_lsn	*l = &fh->lsn[admin ? 1 : 0];
	struct evhttp		*h;

	if ((h = evhttp_new(fh->f->base)) == NULL)
		return NULL;
	/* front_head.c refuses a longer head first, with 431. */
	evhttp_set_max_headers_size(h, FRONT_MAX_HEADERS);
	evhttp_set_max_body_size(h, max_body);
	/* Idle time; the deadlines from the first byte are ours. */
	evhttp_set_timeout(h, FRONT_TIMEOUT_SEC);
	evhttp_set_allowed_methods(h, (ev_uint16_t)methods);
	evhttp_set_default_content_type(h, "text/plain; charset=utf-8");
	/* Read and drop an oversized body, then answer 413 (not a reset). */
	evhttp_set_flags(h, EVHTTP_SERVER_LINGERING_CLOSE);
	l->h = h;
	l->cb = cb;
	evhttp_set_gencb(h, front_http_gencb, l);
	evhttp_set_bevcb(h, front_http_bevcb, l);
	if ((l->bs = evhttp_accept_socket_with_handle(h, fd)) == NULL) {
		evhttp_free(h);
		l->h = NULL;
		return NULL;
	}
	/* Closed by us (front_http_drain) or by evhttp_free. */
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(l->bs),
	    front_http_accept_err);
	l->on = 1;
	front_http_accept_update(fh);	/* not before the store is up */
	return h;
}

void
front_http_drain(struct front_http *fh)
{
	size_t	 i;

	fh->draining = 1;
	/* Close our copies of the listening sockets: no new connection. */
	for (i = 0; i < BK_NELEM(fh->lsn); i++)
		if (fh->lsn[i].bs != NULL) {
			evhttp_del_accept_socket(fh->lsn[i].h, fh->lsn[i].bs);
			fh->lsn[i].bs = NULL;
		}
}

int
front_http_nconns(const struct front_http *fh)
{
	const struct front_conn	*c;
	int			 n = 0;

	/* A lingering socket has had its answer: no reason to wait. */
	TAILQ_FOREACH(c, &fh->conns, entry)
		n += c->bev != NULL;
	return n;
}

void
front_http_free(struct front_http *fh)
{
	if (fh == NULL)
		return;
	if (front_http_self == fh)
		front_http_self = NULL;
	front_http_conns_orphan(fh);
	if (fh->gate != NULL)
		event_free(fh->gate);
	if (fh->resume != NULL)
		event_free(fh->resume);
	if (fh->trim != NULL)
		event_free(fh->trim);
	free(fh);
}
