/*
 * sso-broker: the audit record chain: its seal (SHA-256, or HMAC-SHA256
 * with a forward-secure epoch key) and its verification, shared by the
 * daemon (broker/audit.c) and ssoctl (offline verify).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A record is one JSON line with sorted keys; its "hash" is the seal of
 * prev "\n" canon, canon being the record without "hash" dumped compact,
 * keys sorted, ASCII only (docs/security.md, "Audit seal", gives the exact
 * bytes).  Keyed: HMAC-SHA256 with K_e, the key of the record's "epoch";
 * K_{e+1} = HMAC-SHA256(K_e, "sso-broker audit epoch " decimal(e+1)), so a
 * key taken from a machine cannot seal a record of an earlier epoch.
 * Trust: every line given to the verifier is untrusted.  Keys are erased
 * (OPENSSL_cleanse) when they step on or are freed, and never printed.
 */
#ifndef BK_CHAIN_H
#define BK_CHAIN_H

#include <stddef.h>

#include "bk.h"

#define BK_CHAIN_KEY_LEN	32
#define BK_CHAIN_ID_MAX		32	/* chain id: 32 hex */
#define BK_CHAIN_LINE_MAX	(64 * 1024)
#define BK_CHAIN_GENESIS \
	"0000000000000000000000000000000000000000000000000000000000000000"
/* The verifier steps a key at most this many epochs at one record. */
#define BK_CHAIN_EPOCH_JUMP_MAX	10000000ULL
#define BK_CHAIN_SEAL_SHA	"sha256"
#define BK_CHAIN_SEAL_HMAC	"hmac-sha256"
#define BK_CHAIN_EVOLVE_LABEL	"sso-broker audit epoch "
#define BK_CHAIN_ANCHORS_MAX	8

/** An epoch key: K_epoch, and when that epoch began (0: not known). */
struct bk_chain_key {
	unsigned long long	 epoch;
	long long		 start;
	unsigned char		 k[BK_CHAIN_KEY_LEN];
};

/** Step k forward to epoch to (>= k->epoch); the old key is erased. */
void	bk_chain_key_step(struct bk_chain_key *k, unsigned long long to);
/** Erase k. */
void	bk_chain_key_cleanup(struct bk_chain_key *k);
/**
 * Parse a key file's text: 64 hex digits (the initial key: epoch 0, start
 * unknown), or the state the broker keeps, {"epoch":E,"key":"hex",
 * "start":S}.  Surrounding white space is allowed.  BK_E_INVAL.
 */
int	bk_chain_key_parse(const char *text, size_t len,
	    struct bk_chain_key *k);
/**
 * Read the key file at path (a regular file of mode 0600; each failure
 * logged).  BK_OK, BK_E_AUDIT_KEY, BK_E_CONF_SECRET_PERM.
 */
int	bk_chain_key_load(const char *path, struct bk_chain_key *k);
/** Replace the key file at path with k (bk_file_replace()): 0 or errno. */
int	bk_chain_key_save(const char *path, const struct bk_chain_key *k);
/** The state form with a newline, returned-owned (a secret: zero it). */
int	bk_chain_key_build(const struct bk_chain_key *k, char **out,
	    size_t *len);
/**
 * The seal of msg (prev "\n" canon): hex SHA-256 when k is NULL, else hex
 * HMAC-SHA256 with k->k.  BK_E_INTERNAL when OpenSSL fails.
 */
int	bk_chain_seal(const struct bk_chain_key *k, const void *msg,
	    size_t len, char out[BK_DIGEST_HEX + 1]);

/** A head anchored outside the file (shared memory, Redis, --head). */
struct bk_chain_anchor {
	/* the chain, or "": the last chain of the files */
	char			 chain[BK_CHAIN_ID_MAX + 1];
	unsigned long long	 seq;
	char			 hash[BK_DIGEST_HEX + 1];
	char			 source[32];
	/* filled by the walk */
	int			 seen;
	char			 seen_hash[BK_DIGEST_HEX + 1];
	char			 seen_chain[BK_CHAIN_ID_MAX + 1];
	char			 seen_file[256];
	size_t			 seen_line;
};

/** The first record that is wrong, and why. */
struct bk_chain_bad {
	char			 file[256];
	size_t			 line;		/* 1-based */
	unsigned long long	 seq;		/* 0: not known */
	long long		 epoch;		/* -1: not known or unkeyed */
	/* edited, removed, reordered, cut, forged, malformed */
	const char		*kind;
	char			 reason[256];
};

struct bk_chain_verify {
	/* the key to check seals with (keyed) and the epoch it started at */
	int			 keyed;
	struct bk_chain_key	 key;
	unsigned long long	 key_epoch0;
	/*
	 * Or, keyed with key.epoch only: the seal of msg under the key of
	 * epoch computed elsewhere (the key holder).  BK_OK and out, or
	 * BK_E_NOT_FOUND (that epoch's key is gone: not checked).
	 */
	int			(*mac)(void *arg, unsigned long long epoch,
				    const void *msg, size_t len,
				    char out[BK_DIGEST_HEX + 1]);
	void			*mac_arg;
	struct bk_chain_anchor	 anchors[BK_CHAIN_ANCHORS_MAX];
	size_t			 n_anchors;
	/* the walk: the last good record */
	int			 started;
	char			 prev[BK_DIGEST_HEX + 1];
	char			 chain[BK_CHAIN_ID_MAX + 1];
	unsigned long long	 seq;
	long long		 epoch;		/* -1: unkeyed record */
	char			 file[256];	/* the file being read */
	char			 last_file[256];
	size_t			 last_line;
	/* results */
	int			 ok;
	size_t			 records, chains, files;
	size_t			 seals_checked, seals_unchecked;
	long long		 max_epoch;	/* highest epoch seen, -1 */
	int			 partial_tail;	/* an unterminated last line */
	struct bk_chain_bad	 bad;
	unsigned long long	 miss_lo, miss_hi;	/* removed seqs */
};

/** k0 NULL: no key (seals of keyed records are not checked). */
void	bk_chain_verify_init(struct bk_chain_verify *v,
	    const struct bk_chain_key *k0);
/** Add a head to compare with; BK_E_TOOBIG past BK_CHAIN_ANCHORS_MAX. */
int	bk_chain_verify_anchor(struct bk_chain_verify *v, const char *chain,
	    unsigned long long seq, const char *hash, const char *source);
/**
 * One line (len bytes, no newline; NULL: longer than BK_CHAIN_LINE_MAX).
 * BK_OK, or BK_E_AUDIT_CHAIN at the first failure (then v->bad); lines
 * after it are still read, to tell a reordering from a removal.
 */
int	bk_chain_verify_line(struct bk_chain_verify *v, size_t lineno,
	    const char *line, size_t len);
/** Every line of fd (read with pread from 0), named file.  BK_E_IO. */
int	bk_chain_verify_fd(struct bk_chain_verify *v, int fd,
	    const char *file);
/** After the last file: the anchors (a cut tail).  Returns v->ok. */
int	bk_chain_verify_end(struct bk_chain_verify *v);
/**
 * Seals hold through this epoch: every keyed record of an epoch up to it
 * verified.  -1: none (no key, no keyed record, or broken at epoch 0).
 */
long long bk_chain_verify_hold(const struct bk_chain_verify *v);
/**
 * The result as one JSON object (returned-owned text): ok, records,
 * chains, files, first_bad {file, line, seq, epoch, kind, reason}, seals
 * (unkeyed, not_checked, partly_checked, checked), seals_hold_through_epoch,
 * untrusted_from_epoch, head, anchors, partial_tail, notes; and
 * first_bad_line and reason as before.  No key material.  BK_E_NOMEM.
 */
int	bk_chain_verify_report(const struct bk_chain_verify *v,
	    const char *notes, char **out);
void	bk_chain_verify_cleanup(struct bk_chain_verify *v);

#endif /* BK_CHAIN_H */
