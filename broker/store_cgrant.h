/*
 * sso-broker: the console's one-time sign-in grants.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * An admin who signs in to the console through the tenant's upstream (on
 * the public listener) is handed to the admin listener by a one-time code:
 * the grant is kept under the code's digest for STORE_CONSOLE_GRANT_TTL
 * seconds and taken (read and deleted in one step) exactly once.
 */
#ifndef BK_STORE_CGRANT_H
#define BK_STORE_CGRANT_H

#include "store.h"

#define STORE_CONSOLE_GRANT_TTL	60

/* What a console sign-in proved: who, in which role. */
struct store_console_grant {
	const char *user;	/* the Salesforce username as verified */
	const char *role;	/* "admin", "auditor" or "admin+auditor" */
};

typedef void store_console_put_cb(void *arg, int rv);
/** Keep the grant under code's digest for STORE_CONSOLE_GRANT_TTL. */
void	store_console_grant_put(struct store *s, const char *tenant,
	    const char *code, const struct store_console_grant *g,
	    store_console_put_cb *cb, void *arg);

/* g is NULL with rv BK_E_CONSOLE_CODE: unknown, used or expired. */
typedef void store_console_take_cb(void *arg, int rv,
    const struct store_console_grant *g);
/** Take the grant of code: it works once. */
void	store_console_grant_take(struct store *s, const char *tenant,
	    const char *code, store_console_take_cb *cb, void *arg);

#endif /* BK_STORE_CGRANT_H */
