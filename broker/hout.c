/*
 * sso-broker: outbound HTTPS (libcurl multi on the worker's libevent loop).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * libcurl's multi interface, driven by the loop [libcurl multi-event
 * example]: libcurl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION, one struct event per socket) and when to wake
 * it (CURLMOPT_TIMERFUNCTION, one timer), and we call
 * curl_multi_socket_action() when either fires, then collect the finished
 * transfers with curl_multi_info_read().  Nothing here waits: names are
 * resolved by libcurl's threaded resolver (hout_global_init() refuses a
 * libcurl without one), and the trust store is loaded in the parent
 * (hout_trust_load()) or, given as a path, parsed at the first handshake
 * and then cached by libcurl.  Each trust has its own multi handle
 * (struct hout_lane), so connections are reused only within one trust.
 *
 * Every easy handle gets the whole security profile (hout_setup()), one
 * option at a time and each checked: a libcurl that refuses one fails the
 * request closed.  A request is called back exactly once, from the loop:
 * hout_get() only queues it, and hout_admit_cb() starts it (a few per
 * turn) or delivers a failure found before the start, so a callback never
 * runs from inside hout_get().
 * Secrets (a Basic or Bearer credential, the form body with a code or a
 * client secret, the answer) sit in buffers we zero before release, and a
 * logged URL keeps scheme, host, port and path only (hout_url_log()).
 * Trust: answers are untrusted: bounded here, parsed by the caller.
 */
#include "config.h"

#include <sys/queue.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "bk.h"
#include "hout.h"
#include "log.h"

/* CURLOPT_PROTOCOLS_STR (7.85) and CURLINFO_CAINFO (7.84). */
#if LIBCURL_VERSION_NUM < 0x075500
#error "broker/hout.c needs libcurl 7.85 or newer"
#endif

#define HOUT_USER_AGENT		"sso-broker/" PACKAGE_VERSION
/*
 * Transfers started per turn of the loop.  A new TLS connection costs the
 * worker one to two milliseconds of CPU (OpenSSL context, key exchange,
 * chain check), and the connect, the ClientHello and the server's answer
 * of one admission land in later turns: two at a time keeps every turn
 * short (200 at once: the timer of test_hout.py stays about 6 ms late at
 * p99, where four or eight let it reach 15-45 ms) for about 100 ms more
 * before the last of 200 starts.
 */
#define HOUT_ADMIT_PER_TURN	2
/* An escaped Basic credential: RFC 6749 section 2.3.1 has no limit. */
#define HOUT_AUTH_MAX		4096

/* A socket libcurl asked us to watch. */
struct hout_sock {
	TAILQ_ENTRY(hout_sock)	 entry;
	struct event		 ev;
	int			 what;	/* CURL_POLL_IN | _OUT | _INOUT */
};

/*
 * A multi handle per trust store: libcurl's connection cache is per multi
 * handle, so a connection verified against one tenant's CA is never
 * reused for a tenant that trusts another, and libcurl's cached store of
 * a CA file (one per multi handle) is never thrown away for another's.
 * Made on first use; the set is bounded by the configuration.
 */
struct hout_lane {
	TAILQ_ENTRY(hout_lane)	 entry;
	struct hout		*h;
	CURLM			*multi;
	struct event		 timer;		/* libcurl's */
	const struct hout_trust	*trust;		/* the key: trust, or */
	char			*ca_file;	/* file (NULL: system) */
};

/* A trust store loaded in the parent (hout_trust_load()). */
struct hout_trust {
	X509_STORE	*store;
};

/* One request, from hout_get() to its callback. */
struct hout_xfer {
	TAILQ_ENTRY(hout_xfer)	 entry;
	struct hout		*h;
	struct hout_lane	*lane;
	CURL			*easy;
	struct curl_slist	*hdrs;	/* may hold a credential: zeroed */
	char			*body;	/* the form, a secret: zeroed */
	size_t			 body_len;
	int			 post;
	char			*url_log;	/* no query, no userinfo */
	int			 userinfo;	/* the URL names a user */
	char			*req_id;
	struct bk_buf		 ans;
	int			 toobig;	/* the write callback stopped */
	int			 nomem;
	int			 early_rv;	/* failed before it started */
	struct timespec		 start;
	hout_cb			*cb;
	void			*arg;
	char			 errbuf[CURL_ERROR_SIZE];
};

TAILQ_HEAD(hout_xfers, hout_xfer);

struct hout {
	struct event_base	*base;
	TAILQ_HEAD(, hout_lane)	 lanes;
	struct event		 admit;		/* hout_admit_cb() */
	struct hout_xfers	 live;		/* in a multi handle */
	struct hout_xfers	 queue;		/* awaiting hout_admit_cb() */
	TAILQ_HEAD(, hout_sock)	 socks;
	struct hout_conf	 conf;
	int			 npending;
	int			 closing;
	int			 in_cb;
};

static int	hout_inited;

/*
 * The fixed part of the security profile, set on every easy handle.  No
 * cookie engine (CURLOPT_COOKIEFILE is never set), no content decoding
 * (CURLOPT_ACCEPT_ENCODING is never set: the size cap is on the bytes
 * that arrive, and nothing inflates them), no netrc.
 */
static const struct {
	CURLoption	 opt;
	long		 val;
} hout_long_opts[] = {
	{ CURLOPT_FOLLOWLOCATION, 0L },	/* a 3xx is BK_E_HOUT_REDIRECT */
	{ CURLOPT_MAXREDIRS, 0L },
	{ CURLOPT_SSL_VERIFYPEER, 1L },
	{ CURLOPT_SSL_VERIFYHOST, 2L },
	{ CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2 },	/* minimum */
	{ CURLOPT_NOSIGNAL, 1L },	/* never SIGALRM in a worker */
	{ CURLOPT_NOPROGRESS, 1L },
	{ CURLOPT_NETRC, (long)CURL_NETRC_IGNORED },
	{ CURLOPT_HTTP09_ALLOWED, 0L },
	{ CURLOPT_UNRESTRICTED_AUTH, 0L },
	{ CURLOPT_TCP_NODELAY, 1L },
};

static const struct {
	CURLoption	 opt;
	const char	*val;
} hout_str_opts[] = {
	/* https only, for the request and for any redirect */
	{ CURLOPT_PROTOCOLS_STR, "https" },
	{ CURLOPT_REDIR_PROTOCOLS_STR, "https" },
	/* "" disables the proxy, https_proxy and all_proxy included */
	{ CURLOPT_PROXY, "" },
	{ CURLOPT_NOPROXY, "*" },
	{ CURLOPT_USERAGENT, HOUT_USER_AGENT },
};

int
hout_global_init(void)
{
	const curl_version_info_data	*v;
	const char *const		*p;
	int				 https = 0;

	if (hout_inited)
		return BK_OK;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx_r(BK_E_INTERNAL, "hout: curl_global_init failed");
		return BK_E_INTERNAL;
	}
	v = curl_version_info(CURLVERSION_NOW);
	for (p = v->protocols; p != NULL && *p != NULL; p++)
		if (strcmp(*p, "https") == 0)
			https = 1;
	/* A synchronous resolver would block the worker on every name. */
	if (!https || !(v->features & CURL_VERSION_ASYNCHDNS)) {
		log_warnx_r(BK_E_INTERNAL, "hout: libcurl %s lacks %s",
		    v->version, https ? "an asynchronous resolver" : "https");
		curl_global_cleanup();
		return BK_E_INTERNAL;
	}
	hout_inited = 1;
	return BK_OK;
}

void
hout_global_cleanup(void)
{
	if (!hout_inited)
		return;
	curl_global_cleanup();
	hout_inited = 0;
}

/* The bundle libcurl was built to trust (CURLINFO_CAINFO, 7.84). */
static char *
hout_system_bundle(void)
{
	CURL	*e;
	char	*p = NULL, *out = NULL;

	if ((e = curl_easy_init()) == NULL)
		return NULL;
	if (curl_easy_getinfo(e, CURLINFO_CAINFO, &p) == CURLE_OK &&
	    p != NULL)
		out = bk_strdup(p);
	curl_easy_cleanup(e);
	return out;
}

int
hout_trust_load(const char *ca_file, struct hout_trust **out)
{
	struct hout_trust	*t;
	char			*sys = NULL;
	const char		*path = ca_file;
	int			 rv = BK_E_NOMEM;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->store = X509_STORE_new()) == NULL)
		goto out;
	if (path == NULL && (path = sys = hout_system_bundle()) == NULL) {
		rv = BK_E_IO;
		log_warnx_r(rv, "hout: libcurl names no system CA bundle");
		goto out;
	}
	/* As libcurl sets up its own stores (an intermediate may anchor). */
	X509_STORE_set_flags(t->store, X509_V_FLAG_TRUSTED_FIRST |
	    X509_V_FLAG_PARTIAL_CHAIN);
	if (X509_STORE_load_file(t->store, path) != 1 ||
	    sk_X509_OBJECT_num(X509_STORE_get0_objects(t->store)) < 1) {
		rv = BK_E_IO;
		log_warnx_r(rv, "hout: %s: no CA certificate could be read",
		    log_esc(path));
		goto out;
	}
	*out = t;
	t = NULL;
	rv = BK_OK;
 out:
	hout_trust_free(t);
	free(sys);
	return rv;
}

void
hout_trust_free(struct hout_trust *t)
{
	if (t == NULL)
		return;
	X509_STORE_free(t->store);
	free(t);
}

static long
hout_ms_since(const struct timespec *t)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000;
}

/*
 * What a log line may show of a URL: scheme, host, port and path.  The
 * query (a code, a token) and any userinfo stay out.  NULL if it does not
 * parse (then libcurl refuses it too).  *userinfo is set when the URL
 * carries a user or password: libcurl would send them as credentials.
 */
static char *
hout_url_log(const char *url, int *userinfo)
{
	CURLU		*u;
	char		*scheme = NULL, *host = NULL, *port = NULL;
	char		*path = NULL, *out = NULL, *user = NULL;
	struct bk_buf	 b;

	*userinfo = 0;
	if ((u = curl_url()) == NULL)
		return NULL;
	bk_buf_init(&b, 1024);
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) !=
	    CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto out;
	/* The port only when the URL names one (no default filled in). */
	(void)curl_url_get(u, CURLUPART_PORT, &port, 0);
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &user, 0) == CURLUE_OK)
		*userinfo = 1;
	curl_free(user);
	if (bk_buf_addf(&b, "%s://%s%s%s%s", scheme, host, port ? ":" : "",
	    port ? port : "", path) == BK_OK)
		out = bk_buf_take(&b);
 out:
	bk_buf_free(&b);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return out;
}

/* The answer's bytes, up to the cap: past it the transfer is stopped. */
static size_t
hout_write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct hout_xfer	*x = arg;
	size_t			 n = size * nmemb;
	int			 rv;

	if (n == 0)
		return 0;
	if ((rv = bk_buf_add(&x->ans, p, n)) == BK_OK)
		return n;
	if (rv == BK_E_TOOBIG)
		x->toobig = 1;
	else
		x->nomem = 1;
	return 0;	/* CURLE_WRITE_ERROR */
}

/* --- the loop's side: sockets and the timer --- */

static void	hout_done_check(struct hout_lane *);

static void
hout_sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hout_lane	*l = arg;
	int			 action = 0, running;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	/* The socket's hout_sock may be gone once this returns. */
	(void)curl_multi_socket_action(l->multi, fd, action, &running);
	hout_done_check(l);
}

static void
hout_sock_free(struct hout *h, struct hout_sock *sp)
{
	event_del(&sp->ev);
	TAILQ_REMOVE(&h->socks, sp, entry);
	free(sp);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what, or stop watching it. */
static int
hout_sock_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct hout_lane	*l = userp;
	struct hout		*h = l->h;
	struct hout_sock	*sp = socketp;
	short			 kind = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (sp != NULL)
			hout_sock_free(h, sp);
		return 0;
	}
	if (sp == NULL) {
		if ((sp = calloc(1, sizeof(*sp))) == NULL)
			return -1;	/* the transfer fails */
		TAILQ_INSERT_TAIL(&h->socks, sp, entry);
		if (curl_multi_assign(l->multi, s, sp) != CURLM_OK) {
			TAILQ_REMOVE(&h->socks, sp, entry);
			free(sp);
			return -1;
		}
	} else if (sp->what == what)
		return 0;
	else
		event_del(&sp->ev);
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	sp->what = what;
	event_assign(&sp->ev, h->base, s, kind, hout_sock_event_cb, l);
	if (event_add(&sp->ev, NULL) != 0)
		return -1;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: wake libcurl in timeout_ms, or never. */
static int
hout_timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
	struct hout_lane	*l = userp;
	struct timeval		 tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(&l->timer);
		return 0;
	}
	/* 0: as soon as the loop turns, never from inside libcurl. */
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(&l->timer, &tv) == 0 ? 0 : -1;
}

static void
hout_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hout_lane	*l = arg;
	int			 running;

	(void)fd;
	(void)what;
	(void)curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0,
	    &running);
	hout_done_check(l);
}

/* --- the end of a request --- */

static void
hout_xfer_free(struct hout_xfer *x)
{
	struct curl_slist	*l;

	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	for (l = x->hdrs; l != NULL; l = l->next)
		OPENSSL_cleanse(l->data, strlen(l->data));
	curl_slist_free_all(x->hdrs);
	bk_freezero(x->body, x->body_len);
	bk_buf_free(&x->ans);
	free(x->url_log);
	free(x->req_id);
	free(x);
}

/* Call back (unless the owner went away), let the owner go, free. */
static void
hout_xfer_finish(struct hout_xfer *x, struct hout_xfers *list, int rv,
    const struct hout_res *res)
{
	struct hout		*h = x->h;
	const struct hout_hold	*hold = h->conf.hold;

	TAILQ_REMOVE(list, x, entry);
	h->npending--;
	/* hout_free() from in here would pull the lane from under us. */
	h->in_cb++;
	if (x->arg == NULL || hold == NULL || hold->alive(x->arg))
		x->cb(x->arg, rv, res);
	if (x->arg != NULL && hold != NULL)
		hold->unref(x->arg);
	h->in_cb--;
	hout_xfer_free(x);
}

/* The end of a request that got no answer: no status, no body. */
static void
hout_xfer_fail(struct hout_xfer *x, struct hout_xfers *list, int rv)
{
	struct hout_res	 res;

	memset(&res, 0, sizeof(res));
	res.body = "";
	res.ms = hout_ms_since(&x->start);
	hout_xfer_finish(x, list, rv, &res);
}

/* libcurl's verdict as a reason code. */
static int
hout_rv_from_curl(const struct hout_xfer *x, CURLcode e, long status)
{
	switch (e) {
	case CURLE_OK:
		if (status >= 200 && status <= 299)
			return BK_OK;
		return status >= 300 && status <= 399 ? BK_E_HOUT_REDIRECT :
		    BK_E_HOUT_STATUS;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return BK_E_HOUT_NOT_HTTPS;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return BK_E_HOUT_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return BK_E_HOUT_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return BK_E_HOUT_TLS;
	case CURLE_FILESIZE_EXCEEDED:
		return BK_E_HOUT_TOOBIG;
	case CURLE_WRITE_ERROR:
		return x->toobig ? BK_E_HOUT_TOOBIG :
		    x->nomem ? BK_E_NOMEM : BK_E_HOUT_PROTOCOL;
	case CURLE_OUT_OF_MEMORY:
		return BK_E_NOMEM;
	case CURLE_TOO_MANY_REDIRECTS:
		return BK_E_HOUT_REDIRECT;
	default:
		return BK_E_HOUT_PROTOCOL;
	}
}

/* The one log line of a request that did not get its 2xx. */
static void
hout_log(const struct hout_xfer *x, int rv, CURLcode e, long status,
    long ms)
{
	const char	*method = x->post ? "POST" : "GET";
	const char	*url = x->url_log ? x->url_log : "(malformed URL)";
	const char	*why;

	if (rv == BK_OK) {
		log_debug("hout: %s %s: %ld in %ld ms", method, log_esc(url),
		    status, ms);
		return;
	}
	if (e == CURLE_OK)
		why = "HTTP status";
	else if (x->errbuf[0] != '\0')
		why = x->errbuf;
	else
		why = curl_easy_strerror(e);
	log_req(LOG_L_WARN, x->req_id, rv, "hout: %s %s: %s (status %ld, "
	    "%ld ms)", method, log_esc(url), log_esc(why), status, ms);
}

static void
hout_log_unstarted(const struct hout_xfer *x, int rv)
{
	log_req(LOG_L_WARN, x->req_id, rv, "hout: %s %s: not started",
	    x->post ? "POST" : "GET",
	    log_esc(x->url_log ? x->url_log : "(malformed URL)"));
}

/* A transfer libcurl finished: classify, log, call back. */
static void
hout_xfer_end(struct hout_xfer *x, CURLcode e)
{
	struct hout_res	 res;
	long		 status = 0;
	char		*ct = NULL;
	int		 rv;

	(void)curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	rv = hout_rv_from_curl(x, e, status);
	memset(&res, 0, sizeof(res));
	res.status = status;
	res.body = "";
	res.ms = hout_ms_since(&x->start);
	/* An answer came whole: 2xx, or a status the caller may read. */
	if (e == CURLE_OK) {
		(void)curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
		res.ctype = ct;
		if (x->ans.len > 0) {
			res.body = x->ans.data;
			res.len = x->ans.len;
		}
	}
	hout_log(x, rv, e, status, res.ms);
	hout_xfer_finish(x, &x->h->live, rv, &res);
}

static void
hout_done_check(struct hout_lane *l)
{
	struct hout_xfer	*x;
	CURLMsg			*m;
	CURL			*easy;
	CURLcode		 e;
	char			*priv;
	int			 left;

	while ((m = curl_multi_info_read(l->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		/* m is invalid once its handle is removed. */
		easy = m->easy_handle;
		e = m->data.result;
		priv = NULL;
		(void)curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		x = (struct hout_xfer *)(void *)priv;
		BK_ASSERT(x != NULL && x->easy == easy);
		(void)curl_multi_remove_handle(l->multi, easy);
		hout_xfer_end(x, e);
	}
}

/* --- starting a request --- */

/* One refused option fails the request closed, and says which. */
static int
hout_opt_check(CURLcode e, CURLoption opt)
{
	if (e == CURLE_OK)
		return BK_OK;
	log_warnx_r(BK_E_INTERNAL, "hout: libcurl refused option %d",
	    (int)opt);
	return BK_E_INTERNAL;
}

static int
hout_set_long(struct hout_xfer *x, CURLoption opt, long val)
{
	return hout_opt_check(curl_easy_setopt(x->easy, opt, val), opt);
}

static int
hout_set_str(struct hout_xfer *x, CURLoption opt, const char *val)
{
	return hout_opt_check(curl_easy_setopt(x->easy, opt, val), opt);
}

static int
hout_add_header(struct hout_xfer *x, const char *line)
{
	struct curl_slist	*l;

	if ((l = curl_slist_append(x->hdrs, line)) == NULL)
		return BK_E_NOMEM;
	x->hdrs = l;
	return BK_OK;
}

/*
 * Basic client authentication: client_id and secret are form-encoded
 * before they are joined and base64-encoded [RFC 6749 section 2.3.1].
 * Built here, not by CURLOPT_USERNAME, so every copy is ours to zero.
 */
static int
hout_basic_header(struct hout_xfer *x, const char *user, const char *secret)
{
	struct bk_buf	 cred, line;
	char		*eu, *es, *b64 = NULL;
	int		 rv = BK_E_NOMEM;

	bk_buf_init(&cred, HOUT_AUTH_MAX);
	bk_buf_init(&line, HOUT_AUTH_MAX * 2);
	eu = curl_easy_escape(x->easy, user, 0);
	es = curl_easy_escape(x->easy, secret, 0);
	if (eu == NULL || es == NULL)
		goto out;
	if ((rv = bk_buf_addf(&cred, "%s:%s", eu, es)) != BK_OK)
		goto out;
	rv = BK_E_NOMEM;
	if ((b64 = bk_b64_encode(cred.data, cred.len)) == NULL)
		goto out;
	if ((rv = bk_buf_addf(&line, "Authorization: Basic %s", b64)) !=
	    BK_OK)
		goto out;
	rv = hout_add_header(x, line.data);
 out:
	if (eu != NULL) {
		OPENSSL_cleanse(eu, strlen(eu));
		curl_free(eu);
	}
	if (es != NULL) {
		OPENSSL_cleanse(es, strlen(es));
		curl_free(es);
	}
	bk_strfree_secret(b64);
	bk_buf_free(&cred);
	bk_buf_free(&line);
	return rv;
}

static int
hout_headers(struct hout_xfer *x, const struct hout_req *r)
{
	struct bk_buf	 line;
	int		 rv;

	/* Expect: 100-continue would cost a round trip for nothing. */
	if ((rv = hout_add_header(x, "Accept: application/json")) != BK_OK ||
	    (rv = hout_add_header(x, "Expect:")) != BK_OK)
		return rv;
	if (x->post && (rv = hout_add_header(x,
	    "Content-Type: application/x-www-form-urlencoded")) != BK_OK)
		return rv;
	if (r->user != NULL)
		return hout_basic_header(x, r->user, r->secret);
	if (r->bearer == NULL)
		return BK_OK;
	bk_buf_init(&line, HOUT_AUTH_MAX * 2);
	if ((rv = bk_buf_addf(&line, "Authorization: Bearer %s",
	    r->bearer)) == BK_OK)
		rv = hout_add_header(x, line.data);
	bk_buf_free(&line);
	return rv;
}

/* Options that take a pointer or an offset: one refusal, one log line. */
static int
hout_set_io(struct hout_xfer *x)
{
	CURL	*e = x->easy;

	if (curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)x->h->conf.max_bytes) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hout_write_cb) ==
	    CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, x) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_PRIVATE, x) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs) == CURLE_OK &&
	    (!x->post ||
	    (curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)x->body_len) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body) == CURLE_OK)))
		return BK_OK;
	log_warnx_r(BK_E_INTERNAL, "hout: libcurl refused a transfer option");
	return BK_E_INTERNAL;
}

/* CURLOPT_SSL_CTX_FUNCTION: the store loaded in the parent, shared. */
static CURLcode
hout_sslctx_cb(CURL *easy, void *sslctx, void *arg)
{
	const struct hout_trust	*t = arg;

	(void)easy;
	SSL_CTX_set1_cert_store(sslctx, t->store);	/* takes a reference */
	return CURLE_OK;
}

/*
 * What the certificate is checked against.  A hout_trust (the parent's
 * store) is installed into each TLS context, and libcurl is given no
 * file, no directory and no cache of its own, so the worker reads
 * nothing.  Else one file: the tenant's private CA, or the system bundle
 * libcurl was built with.  The built-in CA directory is off either way: a
 * private CA must not be trusted beside the system's, and libcurl caches
 * a store built from a file alone (CURLOPT_CA_CACHE_TIMEOUT), where a
 * directory makes every handshake parse the whole bundle again, tens of
 * milliseconds of a blocked loop each.
 */
static int
hout_set_trust(struct hout_xfer *x, const struct hout_req *r)
{
	int	 rv;

	if ((rv = hout_set_str(x, CURLOPT_CAPATH, NULL)) != BK_OK)
		return rv;
	if (r->trust == NULL)
		return r->ca_file == NULL ? BK_OK :
		    hout_set_str(x, CURLOPT_CAINFO, r->ca_file);
	if ((rv = hout_set_str(x, CURLOPT_CAINFO, NULL)) != BK_OK ||
	    (rv = hout_set_long(x, CURLOPT_CA_CACHE_TIMEOUT, 0)) != BK_OK)
		return rv;
	if (curl_easy_setopt(x->easy, CURLOPT_SSL_CTX_FUNCTION,
	    hout_sslctx_cb) != CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_SSL_CTX_DATA,
	    r->trust) != CURLE_OK)
		return hout_opt_check(CURLE_NOT_BUILT_IN,
		    CURLOPT_SSL_CTX_FUNCTION);
	return BK_OK;
}

/* The security profile (see the tables), the limits, then the request. */
static int
hout_setup(struct hout_xfer *x, const struct hout_req *r)
{
	const struct hout_conf	*c = &x->h->conf;
	size_t			 i;
	int			 rv = BK_OK;

	for (i = 0; rv == BK_OK && i < BK_NELEM(hout_long_opts); i++)
		rv = hout_set_long(x, hout_long_opts[i].opt,
		    hout_long_opts[i].val);
	for (i = 0; rv == BK_OK && i < BK_NELEM(hout_str_opts); i++)
		rv = hout_set_str(x, hout_str_opts[i].opt,
		    hout_str_opts[i].val);
	if (rv != BK_OK)
		return rv;
	if ((rv = hout_set_long(x, CURLOPT_CONNECTTIMEOUT_MS,
	    c->connect_ms)) != BK_OK ||
	    (rv = hout_set_long(x, CURLOPT_TIMEOUT_MS, c->total_ms)) != BK_OK)
		return rv;
	if ((rv = hout_set_trust(x, r)) != BK_OK ||
	    (rv = hout_headers(x, r)) != BK_OK ||
	    (rv = hout_set_io(x)) != BK_OK ||
	    (rv = hout_set_str(x, CURLOPT_URL, r->url)) != BK_OK)
		return rv;
	return hout_set_long(x, x->post ? CURLOPT_POST : CURLOPT_HTTPGET, 1L);
}

static int
hout_req_check(const struct hout_req *r, hout_cb *cb)
{
	if (r == NULL || r->url == NULL || cb == NULL)
		return BK_E_INVAL;
	if ((r->user == NULL) != (r->secret == NULL))
		return BK_E_INVAL;
	if (r->user != NULL && r->bearer != NULL)
		return BK_E_INVAL;
	if (r->trust != NULL && r->ca_file != NULL)
		return BK_E_INVAL;
	return BK_OK;
}

/* Copy what the transfer needs; the easy handle is made last. */
static struct hout_xfer *
hout_xfer_new(struct hout *h, const struct hout_req *r, int post)
{
	struct hout_xfer	*x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->h = h;
	x->post = post;
	bk_buf_init(&x->ans, h->conf.max_bytes);
	clock_gettime(CLOCK_MONOTONIC, &x->start);
	x->url_log = hout_url_log(r->url, &x->userinfo);
	if (r->req_id != NULL && (x->req_id = bk_strdup(r->req_id)) == NULL)
		goto out;
	if (post) {
		x->body_len = r->body != NULL ? r->body_len : 0;
		if ((x->body = malloc(x->body_len + 1)) == NULL)
			goto out;
		if (x->body_len > 0)
			memcpy(x->body, r->body, x->body_len);
		x->body[x->body_len] = '\0';
	}
	return x;
 out:
	hout_xfer_free(x);
	return NULL;
}

static void
hout_lane_free(struct hout_lane *l)
{
	if (l->multi != NULL)
		curl_multi_cleanup(l->multi);
	evtimer_del(&l->timer);
	free(l->ca_file);
	free(l);
}

/* The lane of a trust store: found, or made (NULL when out of memory). */
static struct hout_lane *
hout_lane_get(struct hout *h, const struct hout_req *r)
{
	struct hout_lane	*l;

	TAILQ_FOREACH(l, &h->lanes, entry)
		if (l->trust == r->trust && (l->ca_file == NULL ?
		    r->ca_file == NULL : r->ca_file != NULL &&
		    strcmp(l->ca_file, r->ca_file) == 0))
			return l;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->h = h;
	l->trust = r->trust;
	evtimer_assign(&l->timer, h->base, hout_timer_cb, l);
	if ((r->ca_file != NULL &&
	    (l->ca_file = bk_strdup(r->ca_file)) == NULL) ||
	    (l->multi = curl_multi_init()) == NULL ||
	    curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION,
	    hout_sock_cb) != CURLM_OK ||
	    curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l) != CURLM_OK ||
	    curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION,
	    hout_timer_fn) != CURLM_OK ||
	    curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l) != CURLM_OK) {
		hout_lane_free(l);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&h->lanes, l, entry);
	return l;
}

static void
hout_admit_arm(struct hout *h)
{
	struct timeval	 now = { 0, 0 };

	/* A timer, not event_active(): it waits for the next turn. */
	if (!evtimer_pending(&h->admit, NULL))
		evtimer_add(&h->admit, &now);
}

static int
hout_start(struct hout *h, const struct hout_req *r, hout_cb *cb,
    void *arg, int post)
{
	struct hout_xfer	*x;
	int			 rv;

	if (h->closing)
		return BK_E_HOUT_CANCELLED;
	if ((rv = hout_req_check(r, cb)) != BK_OK)
		return rv;
	if ((x = hout_xfer_new(h, r, post)) == NULL)
		return BK_E_NOMEM;
	x->cb = cb;
	x->arg = arg;
	if (arg != NULL && h->conf.hold != NULL)
		h->conf.hold->ref(arg);
	h->npending++;
	/* Credentials go in hout_req, never in a URL that may be logged. */
	rv = x->userinfo ? BK_E_HOUT_NOT_HTTPS : BK_E_NOMEM;
	if (!x->userinfo && (x->lane = hout_lane_get(h, r)) != NULL &&
	    (x->easy = curl_easy_init()) != NULL)
		rv = hout_setup(x, r);
	if (rv != BK_OK) {
		hout_log_unstarted(x, rv);
		x->early_rv = rv;
	}
	TAILQ_INSERT_TAIL(&h->queue, x, entry);
	hout_admit_arm(h);
	return BK_OK;
}

/*
 * Into the multi handle.  The total timeout counts from hout_get(): the
 * time spent queued is taken off what libcurl is given.
 */
static void
hout_xfer_admit(struct hout_xfer *x, struct hout_xfers *from)
{
	struct hout	*h = x->h;
	long		 left = h->conf.total_ms - hout_ms_since(&x->start);
	int		 rv = BK_E_HOUT_TIMEOUT;

	if (left > 0 &&
	    (rv = hout_set_long(x, CURLOPT_TIMEOUT_MS, left)) == BK_OK &&
	    curl_multi_add_handle(x->lane->multi, x->easy) != CURLM_OK)
		rv = BK_E_INTERNAL;
	if (rv == BK_OK) {
		TAILQ_REMOVE(from, x, entry);
		TAILQ_INSERT_TAIL(&h->live, x, entry);
		return;
	}
	hout_log_unstarted(x, rv);
	hout_xfer_fail(x, from, rv);
}

/*
 * Start a few queued transfers, and deliver the failures found before a
 * start; those queued by these callbacks wait for the next turn.
 */
static void
hout_admit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hout		*h = arg;
	struct hout_xfers	 now;
	struct hout_xfer	*x;
	int			 n = 0;

	(void)fd;
	(void)what;
	TAILQ_INIT(&now);
	TAILQ_CONCAT(&now, &h->queue, entry);
	while ((x = TAILQ_FIRST(&now)) != NULL &&
	    (x->early_rv != BK_OK || n < HOUT_ADMIT_PER_TURN)) {
		if (x->early_rv == BK_OK) {
			n++;
			hout_xfer_admit(x, &now);
			continue;
		}
		hout_xfer_fail(x, &now, x->early_rv);
	}
	/* The rest keep their place, before those queued meanwhile. */
	TAILQ_CONCAT(&now, &h->queue, entry);
	TAILQ_CONCAT(&h->queue, &now, entry);
	if (!TAILQ_EMPTY(&h->queue))
		hout_admit_arm(h);
}

int
hout_get(struct hout *h, const struct hout_req *r, hout_cb *cb, void *arg)
{
	return hout_start(h, r, cb, arg, 0);
}

int
hout_post_form(struct hout *h, const struct hout_req *r, hout_cb *cb,
    void *arg)
{
	return hout_start(h, r, cb, arg, 1);
}

int
hout_pending(const struct hout *h)
{
	return h->npending;
}

/* --- life cycle --- */

struct hout *
hout_new(struct event_base *base, const struct hout_conf *c)
{
	struct hout	*h;

	BK_ASSERT(hout_inited);
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->base = base;
	if (c != NULL)
		h->conf = *c;
	if (h->conf.connect_ms <= 0)
		h->conf.connect_ms = HOUT_CONNECT_MS;
	if (h->conf.total_ms <= 0)
		h->conf.total_ms = HOUT_TOTAL_MS;
	if (h->conf.max_bytes == 0)
		h->conf.max_bytes = HOUT_MAX_BYTES;
	TAILQ_INIT(&h->live);
	TAILQ_INIT(&h->queue);
	TAILQ_INIT(&h->socks);
	TAILQ_INIT(&h->lanes);
	evtimer_assign(&h->admit, base, hout_admit_cb, h);
	return h;
}

void
hout_free(struct hout *h)
{
	struct hout_xfer	*x;
	struct hout_sock	*sp;
	struct hout_lane	*l;

	if (h == NULL)
		return;
	BK_ASSERT(h->in_cb == 0);
	h->closing = 1;
	while ((x = TAILQ_FIRST(&h->live)) != NULL) {
		(void)curl_multi_remove_handle(x->lane->multi, x->easy);
		hout_xfer_fail(x, &h->live, BK_E_HOUT_CANCELLED);
	}
	while ((x = TAILQ_FIRST(&h->queue)) != NULL)
		hout_xfer_fail(x, &h->queue, x->early_rv != BK_OK ?
		    x->early_rv : BK_E_HOUT_CANCELLED);
	while ((l = TAILQ_FIRST(&h->lanes)) != NULL) {
		TAILQ_REMOVE(&h->lanes, l, entry);
		hout_lane_free(l);
	}
	/* Sockets libcurl did not say goodbye to. */
	while ((sp = TAILQ_FIRST(&h->socks)) != NULL)
		hout_sock_free(h, sp);
	evtimer_del(&h->admit);
	free(h);
}
