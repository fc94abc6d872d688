/*
 * sso-broker: audit queries: the filter, its parsing from the admin's
 * values, and the scan of the local files (the current one and the
 * rotated ones).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The same filter serves both sources: the shared streams
 * (store_audit.h) and the files.  It is pure but for audit_files_scan(),
 * which reads files and is made to run in a thread of its own.
 * Trust: filter values come from the admin; records, whether read from a
 * file or from Redis, are untrusted and parsed with jansson.
 */
#ifndef BK_AUDIT_QUERY_H
#define BK_AUDIT_QUERY_H

#include <stddef.h>

/* The tenant filter that picks the records without a tenant. */
#define AUDIT_QUERY_NO_TENANT	"_broker"

#define AUDIT_QUERY_NEED_MAX	8

/* Record fields a query can name; NULL = any.  All borrowed. */
struct audit_query {
	const char	*tenant, *user, *event, *outcome, *reason,
	    *request_id, *assertion_id, *client;
	long long	 since_ms, until_ms;	/* 0 = open; both inclusive */
	/* audit_query_compile(): the '"key":"value"' texts a match needs */
	char		*need[AUDIT_QUERY_NEED_MAX];
	size_t		 n_need;
};

/**
 * Make matching cheap (same result): a record written by audit.c is
 * compact JSON with ASCII escapes, so an exact filter's field appears in
 * it as '"key":<the value as jansson encodes it>'; a line without that
 * text is skipped before it is parsed.  Free with audit_query_cleanup().
 * @return BK_OK or BK_E_NOMEM.
 */
int	audit_query_compile(struct audit_query *q);
void	audit_query_cleanup(struct audit_query *q);

/**
 * A time bound as the admin writes it: RFC 3339 ("2026-12-03T08:00:00Z",
 * fractions and "+01:00" offsets too), a date alone ("2026-12-03": its
 * first millisecond, or with until its last one, so the day is in the
 * range), or epoch seconds.
 * @return BK_OK with *ms set, or BK_E_INVAL with *why.
 */
int	audit_query_time_parse(const char *s, int until, long long *ms,
	    const char **why);

/** 1 if the record line matches every field of q, else 0. */
int	audit_query_match(const struct audit_query *q, const char *line,
	    size_t len);

/*
 * A file cursor: where the previous page of a file query stopped, as
 * "<chain>.<seq>" of the last record it gave.
 */
#define AUDIT_FILE_CURSOR_MAX	96

/**
 * Scan the audit file at path and its rotated siblings (every regular
 * file of its directory whose name is the file's name followed by '.' or
 * '-' and anything but a compression suffix), oldest file first by
 * modification time, the current file last.
 * With newest_first (a query): emit, newest first, the last limit
 * records that match q and come before the cursor (NULL: from the end),
 * and set next to the cursor of the following page ("" when none is
 * left).  Without (an export): emit every match in file order, up to
 * limit (0: no limit).  emit returning non-zero stops the scan.
 * Runs in any thread; opens and reads the files itself.
 * @return BK_OK, BK_E_INVAL (the cursor names no record), BK_E_IO,
 *	BK_E_NOMEM, BK_E_TOOBIG (limit too large for newest_first).
 */
int	audit_files_scan(const char *path, const struct audit_query *q,
	    int newest_first, const char *cursor, size_t limit,
	    int (*emit)(const char *line, size_t len, void *arg), void *arg,
	    char next[AUDIT_FILE_CURSOR_MAX]);

/** 1 if s has the form of a file cursor. */
int	audit_file_cursor_is_valid(const char *s);

#endif /* BK_AUDIT_QUERY_H */
