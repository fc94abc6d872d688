/*
 * sso-broker: ssoctl audit verify: the broker checks its chain (and its
 * head against the shared state and the Redis anchor), or ssoctl checks
 * files itself with no broker (--file, --key-file).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Trust: the answer and the files are untrusted; strings are sanitised by
 * ssoctl_out.c before display.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssoctl_int.h"
#include "ssoctl_out.h"

int
ssoctl_cmd_audit_verify(struct ssoctl *c)
{
	json_t		*j = NULL;
	json_int_t	 line;
	char		*reason = NULL;
	int		 rv, ok;

	if ((rv = ssoctl_json_call(c, "GET", "/api/v1/audit/verify", NULL, &j,
	    NULL)) != BK_OK)
		goto out;
	ok = json_is_true(json_object_get(j, "ok"));
	if (c->json)
		ssoctl_json_print(c, j);
	else if (ok)
		printf("audit chain OK: %" JSON_INTEGER_FORMAT " records in %"
		    JSON_INTEGER_FORMAT " chains\n",
		    json_integer_value(json_object_get(j, "records")),
		    json_integer_value(json_object_get(j, "chains")));
	if (ok)
		goto out;
	line = json_integer_value(json_object_get(j, "first_bad_line"));
	reason = ssoctl_jval(json_object_get(j, "reason"), "no reason given");
	if (!c->json)
		printf("audit chain BROKEN at line %" JSON_INTEGER_FORMAT
		    ": %s\n", line, reason != NULL ? reason : "?");
	rv = ssoctl_fail(c, BK_E_INVAL, "audit verify failed: first bad line "
	    "%" JSON_INTEGER_FORMAT ": %s", line, reason != NULL ? reason :
	    "?");
 out:
	free(reason);
	json_decref(j);
	return rv;
}
