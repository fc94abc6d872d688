/*
 * sso-broker: the strict HTTP layer: one bufferevent filter per connection.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Input: a request head stays in the filter's input until it is whole and
 * front_head.c accepts every line; then it goes to evhttp, followed by
 * exactly the body its framing announces, so evhttp never sees a byte we
 * did not check (see front_http.h for why).  A refused head is replaced
 * by a stand-in request that front.c answers; a body cut mid-way (bad
 * chunk, deadline) gets our answer written directly, then the connection
 * is closed.  Closing lingers: what the client still sends is read and
 * dropped for a moment, so it reads our answer rather than a reset.
 *
 * Output: evhttp takes an empty output buffer for "written" and may then
 * shut the socket down, but a filter empties it at once into the layer
 * below, which writes later.  So replies are written from the filter's
 * output straight to the socket (or SSL_write), and whatever the kernel
 * does not take waits there, on our own write event.
 * Trust: the client's byte stream.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "front_http.h"
#include "log.h"

static void	front_conn_timer_cb(evutil_socket_t, short, void *);
static void	front_conn_wev_cb(evutil_socket_t, short, void *);

static void
front_now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

/* Still driven by evhttp (not being freed, not lingering). */
static int
front_conn_alive(struct front_conn *c)
{
	bufferevent_event_cb	 ecb = NULL;

	if (c->l == NULL || c->bev == NULL)
		return 0;
	bufferevent_getcb(c->bev, NULL, NULL, &ecb, NULL);
	return ecb != NULL;
}

/* The deadline that applies now: the head's, then the whole request's. */
static void
front_conn_arm(struct front_conn *c)
{
	struct timespec	 now;
	struct timeval	 tv;
	long		 ms, el;

	ms = (c->state == FC_HEAD ? FRONT_HEAD_SEC : c->l->deadline) * 1000L;
	front_now(&now);
	el = front_http_ms(&c->t0, &now);
	ms = ms > el ? ms - el : 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
	c->armed = 1;
}

static void
front_conn_disarm(struct front_conn *c)
{
	evtimer_del(c->timer);
	c->armed = 0;
}

/* Every byte of a request has passed: the next head starts afresh. */
static void
front_conn_complete(struct front_conn *c)
{
	if (c->body >= FRONT_TRIM_MIN)
		front_http_trim_soon(c->l->fh);
	c->nreq++;
	c->body = 0;
	c->state = FC_HEAD;
	c->hlen = c->scan = 0;
	memset(&c->hd, 0, sizeof(c->hd));
	front_conn_disarm(c);
}

/*
 * A head: find and check each line (the request line first); forward the
 * head only when the empty line ends it.  1: progress, 0: more bytes
 * needed, or a BK_E_HTTP_* code.
 */
static int
front_conn_head(struct front_conn *c, struct evbuffer *src,
    struct evbuffer *dst)
{
	struct front_http	*fh = c->l->fh;
	struct evbuffer_ptr	 p;
	size_t			 avail, n;
	int			 rv, body;

	for (;;) {
		avail = evbuffer_get_length(src);
		if (c->scan < c->hlen)
			c->scan = c->hlen;
		p.pos = -1;
		if (c->scan < avail &&
		    evbuffer_ptr_set(src, &p, c->scan, EVBUFFER_PTR_SET) == 0)
			p = evbuffer_search(src, "\n", 1, &p);
		if (p.pos < 0) {
			c->scan = avail;
			return avail > FRONT_MAX_HEADERS ?
			    BK_E_HTTP_HEADERS_TOOBIG : 0;
		}
		if ((size_t)p.pos + 1 > FRONT_MAX_HEADERS)
			return BK_E_HTTP_HEADERS_TOOBIG;
		n = (size_t)p.pos + 1 - c->hlen;
		evbuffer_ptr_set(src, &p, c->hlen, EVBUFFER_PTR_SET);
		evbuffer_copyout_from(src, &p, fh->line, n);
		rv = front_head_line(&c->hd, fh->line, n);
		if (rv < 0)
			return rv;
		if (rv == FRONT_HEAD_SKIP) {
			evbuffer_drain(src, n);
			c->scan = 0;
			continue;
		}
		c->hlen += n;
		if (rv == FRONT_HEAD_END)
			break;
	}
	if ((rv = front_head_end(&c->hd, &body)) != BK_OK)
		return rv;
	evbuffer_remove_buffer(src, dst, c->hlen);
	c->hlen = c->scan = 0;
	if (body == 0) {
		front_conn_complete(c);
		return 1;
	}
	c->state = body == 1 ? FC_BODY : FC_CHUNK_SIZE;
	c->left = c->hd.content_length;
	front_conn_arm(c);
	return 1;
}

static int
front_conn_pass(struct front_conn *c, struct evbuffer *src,
    struct evbuffer *dst)
{
	size_t	 n = evbuffer_get_length(src);

	if (n > c->left)
		n = (size_t)c->left;
	evbuffer_remove_buffer(src, dst, n);
	c->left -= n;
	c->body += n;
	if (c->left == 0)
		c->state = c->state == FC_BODY ? FC_HEAD : FC_CHUNK_CRLF;
	if (c->state == FC_HEAD)
		front_conn_complete(c);
	return n > 0;
}

/* "1*HEXDIG CRLF", or the CRLF after a chunk or after the last one. */
static int
front_conn_chunk(struct front_conn *c, struct evbuffer *src,
    struct evbuffer *dst)
{
	char			*line = c->l->fh->line;
	struct evbuffer_ptr	 p;
	size_t			 avail = evbuffer_get_length(src), n;
	uint64_t		 size;
	int			 rv;

	if (c->state != FC_CHUNK_SIZE) {
		n = avail < 2 ? avail : 2;
		evbuffer_copyout(src, line, n);
		if (line[0] != '\r' || (n == 2 && line[1] != '\n'))
			return BK_E_HTTP_CHUNK;	/* no trailer fields either */
		if (n < 2)
			return 0;
		evbuffer_remove_buffer(src, dst, 2);
		if (c->state == FC_CHUNK_END)
			front_conn_complete(c);
		else
			c->state = FC_CHUNK_SIZE;
		return 1;
	}
	p = evbuffer_search(src, "\n", 1, NULL);
	if (p.pos < 0)
		return avail > 17 ? BK_E_HTTP_CHUNK : 0;
	n = (size_t)p.pos + 1;
	if (n > 17)
		return BK_E_HTTP_CHUNK;
	evbuffer_copyout(src, line, n);
	if ((rv = front_head_chunk(line, n, &size)) != BK_OK)
		return rv;
	evbuffer_remove_buffer(src, dst, n);
	c->left = size;
	c->state = size > 0 ? FC_CHUNK_DATA : FC_CHUNK_END;
	return 1;
}

static int
front_conn_step(struct front_conn *c, struct evbuffer *src,
    struct evbuffer *dst)
{
	switch (c->state) {
	case FC_HEAD:
		if (!c->armed) {
			front_now(&c->t0);
			front_conn_arm(c);
		}
		return front_conn_head(c, src, dst);
	case FC_BODY:
	case FC_CHUNK_DATA:
		return front_conn_pass(c, src, dst);
	case FC_CHUNK_SIZE:
	case FC_CHUNK_CRLF:
	case FC_CHUNK_END:
		return front_conn_chunk(c, src, dst);
	default:
		evbuffer_drain(src, evbuffer_get_length(src));
		return 0;
	}
}

static void
front_conn_peer(struct front_conn *c, char *buf, size_t size)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	int			 fd = bufferevent_getfd(c->bev);
	const void		*a = NULL;

	snprintf(buf, size, "-");
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET)
		a = &((struct sockaddr_in *)&ss)->sin_addr;
	else if (ss.ss_family == AF_INET6)
		a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	if (a != NULL)
		inet_ntop(ss.ss_family, a, buf, (socklen_t)size);
}

/* The JSON error body every refusal carries (jansson, never by hand). */
static char *
front_http_errbody(int rv, const char *id)
{
	json_t	*o;
	char	*s;

	o = json_pack("{s:s, s:s, s:s}", "error", bk_err_slug(rv),
	    "error_description", bk_strerror(rv), "request_id", id);
	s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

static const char *
front_http_phrase(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* --- direct writes (replies and our own answers) --- */

static int
front_conn_write_some(struct front_conn *c, struct evbuffer *b)
{
	struct bufferevent	*u = bufferevent_get_underlying(c->bev);
	SSL			*ssl;
	unsigned char		*p;
	int			 n, e, want;

	ssl = u != NULL ? bufferevent_openssl_get_ssl(u) : NULL;
	if (ssl == NULL) {
		n = evbuffer_write(b, bufferevent_getfd(c->bev));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return n < 0 ? -1 : n > 0;
	}
	/*
	 * A write that wanted more room must be repeated with the same bytes
	 * (libevent sets SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER); they are still
	 * at the front of b.
	 */
	want = evbuffer_get_length(b) > 16384 ? 16384 :
	    (int)evbuffer_get_length(b);
	if (want < c->wlast)
		want = c->wlast;
	if ((p = evbuffer_pullup(b, want)) == NULL)
		return -1;
	ERR_clear_error();
	if ((n = SSL_write(ssl, p, want)) > 0) {
		c->wlast = 0;
		evbuffer_drain(b, (size_t)n);
		return 1;
	}
	e = SSL_get_error(ssl, n);
	if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
		c->wlast = want;
		return 0;
	}
	return -1;
}

/*
 * Write b until the kernel wants no more.  1: b is empty, 0: waiting for
 * the socket (wev armed), -1: the write failed.
 */
static int
front_conn_write(struct front_conn *c, struct evbuffer *b)
{
	struct timeval	 tv = { FRONT_TIMEOUT_SEC, 0 };
	int		 r = 1;

	while (evbuffer_get_length(b) > 0 && (r = front_conn_write_some(c,
	    b)) > 0)
		;
	if (r < 0)
		return -1;
	if (evbuffer_get_length(b) == 0)
		return 1;
	if (c->wev == NULL)
		c->wev = event_new(bufferevent_get_base(c->bev),
		    bufferevent_getfd(c->bev), EV_WRITE, front_conn_wev_cb, c);
	if (c->wev == NULL)
		return -1;
	event_add(c->wev, &tv);
	return 0;
}

/*
 * The filter's own output path stays unused (it would empty evhttp's
 * buffer into the layer below at once, and evhttp adds its reply before
 * it enables writing anyway): an evbuffer callback schedules
 * front_conn_flush_cb instead.
 */
static enum bufferevent_filter_result
front_conn_out(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
    enum bufferevent_flush_mode mode, void *arg)
{
	(void)src;
	(void)dst;
	(void)lim;
	(void)mode;
	(void)arg;
	return BEV_NEED_MORE;
}

static void
front_conn_outbuf_cb(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct front_conn	*c = arg;

	(void)b;
	if (info->n_added > 0 && c->flush != NULL &&
	    !event_pending(c->flush, EV_TIMEOUT, NULL))
		event_active(c->flush, EV_TIMEOUT, 1);
}

/* evhttp closes the connection as after a client's EOF. */
static void
front_conn_close(struct front_conn *c, short what)
{
	bufferevent_event_cb	 ecb = NULL;
	void			*arg = NULL;

	c->linger = 1;
	bufferevent_getcb(c->bev, NULL, NULL, &ecb, &arg);
	if (ecb != NULL)
		ecb(c->bev, what, arg);
}

/* Write what evhttp (or a cut) queued; tell evhttp once it is out. */
static void
front_conn_flush(struct front_conn *c)
{
	struct evbuffer		*b;
	int			 r;

	b = c->state == FC_CUT ? c->cut : bufferevent_get_output(c->bev);
	if (evbuffer_get_length(b) == 0)
		return;
	front_now(&c->active);
	if ((r = front_conn_write(c, b)) < 0) {
		front_conn_close(c, BEV_EVENT_ERROR | BEV_EVENT_WRITING);
		return;
	}
	if (r == 0)
		return;
	if (c->state == FC_CUT) {
		front_conn_close(c, BEV_EVENT_EOF | BEV_EVENT_READING);
		return;
	}
	/* Written: evhttp may go on (its write timeout starts again). */
	if (bufferevent_get_enabled(c->bev) & EV_WRITE) {
		bufferevent_enable(c->bev, EV_WRITE);
		bufferevent_trigger(c->bev, EV_WRITE, 0);
	}
}

static void
front_conn_wev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct front_conn	*c = arg;

	(void)fd;
	if (!front_conn_alive(c))
		return;
	if (what & EV_TIMEOUT) {
		front_conn_close(c, BEV_EVENT_TIMEOUT | BEV_EVENT_WRITING);
		return;
	}
	front_conn_flush(c);
}

static void
front_conn_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct front_conn	*c = arg;

	(void)fd;
	(void)what;
	if (!front_conn_alive(c) || (c->wev != NULL &&
	    event_pending(c->wev, EV_WRITE, NULL)))
		return;
	front_conn_flush(c);
}

/* --- refusals --- */

static void
front_http_log_refusal(struct front_http *fh, const char *id, int rv,
    const char *addr)
{
	front_http_logr(fh, 0, id, rv, "HTTP request from %s refused: %d %s",
	    addr, bk_err_http(rv), bk_err_slug(rv));
}

/*
 * Mid-body (evhttp is reading the body, so it cannot answer): write our
 * answer ourselves, then close once it is out.
 */
static void
front_conn_cut(struct front_conn *c, int rv)
{
	struct timespec	 now;
	char		 id[17], addr[64];
	char		*body;
	int		 status = bk_err_http(rv);

	c->state = FC_CUT;
	c->linger = 1;
	front_conn_disarm(c);
	if (bk_random_hex(id, 8) != BK_OK)
		snprintf(id, sizeof(id), "-");
	body = front_http_errbody(rv, id);
	if (c->cut == NULL)
		c->cut = evbuffer_new();
	if (c->cut == NULL || body == NULL) {
		free(body);
		front_conn_close(c, BEV_EVENT_ERROR | BEV_EVENT_READING);
		return;
	}
	/* A whole response by hand: evhttp has no request to answer. */
	evbuffer_add_printf(c->cut, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
	    "Connection: close\r\n\r\n%s", status, front_http_phrase(status),
	    strlen(body), body);
	free(body);
	front_conn_peer(c, addr, sizeof(addr));
	front_http_log_refusal(c->l->fh, id, rv, addr);
	front_now(&now);
	metrics_request(MR_OTHER, status,
	    (double)front_http_ms(&c->t0, &now) / 1000.0);
	event_active(c->flush, EV_TIMEOUT, 1);
}

/* A refused head: what follows is dropped; evhttp answers a stand-in. */
static void
front_conn_refuse(struct front_conn *c, int rv, struct evbuffer *dst)
{
	c->linger = 1;
	if (c->state != FC_HEAD) {
		front_conn_cut(c, rv);
		return;
	}
	evbuffer_add_printf(dst, "GET %s%d HTTP/1.1\r\nHost: refused\r\n"
	    "Connection: close\r\n\r\n", c->l->fh->prefix, -rv);
	c->state = FC_DEAD;
	front_conn_disarm(c);
}

static enum bufferevent_filter_result
front_conn_in(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct front_conn	*c = arg;
	size_t			 before = evbuffer_get_length(dst);
	int			 rv = 0;

	(void)lim;
	(void)mode;
	if (c->l == NULL || c->state == FC_DEAD || c->state == FC_CUT) {
		evbuffer_drain(src, evbuffer_get_length(src));
		return BEV_NEED_MORE;
	}
	front_now(&c->active);
	while (evbuffer_get_length(src) > 0 &&
	    (rv = front_conn_step(c, src, dst)) > 0)
		;
	if (rv < 0) {
		front_conn_refuse(c, rv, dst);
		evbuffer_drain(src, evbuffer_get_length(src));
	}
	/*
	 * BEV_OK only when evhttp has something new: the filter calls us
	 * again while input is left, and we made no progress on it.
	 */
	return evbuffer_get_length(dst) > before ? BEV_OK : BEV_NEED_MORE;
}

static void
front_conn_timeout(struct front_conn *c)
{
	struct bufferevent	*u = bufferevent_get_underlying(c->bev);
	struct evbuffer		*src = bufferevent_get_input(u);
	struct evbuffer		*dst = bufferevent_get_input(c->bev);

	if (c->state != FC_HEAD) {
		front_conn_cut(c, BK_E_HTTP_TIMEOUT);
		return;
	}
	/* Connected and silent: no request to answer. */
	if (evbuffer_get_length(src) == 0 && c->nreq == 0) {
		front_conn_close(c, BEV_EVENT_EOF | BEV_EVENT_READING);
		return;
	}
	evbuffer_drain(src, evbuffer_get_length(src));
	front_conn_refuse(c, BK_E_HTTP_TIMEOUT, dst);
	/* evhttp reads the stand-in now, or when it is done writing. */
	if (bufferevent_get_enabled(c->bev) & EV_READ)
		bufferevent_trigger(c->bev, EV_READ, 0);
}

static void
front_conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct front_conn	*c = arg;

	(void)fd;
	(void)what;
	if (!front_conn_alive(c))
		return;
	c->armed = 0;
	if (c->state == FC_DEAD || c->state == FC_CUT)
		return;
	front_conn_timeout(c);
}

/* --- life cycle --- */

static void
front_conn_gone(struct front_conn *c)
{
	struct front_lsn	*l = c->l;

	TAILQ_REMOVE(&l->fh->conns, c, entry);
	l->nconns--;
	front_http_accept_update(l->fh);
	free(c);
}

static void
front_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct front_conn	*c = arg;
	struct timespec		 now;
	ssize_t			 n = 0;

	front_now(&now);
	if (front_http_ms(&c->t0, &now) >= FRONT_LINGER_MS)
		what |= EV_TIMEOUT;	/* a bound, however it dribbles */
	if (!(what & EV_TIMEOUT))
		while ((n = read(fd, c->l->fh->line, FRONT_MAX_HEADERS)) > 0 &&
		    (c->lbytes += (size_t)n) < FRONT_LINGER_MAX)
			;
	if (!(what & EV_TIMEOUT) && n < 0 &&
	    (errno == EAGAIN || errno == EINTR))
		return;
	event_free(c->timer);
	close(c->lfd);
	front_conn_gone(c);
}

static void
front_conn_events_free(struct front_conn *c)
{
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->wev != NULL)
		event_free(c->wev);
	if (c->flush != NULL)
		event_free(c->flush);
	if (c->cut != NULL)
		evbuffer_free(c->cut);
	c->timer = c->wev = c->flush = NULL;
	c->cut = NULL;
}

/* The filter's free_context: the connection is being freed. */
static void
front_conn_free(void *arg)
{
	struct front_conn	*c = arg;
	struct timeval		 tv = { FRONT_LINGER_MS / 1000,
	    (FRONT_LINGER_MS % 1000) * 1000 };
	int			 fd;

	front_conn_events_free(c);
	if (c->l == NULL) {
		free(c);
		return;
	}
	if (c->body >= FRONT_TRIM_MIN)
		front_http_trim_soon(c->l->fh);
	/*
	 * evhttp has shut the socket down for writing; the layer below will
	 * close it.  A copy keeps it open while we drain the client.
	 */
	fd = bufferevent_getfd(c->bev);
	c->bev = NULL;
	if (c->linger && fd >= 0 &&
	    (c->lfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) >= 0) {
		front_now(&c->t0);
		c->timer = event_new(c->l->fh->f->base, c->lfd,
		    EV_READ | EV_PERSIST, front_linger_cb, c);
		if (c->timer != NULL && event_add(c->timer, &tv) == 0)
			return;
		if (c->timer != NULL)
			event_free(c->timer);
		close(c->lfd);
	}
	front_conn_gone(c);
}

static struct bufferevent *
front_conn_lower(struct front_http *fh, struct event_base *base)
{
	SSL	*ssl;

	if (fh->f->tls_ctx == NULL)
		return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if ((ssl = SSL_new(fh->f->tls_ctx)) == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

struct bufferevent *
front_http_bevcb(struct event_base *base, void *arg)
{
	struct front_lsn	*l = arg;
	struct front_http	*fh = l->fh;
	struct front_conn	*c;
	struct bufferevent	*u, *b;

	/*
	 * No NULL here: evhttp would then make a plain, unfiltered (and for
	 * a TLS listener, unencrypted) connection.
	 */
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (u = front_conn_lower(fh, base)) == NULL)
		fatalx("out of memory for a new connection");
	b = bufferevent_filter_new(u, front_conn_in, front_conn_out,
	    BEV_OPT_CLOSE_ON_FREE, front_conn_free, c);
	if (b == NULL ||
	    (c->timer = evtimer_new(base, front_conn_timer_cb, c)) == NULL ||
	    (c->flush = event_new(base, -1, 0, front_conn_flush_cb,
	    c)) == NULL ||
	    evbuffer_add_cb(bufferevent_get_output(b), front_conn_outbuf_cb,
	    c) == NULL)
		fatalx("out of memory for a new connection");
	c->l = l;
	c->bev = b;
	c->lfd = -1;
	/* The first request's head must arrive FRONT_HEAD_SEC after this. */
	front_now(&c->t0);
	c->active = c->t0;
	front_conn_arm(c);
	TAILQ_INSERT_TAIL(&fh->conns, c, entry);
	if (++l->nconns >= l->cap) {
		front_http_logr(fh, 1, NULL, 0, "%s listener: %d connections "
		    "(the cap); accepting again when one closes",
		    l->admin ? "admin" : "public", l->nconns);
		front_http_accept_update(fh);
	}
	return b;
}

int
front_http_refused(struct front_http *fh, struct evhttp_request *ev,
    int admin)
{
	const char		*uri = evhttp_request_get_uri(ev), *why;
	size_t			 pl = strlen(fh->prefix);
	struct front_req	*req;
	struct evkeyvalq	*h;
	struct evbuffer		*out;
	long long		 n;
	char			*body;
	int			 rv, status;

	if (uri == NULL || strncmp(uri, fh->prefix, pl) != 0 ||
	    bk_strtonum(uri + pl, 1, 999, &n, &why) != BK_OK)
		return 0;
	rv = (int)-n;
	status = bk_err_http(rv);
	req = admin ? front_admin_req_new(fh->f, ev) :
	    front_req_open(fh->f, ev);
	if (req == NULL) {
		evhttp_send_error(ev, 503, "Service Unavailable");
		return 1;
	}
	front_http_log_refusal(fh, req->id, rv, req->addr);
	req->replied = 1;
	req->status = status;
	evhttp_connection_set_closecb(evhttp_request_get_connection(ev), NULL,
	    NULL);
	h = evhttp_request_get_output_headers(ev);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Connection", "close");
	out = evbuffer_new();
	if (out != NULL && (body = front_http_errbody(rv, req->id)) != NULL) {
		evbuffer_add(out, body, strlen(body));
		free(body);
	}
	evhttp_send_reply(ev, status, front_http_phrase(status), out);
	if (out != NULL)
		evbuffer_free(out);
	front_req_done(req);
	return 1;
}

void
front_http_close_idle(struct front_http *fh, int idle_ms)
{
	struct front_conn	*c, *next;
	struct bufferevent	*u;
	struct timespec		 now;

	front_now(&now);
	for (c = TAILQ_FIRST(&fh->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (!front_conn_alive(c) || c->state != FC_HEAD ||
		    c->hlen > 0 || front_http_ms(&c->active, &now) < idle_ms)
			continue;
		u = bufferevent_get_underlying(c->bev);
		/* Idle: evhttp waits for a request and none has begun. */
		if (!(bufferevent_get_enabled(c->bev) & EV_READ) ||
		    evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 ||
		    evbuffer_get_length(bufferevent_get_input(u)) > 0 ||
		    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
			continue;
		front_conn_close(c, BEV_EVENT_EOF | BEV_EVENT_READING);
	}
}

void
front_http_conns_orphan(struct front_http *fh)
{
	struct front_conn	*c;

	while ((c = TAILQ_FIRST(&fh->conns)) != NULL) {
		TAILQ_REMOVE(&fh->conns, c, entry);
		front_conn_events_free(c);
		if (c->bev == NULL) {
			close(c->lfd);
			free(c);
			continue;
		}
		c->l = NULL;	/* freed by front_conn_free, later */
	}
}
