/*
 * sso-broker: admin credentials: names, roles and the stored record
 * (admin_cred.h).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The record is a small JSON object, built here and parsed back here
 * with every field checked again, because Redis is outside the trust
 * boundary: a record that was not built by admin_cred_build() (an
 * unknown key, a wrong type, a bad name or tenant) does not authorise
 * anything.
 * Trust: records from Redis; names and tenant IDs from admin requests.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin_cred.h"
#include "bk.h"

static const char *const admin_role_names[] = {
	[ADMIN_ROLE_AUDITOR] = "auditor",
	[ADMIN_ROLE_ADMIN] = "admin",
	[ADMIN_ROLE_OPERATOR] = "operator",
};

const char *
admin_role_name(enum admin_role r)
{
	if (r < ADMIN_ROLE_AUDITOR || r > ADMIN_ROLE_OPERATOR)
		return "?";
	return admin_role_names[r];
}

int
admin_role_parse(const char *s, enum admin_role *r)
{
	int	 i;

	for (i = ADMIN_ROLE_AUDITOR; s != NULL && i <= ADMIN_ROLE_OPERATOR;
	    i++)
		if (strcmp(s, admin_role_names[i]) == 0) {
			*r = (enum admin_role)i;
			return BK_OK;
		}
	return BK_E_ADMIN_CRED_ROLE;
}

int
admin_name_check(const char *s)
{
	size_t	 i;

	for (i = 0; s != NULL && s[i] != '\0'; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9') || (i > 0 && strchr("._-", s[i]) != NULL))
			continue;
		return BK_E_ADMIN_CRED_NAME;
	}
	return i == 0 || i > ADMIN_NAME_MAX ? BK_E_ADMIN_CRED_NAME : BK_OK;
}

/* The same rule as conf.c's v_tenant_id(): IDs go into keys and URLs. */
int
admin_tenant_id_check(const char *s)
{
	size_t	 i;

	for (i = 0; s != NULL && s[i] != '\0'; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9') || (i > 0 && s[i] == '-'))
			continue;
		return BK_E_ADMIN_CRED_TENANT;
	}
	return i == 0 || i > 63 ? BK_E_ADMIN_CRED_TENANT : BK_OK;
}

void
admin_cred_cleanup(struct admin_cred *c)
{
	if (c == NULL)
		return;
	while (c->n_tenants > 0)
		free(c->tenants[--c->n_tenants]);
	free(c->tenants);
	memset(c, 0, sizeof(*c));
}

int
admin_cred_has_tenant(const struct admin_cred *c, const char *id)
{
	size_t	 i;

	for (i = 0; id != NULL && i < c->n_tenants; i++)
		if (strcmp(c->tenants[i], id) == 0)
			return 1;
	return 0;
}

int
admin_cred_tenant_add(struct admin_cred *c, const char *id)
{
	char	**v, *d;

	if (admin_tenant_id_check(id) != BK_OK ||
	    admin_cred_has_tenant(c, id) || c->n_tenants >= ADMIN_TENANTS_MAX)
		return BK_E_ADMIN_CRED_TENANT;
	if ((v = realloc(c->tenants, (c->n_tenants + 1) * sizeof(*v))) ==
	    NULL)
		return BK_E_NOMEM;
	c->tenants = v;
	if ((d = bk_strdup(id)) == NULL)
		return BK_E_NOMEM;
	c->tenants[c->n_tenants++] = d;
	return BK_OK;
}

int
admin_cred_build(const struct admin_cred *c, char **out)
{
	json_t	*o, *arr;
	size_t	 i;

	*out = NULL;
	if ((arr = json_array()) == NULL)
		return BK_E_NOMEM;
	for (i = 0; i < c->n_tenants; i++)
		json_array_append_new(arr, json_string(c->tenants[i]));
	o = json_pack("{s:i, s:s, s:s, s:o, s:I, s:s}", "v", 1, "name",
	    c->name, "role", admin_role_name(c->role), "tenants", arr,
	    "created", (json_int_t)c->created, "created_by", c->created_by);
	if (o == NULL)
		return BK_E_NOMEM;
	*out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return *out != NULL ? BK_OK : BK_E_NOMEM;
}

/* A name field of the record into dst (ADMIN_NAME_MAX + 1). */
static int
admin_cred_name_get(json_t *o, const char *key, char *dst)
{
	const char	*s = json_string_value(json_object_get(o, key));

	if (s == NULL || admin_name_check(s) != BK_OK)
		return BK_E_STORE_RECORD;
	memcpy(dst, s, strlen(s) + 1);
	return BK_OK;
}

static int
admin_cred_from_json(json_t *o, struct admin_cred *c)
{
	json_t		*arr = json_object_get(o, "tenants"), *e, *v;
	size_t		 i;
	int		 rv;

	if (json_object_size(o) != 6 || (v = json_object_get(o, "v")) ==
	    NULL || !json_is_integer(v) || json_integer_value(v) != 1 ||
	    !json_is_array(arr) || !json_is_integer(json_object_get(o,
	    "created")))
		return BK_E_STORE_RECORD;
	if (admin_cred_name_get(o, "name", c->name) != BK_OK ||
	    admin_cred_name_get(o, "created_by", c->created_by) != BK_OK ||
	    admin_role_parse(json_string_value(json_object_get(o, "role")),
	    &c->role) != BK_OK)
		return BK_E_STORE_RECORD;
	c->created = (time_t)json_integer_value(json_object_get(o,
	    "created"));
	/* an operator's list is empty; the others name at least one */
	if ((c->role == ADMIN_ROLE_OPERATOR) != (json_array_size(arr) == 0))
		return BK_E_STORE_RECORD;
	json_array_foreach(arr, i, e) {
		rv = admin_cred_tenant_add(c, json_string_value(e));
		if (rv != BK_OK)
			return rv == BK_E_NOMEM ? rv : BK_E_STORE_RECORD;
	}
	return BK_OK;
}

int
admin_cred_parse(const char *rec, size_t len, struct admin_cred *c)
{
	struct admin_cred	 tmp;
	json_error_t		 err;
	json_t			*o;
	int			 rv;

	memset(c, 0, sizeof(*c));
	memset(&tmp, 0, sizeof(tmp));
	if (len > ADMIN_RECORD_MAX || (o = json_loadb(rec, len,
	    JSON_REJECT_DUPLICATES, &err)) == NULL)
		return BK_E_STORE_RECORD;
	rv = json_is_object(o) ? admin_cred_from_json(o, &tmp) :
	    BK_E_STORE_RECORD;
	json_decref(o);
	if (rv != BK_OK) {
		admin_cred_cleanup(&tmp);
		return rv;
	}
	*c = tmp;
	return BK_OK;
}
