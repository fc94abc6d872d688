/*
 * sso-broker: a worker's stores, one per distinct Redis target.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * broker.conf's [redis] is the default store; a tenant file's own [redis]
 * (conf_tenant_has_redis()) gives that tenant a store of its own, so a
 * big account's data can live on a Redis (or Sentinel group) of its own
 * while the brokers stay shared.  Tenants that name the same target
 * (conf_redis_same()) share one store, and a tenant that names
 * broker.conf's target uses the default one: connections, timers and
 * probes are bounded by the number of distinct targets, not of tenants.
 * Each store is a whole store.c connection: its own Sentinel following,
 * probe and data marker (store_health.c).  The audit's chain heads stay
 * on the default store (store_int.h: heads).
 * The map is built once per worker from the frozen configuration; a
 * SIGHUP forks new workers, which build a new one.
 * The operations that span tenants (profile counts, signing out of every
 * tenant) are split here by store and their answers joined.
 * Trust: nothing untrusted; tenant ids come from the configuration or
 * were already matched against it.
 */
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "conf.h"
#include "log.h"
#include "store_admin.h"
#include "store_int.h"
#include "store_signin.h"

struct store_map {
	const struct conf	 *conf;
	struct store		**stores;	/* [0] the default */
	size_t			  n;
	/* the store of conf->tenants[i] */
	struct store		**by_tenant;
};

/* The store of rc among those made so far, or NULL. */
static struct store *
store_map_find(const struct store_map *m, const struct conf_redis *rc)
{
	size_t	 i;

	for (i = 0; i < m->n; i++)
		if (conf_redis_same(m->stores[i]->rc, rc))
			return m->stores[i];
	return NULL;
}

struct store_map *
store_map_new(struct event_base *base, const struct conf *c)
{
	struct store_map	*m;
	const struct conf_tenant *t;
	struct store		*s;
	size_t			 i;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->conf = c;
	if ((m->stores = calloc(c->n_tenants + 1, sizeof(*m->stores))) ==
	    NULL || (m->by_tenant = calloc(c->n_tenants + 1,
	    sizeof(*m->by_tenant))) == NULL ||
	    (m->stores[0] = store_new(base, c, &c->redis, "default")) == NULL)
		goto out;
	m->stores[0]->heads = m->stores[0];
	m->n = 1;
	for (i = 0; i < c->n_tenants; i++) {
		t = c->tenants[i];
		s = m->stores[0];
		if (conf_tenant_has_redis(t) &&
		    (s = store_map_find(m, &t->redis)) == NULL) {
			if ((s = store_new(base, c, &t->redis, t->id)) == NULL)
				goto out;
			s->heads = m->stores[0];
			m->stores[m->n++] = s;
			log_info("redis: tenant %s has a store of its own",
			    t->id);
		}
		m->by_tenant[i] = s;
	}
	return m;
 out:
	store_map_free(m);
	return NULL;
}

void
store_map_free(struct store_map *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		store_free(m->stores[i]);
	free(m->stores);
	free(m->by_tenant);
	free(m);
}

static int
store_map_cmp(const void *key, const void *elem)
{
	const struct conf_tenant *t = *(const struct conf_tenant *const *)elem;

	return strcmp(key, t->id);
}

struct store *
store_map_id(const struct store_map *m, const char *tenant)
{
	const struct conf_tenant *const *tp;

	if (m == NULL)
		return NULL;
	if (tenant == NULL || m->conf->n_tenants == 0)
		return m->stores[0];
	/* conf->tenants is sorted by id (conf_tenants_load()). */
	tp = bsearch(tenant, m->conf->tenants, m->conf->n_tenants,
	    sizeof(*m->conf->tenants), store_map_cmp);
	if (tp == NULL)
		return m->stores[0];	/* _broker, or not a tenant */
	return m->by_tenant[tp - (const struct conf_tenant *const *)
	    m->conf->tenants];
}

struct store *
store_map_tenant(const struct store_map *m, const struct conf_tenant *t)
{
	return store_map_id(m, t != NULL ? t->id : NULL);
}

size_t
store_map_count(const struct store_map *m)
{
	return m != NULL ? m->n : 0;
}

struct store *
store_map_at(const struct store_map *m, size_t i)
{
	return m != NULL && i < m->n ? m->stores[i] : NULL;
}

/* --- operations across tenants, split by store --- */

/*
 * One call over n tenants becomes one call per store with the tenants it
 * holds.  The parts may answer before the split is done (a store that is
 * down answers at once), so the count of parts is known before the first
 * is sent, and nothing touches the join once the last part is out.
 */
struct store_map_join {
	size_t		 left;
	size_t		 nok;		/* parts that answered BK_OK */
	int		 rv;		/* the first failure */
	store_done_cb	*done;
	store_counts_cb	*counts;
	void		*arg;
	long long	*users;		/* counts: one per tenant */
	size_t		 n;
};

struct store_map_part {
	struct store_map_join	*j;
	size_t			*pos;	/* the tenants' places in the call */
	size_t			 k;
	struct store_map_part	*next;	/* store_map_live */
};

/*
 * The sign-in's operations keep their arg alive through the hold
 * (store_signin.h), which takes it for a request.  A part of a split
 * call is not one: the hold installed here keeps the parts in flight
 * (each freed when the operation lets go of it) and hands every other
 * arg to the caller's hold.  The join holds the caller's arg instead,
 * and answers only while it is alive.
 */
static const struct store_hold	*store_map_outer;
static struct store_map_part	*store_map_live;

static struct store_map_part *
store_map_part_find(const void *a, struct store_map_part ***prevp)
{
	struct store_map_part	**pp;

	for (pp = &store_map_live; *pp != NULL; pp = &(*pp)->next)
		if (*pp == a) {
			if (prevp != NULL)
				*prevp = pp;
			return *pp;
		}
	return NULL;
}

static void
store_map_hold_ref(void *a)
{
	if (store_map_part_find(a, NULL) == NULL && store_map_outer != NULL)
		store_map_outer->ref(a);
}

static void
store_map_hold_unref(void *a)
{
	struct store_map_part	**pp, *p;

	if ((p = store_map_part_find(a, &pp)) != NULL) {
		*pp = p->next;
		free(p->pos);
		free(p);
	} else if (store_map_outer != NULL)
		store_map_outer->unref(a);
}

static int
store_map_hold_alive(void *a)
{
	return store_map_part_find(a, NULL) != NULL ||
	    store_map_outer == NULL || store_map_outer->alive(a);
}

static const struct store_hold store_map_hold = {
	store_map_hold_ref, store_map_hold_unref, store_map_hold_alive
};

void
store_map_set_hold(const struct store_hold *h)
{
	store_map_outer = h;
	store_set_hold(&store_map_hold);
}

/* Group the n tenant ids by store: part[i] gets the places of store i. */
static int
store_map_split(const struct store_map *m, const char *const *tenants,
    size_t n, size_t **pos, size_t *cnt)
{
	size_t	 i, si;

	for (si = 0; si < m->n; si++) {
		cnt[si] = 0;
		pos[si] = NULL;
	}
	for (i = 0; i < n; i++) {
		struct store *s = store_map_id(m, tenants[i]);

		for (si = 0; si < m->n && m->stores[si] != s; si++)
			;
		BK_ASSERT(si < m->n);
		if (pos[si] == NULL && (pos[si] = calloc(n,
		    sizeof(**pos))) == NULL)
			return BK_E_NOMEM;
		pos[si][cnt[si]++] = i;
	}
	return BK_OK;
}

static void
store_map_join_end(struct store_map_join *j, int rv)
{
	if (rv == BK_OK)
		j->nok++;
	else if (j->rv == BK_OK)
		j->rv = rv;
	if (--j->left > 0)
		return;
	if (j->done != NULL) {
		if (j->arg == NULL || store_map_outer == NULL ||
		    store_map_outer->alive(j->arg))
			j->done(j->arg, j->rv);
		if (j->arg != NULL && store_map_outer != NULL)
			store_map_outer->unref(j->arg);
	} else	/* counts: a failure only when no store answered */
		j->counts(j->arg, j->nok > 0 ? BK_OK : j->rv, j->users, j->n);
	free(j->users);
	free(j);
}

static void
store_map_counts_cb(void *arg, int rv, const long long *users, size_t n)
{
	struct store_map_part	*p = arg;
	struct store_map_join	*j = p->j;
	size_t			 i;

	/* A store that failed leaves its tenants unknown (-1). */
	for (i = 0; rv == BK_OK && users != NULL && i < p->k && i < n; i++)
		j->users[p->pos[i]] = users[i];
	free(p->pos);
	free(p);
	store_map_join_end(j, rv);
}

/* The part itself is freed when the operation lets go (the hold). */
static void
store_map_done_cb(void *arg, int rv)
{
	struct store_map_part	*p = arg;

	store_map_join_end(p->j, rv);
}

/* Run one part per store that holds any of the tenants. */
static void
store_map_run(const struct store_map *m, struct store_map_join *j,
    const char *const *tenants, const char *const *cookies, size_t n)
{
	size_t			**pos, *cnt, si, i, parts = 0;
	const char		**ids = NULL, **cks = NULL;
	struct store_map_part	*p;
	int			 rv = BK_E_NOMEM;

	pos = calloc(m->n, sizeof(*pos));
	cnt = calloc(m->n, sizeof(*cnt));
	ids = calloc(n + 1, sizeof(*ids));
	cks = calloc(n + 1, sizeof(*cks));
	if (pos == NULL || cnt == NULL || ids == NULL || cks == NULL ||
	    (rv = store_map_split(m, tenants, n, pos, cnt)) != BK_OK)
		goto out;
	for (si = 0; si < m->n; si++)
		parts += cnt[si] > 0;
	j->left = parts > 0 ? parts : 1;
	if (parts == 0) {
		store_map_join_end(j, BK_OK);
		j = NULL;
		goto out;
	}
	for (si = 0; si < m->n; si++) {
		if (cnt[si] == 0)
			continue;
		for (i = 0; i < cnt[si]; i++) {
			ids[i] = tenants[pos[si][i]];
			cks[i] = cookies != NULL ? cookies[pos[si][i]] : NULL;
		}
		if ((p = calloc(1, sizeof(*p))) == NULL) {
			/* This part fails; the others still answer. */
			free(pos[si]);
			pos[si] = NULL;
			store_map_join_end(j, BK_E_NOMEM);
			continue;
		}
		p->j = j;
		p->pos = pos[si];
		p->k = cnt[si];
		pos[si] = NULL;
		if (j->done != NULL) {
			p->next = store_map_live;
			store_map_live = p;
			store_sessions_end(m->stores[si], cnt[si], ids, cks,
			    store_map_done_cb, p);
		} else
			store_user_counts(m->stores[si], ids, cnt[si],
			    store_map_counts_cb, p);
	}
	j = NULL;
	rv = BK_OK;
 out:
	if (pos != NULL)
		for (si = 0; si < m->n; si++)
			free(pos[si]);
	free(pos);
	free(cnt);
	free(ids);
	free(cks);
	if (j != NULL) {
		/* Nothing was sent: the call fails as a whole. */
		j->left = 1;
		store_map_join_end(j, rv);
	}
}

void
store_map_user_counts(const struct store_map *m, const char *const *tenants,
    size_t n, store_counts_cb *cb, void *arg)
{
	struct store_map_join	*j;
	size_t			 i;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->users = calloc(n + 1, sizeof(*j->users))) == NULL) {
		free(j);
		cb(arg, BK_E_NOMEM, NULL, n);
		return;
	}
	for (i = 0; i < n; i++)
		j->users[i] = -1;
	j->counts = cb;
	j->arg = arg;
	j->n = n;
	store_map_run(m, j, tenants, NULL, n);
}

void
store_map_sessions_end(const struct store_map *m, size_t n,
    const char *const *tenants, const char *const *cookies,
    store_done_cb *cb, void *arg)
{
	struct store_map_join	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		cb(arg, BK_E_NOMEM);
		return;
	}
	j->done = cb;
	j->arg = arg;
	if (arg != NULL && store_map_outer != NULL)
		store_map_outer->ref(arg);
	store_map_run(m, j, tenants, cookies, n);
}
