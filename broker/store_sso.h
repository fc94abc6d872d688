/*
 * sso-broker: the account's SSO switch in the tenant's store (issue 10
 * item 3): read for many tenants in one step, set by an admin.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The tenant file's enable_salesforce_sso is only the value a tenant
 * starts with; once an admin sets the switch, the value in force is the
 * one in Redis (bk:v1:{T}:sso, a hash: on, by, at, gen), which every
 * broker reads (front_sso.c).  Switching off moves the tenant's
 * generation on, in the same script: every session, code, Allow page and
 * panel token recorded under the old one is void at once (the sign-in's
 * scripts and the introspection compare it, store_signin.c); then the
 * tenant's token and session index sets are emptied in batches of
 * STORE_SSO_SWEEP profiles (never one long script), for the count.
 * As store_admin.h: every operation calls its callback exactly once (at
 * once when nothing could be sent); results are borrowed, valid during
 * the callback; keeping arg alive until then is the caller's part.
 * Worker, on its loop.
 * Trust: replies come from outside the trust boundary and are checked.
 */
#ifndef BK_STORE_SSO_H
#define BK_STORE_SSO_H

#include <stddef.h>
#include <time.h>

struct store;

/* The longest credential name kept as "set by". */
#define STORE_SSO_BY_MAX	128

/* A tenant's switch as stored. */
struct store_sso {
	int		 set;	/* an admin value exists (else: the file's) */
	int		 on;
	char		 by[STORE_SSO_BY_MAX + 1];	/* credential name */
	time_t		 at;	/* when it was set */
	long long	 gen;	/* the tenant's generation (offs so far) */
};

/* v[i]: tenants[i]'s switch (v[i].set 0: no admin value, or unreadable). */
typedef void store_sso_read_cb(void *arg, int rv, const struct store_sso *v,
    size_t n);
/**
 * Read the switch of n tenants of store s in one step (one script whose
 * keys are ARGV, as store_user_counts(): the tenants need not share a
 * slot).
 * @param tenants	borrowed, only during the call.
 */
void	store_sso_read(struct store *s, const char *const *tenants, size_t n,
	    store_sso_read_cb *cb, void *arg);

/* Profiles an off's sweep covers per script (store_sso.c). */
#define STORE_SSO_SWEEP		1000

struct store_sso_done {
	struct store_sso	 was;	/* before the change */
	struct store_sso	 now;	/* after it */
	/* switched off: the tokens and browser sessions deleted */
	long long		 tokens, sessions;
	/*
	 * The sweep broke off (the store went away, or the switch changed
	 * again): the counts are short; what was not deleted is void all the
	 * same and expires with its TTL.
	 */
	int			 partial;
};
typedef void store_sso_set_cb(void *arg, int rv,
    const struct store_sso_done *d);
/**
 * Set tenant's switch to on (1) or off (0), by credential by, at time at,
 * in one script.  Off also moves the tenant's generation on (every token
 * and session of the tenant is void from then on; setting off twice does
 * it again) and then deletes them, batch by batch, before cb runs.
 * rv: BK_OK, BK_E_STORE_DOWN / BK_E_STORE_TIMEOUT (nothing changed),
 * BK_E_STORE_REPLY (a key of the wrong type: nothing changed), BK_E_NOMEM.
 * @param by	borrowed; at most STORE_SSO_BY_MAX bytes are kept.
 */
void	store_sso_set(struct store *s, const char *tenant, int on,
	    const char *by, time_t at, store_sso_set_cb *cb, void *arg);

#endif /* BK_STORE_SSO_H */
