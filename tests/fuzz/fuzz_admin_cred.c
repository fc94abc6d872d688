/*
 * sso-broker: fuzz target for stored admin credential records
 * (admin_cred_parse, issue 10 item 1).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Redis is outside the trust boundary: a record read back must be
 * refused, or give a credential whose fields all pass their own checks
 * and which builds to a record that parses to the same credential.
 * No I/O, no clock; everything is freed.
 * Trust: the fuzzer's bytes stand for a Redis value.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin_cred.h"
#include "bk.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fz_same(const struct admin_cred *a, const struct admin_cred *b)
{
	size_t	 i;

	if (strcmp(a->name, b->name) != 0 || a->role != b->role ||
	    a->created != b->created || a->n_tenants != b->n_tenants ||
	    strcmp(a->created_by, b->created_by) != 0)
		return 0;
	for (i = 0; i < a->n_tenants; i++)
		if (strcmp(a->tenants[i], b->tenants[i]) != 0)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct admin_cred	 c, d;
	char			*rec;
	size_t			 i;
	int			 rv;

	rv = admin_cred_parse((const char *)data, size, &c);
	if (rv != BK_OK) {
		if (rv != BK_E_STORE_RECORD && rv != BK_E_NOMEM)
			abort();
		return 0;
	}
	if (admin_name_check(c.name) != BK_OK ||
	    admin_name_check(c.created_by) != BK_OK ||
	    (c.role == ADMIN_ROLE_OPERATOR) != (c.n_tenants == 0))
		abort();
	for (i = 0; i < c.n_tenants; i++)
		if (admin_tenant_id_check(c.tenants[i]) != BK_OK)
			abort();
	if (admin_cred_build(&c, &rec) != BK_OK)
		abort();
	if (admin_cred_parse(rec, strlen(rec), &d) != BK_OK || !fz_same(&c, &d))
		abort();
	free(rec);
	admin_cred_cleanup(&c);
	admin_cred_cleanup(&d);
	return 0;
}
