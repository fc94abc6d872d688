/*
 * sso-broker: what a reload changes in broker.conf and in a tenant, for
 * the audit records.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A tenant's effective settings are read through the keyword table
 * (conf_keywords[]), so every directive, present and future, is compared
 * and named "[section] key" the way the file spells it.  Secrets never
 * appear: a secret file is named by its path, a change of the secret it
 * holds is said, not shown, and a value that may carry a password (the
 * Redis URL) is masked.
 * Trust: the configuration has been checked; nothing here is untrusted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bk.h"
#include "conf.h"
#include "conf_int.h"

#define CONF_DIFF_FLAGS	(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII)

/*
 * One directive's effective value in t (a struct conf or conf_tenant),
 * as JSON (new reference).  A value that may carry a password is masked.
 */
static json_t *
conf_kw_json(const void *ct, const struct conf_keyword *kw)
{
	/* read only: the accessors take a void * */
	void				*t = (void *)(uintptr_t)ct;
	const struct conf_enum_val	*ev;
	json_t				*a;
	size_t				 j;
	char				*s;

	switch (kw->type) {
	case CONF_T_BOOL:
		return json_boolean(*conf_kw_int(t, kw));
	case CONF_T_INT:
		return json_integer(*conf_kw_int(t, kw));
	case CONF_T_ENUM:
		for (ev = kw->enums; ev->name != NULL; ev++)
			if (ev->val == *conf_kw_int(t, kw))
				return json_string(ev->name);
		return json_null();
	default:
		break;
	}
	if (kw->type == CONF_T_LIST || (kw->flags & CONF_REPEATABLE)) {
		if ((a = json_array()) == NULL)
			return NULL;
		for (j = 0; j < *conf_kw_count(t, kw); j++)
			json_array_append_new(a,
			    json_string(conf_kw_str(t, kw)[j]));
		return a;
	}
	s = *conf_kw_str(t, kw);
	if (s != NULL && (kw->flags & CONF_MASKED))
		return json_string("(masked)");
	return s != NULL ? json_string(s) : json_null();
}

static int
conf_diff_key(const struct conf_keyword *kw, char *buf, size_t size)
{
	int	 n = snprintf(buf, size, "[%s] %s", kw->section, kw->name);

	return n > 0 && (size_t)n < size ? BK_OK : BK_E_INVAL;
}

/* Secrets the tenant holds, compared but never shown. */
static void
conf_diff_secrets(const struct conf_tenant *a, const struct conf_tenant *b,
    json_t *before, json_t *after)
{
	static const struct {
		const char	*key;
		size_t		 off;
	} sec[] = {
		{ "[panel] client_secret_file (contents)",
		    offsetof(struct conf_tenant, panel.client_secret) },
		{ "[oidc] client_secret_file (contents)",
		    offsetof(struct conf_tenant, oidc.client_secret) },
	};
	const char	*x, *y;
	size_t		 i;

	for (i = 0; i < BK_NELEM(sec); i++) {
		x = *(char *const *)(const void *)((const char *)a +
		    sec[i].off);
		y = *(char *const *)(const void *)((const char *)b +
		    sec[i].off);
		if ((x == NULL) == (y == NULL) && (x == NULL ||
		    strcmp(x, y) == 0))
			continue;
		json_object_set_new(before, sec[i].key,
		    json_string(x != NULL ? "(secret)" : "(none)"));
		json_object_set_new(after, sec[i].key,
		    json_string(y != NULL ? "(another secret)" : "(none)"));
	}
}

static int
conf_diff_dump(json_t *o, char **out)
{
	*out = json_object_size(o) > 0 ? json_dumps(o, CONF_DIFF_FLAGS) : NULL;
	return json_object_size(o) > 0 && *out == NULL ? BK_E_NOMEM : BK_OK;
}

/* Whether a masked string directive differs between a and b. */
static int
conf_masked_differ(const void *a, const void *b, const struct conf_keyword *kw)
{
	char	*x = *conf_kw_str((void *)(uintptr_t)a, kw);
	char	*y = *conf_kw_str((void *)(uintptr_t)b, kw);

	if (x == NULL || y == NULL)
		return x != y;
	return strcmp(x, y) != 0;
}

/* The directives of scope whose values differ, into bo and ao. */
static void
conf_diff_scope(enum conf_scope scope, const void *a, const void *b,
    json_t *bo, json_t *ao)
{
	const struct conf_keyword	*kw;
	json_t				*x, *y;
	char				 key[96];
	size_t				 i, n;

	kw = conf_keywords_table(&n);
	for (i = 0; i < n; i++) {
		if (kw[i].scope != scope ||
		    conf_diff_key(&kw[i], key, sizeof(key)) != BK_OK)
			continue;
		x = a != NULL ? conf_kw_json(a, &kw[i]) : NULL;
		y = b != NULL ? conf_kw_json(b, &kw[i]) : NULL;
		/* masked on both sides: "changed" is all the record says */
		if (x != NULL && y != NULL && (kw[i].flags & CONF_MASKED) &&
		    conf_masked_differ(a, b, &kw[i])) {
			json_decref(y);
			y = json_string("(masked, another value)");
		}
		/* An added or removed tenant: only the directives it sets. */
		if ((a != NULL && x == NULL) || (b != NULL && y == NULL) ||
		    (x != NULL && y != NULL && json_equal(x, y)) ||
		    (a == NULL && json_is_null(y)) ||
		    (b == NULL && json_is_null(x))) {
			json_decref(x);
			json_decref(y);
			continue;
		}
		if (x != NULL)
			json_object_set_new(bo, key, x);
		if (y != NULL)
			json_object_set_new(ao, key, y);
	}
}

static int
conf_diff_out(json_t *bo, json_t *ao, char **before, char **after)
{
	int	 rv;

	if ((rv = conf_diff_dump(bo, before)) == BK_OK &&
	    (rv = conf_diff_dump(ao, after)) != BK_OK) {
		free(*before);
		*before = NULL;
	}
	json_decref(bo);
	json_decref(ao);
	return rv;
}

int
conf_tenant_diff(const struct conf_tenant *a, const struct conf_tenant *b,
    char **before, char **after)
{
	json_t	*bo, *ao;

	*before = *after = NULL;
	if ((bo = json_object()) == NULL || (ao = json_object()) == NULL) {
		json_decref(bo);
		return BK_E_NOMEM;
	}
	conf_diff_scope(CONF_SCOPE_TENANT, a, b, bo, ao);
	if (a != NULL && b != NULL)
		conf_diff_secrets(a, b, bo, ao);
	return conf_diff_out(bo, ao, before, after);
}

int
conf_broker_diff(const struct conf *a, const struct conf *b, char **before,
    char **after)
{
	json_t	*bo, *ao;

	*before = *after = NULL;
	if ((bo = json_object()) == NULL || (ao = json_object()) == NULL) {
		json_decref(bo);
		return BK_E_NOMEM;
	}
	conf_diff_scope(CONF_SCOPE_BROKER, a, b, bo, ao);
	/* the admin token is kept as a digest: a rotation is said */
	if (strcmp(a->admin_token_digest, b->admin_token_digest) != 0) {
		json_object_set_new(bo, "[admin] token_file (contents)",
		    json_string("(secret)"));
		json_object_set_new(ao, "[admin] token_file (contents)",
		    json_string("(another secret)"));
	}
	return conf_diff_out(bo, ao, before, after);
}
