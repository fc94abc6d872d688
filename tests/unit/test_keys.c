/*
 * sso-broker: unit tests of the key holder (broker/keys.c): it starts and
 * signs with a tenant's SP key (the signature verified with the tenant's
 * certificate), refuses a key that does not match its certificate, and cuts
 * off a worker that sends a message outside the set (junk, too long, an
 * unknown type, a tenant out of range), telling the parent which slot.
 * The unwrap of a content-encryption key (RSA-OAEP, both key slots), and
 * the unwrap messages outside the set.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "bk.h"
#include "chain.h"
#include "conf.h"
#include "keys.h"
#include "log.h"

struct fixture {
	struct conf		 c;
	struct conf_tenant	 t[2];
	struct conf_tenant	*tp[2];
};

/* Two tenants: acme with an SP key, off without one. */
static void
fixture_init(struct fixture *fx, const char *key, const char *cert)
{
	static char	 id0[] = "acme", id1[] = "off";
	static char	 f0[] = "tenants.d/acme.conf", f1[] = "tenants.d/off.conf";
	static char	 kp[256], cp[256];

	memset(fx, 0, sizeof(*fx));
	snprintf(kp, sizeof(kp), "%s", key);
	snprintf(cp, sizeof(cp), "%s", cert);
	fx->t[0].id = id0;
	fx->t[0].file = f0;
	fx->t[0].saml.sp_key = kp;
	fx->t[0].saml.sp_cert = cp;
	fx->t[1].id = id1;
	fx->t[1].file = f1;
	fx->tp[0] = &fx->t[0];
	fx->tp[1] = &fx->t[1];
	fx->c.tenants = fx->tp;
	fx->c.n_tenants = 2;
}

static int
verify_with_cert(const char *cert, const void *data, size_t len,
    const unsigned char *sig, size_t siglen)
{
	FILE		*f = fopen(cert, "r");
	X509		*x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	EVP_PKEY	*pk = x ? X509_get0_pubkey(x) : NULL;
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	int		 ok;

	ok = pk != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    pk) == 1 && EVP_DigestVerify(md, sig, siglen, data, len) == 1;
	EVP_MD_CTX_free(md);
	X509_free(x);
	if (f != NULL)
		fclose(f);
	return ok;
}

/* The parent's view: the slot the holder reported, within a second. */
static int
wait_compromised(struct keys *k)
{
	int	 slot = -1, i;

	for (i = 0; i < 100 && slot < 0; i++) {
		assert_int_equal(keys_poll(k, &slot), BK_OK);
		if (slot < 0)
			usleep(10 * 1000);
	}
	return slot;
}

/* The holder closed the channel: the worker's end reads EOF. */
static void
assert_closed(int fd)
{
	struct pollfd	 pf = { fd, POLLIN, 0 };
	char		 b[16];

	assert_int_equal(poll(&pf, 1, 2000), 1);
	assert_int_equal(recv(fd, b, sizeof(b), MSG_DONTWAIT), 0);
}

static void
test_sign_and_refusals(void **state)
{
	struct fixture	 fx;
	struct keys	*k = NULL;
	char		*errors = NULL;
	unsigned char	 sig[KEYS_SIG_MAX];
	size_t		 siglen;
	int		 fd;
	const char	 msg[] = "SAMLRequest=abc&SigAlg=rsa-sha256";

	(void)state;
	fixture_init(&fx, KEYDIR "/sp.key", KEYDIR "/sp.crt");
	assert_int_equal(keys_start(&fx.c, NULL, 0, &k, &errors), BK_OK);
	assert_null(errors);
	assert_int_equal(keys_chan_new(k, 0, &fd), BK_OK);
	assert_int_equal(keys_sign(fd, 0, msg, sizeof(msg) - 1, sig, &siglen),
	    BK_OK);
	assert_int_equal(siglen, 256);
	assert_true(verify_with_cert(KEYDIR "/sp.crt", msg, sizeof(msg) - 1,
	    sig, siglen));
	/* A tenant without a key: an answer, not a compromise. */
	assert_int_equal(keys_sign(fd, 1, msg, 3, sig, &siglen),
	    BK_E_KEYS_NOKEY);
	assert_int_equal(keys_sign(fd, 0, msg, 0, sig, &siglen), BK_E_TOOBIG);
	keys_chan_close(fd);
	keys_retire(k);
}

/* Each hostile message, on its own channel (slot 3): cut off, reported. */
static void
hostile(struct keys *k, const void *msg, size_t len)
{
	int	 fd;

	assert_int_equal(keys_chan_new(k, 3, &fd), BK_OK);
	assert_int_equal(send(fd, msg, len, MSG_NOSIGNAL), (ssize_t)len);
	assert_int_equal(wait_compromised(k), 3);
	assert_closed(fd);
	keys_chan_close(fd);
}

static void
test_hostile_worker_is_cut_off(void **state)
{
	struct fixture	 fx;
	struct keys	*k = NULL;
	char		*errors = NULL;
	uint32_t	 h[4];
	unsigned char	*big;
	unsigned char	 sig[KEYS_SIG_MAX];
	size_t		 siglen;
	int		 good;

	(void)state;
	fixture_init(&fx, KEYDIR "/sp.key", KEYDIR "/sp.crt");
	assert_int_equal(keys_start(&fx.c, NULL, 0, &k, &errors), BK_OK);
	assert_int_equal(keys_chan_new(k, 0, &good), BK_OK);
	hostile(k, "junk", 4);				/* shorter than a header */
	h[0] = 77; h[1] = 1; h[2] = 0; h[3] = 0;	/* unknown type */
	hostile(k, h, sizeof(h));
	h[0] = 1; h[1] = 1; h[2] = 9; h[3] = 0;		/* tenant 9 of 2 */
	hostile(k, h, sizeof(h));
	h[0] = 1; h[1] = 1; h[2] = 0; h[3] = 1000;	/* length lies */
	hostile(k, h, sizeof(h));
	big = calloc(1, KEYS_DATA_MAX + 64);		/* too long */
	assert_non_null(big);
	h[0] = 1; h[1] = 1; h[2] = 0; h[3] = KEYS_DATA_MAX + 48;
	memcpy(big, h, sizeof(h));
	hostile(k, big, KEYS_DATA_MAX + 64);
	free(big);
	/* The other workers are served on. */
	assert_int_equal(keys_sign(good, 0, "x", 1, sig, &siglen), BK_OK);
	keys_chan_close(good);
	keys_retire(k);
}

static void
test_key_not_matching_its_certificate(void **state)
{
	struct fixture	 fx;
	struct keys	*k = NULL;
	char		*errors = NULL;

	(void)state;
	fixture_init(&fx, KEYDIR "/evil.key", KEYDIR "/sp.crt");
	assert_int_equal(keys_start(&fx.c, NULL, 0, &k, &errors),
	    BK_E_KEYS_LOAD);
	assert_null(k);
	assert_non_null(errors);
	assert_non_null(strstr(errors, "tenants.d/acme.conf: tenant acme: "
	    "[saml] sp_key"));
	assert_non_null(strstr(errors, "does not match sp_cert"));
	free(errors);
	errors = NULL;
	assert_int_equal(keys_check(&fx.c, &errors), BK_E_KEYS_LOAD);
	assert_non_null(strstr(errors, "does not match sp_cert"));
	free(errors);
	/* the rollover pair is checked the same way, and named */
	fixture_init(&fx, KEYDIR "/sp.key", KEYDIR "/sp.crt");
	fx.t[0].saml.sp_next_key = (char *)(uintptr_t)KEYDIR "/evil.key";
	fx.t[0].saml.sp_next_cert = (char *)(uintptr_t)KEYDIR "/idp2.crt";
	errors = NULL;
	assert_int_equal(keys_check(&fx.c, &errors), BK_E_KEYS_LOAD);
	assert_non_null(strstr(errors, "tenant acme: [saml] sp_next_key "));
	assert_non_null(strstr(errors, "does not match sp_next_cert"));
	free(errors);
	fixture_init(&fx, KEYDIR "/no-such.key", KEYDIR "/sp.crt");
	errors = NULL;
	assert_int_equal(keys_check(&fx.c, &errors), BK_E_KEYS_LOAD);
	assert_non_null(strstr(errors, "cannot read the PEM private key"));
	free(errors);
	fixture_init(&fx, KEYDIR "/sp.key", KEYDIR "/sp.crt");
	errors = NULL;
	assert_int_equal(keys_check(&fx.c, &errors), BK_OK);
	assert_null(errors);
}

/* cek wrapped with RSA-OAEP (md, MGF1 mgf) or, md NULL, PKCS#1 v1.5. */
static size_t
wrap_with_cert(const char *cert, const EVP_MD *md, const EVP_MD *mgf,
    const unsigned char *cek, size_t len, unsigned char *out)
{
	FILE		*f = fopen(cert, "r");
	X509		*x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	EVP_PKEY_CTX	*pc = x ? EVP_PKEY_CTX_new(X509_get0_pubkey(x), NULL) :
	    NULL;
	size_t		 n = 512;

	assert_non_null(pc);
	assert_int_equal(EVP_PKEY_encrypt_init(pc), 1);
	if (md != NULL) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc,
		    RSA_PKCS1_OAEP_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(pc, md), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pc, mgf), 1);
	} else
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc,
		    RSA_PKCS1_PADDING), 1);
	assert_int_equal(EVP_PKEY_encrypt(pc, out, &n, cek, len), 1);
	EVP_PKEY_CTX_free(pc);
	X509_free(x);
	fclose(f);
	return n;
}

static void
test_unwrap(void **state)
{
	struct fixture	 fx;
	struct keys	*k = NULL;
	char		*errors = NULL;
	unsigned char	 cek[32], got[32], w[512];
	size_t		 n, i;
	int		 fd;

	(void)state;
	fixture_init(&fx, KEYDIR "/sp.key", KEYDIR "/sp.crt");
	fx.t[0].saml.sp_next_key = (char *)(uintptr_t)KEYDIR "/evil.key";
	fx.t[0].saml.sp_next_cert = (char *)(uintptr_t)KEYDIR "/evil.crt";
	assert_int_equal(keys_start(&fx.c, NULL, 0, &k, &errors), BK_OK);
	assert_int_equal(keys_chan_new(k, 0, &fd), BK_OK);
	for (i = 0; i < sizeof(cek); i++)
		cek[i] = (unsigned char)(i * 7 + 1);
	/* mgf1p (SHA-1) and xmlenc11 rsa-oaep with SHA-256/MGF1-SHA-256 */
	n = wrap_with_cert(KEYDIR "/sp.crt", EVP_sha1(), EVP_sha1(), cek, 32, w);
	assert_int_equal(keys_unwrap(fd, 0, KEYS_SLOT_CURRENT, KEYS_MD_SHA1,
	    KEYS_MD_SHA1, w, n, got, 32), BK_OK);
	assert_memory_equal(got, cek, 32);
	n = wrap_with_cert(KEYDIR "/sp.crt", EVP_sha256(), EVP_sha256(), cek,
	    16, w);
	assert_int_equal(keys_unwrap(fd, 0, KEYS_SLOT_CURRENT, KEYS_MD_SHA256,
	    KEYS_MD_SHA256, w, n, got, 16), BK_OK);
	assert_memory_equal(got, cek, 16);
	/* the same bytes under the wrong digest, length or key: one status */
	assert_int_equal(keys_unwrap(fd, 0, KEYS_SLOT_CURRENT, KEYS_MD_SHA1,
	    KEYS_MD_SHA256, w, n, got, 16), BK_E_KEYS_UNWRAP);
	assert_int_equal(keys_unwrap(fd, 0, KEYS_SLOT_CURRENT, KEYS_MD_SHA256,
	    KEYS_MD_SHA256, w, n, got, 32), BK_E_KEYS_UNWRAP);
	assert_int_equal(keys_unwrap(fd, 0, KEYS_SLOT_NEXT, KEYS_MD_SHA256,
	    KEYS_MD_SHA256, w, n, got, 16), BK_E_KEYS_UNWRAP);
	/* the rollover key */
	n = wrap_with_cert(KEYDIR "/evil.crt", EVP_sha1(), EVP_sha1(), cek, 24,
	    w);
	assert_int_equal(keys_unwrap(fd, 0, KEYS_SLOT_NEXT, KEYS_MD_SHA1,
	    KEYS_MD_SHA1, w, n, got, 24), BK_OK);
	assert_memory_equal(got, cek, 24);
	/* PKCS#1 v1.5 is never unwrapped */
	n = wrap_with_cert(KEYDIR "/sp.crt", NULL, NULL, cek, 32, w);
	assert_int_equal(keys_unwrap(fd, 0, KEYS_SLOT_CURRENT, KEYS_MD_SHA1,
	    KEYS_MD_SHA1, w, n, got, 32), BK_E_KEYS_UNWRAP);
	/* a tenant without a key: an answer, not a compromise */
	assert_int_equal(keys_unwrap(fd, 1, KEYS_SLOT_CURRENT, KEYS_MD_SHA1,
	    KEYS_MD_SHA1, w, n, got, 32), BK_E_KEYS_NOKEY);
	assert_int_equal(keys_unwrap(fd, 0, KEYS_SLOT_CURRENT, KEYS_MD_SHA1,
	    KEYS_MD_SHA1, w, n, got, 17), BK_E_TOOBIG);
	assert_int_equal(keys_unwrap(fd, 0, KEYS_SLOT_CURRENT, KEYS_MD_SHA1,
	    KEYS_MD_SHA1, w, KEYS_WRAPPED_MAX + 1, got, 32), BK_E_TOOBIG);
	keys_chan_close(fd);
	keys_retire(k);
}

/* An unwrap request (type 10) with this head and n bytes of ciphertext. */
static void
hostile_unwrap(struct keys *k, int32_t tenant, const uint8_t hd[4], size_t n)
{
	unsigned char	 m[16 + 4 + KEYS_WRAPPED_MAX + 8];
	uint32_t	 h[4] = { 10, 1, (uint32_t)tenant, (uint32_t)(4 + n) };

	memset(m, 0x41, sizeof(m));
	memcpy(m, h, sizeof(h));
	memcpy(m + sizeof(h), hd, 4);
	hostile(k, m, sizeof(h) + 4 + n);
}

static void
test_hostile_unwrap_is_cut_off(void **state)
{
	static const uint8_t	 slot[4] = { 2, 1, 1, 32 };
	static const uint8_t	 md[4] = { 0, 3, 1, 32 };
	static const uint8_t	 mgf[4] = { 0, 1, 0, 32 };
	static const uint8_t	 len[4] = { 0, 1, 1, 20 };
	static const uint8_t	 good[4] = { 0, 1, 1, 32 };
	struct fixture		 fx;
	struct keys		*k = NULL;
	char			*errors = NULL;

	(void)state;
	fixture_init(&fx, KEYDIR "/sp.key", KEYDIR "/sp.crt");
	assert_int_equal(keys_start(&fx.c, NULL, 0, &k, &errors), BK_OK);
	hostile_unwrap(k, 0, slot, 256);
	hostile_unwrap(k, 0, md, 256);
	hostile_unwrap(k, 0, mgf, 256);
	hostile_unwrap(k, 0, len, 256);
	hostile_unwrap(k, 0, good, 0);			/* no ciphertext */
	hostile_unwrap(k, 0, good, KEYS_WRAPPED_MAX + 1);	/* too long */
	hostile_unwrap(k, 5, good, 256);		/* tenant 5 of 2 */
	hostile_unwrap(k, -1, good, 256);
	keys_retire(k);
}

/*
 * The audit key: a seal at epoch 5 is the HMAC under the initial key
 * stepped to 5, the key file is rewritten at 5, and from then on an
 * earlier epoch's seal is refused (that key is gone) while a check at a
 * later epoch leaves the key where it is.
 */
static void
test_audit_key_one_way(void **state)
{
	static char		 dir[] = "/tmp/bk-keys-XXXXXX";
	static char		 path[64];
	struct fixture		 fx;
	struct keys		*k = NULL;
	struct bk_chain_key	 ref, disk;
	char			*errors = NULL, out[65], want[65];
	const char		 hex[] = "000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f\n";
	const char		 msg[] = "prev\n{\"seq\":1}";
	unsigned long long	 e;
	long long		 st;
	FILE			*f;
	int			 fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.key", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(hex, f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	fixture_init(&fx, KEYDIR "/sp.key", KEYDIR "/sp.crt");
	fx.c.audit_key_file = path;
	fx.c.audit_epoch = 3600;
	assert_int_equal(keys_start(&fx.c, NULL, 0, &k, &errors), BK_OK);
	assert_null(errors);
	assert_true(keys_audit_key(k, &e, &st));
	assert_int_equal(e, 0);
	assert_int_equal(keys_chan_new(k, 0, &fd), BK_OK);
	assert_int_equal(bk_chain_key_parse(hex, sizeof(hex) - 1, &ref),
	    BK_OK);
	bk_chain_key_step(&ref, 5);
	assert_int_equal(bk_chain_seal(&ref, msg, sizeof(msg) - 1, want),
	    BK_OK);
	assert_int_equal(keys_seal(&fd, 5, 18000, msg, sizeof(msg) - 1, out),
	    BK_OK);
	assert_string_equal(out, want);
	assert_int_equal(bk_chain_key_load(path, &disk), BK_OK);
	assert_int_equal(disk.epoch, 5);
	assert_memory_equal(disk.k, ref.k, sizeof(ref.k));
	/* behind the key: no new seal, no check */
	assert_int_equal(keys_seal(&fd, 4, 14400, msg, sizeof(msg) - 1, out),
	    BK_E_AUDIT_KEY);
	assert_int_equal(keys_mac(&fd, 4, msg, sizeof(msg) - 1, out),
	    BK_E_NOT_FOUND);
	/* a check ahead steps a copy: the key stays at 5 */
	bk_chain_key_step(&ref, 7);
	assert_int_equal(bk_chain_seal(&ref, msg, sizeof(msg) - 1, want),
	    BK_OK);
	assert_int_equal(keys_mac(&fd, 7, msg, sizeof(msg) - 1, out), BK_OK);
	assert_string_equal(out, want);
	assert_int_equal(keys_seal(&fd, 5, 18000, msg, sizeof(msg) - 1, out),
	    BK_OK);
	assert_int_equal(bk_chain_key_load(path, &disk), BK_OK);
	assert_int_equal(disk.epoch, 5);
	bk_chain_key_cleanup(&ref);
	bk_chain_key_cleanup(&disk);
	keys_chan_close(fd);
	keys_retire(k);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_and_refusals),
		cmocka_unit_test(test_hostile_worker_is_cut_off),
		cmocka_unit_test(test_key_not_matching_its_certificate),
		cmocka_unit_test(test_unwrap),
		cmocka_unit_test(test_hostile_unwrap_is_cut_off),
		cmocka_unit_test(test_audit_key_one_way),
	};

	signal(SIGPIPE, SIG_IGN);
	log_init("test", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
