/*
 * sso-broker: key custody: the SP keys and the audit key in one process.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The tenants' SP private keys and the audit sealing key live in one
 * small process, the key holder; workers (and the parent, for its audit
 * records) ask it over a socketpair and never hold the key bytes.
 *
 * As relayd's ca process and OpenSSH's privsep monitor do it: one holder
 * per configuration generation, forked by the parent (which never reads a
 * private key itself, so no worker forked from it has one in memory); one
 * SOCK_SEQPACKET channel per worker slot, its holder end passed with
 * SCM_RIGHTS.  The message set is narrow and every message's size is
 * checked against its type before it is read: a worker that sends anything
 * else (unknown type, wrong size, a tenant out of range) is treated as
 * compromised: the holder closes its channel and tells the parent, which
 * kills that worker and starts a new one on a new channel.
 * What stays in the workers, and why: the TLS listener key (the TLS stack
 * needs it per handshake), the panel and OAuth client secrets (compared or
 * sent per request), the admin token digest.  docs/security.md.
 * Trust: requests from workers are untrusted; the holder's answers are
 * trusted by workers (same generation, same configuration).
 */
#ifndef BK_KEYS_H
#define BK_KEYS_H

#include <stddef.h>
#include <sys/types.h>

struct conf;
struct keys;

/* Signatures: RSA-SHA256 (PKCS#1 v1.5) of at most KEYS_DATA_MAX bytes. */
#define KEYS_DATA_MAX	16384
#define KEYS_SIG_MAX	1024

/*
 * Parent: fork the holder of configuration c, which loads every tenant's
 * SP key (checked against its sp_cert) and answers.  close_fds (n of them,
 * -1 skipped) are closed in the holder first.  On a key that does not load
 * *errors holds "file: tenant id: reason" lines (returned-owned) and no
 * holder is left running.
 * @return BK_OK, BK_E_KEYS_LOAD, BK_E_IO, BK_E_NOMEM.
 */
int	keys_start(const struct conf *c, const int *close_fds, size_t n,
	    struct keys **out, char **errors);
/*
 * Parent: a new channel for worker slot, its holder end sent to the holder;
 * *worker_fd is the end the worker inherits (CLOEXEC off; the parent keeps
 * it for restarts and closes it with keys_chan_close()).
 */
int	keys_chan_new(struct keys *k, int slot, int *worker_fd);
void	keys_chan_close(int worker_fd);
/*
 * Parent, from its loop: read what the holder said.  *compromised is the
 * slot of a worker the holder cut off (-1 if none).  BK_OK, or BK_E_IPC_PEER
 * when the holder is gone.
 */
int	keys_poll(struct keys *k, int *compromised);
/* Parent: the holder exits once its channels are closed; free the handle. */
void	keys_retire(struct keys *k);
pid_t	keys_pid(const struct keys *k);

/*
 * --check-config: every SP key loads and matches its certificate, in this
 * process (which then exits).  Errors as keys_start().
 */
int	keys_check(const struct conf *c, char **errors);

/*
 * Worker: RSA-SHA256 signature by tenant index ti's SP key, over the
 * channel fd.  Blocks at most about a second.  Any thread.
 * @return BK_OK, BK_E_KEYS_NOKEY, BK_E_IPC_PEER (holder gone or slow),
 * BK_E_TOOBIG.
 */
int	keys_sign(int fd, size_t ti, const void *data, size_t len,
	    unsigned char *sig, size_t *siglen);

/* keys_unwrap(): the key slots and the digests of RSA-OAEP. */
#define KEYS_SLOT_CURRENT	0	/* sp_key */
#define KEYS_SLOT_NEXT		1	/* sp_next_key */
#define KEYS_MD_SHA1		1
#define KEYS_MD_SHA256		2
/* An EncryptedKey's CipherValue: RSA of at most 8192 bits. */
#define KEYS_WRAPPED_MAX	1024

/*
 * Worker: the content-encryption key of an EncryptedAssertion, unwrapped
 * by tenant index ti's key of slot (KEYS_SLOT_*) with RSA-OAEP (oaep_md,
 * mgf1_md: KEYS_MD_*; never PKCS#1 v1.5).  wrapped is the CipherValue
 * (1 to KEYS_WRAPPED_MAX bytes, borrowed); cek receives exactly cek_len
 * (16, 24 or 32) bytes, cleared on failure.  Blocks at most about a
 * second.
 * @return BK_OK, BK_E_KEYS_UNWRAP (not a key of this length under that
 * key: one status whatever the cause), BK_E_KEYS_NOKEY (no such slot),
 * BK_E_IPC_PEER, BK_E_TOOBIG.
 */
int	keys_unwrap(int fd, size_t ti, int slot, int oaep_md, int mgf1_md,
	    const unsigned char *wrapped, size_t len, unsigned char *cek,
	    size_t cek_len);

/* An audit seal covers at most this many bytes (a record and its link). */
#define KEYS_SEAL_MAX	(66 * 1024)
/*
 * Worker (and parent): the audit seal, HMAC-SHA256 under the [audit]
 * key_file key of epoch (the holder steps its key there, never back, and
 * writes it to the key file; start is the epoch's first second), of len
 * bytes of msg, as hex into out.  fdp points at the channel.  keys_mac()
 * is the same for a seal to check: the key stays where it is, and an
 * earlier epoch's key is gone (BK_E_NOT_FOUND).  Any thread.
 * @return BK_OK, BK_E_AUDIT_KEY (no key, or epoch is behind it),
 *	BK_E_NOT_FOUND, BK_E_TOOBIG, BK_E_IPC_PEER.
 */
int	keys_seal(void *fdp, unsigned long long epoch, long long start,
	    const void *msg, size_t len, char out[65]);
int	keys_mac(void *fdp, unsigned long long epoch, const void *msg,
	    size_t len, char out[65]);
/*
 * Parent: 1 when this holder loaded an [audit] key_file, with the key's
 * epoch and start as it found them (the chain's shared page keeps them;
 * the key bytes stay in the holder).
 */
int	keys_audit_key(const struct keys *k, unsigned long long *epoch,
	    long long *start);

#endif /* BK_KEYS_H */
