/*
 * sso-broker: fuzz target for stored user records (pol_user_parse) and
 * the admin API's single-user body (pol_user_apply_json).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Redis is outside the trust boundary, so a record read back must either
 * be refused or give a profile that builds to a record which parses to
 * the same profile.  The same bytes are then applied as an API body to a
 * fixed profile, which must be left untouched on error.
 * No I/O, no clock; everything is freed.
 * Trust: the fuzzer's bytes stand for a Redis value or an API body.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "pol.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fz_same(const struct pol_user *a, const struct pol_user *b)
{
	int	 c;

	for (c = 0; c < POL_COL_COUNT; c++) {
		if ((a->f[c] == NULL) != (b->f[c] == NULL))
			return 0;
		if (a->f[c] != NULL && strcmp(a->f[c], b->f[c]) != 0)
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_user	 u, v, w;
	const char	*why;
	char		*js;
	int		 rv;

	rv = pol_user_parse((const char *)data, size, &u);
	if (rv == BK_OK) {
		if (pol_user_build(&u, &js) != BK_OK)
			abort();
		if (pol_user_parse(js, strlen(js), &v) != BK_OK ||
		    !fz_same(&u, &v))
			abort();
		pol_user_cleanup(&v);
		free(js);
		if (pol_user_to_api_json(&u, &js) != BK_OK)
			abort();
		free(js);
		pol_user_cleanup(&u);
	} else if (rv != BK_E_STORE_RECORD && rv != BK_E_NOMEM)
		abort();

	memset(&u, 0, sizeof(u));
	u.f[POL_COL_INTERNAL_ID] = strdup("1001");
	u.f[POL_COL_EXTENSION] = strdup("0101");
	if (u.f[POL_COL_INTERNAL_ID] == NULL || u.f[POL_COL_EXTENSION] == NULL ||
	    pol_user_copy(&u, &w) != BK_OK)
		abort();
	rv = pol_user_apply_json(&u, (const char *)data, size, &why);
	if (rv != BK_OK && (!fz_same(&u, &w) || why == NULL))
		abort();
	if (rv == BK_OK && strcmp(u.f[POL_COL_INTERNAL_ID], "1001") != 0)
		abort();
	pol_user_cleanup(&u);
	pol_user_cleanup(&w);
	return 0;
}
