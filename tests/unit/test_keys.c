/*
 * sso-broker: unit tests of the key holder (broker/keys.c): it starts and
 * signs with a tenant's SP key (the signature verified with the tenant's
 * certificate), refuses a key that does not match its certificate, and cuts
 * off a worker that sends a message outside the set (junk, too long, an
 * unknown type, a tenant out of range), telling the parent which slot.
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
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "bk.h"
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_and_refusals),
		cmocka_unit_test(test_hostile_worker_is_cut_off),
		cmocka_unit_test(test_key_not_matching_its_certificate),
	};

	signal(SIGPIPE, SIG_IGN);
	log_init("test", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
