/*
 * sso-broker: the shared copy of the audit in Redis.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * One stream per tenant (and one broker-wide stream for records without a
 * tenant), the indexes that make a query by user, request id or assertion
 * id cheap, and the anchor of every chain's head.
 * The local file stays the record of authority (it survives a Redis
 * outage); the streams are what a query across the fleet reads, since
 * every broker appends to them.  The chain head kept here lets verify
 * notice records cut off the end of a file.
 * Trust: records read back from Redis are untrusted: the caller parses
 * them as it parses the file.
 */
#ifndef BK_STORE_AUDIT_H
#define BK_STORE_AUDIT_H

#include <stddef.h>

struct store;
struct store_map;

/*
 * The stream of records without a tenant (config_reload, admin routes
 * outside a tenant, audit reads): "bk:v1:{_broker}:audit".  A tenant id
 * never starts with '_', so it cannot meet a tenant's stream.
 */
#define STORE_AUDIT_BROKER	"_broker"

/**
 * Copy one record, as written to the file, to the shared stream of its
 * tenant (NULL: the broker-wide stream), index it (user, request id,
 * assertion id), trim the stream and indexes to [audit] stream_retention
 * and stream_max, and raise the chain's head in Redis when the record's
 * seq is above the one kept.  Fire and forget: nothing waits for the
 * answer, and nothing happens while the store is down.  Runs in a worker.
 * @param tenant	borrowed; NULL for a broker-wide record.
 * @param line		borrowed, the record (JSON) without its newline.
 */
void	store_audit_append(struct store *s, const char *tenant,
	    const char *line);

/* What the caller knows of a record, so that the line need not be parsed. */
struct store_audit_meta {
	/* the record's values exactly as written to it (NULL: absent) */
	const char		*user, *request_id, *assertion_id;
	/* a head of the chain (seq, hash), this record's or a later one */
	const char		*chain, *hash;
	unsigned long long	 seq;
};
/**
 * store_audit_append() with the values to index and anchor given (a
 * record is about 16 us of jansson to parse, several per sign-in).  The
 * values are borrowed for the call.
 */
void	store_audit_append_meta(struct store *s, const char *tenant,
	    const char *line, const struct store_audit_meta *m);

/**
 * The head of a chain as anchored in Redis.  cb gets rv BK_OK with the
 * seq and hash (borrowed, valid during the call) of the highest record
 * seen, BK_E_NOT_FOUND when the chain has no head there, or a store error
 * (BK_E_STORE_DOWN, BK_E_STORE_TIMEOUT, BK_E_STORE_REPLY); cb is called
 * exactly once, possibly before this returns.  Runs in a worker.
 * @param chain	borrowed, the chain id of the records.
 */
void	store_audit_head_lookup(struct store *s, const char *chain,
	    void (*cb)(int rv, unsigned long long seq, const char *hash,
	    void *arg), void *arg);

/* The index a query may use (at most one; none: the streams). */
enum store_audit_idx {
	STORE_AUDIT_IDX_NONE = 2, STORE_AUDIT_IDX_USER,
	STORE_AUDIT_IDX_REQUEST, STORE_AUDIT_IDX_ASSERTION
};

/**
 * One page of records from the streams, newest first (or oldest first).
 * Every string and the tenants array are borrowed until done is called.
 */
struct store_audit_q {
	/* the streams to read: tenant ids, STORE_AUDIT_BROKER for the rest */
	const char *const *tenants;
	size_t		 n_tenants;
	/* each tenant's stream is read on its store (NULL: all on s) */
	const struct store_map *stores;
	enum store_audit_idx idx;
	/* the user, request id or assertion id */
	const char	*idx_val;
	long long	 since_ms, until_ms;	/* 0: open */
	const char	*before;	/* a cursor from done, or NULL */
	int		 oldest_first;	/* 1: oldest first (export) */
	size_t		 limit;		/* records emitted at most */
	size_t		 budget;	/* entries examined at most */
	/* 1: the record matches (emit it), 0: skip it */
	int		(*match)(const char *line, size_t len, void *arg);
	/* 0 to go on; non-zero stops the page (done gets BK_E_IO) */
	int		(*emit)(const char *line, size_t len, void *arg);
	/*
	 * rv BK_OK, BK_E_INVAL (a cursor that does not parse), BK_E_NOMEM
	 * or a store error; next (borrowed, during the call) is the cursor
	 * of the next page, NULL when no record is left before this page.
	 */
	void		(*done)(int rv, const char *next, size_t examined,
			    void *arg);
	void		*arg;
};

/**
 * Run one page.  done is called exactly once, possibly before this
 * returns; match and emit are called in newest-first order before it.
 * Runs in a worker; every step is an asynchronous command, each reading
 * a bounded batch.
 */
void	store_audit_query(struct store *s, const struct store_audit_q *q);

/** 1 if s has the form of a cursor store_audit_query() hands out. */
int	store_audit_cursor_is_valid(const char *s);

#endif /* BK_STORE_AUDIT_H */
