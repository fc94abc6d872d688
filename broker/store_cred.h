/*
 * sso-broker: the admin credentials in the default store (issue 10
 * item 1): looked up by the token's digest, listed, added, revoked.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Every broker of the fleet reads the same two hashes, with no cache:
 * a credential added or revoked on one broker counts on every broker
 * from the next request.  The token is never stored, only its SHA-256
 * (hex) as the key of the record.  As in store_admin.h, every operation
 * calls its callback exactly once (at once when the command cannot be
 * sent: rv BK_E_STORE_DOWN or BK_E_NOMEM); results are borrowed, valid
 * during the callback.  Worker, on its loop.
 * Trust: records are parsed again by admin_cred_parse().
 */
#ifndef BK_STORE_CRED_H
#define BK_STORE_CRED_H

#include <stddef.h>

#include "admin_cred.h"
#include "bk.h"

struct store;

/* c NULL: no credential has this digest. */
typedef void store_cred_cb(void *arg, int rv, const struct admin_cred *c);
/** The credential whose token has digest (hex, BK_DIGEST_HEX). */
void	store_cred_lookup(struct store *s, const char *digest,
	    store_cred_cb *cb, void *arg);

typedef void store_cred_list_cb(void *arg, int rv,
    const struct admin_cred *v, size_t n);
/** Every stored credential, sorted by name. */
void	store_cred_list(struct store *s, store_cred_list_cb *cb, void *arg);

/* done: 1 when written (add) or removed (revoke); 0: name taken / none. */
typedef void store_cred_done_cb(void *arg, int rv, int done);
/**
 * Add c under digest, unless a credential of that name exists.
 * @param c	borrowed, only during the call.
 */
void	store_cred_add(struct store *s, const struct admin_cred *c,
	    const char *digest, store_cred_done_cb *cb, void *arg);
/** Remove the credential called name: its token stops working. */
void	store_cred_revoke(struct store *s, const char *name,
	    store_cred_done_cb *cb, void *arg);

#endif /* BK_STORE_CRED_H */
