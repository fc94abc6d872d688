/*
 * sso-broker: unit tests for admin credentials (broker/admin_cred.c,
 * issue 10 item 1): names, roles, tenant IDs and the stored record.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Table-driven: every record of tests/corpus/admin_cred, written out
 * here with the code it must give, so a record that is not exactly one
 * admin_cred_build() writes never authorises anything; a built record
 * parses back to the same credential.
 * Trust: none (test code).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin_cred.h"
#include "bk.h"

#define REC(name, role, ten, extra) \
	"{\"created\":1764720000,\"created_by\":\"operator\",\"name\":" \
	name ",\"role\":" role ",\"tenants\":" ten ",\"v\":1" extra "}"

static const struct {
	const char	*rec;
	int		 rv;
} rec_cases[] = {
	{ REC("\"jane\"", "\"admin\"", "[\"acme\"]", ""), BK_OK },
	{ REC("\"a.b_c-9\"", "\"auditor\"", "[\"acme\",\"beta\"]", ""),
	    BK_OK },
	{ REC("\"ops\"", "\"operator\"", "[]", ""), BK_OK },
	{ REC("\"jane\"", "\"admin\"", "[]", ""), BK_E_STORE_RECORD },
	{ REC("\"ops\"", "\"operator\"", "[\"acme\"]", ""), BK_E_STORE_RECORD },
	{ REC("\"jane\"", "\"root\"", "[\"acme\"]", ""), BK_E_STORE_RECORD },
	{ REC("\"jane\"", "\"Admin\"", "[\"acme\"]", ""), BK_E_STORE_RECORD },
	{ REC("\"Jane\"", "\"admin\"", "[\"acme\"]", ""), BK_E_STORE_RECORD },
	{ REC("\"ja ne\"", "\"admin\"", "[\"acme\"]", ""), BK_E_STORE_RECORD },
	{ REC("\"-jane\"", "\"admin\"", "[\"acme\"]", ""), BK_E_STORE_RECORD },
	{ REC("\"\"", "\"admin\"", "[\"acme\"]", ""), BK_E_STORE_RECORD },
	{ REC("\"jane\"", "\"admin\"", "[\"acme\",\"acme\"]", ""),
	    BK_E_STORE_RECORD },
	{ REC("\"jane\"", "\"admin\"", "[\"_broker\"]", ""),
	    BK_E_STORE_RECORD },
	{ REC("\"jane\"", "\"admin\"", "[\"ACME\"]", ""), BK_E_STORE_RECORD },
	{ REC("\"jane\"", "\"admin\"", "[1]", ""), BK_E_STORE_RECORD },
	{ REC("\"jane\"", "\"admin\"", "\"acme\"", ""), BK_E_STORE_RECORD },
	{ REC("\"jane\"", "\"admin\"", "[\"acme\"]", ",\"x\":1"),
	    BK_E_STORE_RECORD },
	{ REC("\"jane\"", "\"admin\"", "[\"acme\"]", ",\"name\":\"joe\""),
	    BK_E_STORE_RECORD },
	{ "{\"created\":1,\"created_by\":\"operator\",\"name\":\"jane\","
	    "\"role\":\"admin\",\"tenants\":[\"acme\"],\"v\":2}",
	    BK_E_STORE_RECORD },
	{ "{\"created\":\"1\",\"created_by\":\"operator\",\"name\":\"jane\","
	    "\"role\":\"admin\",\"tenants\":[\"acme\"],\"v\":1}",
	    BK_E_STORE_RECORD },
	{ "[]", BK_E_STORE_RECORD },
	{ "", BK_E_STORE_RECORD },
	{ "{", BK_E_STORE_RECORD },
};

static void
test_records(void **state)
{
	struct admin_cred	 c, d;
	char			*rec;
	size_t			 i;

	(void)state;
	for (i = 0; i < BK_NELEM(rec_cases); i++) {
		assert_int_equal(admin_cred_parse(rec_cases[i].rec,
		    strlen(rec_cases[i].rec), &c), rec_cases[i].rv);
		if (rec_cases[i].rv != BK_OK) {
			assert_int_equal(c.n_tenants, 0);
			continue;
		}
		assert_int_equal(admin_cred_build(&c, &rec), BK_OK);
		assert_int_equal(admin_cred_parse(rec, strlen(rec), &d), BK_OK);
		assert_string_equal(c.name, d.name);
		assert_int_equal(c.role, d.role);
		assert_int_equal(c.n_tenants, d.n_tenants);
		free(rec);
		admin_cred_cleanup(&c);
		admin_cred_cleanup(&d);
	}
}

static void
test_names_roles(void **state)
{
	enum admin_role	 r;
	char		 long_name[ADMIN_NAME_MAX + 2];

	(void)state;
	assert_int_equal(admin_name_check("jane"), BK_OK);
	assert_int_equal(admin_name_check("0ps.team_1-x"), BK_OK);
	assert_int_equal(admin_name_check(NULL), BK_E_ADMIN_CRED_NAME);
	assert_int_equal(admin_name_check("."), BK_E_ADMIN_CRED_NAME);
	assert_int_equal(admin_name_check("a/b"), BK_E_ADMIN_CRED_NAME);
	assert_int_equal(admin_name_check("a\tb"), BK_E_ADMIN_CRED_NAME);
	assert_int_equal(admin_name_check("caf\xc3\xa9"), BK_E_ADMIN_CRED_NAME);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(admin_name_check(long_name), BK_E_ADMIN_CRED_NAME);
	long_name[ADMIN_NAME_MAX] = '\0';
	assert_int_equal(admin_name_check(long_name), BK_OK);
	assert_int_equal(admin_role_parse("auditor", &r), BK_OK);
	assert_int_equal(r, ADMIN_ROLE_AUDITOR);
	assert_int_equal(admin_role_parse("operator ", &r),
	    BK_E_ADMIN_CRED_ROLE);
	assert_int_equal(admin_role_parse(NULL, &r), BK_E_ADMIN_CRED_ROLE);
	assert_string_equal(admin_role_name(ADMIN_ROLE_ADMIN), "admin");
	assert_string_equal(admin_role_name((enum admin_role)0), "?");
	assert_int_equal(admin_tenant_id_check("acme-2"), BK_OK);
	assert_int_equal(admin_tenant_id_check("-acme"),
	    BK_E_ADMIN_CRED_TENANT);
	assert_int_equal(admin_tenant_id_check("_broker"),
	    BK_E_ADMIN_CRED_TENANT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_names_roles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
