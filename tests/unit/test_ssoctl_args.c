/*
 * sso-broker: unit test of ssoctl_args_parse(), the ssoctl command line.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Table-driven: each case is a command line, the expected result code, and
 * for a success the verb, the positional argument and a few options; for a
 * failure a fragment of the message.
 * Trust: none (test code).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bk.h"
#include "ssoctl.h"

#define MAXARGS 16

struct args_case {
	const char		*argv[MAXARGS];	/* NULL-ended, no argv[0] */
	int			 rv;
	enum ssoctl_verb	 verb;
	const char		*arg;
	enum ssoctl_opt_id	 opt;		/* checked when val != NULL */
	const char		*val;
	const char		*errpart;	/* for failures */
};

static const struct args_case cases[] = {
	/* the acceptance call: option after the verb and its file */
	{ { "--url", "http://127.0.0.1:1", "users", "import", "u.csv",
	    "--allow-new" }, BK_OK, SSOCTL_V_USERS_IMPORT, "u.csv",
	    SSOCTL_O_ALLOW_NEW, "1", NULL },
	{ { "users", "import", "--dry-run", "u.csv" }, BK_OK,
	    SSOCTL_V_USERS_IMPORT, "u.csv", SSOCTL_O_DRY_RUN, "1", NULL },
	{ { "tenants" }, BK_OK, SSOCTL_V_TENANTS_LIST, NULL, SSOCTL_O_URL,
	    NULL, NULL },
	{ { "tenants", "list", "--json" }, BK_OK, SSOCTL_V_TENANTS_LIST, NULL,
	    SSOCTL_O_JSON, "1", NULL },
	{ { "tenants", "show", "acme" }, BK_OK, SSOCTL_V_TENANTS_SHOW, "acme",
	    SSOCTL_O_URL, NULL, NULL },
	{ { "tenants", "show" }, BK_OK, SSOCTL_V_TENANTS_SHOW, NULL,
	    SSOCTL_O_URL, NULL, NULL },
	{ { "--tenant=acme", "users", "get", "1001" }, BK_OK,
	    SSOCTL_V_USERS_GET, "1001", SSOCTL_O_TENANT, "acme", NULL },
	{ { "users", "set", "1001", "--extension", "0101" }, BK_OK,
	    SSOCTL_V_USERS_SET, "1001", SSOCTL_O_EXTENSION, "0101", NULL },
	/* an empty value clears a field: it must stay "", not NULL */
	{ { "users", "set", "1001", "--email=" }, BK_OK, SSOCTL_V_USERS_SET,
	    "1001", SSOCTL_O_EMAIL, "", NULL },
	{ { "users", "set", "1001", "--salesforce-id", "-odd" }, BK_OK,
	    SSOCTL_V_USERS_SET, "1001", SSOCTL_O_SALESFORCE_ID, "-odd", NULL },
	{ { "users", "export", "-o", "x.csv" }, BK_OK, SSOCTL_V_USERS_EXPORT,
	    NULL, SSOCTL_O_OUTPUT, "x.csv", NULL },
	{ { "users", "export", "-ox.csv" }, BK_OK, SSOCTL_V_USERS_EXPORT,
	    NULL, SSOCTL_O_OUTPUT, "x.csv", NULL },
	{ { "users", "export", "--output=x.csv" }, BK_OK,
	    SSOCTL_V_USERS_EXPORT, NULL, SSOCTL_O_OUTPUT, "x.csv", NULL },
	{ { "users", "delete", "--", "-5" }, BK_OK, SSOCTL_V_USERS_DELETE,
	    "-5", SSOCTL_O_URL, NULL, NULL },
	{ { "users", "import", "-" }, BK_OK, SSOCTL_V_USERS_IMPORT, "-",
	    SSOCTL_O_URL, NULL, NULL },
	{ { "sessions", "revoke", "1001" }, BK_OK, SSOCTL_V_SESSIONS_REVOKE,
	    "1001", SSOCTL_O_URL, NULL, NULL },
	{ { "audit", "query", "--outcome", "rejected", "--limit=5" }, BK_OK,
	    SSOCTL_V_AUDIT_QUERY, NULL, SSOCTL_O_LIMIT, "5", NULL },
	{ { "audit", "export", "--since", "0", "-o", "a.jsonl" }, BK_OK,
	    SSOCTL_V_AUDIT_EXPORT, NULL, SSOCTL_O_SINCE, "0", NULL },
	{ { "audit", "verify", "--timeout", "5" }, BK_OK,
	    SSOCTL_V_AUDIT_VERIFY, NULL, SSOCTL_O_TIMEOUT, "5", NULL },
	{ { "help" }, BK_OK, SSOCTL_V_HELP, NULL, SSOCTL_O_URL, NULL, NULL },
	{ { "users", "import", "--help" }, BK_OK, SSOCTL_V_HELP, NULL,
	    SSOCTL_O_URL, NULL, NULL },
	{ { "-h" }, BK_OK, SSOCTL_V_HELP, NULL, SSOCTL_O_URL, NULL, NULL },
	{ { "--version" }, BK_OK, SSOCTL_V_VERSION, NULL, SSOCTL_O_URL, NULL,
	    NULL },
	/* failures */
	{ { NULL }, BK_E_INVAL, 0, NULL, 0, NULL, "missing command" },
	{ { "frob" }, BK_E_INVAL, 0, NULL, 0, NULL, "unknown command 'frob'" },
	{ { "users" }, BK_E_INVAL, 0, NULL, 0, NULL, "unknown command" },
	{ { "tenants", "acme" }, BK_E_INVAL, 0, NULL, 0, NULL,
	    "unknown command 'tenants acme'" },
	{ { "users", "import" }, BK_E_INVAL, 0, NULL, 0, NULL, "missing FILE" },
	{ { "users", "get", "a", "b" }, BK_E_INVAL, 0, NULL, 0, NULL,
	    "unexpected argument 'b'" },
	{ { "users", "get", "" }, BK_E_INVAL, 0, NULL, 0, NULL, "empty ID" },
	{ { "audit", "verify", "x" }, BK_E_INVAL, 0, NULL, 0, NULL,
	    "unexpected argument 'x'" },
	{ { "tenants", "--dry-run" }, BK_E_INVAL, 0, NULL, 0, NULL,
	    "--dry-run does not apply" },
	/* issue 10 item 5: the confirmations belong to users import only */
	{ { "users", "import", "f", "--delete-missing", "--confirm-delete",
	    "12" }, BK_OK, SSOCTL_V_USERS_IMPORT, "f", SSOCTL_O_CONFIRM_DELETE,
	    "12", NULL },
	{ { "users", "import", "f", "--confirm-dropped-zero=1001,1003" },
	    BK_OK, SSOCTL_V_USERS_IMPORT, "f", SSOCTL_O_CONFIRM_ZERO,
	    "1001,1003", NULL },
	{ { "users", "export", "--excel" }, BK_OK, SSOCTL_V_USERS_EXPORT, NULL,
	    SSOCTL_O_EXCEL, "1", NULL },
	{ { "users", "import", "f", "--excel" }, BK_E_INVAL, 0, NULL, 0, NULL,
	    "--excel does not apply" },
	{ { "users", "set", "1", "--confirm-delete", "1" }, BK_E_INVAL, 0,
	    NULL, 0, NULL, "--confirm-delete does not apply" },
	{ { "users", "import", "f", "--confirm-delete" }, BK_E_INVAL, 0, NULL,
	    0, NULL, "--confirm-delete" },
	{ { "users", "get", "1", "--extension", "5" }, BK_E_INVAL, 0, NULL, 0,
	    NULL, "--extension does not apply" },
	{ { "--bogus", "tenants" }, BK_E_INVAL, 0, NULL, 0, NULL,
	    "unknown option --bogus" },
	{ { "--dry", "users", "import", "f" }, BK_E_INVAL, 0, NULL, 0, NULL,
	    "unknown option --dry" },
	{ { "-x", "tenants" }, BK_E_INVAL, 0, NULL, 0, NULL,
	    "unknown option -x" },
	{ { "--json=yes", "tenants" }, BK_E_INVAL, 0, NULL, 0, NULL,
	    "takes no value" },
	{ { "tenants", "--url" }, BK_E_INVAL, 0, NULL, 0, NULL,
	    "--url needs a value" },
	{ { "--tenant", "a", "--tenant", "b", "tenants" }, BK_E_INVAL, 0, NULL,
	    0, NULL, "given twice" },
	/* admins add: --tenant repeatable there alone */
	{ { "admins", "add", "jane", "--role", "admin", "--tenant", "a",
	    "--tenant", "b" }, BK_OK, SSOCTL_V_ADMINS_ADD, "jane",
	    SSOCTL_O_ROLE, "admin", NULL },
	{ { "admins" }, BK_OK, SSOCTL_V_ADMINS_LIST, NULL, SSOCTL_O_URL, NULL,
	    NULL },
	{ { "admins", "revoke", "jane" }, BK_OK, SSOCTL_V_ADMINS_REVOKE,
	    "jane", SSOCTL_O_URL, NULL, NULL },
	{ { "admins", "revoke" }, BK_E_INVAL, 0, NULL, 0, NULL,
	    "missing NAME" },
	{ { "admins", "revoke", "x", "--role", "admin" }, BK_E_INVAL, 0, NULL,
	    0, NULL, "does not apply" },
	{ { "users", "get", "1", "--tenant", "a", "--tenant", "b" },
	    BK_E_INVAL, 0, NULL, 0, NULL, "given twice" },
};

static void
test_args_table(void **state)
{
	struct ssoctl_args	 a;
	char			*argv[MAXARGS + 1];
	char			 err[256];
	size_t			 k;
	int			 argc, rv;

	(void)state;
	for (k = 0; k < BK_NELEM(cases); k++) {
		const struct args_case *tc = &cases[k];

		argv[0] = (char *)(uintptr_t)"ssoctl";
		for (argc = 1; argc <= MAXARGS && tc->argv[argc - 1] != NULL;
		    argc++)
			argv[argc] = (char *)(uintptr_t)tc->argv[argc - 1];
		argv[argc] = NULL;
		rv = ssoctl_args_parse(argc, argv, &a, err, sizeof(err));
		if (rv != tc->rv)
			print_message("case %zu: rv %d err '%s'\n", k, rv,
			    err);
		assert_int_equal(rv, tc->rv);
		if (rv != BK_OK) {
			assert_non_null(strstr(err, tc->errpart));
			continue;
		}
		assert_int_equal(a.verb, tc->verb);
		if (tc->arg == NULL)
			assert_null(a.arg);
		else
			assert_string_equal(a.arg, tc->arg);
		if (tc->val != NULL) {
			assert_non_null(a.opt[tc->opt]);
			assert_string_equal(a.opt[tc->opt], tc->val);
		}
	}
}

static void
test_opt_names(void **state)
{
	(void)state;
	assert_string_equal(ssoctl_opt_name(SSOCTL_O_DRY_RUN), "dry-run");
	assert_string_equal(ssoctl_opt_name(SSOCTL_O_CUSTOM_3),
	    "custom-field-3");
	assert_string_equal(ssoctl_opt_name(SSOCTL_O_COUNT), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_table),
		cmocka_unit_test(test_opt_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
