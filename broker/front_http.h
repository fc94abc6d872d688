/*
 * sso-broker: the strict HTTP layer under evhttp (front_head.c,
 * front_http.c, front_listen.c), shared with front.c only.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * libevent 2.1 is lenient: it joins obs-fold lines, keeps
 * "Content-Length " as a header name, takes the first of two
 * Content-Length headers and ignores a body on HEAD.  A front end that
 * disagrees would let a client smuggle a second request (RFC 9112 11.2).
 * So every connection's bytes pass through a bufferevent filter
 * (evhttp_set_bevcb) that checks each request head in the raw stream
 * before evhttp reads it, and follows the framing (Content-Length or
 * chunked) so that it always knows where the next head starts.  What it
 * refuses never reaches evhttp: it is replaced by a request for a
 * per-worker secret path, which front.c answers with the refusal (400,
 * 431, 408, ...) and "Connection: close", in order after any pipelined
 * request still being answered.  The same layer keeps the per-request
 * deadlines, the per-worker connection caps, the accept pause, the
 * store-ready gate and the drain.
 * Trust: the byte stream is untrusted; a head is forwarded only whole
 * and checked.
 */
#ifndef BK_FRONT_HTTP_H
#define BK_FRONT_HTTP_H

#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "front_int.h"

struct evhttp;
struct evhttp_request;
struct front;
struct front_req;
struct front_http;

/* Deadlines (seconds) from a request's first byte (the first request of a
   connection: from the accept), and how long a new worker waits for its
   store before it accepts anyway (so /healthz answers and sign-ins get a
   clean 503 while Redis is down). */
#define FRONT_HEAD_SEC		10
#define FRONT_REQUEST_SEC	30
#define FRONT_REQUEST_ADMIN_SEC	120
#define FRONT_READY_WAIT_MS	2500
/* Connections per worker: at most this many, and the fd limit less a
   reserve for Redis, the audit file, pipes and outbound HTTPS.  The admin
   listener has its own share, so a flood of the public one leaves it
   usable. */
#define FRONT_MAX_CONNS		4096
#define FRONT_FD_RESERVE	64
#define FRONT_ADMIN_CONNS	64
/* After accept() fails (EMFILE, ENFILE, ENOMEM): pause the listeners. */
#define FRONT_ACCEPT_PAUSE_MS	250
/* After a refusal or a cut, read and drop what the client still sends
   for this long before close(), so it reads our answer, not a reset. */
#define FRONT_LINGER_MS		2000
#define FRONT_LINGER_MAX	(256 * 1024)
/* Bodies at least this large give their memory back (malloc_trim). */
#define FRONT_TRIM_MIN		(64 * 1024)

/* --- front_head.c: pure checks of a request head (no I/O) --- */

enum front_method {
	FRONT_M_GET = 1, FRONT_M_HEAD, FRONT_M_POST, FRONT_M_PUT,
	FRONT_M_DELETE, FRONT_M_OPTIONS, FRONT_M_PATCH, FRONT_M_TRACE,
	FRONT_M_CONNECT
};

/** What the checks found in one head; zero it before the first line. */
struct front_head {
	int		 nlines;	/* lines seen, the request line first */
	int		 method;	/* enum front_method */
	int		 http10;	/* HTTP/1.0 (else 1.1) */
	int		 n_host, n_cl, n_te;
	uint64_t	 content_length;
};

/* front_head_line() results besides BK_E_* codes. */
#define FRONT_HEAD_MORE	1	/* line accepted, the head goes on */
#define FRONT_HEAD_END	2	/* the empty line: the head is complete */
#define FRONT_HEAD_SKIP	3	/* an empty line before the request line */

/**
 * Check one line of a request head, line[0..len) including its CRLF
 * (RFC 9112 2.2, 3, 5): the request line, then field lines, then the
 * empty line.  Returns FRONT_HEAD_* or a BK_E_HTTP_* code.
 */
int	front_head_line(struct front_head *h, const char *line, size_t len);
/**
 * After FRONT_HEAD_END: Host, framing and method agree (RFC 9112 3.2,
 * 6.1, 6.3).  *body: 0 none, 1 Content-Length bytes, 2 chunked.
 */
int	front_head_end(const struct front_head *h, int *body);
/**
 * A chunk-size line "1*HEXDIG CRLF" (no extensions), line[0..len).
 * BK_OK with *size, or BK_E_HTTP_CHUNK.
 */
int	front_head_chunk(const char *line, size_t len, uint64_t *size);

/* --- shared state of front_http.c and front_listen.c --- */

struct bufferevent;
struct event;
struct event_base;
struct evhttp_bound_socket;

/** One listener (public or admin) of a worker. */
struct front_lsn {
	struct front_http	*fh;
	struct evhttp		*h;
	struct evhttp_bound_socket *bs;	/* NULL once closed */
	void			(*cb)(struct evhttp_request *, void *);
	int			 admin;
	int			 nconns;	/* open, lingering included */
	int			 cap;
	int			 on;		/* accepting */
	int			 deadline;	/* whole request, seconds */
};

enum front_conn_state {
	FC_HEAD,	/* reading a head (kept in the input until whole) */
	FC_BODY,	/* Content-Length bytes left */
	FC_CHUNK_SIZE, FC_CHUNK_DATA, FC_CHUNK_CRLF, FC_CHUNK_END,
	FC_DEAD,	/* refused: input dropped, evhttp answers a stand-in */
	FC_CUT		/* answered by us mid-body: waiting to close */
};

/** One connection: the filter's state (the bufferevent filter context). */
struct front_conn {
	TAILQ_ENTRY(front_conn)	 entry;
	struct front_lsn	*l;	/* NULL once the front is gone */
	struct bufferevent	*bev;	/* the filter; NULL while lingering */
	struct event		*timer;	/* deadline, cut, or linger event */
	enum front_conn_state	 state;
	struct front_head	 hd;
	size_t			 hlen;	/* head bytes checked, in the input */
	size_t			 scan;	/* searched for LF up to here */
	uint64_t		 left;	/* body or chunk bytes to pass */
	uint64_t		 body;	/* this request's body bytes */
	struct timespec		 t0;	/* this request's first byte */
	struct timespec		 active;	/* last byte in or out */
	int			 armed;		/* deadline running */
	int			 nreq;		/* requests passed whole */
	int			 linger;	/* drain input before close */
	int			 lfd;		/* the lingering descriptor */
	size_t			 lbytes;
	/* Replies are written from the filter's output straight to the
	   socket (or SSL); wev waits for it to be writable again. */
	struct event		*wev;
	struct event		*flush;	/* write what was queued */
	struct evbuffer		*cut;	/* our answer when cut mid-body */
	int			 wlast;	/* SSL_write to repeat, bytes */
};

TAILQ_HEAD(front_conns, front_conn);

struct front_http {
	struct front		*f;
	struct front_lsn	 lsn[2];	/* public, admin */
	struct front_conns	 conns;
	struct event		*gate;		/* store-ready poll */
	struct event		*resume;	/* end of an accept pause */
	struct event		*trim;		/* malloc_trim, coalesced */
	struct timespec		 t_start;
	int			 ready, paused, draining;
	int			 trim_pending;
	/* "/.refused-<hex>/": the stand-in path, secret per worker */
	char			 prefix[48];
	char			 line[FRONT_MAX_HEADERS + 1];
	/* log rate limits: refusals, and accept or cap notices */
	time_t			 log_sec[2];
	int			 log_n[2];
	unsigned long		 log_dropped[2];
};

/* front_listen.c, for front_http.c */
/** Accept on a listener iff ready, not draining or paused, under cap. */
void	front_http_accept_update(struct front_http *fh);
/** Give freed body memory back to the system soon (coalesced). */
void	front_http_trim_soon(struct front_http *fh);
/** Rate-limited warning (kind 0: refusals, 1: accept and caps). */
void	front_http_logr(struct front_http *fh, int kind, const char *id,
	    int rv, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/** Elapsed milliseconds from a to b. */
long	front_http_ms(const struct timespec *a, const struct timespec *b);

/* --- front_http.c: the per-connection filter --- */

/**
 * The filtered bufferevent for a new connection of listener l (the
 * evhttp_set_bevcb callback); counts it against the listener's cap.
 */
struct bufferevent *front_http_bevcb(struct event_base *base, void *arg);
/**
 * If ev is the stand-in for a refused request, answer it (status from
 * errors.def, "Connection: close") and return 1; else 0.
 */
int	front_http_refused(struct front_http *fh, struct evhttp_request *ev,
	    int admin);
/** Close every idle keep-alive connection idle for idle_ms or more. */
void	front_http_close_idle(struct front_http *fh, int idle_ms);
/** Drop every connection's link to fh (front_http_free). */
void	front_http_conns_orphan(struct front_http *fh);

/* front.c */
/** A request of the public listener (front_req_new). */
struct front_req *front_req_open(struct front *f, struct evhttp_request *ev);

/* --- front_listen.c: listeners, caps, gate, drain, memory --- */

/** Runs in a worker, after the store exists. */
struct front_http *front_http_new(struct front *f);
/**
 * An evhttp with every limit set, on the listening socket fd, its
 * connections filtered; cb(ev, f) gets the requests that pass.
 */
struct evhttp *front_http_listen(struct front_http *fh, int admin, int fd,
	    size_t max_body, int methods,
	    void (*cb)(struct evhttp_request *, void *));
/** Close the listening sockets now (SIGTERM): new connections refused. */
void	front_http_drain(struct front_http *fh);
/** Connections still served (lingering ones, already answered, not). */
int	front_http_nconns(const struct front_http *fh);
/** Call after evhttp_free() of both listeners. */
void	front_http_free(struct front_http *fh);

#endif /* BK_FRONT_HTTP_H */
