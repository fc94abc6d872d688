/*
 * sso-broker: each OAuth tenant's provider in a worker (rp.h).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A tenant goes: endpoints (file, or discovery) -> JWKS -> ready.  Any
 * failure leaves the tenant not ready with that failure's code and
 * schedules the next try (backoff doubling from RP_RETRY_MIN_S to
 * RP_RETRY_MAX_S); a ready tenant keeps its endpoints and keys while a
 * refetch for an unknown kid runs, and a failed refetch does not make it
 * unready.  Requests waiting for a refetch are called back once it ends.
 * Trust: see rp.h.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "bk.h"
#include "conf.h"
#include "hout.h"
#include "log.h"
#include "oidc.h"
#include "rp.h"

struct rp_waiter {
	rp_keys_cb		*cb;
	void			*arg;
	struct rp_waiter	*next;
};

struct rp_tenant {
	struct rp		*rp;
	const struct conf_tenant *t;
	struct oidc_provider	 prov;
	int			 have_prov;
	struct oidc_keyset	*ks;
	int			 state;		/* BK_OK: ready */
	int			 fetching;
	time_t			 miss_at;	/* last refetch for a miss */
	int			 backoff;
	struct event		*retry;
	struct rp_waiter	*waiters;
};

struct rp {
	struct event_base	*base;
	struct hout		*h;
	const struct hout_hold	*hold;
	size_t			 n;
	struct rp_tenant	*v;
};

static void	rp_fetch_jwks(struct rp_tenant *);
static void	rp_start(struct rp_tenant *);

static struct rp_tenant *
rp_find(struct rp *rp, const struct conf_tenant *t)
{
	size_t	 i;

	for (i = 0; rp != NULL && i < rp->n; i++)
		if (rp->v[i].t == t)
			return &rp->v[i];
	return NULL;
}

/* Every request waiting for the key set hears rv. */
static void
rp_wake(struct rp_tenant *rt, int rv)
{
	struct rp_waiter	*w;
	const struct hout_hold	*hold = rt->rp->hold;

	while ((w = rt->waiters) != NULL) {
		rt->waiters = w->next;
		if (hold == NULL || hold->alive(w->arg))
			w->cb(w->arg, rv, rv == BK_OK ? rt->ks : NULL);
		if (hold != NULL)
			hold->unref(w->arg);
		free(w);
	}
}

static void
rp_retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct rp_tenant	*rt = arg;

	(void)fd;
	(void)ev;
	if (!rt->have_prov)
		rp_start(rt);
	else
		rp_fetch_jwks(rt);
}

/* A fetch failed: logged, not ready unless it was, next try later. */
static void
rp_failed(struct rp_tenant *rt, int rv, const char *what, const char *detail)
{
	struct timeval	 tv;

	rt->fetching = 0;
	log_warnx_r(rv, "tenant %s: %s from %s failed%s%s; next try in %d s",
	    rt->t->id, what, rt->t->oidc.issuer, detail ? ": " : "",
	    detail ? log_esc(detail) : "", rt->backoff);
	if (rt->ks == NULL)
		rt->state = rv;
	rp_wake(rt, rv);
	tv.tv_sec = rt->backoff;
	tv.tv_usec = 0;
	if (rt->retry != NULL && rt->ks == NULL)
		evtimer_add(rt->retry, &tv);
	rt->backoff = rt->backoff * 2 > RP_RETRY_MAX_S ? RP_RETRY_MAX_S :
	    rt->backoff * 2;
}

static void
rp_jwks_cb(void *arg, int rv, const struct hout_res *res)
{
	struct rp_tenant	*rt = arg;
	struct oidc_keyset	*ks = NULL;
	char			*detail = NULL;

	if (rv == BK_OK)
		rv = oidc_jwks_parse(res->body, res->len, &ks, &detail);
	if (rv != BK_OK) {
		rp_failed(rt, rv, "JWKS", detail);
		free(detail);
		return;
	}
	oidc_keyset_free(rt->ks);
	rt->ks = ks;
	rt->fetching = 0;
	rt->state = BK_OK;
	rt->backoff = RP_RETRY_MIN_S;
	log_info("tenant %s: %zu signing keys from %s", rt->t->id,
	    oidc_keyset_count(ks), rt->prov.jwks_uri);
	rp_wake(rt, BK_OK);
}

static void
rp_fetch_jwks(struct rp_tenant *rt)
{
	struct hout_req	 r;
	int		 rv;

	memset(&r, 0, sizeof(r));
	r.url = rt->prov.jwks_uri;
	r.trust = rt->t->oidc_trust;
	rt->fetching = 1;
	if ((rv = hout_get(rt->rp->h, &r, rp_jwks_cb, rt)) != BK_OK)
		rp_failed(rt, rv, "JWKS", NULL);
}

static void
rp_disco_cb(void *arg, int rv, const struct hout_res *res)
{
	struct rp_tenant	*rt = arg;
	char			*detail = NULL;

	if (rv == BK_OK)
		rv = oidc_discovery_parse(res->body, res->len,
		    rt->t->oidc.issuer, &rt->prov, &detail);
	if (rv != BK_OK) {
		rp_failed(rt, rv, "discovery", detail);
		free(detail);
		return;
	}
	rt->have_prov = 1;
	rp_fetch_jwks(rt);
}

/* The endpoints given one by one, else the issuer's discovery document. */
static void
rp_start(struct rp_tenant *rt)
{
	const struct conf_oidc	*o = &rt->t->oidc;
	struct hout_req		 r;
	struct bk_buf		 b;
	size_t			 il = strlen(o->issuer);
	int			 rv;

	if (o->authorize_url != NULL) {
		rt->prov.issuer = bk_strdup(o->issuer);
		rt->prov.authorization_endpoint = bk_strdup(o->authorize_url);
		rt->prov.token_endpoint = bk_strdup(o->token_url);
		rt->prov.jwks_uri = bk_strdup(o->jwks_url);
		rt->prov.userinfo_endpoint = bk_strdup(o->userinfo_url);
		rt->have_prov = 1;
		rp_fetch_jwks(rt);
		return;
	}
	bk_buf_init(&b, OIDC_URL_MAX + 64);
	rv = bk_buf_add(&b, o->issuer, il > 0 && o->issuer[il - 1] == '/' ?
	    il - 1 : il);
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, "/.well-known/openid-configuration");
	memset(&r, 0, sizeof(r));
	r.url = b.data;
	r.trust = rt->t->oidc_trust;
	rt->fetching = 1;
	if (rv == BK_OK)
		rv = hout_get(rt->rp->h, &r, rp_disco_cb, rt);
	bk_buf_free(&b);
	if (rv != BK_OK)
		rp_failed(rt, rv, "discovery", NULL);
}

struct rp *
rp_new(struct event_base *base, struct hout *h, const struct conf *c,
    const struct hout_hold *hold)
{
	struct rp	*rp;
	size_t		 i;

	if ((rp = calloc(1, sizeof(*rp))) == NULL ||
	    (rp->v = calloc(c->n_tenants + 1, sizeof(*rp->v))) == NULL) {
		free(rp);
		return NULL;
	}
	rp->base = base;
	rp->h = h;
	rp->hold = hold;
	for (i = 0; i < c->n_tenants; i++) {
		struct rp_tenant *rt = &rp->v[rp->n];

		if (c->tenants[i]->login != CONF_LOGIN_OIDC)
			continue;
		rp->n++;
		rt->rp = rp;
		rt->t = c->tenants[i];
		rt->state = BK_E_OIDC_NOT_READY;
		rt->backoff = RP_RETRY_MIN_S;
		rt->retry = evtimer_new(base, rp_retry_cb, rt);
		rp_start(rt);
	}
	return rp;
}

void
rp_free(struct rp *rp)
{
	size_t	 i;

	if (rp == NULL)
		return;
	for (i = 0; i < rp->n; i++) {
		rp_wake(&rp->v[i], BK_E_HOUT_CANCELLED);
		if (rp->v[i].retry != NULL)
			event_free(rp->v[i].retry);
		oidc_provider_cleanup(&rp->v[i].prov);
		oidc_keyset_free(rp->v[i].ks);
	}
	free(rp->v);
	free(rp);
}

const struct oidc_provider *
rp_provider(struct rp *rp, const struct conf_tenant *t, int *why)
{
	struct rp_tenant	*rt = rp_find(rp, t);

	if (rt == NULL || rt->state != BK_OK || !rt->have_prov) {
		*why = rt != NULL ? rt->state : BK_E_OIDC_NOT_READY;
		return NULL;
	}
	*why = BK_OK;
	return &rt->prov;
}

int
rp_ready(struct rp *rp, const struct conf_tenant *t)
{
	int	 why;

	(void)rp_provider(rp, t, &why);
	return why;
}

void
rp_keys(struct rp *rp, const struct conf_tenant *t, const char *kid,
    rp_keys_cb *cb, void *arg)
{
	struct rp_tenant	*rt = rp_find(rp, t);
	struct rp_waiter	*w;

	if (rt == NULL || rt->ks == NULL) {
		cb(arg, rt != NULL ? rt->state : BK_E_OIDC_NOT_READY, NULL);
		return;
	}
	if (kid == NULL || oidc_keyset_lookup(rt->ks, kid) == BK_OK ||
	    (!rt->fetching && rt->miss_at != 0 &&
	    bk_now() - rt->miss_at < RP_JWKS_MIN_S)) {
		/* Known, or refetched for a miss too recently: these keys. */
		cb(arg, BK_OK, rt->ks);
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		cb(arg, BK_E_NOMEM, NULL);
		return;
	}
	w->cb = cb;
	w->arg = arg;
	if (rp->hold != NULL)
		rp->hold->ref(arg);
	w->next = rt->waiters;
	rt->waiters = w;
	if (!rt->fetching) {
		rt->miss_at = bk_now();
		rp_fetch_jwks(rt);
	}
}
