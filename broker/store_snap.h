/*
 * sso-broker: a tenant's mapping as stored records, read whole or as the
 * changes since a copy the caller holds.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A whole read is three commands sent back to back on one connection:
 * the mapping's head (version and log epoch), HGETALL of the profiles,
 * the head again.  Every mapping write moves the version on, so equal
 * heads mean the profiles are those of that version; a write in between
 * makes the read start again (at most STORE_SNAP_TRIES times).  No
 * script holds Redis while 100,000 profiles are copied into Lua and
 * back (a plain HGETALL costs Redis about a quarter of that).
 *
 * Every mapping write (store_admin.c's scripts) also records, in the
 * tenant's change log, the internal IDs it touched and the version it
 * made: the sorted set "users:chg" (ID -> the version of its last
 * change) and the hash "users:log" (from: the version after which the
 * log is complete; at: the version it is complete up to; epoch: when
 * this log began, so a store that lost its data and counted its way back
 * to the same version is not mistaken for the copy's).  A caller holding
 * a copy at (version, epoch) asks for what changed since: the answer is
 * "same", the changed profiles (a deleted one as a NULL record), or,
 * when the log cannot say (another epoch, a write that was not logged,
 * more than STORE_SNAP_SINCE_MAX changes, or a log trimmed past the
 * copy), the whole mapping, or only that it cannot say (STALE).
 *
 * The scripts also keep every internal ID in the sorted set "users:ids",
 * so one page of profiles in ID order can be read without a copy: a
 * page of a whole read's 100,000 costs Redis its count plus a ZRANGE and
 * an HMGET of that page (the whole read instead, where the set does not
 * hold exactly the profiles' IDs).
 *
 * Every operation calls its callback exactly once (at once when the
 * commands cannot be sent); rv is BK_OK, a BK_E_STORE_* code or
 * BK_E_NOMEM; m is NULL unless rv is BK_OK.  The caller may keep
 * m->buf and m->recs (setting them NULL in m) and then frees both.
 * Trust: records are the store's bytes, handed out unparsed; the caller
 * parses each strictly before it uses it (pol_user_parse()).
 */
#ifndef BK_STORE_SNAP_H
#define BK_STORE_SNAP_H

#include <stddef.h>

#include "store_admin.h"

struct store;

#define STORE_SNAP_EPOCH_MAX	31
#define STORE_SNAP_SINCE_MAX	2000	/* changes handed out one by one */
#define STORE_SNAP_TRIES	3

enum store_snap_kind {
	STORE_SNAP_SAME = 1,	/* the copy is current: n is 0 */
	STORE_SNAP_SINCE,	/* recs: the profiles changed since the copy */
	STORE_SNAP_FULL,	/* recs: every profile */
	STORE_SNAP_STALE,	/* the copy is out of date, the log cannot
				   say how (n is 0) */
	STORE_SNAP_PAGE		/* recs: the profiles from a rank on, in ID
				   order; total: how many there are */
};

struct store_snap_rec {
	const char	*id;	/* the internal ID (hash field), NUL-ended */
	size_t		 id_len;
	const char	*rec;	/* its profile, NUL-ended; NULL: deleted */
	size_t		 len;
};

struct store_snap {
	char			 ver[STORE_MAPPING_VER_MAX + 1];
	char			 epoch[STORE_SNAP_EPOCH_MAX + 1];
	enum store_snap_kind	 kind;
	size_t			 n;
	size_t			 total;	/* PAGE: every profile */
	struct store_snap_rec	*recs;	/* point into buf */
	char			*buf;
};

typedef void store_snap_cb(void *arg, int rv, struct store_snap *m);

/** Read every profile of tenant, at one version. */
void	store_snap_full(struct store *s, const char *tenant, store_snap_cb *cb,
	    void *arg);
/**
 * What changed since the caller's copy at ver and epoch (both as an
 * earlier answer gave them; ver NULL: no copy).  Where the log cannot
 * say, whole 1 reads everything (FULL), whole 0 answers STALE.
 */
void	store_snap_since(struct store *s, const char *tenant, const char *ver,
	    const char *epoch, int whole, store_snap_cb *cb, void *arg);
/**
 * count profiles in ID order from rank offset (PAGE), or, where the ID
 * set does not match the profiles, every profile (FULL).
 */
void	store_snap_page(struct store *s, const char *tenant, size_t offset,
	    size_t count, store_snap_cb *cb, void *arg);

#endif /* BK_STORE_SNAP_H */
