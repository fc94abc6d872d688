/*
 * sso-broker: ssoctl admins add|list|revoke: named, scoped admin
 * credentials (issue 10 item 1), an operator's verbs.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * "admins add" prints the new token once, on standard output, and
 * nothing else there (a script can capture it); the broker keeps only
 * its digest, so a lost token is revoked and added again.
 * Trust: the answers are untrusted (sanitised before printing).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ssoctl_int.h"
#include "ssoctl_out.h"

/* "a,b" of a JSON list of strings (returned-owned, sanitised). */
static char *
ssoctl_admins_tenants(const json_t *arr, const char *none)
{
	struct bk_buf	 b;
	const json_t	*e;
	const char	*s;
	char		*out;
	size_t		 i;

	if (json_array_size(arr) == 0)
		return bk_strdup(none);
	bk_buf_init(&b, 64 * 1024);
	json_array_foreach(arr, i, e)
		if ((s = json_string_value(e)) != NULL &&
		    bk_buf_addf(&b, "%s%s", i > 0 ? "," : "", s) != BK_OK)
			break;
	if ((out = bk_buf_take(&b)) != NULL)
		ssoctl_sanitize(out, out, strlen(out) + 1);
	bk_buf_free(&b);
	return out;
}

int
ssoctl_cmd_admins_list(struct ssoctl *c)
{
	static const char *const head[] = { "NAME", "ROLE", "TENANTS",
	    "CREATED", "CREATED BY" };
	struct ssoctl_table	 t;
	json_t			*j = NULL, *arr, *e;
	size_t			 i;
	int			 rv;

	memset(&t, 0, sizeof(t));
	if ((rv = ssoctl_get_list(c, "/api/v1/admins", "admins", &j,
	    &arr)) != BK_OK || arr == NULL)
		goto out;
	rv = ssoctl_table_init(&t, head, BK_NELEM(head), json_array_size(arr));
	json_array_foreach(arr, i, e) {
		if (rv != BK_OK)
			break;
		if (ssoctl_table_setj(&t, 0, json_object_get(e, "name")) ||
		    ssoctl_table_setj(&t, 1, json_object_get(e, "role")) ||
		    ssoctl_table_set(&t, 2, ssoctl_admins_tenants(
		    json_object_get(e, "tenants"), "*")) ||
		    ssoctl_table_setj(&t, 3, json_object_get(e, "created")) ||
		    ssoctl_table_setj(&t, 4, json_object_get(e, "created_by")))
			rv = BK_E_NOMEM;
		ssoctl_table_next(&t);
	}
	if (rv != BK_OK) {
		rv = ssoctl_fail(c, BK_E_NOMEM, "out of memory");
		goto out;
	}
	ssoctl_table_print(&t, stdout);
 out:
	ssoctl_table_cleanup(&t);
	json_decref(j);
	return rv;
}

int
ssoctl_cmd_admins_add(struct ssoctl *c)
{
	const struct ssoctl_args	*a = c->args;
	json_t				*req, *arr, *j = NULL;
	char				*body, *ten;
	char				 tok[256];
	size_t				 i;
	int				 rv;

	if (a->opt[SSOCTL_O_ROLE] == NULL) {
		c->exit_code = SSOCTL_EXIT_USAGE;
		return ssoctl_fail(c, BK_E_INVAL, "admins add: missing --role "
		    "(admin, auditor or operator)");
	}
	arr = json_array();
	for (i = 0; arr != NULL && i < a->ntenants; i++)
		json_array_append_new(arr, json_string(a->tenants[i]));
	req = json_pack("{s:s, s:s, s:o}", "name", a->arg, "role",
	    a->opt[SSOCTL_O_ROLE], "tenants", arr);
	body = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (body == NULL)
		return ssoctl_fail(c, BK_E_NOMEM, "out of memory (or a name "
		    "or tenant that is not UTF-8)");
	rv = ssoctl_json_call(c, "POST", "/api/v1/admins", body, &j, NULL);
	free(body);
	if (rv != BK_OK)
		goto out;
	if (c->json) {
		rv = ssoctl_json_print(c, j);
		goto out;
	}
	if (json_string_value(json_object_get(j, "token")) == NULL) {
		rv = ssoctl_fail(c, BK_E_INVAL, "unexpected answer: no token");
		goto out;
	}
	ssoctl_sanitize(json_string_value(json_object_get(j, "token")), tok,
	    sizeof(tok));
	ten = ssoctl_admins_tenants(json_object_get(j, "tenants"),
	    "every tenant");
	printf("%s\n", tok);
	fprintf(stderr, "ssoctl: credential %s (%s of %s) added; its token "
	    "is shown this once\n", a->arg, a->opt[SSOCTL_O_ROLE],
	    ten != NULL ? ten : "?");
	free(ten);
	OPENSSL_cleanse(tok, sizeof(tok));
 out:
	json_decref(j);
	return rv;
}

int
ssoctl_cmd_admins_revoke(struct ssoctl *c)
{
	struct bk_buf	 path;
	json_t		*j = NULL;
	char		 name[256];
	int		 rv;

	bk_buf_init(&path, 4096);
	if (bk_buf_adds(&path, "/api/v1/admins/") != BK_OK ||
	    ssoctl_buf_escape(c, &path, c->args->arg) != BK_OK) {
		bk_buf_free(&path);
		return ssoctl_fail(c, BK_E_TOOBIG, "request URL too long");
	}
	if ((rv = ssoctl_json_call(c, "DELETE", path.data, NULL, &j, NULL)) ==
	    BK_OK) {
		if (c->json)
			rv = ssoctl_json_print(c, j);
		else {
			ssoctl_sanitize(c->args->arg, name, sizeof(name));
			printf("revoked admin credential %s\n", name);
		}
	}
	json_decref(j);
	bk_buf_free(&path);
	return rv;
}
