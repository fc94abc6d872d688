/*
 * sso-broker: unit tests for broker/conf_diff.c: what a reload changed in
 * a tenant and in broker.conf, as the audit records show it.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Two tenants built by hand: an unchanged pair gives nothing, a changed
 * directive gives its "[section] key" before and after, a rotated secret
 * is said and never shown, an added or removed tenant lists only what it
 * sets; broker.conf's trusted_proxies, and a Redis password never shown.
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

static void
tenant_init(struct conf_tenant *t, const char *secret)
{
	memset(t, 0, sizeof(*t));
	t->id = (char *)(uintptr_t)"acme";
	t->login = CONF_LOGIN_SAML;
	t->sso_enabled = 1;
	t->saml.clock_skew = 60;
	t->policy.consent = CONF_CONSENT_FIRST_USE;
	t->policy.code_ttl = 60;
	t->panel.client_id = (char *)(uintptr_t)"panel-acme";
	t->panel.client_secret = (char *)(uintptr_t)secret;
}

static void
test_conf_diff(void **state)
{
	struct conf_tenant	 a, b;
	char			*before, *after;

	(void)state;
	tenant_init(&a, "s3cret-one-0123456789");
	tenant_init(&b, "s3cret-one-0123456789");
	assert_int_equal(conf_tenant_diff(&a, &b, &before, &after), BK_OK);
	assert_null(before);
	assert_null(after);

	b.saml.clock_skew = 30;
	b.policy.consent = CONF_CONSENT_NEVER;
	assert_int_equal(conf_tenant_diff(&a, &b, &before, &after), BK_OK);
	assert_string_equal(before,
	    "{\"[policy] consent\":\"first_use\",\"[saml] clock_skew\":60}");
	assert_string_equal(after,
	    "{\"[policy] consent\":\"never\",\"[saml] clock_skew\":30}");
	free(before);
	free(after);

	tenant_init(&b, "s3cret-two-0123456789");
	assert_int_equal(conf_tenant_diff(&a, &b, &before, &after), BK_OK);
	assert_non_null(before);
	assert_non_null(after);
	assert_null(strstr(before, "s3cret"));
	assert_null(strstr(after, "s3cret"));
	assert_non_null(strstr(after, "[panel] client_secret_file (contents)"));
	free(before);
	free(after);

	/* added: only what it sets, no secret */
	assert_int_equal(conf_tenant_diff(NULL, &a, &before, &after), BK_OK);
	assert_null(before);
	assert_non_null(after);
	assert_non_null(strstr(after, "\"[panel] client_id\":\"panel-acme\""));
	assert_null(strstr(after, "null"));
	assert_null(strstr(after, "s3cret"));
	free(after);
	assert_int_equal(conf_tenant_diff(&a, NULL, &before, &after), BK_OK);
	assert_non_null(before);
	assert_null(after);
	free(before);
}

static struct conf *
broker_conf(const char *extra)
{
	char		 buf[1024];
	struct conf	*c = NULL;
	char		*errors = NULL;

	snprintf(buf, sizeof(buf), "[server]\n"
	    "public_url = http://127.0.0.1:8080\ninstance = b1\n%s"
	    "[audit]\npath = /tmp/audit.jsonl\n"
	    "[admin]\ntoken_file = /tmp/admin.token\n"
	    "[tenants]\ndir = /tmp/tenants.d\n", extra);
	assert_int_equal(conf_parse_string(buf, strlen(buf), "b.conf", &c,
	    &errors), BK_OK);
	free(errors);
	return c;
}

static void
test_conf_broker_diff(void **state)
{
	struct conf	*a, *b;
	char		*before, *after;

	(void)state;
	a = broker_conf("[redis]\nurl = redis://:pw-one@127.0.0.1:6379/0\n");
	b = broker_conf("trusted_proxies = 10.0.0.0/8\n"
	    "[redis]\nurl = redis://:pw-two@127.0.0.1:6379/0\n");
	assert_int_equal(conf_broker_diff(a, a, &before, &after), BK_OK);
	assert_null(before);
	assert_null(after);
	assert_int_equal(conf_broker_diff(a, b, &before, &after), BK_OK);
	assert_non_null(before);
	assert_non_null(after);
	assert_non_null(strstr(before, "\"[server] trusted_proxies\":[]"));
	assert_non_null(strstr(after,
	    "\"[server] trusted_proxies\":[\"10.0.0.0/8\"]"));
	assert_non_null(strstr(after, "\"[redis] url\":\"(masked, another "
	    "value)\""));
	assert_null(strstr(before, "pw-"));
	assert_null(strstr(after, "pw-"));
	free(before);
	free(after);
	conf_free(a);
	conf_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_diff),
		cmocka_unit_test(test_conf_broker_diff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
