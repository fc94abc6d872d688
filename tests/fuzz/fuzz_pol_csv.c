/*
 * sso-broker: fuzz target for the user-mapping CSV import (pol_import_plan).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * One parser per harness: the input is an uploaded CSV, planned against a
 * small fixed mapping with every option combination, then reported.  A
 * valid plan must round-trip: applying it to the set and exporting must
 * plan again without rejections.  No I/O, no clock; everything is freed.
 * Trust: the fuzzer's bytes stand for an admin upload.
 */
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "pol.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_add(struct pol_userset *s, const char *id, const char *ext,
    const char *sfdc)
{
	struct pol_user	 u;

	memset(&u, 0, sizeof(u));
	u.f[POL_COL_INTERNAL_ID] = strdup(id);
	u.f[POL_COL_EXTENSION] = strdup(ext);
	u.f[POL_COL_SFDC_ID] = sfdc != NULL ? strdup(sfdc) : NULL;
	if (u.f[POL_COL_INTERNAL_ID] == NULL ||
	    pol_userset_add_take(s, &u) != BK_OK)
		abort();
}

/* The set after a valid plan, as the store would hold it. */
static struct pol_userset *
fz_apply(const struct pol_userset *s, const struct pol_plan *p)
{
	const struct pol_user	**arr;
	struct pol_userset	*ns;
	struct pol_user		 u;
	size_t			 n, i, j;
	int			 skip;

	if (pol_userset_new(&ns) != BK_OK || pol_userset_sorted(s, &arr, &n))
		abort();
	for (i = 0; i < p->n_upserts; i++) {
		if (pol_user_copy(&p->upserts[i], &u) != BK_OK ||
		    pol_userset_add_take(ns, &u) != BK_OK)
			abort();
	}
	for (i = 0; i < n; i++) {
		skip = pol_userset_get(ns, arr[i]->f[POL_COL_INTERNAL_ID]) !=
		    NULL;
		for (j = 0; j < p->n_deletes; j++)
			if (strcmp(p->deletes[j],
			    arr[i]->f[POL_COL_INTERNAL_ID]) == 0)
				skip = 1;
		if (skip)
			continue;
		if (pol_user_copy(arr[i], &u) != BK_OK ||
		    pol_userset_add_take(ns, &u) != BK_OK)
			abort();
	}
	free(arr);
	return ns;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_import_opts	 o;
	struct pol_userset	*s, *ns;
	struct pol_plan		*p, *p2;
	char			*js, *csv, del[32];
	size_t			 len;
	int			 rv, mode, held, excel;

	if (pol_userset_new(&s) != BK_OK)
		abort();
	fz_add(s, "1001", "0101", "alice@acme.com");
	fz_add(s, "1002", "0102", "Bob@Acme.com");
	fz_add(s, "1003", "0103", NULL);
	for (mode = 0; mode < 4; mode++) {
		memset(&o, 0, sizeof(o));
		o.allow_new = mode & 1;
		o.delete_missing = (mode >> 1) & 1;
		p = NULL;
		rv = pol_import_plan((const char *)data, size, s, &o, &p);
		if (rv == BK_E_NOMEM)
			continue;
		if (p == NULL)
			abort();
		held = rv == BK_E_POL_ZERO_UNCONFIRMED ||
		    rv == BK_E_POL_DELETE_UNCONFIRMED;
		if ((rv == BK_OK || held) !=
		    (p->fatal == NULL && p->n_rejected == 0))
			abort();
		/* A held plan has no store operations until confirmed. */
		if (held) {
			if (p->hold == NULL || p->n_upserts != 0 ||
			    p->n_deletes != 0 ||
			    pol_plan_report(p, 0, &js) != BK_OK)
				abort();
			free(js);
			snprintf(del, sizeof(del), "%zu", p->n_deleted);
			pol_plan_free(p);
			o.confirm_zero = "all";
			o.confirm_delete = o.delete_missing ? del : NULL;
			p = NULL;
			rv = pol_import_plan((const char *)data, size, s, &o,
			    &p);
			if (rv == BK_E_NOMEM)
				continue;
			if (rv != BK_OK || p->hold != NULL)
				abort();
		}
		if (pol_plan_report(p, 0, &js) != BK_OK)
			abort();
		free(js);
		if (rv == BK_OK) {
			ns = fz_apply(s, p);
			/* Either export changes nothing: nothing to confirm. */
			o.confirm_zero = o.confirm_delete = NULL;
			for (excel = 0; excel < 2; excel++) {
				if (pol_export_csv_opts(ns, excel, &csv,
				    &len) != BK_OK)
					abort();
				p2 = NULL;
				if (pol_import_plan(csv, len, ns, &o, &p2) !=
				    BK_OK || p2->n_changed + p2->n_added +
				    p2->n_deleted != 0)
					abort();
				pol_plan_free(p2);
				free(csv);
			}
			pol_userset_free(ns);
		}
		pol_plan_free(p);
	}
	pol_userset_free(s);
	return 0;
}
