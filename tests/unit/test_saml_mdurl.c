/*
 * sso-broker: unit tests of saml_mdurl.c, the check of a fetched IdP
 * metadata document (cmocka).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Table-driven over the seeds of tests/corpus/saml_metadata (the fuzz
 * target's corpus, one hostile document each): every row names the code
 * expected from a tenant without a pinned signer and from one pinned to
 * tests/keys/idp.crt, and that a refused document leaves the tenant's
 * IdP facts as they were, while an accepted one replaces its keys.
 * Trust: test-only keys; nothing here is production material.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bk.h"
#include "saml.h"

#ifndef KEYDIR
#define KEYDIR "tests/keys"
#endif
#ifndef CORPUSDIR
#define CORPUSDIR "tests/corpus"
#endif

static const struct {
	const char	*file;
	int		 open_rv, pinned_rv;
} mdurl_rows[] = {
	{ "0001-file-unsigned.xml", BK_OK, BK_E_SAML_MD_UNSIGNED },
	{ "0002-signed-by-pin.xml", BK_OK, BK_OK },
	{ "0003-signed-by-other.xml", BK_OK, BK_E_SAML_MD_SIGNATURE },
	{ "0004-tampered-after-signing.xml", BK_OK, BK_E_SAML_MD_SIGNATURE },
	{ "0005-other-entity.xml", BK_E_SAML_MD_ENTITY, BK_E_SAML_MD_ENTITY },
	{ "0006-expired.xml", BK_E_SAML_MD_EXPIRED, BK_E_SAML_MD_UNSIGNED },
	{ "0007-dtd.xml", BK_E_SAML_MD_NOT_XML, BK_E_SAML_MD_NOT_XML },
	{ "0008-three-signing-certs.xml", BK_E_SAML_MD_SHAPE,
	    BK_E_SAML_MD_UNSIGNED },
	{ "0009-not-xml.html", BK_E_SAML_MD_SHAPE, BK_E_SAML_MD_UNSIGNED },
};

static struct saml_tenant *
mdurl_tenant(int pinned)
{
	struct saml_tenant	*t = NULL;
	struct saml_sp_params	 p;
	char			*why = NULL;

	memset(&p, 0, sizeof(p));
	p.tenant_id = "t";
	p.sp_entity_id = "https://broker.test/sp";
	p.acs_url = "https://broker.test/acs";
	p.sp_cert_path = KEYDIR "/sp.crt";
	/* the rollover file: two keys, so a one-key document changes them */
	p.idp_metadata_path = KEYDIR "/idp-metadata-rollover.xml";
	assert_int_equal(saml_tenant_new(&p, &t, &why), BK_OK);
	if (pinned)
		assert_int_equal(saml_tenant_pin_load(t, KEYDIR "/idp.crt",
		    &why), BK_OK);
	return t;
}

static char *
mdurl_read(const char *name, size_t *len)
{
	char	 path[512], *buf;
	FILE	*f;

	snprintf(path, sizeof(path), "%s/saml_metadata/%s", CORPUSDIR, name);
	assert_non_null(f = fopen(path, "rb"));
	assert_non_null(buf = malloc(1024 * 1024));
	*len = fread(buf, 1, 1024 * 1024, f);
	fclose(f);
	return buf;
}

static void
mdurl_one(int pinned, const char *file, int want)
{
	struct saml_tenant	*t = mdurl_tenant(pinned);
	struct saml_tenant_info	 before, after;
	char			*buf, *detail = NULL;
	size_t			 len;
	int			 rv;

	buf = mdurl_read(file, &len);
	saml_tenant_info(t, &before);
	rv = saml_tenant_metadata_update(t, buf, len, &detail);
	saml_tenant_info(t, &after);
	if (rv != want)
		print_error("%s (%s): %s, want %s (%s)\n", file, pinned ?
		    "pinned" : "open", bk_err_slug(rv), bk_err_slug(want),
		    detail != NULL ? detail : "-");
	assert_int_equal(rv, want);
	if (rv == BK_OK) {
		assert_null(detail);
		/* the rollover file's two keys gave way to the document's */
		assert_int_equal(before.n_certs, 2);
		assert_true(memcmp(before.certs, after.certs,
		    sizeof(before.certs)) != 0);
		assert_string_equal(before.idp_entity_id, after.idp_entity_id);
	} else {
		assert_non_null(detail);
		assert_memory_equal(&before, &after, sizeof(before));
	}
	free(detail);
	free(buf);
	saml_tenant_free(t);
}

static void
test_mdurl_rows(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(mdurl_rows) / sizeof(mdurl_rows[0]); i++) {
		mdurl_one(0, mdurl_rows[i].file, mdurl_rows[i].open_rv);
		mdurl_one(1, mdurl_rows[i].file, mdurl_rows[i].pinned_rv);
	}
}

/* The size cap comes before any parse. */
static void
test_mdurl_too_big(void **state)
{
	struct saml_tenant	*t = mdurl_tenant(0);
	char			*buf, *detail = NULL;
	size_t			 len = 1024 * 1024 + 1;

	(void)state;
	assert_non_null(buf = calloc(1, len));
	assert_int_equal(saml_tenant_metadata_update(t, buf, len, &detail),
	    BK_E_SAML_MD_TOOBIG);
	free(detail);
	free(buf);
	saml_tenant_free(t);
}

/* A pin that is not an RSA certificate of 2048 bits is refused at load. */
static void
test_mdurl_pin_load(void **state)
{
	struct saml_tenant	*t = mdurl_tenant(0);
	char			*why = NULL;

	(void)state;
	assert_int_equal(saml_tenant_pin_load(t, KEYDIR "/idp.key", &why),
	    BK_E_SAML_CERT);
	assert_non_null(why);
	free(why);
	assert_int_equal(saml_tenant_pin_load(t, KEYDIR "/no-such.crt", &why),
	    BK_E_SAML_CERT);
	free(why);
	saml_tenant_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mdurl_rows),
		cmocka_unit_test(test_mdurl_too_big),
		cmocka_unit_test(test_mdurl_pin_load),
	};

	if (saml_init() != BK_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
