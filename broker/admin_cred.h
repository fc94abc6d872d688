/*
 * sso-broker: named, scoped admin credentials (issue 10 item 1): the
 * model, its stored record and the one rule of who may do what.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A credential has a name, a role and the tenants it may touch.  An
 * operator may do everything on every tenant; an admin the mapping, the
 * users, their sessions and the SSO switch of its tenants; an auditor
 * reads the audit of its tenants.  The token itself is never kept: the
 * store holds the record under the token's SHA-256 digest (store_cred.h).
 * The token file of broker.conf ([admin] token_file) is the credential
 * named "operator" (ADMIN_CRED_OPERATOR), role operator.
 * Pure code: no I/O, no clock (the caller passes the time).
 * Trust: a record read back from Redis is untrusted and parsed strictly
 * (admin_cred_parse()); names, roles and tenant IDs from a request too.
 */
#ifndef BK_ADMIN_CRED_H
#define BK_ADMIN_CRED_H

#include <stddef.h>
#include <time.h>

#define ADMIN_NAME_MAX		64
#define ADMIN_TENANTS_MAX	64
#define ADMIN_RECORD_MAX	8192
/* The token file's credential, in every record it makes. */
#define ADMIN_CRED_OPERATOR	"operator"

/* Flag enum rule: starts at 2. */
enum admin_role {
	ADMIN_ROLE_AUDITOR = 2,
	ADMIN_ROLE_ADMIN,
	ADMIN_ROLE_OPERATOR
};

struct admin_cred {
	char		 name[ADMIN_NAME_MAX + 1];
	enum admin_role	 role;
	/* tenant IDs, owned; an operator's list is empty (every tenant) */
	char		**tenants;
	size_t		 n_tenants;
	time_t		 created;
	char		 created_by[ADMIN_NAME_MAX + 1];
	int		 builtin;	/* the token file's */
};

/** "admin", "auditor", "operator". */
const char	*admin_role_name(enum admin_role r);
/** BK_OK and *r, or BK_E_ADMIN_CRED_ROLE. */
int	admin_role_parse(const char *s, enum admin_role *r);
/**
 * 1 to 64 of [a-z0-9._-], the first a letter or digit: a name goes into
 * records, URLs and terminals.  BK_OK or BK_E_ADMIN_CRED_NAME.
 */
int	admin_name_check(const char *s);
/** A tenant ID's shape ([a-z0-9][a-z0-9-]{0,62}): BK_OK or ..._TENANT. */
int	admin_tenant_id_check(const char *s);

/** Release c's contents (c itself is the caller's; NULL is fine). */
void	admin_cred_cleanup(struct admin_cred *c);
/** Append a copy of tenant id to c.  BK_OK, BK_E_NOMEM, ..._TENANT. */
int	admin_cred_tenant_add(struct admin_cred *c, const char *id);
/** 1 when c's list names tenant id. */
int	admin_cred_has_tenant(const struct admin_cred *c, const char *id);

/**
 * The stored record (JSON, versioned "v":1) of c.
 * @param out	returned-owned.  BK_OK or BK_E_NOMEM.
 */
int	admin_cred_build(const struct admin_cred *c, char **out);
/**
 * Parse a stored record into *c (cleared first, set only on success).
 * @return BK_OK, BK_E_STORE_RECORD (anything not exactly as built), or
 * BK_E_NOMEM.
 */
int	admin_cred_parse(const char *rec, size_t len, struct admin_cred *c);

#endif /* BK_ADMIN_CRED_H */
