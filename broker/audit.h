/*
 * sso-broker: the audit record (tamper-evident JSON lines).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * One record per decision, appended to [audit] path with a SHA-256 hash
 * chain: hash = SHA-256(prev || "\n" || record-without-hash), the record
 * serialised with sorted keys.  The parent opens the file (O_APPEND) and
 * the chain state lives in shared memory guarded by a robust
 * process-shared mutex, so every worker extends the same chain.  A write
 * that fails is an error the caller must treat as "refuse the sign-in".
 * Trust: record fields may hold untrusted strings; the JSON encoder
 * escapes them.  The file read back for queries is untrusted.
 */
#ifndef BK_AUDIT_H
#define BK_AUDIT_H

#include <stddef.h>
#include <time.h>

#include "chain.h"

#define AUDIT_VERSION	2	/* 2: the proof's fields, seal and epoch */

struct audit;

/**
 * Fields of one record (docs/security.md, "The audit record"); NULL fields
 * are omitted.  All borrowed.  On a rejection the proof's fields hold what
 * was read before the check that failed: as claimed, never verified.
 */
struct audit_rec {
	/* assertion, id_token, consent, code_issued, code_redeemed, ... */
	const char	*event;
	const char	*outcome;	/* accepted | rejected */
	/* slug from errors.def ("ok" when accepted) */
	const char	*reason;
	const char	*detail;
	const char	*tenant;
	/* the proof: SAML assertion or OpenID Connect ID token */
	const char	*issuer;
	const char	*name_id;	/* NameID, or the ID token's sub */
	const char	*user;		/* Salesforce username */
	const char	*internal_id;
	const char	*assertion_id;	/* assertion ID, or ID token digest */
	const char	*issue_instant;	/* IssueInstant, or iat */
	const char	*authn_instant;	/* AuthnInstant, or auth_time */
	const char	*session_index;
	const char	*sig_alg;
	const char	*digest_alg;
	const char	*cert_fingerprint;	/* SAML: the verifying cert */
	/* SHA-256 of the raw Response kept in <path>.raw (front_raw_keep) */
	const char	*raw_sha256;
	const char	*key_id;	/* OpenID Connect: the key's kid */
	/* the broker's request the proof answers (InResponseTo, state) */
	const char	*in_response_to;
	/* who asked */
	const char	*client_addr;	/* believed (trusted_proxies) */
	const char	*peer_addr;	/* the TCP peer */
	/* why client_addr is the peer although the peer is a trusted proxy */
	const char	*client_addr_note;
	const char	*user_agent;
	const char	*request_id;
	const char	*instance;	/* [server] instance */
	const char	*client_id;	/* the panel */
	const char	*credential;	/* the admin credential's name */
	/* a change: JSON object texts (ours, never request bytes) */
	const char	*before;
	const char	*after;
};

/**
 * Parent only: open (create 0600) path for appending and reading, set up
 * the shared chain state, continuing the chain found at the file's end.
 * @return BK_OK, BK_E_IO (with errno logged), BK_E_NOMEM.
 */
int	audit_open(const char *path, struct audit **out);
/**
 * Parent, on SIGHUP: when path is no longer the open file (it was moved
 * away: rotation), open the new file and continue the chain there; every
 * process switches at its next write.  The chain state is never reset.
 * push (or NULL) gets the new generation and the new file's descriptors
 * under the lock, before any process can see the generation move: the
 * parent hands them to its unprivileged workers (mon_push_audit()).
 * @return BK_OK (also when nothing changed), BK_E_IO, BK_E_AUDIT_WRITE.
 */
int	audit_reopen(struct audit *a,
	    void (*push)(unsigned long long fgen, int fd, int rfd));
void	audit_free(struct audit *a);

/**
 * Append one record (any process), whole or not at all.  Field values may
 * be any bytes: they are made valid UTF-8 and capped, never refused.
 * @return BK_OK, BK_E_AUDIT_WRITE (disk full, file-size limit, I/O error:
 * the caller refuses the sign-in with a 503), BK_E_NOMEM.
 */
int	audit_write(struct audit *a, const struct audit_rec *r);
/**
 * Same, and hand back the line as written (without the newline) in *line,
 * returned-owned, so the caller can copy it to the Redis audit stream.
 */
int	audit_write_line(struct audit *a, const struct audit_rec *r,
    char **line);

/**
 * Whether a record can be written now: false while the last write failed
 * (until the file system or the file-size limit has room for that record
 * again, or for AUDIT_RETRY_SEC after another error), or while a cheap
 * probe (free space, RLIMIT_FSIZE) says the file cannot take a record.
 * Any process; no lock, no I/O beyond fstat/fstatvfs.
 */
int	audit_is_ready(const struct audit *a);

/* Queries (filters, the files, the streams): audit_query.h. */

struct audit_verify_result {
	int	 ok;
	size_t	 records;
	size_t	 chains;
	size_t	 first_bad_line;	/* 1-based, 0 if ok */
	char	 reason[256];
};
/**
 * Walk the current file and check every seal and link, and that the chain
 * ends at the head in shared memory (records cut off the end).
 */
int	audit_verify(struct audit *a, struct audit_verify_result *res);
/** Verify a file by path, links and unkeyed hashes only (tests). */
int	audit_verify_path(const char *path, struct audit_verify_result *res);

/**
 * After audit_open() and before any fork, in a process that holds the key
 * itself (tests, tools; the daemon uses audit_key_public()): seal records
 * with the key in key_file (NULL, the daemon too: unkeyed SHA-256; a file
 * ending in sealed records then starts a new chain), a new key every
 * epoch_len seconds (lib/chain.h).  The key file is rewritten at once and
 * at every epoch with the current key only.  BK_E_AUDIT_KEY (unreadable,
 * not a key), BK_E_CONF_SECRET_PERM (group or others may read it),
 * BK_E_INVAL (epoch_len 0), BK_E_NOMEM.
 */
int	audit_key_set(struct audit *a, const char *key_file,
	    unsigned int epoch_len);
/* The key holder's audit seal and seal check (keys_seal(), keys_mac()). */
typedef int (*audit_seal_fn)(void *arg, unsigned long long epoch,
    long long start, const void *msg, size_t len, char out[65]);
typedef int (*audit_mac_fn)(void *arg, unsigned long long epoch,
    const void *msg, size_t len, char out[65]);
/**
 * Parent, instead of audit_key_set() in the daemon: records are sealed by
 * the key holder, which loaded [audit] key_file and found the key at
 * epoch with start; the chain's shared page keeps those two (a later
 * call, from a later holder, changes nothing).  Each process then names
 * its way to the holder with audit_sealer().
 */
void	audit_key_public(struct audit *a, unsigned long long epoch,
	    long long start, unsigned int epoch_len);
void	audit_sealer(struct audit *a, audit_seal_fn seal, audit_mac_fn mac,
	    void *arg);

/** The chain's head as the writers see it (under the lock). */
struct audit_head {
	char			 chain[BK_CHAIN_ID_MAX + 1];
	unsigned long long	 seq;		/* 0: nothing written yet */
	char			 hash[BK_DIGEST_HEX + 1];
	int			 keyed;
	long long		 epoch;		/* -1: unkeyed */
};
int	audit_head_get(struct audit *a, struct audit_head *h);
/**
 * Verify into v (initialised by the caller, maybe with anchors such as
 * the Redis head): the files rotated away beside the audit file when
 * rotated is set (oldest first), then the current file; the shared head is
 * one more anchor, and when records are keyed the current epoch's key
 * checks the seals of that epoch (older keys are gone: their seals need
 * the initial key, offline).  Safe in a thread (pread only).  BK_E_IO.
 */
int	audit_verify_chain(struct audit *a, struct bk_chain_verify *v,
	    int rotated);

/* --- durability (issue 9 items 4-6: audit.c's last section, audit_sync.c,
 * audit_agg.c) --- */

/** The seq of the newest record in the chain (any process, no lock). */
unsigned long long audit_seq(const struct audit *a);
/** The newest seq known to be on stable storage (fdatasync'ed). */
unsigned long long audit_synced_seq(const struct audit *a);
/**
 * One fdatasync(2) of the audit file for every record appended so far (by
 * any process), then publish it as synced: a group commit.  Takes the
 * chain lock only to read the seq and the descriptor; the flush runs
 * outside it, so writers go on meanwhile.  Any thread of any process.
 * @return BK_OK, BK_E_AUDIT_SYNC (errno logged, once a minute).
 */
int	audit_sync_now(struct audit *a);
/**
 * Free bytes of the audit file system, as the writer may use them.
 * @return BK_OK, BK_E_IO.
 */
int	audit_disk_free(const struct audit *a, unsigned long long *bytes);
/**
 * Whether the low-space warning is due now (at most once a minute across
 * every process); the caller logs it.
 */
int	audit_disk_warn_due(struct audit *a);
/**
 * Write r as one aggregated record: r's fields plus "count", "first" and
 * "last" (UTC times).  As audit_write_line() otherwise; *line may be NULL.
 */
int	audit_write_counted(struct audit *a, const struct audit_rec *r,
	    unsigned long long count, time_t first, time_t last, char **line);
/**
 * Take one of the max individual records junk may have in the window
 * (window = time / interval), shared by every process of this broker.
 * @return 1 when taken, 0 when the window's budget is spent.
 */
int	audit_junk_take(struct audit *a, long long window, unsigned int max);
/**
 * Parent, at start: cut a record the last writer left half written (a
 * kill -9 mid-write of the whole process tree) so the chain verifies up to
 * the last complete record.  Called by audit_open().
 */
void	audit_cut_partial(int fd, const char *path);

/**
 * Append one line (a JSON object, no newline) to the raw assertions' side
 * file <path>.raw, opened (0600) at the first use (in the parent:
 * audit_raw_prepare()), under the chain lock;
 * flushed with the next audit_sync_now() of this process.
 * @return BK_OK, BK_E_AUDIT_WRITE.
 */
int	audit_raw_append(struct audit *a, const char *line, size_t len);
/**
 * Parent, before forking workers that may keep raw assertions: open the
 * side file now (a worker cannot open it).  BK_OK, BK_E_AUDIT_WRITE.
 */
int	audit_raw_prepare(struct audit *a);
/** 1 while this process wrote to the side file since its last flush. */
int	audit_raw_is_dirty(const struct audit *a);

/* audit_sync.c: a worker's sync thread (fsync = true). */
struct audit_sync;
/**
 * Start the thread.  It waits for audit_sync_kick(), runs audit_sync_now()
 * and makes audit_sync_fd() readable; the loop then calls
 * audit_sync_ack().  a is borrowed and outlives the result.
 * NULL on failure (no memory, no thread, no eventfd).
 */
struct audit_sync *audit_sync_new(struct audit *a);
/** The descriptor that turns readable after each sync. */
int	audit_sync_fd(const struct audit_sync *s);
/** Ask for a sync (cheap; coalesces with one in progress). */
void	audit_sync_kick(struct audit_sync *s);
/** Consume the notification; the last sync's code (BK_OK or an error). */
int	audit_sync_ack(struct audit_sync *s);
/** Stop and join the thread.  NULL accepted. */
void	audit_sync_free(struct audit_sync *s);

/* audit_agg.c: pre-signature junk counted, not recorded one by one. */
#define AUDIT_AGG_MAX		128	/* keys per interval; then "other" */
/*
 * Own records junk may still have: [audit] junk_records a minute for the
 * whole broker (every worker; default 500, about 300 KB, so a flood stays
 * far below 1 MB of audit a minute while one bad post, or a test of one
 * attack, is on record at once), and half of that per key and interval.
 */
#define AUDIT_AGG_FREE_SEC	60

/**
 * 1 if (event, rv) is a refusal of input that never reached a verified
 * signature (a parse error, a size, a missing field, the method, a
 * signature that does not verify, an OAuth state nobody issued).
 */
int	audit_agg_is_junk(const char *event, int rv);
struct audit_agg;
/**
 * a is borrowed; interval in seconds; per_minute the broker's own junk
 * records a minute ([audit] junk_records).  NULL: no memory.
 */
struct audit_agg *audit_agg_new(struct audit *a, int interval,
	    unsigned int per_minute);
/**
 * Count one junk refusal.  All strings borrowed (tenant, addr may be
 * NULL); event must be a string constant.
 * @return 1 when the caller should write the record itself (the key's and
 * the broker's allowance for this interval), 0 when it was counted.
 */
int	audit_agg_add(struct audit_agg *g, const char *event, int rv,
	    const char *tenant, const char *addr, time_t now);
/**
 * Write one counted record per key that was counted, and start a new
 * interval.  cb(line, tenant, arg), when not NULL, gets each line written
 * (borrowed for the call), for the Redis stream.
 * @return BK_OK or the first write's error (the rest are still tried).
 */
int	audit_agg_flush(struct audit_agg *g,
	    void (*cb)(const char *line, const char *tenant, void *arg),
	    void *arg);
/** Records counted (not written one by one) since the start. */
unsigned long long audit_agg_counted(const struct audit_agg *g);
void	audit_agg_free(struct audit_agg *g);

/* --- end of durability --- */

#endif /* BK_AUDIT_H */
