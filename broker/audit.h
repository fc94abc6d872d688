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

#define AUDIT_VERSION	1

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
	const char	*key_id;	/* OpenID Connect: the key's kid */
	/* the broker's request the proof answers (InResponseTo, state) */
	const char	*in_response_to;
	/* who asked */
	const char	*client_addr;	/* believed (trusted_proxies) */
	const char	*peer_addr;	/* the TCP peer */
	const char	*client_addr_note;	/* why client_addr is the peer */
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
 * @return BK_OK (also when nothing changed), BK_E_IO, BK_E_AUDIT_WRITE.
 */
int	audit_reopen(struct audit *a);
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

/** Query filters; NULL/0 = any. */
struct audit_filter {
	const char	*tenant, *user, *outcome, *reason, *event,
	    *assertion_id;
	time_t		 since, until;
	size_t		 limit;		/* 0 = no limit */
};

/**
 * Call cb(line, len, arg) for every record matching f, oldest first; a
 * non-zero return from cb stops the scan (BK_E_IO).  Lines are borrowed
 * for the call.  *truncated set when limit was hit.  Safe to run in a
 * thread of its own (pread on a descriptor nobody else moves).
 */
int	audit_scan(struct audit *a, const struct audit_filter *f,
	    int (*cb)(const char *line, size_t len, void *arg), void *arg,
	    int *truncated);

struct audit_verify_result {
	int	 ok;
	size_t	 records;
	size_t	 chains;
	size_t	 first_bad_line;	/* 1-based, 0 if ok */
	char	 reason[160];
};
/** Walk the whole file and check every hash and link. */
int	audit_verify(struct audit *a, struct audit_verify_result *res);
/** Verify a file by path (tests and offline use). */
int	audit_verify_path(const char *path, struct audit_verify_result *res);

#endif /* BK_AUDIT_H */
