/*
 * sso-broker: the current mapping of one tenant in memory (pol_userset).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Two GLib hash tables: internal ID -> profile (owned) and Salesforce
 * lookup key -> profile (borrowed), so a 100,000-profile diff and the
 * duplicate check stay O(n).  GLib aborts on allocation failure; our own
 * allocations report BK_E_NOMEM.
 * Trust: profiles added here were read from the store and are checked by
 * pol_user_parse() before they arrive; this file re-checks nothing.
 */
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "bk.h"
#include "pol.h"
#include "pol_int.h"

struct pol_userset {
	/* borrowed id -> owned struct pol_user */
	GHashTable	*by_id;
	/* owned key -> borrowed struct pol_user */
	GHashTable	*by_key;
};

static void
pol_userset_user_free(gpointer p)
{
	struct pol_user *u = p;

	pol_user_cleanup(u);
	free(u);
}

int
pol_userset_new(struct pol_userset **out)
{
	struct pol_userset *s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return BK_E_NOMEM;
	s->by_id = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
	    pol_userset_user_free);
	s->by_key = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
	*out = s;
	return BK_OK;
}

void
pol_userset_free(struct pol_userset *s)
{
	if (s == NULL)
		return;
	/* Keys of by_id live in the profiles: drop the index first. */
	g_hash_table_destroy(s->by_key);
	g_hash_table_destroy(s->by_id);
	free(s);
}

int
pol_userset_add_take(struct pol_userset *s, struct pol_user *u)
{
	struct pol_user	*nu = NULL;
	char		*key = NULL;
	const char	*why;
	int		 rv;

	if (u->f[POL_COL_INTERNAL_ID] == NULL)
		return BK_E_INVAL;
	if (g_hash_table_contains(s->by_id, u->f[POL_COL_INTERNAL_ID]))
		return BK_E_EXISTS;
	if (u->f[POL_COL_SFDC_ID] != NULL &&
	    (rv = pol_sfdc_key(u->f[POL_COL_SFDC_ID], &key, &why)) != BK_OK)
		return rv;
	if ((nu = malloc(sizeof(*nu))) == NULL) {
		free(key);
		return BK_E_NOMEM;
	}
	*nu = *u;
	memset(u, 0, sizeof(*u));
	g_hash_table_insert(s->by_id, nu->f[POL_COL_INTERNAL_ID], nu);
	/*
	 * A corrupt store could hold one key twice; the first holder keeps
	 * the index so lookups stay deterministic, and the import's
	 * duplicate check reports the conflict on the next upload.
	 */
	if (key != NULL && !g_hash_table_contains(s->by_key, key))
		g_hash_table_insert(s->by_key, key, nu);
	else
		free(key);
	return BK_OK;
}

const struct pol_user *
pol_userset_get(const struct pol_userset *s, const char *id)
{
	if (s == NULL || id == NULL)
		return NULL;
	return g_hash_table_lookup(s->by_id, id);
}

const struct pol_user *
pol_userset_get_sfdc(const struct pol_userset *s, const char *key)
{
	if (s == NULL || key == NULL)
		return NULL;
	return g_hash_table_lookup(s->by_key, key);
}

size_t
pol_userset_count(const struct pol_userset *s)
{
	return s == NULL ? 0 : g_hash_table_size(s->by_id);
}

static int
pol_user_id_cmp(const void *a, const void *b)
{
	const struct pol_user *const *ua = a;
	const struct pol_user *const *ub = b;

	return strcmp((*ua)->f[POL_COL_INTERNAL_ID],
	    (*ub)->f[POL_COL_INTERNAL_ID]);
}

int
pol_userset_sorted(const struct pol_userset *s, const struct pol_user ***arr,
    size_t *n)
{
	const struct pol_user **a;
	GHashTableIter	 it;
	gpointer	 k, v;
	size_t		 i = 0, cnt;

	*arr = NULL;
	*n = 0;
	cnt = pol_userset_count(s);
	if ((a = calloc(cnt + 1, sizeof(*a))) == NULL)
		return BK_E_NOMEM;
	if (cnt > 0) {
		g_hash_table_iter_init(&it, s->by_id);
		while (g_hash_table_iter_next(&it, &k, &v))
			a[i++] = v;
		qsort(a, cnt, sizeof(*a), pol_user_id_cmp);
	}
	*arr = a;
	*n = cnt;
	return BK_OK;
}
