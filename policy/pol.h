/*
 * sso-broker: policy and the user mapping (Salesforce username -> 8x8 profile).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Pure functions: no I/O, no globals, no clock.  The store loads and saves
 * what these functions compute.
 * Trust: CSV uploads and JSON bodies from the admin API, and stored records
 * read back from Redis (outside the trust boundary), are all untrusted.
 */
#ifndef BK_POL_H
#define BK_POL_H

#include <stddef.h>

/* Columns, in export order.  Header text via pol_col_name(). */
enum pol_col {
	POL_COL_INTERNAL_ID,	/* "8x8 Internal ID" (row key, required) */
	POL_COL_USER_NAME,	/* "User Name" */
	POL_COL_FIRST_NAME,	/* "First Name" */
	POL_COL_LAST_NAME,	/* "Last Name" */
	POL_COL_EMAIL,		/* "Email" */
	/* "Extension": one, or several separated by ';' */
	POL_COL_EXTENSION,
	POL_COL_SFDC_ID,	/* "Salesforce ID" (also "SFDC ID") */
	POL_COL_CUSTOM1,	/* "Custom Field 1" */
	POL_COL_CUSTOM2,
	POL_COL_CUSTOM3,
	POL_COL_COUNT
};

#define POL_FIELD_MAX		256	/* bytes per field */
#define POL_MAX_EXTENSIONS	16
#define POL_CSV_MAX		(64 * 1024 * 1024)
#define POL_MAX_ROWS		1000000

/** One profile.  f[i] is a returned-owned string, or NULL (absent/empty). */
struct pol_user {
	char	*f[POL_COL_COUNT];
};

const char *pol_col_name(enum pol_col c);
/** JSON key of a column in records and API bodies ("internal_id",
    "salesforce_id", ...). */
const char *pol_col_key(enum pol_col c);
void	pol_user_cleanup(struct pol_user *u);
int	pol_user_copy(const struct pol_user *src, struct pol_user *dst);

/**
 * Normalise a Salesforce username to its lookup key: ASCII lower-case.
 * Refuses (BK_E_POL_FIELD, *why set) empty, leading/trailing whitespace,
 * control bytes, over-long values and invalid UTF-8.  One rule, used both
 * when provisioning and when resolving an assertion (P29).
 */
int	pol_sfdc_key(const char *in, char **out, const char **why);
/**
 * Validate one field value for column c, in place normalising what the
 * contract allows (a leading "'" on Extension and Salesforce ID is
 * stripped; extensions are trimmed around ';').  *val may be replaced.
 */
int	pol_field_check(enum pol_col c, char **val, const char **why);
/** The first extension (the one the panel signs in to), returned-owned. */
char	*pol_user_primary_ext(const struct pol_user *u);

/** Store record (versioned JSON) <-> struct.  parse is strict (fuzzed). */
int	pol_user_build(const struct pol_user *u, char **json);
int	pol_user_parse(const char *json, size_t len, struct pol_user *out);

/* The current mapping of one tenant, in memory, for diffs and export. */
struct pol_userset;
int	pol_userset_new(struct pol_userset **out);
void	pol_userset_free(struct pol_userset *s);
/** Add u (consumed on BK_OK; on error the caller still owns it). */
int	pol_userset_add_take(struct pol_userset *s, struct pol_user *u);
const struct pol_user *pol_userset_get(const struct pol_userset *s,
    const char *id);
/**
 * The profile mapped to a Salesforce lookup key (from pol_sfdc_key()), or
 * NULL.  Borrowed, valid until s is freed or changed.
 */
const struct pol_user *pol_userset_get_sfdc(const struct pol_userset *s,
	    const char *key);
size_t	pol_userset_count(const struct pol_userset *s);
/**
 * Users sorted by internal ID; *arr is a returned-owned array of
 * borrowed pointers.
 */
int	pol_userset_sorted(const struct pol_userset *s,
    const struct pol_user ***arr,
	    size_t *n);

/** CSV export of every profile, headers first, in the template's order. */
int	pol_export_csv(const struct pol_userset *s, char **out, size_t *len);
/**
 * The same; with excel != 0, Extension cells and all-digit 8x8 Internal
 * IDs are written as ="0101" (Excel's text-forcing form, which the import
 * reads back as 0101), so that a spreadsheet opening the file keeps their
 * leading zeros.  Only digits and ';' are ever wrapped: no formula can
 * come of it.
 */
int	pol_export_csv_opts(const struct pol_userset *s, int excel,
	    char **out, size_t *len);

struct pol_import_opts {
	/* unknown internal IDs create profiles */
	int	allow_new;
	/* profiles absent from the file are deleted */
	int	delete_missing;
	/*
	 * The admin's confirmations, as given (borrowed, NULL = none; checked
	 * by pol_import_plan(), BK_E_POL_CONFIRM_INVALID):
	 * confirm_zero: "all", or the 8x8 Internal IDs (separated by ',') of
	 *	the rows whose dropped-leading-zero change is meant;
	 * confirm_delete: the number of deletions the admin expects, decimal.
	 */
	const char *confirm_zero;
	const char *confirm_delete;
};

enum pol_change { POL_ADDED = 2, POL_CHANGED, POL_UNCHANGED, POL_DELETED,
    POL_REJECTED };

struct pol_field_change {
	enum pol_col col;
	char	*old_val;	/* NULL = empty */
	char	*new_val;
};

/* One error of a rejected row. */
struct pol_row_err {
	int	 err;		/* BK_E_* */
	char	*column;	/* offending column header, or NULL */
	char	*reason;	/* human reason */
};

/* Every error of a row is kept, up to this many (then n_errs_more). */
#define POL_ROW_ERRS_MAX	16

/* What a warning is about (see docs/admin.md, "Warnings"). */
enum pol_warn_kind {
	POL_WARN_DROPPED_ZERO = 2,	/* blocking until confirmed */
	POL_WARN_DELETE_COUNT,		/* blocking until the count matches */
	POL_WARN_SFDC_CLEARED		/* information only */
};

struct pol_warning {
	enum pol_warn_kind kind;
	size_t	 row, line;	/* 0 for a file-level warning */
	char	*internal_id;	/* NULL for a file-level warning */
	int	 col;		/* enum pol_col, or -1 */
	char	*old_val, *new_val;
	char	*message;
	int	 blocking;	/* the import waits for a confirmation */
	int	 confirmed;
};

struct pol_row {
	/* physical line in the file where the row starts */
	size_t	 line;
	/* data row number, 1 = first row after the header */
	size_t	 row;
	enum pol_change kind;
	char	*internal_id;
	/* The first error of a rejected row (kept for older clients): */
	int	 err;		/* BK_E_* for rejected rows */
	/* offending column header for rejected rows, or NULL */
	char	*column;
	char	*reason;	/* human reason for rejected rows */
	/* every error of a rejected row, errs[0] being the one above */
	struct pol_row_err *errs;
	size_t	 n_errs, n_errs_more;
	/* an unconfirmed dropped-zero change: the row is held */
	int	 held;
	struct pol_field_change *changes;	/* for POL_CHANGED */
	size_t	 n_changes;
};

/** Redis operations that apply a plan (computed in C, applied atomically). */
struct pol_plan {
	struct pol_row *rows;		/* one per data row, plus deletions */
	size_t	 n_rows;
	size_t	 n_added, n_changed, n_unchanged, n_deleted, n_rejected;
	/* file-level error (header, malformed CSV), or NULL */
	char	*fatal;
	int	 fatal_err;
	char	**ignored_columns;	/* unknown headers, reported */
	size_t	 n_ignored;
	struct pol_warning *warnings;	/* in row order, file-level last */
	size_t	 n_warnings;
	/* the plan waits for a confirmation: why (BK_E_POL_*_UNCONFIRMED) */
	int	 hold_err;
	char	*hold;
	/* the confirmations an apply of this file needs, or NULL/-1 */
	char	*need_zero;		/* "1001,1003" for confirm_zero */
	long long need_delete;		/* for confirm_delete, or -1 */
	/* Valid only when n_rejected == 0 and fatal == NULL: */
	/* full new records of added/changed profiles */
	struct pol_user *upserts;
	size_t	 n_upserts;
	char	**deletes;		/* internal IDs to delete */
	size_t	 n_deletes;
	/* Salesforce keys to remove from the index */
	char	**index_del;
	size_t	 n_index_del;
	char	**index_set;		/* pairs: key, internal ID */
	size_t	 n_index_set;		/* number of pairs */
};

/**
 * Validate a whole CSV upload against the current mapping and compute the
 * change.  Nothing is applied here.  Only BK_OK gives the store
 * operations (upserts, deletes, index_*): a plan that waits for a
 * confirmation has none, so no caller can apply it by mistake.  The API
 * and the console both render the result with pol_plan_report().
 * @return BK_OK (plan applicable), BK_E_POL_ROW_INVALID (rows rejected, see
 *	plan->rows), BK_E_POL_CSV_MALFORMED / BK_E_POL_CSV_HEADER /
 *	BK_E_POL_CONFIRM_INVALID (plan->fatal), BK_E_POL_ZERO_UNCONFIRMED /
 *	BK_E_POL_DELETE_UNCONFIRMED (valid but waiting: plan->hold says what
 *	to confirm; a dry run shows it as a plan with warnings),
 *	BK_E_TOOBIG, BK_E_NOMEM.  *out is set whenever the return is not NOMEM.
 */
int	pol_import_plan(const char *csv, size_t len,
    const struct pol_userset *cur,
	    const struct pol_import_opts *o, struct pol_plan **out);
void	pol_plan_free(struct pol_plan *p);
/** The dry-run / result report as JSON (see docs/admin.md). */
int	pol_plan_report(const struct pol_plan *p, int applied, char **json);

/** What the admin API adds to a report (all borrowed; NULL: left out). */
struct pol_report_meta {
	int		 dry_run;
	const char	*error;		/* reason slug of a refusal */
	const char	*message;
	const char	*request_id;
};

/**
 * pol_plan_report() with the API's fields ("dry_run", and "error",
 * "message", "request_id" when set) in the same object, so that a
 * 100,000-row report is built and written once.  m NULL: as
 * pol_plan_report().  *json returned-owned.
 * @return BK_OK, BK_E_NOMEM.
 */
int	pol_plan_report_meta(const struct pol_plan *p, int applied,
	    const struct pol_report_meta *m, char **json);

/**
 * Single-profile edit: apply the JSON object body (keys from pol_col_key(),
 * string values; absent keys leave the field as it is, null or "" clears it)
 * to *u (which holds the current profile, or only internal_id when new).
 * @return BK_OK, BK_E_POL_FIELD / BK_E_INVAL with *why.
 */
int	pol_user_apply_json(struct pol_user *u, const char *json, size_t len,
	    const char **why);
/** JSON object of a profile for the admin API (keys from pol_col_key()). */
int	pol_user_to_api_json(const struct pol_user *u, char **json);

#endif /* BK_POL_H */
