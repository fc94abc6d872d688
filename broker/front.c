/*
 * sso-broker: HTTP front: listeners, limits, routing, request life cycle.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Routes are an exact table with a method mask; tenant routes are
 * /t/<tenant>/<rest> with the same table for <rest>.  Every reply goes
 * through front_reply(), which ends in front_req_done(): log, count, and
 * drop the handler's reference.
 * Trust: request line, headers and bodies are untrusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "front_http.h"
#include "front_int.h"
#include "hout.h"
#include "log.h"
#include "mdr.h"
#include "rp.h"
#include "store_audit.h"
#include "store_signin.h"

struct front_route {
	const char		*path;
	int			 methods;	/* EVHTTP_REQ_* mask */
	int			 tenant;	/* under /t/<tenant>/ */
	enum metrics_route	 mr;
	void			(*get)(struct front_req *);
	void			(*post)(struct front_req *);
};

static void front_healthz(struct front_req *);
static void front_readyz(struct front_req *);

static const struct front_route front_routes[] = {
	{ "/healthz", EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, 0, MR_HEALTHZ,
	    front_healthz, NULL },
	{ "/readyz", EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, 0, MR_READYZ,
	    front_readyz, NULL },
	{ "/oauth2/authorize", EVHTTP_REQ_GET, 0, MR_AUTHORIZE,
	    front_oauth_authorize, NULL },
	{ "/oauth2/token", EVHTTP_REQ_POST, 0, MR_TOKEN, NULL,
	    front_oauth_token },
	{ "/oauth2/introspect", EVHTTP_REQ_POST, 0, MR_INTROSPECT, NULL,
	    front_oauth_introspect },
	{ "/oauth2/revoke", EVHTTP_REQ_POST, 0, MR_REVOKE, NULL,
	    front_oauth_revoke },
	{ "/.well-known/oauth-authorization-server", EVHTTP_REQ_GET, 0,
	    MR_WELLKNOWN,
	    front_oauth_wellknown, NULL },
	{ "/logout", EVHTTP_REQ_GET | EVHTTP_REQ_POST, 0, MR_LOGOUT,
	    front_logout, front_logout },
	{ "saml/metadata", EVHTTP_REQ_GET, 1, MR_METADATA, front_saml_metadata,
	    NULL },
	{ "saml/login", EVHTTP_REQ_GET, 1, MR_SAML_LOGIN, front_saml_login,
	    NULL },
	{ "saml/acs", EVHTTP_REQ_POST, 1, MR_ACS, NULL, front_saml_acs },
	{ "saml/slo", EVHTTP_REQ_GET | EVHTTP_REQ_POST, 1, MR_LOGOUT,
	    front_saml_slo, front_saml_slo_post },
	{ "consent", EVHTTP_REQ_GET | EVHTTP_REQ_POST, 1, MR_CONSENT,
	    front_consent_get,
	    front_consent_post },
	{ "oidc/callback", EVHTTP_REQ_GET, 1, MR_OIDC_CALLBACK,
	    front_oidc_callback, NULL },
	{ "signed-in", EVHTTP_REQ_GET, 1, MR_SIGNED_IN, flow_signed_in, NULL },
	{ "console/login", EVHTTP_REQ_GET, 1, MR_SAML_LOGIN,
	    front_console_login, NULL },
};

/* --- request life cycle --- */

static void
front_req_free(struct front_req *req)
{
	req->f->inflight--;
	clock_gettime(CLOCK_MONOTONIC, &req->f->last_done);
	front_params_cleanup(&req->q);
	front_params_cleanup(&req->form);
	front_flow_cleanup(&req->fl);
	free(req->form_action);
	admin_cred_cleanup(req->cred);
	free(req->cred);
	if (req->aux_free != NULL)
		req->aux_free(req->aux);
	free(req);
}

void
front_req_ref(struct front_req *req)
{
	req->refs++;
}

void
front_req_unref(struct front_req *req)
{
	BK_ASSERT(req->refs > 0);
	if (--req->refs == 0)
		front_req_free(req);
}

/*
 * The typed store operations (store_signin.h, store_admin.h) hold a
 * request: a reference while the reply is awaited, no callback once it was
 * answered (or the client went away).
 */
static void
front_hold_ref(void *req)
{
	front_req_ref(req);
}

static void
front_hold_unref(void *req)
{
	front_req_unref(req);
}

static int
front_hold_alive(void *req)
{
	return !((struct front_req *)req)->replied;
}

static const struct store_hold front_hold = {
	front_hold_ref, front_hold_unref, front_hold_alive
};
static const struct hout_hold front_hout_hold = {
	front_hold_ref, front_hold_unref, front_hold_alive
};

static void
front_conn_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct front_req *req = arg;

	(void)evcon;
	/*
	 * The client went away while we still hold the request.  On EOF or a
	 * timeout libevent 2.1 detaches such a request from the connection
	 * and does not free it (evhttp_connection_incoming_fail): it is ours
	 * to free.  Either way, never touch it again.
	 */
	if (req->ev != NULL && !req->replied &&
	    evhttp_request_get_connection(req->ev) == NULL)
		evhttp_request_free(req->ev);
	req->ev = NULL;
	if (!req->replied) {
		req->replied = 1;
		req->status = 499;
		front_req_done(req);
	}
}

static const char *
front_method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	default:
		return "other";
	}
}

/* The request's end in the log (fields as keys) and the access log. */
static void
front_req_log(struct front_req *req, double secs)
{
	const struct evhttp_uri	*uri = NULL;
	struct log_fields	 lf;

	memset(&lf, 0, sizeof(lf));
	lf.req = req->id;
	lf.tenant = req->t != NULL ? req->t->id : NULL;
	lf.route = metrics_route_name(req->route);
	lf.status = req->status;
	lf.duration_ms = secs * 1000;
	if (req->status >= 500 || req->f->conf == NULL)
		log_fields(LOG_L_WARN, &lf, 0, "request answered %d",
		    req->status);
	else
		log_fields(LOG_L_DEBUG, &lf, 0, "request answered %d",
		    req->status);
	if (req->ev != NULL)
		uri = evhttp_request_get_evhttp_uri(req->ev);
	log_access(&lf, req->ev != NULL ?
	    front_method_name(evhttp_request_get_command(req->ev)) : NULL,
	    uri != NULL ? evhttp_uri_get_path(uri) : NULL, req->addr);
}

void
front_req_done(struct front_req *req)
{
	struct timespec	 now;
	double		 secs;

	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - req->t0.tv_sec) +
	    (double)(now.tv_nsec - req->t0.tv_nsec) / 1e9;
	metrics_request(req->route, req->status, secs);
	front_req_log(req, secs);
	req->ev = NULL;	/* evhttp owns and frees it after the reply */
	front_req_unref(req);	/* the handler's reference */
}

/*
 * Every field line of header name, joined with "," (RFC 9110 5.3: a
 * proxy may add its own line rather than extend the client's), into
 * buf.  NULL when absent; a control byte when over the buffer (then it
 * is malformed).
 */
static const char *
front_header_join(struct front_req *req, const char *name, char *buf,
    size_t size)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req->ev);
	struct evkeyval		*kv;
	size_t			 n = 0, l;
	int			 found = 0;

	buf[0] = '\0';
	TAILQ_FOREACH(kv, h, next) {
		if (strcasecmp(kv->key, name) != 0)
			continue;
		l = strlen(kv->value);
		if (n + l + 2 > size)
			return "\x01";
		if (found++)
			buf[n++] = ',';
		memcpy(buf + n, kv->value, l);
		n += l;
		buf[n] = '\0';
	}
	return found ? buf : NULL;
}

/*
 * The client's address: the TCP peer, or, when the peer is one of
 * [server] trusted_proxies, what X-Forwarded-For or Forwarded says
 * (conf_proxy.c); both go to the audit record.
 */
static void
front_client_addr(struct front_req *req)
{
	const struct conf	*c = req->f->conf;
	char			 xff[4096], fwd[4096];
	const char		*x, *w;

	snprintf(req->addr, sizeof(req->addr), "%s", req->peer);
	if (c->n_trusted_proxies == 0 || !conf_proxy_is_trusted(c, req->peer))
		return;
	x = front_header_join(req, "X-Forwarded-For", xff, sizeof(xff));
	w = front_header_join(req, "Forwarded", fwd, sizeof(fwd));
	if (conf_proxy_client(c, req->peer, x, w, req->addr,
	    sizeof(req->addr), &req->addr_note) != BK_OK)
		log_debug("req=%s client address: %s", req->id,
		    req->addr_note);
}

static struct front_req *
front_req_new(struct front *f, struct evhttp_request *ev, int admin)
{
	struct front_req		*req;
	struct evhttp_connection	*evcon;
	char				*host = NULL;
	ev_uint16_t			 port = 0;

	if ((req = calloc(1, sizeof(*req))) == NULL)
		return NULL;
	req->f = f;
	req->ev = ev;
	req->admin = admin;
	req->refs = 1;
	req->route = admin ? MR_ADMIN : MR_OTHER;
	clock_gettime(CLOCK_MONOTONIC, &req->t0);
	if (bk_random_hex(req->id, 8) != BK_OK) {
		free(req);
		return NULL;
	}
	f->inflight++;
	evcon = evhttp_request_get_connection(ev);
	if (evcon != NULL) {
		evhttp_connection_get_peer(evcon, &host, &port);
		snprintf(req->peer, sizeof(req->peer), "%s", host ? host : "-");
		front_client_addr(req);
		evhttp_connection_set_closecb(evcon, front_conn_close_cb, req);
	}
	return req;
}

/* --- routing --- */

static const struct front_route *
front_route_find(const char *path, int tenant)
{
	size_t	 i;

	for (i = 0; i < BK_NELEM(front_routes); i++)
		if (front_routes[i].tenant == tenant &&
		    strcmp(front_routes[i].path, path) == 0)
			return &front_routes[i];
	return NULL;
}

static void
front_dispatch(struct front_req *req, struct evhttp_request *ev)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(ev);
	const char		*path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char		*query = uri ? evhttp_uri_get_query(uri) : NULL;
	enum evhttp_cmd_type	 m = evhttp_request_get_command(ev);
	const struct front_route *rt;
	char			 tenant[CONF_TENANT_ID_MAX + 1];
	const char		*rest;
	int			 rv;

	if (path == NULL || path[0] != '/') {
		front_error(req, BK_E_HTTP_NOROUTE, NULL);
		return;
	}
	if (strncmp(path, "/t/", 3) == 0) {
		const char *slash = strchr(path + 3, '/');
		size_t tl = slash ? (size_t)(slash - path - 3) : 0;

		if (slash == NULL || tl == 0 || tl > CONF_TENANT_ID_MAX) {
			front_error(req, BK_E_HTTP_NOROUTE, NULL);
			return;
		}
		memcpy(tenant, path + 3, tl);
		tenant[tl] = '\0';
		rest = slash + 1;
		rt = front_route_find(rest, 1);
		if (rt != NULL)
			req->route = rt->mr;
		if (rt == NULL) {
			front_error(req, BK_E_HTTP_NOROUTE, NULL);
			return;
		}
		if ((req->t = conf_tenant_lookup(req->f->conf,
		    tenant)) == NULL) {
			/* Counted per address (front_durable.c): junk. */
			if (rt->mr == MR_ACS)
				(void)front_audit(req, "assertion",
				    BK_E_TENANT_UNKNOWN, "unknown tenant");
			front_error(req, BK_E_TENANT_UNKNOWN, NULL);
			return;
		}
	} else {
		rt = front_route_find(path, 0);
		if (rt == NULL) {
			front_error(req, BK_E_HTTP_NOROUTE, NULL);
			return;
		}
		req->route = rt->mr;
	}
	if (!(rt->methods & (int)m)) {
		if (rt->mr == MR_ACS) {
			/* X06: the Redirect binding (or any GET) at the ACS. */
			front_audit(req, "assertion", BK_E_SAML_METHOD,
			    "the ACS accepts only HTTP-POST");
			front_error(req, BK_E_SAML_METHOD, NULL);
		} else
			front_error(req, BK_E_HTTP_METHOD, NULL);
		return;
	}	if (rt->get == NULL && rt->post == NULL) {
		front_error(req, BK_E_TENANT_LOGIN_MODE, NULL);
		return;
	}
	if (query != NULL &&
	    (rv = front_params_parse(query, strlen(query), &req->q)) != BK_OK) {
		/* a logout message is refused with its record */
		if (rt->get == front_saml_slo)
			(void)front_audit(req, "slo_request", rv, "query");
		front_error(req, rv, NULL);
		return;
	}
	if (m == EVHTTP_REQ_POST)
		rt->post(req);
	else
		rt->get(req);
}

struct front_req *
front_admin_req_new(struct front *f, struct evhttp_request *ev)
{
	return front_req_new(f, ev, 1);
}

struct front_req *
front_req_open(struct front *f, struct evhttp_request *ev)
{
	return front_req_new(f, ev, 0);
}

void
front_public_cb(struct evhttp_request *ev, void *arg)
{
	struct front	*f = arg;
	struct front_req *req;

	if ((req = front_req_new(f, ev, 0)) == NULL) {
		evhttp_send_error(ev, 503, "Service Unavailable");
		return;
	}
	front_dispatch(req, ev);
}

static void
front_healthz(struct front_req *req)
{
	front_reply(req, 200, "application/json", "{\"status\":\"ok\"}", 15);
}

/*
 * {"acme": {"login": "saml", "ready": true}, "sales": {"login": "oidc",
 * "ready": false, "reason": SLUG}}: one tenant's upstream does not take
 * the broker out of the load balancer, so it is shown, not counted in the
 * status.  Nor does a tenant's own store ("store": its name): only
 * broker.conf's store makes the broker unavailable.
 */
static json_t *
front_readyz_tenants(struct front *f)
{
	const struct conf	*c = f->conf;
	const struct conf_tenant *t;
	struct store		*s;
	json_t			*o = json_object();
	time_t			 now = time(NULL);
	size_t			 i;
	int			 rv;

	for (i = 0; o != NULL && i < c->n_tenants; i++) {
		t = c->tenants[i];
		rv = front_tenant_ready(f, t, now);
		/* "store" only for a tenant with a store of its own */
		s = front_store(f, t);
		json_object_set_new(o, t->id, json_pack("{s:s, s:b, s:s*, "
		    "s:s*}", "login", conf_login_name(t->login), "ready",
		    rv == BK_OK, "reason", rv == BK_OK ? NULL :
		    bk_err_slug(rv), "store", s == f->store_default ? NULL :
		    store_name(s)));
	}
	return o;
}

static void
front_readyz(struct front_req *req)
{
	/* Answering in time, a master, not loading, its marker intact. */
	int	 srv = store_ready(req->f->store_default);
	int	 up = srv == BK_OK;
	int	 tenants = req->f->conf->n_tenants > 0;
	/* Sign-ins fail closed while no audit record can be written. */
	int	 audit = audit_is_ready(req->f->audit);
	json_t	*o;

	o = json_pack("{s:s, s:b, s:s?, s:i, s:b}", "status",
	    up && tenants && audit ? "ready" : "unavailable", "redis", up,
	    "redis_reason", up ? NULL : bk_err_slug(srv),
	    "tenants", (int)req->f->conf->n_tenants, "audit", audit);
	if (o != NULL)
		json_object_set_new(o, "tenant_state",
		    front_readyz_tenants(req->f));
	front_reply_json(req, up && tenants && audit ? 200 : 503, o);
}

/* --- set-up --- */

static void
front_origin_init(struct front *f)
{
	const char	*u = f->conf->public_url;
	const char	*p = strstr(u, "://");
	const char	*slash = p ? strchr(p + 3, '/') : NULL;
	size_t		 n = slash ? (size_t)(slash - u) : strlen(u);

	if (n >= sizeof(f->origin))
		n = sizeof(f->origin) - 1;
	memcpy(f->origin, u, n);
	f->origin[n] = '\0';
}

/*
 * The audit file's head against the one anchored in Redis, which is only
 * ever raised: a Redis head past the file's means records were cut off
 * the end (or the file was replaced) while the broker was down.  Said
 * loudly, and recorded; verify names the cut.
 */
static void
front_anchor_cb(int rv, unsigned long long seq, const char *hash, void *arg)
{
	struct front		*f = arg;
	struct audit_head	 h;
	struct audit_rec	 r;
	char			 d[256];

	(void)hash;
	if (rv != BK_OK || audit_head_get(f->audit, &h) != BK_OK ||
	    seq <= h.seq)
		return;
	snprintf(d, sizeof(d), "the file ends at seq %llu, the head anchored "
	    "in Redis is seq %llu: %llu records cut off the end or the file "
	    "replaced", h.seq, seq, seq - h.seq);
	log_warnx_r(BK_E_AUDIT_CHAIN, "audit: chain %s: %s; run ssoctl audit "
	    "verify", h.chain, d);
	memset(&r, 0, sizeof(r));
	r.event = "audit_truncated";
	r.outcome = "rejected";
	r.reason = bk_err_slug(BK_E_AUDIT_CHAIN);
	r.instance = f->conf->instance;
	r.detail = d;
	(void)audit_write(f->audit, &r);
}

static void
front_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct front		*f = arg;
	struct audit_head	 h;
	size_t			 i;

	(void)fd;
	(void)ev;
	metrics_redis_up(f->slot, store_is_up(f->store_default));
	for (i = 0; i < store_map_count(f->stores); i++)
		metrics_store_up(f->slot, i,
		    store_is_up(store_map_at(f->stores, i)));
	/* Once, by the first worker, when its store is first up. */
	if (f->anchor_checked || f->slot != 0 || !store_is_up(f->store_default))
		return;
	f->anchor_checked = 1;
	if (audit_head_get(f->audit, &h) == BK_OK)
		store_audit_head_lookup(f->store_default, h.chain,
		    front_anchor_cb, f);
}

struct front *
front_new(struct event_base *base, const struct front_env *env)
{
	struct front		*f;
	struct hout_conf	 hc;
	struct timeval		 tv = { 1, 0 };

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	memset(&hc, 0, sizeof(hc));
	f->base = base;
	f->conf = env->conf;
	f->audit = env->audit;
	f->slot = env->slot;
	f->tls_ctx = env->tls_ctx;
	f->keys_fd = env->keys_fd;
	front_origin_init(f);
	store_map_set_hold(&front_hold);
	hc.hold = &front_hout_hold;
	if ((f->hout = hout_new(base, &hc)) == NULL ||
	    (f->hout_rp = hout_new(base, NULL)) == NULL ||
	    (f->rp = rp_new(base, f->hout_rp, env->conf, &front_hout_hold)) ==
	    NULL ||
	    (f->mdr = mdr_new(base, f->hout_rp, env->conf)) == NULL)
		goto out;
	if ((f->stores = store_map_new(base, env->conf)) == NULL ||
	    (f->http = front_http_new(f)) == NULL)
		goto out;
	f->store_default = store_map_at(f->stores, 0);
	f->pub = front_http_listen(f->http, 0, env->pub_fd,
	    FRONT_MAX_BODY_PUBLIC,
	    EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD,
	    front_public_cb);
	f->adm = front_http_listen(f->http, 1, env->adm_fd,
	    FRONT_MAX_BODY_ADMIN,
	    EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE, front_admin_cb);
	if (f->pub == NULL || f->adm == NULL)
		goto out;
	if ((f->tick = event_new(base, -1, EV_PERSIST, front_tick_cb,
	    f)) == NULL || front_durable_new(f) != BK_OK ||
	    front_sso_new(f) != BK_OK)
		goto out;
	evtimer_add(f->tick, &tv);
	return f;
 out:
	front_free(f);
	return NULL;
}

void
front_drain(struct front *f)
{
	if (f->draining)
		return;
	f->draining = 1;
	front_durable_drain(f);
	/*
	 * Close the listening sockets (new connections are refused once the
	 * parent and every worker closed theirs); connections already open
	 * finish the request whose bytes are arriving.
	 */
	front_http_drain(f->http);
}

int
front_inflight(const struct front *f)
{
	return f->inflight;
}

int
front_drain_poll(struct front *f, int idle_ms)
{
	front_http_close_idle(f->http, idle_ms);
	return front_http_nconns(f->http) + f->inflight;
}

void
front_free(struct front *f)
{
	if (f == NULL)
		return;
	front_durable_free(f);	/* held answers out, counts written */
	/* Calls out still waiting are answered while evhttp can reply. */
	rp_free(f->rp);
	mdr_free(f->mdr);
	hout_free(f->hout);
	hout_free(f->hout_rp);
	if (f->tick != NULL)
		event_free(f->tick);
	if (f->pub != NULL)
		evhttp_free(f->pub);
	if (f->adm != NULL)
		evhttp_free(f->adm);
	/* After evhttp_free: the connections it frees are ours to forget. */
	front_http_free(f->http);
	store_map_free(f->stores);
	front_sso_free(f);	/* after: its reads in flight were answered */
	free(f);
}
