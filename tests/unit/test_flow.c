/*
 * sso-broker: unit tests for the sign-in flow's pure parts: the
 * per-tenant decisions (broker/flow_policy.c) and the stored records'
 * strict parser and writer (broker/rec.c).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The gate for every combination of SSO switch, login mode, upstream and
 * SAML context; the consent policy for every setting; each record kind
 * written and read back; and each way a stored record can be wrong
 * (version, unknown or duplicate field, type, missing field, NUL, size)
 * refused whole, with the struct left zeroed.
 * Trust: none (test code).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bk.h"
#include "conf.h"
#include "flow.h"
#include "rec.h"

static int	 sp_dummy;

static void
t_gate(void **st)
{
	struct conf_tenant	 t;
	static const struct {
		int	sso, login, sp, upstream, gate, want;
	} rows[] = {
		{ 1, CONF_LOGIN_SAML, 1, CONF_LOGIN_SAML, FLOW_GATE_ALL, BK_OK },
		{ 0, CONF_LOGIN_SAML, 1, CONF_LOGIN_SAML, FLOW_GATE_ALL,
		    BK_E_TENANT_SSO_OFF },
		{ 0, CONF_LOGIN_OIDC, 0, CONF_LOGIN_SAML, FLOW_GATE_ALL,
		    BK_E_TENANT_SSO_OFF },
		{ 0, CONF_LOGIN_SAML, 1, CONF_LOGIN_SAML, FLOW_GATE_LOGIN,
		    BK_OK },
		{ 1, CONF_LOGIN_SAML, 0, CONF_LOGIN_SAML, FLOW_GATE_ALL,
		    BK_E_TENANT_LOGIN_MODE },
		{ 1, CONF_LOGIN_SAML, 0, CONF_LOGIN_SAML, FLOW_GATE_SSO,
		    BK_OK },
		{ 1, CONF_LOGIN_OIDC, 1, CONF_LOGIN_SAML, FLOW_GATE_ALL,
		    BK_E_TENANT_LOGIN_MODE },
		{ 1, CONF_LOGIN_SAML, 1, CONF_LOGIN_OIDC, FLOW_GATE_LOGIN,
		    BK_E_TENANT_LOGIN_MODE },
		{ 1, CONF_LOGIN_OIDC, 0, CONF_LOGIN_OIDC, FLOW_GATE_ALL,
		    BK_OK },
	};
	size_t	 i;

	(void)st;
	for (i = 0; i < BK_NELEM(rows); i++) {
		memset(&t, 0, sizeof(t));
		/* The value in force decides, never the file's (issue 10). */
		t.sso_enabled = !rows[i].sso;
		t.login = (enum conf_login)rows[i].login;
		t.saml_sp = rows[i].sp ? &sp_dummy : NULL;
		assert_int_equal(flow_policy_gate(&t, rows[i].sso,
		    (enum conf_login)rows[i].upstream,
		    (enum flow_gate)rows[i].gate), rows[i].want);
	}
}

static void
t_consent(void **st)
{
	struct conf_tenant	 t;

	(void)st;
	memset(&t, 0, sizeof(t));
	t.policy.consent = CONF_CONSENT_FIRST_USE;
	assert_int_equal(flow_policy_consent(&t, 0), 1);
	assert_int_equal(flow_policy_consent(&t, 1), 0);
	t.policy.consent = CONF_CONSENT_ALWAYS;
	assert_int_equal(flow_policy_consent(&t, 1), 1);
	t.policy.consent = CONF_CONSENT_NEVER;
	assert_int_equal(flow_policy_consent(&t, 0), 0);
}

static void
t_grant_roundtrip(void **st)
{
	struct rec_grant	 g, r;
	char			*w;
	char			 tenant[] = "acme", id[] = "u-1";
	char			 user[] = "Agent@Acme.example", key[] = "a";

	(void)st;
	memset(&g, 0, sizeof(g));
	g.tenant = tenant;
	g.internal_id = id;
	g.user = user;
	g.sfdc_key = key;
	g.sess_exp = 1764723456;
	g.idp_init = 1;
	memcpy(g.gen, "7", 2);
	assert_non_null(w = rec_write(REC_GRANT, &g));
	assert_int_equal(rec_read(REC_GRANT, w, strlen(w), &r, NULL), BK_OK);
	assert_string_equal(r.user, user);
	assert_null(r.extension);
	assert_int_equal(r.sess_exp, 1764723456);
	assert_int_equal(r.idp_init, 1);
	assert_string_equal(r.gen, "7");
	rec_cleanup(REC_GRANT, &r);
	free(w);
	/* A required field missing: nothing written. */
	g.user = NULL;
	assert_null(rec_write(REC_GRANT, &g));
}

/* The token record as store_lua_redeem writes it (cjson) reads back. */
static void
t_token_from_lua(void **st)
{
	static const char lua[] = "{\"v\":1,\"tenant\":\"acme\",\"client_id\":"
	    "\"panel\",\"internal_id\":\"u-1\",\"user\":\"a@b\",\"sfdc_key\":"
	    "\"a@b\",\"iat\":1764720000,\"exp\":1764723456,\"gen\":\"0\"}";
	struct rec_token	 t;

	(void)st;
	assert_int_equal(rec_read(REC_TOKEN, lua, strlen(lua), &t, NULL),
	    BK_OK);
	assert_string_equal(t.client_id, "panel");
	assert_null(t.extension);
	assert_int_equal(t.exp - t.iat, 3456);
	rec_cleanup(REC_TOKEN, &t);
}

static void
t_refused_whole(void **st)
{
	static const char *bad[] = {
		"{\"v\":2,\"tok\":\"a\",\"internal_id\":\"u\",\"user\":\"x\"}",
		"{\"tok\":\"a\",\"internal_id\":\"u\",\"user\":\"x\"}",
		"{\"v\":1,\"tok\":\"a\",\"internal_id\":\"u\",\"user\":\"x\","
		    "\"extra\":1}",
		"{\"v\":1,\"tok\":\"a\",\"tok\":\"b\",\"internal_id\":\"u\","
		    "\"user\":\"x\"}",
		"{\"v\":1,\"tok\":1,\"internal_id\":\"u\",\"user\":\"x\"}",
		"{\"v\":1,\"tok\":\"a\",\"internal_id\":\"u\"}",
		"{\"v\":1,\"tok\":\"a\\u0000\",\"internal_id\":\"u\","
		    "\"user\":\"x\"}",
		"{\"v\":1,\"tok\":null,\"internal_id\":\"u\",\"user\":\"x\"}",
		"[\"v\",1]",
		"{\"v\":1,\"tok\":\"a\",\"internal_id\":\"u\",\"user\":\"x\"",
		"",
	};
	struct rec_tomb	 t;
	struct rec_tomb	 zero;
	const char	*why;
	size_t		 i;

	(void)st;
	memset(&zero, 0, sizeof(zero));
	for (i = 0; i < BK_NELEM(bad); i++) {
		why = NULL;
		assert_int_equal(rec_read(REC_TOMB, bad[i], strlen(bad[i]), &t,
		    &why), BK_E_STORE_RECORD);
		assert_non_null(why);
		assert_memory_equal(&t, &zero, sizeof(t));
	}
}

static void
t_limits(void **st)
{
	struct rec_session	 s;
	char			*big, *rec;
	size_t			 n = REC_STR_MAX + 1;

	(void)st;
	assert_non_null(big = malloc(n + 1));
	memset(big, 'a', n);
	big[n] = '\0';
	assert_non_null(rec = malloc(n + 200));
	snprintf(rec, n + 200, "{\"v\":1,\"internal_id\":\"%s\",\"user\":\"u\","
	    "\"sfdc_key\":\"u\",\"exp\":1,\"gen\":\"0\"}", big);
	assert_int_equal(rec_read(REC_SESSION, rec, strlen(rec), &s, NULL),
	    BK_E_STORE_RECORD);
	snprintf(rec, n + 200, "{\"v\":1,\"internal_id\":\"i\",\"user\":\"u\","
	    "\"sfdc_key\":\"u\",\"exp\":1,\"gen\":\"12345678901234567890."
	    "1234567890123456789012\"}");
	assert_int_equal(rec_read(REC_SESSION, rec, strlen(rec), &s, NULL),
	    BK_E_STORE_RECORD);
	free(big);
	free(rec);
	assert_int_equal(rec_gen_ok("0", 1), 1);
	assert_int_equal(rec_gen_ok("-1", 2), 0);
	assert_int_equal(rec_gen_ok("", 0), 0);
	/* user.tenant, once the tenant's SSO was switched off */
	assert_int_equal(rec_gen_ok("3.2", 3), 1);
	assert_int_equal(rec_gen_ok("3.", 2), 0);
	assert_int_equal(rec_gen_ok(".2", 2), 0);
	assert_int_equal(rec_gen_ok("1.2.3", 5), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_gate),
		cmocka_unit_test(t_consent),
		cmocka_unit_test(t_grant_roundtrip),
		cmocka_unit_test(t_token_from_lua),
		cmocka_unit_test(t_refused_whole),
		cmocka_unit_test(t_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
