/*
 * sso-broker: outbound HTTPS (libcurl multi on the worker's libevent loop).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The only code in the daemon that uses libcurl: the OpenID Connect
 * relying party's calls to the provider (discovery, JWKS, the token
 * endpoint, UserInfo) go through here.  A request never blocks the
 * worker: libcurl's multi interface is driven by the loop's socket and
 * timer events, and names are resolved by libcurl's threaded resolver.
 * Every transfer is https only (no other scheme, no redirect followed),
 * verifies the certificate and the host name, speaks TLS 1.2 or newer,
 * takes no proxy from the environment, sends no cookie, and is bounded
 * by a connect timeout, a total timeout and a size cap on the answer.
 * No libcurl type appears here.
 * Trust: answers come from the network; the body is bounded, not parsed.
 */
#ifndef BK_HOUT_H
#define BK_HOUT_H

#include <stddef.h>

struct event_base;
struct hout;
struct hout_trust;

/* Defaults of struct hout_conf (a field left 0 takes them). */
#define HOUT_CONNECT_MS		2000	/* TCP connect and TLS handshake */
#define HOUT_TOTAL_MS		5000	/* the whole transfer */
#define HOUT_MAX_BYTES		(1024 * 1024)	/* answer body */

/*
 * How a request's owner (a front request) is kept while its answer is
 * awaited: ref when the request is queued, alive before the callback (0:
 * the callback is skipped, the owner went away), unref after it.  The
 * same shape as struct store_hold (store_signin.h), so one set of
 * functions serves both.
 */
struct hout_hold {
	void	(*ref)(void *);
	void	(*unref)(void *);
	int	(*alive)(void *);
};

struct hout_conf {
	long			 connect_ms;	/* 0: HOUT_CONNECT_MS */
	long			 total_ms;	/* 0: HOUT_TOTAL_MS */
	size_t			 max_bytes;	/* 0: HOUT_MAX_BYTES */
	const struct hout_hold	*hold;		/* NULL: arg is not held */
};

/*
 * One request.  Every pointer is borrowed; hout_get() copies the strings,
 * and trust must outlive the request.
 */
struct hout_req {
	const char		*url;		/* https://... */
	/*
	 * What the server's certificate is checked against: a store loaded
	 * in the parent (the worker reads no file), or a PEM file libcurl
	 * reads and caches, or, both NULL, the system bundle.  Not both.
	 */
	const struct hout_trust	*trust;
	const char		*ca_file;
	const char		*req_id;	/* for log lines, or NULL */
	/* hout_post_form() only: an application/x-www-form-urlencoded body */
	const char		*body;
	size_t			 body_len;
	/* HTTP Basic client authentication (RFC 6749 2.3.1), or NULL */
	const char		*user;
	const char		*secret;
	/* Authorization: Bearer (UserInfo), or NULL; never with user */
	const char		*bearer;
};

/* The answer, borrowed: valid during the callback only. */
struct hout_res {
	long		 status;	/* HTTP status, 0 if none arrived */
	const char	*body;		/* NUL-terminated; "" if none */
	size_t		 len;
	const char	*ctype;		/* Content-Type, or NULL */
	long		 ms;		/* time from hout_get() to the end */
};

/**
 * The request's end.  rv is BK_OK (a 2xx answer) or one of
 * BK_E_HOUT_CONNECT, _TLS, _TIMEOUT, _TOOBIG, _STATUS (the status and the
 * body are still given: a token endpoint's error is in its body),
 * _REDIRECT (status given, Location not followed), _NOT_HTTPS,
 * _PROTOCOL, _CANCELLED (hout_free()), or BK_E_NOMEM.  res is never NULL.
 */
typedef void hout_cb(void *arg, int rv, const struct hout_res *res);

/**
 * Set libcurl up for the process.  Call once in the parent, before the
 * workers are forked and before any thread starts.
 * @return BK_OK, or BK_E_INTERNAL when libcurl cannot start or lacks
 *	https or an asynchronous resolver (logged).
 */
int	hout_global_init(void);
/** The parent's last call, after the workers are gone. */
void	hout_global_cleanup(void);

/**
 * Load a trust store: the PEM certificates of ca_file (a tenant's private
 * CA), or with NULL the system bundle libcurl was built with.  In the
 * parent, with the configuration (the workers get it by fork and read no
 * file); after hout_global_init().
 * @param out	returned-owned on BK_OK, freed with hout_trust_free(); it
 *	must outlive every request that names it.
 * @return BK_OK, BK_E_NOMEM, or BK_E_IO (unreadable, or no certificate;
 *	logged with the path).
 */
int	hout_trust_load(const char *ca_file, struct hout_trust **out);
/** NULL is fine. */
void	hout_trust_free(struct hout_trust *t);

/**
 * The worker's outbound HTTPS client, on its loop.  Requests with
 * different trust (store, file or the system's) never share a connection.
 * Runs in a worker, after hout_global_init() in the parent.
 * @param base	borrowed, the worker's loop; must outlive the client.
 * @param c	borrowed, copied; NULL takes every default.
 * @return returned-owned, NULL when out of memory.
 */
struct hout *hout_new(struct event_base *base, const struct hout_conf *c);
/**
 * Stop every request in flight, calling each callback (whose owner is
 * alive) with BK_E_HOUT_CANCELLED, then free.  NULL is fine.  Never from
 * inside a hout callback.
 */
void	hout_free(struct hout *h);

/**
 * GET r->url.  cb is called exactly once, from the loop, never from
 * inside this call, and not at all once arg's owner is gone (struct
 * hout_hold).
 * @param r	borrowed; everything needed is copied.
 * @param arg	borrowed; held through conf.hold until the callback.
 * @return BK_OK (cb will be called), or BK_E_NOMEM, BK_E_INVAL (no URL
 *	or no cb, user with bearer, trust with ca_file) or
 *	BK_E_HOUT_CANCELLED (hout_free() is under way): then cb is never
 *	called.
 */
int	hout_get(struct hout *h, const struct hout_req *r, hout_cb *cb,
	    void *arg);
/**
 * POST r->body (already form-encoded by the caller) to r->url, with
 * Content-Type application/x-www-form-urlencoded.  As hout_get().
 */
int	hout_post_form(struct hout *h, const struct hout_req *r, hout_cb *cb,
	    void *arg);
/** Requests in flight (for metrics and the drain). */
int	hout_pending(const struct hout *h);

#endif /* BK_HOUT_H */
