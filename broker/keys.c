/*
 * sso-broker: the key holder process and its narrow message set.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Messages are SOCK_SEQPACKET datagrams: a header (type, request id, an
 * argument, the payload length) and the payload.  Each is read into a
 * buffer one byte larger than the largest message there is, so a longer
 * one is seen (MSG_TRUNC) and refused, never cut; then its size must be
 * exactly what its type allows.  The holder answers one request at a time
 * (an RSA-2048 signature is about a millisecond).
 * Trust: requests from workers are untrusted (checked before use); the key
 * files are operator input; nothing of a key is ever logged.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "bk.h"
#include "chain.h"
#include "conf.h"
#include "ipc.h"
#include "keys.h"
#include "log.h"

#define KEYS_MAX_CHANS		128
#define KEYS_READY_MS		10000
#define KEYS_ANSWER_MS		1000
#define KEYS_ERR_MAX		4096
/* An audit key steps at most this many epochs at once (audit.c's cap). */
#define KEYS_EPOCH_STEPS	100000ULL

enum keys_type {
	KEYS_M_SIGN = 1,	/* worker -> holder: arg tenant, data */
	KEYS_M_SIG,		/* holder -> worker: arg status, signature */
	KEYS_M_SEAL,		/* worker -> holder: struct keys_seal, data */
	KEYS_M_MAC,		/* worker -> holder: struct keys_seal, data */
	/* worker -> holder: arg tenant, keys_unwrap_hd, data; KEYS_M_SIG */
	KEYS_M_UNWRAP = 10,
	KEYS_C_READY = 100,	/* holder -> parent */
	KEYS_C_ERROR,		/* holder -> parent: text */
	KEYS_C_COMPROMISED,	/* holder -> parent: arg slot */
	KEYS_C_CHAN,		/* parent -> holder: arg slot, fd attached */
	KEYS_C_RETIRE		/* parent -> holder */
};

struct keys_hdr {
	uint32_t	type;
	uint32_t	id;
	int32_t		arg;
	uint32_t	len;
};

/* An audit seal's epoch and its start, before the bytes it covers. */
struct keys_seal {
	uint64_t	epoch;
	int64_t		start;
};

#define KEYS_MSG_MAX	(sizeof(struct keys_hdr) + sizeof(struct keys_seal) + \
	KEYS_SEAL_MAX)

/*
 * KEYS_M_UNWRAP's payload: this head, then the EncryptedKey's CipherValue
 * (1 to KEYS_WRAPPED_MAX bytes).  Every field has a fixed set of values.
 */
struct keys_unwrap_hd {
	uint8_t		slot;		/* KEYS_SLOT_CURRENT, KEYS_SLOT_NEXT */
	uint8_t		oaep_md;	/* KEYS_MD_SHA1, KEYS_MD_SHA256 */
	uint8_t		mgf1_md;	/* the same */
	uint8_t		cek_len;	/* 16, 24 or 32 */
};

struct keys {
	pid_t	 pid;
	int	 ctl;
	int	 akeyed;		/* READY said: the audit key loaded */
	struct keys_seal akey;		/* its epoch and start then */
};

/* The holder's state. */
struct keys_holder {
	const struct conf	*conf;
	EVP_PKEY		**pkey;		/* by tenant index */
	EVP_PKEY		**pkey_next;	/* sp_next_key, by index */
	int			 ctl;
	int			 chan[KEYS_MAX_CHANS];	/* by slot, -1 */
	int			 retired;
	/* [audit] key_file: the current epoch's key, stepped on demand */
	int			 akeyed;
	struct bk_chain_key	 akey;
	time_t			 awarned;
};

static int
keys_send(int fd, uint32_t type, uint32_t id, int32_t arg, const void *data,
    size_t len)
{
	struct keys_hdr	 h = { type, id, arg, (uint32_t)len };

	return ipc_send(fd, &h, sizeof(h), data, len, NULL, 0);
}

/*
 * One datagram into buf (KEYS_MSG_MAX + 1 bytes).  A datagram longer than
 * the largest message, or shorter than a header, or whose header's length
 * is not its payload's, is BK_E_IPC_MSG.  0 bytes: the peer closed.  At
 * most one descriptor, into *passed_fd (NULL: none may come).
 */
static int
keys_recv(int fd, unsigned char *buf, struct keys_hdr *h, int *passed_fd)
{
	struct ipc_msg	 im;
	int		 rv;

	if (passed_fd != NULL)
		*passed_fd = -1;
	if ((rv = ipc_recv(fd, buf, KEYS_MSG_MAX + 1, passed_fd != NULL ? 1 :
	    0, MSG_DONTWAIT, &im)) != BK_OK)
		return rv;
	if (im.len == 0 && im.nfd == 0)
		return BK_E_IPC_PEER;
	if (im.len < sizeof(*h)) {
		ipc_msg_close(&im);
		return BK_E_IPC_MSG;
	}
	memcpy(h, buf, sizeof(*h));
	if (h->len != im.len - sizeof(*h)) {
		ipc_msg_close(&im);
		return BK_E_IPC_MSG;
	}
	if (passed_fd != NULL && im.nfd == 1)
		*passed_fd = im.fd[0];
	return BK_OK;
}

/* --- loading --- */

/*
 * One SP key: PEM, RSA of 2048 bits or more, the key of cert_path (sp_cert,
 * or sp_next_cert when next).
 */
static int
keys_load_one(const char *key_path, const char *cert_path, int next,
    EVP_PKEY **out, const char **why)
{
	BIO		*b = NULL;
	X509		*x = NULL;
	EVP_PKEY	*k = NULL;
	int		 rv = BK_E_KEYS_LOAD;

	*out = NULL;
	*why = "cannot read the PEM private key";
	if ((b = BIO_new_file(key_path, "r")) == NULL ||
	    (k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL)
		goto out;
	BIO_free(b);
	*why = "not an RSA key of at least 2048 bits";
	if (EVP_PKEY_base_id(k) != EVP_PKEY_RSA || EVP_PKEY_bits(k) < 2048)
		goto out;
	*why = next ? "cannot read sp_next_cert" : "cannot read sp_cert";
	if ((b = BIO_new_file(cert_path, "r")) == NULL ||
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL)
		goto out;
	*why = next ? "the key does not match sp_next_cert" :
	    "the key does not match sp_cert";
	if (X509_check_private_key(x, k) != 1)
		goto out;
	*out = k;
	k = NULL;
	*why = NULL;
	rv = BK_OK;
 out:
	BIO_free(b);
	X509_free(x);
	EVP_PKEY_free(k);
	return rv;
}

/*
 * Every tenant's SP key into pkey[] and its rollover key (sp_next_key)
 * into next[] (NULL for a tenant without one).
 */
static int
keys_load_all(const struct conf *c, EVP_PKEY **pkey, EVP_PKEY **next,
    struct bk_buf *eb)
{
	const struct conf_tenant *t;
	const char	*why;
	size_t		 i;
	int		 rv = BK_OK;

	for (i = 0; i < c->n_tenants; i++) {
		t = c->tenants[i];
		pkey[i] = NULL;
		next[i] = NULL;
		if (t->saml.sp_next_key != NULL && t->saml.sp_next_cert !=
		    NULL && keys_load_one(t->saml.sp_next_key,
		    t->saml.sp_next_cert, 1, &next[i], &why) != BK_OK) {
			(void)bk_buf_addf(eb, "%s: tenant %s: [saml] "
			    "sp_next_key %s: %s\n", t->file, t->id,
			    t->saml.sp_next_key, why);
			rv = BK_E_KEYS_LOAD;
		}
		if (t->saml.sp_key == NULL || t->saml.sp_cert == NULL)
			continue;
		if (keys_load_one(t->saml.sp_key, t->saml.sp_cert, 0, &pkey[i],
		    &why) != BK_OK) {
			(void)bk_buf_addf(eb, "%s: tenant %s: [saml] "
			    "sp_key %s: %s\n", t->file, t->id, t->saml.sp_key,
			    why);
			rv = BK_E_KEYS_LOAD;
		}
	}
	ERR_clear_error();
	return rv;
}

/*
 * [audit] key_file into kh (NULL: only checked).  The initial key (epoch
 * 0, no start) starts now and is written back in the state form at once,
 * as every later step is (keys_audit_step()).
 */
static int
keys_audit_load(const struct conf *c, struct keys_holder *kh,
    struct bk_buf *eb)
{
	struct bk_chain_key	 k;
	int			 rv, e;

	if (c->audit_key_file == NULL)
		return BK_OK;
	if ((rv = bk_chain_key_load(c->audit_key_file, &k)) != BK_OK) {
		(void)bk_buf_addf(eb, "%s: [audit] key_file %s: %s\n", c->file,
		    c->audit_key_file, bk_strerror(rv));
		return rv;
	}
	if (kh == NULL) {
		bk_chain_key_cleanup(&k);
		return BK_OK;
	}
	kh->akey = k;
	kh->akeyed = 1;
	bk_chain_key_cleanup(&k);
	if (kh->akey.start == 0) {
		kh->akey.start = (long long)time(NULL);
		if ((e = bk_chain_key_save(c->audit_key_file, &kh->akey)) != 0)
			log_warnx("audit: cannot rewrite key_file %s: %s",
			    c->audit_key_file, strerror(e));
	}
	return BK_OK;
}

static void
keys_free_all(EVP_PKEY **pkey, size_t n)
{
	size_t	 i;

	for (i = 0; pkey != NULL && i < n; i++)
		EVP_PKEY_free(pkey[i]);
	free(pkey);
}

int
keys_check(const struct conf *c, char **errors)
{
	EVP_PKEY	**pkey, **next;
	struct bk_buf	 eb;
	int		 rv;

	*errors = NULL;
	if ((pkey = calloc(c->n_tenants + 1, sizeof(*pkey))) == NULL)
		return BK_E_NOMEM;
	if ((next = calloc(c->n_tenants + 1, sizeof(*next))) == NULL) {
		free(pkey);
		return BK_E_NOMEM;
	}
	bk_buf_init(&eb, KEYS_ERR_MAX);
	rv = keys_load_all(c, pkey, next, &eb);
	keys_free_all(pkey, c->n_tenants);
	keys_free_all(next, c->n_tenants);
	if (keys_audit_load(c, NULL, &eb) != BK_OK)
		rv = BK_E_KEYS_LOAD;
	if (rv != BK_OK)
		*errors = bk_buf_take(&eb);
	bk_buf_free(&eb);
	return rv;
}

/* --- the holder --- */

/* RSA-SHA256 (PKCS#1 v1.5) of data by k. */
static int
keys_rsa_sign(EVP_PKEY *k, const unsigned char *data, size_t len,
    unsigned char *sig, size_t *siglen)
{
	EVP_MD_CTX	*md;
	int		 ok;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return BK_E_NOMEM;
	*siglen = KEYS_SIG_MAX;
	ok = EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
	    EVP_DigestSign(md, sig, siglen, data, len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok ? BK_OK : BK_E_INTERNAL;
}

/*
 * RSA-OAEP decryption of a wrapped content-encryption key (XML Encryption
 * 1.1 section 5.5.2): the OAEP digest and the MGF1 digest as asked, no
 * label.  The unwrapped key must be exactly cek_len bytes.  Any failure
 * is the one status BK_E_KEYS_UNWRAP: the worker goes on with a random
 * key (saml_enc.c), so no caller learns why.  Never PKCS#1 v1.5.
 */
static int
keys_rsa_unwrap(EVP_PKEY *k, const struct keys_unwrap_hd *u,
    const unsigned char *in, size_t len, unsigned char *cek)
{
	EVP_PKEY_CTX	*pc;
	unsigned char	 out[KEYS_WRAPPED_MAX];
	size_t		 outlen = sizeof(out);
	const EVP_MD	*md, *mgf;
	int		 ok;

	md = u->oaep_md == KEYS_MD_SHA256 ? EVP_sha256() : EVP_sha1();
	mgf = u->mgf1_md == KEYS_MD_SHA256 ? EVP_sha256() : EVP_sha1();
	if ((pc = EVP_PKEY_CTX_new(k, NULL)) == NULL)
		return BK_E_NOMEM;
	ok = EVP_PKEY_decrypt_init(pc) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_oaep_md(pc, md) == 1 &&
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, mgf) == 1 &&
	    EVP_PKEY_decrypt(pc, out, &outlen, in, len) == 1 &&
	    outlen == u->cek_len;
	if (ok)
		memcpy(cek, out, u->cek_len);
	OPENSSL_cleanse(out, sizeof(out));
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
	return ok ? BK_OK : BK_E_KEYS_UNWRAP;
}

/* A KEYS_M_UNWRAP request, checked field by field; then the answer. */
static int
keys_serve_unwrap(struct keys_holder *kh, int slot, const struct keys_hdr *h,
    const unsigned char *data)
{
	struct keys_unwrap_hd	 u;
	unsigned char		 cek[32];
	EVP_PKEY		*k;
	int			 st;

	if (h->len <= sizeof(u) || h->len > sizeof(u) + KEYS_WRAPPED_MAX ||
	    h->arg < 0 || (size_t)h->arg >= kh->conf->n_tenants)
		return BK_E_IPC_MSG;
	memcpy(&u, data, sizeof(u));
	if ((u.slot != KEYS_SLOT_CURRENT && u.slot != KEYS_SLOT_NEXT) ||
	    (u.oaep_md != KEYS_MD_SHA1 && u.oaep_md != KEYS_MD_SHA256) ||
	    (u.mgf1_md != KEYS_MD_SHA1 && u.mgf1_md != KEYS_MD_SHA256) ||
	    (u.cek_len != 16 && u.cek_len != 24 && u.cek_len != 32))
		return BK_E_IPC_MSG;
	k = u.slot == KEYS_SLOT_NEXT ? kh->pkey_next[h->arg] :
	    kh->pkey[h->arg];
	if (k == NULL)
		st = BK_E_KEYS_NOKEY;
	else
		st = keys_rsa_unwrap(k, &u, data + sizeof(u),
		    h->len - sizeof(u), cek);
	st = keys_send(kh->chan[slot], KEYS_M_SIG, h->id, st, cek,
	    st == BK_OK ? u.cek_len : 0);
	OPENSSL_cleanse(cek, sizeof(cek));
	return st;
}

/*
 * One request from the worker of slot.  BK_E_IPC_MSG: not a message of
 * the set (the worker is then treated as compromised).
 */
/*
 * The audit key moved on to epoch e (never back: the records of earlier
 * epochs keep their seals, nobody can make new ones), written back to the
 * key file each time, so a restart goes on from the newest key.
 */
static int
keys_audit_step(struct keys_holder *kh, const struct keys_seal *q)
{
	time_t	 now = time(NULL);
	int	 e;

	if (q->epoch < kh->akey.epoch)
		return BK_E_AUDIT_KEY;	/* that key is gone */
	if (q->epoch - kh->akey.epoch > KEYS_EPOCH_STEPS)
		return BK_E_IPC_MSG;	/* audit.c never asks for more */
	if (q->epoch == kh->akey.epoch && q->start == kh->akey.start)
		return BK_OK;
	bk_chain_key_step(&kh->akey, q->epoch);
	kh->akey.start = q->start;
	if ((e = bk_chain_key_save(kh->conf->audit_key_file, &kh->akey)) !=
	    0 && now - kh->awarned >= 3600) {
		kh->awarned = now;
		log_warnx("audit: cannot rewrite key_file %s: %s; its older "
		    "key stays on disk", kh->conf->audit_key_file,
		    strerror(e));
	}
	return BK_OK;
}

/*
 * An audit seal (KEYS_M_SEAL: at that epoch, stepping to it) or a seal to
 * check (KEYS_M_MAC: a copy stepped, the key itself stays; an earlier
 * epoch is BK_E_NOT_FOUND).  The answer is the hex digest.
 */
static int
keys_serve_seal(struct keys_holder *kh, int slot, const struct keys_hdr *h,
    const unsigned char *buf)
{
	struct keys_seal	 q;
	struct bk_chain_key	 k;
	char			 out[BK_DIGEST_HEX + 1];
	const unsigned char	*data = buf + sizeof(*h) + sizeof(q);
	size_t			 len = h->len - sizeof(q);
	int			 st;

	memcpy(&q, buf + sizeof(*h), sizeof(q));
	if (!kh->akeyed)
		st = BK_E_AUDIT_KEY;
	else if (h->type == KEYS_M_SEAL) {
		if ((st = keys_audit_step(kh, &q)) == BK_OK)
			st = bk_chain_seal(&kh->akey, data, len, out);
	} else if (q.epoch < kh->akey.epoch)
		st = BK_E_NOT_FOUND;
	else if (q.epoch - kh->akey.epoch > KEYS_EPOCH_STEPS)
		st = BK_E_INVAL;
	else {
		k = kh->akey;
		bk_chain_key_step(&k, q.epoch);
		st = bk_chain_seal(&k, data, len, out);
		bk_chain_key_cleanup(&k);
	}
	if (st == BK_E_IPC_MSG)
		return st;
	return keys_send(kh->chan[slot], KEYS_M_SIG, h->id, st, out,
	    st == BK_OK ? BK_DIGEST_HEX : 0);
}

static int
keys_serve(struct keys_holder *kh, int slot, unsigned char *buf)
{
	struct keys_hdr	 h;
	unsigned char	 sig[KEYS_SIG_MAX];
	size_t		 siglen = 0;
	int		 rv, st;

	if ((rv = keys_recv(kh->chan[slot], buf, &h, NULL)) != BK_OK)
		return rv;
	if (h.type == KEYS_M_UNWRAP)
		return keys_serve_unwrap(kh, slot, &h, buf + sizeof(h));
	if ((h.type == KEYS_M_SEAL || h.type == KEYS_M_MAC) && h.arg == 0 &&
	    h.len > sizeof(struct keys_seal) &&
	    h.len <= sizeof(struct keys_seal) + KEYS_SEAL_MAX)
		return keys_serve_seal(kh, slot, &h, buf);
	if (h.type != KEYS_M_SIGN || h.len == 0 || h.len > KEYS_DATA_MAX ||
	    h.arg < 0 || (size_t)h.arg >= kh->conf->n_tenants)
		return BK_E_IPC_MSG;
	if (kh->pkey[h.arg] == NULL)
		st = BK_E_KEYS_NOKEY;
	else
		st = keys_rsa_sign(kh->pkey[h.arg], buf + sizeof(h), h.len,
		    sig, &siglen);
	return keys_send(kh->chan[slot], KEYS_M_SIG, h.id, st, sig,
	    st == BK_OK ? siglen : 0);
}

static void
keys_chan_drop(struct keys_holder *kh, int slot, int compromised)
{
	close(kh->chan[slot]);
	kh->chan[slot] = -1;
	if (!compromised)
		return;
	log_warnx("keys: worker slot %d sent a message outside the set; "
	    "treated as compromised, its channel closed", slot + 1);
	(void)keys_send(kh->ctl, KEYS_C_COMPROMISED, 0, slot, NULL, 0);
}

/* A message from the parent: a new channel, or retire. */
static int
keys_ctl(struct keys_holder *kh, unsigned char *buf)
{
	struct keys_hdr	 h;
	int		 fd, rv;

	if ((rv = keys_recv(kh->ctl, buf, &h, &fd)) != BK_OK)
		return rv;
	if (h.type == KEYS_C_RETIRE) {
		kh->retired = 1;
	} else if (h.type == KEYS_C_CHAN && h.arg >= 0 &&
	    h.arg < KEYS_MAX_CHANS && fd >= 0) {
		if (kh->chan[h.arg] >= 0)
			close(kh->chan[h.arg]);
		kh->chan[h.arg] = fd;
		fd = -1;
	}
	if (fd >= 0)
		close(fd);
	return BK_OK;
}

/* Until retired (or the parent is gone) and every channel closed. */
static void
keys_holder_loop(struct keys_holder *kh)
{
	struct pollfd	 pf[KEYS_MAX_CHANS + 1];
	int		 slot[KEYS_MAX_CHANS + 1];
	unsigned char	*buf = malloc(KEYS_MSG_MAX + 1);
	nfds_t		 n, i;
	int		 rv;

	while (buf != NULL) {
		n = 0;
		if (!kh->retired) {
			pf[n].fd = kh->ctl;
			pf[n].events = POLLIN;
			slot[n++] = -1;
		}
		for (i = 0; i < KEYS_MAX_CHANS; i++)
			if (kh->chan[i] >= 0) {
				pf[n].fd = kh->chan[i];
				pf[n].events = POLLIN;
				slot[n++] = (int)i;
			}
		if (n == 0 || (poll(pf, n, -1) < 0 && errno != EINTR))
			break;
		for (i = 0; i < n; i++) {
			if ((pf[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
				continue;
			if (slot[i] < 0) {
				if (keys_ctl(kh, buf) == BK_E_IPC_PEER)
					kh->retired = 1;
			} else if ((rv = keys_serve(kh, slot[i], buf)) !=
			    BK_OK && rv != BK_E_NOT_FOUND)
				keys_chan_drop(kh, slot[i], rv == BK_E_IPC_MSG);
		}
	}
	free(buf);
}

static void __attribute__((noreturn))
keys_holder_main(const struct conf *c, int ctl, const int *close_fds,
    size_t nclose)
{
	struct keys_holder	 kh;
	struct keys_seal	 ready;
	struct bk_buf		 eb;
	size_t			 i;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* Nobody of the same uid may read this process's memory. */
	prctl(PR_SET_DUMPABLE, 0);
	signal(SIGPIPE, SIG_IGN);
	log_set_proc("keys");
	for (i = 0; i < nclose; i++)
		if (close_fds[i] >= 0)
			close(close_fds[i]);
	memset(&kh, 0, sizeof(kh));
	kh.conf = c;
	kh.ctl = ctl;
	for (i = 0; i < KEYS_MAX_CHANS; i++)
		kh.chan[i] = -1;
	bk_buf_init(&eb, KEYS_ERR_MAX);
	if ((kh.pkey = calloc(c->n_tenants + 1, sizeof(*kh.pkey))) == NULL ||
	    (kh.pkey_next = calloc(c->n_tenants + 1,
	    sizeof(*kh.pkey_next))) == NULL ||
	    keys_load_all(c, kh.pkey, kh.pkey_next, &eb) != BK_OK ||
	    keys_audit_load(c, &kh, &eb) != BK_OK) {
		(void)keys_send(ctl, KEYS_C_ERROR, 0, 0, eb.data ? eb.data :
		    "out of memory", eb.data ? eb.len : 13);
		_exit(1);
	}
	bk_buf_free(&eb);
	ready.epoch = kh.akey.epoch;
	ready.start = kh.akey.start;
	if (keys_send(ctl, KEYS_C_READY, 0, kh.akeyed, &ready,
	    sizeof(ready)) != BK_OK)
		_exit(1);
	keys_holder_loop(&kh);
	keys_free_all(kh.pkey, c->n_tenants);
	keys_free_all(kh.pkey_next, c->n_tenants);
	bk_chain_key_cleanup(&kh.akey);
	_exit(0);
}

/* --- the parent's side --- */

/* Wait for the holder's first word: READY, or ERROR with its text. */
static int
keys_wait_ready(struct keys *k, char **errors)
{
	struct pollfd	 pf = { k->ctl, POLLIN, 0 };
	struct keys_hdr	 h;
	unsigned char	*buf;
	int		 rv = BK_E_IPC_PEER;

	if ((buf = malloc(KEYS_MSG_MAX + 1)) == NULL)
		return BK_E_NOMEM;
	if (poll(&pf, 1, KEYS_READY_MS) == 1 &&
	    keys_recv(k->ctl, buf, &h, NULL) == BK_OK) {
		if (h.type == KEYS_C_READY && h.len == sizeof(k->akey)) {
			rv = BK_OK;
			k->akeyed = h.arg != 0;
			memcpy(&k->akey, buf + sizeof(h), sizeof(k->akey));
		} else if (h.type == KEYS_C_ERROR) {
			rv = BK_E_KEYS_LOAD;
			if ((*errors = malloc(h.len + 1)) != NULL) {
				memcpy(*errors, buf + sizeof(h), h.len);
				(*errors)[h.len] = '\0';
			}
		}
	}
	if (rv == BK_E_IPC_PEER && *errors == NULL)
		*errors = bk_strdup("the key holder did not start\n");
	free(buf);
	return rv;
}

int
keys_start(const struct conf *c, const int *close_fds, size_t n,
    struct keys **out, char **errors)
{
	struct keys	*k;
	int		 sv[2], rv;

	*out = NULL;
	*errors = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return BK_E_NOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		free(k);
		return BK_E_IO;
	}
	if ((k->pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		free(k);
		return BK_E_IO;
	}
	if (k->pid == 0) {
		close(sv[0]);
		keys_holder_main(c, sv[1], close_fds, n);
	}
	close(sv[1]);
	k->ctl = sv[0];
	if ((rv = keys_wait_ready(k, errors)) != BK_OK) {
		kill(k->pid, SIGKILL);
		waitpid(k->pid, NULL, 0);
		close(k->ctl);
		free(k);
		return rv;
	}
	*out = k;
	return BK_OK;
}

int
keys_chan_new(struct keys *k, int slot, int *worker_fd)
{
	union {
		struct cmsghdr	c;
		char		b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct keys_hdr	 h = { KEYS_C_CHAN, 0, slot, 0 };
	struct iovec	 iov = { &h, sizeof(h) };
	struct msghdr	 m;
	struct cmsghdr	*c;
	int		 sv[2], rv = BK_OK;

	*worker_fd = -1;
	if (slot < 0 || slot >= KEYS_MAX_CHANS)
		return BK_E_INVAL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return BK_E_IO;
	memset(&m, 0, sizeof(m));
	memset(&cm, 0, sizeof(cm));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cm.b;
	m.msg_controllen = sizeof(cm.b);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sv[1], sizeof(int));
	if (sendmsg(k->ctl, &m, MSG_NOSIGNAL) != (ssize_t)sizeof(h)) {
		close(sv[0]);
		rv = BK_E_IPC_PEER;
	} else
		*worker_fd = sv[0];
	close(sv[1]);
	return rv;
}

void
keys_chan_close(int worker_fd)
{
	if (worker_fd >= 0)
		close(worker_fd);
}

int
keys_poll(struct keys *k, int *compromised)
{
	struct keys_hdr	 h;
	unsigned char	*buf;
	int		 rv;

	*compromised = -1;
	if (k == NULL)
		return BK_OK;
	if ((buf = malloc(KEYS_MSG_MAX + 1)) == NULL)
		return BK_E_NOMEM;
	while ((rv = keys_recv(k->ctl, buf, &h, NULL)) == BK_OK)
		if (h.type == KEYS_C_COMPROMISED)
			*compromised = h.arg;
	free(buf);
	return rv == BK_E_NOT_FOUND ? BK_OK : rv;
}

void
keys_retire(struct keys *k)
{
	if (k == NULL)
		return;
	(void)keys_send(k->ctl, KEYS_C_RETIRE, 0, 0, NULL, 0);
	close(k->ctl);
	free(k);
}

pid_t
keys_pid(const struct keys *k)
{
	return k != NULL ? k->pid : 0;
}

int
keys_audit_key(const struct keys *k, unsigned long long *epoch,
    long long *start)
{
	if (k == NULL || !k->akeyed)
		return 0;
	*epoch = k->akey.epoch;
	*start = k->akey.start;
	return 1;
}

/* --- the worker's side --- */

/* One request and its answer at a time (the loop and the audit threads). */
static pthread_mutex_t	 keys_mu = PTHREAD_MUTEX_INITIALIZER;

/*
 * Send a request and wait for its answer (KEYS_M_SIG with the same id);
 * the answer's bytes into out (at most outmax), *outlen.
 */
static int
keys_ask(int fd, uint32_t type, int32_t arg, const void *hdr, size_t hlen,
    const void *data, size_t len, void *out, size_t outmax, size_t *outlen)
{
	static uint32_t	 seq;
	struct pollfd	 pf = { fd, POLLIN, 0 };
	struct keys_hdr	 h;
	unsigned char	*buf, *msg = NULL;
	uint32_t	 id;
	int		 rv;

	*outlen = 0;
	if ((buf = malloc(KEYS_MSG_MAX + 1)) == NULL ||
	    (hlen > 0 && (msg = malloc(hlen + len)) == NULL)) {
		free(buf);
		return BK_E_NOMEM;
	}
	if (hlen > 0) {
		memcpy(msg, hdr, hlen);
		memcpy(msg + hlen, data, len);
	}
	pthread_mutex_lock(&keys_mu);
	id = ++seq;
	rv = keys_send(fd, type, id, arg, hlen > 0 ? msg : data, hlen + len);
	/* An answer left over from a request a dead worker made is skipped. */
	while (rv == BK_OK) {
		rv = BK_E_IPC_PEER;
		if (poll(&pf, 1, KEYS_ANSWER_MS) != 1 ||
		    keys_recv(fd, buf, &h, NULL) != BK_OK)
			break;
		rv = BK_OK;
		if (h.type == KEYS_M_SIG && h.id == id)
			break;
	}
	pthread_mutex_unlock(&keys_mu);
	if (rv == BK_OK) {
		rv = h.arg;
		if (rv == BK_OK && (h.len == 0 || h.len > outmax))
			rv = BK_E_IPC_MSG;
		if (rv == BK_OK) {
			memcpy(out, buf + sizeof(h), h.len);
			*outlen = h.len;
		}
	}
	free(msg);
	OPENSSL_cleanse(buf, KEYS_MSG_MAX + 1);	/* a CEK may have been in it */
	free(buf);
	return rv;
}

int
keys_sign(int fd, size_t ti, const void *data, size_t len,
    unsigned char *sig, size_t *siglen)
{
	*siglen = 0;
	if (len == 0 || len > KEYS_DATA_MAX || ti > INT32_MAX)
		return BK_E_TOOBIG;
	if (fd < 0)
		return BK_E_IPC_PEER;
	return keys_ask(fd, KEYS_M_SIGN, (int32_t)ti, NULL, 0, data, len, sig,
	    KEYS_SIG_MAX, siglen);
}

static int
keys_seal_ask(int fd, uint32_t type, unsigned long long epoch,
    long long start, const void *msg, size_t len,
    char out[BK_DIGEST_HEX + 1])
{
	struct keys_seal q = { epoch, start };
	size_t		 n;
	int		 rv;

	if (len == 0 || len > KEYS_SEAL_MAX)
		return BK_E_TOOBIG;
	if (fd < 0)
		return BK_E_IPC_PEER;
	if ((rv = keys_ask(fd, type, 0, &q, sizeof(q), msg, len, out,
	    BK_DIGEST_HEX, &n)) == BK_OK && n != BK_DIGEST_HEX)
		rv = BK_E_IPC_MSG;
	out[rv == BK_OK ? BK_DIGEST_HEX : 0] = '\0';
	return rv;
}

int
keys_seal(void *fdp, unsigned long long epoch, long long start,
    const void *msg, size_t len, char out[BK_DIGEST_HEX + 1])
{
	return keys_seal_ask(*(const int *)fdp, KEYS_M_SEAL, epoch, start, msg,
	    len, out);
}

int
keys_mac(void *fdp, unsigned long long epoch, const void *msg, size_t len,
    char out[BK_DIGEST_HEX + 1])
{
	return keys_seal_ask(*(const int *)fdp, KEYS_M_MAC, epoch, 0, msg, len,
	    out);
}

int
keys_unwrap(int fd, size_t ti, int slot, int oaep_md, int mgf1_md,
    const unsigned char *wrapped, size_t len, unsigned char *cek,
    size_t cek_len)
{
	struct keys_unwrap_hd	 u;
	size_t			 got = 0;
	int			 rv;

	if (len == 0 || len > KEYS_WRAPPED_MAX || ti > INT32_MAX ||
	    (cek_len != 16 && cek_len != 24 && cek_len != 32))
		return BK_E_TOOBIG;
	if (fd < 0)
		return BK_E_IPC_PEER;
	u.slot = (uint8_t)slot;
	u.oaep_md = (uint8_t)oaep_md;
	u.mgf1_md = (uint8_t)mgf1_md;
	u.cek_len = (uint8_t)cek_len;
	rv = keys_ask(fd, KEYS_M_UNWRAP, (int32_t)ti, &u, sizeof(u), wrapped,
	    len, cek, cek_len, &got);
	if (rv == BK_OK && got != cek_len)
		rv = BK_E_IPC_MSG;
	if (rv != BK_OK)
		OPENSSL_cleanse(cek, cek_len);
	return rv;
}
