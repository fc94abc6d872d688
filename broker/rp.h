/*
 * sso-broker: the OpenID Connect relying party's state in a worker: each
 * OAuth tenant's provider (endpoints, key set), fetched through hout.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * At start every login = oidc tenant gets its endpoints (from the file,
 * or from the issuer's discovery document) and its JWKS.  A tenant whose
 * provider cannot be reached is not ready (logged, retried with backoff
 * up to a minute, shown by rp_ready()); the broker and the other tenants
 * go on.  The key set is cached per worker by kid; an ID token naming an
 * unknown kid makes one refetch (key rotation), then no other for a miss
 * during RP_JWKS_MIN_S per tenant, so new kids from an attacker cannot
 * make the broker hammer the provider.  The documents are checked by
 * oidc/ (pure).
 * Trust: every document fetched is untrusted until oidc/ checked it.
 */
#ifndef BK_RP_H
#define BK_RP_H

struct event_base;
struct conf;
struct conf_tenant;
struct hout;
struct oidc_keyset;
struct oidc_provider;
struct rp;

/* Backoff of a provider that cannot be reached (seconds). */
#define RP_RETRY_MIN_S	1
#define RP_RETRY_MAX_S	60
/* An unknown kid refetches the JWKS at most this often (seconds). */
#define RP_JWKS_MIN_S	60

struct hout_hold;

/**
 * Start fetching every OAuth tenant's provider.  Runs in a worker.
 * @param h	borrowed: a client whose callbacks take no hold (the
 *		fetches belong to the worker, not to a request).
 * @param hold	how a request waiting in rp_keys() is kept.
 */
struct rp *rp_new(struct event_base *base, struct hout *h,
	    const struct conf *c, const struct hout_hold *hold);
void	rp_free(struct rp *rp);

/**
 * The tenant's endpoints, or NULL while it is not ready (*why then says
 * why: BK_E_OIDC_NOT_READY or the last fetch's code).
 */
const struct oidc_provider *rp_provider(struct rp *rp,
	    const struct conf_tenant *t, int *why);
/** BK_OK when the tenant can sign in, else why not (as rp_provider). */
int	rp_ready(struct rp *rp, const struct conf_tenant *t);

/*
 * The key set for a token signed with kid: ks is borrowed until the
 * callback returns.  rv BK_OK, BK_E_OIDC_NOT_READY, or a fetch's code.
 */
typedef void rp_keys_cb(void *arg, int rv, const struct oidc_keyset *ks);
/**
 * Called at once when the cached set has kid (or may not be refetched
 * yet); otherwise after one refetch.  arg is held like a store call's.
 */
void	rp_keys(struct rp *rp, const struct conf_tenant *t, const char *kid,
	    rp_keys_cb *cb, void *arg);

#endif /* BK_RP_H */
