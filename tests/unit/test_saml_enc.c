/*
 * sso-broker: unit tests of the encrypted-assertion path (saml/saml_enc.c):
 * every seed of tests/corpus/saml_decrypt gives the code its .expect names,
 * for the GCM-only tenant (expect:) and for the allow_cbc +
 * require_encryption one (cbc:); the key the EncryptedKey names is the
 * only one asked, else both; a key holder that does not answer is
 * BK_E_IPC_PEER, never a decryption failure; without an unwrap callback
 * an EncryptedAssertion is BK_E_SAML_ENCRYPTED as before; a refused
 * unwrap is the same answer as a wrong key; a signed Response is checked
 * before any key is used; the SP metadata offers the encryption keys.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <cmocka.h>

#include "log.h"
#include "fuzz_saml_decrypt_fixture.h"

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f = fopen(path, "rb");
	char	*buf;
	long	 n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* The value of "key: value" in an .expect file, into out. */
static void
expect_field(const char *text, const char *key, char *out, size_t max)
{
	const char	*p = strstr(text, key);
	size_t		 n;

	assert_non_null(p);
	p += strlen(key);
	n = strcspn(p, "\n");
	assert_true(n < max);
	memcpy(out, p, n);
	out[n] = '\0';
}

static const char *
slug(int rv)
{
	return rv == BK_OK ? "ok" : bk_err_slug(rv);
}

static void
check_seed(struct fx_enc *fx, const char *dir, const char *name)
{
	struct saml_result	 res;
	char			 path[4096], want[64], want_cbc[64], *xml, *ex;
	char			*detail = NULL;
	size_t			 len, elen;
	int			 rv;

	snprintf(path, sizeof(path), "%s/%s.expect", dir, name);
	ex = slurp(path, &elen);
	expect_field(ex, "expect: ", want, sizeof(want));
	expect_field(ex, "cbc: ", want_cbc, sizeof(want_cbc));
	free(ex);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	xml = slurp(path, &len);
	rv = fx_enc_verify(fx, fx->enc, xml, len, &res, &detail);
	if (strcmp(slug(rv), want) != 0)
		fail_msg("%s: %s (%s), expected %s", name, slug(rv),
		    detail != NULL ? detail : "", want);
	if (rv == BK_OK)
		assert_string_equal(res.username, "alice@example.com");
	saml_result_cleanup(&res);
	free(detail);
	rv = fx_enc_verify(fx, fx->cbc, xml, len, &res, &detail);
	if (strcmp(slug(rv), want_cbc) != 0)
		fail_msg("%s (cbc tenant): %s (%s), expected %s", name,
		    slug(rv), detail != NULL ? detail : "", want_cbc);
	/* the one answer: one detail too */
	if (rv == BK_E_SAML_DECRYPT && strstr(name, "cbc") != NULL)
		assert_string_equal(detail,
		    "the encrypted assertion could not be decrypted");
	saml_result_cleanup(&res);
	free(detail);
	free(xml);
}

static void
test_corpus(void **state)
{
	struct fx_enc	*fx = fx_enc_get();
	const char	*base = getenv("CORPUS_DIR");
	char		 dir[512];
	struct dirent	*e;
	DIR		*d;
	size_t		 n, seen = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/saml_decrypt", base != NULL ? base :
	    "tests/corpus");
	assert_non_null(d = opendir(dir));
	while ((e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 4, ".xml") != 0)
			continue;
		check_seed(fx, dir, e->d_name);
		seen++;
	}
	closedir(d);
	assert_true(seen >= 20);
}

static char *
seed(const char *name, size_t *len)
{
	const char	*base = getenv("CORPUS_DIR");
	char		 path[1024];

	snprintf(path, sizeof(path), "%s/saml_decrypt/%s", base != NULL ?
	    base : "tests/corpus", name);
	return slurp(path, len);
}

static int
verify_seed(struct fx_enc *fx, struct saml_tenant *t, const char *name)
{
	struct saml_result	 res;
	char			*xml, *detail = NULL;
	size_t			 len;
	int			 rv;

	xml = seed(name, &len);
	fx->calls = 0;
	rv = fx_enc_verify(fx, t, xml, len, &res, &detail);
	saml_result_cleanup(&res);
	free(detail);
	free(xml);
	return rv;
}

static void
test_key_selection_and_holder(void **state)
{
	struct fx_enc		*fx = fx_enc_get();
	struct saml_result	 res;
	char			*xml, *b64, *detail = NULL;
	size_t			 len;

	(void)state;
	/* named certificate: that key alone */
	assert_int_equal(verify_seed(fx, fx->enc, "0001-gcm256-ok.xml"), BK_OK);
	assert_int_equal(fx->calls, 1);
	/* no certificate named: both keys, always both (one work) */
	assert_int_equal(verify_seed(fx, fx->enc, "0004-next-key-unnamed.xml"),
	    BK_OK);
	assert_int_equal(fx->calls, 2);
	assert_int_equal(verify_seed(fx, fx->enc, "0009-wrong-key-unnamed.xml"),
	    BK_E_SAML_DECRYPT);
	assert_int_equal(fx->calls, 2);
	/* a certificate that is not ours: no key is used */
	assert_int_equal(verify_seed(fx, fx->enc, "0008-wrong-key-named.xml"),
	    BK_E_SAML_ENC_KEY);
	assert_int_equal(fx->calls, 0);
	/* rsa-1_5: refused before any key is used */
	assert_int_equal(verify_seed(fx, fx->enc, "0007-rsa-1_5.xml"),
	    BK_E_SAML_ENC_RSA15);
	assert_int_equal(fx->calls, 0);
	/* the holder refuses: the same answer as a wrong key */
	fx->force = BK_E_KEYS_UNWRAP;
	assert_int_equal(verify_seed(fx, fx->enc, "0001-gcm256-ok.xml"),
	    BK_E_SAML_DECRYPT);
	/* the holder is gone: 503, not a decryption failure */
	fx->force = BK_E_IPC_PEER;
	assert_int_equal(verify_seed(fx, fx->enc, "0001-gcm256-ok.xml"),
	    BK_E_IPC_PEER);
	assert_int_equal(verify_seed(fx, fx->cbc, "0006-cbc128.xml"),
	    BK_E_IPC_PEER);
	fx->force = BK_OK;
	/* no unwrap callback: EncryptedAssertion refused as before */
	xml = seed("0001-gcm256-ok.xml", &len);
	b64 = bk_b64_encode(xml, len);
	assert_int_equal(saml_response_verify(fx->enc, b64, strlen(b64),
	    FUZZ_NOW, &res, &detail), BK_E_SAML_ENCRYPTED);
	saml_result_cleanup(&res);
	free(detail);
	free(b64);
	free(xml);
}

/*
 * A signed Response covers the ciphertext: one changed byte of it fails
 * the Response's signature, checked before any key is used.
 */
static void
test_signed_response_checked_first(void **state)
{
	struct fx_enc		*fx = fx_enc_get();
	struct saml_result	 res;
	char			*xml, *p, *q, *detail = NULL;
	size_t			 len;

	(void)state;
	xml = seed("0005-signed-response.xml", &len);
	/* the last CipherValue is the EncryptedData's */
	for (p = xml, q = NULL; (p = strstr(p, "<xenc:CipherValue>")) != NULL;
	    p++)
		q = p;
	assert_non_null(q);
	q += strlen("<xenc:CipherValue>") + 20;
	*q = *q == 'A' ? 'B' : 'A';
	fx->calls = 0;
	assert_int_equal(fx_enc_verify(fx, fx->enc, xml, len, &res, &detail),
	    BK_E_SAML_SIG_INVALID);
	assert_int_equal(fx->calls, 0);
	saml_result_cleanup(&res);
	free(detail);
	free(xml);
}

static void
test_metadata(void **state)
{
	struct fx_enc	*fx = fx_enc_get();
	const char	*md, *p;
	size_t		 len, n = 0;

	(void)state;
	md = saml_sp_metadata(fx->enc, &len);
	for (p = md; (p = strstr(p, "use=\"encryption\"")) != NULL; p++)
		n++;
	assert_int_equal(n, 2);
	assert_non_null(strstr(md, "xmlenc11#aes256-gcm"));
	assert_null(strstr(md, "aes128-cbc"));
	assert_null(strstr(md, "rsa-1_5"));
	md = saml_sp_metadata(fx->cbc, &len);
	assert_non_null(strstr(md, "xmlenc#aes128-cbc"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_key_selection_and_holder),
		cmocka_unit_test(test_signed_response_checked_first),
		cmocka_unit_test(test_metadata),
	};

	log_init("test", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
