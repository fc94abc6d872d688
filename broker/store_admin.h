/*
 * sso-broker: the admin's store operations, typed: the user mapping (read
 * at one instant, an import applied all or nothing), one profile (read,
 * written, deleted), a user's revocation, and the users per tenant.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * One function per operation.  Each owns its keys, its script, its
 * argument order and the parsing of its reply, and hands back C structs:
 * the admin API never builds a key, names a script or compares a reply.
 * Every operation calls its callback exactly once: at once when the
 * command cannot be sent (rv BK_E_STORE_DOWN, or BK_E_NOMEM), else with
 * the reply.  rv is BK_OK, a BK_E_STORE_* code (BK_E_STORE_REPLY: an
 * answer not understood; BK_E_STORE_RECORD: a stored profile that does
 * not parse) or BK_E_NOMEM; the result is NULL unless rv is BK_OK, and is
 * borrowed: valid during the callback.  Keeping arg alive until then (and
 * not acting when its request is gone) is the caller's part.  Everything
 * here runs in a worker, on its loop.
 * Trust: replies and stored profiles come from outside the trust boundary
 * and are parsed strictly (pol_user_parse()).
 */
#ifndef BK_STORE_ADMIN_H
#define BK_STORE_ADMIN_H

#include <stddef.h>

#include "pol.h"

struct store;

/* --- the mapping --- */

/* The longest mapping version the store hands out (a decimal counter). */
#define STORE_MAPPING_VER_MAX	31

/* Every profile of a tenant and the mapping's version, at one instant. */
struct store_mapping {
	/* what store_mapping_apply() checks, so a stale plan is refused */
	char			 ver[STORE_MAPPING_VER_MAX + 1];
	struct pol_userset	*users;
};
typedef void store_mapping_cb(void *arg, int rv,
    const struct store_mapping *m);
/**
 * Read the tenant's mapping, whole, at one version (store_snap_full();
 * BK_E_STORE_BUSY when writes kept coming in between).
 */
void	store_mapping_read(struct store *s, const char *tenant,
	    store_mapping_cb *cb, void *arg);

enum store_apply_result {
	STORE_APPLY_OK = 2,
	/* the mapping changed since ver was read: nothing written */
	STORE_APPLY_CONFLICT,
	/* a key of the wrong type, or an answer not understood: nothing */
	STORE_APPLY_REFUSED
};
typedef void store_apply_cb(void *arg, int rv, enum store_apply_result r);
/**
 * Apply an import plan (pol_import_plan(), applicable) all or nothing,
 * if the mapping is still at version ver: upserts, deletes, the
 * Salesforce index, and the end of the deleted profiles' sessions.
 * @param ver	borrowed, from store_mapping_read().
 * @param plan	borrowed, only during the call.
 */
void	store_mapping_apply(struct store *s, const char *tenant,
	    const char *ver, const struct pol_plan *plan, store_apply_cb *cb,
	    void *arg);

/* --- one profile --- */

/* A profile as read, and what a write checks is still there. */
struct store_user {
	int		 found;
	struct pol_user	 user;	/* found: the profile */
	char		*stored; /* found: its stored form, opaque */
};
/** Release u's contents (u itself is the caller's). */
void	store_user_cleanup(struct store_user *u);
/** Move src's contents into dst (cleared first); src is left empty. */
void	store_user_move(struct store_user *dst, struct store_user *src);

/* u may be kept with store_user_move(). */
typedef void store_user_cb(void *arg, int rv, struct store_user *u);
/** Read the profile with internal ID id (not found: u->found 0). */
void	store_user_get(struct store *s, const char *tenant, const char *id,
	    store_user_cb *cb, void *arg);

enum store_write_result {
	STORE_WRITE_OK = 2,
	/* the profile is no longer what was read: nothing written */
	STORE_WRITE_CONFLICT,
	/* the Salesforce username maps to another profile: nothing written */
	STORE_WRITE_DUP
};
struct store_written {
	enum store_write_result	 result;
	/* DUP: the other profile's internal ID (at most 64 bytes of it) */
	char			 other[65];
	/* OK after store_user_put(): the profile as stored */
	struct pol_user		 user;
};
typedef void store_write_cb(void *arg, int rv, const struct store_written *w);
/**
 * Write profile u under id, if what is stored is still old (old->found 0:
 * if there is none).  A changed Salesforce username moves its index entry
 * and ends the user's tokens and sessions.
 * @param old	borrowed, from store_user_get().
 * @param u	borrowed, only during the call.
 */
void	store_user_put(struct store *s, const char *tenant, const char *id,
	    const struct store_user *old, const struct pol_user *u,
	    store_write_cb *cb, void *arg);
/**
 * Delete the profile id, if still old (found), with its index entry, and
 * end its tokens and sessions.
 */
void	store_user_delete(struct store *s, const char *tenant, const char *id,
	    const struct store_user *old, store_write_cb *cb, void *arg);

/* --- revocation and counts --- */

struct store_revoked {
	long long	 tokens, sessions;	/* deleted */
	long long	 gen;			/* the user's new generation */
};
typedef void store_revoke_user_cb(void *arg, int rv,
    const struct store_revoked *r);
/**
 * End every token and session of user id and bump the user's revocation
 * generation, which voids the codes, Allow pages and sign-ins in flight.
 */
void	store_user_revoke(struct store *s, const char *tenant, const char *id,
	    store_revoke_user_cb *cb, void *arg);

/* users[i]: the number of profiles of tenants[i]. */
typedef void store_counts_cb(void *arg, int rv, const long long *users,
    size_t n);
/** Count the profiles of n tenants in one step. */
void	store_user_counts(struct store *s, const char *const *tenants,
	    size_t n, store_counts_cb *cb, void *arg);
struct store_map;
/**
 * store_user_counts() over tenants on any of m's stores: one call per
 * store, the answers joined; a tenant whose store failed counts -1, and
 * rv is a failure only when no store answered (store_map.c).
 */
void	store_map_user_counts(const struct store_map *m,
	    const char *const *tenants, size_t n, store_counts_cb *cb,
	    void *arg);

#endif /* BK_STORE_ADMIN_H */
