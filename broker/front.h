/*
 * sso-broker: the HTTP front (evhttp): public and admin listeners.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Only front*.c include <event2/http.h>.  One struct front per worker.
 * Trust: every request is untrusted; limits are set explicitly because
 * libevent's defaults are unlimited.
 */
#ifndef BK_FRONT_H
#define BK_FRONT_H

struct event_base;
struct conf;
struct audit;

/** What a worker hands the front (all borrowed, outlive the front). */
struct front_env {
	const struct conf	*conf;
	struct audit		*audit;
	int			 slot;		/* worker number, 0-based */
	int			 pub_fd;	/* bound, listening sockets */
	int			 adm_fd;
	/* SSL_CTX * for both listeners, or NULL */
	void			*tls_ctx;
	/* this worker's channel to the key holder (keys_sign()), or -1 */
	int			 keys_fd;
};

struct front;

/** Runs in a worker: creates evhttp on both sockets, the store, timers. */
struct front *front_new(struct event_base *base, const struct front_env *env);
/** Stop accepting new connections (SIGTERM); requests in flight go on. */
void	front_drain(struct front *f);
/** Requests in flight. */
int	front_inflight(const struct front *f);
/**
 * While draining: close keep-alive connections idle for idle_ms or more
 * (so a client between two requests still gets its next answer, with
 * "Connection: close"), and return the connections and requests still
 * open.  0: the worker may exit without cutting anyone.
 */
int	front_drain_poll(struct front *f, int idle_ms);
void	front_free(struct front *f);

#endif /* BK_FRONT_H */
