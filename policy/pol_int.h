/*
 * sso-broker: private declarations of the policy module (user mapping).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Shared between pol_user.c, pol_set.c, pol_csv.c and pol_plan.c only.
 * Trust: the CSV reader takes the raw upload.
 */
#ifndef BK_POL_INT_H
#define BK_POL_INT_H

#include <stddef.h>

#include <glib.h>
#include <jansson.h>

#include "pol.h"

/* Longest extension (digits) and the cap on a stored record's JSON text. */
#define POL_EXT_MAX		32
#define POL_RECORD_MAX		(32 * 1024)
/* Hard cap on the exported CSV (far above 1M rows of typical data). */
#define POL_EXPORT_MAX		((size_t)1024 * 1024 * 1024)
/* Columns we look at in a header row; more is a malformed file. */
#define POL_HEADER_MAX_COLS	256

/**
 * One CSV field: s (inside doc->text) is NULL when empty; at most
 * POL_FIELD_MAX + 1 bytes are kept, NUL bytes are turned into 0x01.
 */
struct pol_csv_field {
	char	*s;
	/* length in the file (may exceed what s holds) */
	size_t	 len;
	int	 has_nul;	/* a NUL byte was seen inside the kept part */
};

struct pol_csv_row {
	size_t	 line;		/* physical line where the row starts */
	size_t	 nf;		/* fields in the file */
	size_t	 nkept;		/* fields stored in f (at most the cap) */
	struct pol_csv_field *f;
};

struct pol_csv_doc {
	struct pol_csv_row *rows;	/* rows[0] is the header */
	char	*text;			/* arena holding every cell */
	size_t	 text_len;
	size_t	 text_cap;
	size_t	 n;
	size_t	 cap;
	size_t	 err_line;		/* for a malformed file */
	const char *err_why;		/* static text, or err_buf */
	char	 err_buf[192];
	char	 delim;			/* ',' or what the header used */
};

/**
 * Split csv into rows (libcsv strict mode).  A UTF-8 BOM at the start is
 * skipped, blank lines and rows of only empty fields are dropped.
 * The delimiter (',', ';' or tab) is the one the header line uses most;
 * Excel's text-forcing cell ="..." reads as its text; bytes that are not
 * UTF-8 are BK_E_POL_CSV_ENCODING, naming the line and byte.
 * @return BK_OK, BK_E_POL_CSV_MALFORMED or BK_E_POL_CSV_ENCODING
 *	(doc->err_line, doc->err_why), BK_E_NOMEM.  doc is always
 *	initialised; free with pol_csv_doc_cleanup().
 */
int	pol_csv_read(const char *csv, size_t len, size_t max_rows,
	    struct pol_csv_doc *doc);
void	pol_csv_doc_cleanup(struct pol_csv_doc *doc);

/** Map a header cell (already trimmed) to a column; -1 when unknown. */
int	pol_col_from_header(const char *h);

/** 1 if s[0..n) is valid UTF-8 without NUL. */
int	pol_utf8_is_valid(const char *s, size_t n);
/** 1 if the field needs a "'" prefix on export (spreadsheet formula). */
int	pol_is_formula_start(const char *s);
/** 1 if export must write "'" before v so that import reads v back. */
int	pol_field_export_prefix(enum pol_col c, const char *v);
/** Compare two optional strings (NULL == ""). */
int	pol_str_eq(const char *a, const char *b);
/** vasprintf wrapper: returned-owned or NULL. */
char	*pol_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The admin's confirmations, parsed (pol_confirm.c). */
struct pol_confirm {
	int		 zero_all;	/* confirm_zero=all */
	GHashTable	*ids;		/* confirm_zero IDs (a set), or NULL */
	char		*copy;		/* holds the keys of ids */
	int		 del_given;
	size_t		 del_count;
};

/**
 * Check and parse o->confirm_zero and o->confirm_delete into c (always
 * initialised; free with pol_confirm_cleanup()).
 * @return BK_OK, BK_E_POL_CONFIRM_INVALID with *why (static), BK_E_NOMEM.
 */
int	pol_confirm_parse(const struct pol_import_opts *o,
	    struct pol_confirm *c, const char **why);
void	pol_confirm_cleanup(struct pol_confirm *c);
/**
 * 1 if an extension of newv (normalised list) is not in oldv but equals
 * one of oldv's with its leading zeros removed (0101 -> 101).
 */
int	pol_ext_zero_dropped(const char *oldv, const char *newv);
/** Add a row's warning of kind k to p (values borrowed, copied). */
int	pol_row_warn(struct pol_plan *p, const struct pol_row *r,
	    enum pol_warn_kind k, int col, const char *oldv, const char *newv);
void	pol_warning_cleanup(struct pol_warning *w);
/**
 * After the rows of a valid plan: the deletion count's warning, the
 * confirmations applied to the warnings, and the hold if any is missing.
 * @return BK_OK, BK_E_POL_ZERO_UNCONFIRMED / BK_E_POL_DELETE_UNCONFIRMED
 *	(p->hold), BK_E_POL_CONFIRM_INVALID (p->fatal), BK_E_NOMEM.
 */
int	pol_plan_confirm(struct pol_plan *p, const struct pol_import_opts *o,
	    const struct pol_confirm *c);
/** Set o[k] to the string v, or null (jansson's error as non-zero). */
int	pol_json_str(json_t *o, const char *k, const char *v);
/** Add "warnings" (and "needs_confirmation" when held) to report o. */
int	pol_plan_warnings_json(const struct pol_plan *p, json_t *o);

#endif /* BK_POL_INT_H */
