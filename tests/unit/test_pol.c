/*
 * sso-broker: unit tests of the user mapping (policy/pol_*.c).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Table-driven: each CSV case names the exact return code, row, column,
 * reason and line; plus round trip, username swap, records, API edits and
 * a 100,000-row sanity timing.
 * Trust: test data only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <glib.h>
#include <jansson.h>

#include "bk.h"
#include "pol.h"

/* ---------------------------------------------------------------- fixture */

static void
fx_add(struct pol_userset *s, const char *id, const char *user,
    const char *ext, const char *sfdc, const char *email)
{
	struct pol_user	 u;

	memset(&u, 0, sizeof(u));
	u.f[POL_COL_INTERNAL_ID] = strdup(id);
	u.f[POL_COL_USER_NAME] = user ? strdup(user) : NULL;
	u.f[POL_COL_FIRST_NAME] = strdup("First");
	u.f[POL_COL_LAST_NAME] = strdup("Last");
	u.f[POL_COL_EXTENSION] = ext ? strdup(ext) : NULL;
	u.f[POL_COL_SFDC_ID] = sfdc ? strdup(sfdc) : NULL;
	u.f[POL_COL_EMAIL] = email ? strdup(email) : NULL;
	assert_int_equal(pol_userset_add_take(s, &u), BK_OK);
	assert_null(u.f[POL_COL_INTERNAL_ID]);
}

/* 1001 alice, 1002 Bob (mixed case), 1003 without SSO. */
static struct pol_userset *
fx_set(void)
{
	struct pol_userset *s;

	assert_int_equal(pol_userset_new(&s), BK_OK);
	fx_add(s, "1001", "alice", "0101", "alice@acme.com", "alice@acme.com");
	fx_add(s, "1002", "bob", "0102", "Bob@Acme.com", "bob@acme.com");
	fx_add(s, "1003", "carol", "0103", NULL, NULL);
	return s;
}

/* delete_missing here means "and the count is confirmed" (a second run). */
static int
plan_run(const char *csv, int allow_new, int delete_missing,
    struct pol_userset *s, struct pol_plan **p)
{
	struct pol_import_opts	 o;
	char			 n[32];
	int			 rv;

	memset(&o, 0, sizeof(o));
	o.allow_new = allow_new;
	o.delete_missing = delete_missing;
	rv = pol_import_plan(csv, strlen(csv), s, &o, p);
	if (rv != BK_E_POL_DELETE_UNCONFIRMED)
		return rv;
	snprintf(n, sizeof(n), "%lld", (*p)->need_delete);
	pol_plan_free(*p);
	o.confirm_delete = n;
	return pol_import_plan(csv, strlen(csv), s, &o, p);
}

static const struct pol_row *
plan_row(const struct pol_plan *p, size_t row)
{
	size_t	 i;

	for (i = 0; i < p->n_rows; i++)
		if (p->rows[i].row == row && p->rows[i].kind != POL_DELETED)
			return &p->rows[i];
	return NULL;
}

/* The report must always build and be valid JSON with the summary. */
static void
check_report(const struct pol_plan *p)
{
	json_error_t	 e;
	json_t		*o;
	char		*js = NULL;

	assert_int_equal(pol_plan_report(p, 0, &js), BK_OK);
	o = json_loads(js, 0, &e);
	assert_non_null(o);
	assert_true(json_is_false(json_object_get(o, "applied")));
	assert_int_equal(json_integer_value(json_object_get(
	    json_object_get(o, "summary"), "rejected")), p->n_rejected);
	assert_int_equal(json_array_size(json_object_get(o, "rows")),
	    p->n_rows);
	if (p->fatal != NULL)
		assert_string_equal(json_string_value(json_object_get(o,
		    "error")), p->fatal);
	json_decref(o);
	free(js);
}

/* ------------------------------------------------- spreadsheet-made files */

/* Each file leaves 1001 as it is: the form parses to the stored values. */
static void
test_spreadsheet_forms(void **state)
{
	static const char *ok[] = {
		"8x8 Internal ID;Extension;Salesforce ID\n"
		    "1001;0101;alice@acme.com\n",
		"8x8 Internal ID\tExtension\tSalesforce ID\n"
		    "1001\t0101\talice@acme.com\n",
		"\xef\xbb\xbf" "8x8 Internal ID,Extension,Salesforce ID\n"
		    "1001,=\"0101\", alice@acme.com \n",
		"8x8 Internal ID,Extension,Salesforce ID\r\n"
		    "=\"1001\",\"=\"\"0101\"\"\",=\"alice@acme.com\"\r\n",
		"8x8 Internal ID;Extension;Salesforce ID\n"
		    "1001;=\"0101\";\"alice@acme.com\"\n",
	};
	struct pol_userset	*s = fx_set();
	struct pol_plan		*p;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(plan_run(ok[i], 0, 0, s, &p), BK_OK);
		assert_null(p->fatal);
		assert_int_equal(p->n_unchanged, 1);
		assert_int_equal(p->n_changed + p->n_rejected, 0);
		check_report(p);
		pol_plan_free(p);
	}
	pol_userset_free(s);
}

/* A Windows-1252 file: the error says what to do, and where. */
static void
test_spreadsheet_1252(void **state)
{
	static const char *bad[] = {
		"8x8 Internal ID,Extension,First Name\n1001,0101,Ren\xe9\n",
		"8x8 Internal ID;Extension\n1001;0101\n\xff\xfe;1\n",
		"\xef\xbb" "8x8 Internal ID\n1001\n",
		"8x8 Internal ID\n1001\x00\xe9\n",
	};
	static const size_t lens[] = { 0, 0, 0, 22 };
	struct pol_userset	*s = fx_set();
	struct pol_plan		*p;
	size_t			 i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = lens[i] ? lens[i] : strlen(bad[i]);
		assert_int_equal(pol_import_plan(bad[i], n, s, NULL, &p),
		    BK_E_POL_CSV_ENCODING);
		assert_non_null(p->fatal);
		assert_non_null(strstr(p->fatal, "save it as CSV UTF-8"));
		assert_non_null(strstr(p->fatal, "byte "));
		assert_int_equal(p->n_upserts, 0);
		pol_plan_free(p);
	}
	assert_int_equal(pol_import_plan(bad[0], strlen(bad[0]), s, NULL, &p),
	    BK_E_POL_CSV_ENCODING);
	assert_non_null(strstr(p->fatal, "line 2: byte 51 of the file (0xE9)"));
	pol_plan_free(p);
	pol_userset_free(s);
}

/* -------------------------------------------------------- row-level table */

#define H	"8x8 Internal ID"
#define HDR_ALL	"8x8 Internal ID,User Name,First Name,Last Name,Email," \
	"Extension,Salesforce ID,Custom Field 1,Custom Field 2,Custom Field 3\n"
#define L256	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

struct row_case {
	const char	*name;
	const char	*csv;
	int		 allow_new, delete_missing;
	int		 rv;		/* pol_import_plan() result */
	size_t		 row;		/* row to check, 0 = none */
	enum pol_change	 kind;
	int		 err;		/* for rejected rows */
	const char	*column;	/* for rejected rows */
	const char	*reason;	/* substring, or NULL */
	size_t		 line;		/* 0 = not checked */
	size_t		 row2;		/* another rejected row, 0 = none */
	size_t		 nrej;
};

static const struct row_case row_cases[] = {
	/* accepted */
	{ "any_order", "Extension," H "\n0109,1001\n", 0, 0, BK_OK, 1,
	    POL_CHANGED, 0, NULL, NULL, 2, 0, 0 },
	{ "crlf", H ",Extension\r\n1001,0109\r\n1002,0102\r\n", 0, 0, BK_OK,
	    2, POL_UNCHANGED, 0, NULL, NULL, 3, 0, 0 },
	{ "bom", "\xef\xbb\xbf" H ",Extension\n1001,0101\n", 0, 0, BK_OK, 1,
	    POL_UNCHANGED, 0, NULL, NULL, 2, 0, 0 },
	{ "quoted_comma_newline", H ",Custom Field 1,Extension\n"
	    "1001,\"a, b\nc\",0101\n1002,\"x\"\"y\",0102\n", 0, 0, BK_OK, 2,
	    POL_CHANGED, 0, NULL, NULL, 4, 0, 0 },
	{ "quoted_newline_first_cell", H ",Extension\n\"1001\",\"01\n\n\","
	    "\n1002,0102\n", 0, 0, BK_E_POL_ROW_INVALID, 1, POL_REJECTED,
	    BK_E_POL_ROW_SHAPE, NULL, "fields", 2, 0, 1 },
	{ "multiline_line_numbers", H ",Custom Field 2\n1001,\"l1\nl2\nl3\"\n"
	    "\n1002,z\n", 0, 0, BK_OK, 2, POL_CHANGED, 0, NULL, NULL, 6, 0, 0 },
	{ "leading_zeros", H ",Extension\n1001,00042\n", 0, 0, BK_OK, 1,
	    POL_CHANGED, 0, NULL, NULL, 2, 0, 0 },
	{ "apostrophe_ext", H ",Extension\n1001,'0101\n", 0, 0, BK_OK, 1,
	    POL_UNCHANGED, 0, NULL, NULL, 2, 0, 0 },
	{ "apostrophe_sfdc_and_id", H ",Salesforce ID\n'1001,'alice@acme.com\n",
	    0, 0, BK_OK, 1, POL_UNCHANGED, 0, NULL, NULL, 2, 0, 0 },
	{ "empty_sfdc_no_sso", H ",Salesforce ID\n1001,\n", 0, 0, BK_OK, 1,
	    POL_CHANGED, 0, NULL, NULL, 2, 0, 0 },
	{ "blank_lines", H ",Extension\n\n1001,0101\n\n  \n1002,0102\n", 0, 0,
	    BK_OK, 2, POL_UNCHANGED, 0, NULL, NULL, 6, 0, 0 },
	{ "empty_cells_row_skipped", H ",Extension\n,\n1001,0101\n", 0, 0,
	    BK_OK, 1, POL_UNCHANGED, 0, NULL, NULL, 3, 0, 0 },
	{ "header_case_space_alias", " 8X8 internal ID , sfdc id \n"
	    "1001,ALICE@acme.com\n", 0, 0, BK_OK, 1, POL_CHANGED, 0, NULL,
	    NULL, 2, 0, 0 },
	{ "multi_extension", H ",Extension\n1001,0101 ; 0201\n", 0, 0, BK_OK,
	    1, POL_CHANGED, 0, NULL, NULL, 2, 0, 0 },
	{ "unknown_header_ignored", H ",Department\n1001,Sales\n", 0, 0, BK_OK,
	    1, POL_UNCHANGED, 0, NULL, NULL, 2, 0, 0 },
	{ "allow_new_added", H ",Salesforce ID\n2001,new@acme.com\n", 1, 0,
	    BK_OK, 1, POL_ADDED, 0, NULL, NULL, 2, 0, 0 },
	{ "move_username_in_file", H ",Salesforce ID\n1003,alice@acme.com\n"
	    "1001,\n", 0, 0, BK_OK, 1, POL_CHANGED, 0, NULL, NULL, 2, 0, 0 },
	{ "delete_missing_frees_name", H ",Salesforce ID\n1003,bob@acme.com\n",
	    0, 1, BK_OK, 1, POL_CHANGED, 0, NULL, NULL, 2, 0, 0 },
	{ "email_cleared", H ",Email\n1001,\n", 0, 0, BK_OK, 1, POL_CHANGED,
	    0, NULL, NULL, 2, 0, 0 },
	{ "no_final_newline", H ",Extension\n1001,0101", 0, 0, BK_OK, 1,
	    POL_UNCHANGED, 0, NULL, NULL, 2, 0, 0 },
	{ "formula_quote_stripped", H ",First Name\n1001,'=cmd\n", 0, 0, BK_OK,
	    1, POL_CHANGED, 0, NULL, NULL, 2, 0, 0 },
	/* rejected: internal ID */
	{ "empty_internal_id", H ",Extension\n,0101\n", 0, 0,
	    BK_E_POL_ROW_INVALID, 1, POL_REJECTED, BK_E_POL_FIELD, H,
	    "8x8 Internal ID is empty", 2, 0, 1 },
	{ "unknown_internal_id", H "\n1001\n9999\n", 0, 0,
	    BK_E_POL_ROW_INVALID, 2, POL_REJECTED, BK_E_POL_ID_UNKNOWN, H,
	    "unknown 8x8 Internal ID 9999", 3, 0, 1 },
	{ "internal_id_with_space", H "\n\"1001 \"\n", 0, 0,
	    BK_E_POL_ROW_INVALID, 1, POL_REJECTED, BK_E_POL_FIELD, H,
	    "printable ASCII", 2, 0, 1 },
	{ "duplicate_internal_id", H ",Extension\n1001,0101\n1002,0102\n"
	    "1001,0103\n", 0, 0, BK_E_POL_ROW_INVALID, 3, POL_REJECTED,
	    BK_E_POL_DUP_ID, H, "already appears in row 1", 4, 1, 2 },
	/* rejected: Salesforce ID */
	{ "dup_sfdc_in_file_case", H ",Salesforce ID\n1001,x@acme.com\n"
	    "1002,X@ACME.com\n", 0, 0, BK_E_POL_ROW_INVALID, 2, POL_REJECTED,
	    BK_E_POL_DUP_SFDC, "Salesforce ID", "also used by row 1", 3, 1,
	    2 },
	{ "dup_sfdc_three_rows", H ",Salesforce ID\n1001,x@a.com\n1002,y@a.com"
	    "\n1003,x@a.com\n2001,X@a.com\n", 1, 0, BK_E_POL_ROW_INVALID, 4,
	    POL_REJECTED, BK_E_POL_DUP_SFDC, "Salesforce ID",
	    "also used by row 1", 5, 3, 3 },
	{ "dup_sfdc_existing", H ",Salesforce ID\n1003,ALICE@acme.com\n", 0, 0,
	    BK_E_POL_ROW_INVALID, 1, POL_REJECTED, BK_E_POL_DUP_SFDC,
	    "Salesforce ID", "already mapped to profile 1001", 2, 0, 1 },
	{ "dup_sfdc_sfdc_header", H ",SFDC ID\n1003,bob@acme.com\n", 0, 0,
	    BK_E_POL_ROW_INVALID, 1, POL_REJECTED, BK_E_POL_DUP_SFDC,
	    "Salesforce ID", "already mapped to profile 1002", 2, 0, 1 },
	/* A spreadsheet's stray space around a Salesforce ID is trimmed. */
	{ "sfdc_leading_space", H ",Salesforce ID\n1001,\" alice@acme.com\"\n",
	    0, 0, BK_OK, 1, POL_UNCHANGED, 0, NULL, NULL, 2, 0, 0 },
	{ "sfdc_trailing_space_unquoted", H ",Salesforce ID\n1001,a@b.c \n",
	    0, 0, BK_OK, 1, POL_CHANGED, 0, NULL, NULL, 2, 0, 0 },
	{ "sfdc_control", H ",Salesforce ID\n1001,a\x01@b.c\n", 0, 0,
	    BK_E_POL_ROW_INVALID, 1, POL_REJECTED, BK_E_POL_FIELD,
	    "Salesforce ID", "control", 2, 0, 1 },
	{ "sfdc_too_long", H ",Salesforce ID\n1001," L256 L256 L256 L256 "x\n",
	    0, 0, BK_E_POL_ROW_INVALID, 1, POL_REJECTED, BK_E_POL_FIELD,
	    "Salesforce ID", "longer than 256", 2, 0, 1 },
	/* rejected: extension */
	{ "ext_letters", H ",Extension\n1001,12a\n", 0, 0, BK_E_POL_ROW_INVALID,
	    1, POL_REJECTED, BK_E_POL_FIELD, "Extension", "digits", 2, 0, 1 },
	{ "ext_plus", H ",Extension\n1001,+4420\n", 0, 0, BK_E_POL_ROW_INVALID,
	    1, POL_REJECTED, BK_E_POL_FIELD, "Extension", "digits", 2, 0, 1 },
	{ "ext_excel_number", H ",Extension\n1001,1.01E+11\n", 0, 0,
	    BK_E_POL_ROW_INVALID, 1, POL_REJECTED, BK_E_POL_FIELD, "Extension",
	    "format the column as Text", 2, 0, 1 },
	{ "ext_33_digits", H ",Extension\n1001,"
	    "123456789012345678901234567890123\n", 0, 0, BK_E_POL_ROW_INVALID,
	    1, POL_REJECTED, BK_E_POL_FIELD, "Extension", "digits", 2, 0, 1 },
	{ "ext_empty_entry", H ",Extension\n1001,0101;;0102\n", 0, 0,
	    BK_E_POL_ROW_INVALID, 1, POL_REJECTED, BK_E_POL_FIELD, "Extension",
	    "empty entry", 2, 0, 1 },
	{ "ext_too_many", H ",Extension\n1001,1;2;3;4;5;6;7;8;9;10;11;12;13;14;"
	    "15;16;17\n", 0, 0, BK_E_POL_ROW_INVALID, 1, POL_REJECTED,
	    BK_E_POL_FIELD, "Extension", "more than 16", 2, 0, 1 },
	{ "ext_repeated", H ",Extension\n1001,0101;0101\n", 0, 0,
	    BK_E_POL_ROW_INVALID, 1, POL_REJECTED, BK_E_POL_FIELD, "Extension",
	    "twice", 2, 0, 1 },
	/* rejected: email */
	{ "email_two_at", H ",Email\n1001,a@b@c\n", 0, 0, BK_E_POL_ROW_INVALID,
	    1, POL_REJECTED, BK_E_POL_FIELD, "Email", "exactly one @", 2, 0, 1 },
	{ "email_no_at", H ",Email\n1001,ab\n", 0, 0, BK_E_POL_ROW_INVALID,
	    1, POL_REJECTED, BK_E_POL_FIELD, "Email", "one @", 2, 0, 1 },
	{ "email_empty_local", H ",Email\n1001,@b\n", 0, 0,
	    BK_E_POL_ROW_INVALID, 1, POL_REJECTED, BK_E_POL_FIELD, "Email",
	    "one @", 2, 0, 1 },
	{ "email_empty_domain", H ",Email\n1001,a@\n", 0, 0,
	    BK_E_POL_ROW_INVALID, 1, POL_REJECTED, BK_E_POL_FIELD, "Email",
	    "one @", 2, 0, 1 },
	{ "email_space", H ",Email\n1001,a b@c\n", 0, 0, BK_E_POL_ROW_INVALID,
	    1, POL_REJECTED, BK_E_POL_FIELD, "Email", "without spaces", 2, 0,
	    1 },
	/* rejected: any field */
	{ "field_too_long", H ",First Name\n1001," L256 L256 L256 L256 "y\n", 0,
	    0, BK_E_POL_ROW_INVALID, 1, POL_REJECTED, BK_E_POL_FIELD,
	    "First Name", "longer than 256 bytes", 2, 0, 1 },
	{ "field_control", H ",User Name\n1001,al\x1bice\n", 0, 0,
	    BK_E_POL_ROW_INVALID, 1, POL_REJECTED, BK_E_POL_FIELD, "User Name",
	    "control characters", 2, 0, 1 },
	{ "field_c1_control", H ",Last Name\n1001,a\xc2\x85" "b\n", 0, 0,
	    BK_E_POL_ROW_INVALID, 1, POL_REJECTED, BK_E_POL_FIELD, "Last Name",
	    "control characters", 2, 0, 1 },
	{ "row_more_fields", H ",Extension\n1001,0101,extra\n", 0, 0,
	    BK_E_POL_ROW_INVALID, 1, POL_REJECTED, BK_E_POL_ROW_SHAPE, NULL,
	    "3 fields; the header has 2", 2, 0, 1 },
	{ "row_fewer_fields", H ",Extension,Email\n1001,0101\n", 0, 0,
	    BK_E_POL_ROW_INVALID, 1, POL_REJECTED, BK_E_POL_ROW_SHAPE, NULL,
	    "2 fields; the header has 3", 2, 0, 1 },
	{ "second_row_bad_only", H ",Extension\n1001,0109\n1002,x\n", 0, 0,
	    BK_E_POL_ROW_INVALID, 2, POL_REJECTED, BK_E_POL_FIELD, "Extension",
	    "digits", 3, 0, 1 },
};

static void
test_row_case(void **state)
{
	const struct row_case	*c = *state;
	struct pol_userset	*s = fx_set();
	struct pol_plan		*p = NULL;
	const struct pol_row	*r;
	int			 rv;

	rv = plan_run(c->csv, c->allow_new, c->delete_missing, s, &p);
	assert_non_null(p);
	if (rv != c->rv && p->fatal != NULL)
		print_error("%s: fatal: %s\n", c->name, p->fatal);
	assert_int_equal(rv, c->rv);
	assert_null(p->fatal);
	assert_int_equal(p->n_rejected, c->nrej);
	if (c->row > 0) {
		assert_non_null(r = plan_row(p, c->row));
		if (r->kind != c->kind && r->reason != NULL)
			print_error("%s: %s\n", c->name, r->reason);
		assert_int_equal(r->kind, c->kind);
		if (c->line > 0)
			assert_int_equal(r->line, c->line);
		if (c->kind == POL_REJECTED) {
			assert_int_equal(r->err, c->err);
			if (c->column != NULL)
				assert_string_equal(r->column, c->column);
			else
				assert_null(r->column);
			assert_non_null(r->reason);
			if (c->reason != NULL &&
			    strstr(r->reason, c->reason) == NULL)
				fail_msg("%s: reason \"%s\" lacks \"%s\"",
				    c->name, r->reason, c->reason);
		}
	}
	if (c->row2 > 0) {
		assert_non_null(r = plan_row(p, c->row2));
		assert_int_equal(r->kind, POL_REJECTED);
		assert_int_equal(r->err, c->err);
	}
	if (rv != BK_OK) {
		/* Nothing is applied when any row is rejected. */
		assert_int_equal(p->n_upserts, 0);
		assert_int_equal(p->n_deletes, 0);
		assert_int_equal(p->n_index_set, 0);
		assert_int_equal(p->n_index_del, 0);
	}
	check_report(p);
	pol_plan_free(p);
	pol_userset_free(s);
}

/* ------------------------------------------------------- file-level table */

struct fatal_case {
	const char	*name;
	const char	*csv;
	int		 rv;
	const char	*msg;	/* substring of plan->fatal */
};

static const struct fatal_case fatal_cases[] = {
	{ "unterminated_quote", H ",Extension\n1001,\"0101\n1002,0102\n",
	    BK_E_POL_CSV_MALFORMED, "line 2: a quoted field is not closed" },
	{ "stray_quote", H ",Extension\n1001,0101\n1002,01\"02\n",
	    BK_E_POL_CSV_MALFORMED, "line 3: a quote" },
	{ "text_after_quote", H ",Extension\n\"1001\"x,0101\n",
	    BK_E_POL_CSV_MALFORMED, "line 2: a quote" },
	{ "empty_file", "", BK_E_POL_CSV_MALFORMED, "the file is empty" },
	{ "only_blank_lines", "\r\n\n  \n", BK_E_POL_CSV_MALFORMED,
	    "the file is empty" },
	{ "only_bom", "\xef\xbb\xbf", BK_E_POL_CSV_MALFORMED,
	    "the file is empty" },
	{ "missing_id_header", "User Name,Extension\nalice,0101\n",
	    BK_E_POL_CSV_HEADER, "\"8x8 Internal ID\" is missing" },
	{ "repeated_header", H ",Email, email \n1001,a@b,a@b\n",
	    BK_E_POL_CSV_HEADER, "\"Email\" appears more than once" },
	{ "sfdc_and_salesforce_id", H ",Salesforce ID,SFDC ID\n1001,a,a\n",
	    BK_E_POL_CSV_HEADER, "\"Salesforce ID\" appears more than once" },
	{ "repeated_id_header", H "," H "\n1001,1001\n", BK_E_POL_CSV_HEADER,
	    "\"8x8 Internal ID\" appears more than once" },
	/* A file that is not UTF-8 is refused whole, naming line and byte. */
	{ "header_bad_utf8", H ",Ext\xff\n1001,1\n", BK_E_POL_CSV_ENCODING,
	    "line 1: byte 20 of the file (0xFF)" },
	{ "sfdc_bad_utf8", H ",Salesforce ID\n1001,a\xc3@b.c\n",
	    BK_E_POL_CSV_ENCODING, "save it as CSV UTF-8" },
	{ "field_bad_utf8", H ",Last Name\n1001,Sm\xffth\n",
	    BK_E_POL_CSV_ENCODING, "line 2: byte 34 " },
	{ "field_overlong_utf8", H ",Custom Field 3\n1001,\xc0\xaf\n",
	    BK_E_POL_CSV_ENCODING, "(0xC0)" },
};

static void
test_fatal_case(void **state)
{
	const struct fatal_case	*c = *state;
	struct pol_userset	*s = fx_set();
	struct pol_plan		*p = NULL;
	int			 rv;

	rv = plan_run(c->csv, 1, 1, s, &p);
	assert_non_null(p);
	assert_int_equal(rv, c->rv);
	assert_int_equal(p->fatal_err, c->rv);
	assert_non_null(p->fatal);
	if (strstr(p->fatal, c->msg) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", c->name, p->fatal, c->msg);
	assert_int_equal(p->n_upserts, 0);
	assert_int_equal(p->n_deletes, 0);
	check_report(p);
	pol_plan_free(p);
	pol_userset_free(s);
}

static void
test_too_big(void **state)
{
	struct pol_import_opts	 o = { .allow_new = 0 };
	struct pol_userset	*s = fx_set();
	struct pol_plan		*p = NULL;
	char			*big;

	assert_non_null(big = malloc((size_t)POL_CSV_MAX + 1));
	memset(big, 'a', (size_t)POL_CSV_MAX + 1);
	assert_int_equal(pol_import_plan(big, (size_t)POL_CSV_MAX + 1, s, &o,
	    &p), BK_E_TOOBIG);
	assert_non_null(p);
	assert_int_equal(p->fatal_err, BK_E_TOOBIG);
	assert_non_null(p->fatal);
	pol_plan_free(p);
	free(big);
	pol_userset_free(s);
}

static void
test_too_many_rows(void **state)
{
	struct pol_import_opts	 o = { .allow_new = 1 };
	struct pol_userset	*s = fx_set();
	struct pol_plan		*p = NULL;
	size_t			 n = (size_t)POL_MAX_ROWS + 1, i, len;
	char			*csv, *q;

	len = sizeof(H) + n * 3;
	assert_non_null(csv = malloc(len));
	q = csv;
	memcpy(q, H "\n", sizeof(H));
	q += sizeof(H);
	for (i = 0; i < n; i++) {
		memcpy(q, "1\n", 2);
		q += 2;
	}
	assert_int_equal(pol_import_plan(csv, (size_t)(q - csv), s, &o, &p),
	    BK_E_POL_CSV_MALFORMED);
	assert_non_null(p->fatal);
	assert_non_null(strstr(p->fatal, "too many rows"));
	pol_plan_free(p);
	free(csv);
	pol_userset_free(s);
}

/* ------------------------------------------------------- plan operations */

static int
has_str(char **v, size_t n, const char *s)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

/* Apply index_del then index_set to the index of s, as the store does. */
static GHashTable *
apply_index(struct pol_userset *s, const struct pol_plan *p)
{
	const struct pol_user	**arr;
	GHashTable		*ix;
	const char		*why;
	char			*k;
	size_t			 n, i;

	ix = g_hash_table_new_full(g_str_hash, g_str_equal, free, free);
	assert_int_equal(pol_userset_sorted(s, &arr, &n), BK_OK);
	for (i = 0; i < n; i++)
		if (arr[i]->f[POL_COL_SFDC_ID] != NULL) {
			assert_int_equal(pol_sfdc_key(arr[i]->f[POL_COL_SFDC_ID],
			    &k, &why), BK_OK);
			g_hash_table_insert(ix, k,
			    strdup(arr[i]->f[POL_COL_INTERNAL_ID]));
		}
	free(arr);
	for (i = 0; i < p->n_index_del; i++)
		assert_true(g_hash_table_remove(ix, p->index_del[i]));
	for (i = 0; i < p->n_index_set; i++) {
		assert_false(g_hash_table_contains(ix, p->index_set[2 * i]));
		g_hash_table_insert(ix, strdup(p->index_set[2 * i]),
		    strdup(p->index_set[2 * i + 1]));
	}
	return ix;
}

static void
test_swap_usernames(void **state)
{
	struct pol_userset	*s = fx_set();
	struct pol_plan		*p = NULL;
	GHashTable		*ix;

	assert_int_equal(plan_run(H ",Salesforce ID\n1001,bob@acme.com\n"
	    "1002,Alice@Acme.com\n", 0, 0, s, &p), BK_OK);
	assert_int_equal(p->n_changed, 2);
	assert_int_equal(p->n_upserts, 2);
	assert_int_equal(p->n_index_del, 2);
	assert_int_equal(p->n_index_set, 2);
	assert_true(has_str(p->index_del, p->n_index_del, "alice@acme.com"));
	assert_true(has_str(p->index_del, p->n_index_del, "bob@acme.com"));
	ix = apply_index(s, p);
	assert_string_equal(g_hash_table_lookup(ix, "bob@acme.com"), "1001");
	assert_string_equal(g_hash_table_lookup(ix, "alice@acme.com"), "1002");
	assert_int_equal(g_hash_table_size(ix), 2);
	g_hash_table_destroy(ix);
	pol_plan_free(p);
	pol_userset_free(s);
}

static void
test_plan_contents(void **state)
{
	struct pol_userset	*s = fx_set();
	struct pol_plan		*p = NULL;
	const struct pol_row	*r;
	GHashTable		*ix;

	/* Partial update: only Extension is present, the rest is kept. */
	assert_int_equal(plan_run(H ",Extension\n1001,0109;0110\n", 0, 0, s,
	    &p), BK_OK);
	assert_int_equal(p->n_upserts, 1);
	assert_string_equal(p->upserts[0].f[POL_COL_EXTENSION], "0109;0110");
	assert_string_equal(p->upserts[0].f[POL_COL_SFDC_ID],
	    "alice@acme.com");
	assert_string_equal(p->upserts[0].f[POL_COL_FIRST_NAME], "First");
	assert_int_equal(p->n_index_del + p->n_index_set, 0);
	r = plan_row(p, 1);
	assert_int_equal(r->n_changes, 1);
	assert_int_equal(r->changes[0].col, POL_COL_EXTENSION);
	assert_string_equal(r->changes[0].old_val, "0101");
	assert_string_equal(r->changes[0].new_val, "0109;0110");
	pol_plan_free(p);

	/* Clearing a username removes its key. */
	assert_int_equal(plan_run(H ",Salesforce ID\n1002,\n", 0, 0, s, &p),
	    BK_OK);
	assert_int_equal(p->n_index_del, 1);
	assert_string_equal(p->index_del[0], "bob@acme.com");
	assert_int_equal(p->n_index_set, 0);
	assert_null(p->upserts[0].f[POL_COL_SFDC_ID]);
	pol_plan_free(p);

	/* Case-only change: the record changes, the key does not. */
	assert_int_equal(plan_run(H ",Salesforce ID\n1002,bob@acme.com\n", 0,
	    0, s, &p), BK_OK);
	assert_int_equal(p->n_changed, 1);
	assert_int_equal(p->n_index_del + p->n_index_set, 0);
	pol_plan_free(p);

	/* delete_missing: deletions and their keys. */
	assert_int_equal(plan_run(H ",Salesforce ID\n1003,bob@acme.com\n"
	    "2001,z@acme.com\n", 1, 1, s, &p), BK_OK);
	assert_int_equal(p->n_deleted, 2);
	assert_int_equal(p->n_deletes, 2);
	assert_int_equal(p->n_added, 1);
	assert_int_equal(p->n_changed, 1);
	assert_true(has_str(p->deletes, p->n_deletes, "1001"));
	assert_true(has_str(p->deletes, p->n_deletes, "1002"));
	ix = apply_index(s, p);
	assert_string_equal(g_hash_table_lookup(ix, "bob@acme.com"), "1003");
	assert_string_equal(g_hash_table_lookup(ix, "z@acme.com"), "2001");
	assert_null(g_hash_table_lookup(ix, "alice@acme.com"));
	g_hash_table_destroy(ix);
	pol_plan_free(p);

	/* Unknown headers are listed. */
	assert_int_equal(plan_run(H ",Dept, Notes \n1001,a,b\n", 0, 0, s, &p),
	    BK_OK);
	assert_int_equal(p->n_ignored, 2);
	assert_string_equal(p->ignored_columns[0], "Dept");
	assert_string_equal(p->ignored_columns[1], "Notes");
	pol_plan_free(p);
	pol_userset_free(s);
}

static void
test_round_trip(void **state)
{
	struct pol_userset	*s = fx_set();
	struct pol_user		 u;
	struct pol_plan		*p = NULL;
	char			*csv = NULL;
	size_t			 len;

	memset(&u, 0, sizeof(u));
	u.f[POL_COL_INTERNAL_ID] = strdup("1004");
	u.f[POL_COL_FIRST_NAME] = strdup("Quote \"Q\", Comma");
	u.f[POL_COL_LAST_NAME] = strdup("=1+2");
	u.f[POL_COL_CUSTOM1] = strdup("two\nlines");
	u.f[POL_COL_CUSTOM2] = strdup("'literal");
	u.f[POL_COL_CUSTOM3] = strdup("-5");
	u.f[POL_COL_EXTENSION] = strdup("0007;0008");
	u.f[POL_COL_SFDC_ID] = strdup("d@acme.com");
	u.f[POL_COL_EMAIL] = strdup("d@acme.com");
	assert_int_equal(pol_userset_add_take(s, &u), BK_OK);
	/* Values that really start with "'" where the reader strips one. */
	memset(&u, 0, sizeof(u));
	u.f[POL_COL_INTERNAL_ID] = strdup("'1005");
	u.f[POL_COL_SFDC_ID] = strdup("''e@acme.com");
	assert_int_equal(pol_userset_add_take(s, &u), BK_OK);
	assert_int_equal(pol_export_csv(s, &csv, &len), BK_OK);
	assert_int_equal(strncmp(csv, HDR_ALL, strlen(HDR_ALL)), 0);
	/* Formula cells are defused for spreadsheets. */
	assert_non_null(strstr(csv, ",'=1+2,"));
	assert_non_null(strstr(csv, ",'-5\n"));
	assert_int_equal(pol_import_plan(csv, len, s, NULL, &p), BK_OK);
	assert_int_equal(p->n_unchanged, 5);
	assert_int_equal(p->n_changed + p->n_added + p->n_rejected, 0);
	assert_int_equal(p->n_upserts, 0);
	check_report(p);
	pol_plan_free(p);
	free(csv);
	pol_userset_free(s);
}

static void
test_report_json(void **state)
{
	struct pol_userset	*s = fx_set();
	struct pol_plan		*p = NULL;
	json_error_t		 e;
	json_t			*o, *row, *ch;
	char			*js;

	fx_add(s, "1004", "dave", "0104", NULL, NULL);
	assert_int_equal(plan_run(H ",Extension,Salesforce ID,X\n"
	    "1001,0102,alice@acme.com,1\n1003,0103,bob@acme.com,2\n"
	    "1004,0104,,3\n", 0, 0, s, &p), BK_E_POL_ROW_INVALID);
	assert_int_equal(pol_plan_report(p, 0, &js), BK_OK);
	assert_non_null(o = json_loads(js, 0, &e));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o,
	    "summary"), "rejected")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o,
	    "summary"), "changed")), 1);
	row = json_array_get(json_object_get(o, "rows"), 1);
	assert_string_equal(json_string_value(json_object_get(row, "result")),
	    "rejected");
	assert_int_equal(json_integer_value(json_object_get(row, "row")), 2);
	assert_int_equal(json_integer_value(json_object_get(row, "line")), 3);
	assert_string_equal(json_string_value(json_object_get(row, "column")),
	    "Salesforce ID");
	assert_non_null(strstr(json_string_value(json_object_get(row,
	    "reason")), "already mapped to profile 1002"));
	row = json_array_get(json_object_get(o, "rows"), 0);
	ch = json_array_get(json_object_get(row, "changes"), 0);
	assert_string_equal(json_string_value(json_object_get(ch, "column")),
	    "Extension");
	assert_string_equal(json_string_value(json_object_get(ch, "old")),
	    "0101");
	assert_string_equal(json_string_value(json_object_get(ch, "new")),
	    "0102");
	row = json_array_get(json_object_get(o, "rows"), 2);
	assert_string_equal(json_string_value(json_object_get(row, "result")),
	    "unchanged");
	assert_string_equal(json_string_value(json_array_get(json_object_get(o,
	    "ignored_columns"), 0)), "X");
	assert_null(json_object_get(o, "error"));
	json_decref(o);
	free(js);
	pol_plan_free(p);
	pol_userset_free(s);
}

/* ------------------------------------------- held changes, confirmations */

struct guard_case {
	const char	*name;
	const char	*csv;
	int		 delete_missing;
	const char	*zero, *del;	/* confirmations */
	int		 rv;
	size_t		 nwarn, nheld;
	const char	*need_zero;	/* NULL: none needed */
	long long	 need_delete;
	const char	*text;		/* in hold or fatal, or NULL */
};

#define G1	H ",Extension\n"
static const struct guard_case guard_cases[] = {
	{ "zero_held", G1 "1001,101\n", 0, NULL, NULL,
	    BK_E_POL_ZERO_UNCONFIRMED, 1, 1, "1001", -1,
	    "row 1 (8x8 Internal ID 1001, 0101 -> 101): a spreadsheet may" },
	{ "zero_confirmed_id", G1 "1001,101\n1002,102\n", 0, "1002,1001", NULL,
	    BK_OK, 2, 0, NULL, -1, NULL },
	{ "zero_one_of_two", G1 "1001,101\n1002,102\n", 0, "1002", NULL,
	    BK_E_POL_ZERO_UNCONFIRMED, 2, 1, "1001", -1, "row 1 " },
	{ "zero_all", G1 "1001,101\n", 0, "all", NULL, BK_OK, 1, 0, NULL, -1,
	    NULL },
	{ "zero_in_list", G1 "1001,0101;202\n1002,102;0301\n", 0, NULL, NULL,
	    BK_E_POL_ZERO_UNCONFIRMED, 1, 1, "1002", -1, NULL },
	{ "zeros_added_no_warning", G1 "1001,00101\n", 0, NULL, NULL, BK_OK,
	    0, 0, NULL, -1, NULL },
	{ "other_digits_no_warning", G1 "1001,1010\n", 0, NULL, NULL, BK_OK,
	    0, 0, NULL, -1, NULL },
	{ "stray_confirm", G1 "1001,101\n", 0, "1001,1003", NULL,
	    BK_E_POL_CONFIRM_INVALID, 1, 0, NULL, -1,
	    "names 8x8 Internal ID 1003" },
	{ "empty_confirm", G1 "1001,101\n", 0, "", NULL,
	    BK_E_POL_CONFIRM_INVALID, 0, 0, NULL, -1, "confirm_zero must" },
	{ "empty_item", G1 "1001,101\n", 0, "1001,", NULL,
	    BK_E_POL_CONFIRM_INVALID, 0, 0, NULL, -1, "confirm_zero must" },
	{ "ctrl_item", G1 "1001,101\n", 0, "10\x01", NULL,
	    BK_E_POL_CONFIRM_INVALID, 0, 0, NULL, -1, NULL },
	{ "delete_held", H "\n1001\n", 1, NULL, NULL,
	    BK_E_POL_DELETE_UNCONFIRMED, 1, 0, NULL, 2,
	    "2 profiles would be deleted; confirm that count" },
	{ "delete_wrong", H "\n1001\n", 1, NULL, "1",
	    BK_E_POL_DELETE_UNCONFIRMED, 1, 0, NULL, 2, NULL },
	{ "delete_right", H "\n1001\n", 1, NULL, "2", BK_OK, 1, 0, NULL, -1,
	    NULL },
	{ "delete_one", H "\n1001\n1002\n", 1, NULL, NULL,
	    BK_E_POL_DELETE_UNCONFIRMED, 1, 0, NULL, 1,
	    "1 profile would be deleted" },
	{ "delete_none", H "\n1001\n1002\n1003\n", 1, NULL, NULL, BK_OK, 0, 0,
	    NULL, -1, NULL },
	{ "delete_none_wrong", H "\n1001\n1002\n1003\n", 1, NULL, "4",
	    BK_E_POL_DELETE_UNCONFIRMED, 1, 0, NULL, 0, NULL },
	{ "delete_not_number", H "\n1001\n", 1, NULL, "2x",
	    BK_E_POL_CONFIRM_INVALID, 0, 0, NULL, -1, "confirm_delete must" },
	{ "delete_negative", H "\n1001\n", 1, NULL, "-2",
	    BK_E_POL_CONFIRM_INVALID, 0, 0, NULL, -1, NULL },
	{ "delete_huge", H "\n1001\n", 1, NULL, "10000000",
	    BK_E_POL_CONFIRM_INVALID, 0, 0, NULL, -1, NULL },
	{ "delete_without_mode", H "\n1001\n", 0, NULL, "2",
	    BK_E_POL_CONFIRM_INVALID, 0, 0, NULL, -1, "only meaningful" },
	{ "both_held", G1 "1001,101\n", 1, NULL, "2",
	    BK_E_POL_ZERO_UNCONFIRMED, 2, 1, "1001", -1, NULL },
	{ "both_held_msg", G1 "1001,101\n", 1, NULL, NULL,
	    BK_E_POL_ZERO_UNCONFIRMED, 2, 1, "1001", 2, "; also: 2 profiles" },
	{ "sfdc_cleared_info", H ",Salesforce ID\n1001,\n", 0, NULL, NULL,
	    BK_OK, 1, 0, NULL, -1, NULL },
	/* the warning is shown, but the rejected row decides */
	{ "rejected_wins", G1 "1001,101\n1002,x\n", 0, NULL, NULL,
	    BK_E_POL_ROW_INVALID, 1, 0, NULL, -1, NULL },
};

static void
test_guard_case(void **state)
{
	const struct guard_case	*c = *state;
	struct pol_userset	*s = fx_set();
	struct pol_import_opts	 o;
	struct pol_plan		*p = NULL;
	const char		*t;
	size_t			 i, held = 0;
	int			 rv;

	memset(&o, 0, sizeof(o));
	o.delete_missing = c->delete_missing;
	o.confirm_zero = c->zero;
	o.confirm_delete = c->del;
	rv = pol_import_plan(c->csv, strlen(c->csv), s, &o, &p);
	assert_non_null(p);
	if (rv != c->rv)
		print_error("%s: %d %s %s\n", c->name, rv, p->fatal ?
		    p->fatal : "", p->hold ? p->hold : "");
	assert_int_equal(rv, c->rv);
	assert_int_equal(p->n_warnings, c->nwarn);
	for (i = 0; i < p->n_rows; i++)
		held += p->rows[i].held != 0;
	assert_int_equal(held, c->nheld);
	if (c->rv == BK_E_POL_ZERO_UNCONFIRMED ||
	    c->rv == BK_E_POL_DELETE_UNCONFIRMED) {
		assert_non_null(p->hold);
		assert_int_equal(p->hold_err, c->rv);
		/* held: nothing a store could apply */
		assert_int_equal(p->n_upserts + p->n_deletes, 0);
		if (c->need_zero != NULL)
			assert_string_equal(p->need_zero, c->need_zero);
		else
			assert_null(p->need_zero);
		assert_int_equal(p->need_delete, c->need_delete);
	} else
		assert_null(p->hold);
	if (c->rv == BK_OK)
		assert_int_equal(p->n_upserts, p->n_changed + p->n_added);
	if (c->text != NULL) {
		t = p->hold != NULL ? p->hold : p->fatal;
		assert_non_null(t);
		if (strstr(t, c->text) == NULL)
			fail_msg("%s: \"%s\" not in \"%s\"", c->name, c->text, t);
	}
	check_report(p);
	pol_plan_free(p);
	pol_userset_free(s);
}

/* Every error of a row, the first one also where older clients read it. */
static void
test_every_row_error(void **state)
{
	struct pol_userset	*s = fx_set();
	struct pol_plan		*p = NULL;
	const struct pol_row	*r;
	const char		*csv = H ",Extension,Email,Salesforce ID\n"
	    "9999,12a,a@b@c,x\x01y\n1001,0101,,\n";
	json_error_t		 e;
	json_t			*o, *errs;
	char			*js;

	(void)state;
	assert_int_equal(plan_run(csv, 0, 0, s, &p), BK_E_POL_ROW_INVALID);
	assert_non_null(r = plan_row(p, 1));
	assert_int_equal(r->n_errs, 4);
	assert_int_equal(r->errs[0].err, BK_E_POL_ID_UNKNOWN);
	assert_string_equal(r->errs[1].column, "Email");
	assert_string_equal(r->errs[2].column, "Extension");
	assert_string_equal(r->errs[3].column, "Salesforce ID");
	assert_int_equal(r->err, BK_E_POL_ID_UNKNOWN);
	assert_string_equal(r->column, H);
	assert_ptr_equal(r->reason, r->errs[0].reason);
	assert_int_equal(pol_plan_report(p, 0, &js), BK_OK);
	o = json_loads(js, 0, &e);
	errs = json_object_get(json_array_get(json_object_get(o, "rows"), 0),
	    "errors");
	assert_int_equal(json_array_size(errs), 4);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(errs, 3), "code")), "field_invalid");
	json_decref(o);
	free(js);
	pol_plan_free(p);
	pol_userset_free(s);
}

/* A Salesforce ID in many rows: the first row's list is capped. */
static void
test_row_errors_capped(void **state)
{
	struct pol_userset	*s = fx_set();
	struct pol_plan		*p = NULL;
	const struct pol_row	*r;
	GString			*g = g_string_new(H ",Salesforce ID\n");
	int			 i;

	(void)state;
	for (i = 0; i < 40; i++)
		g_string_append_printf(g, "n%d,same@acme.com\n", i);
	assert_int_equal(plan_run(g->str, 1, 0, s, &p), BK_E_POL_ROW_INVALID);
	assert_non_null(r = plan_row(p, 1));
	assert_int_equal(r->n_errs, POL_ROW_ERRS_MAX);
	assert_int_equal(r->n_errs_more, 39 - POL_ROW_ERRS_MAX);
	check_report(p);
	pol_plan_free(p);
	pol_userset_free(s);
	g_string_free(g, TRUE);
}

/* ------------------------------------------------------------ 100k rows */

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_100k(void **state)
{
	struct pol_userset	*s;
	struct pol_user		 u;
	struct pol_plan		*p = NULL;
	GString			*g;
	char			 id[32], ext[32], sf[64];
	size_t			 i, n = 100000;
	const char		*pre;
	double			 t0, dt;

	assert_int_equal(pol_userset_new(&s), BK_OK);
	g = g_string_new("8x8 Internal ID,User Name,First Name,Last Name,"
	    "Email,Extension,Salesforce ID,Custom Field 1,Custom Field 2,"
	    "Custom Field 3\r\n");
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "u%07zu", i);
		snprintf(ext, sizeof(ext), "%05zu", i);
		snprintf(sf, sizeof(sf), "user%zu@example.com", i);
		memset(&u, 0, sizeof(u));
		u.f[POL_COL_INTERNAL_ID] = strdup(id);
		u.f[POL_COL_EXTENSION] = strdup(ext);
		u.f[POL_COL_SFDC_ID] = strdup(sf);
		u.f[POL_COL_EMAIL] = strdup(sf);
		u.f[POL_COL_FIRST_NAME] = strdup("First");
		assert_int_equal(pol_userset_add_take(s, &u), BK_OK);
		/* Every tenth row changes its extension. */
		g_string_append_printf(g, "%s,user%zu,First,Last %zu,%s,%s%s,"
		    "%s,\"c, 1\",c2,c3\r\n", id, i, i, sf, i % 10 ? "" : "9",
		    ext, sf);
	}
	t0 = now_s();
	assert_int_equal(pol_import_plan(g->str, g->len, s, NULL, &p), BK_OK);
	dt = now_s() - t0;
	print_message("100k rows planned in %.3f s\n", dt);
	/* A sanity bound, not a benchmark; valgrind runs ~50x slower. */
	pre = getenv("LD_PRELOAD");
	if (pre == NULL || strstr(pre, "vgpreload") == NULL)
		assert_true(dt < 10.0);
	assert_int_equal(p->n_rows, n);
	assert_int_equal(p->n_changed, n);	/* names and custom fields */
	assert_int_equal(p->n_index_del + p->n_index_set, 0);
	pol_plan_free(p);
	g_string_free(g, TRUE);
	pol_userset_free(s);
}

/* ------------------------------------------------------ fields and keys */

struct key_case {
	const char	*in;
	int		 rv;
	const char	*key;
};

static const struct key_case key_cases[] = {
	{ "Alice@Acme.COM", BK_OK, "alice@acme.com" },
	{ "j\xc3\xb6rg@acme.com", BK_OK, "j\xc3\xb6rg@acme.com" },
	{ "\xc3\x96@acme.com", BK_OK, "\xc3\x96@acme.com" },	/* no Unicode fold */
	{ "", BK_E_POL_FIELD, NULL },
	{ " a@b", BK_E_POL_FIELD, NULL },
	{ "a@b ", BK_E_POL_FIELD, NULL },
	{ "a@b\t", BK_E_POL_FIELD, NULL },
	{ "a\n@b", BK_E_POL_FIELD, NULL },
	{ "a\x7f@b", BK_E_POL_FIELD, NULL },
	{ "a\xe2\x82@b", BK_E_POL_FIELD, NULL },
	{ "\xed\xa0\x80@b", BK_E_POL_FIELD, NULL },	/* surrogate */
	{ L256 L256 L256 L256 "x", BK_E_POL_FIELD, NULL },
};

static void
test_sfdc_key(void **state)
{
	const char	*why;
	char		*k;
	size_t		 i;

	for (i = 0; i < BK_NELEM(key_cases); i++) {
		assert_int_equal(pol_sfdc_key(key_cases[i].in, &k, &why),
		    key_cases[i].rv);
		if (key_cases[i].key != NULL)
			assert_string_equal(k, key_cases[i].key);
		else {
			assert_null(k);
			assert_non_null(why);
		}
		free(k);
	}
	assert_int_equal(pol_sfdc_key(NULL, &k, &why), BK_E_POL_FIELD);
}

struct field_case {
	enum pol_col	 col;
	const char	*in;
	int		 rv;
	const char	*out;	/* normalised, NULL = cleared */
};

static const struct field_case field_cases[] = {
	{ POL_COL_EXTENSION, "'0101", BK_OK, "0101" },
	{ POL_COL_EXTENSION, " 01 ; 02 ", BK_OK, "01;02" },
	{ POL_COL_EXTENSION, "", BK_OK, NULL },
	{ POL_COL_EXTENSION, "'", BK_OK, NULL },
	{ POL_COL_EXTENSION, "12;", BK_E_POL_FIELD, NULL },
	{ POL_COL_EXTENSION, "1*2", BK_E_POL_FIELD, NULL },
	{ POL_COL_EXTENSION, "12345678901234567890123456789012", BK_OK,
	    "12345678901234567890123456789012" },
	{ POL_COL_INTERNAL_ID, "", BK_E_POL_FIELD, NULL },
	{ POL_COL_INTERNAL_ID, "'abc-123", BK_OK, "abc-123" },
	{ POL_COL_INTERNAL_ID, "ab\xc3\xa9", BK_E_POL_FIELD, NULL },
	{ POL_COL_SFDC_ID, "'Alice@acme.com", BK_OK, "Alice@acme.com" },
	{ POL_COL_SFDC_ID, "", BK_OK, NULL },
	{ POL_COL_FIRST_NAME, "  Zo\xc3\xab  ", BK_OK, "Zo\xc3\xab" },
	{ POL_COL_FIRST_NAME, "'=x", BK_OK, "=x" },
	{ POL_COL_FIRST_NAME, "'x", BK_OK, "'x" },
	{ POL_COL_CUSTOM1, "a\nb", BK_OK, "a\nb" },
	{ POL_COL_USER_NAME, "a\nb", BK_E_POL_FIELD, NULL },
	{ POL_COL_EMAIL, " a@b.c ", BK_OK, "a@b.c" },
	{ POL_COL_EMAIL, "a@b.c\x01", BK_E_POL_FIELD, NULL },
	/* spaces (and U+00A0) around the spreadsheet forms are trimmed */
	{ POL_COL_EXTENSION, " '0101 ", BK_OK, "0101" },
	{ POL_COL_EXTENSION, " =\"0101\" ", BK_OK, "0101" },
	{ POL_COL_EXTENSION, "\xc2\xa0" "0101\xc2\xa0", BK_OK, "0101" },
	{ POL_COL_EXTENSION, "\t0101;\xc2\xa0" "0202 ", BK_OK, "0101;0202" },
	{ POL_COL_SFDC_ID, " 'a@b.c\xc2\xa0", BK_OK, "a@b.c" },
	{ POL_COL_INTERNAL_ID, " 1001", BK_E_POL_FIELD, NULL },
};

static void
test_field_check(void **state)
{
	const char	*why;
	char		*v;
	size_t		 i;
	int		 rv;

	for (i = 0; i < BK_NELEM(field_cases); i++) {
		v = strdup(field_cases[i].in);
		rv = pol_field_check(field_cases[i].col, &v, &why);
		if (rv != field_cases[i].rv)
			fail_msg("field case %zu: %d, %s", i, rv,
			    why ? why : "");
		if (rv == BK_OK && field_cases[i].out != NULL)
			assert_string_equal(v, field_cases[i].out);
		else if (rv == BK_OK)
			assert_null(v);
		else
			assert_non_null(why);
		free(v);
	}
}

static void
test_primary_ext(void **state)
{
	struct pol_user	 u;
	char		*e;

	memset(&u, 0, sizeof(u));
	assert_null(pol_user_primary_ext(&u));
	u.f[POL_COL_EXTENSION] = strdup("0101;0202");
	assert_non_null(e = pol_user_primary_ext(&u));
	assert_string_equal(e, "0101");
	free(e);
	pol_user_cleanup(&u);
}

/* -------------------------------------------------------------- records */

struct rec_case {
	const char	*json;
	int		 rv;
};

static const struct rec_case rec_cases[] = {
	{ "{\"v\":1,\"internal_id\":\"1001\"}", BK_OK },
	{ "{\"internal_id\":\"1001\",\"v\":1,\"extension\":\"0101\","
	    "\"salesforce_id\":\"a@b\",\"custom_field_3\":\"x\"}", BK_OK },
	{ "{\"v\":2,\"internal_id\":\"1001\"}", BK_E_STORE_RECORD },
	{ "{\"v\":\"1\",\"internal_id\":\"1001\"}", BK_E_STORE_RECORD },
	{ "{\"v\":1.0,\"internal_id\":\"1001\"}", BK_E_STORE_RECORD },
	{ "{\"internal_id\":\"1001\"}", BK_E_STORE_RECORD },
	{ "{\"v\":1}", BK_E_STORE_RECORD },
	{ "{\"v\":1,\"internal_id\":\"1001\",\"admin\":\"1\"}",
	    BK_E_STORE_RECORD },
	{ "{\"v\":1,\"internal_id\":\"1001\",\"email\":1}", BK_E_STORE_RECORD },
	{ "{\"v\":1,\"internal_id\":\"1001\",\"email\":null}",
	    BK_E_STORE_RECORD },
	{ "{\"v\":1,\"internal_id\":\"1001\",\"email\":[\"a@b\"]}",
	    BK_E_STORE_RECORD },
	{ "{\"v\":1,\"internal_id\":\"1001\",\"internal_id\":\"1002\"}",
	    BK_E_STORE_RECORD },
	{ "{\"v\":1,\"internal_id\":\"1001\",\"extension\":\"12a\"}",
	    BK_E_STORE_RECORD },
	{ "{\"v\":1,\"internal_id\":\"10 01\"}", BK_E_STORE_RECORD },
	{ "{\"v\":1,\"internal_id\":\"1001\",\"email\":\"a\\u0000@b\"}",
	    BK_E_STORE_RECORD },
	{ "{\"v\":1,\"internal_id\":\"1001\"} x", BK_E_STORE_RECORD },
	{ "{\"v\":1,\"internal_id\":\"''\"}", BK_OK },	/* not stripped */
	{ "[1]", BK_E_STORE_RECORD },
	{ "", BK_E_STORE_RECORD },
};

static void
test_record(void **state)
{
	struct pol_user	 u, v;
	char		*js, *js2;
	size_t		 i;
	int		 c;

	for (i = 0; i < BK_NELEM(rec_cases); i++) {
		if (pol_user_parse(rec_cases[i].json, strlen(rec_cases[i].json),
		    &u) != rec_cases[i].rv)
			fail_msg("record case %zu: %s", i, rec_cases[i].json);
		pol_user_cleanup(&u);
	}
	/* build -> parse -> build is the identity. */
	memset(&u, 0, sizeof(u));
	for (c = 0; c < POL_COL_COUNT; c++)
		u.f[c] = strdup(c == POL_COL_EMAIL ? "a@b.c" :
		    c == POL_COL_EXTENSION ? "0001;0002" : "x\xc3\xa9");
	free(u.f[POL_COL_INTERNAL_ID]);
	u.f[POL_COL_INTERNAL_ID] = strdup("id-1");
	assert_int_equal(pol_user_build(&u, &js), BK_OK);
	assert_int_equal(strncmp(js, "{\"v\":1,\"internal_id\":\"id-1\"", 27),
	    0);
	assert_int_equal(pol_user_parse(js, strlen(js), &v), BK_OK);
	for (c = 0; c < POL_COL_COUNT; c++)
		assert_string_equal(u.f[c], v.f[c]);
	assert_int_equal(pol_user_build(&v, &js2), BK_OK);
	assert_string_equal(js, js2);
	free(js);
	free(js2);
	pol_user_cleanup(&v);
	assert_int_equal(pol_user_to_api_json(&u, &js), BK_OK);
	assert_null(strstr(js, "\"v\""));
	free(js);
	pol_user_cleanup(&u);
	memset(&u, 0, sizeof(u));
	u.f[POL_COL_INTERNAL_ID] = strdup("id-2");
	assert_int_equal(pol_user_to_api_json(&u, &js), BK_OK);
	assert_non_null(strstr(js, "\"salesforce_id\":null"));
	free(js);
	pol_user_cleanup(&u);
}

struct api_case {
	const char	*body;
	int		 rv;
	enum pol_col	 col;	/* checked after success */
	const char	*val;
};

static const struct api_case api_cases[] = {
	{ "{\"extension\":\"'0202\"}", BK_OK, POL_COL_EXTENSION, "0202" },
	{ "{\"email\":null}", BK_OK, POL_COL_EMAIL, NULL },
	{ "{\"email\":\"\"}", BK_OK, POL_COL_EMAIL, NULL },
	{ "{\"internal_id\":\"1001\",\"first_name\":\"Al\"}", BK_OK,
	    POL_COL_FIRST_NAME, "Al" },
	{ "{}", BK_OK, POL_COL_EXTENSION, "0101" },
	{ "{\"internal_id\":\"1002\"}", BK_E_INVAL, 0, NULL },
	{ "{\"internal_id\":null}", BK_E_INVAL, 0, NULL },
	{ "{\"dept\":\"x\"}", BK_E_INVAL, 0, NULL },
	{ "{\"email\":5}", BK_E_INVAL, 0, NULL },
	{ "[]", BK_E_INVAL, 0, NULL },
	{ "{\"email\":\"a\",}", BK_E_INVAL, 0, NULL },
	{ "{\"extension\":\"1;1\"}", BK_E_POL_FIELD, 0, NULL },
	{ "{\"first_name\":\"ok\",\"email\":\"bad\"}", BK_E_POL_FIELD, 0,
	    NULL },
	{ "{\"salesforce_id\":\" x@y \"}", BK_OK, POL_COL_SFDC_ID, "x@y" },
};

static void
test_api_json(void **state)
{
	struct pol_userset	*s = fx_set();
	struct pol_user		 u;
	const char		*why;
	size_t			 i;
	int			 rv;

	for (i = 0; i < BK_NELEM(api_cases); i++) {
		assert_int_equal(pol_user_copy(pol_userset_get(s, "1001"), &u),
		    BK_OK);
		rv = pol_user_apply_json(&u, api_cases[i].body,
		    strlen(api_cases[i].body), &why);
		if (rv != api_cases[i].rv)
			fail_msg("api case %zu: %d %s", i, rv, why ? why : "");
		if (rv == BK_OK && api_cases[i].val != NULL)
			assert_string_equal(u.f[api_cases[i].col],
			    api_cases[i].val);
		else if (rv == BK_OK)
			assert_null(u.f[api_cases[i].col]);
		else {
			assert_non_null(why);
			/* On error the profile is untouched. */
			assert_string_equal(u.f[POL_COL_FIRST_NAME], "First");
			assert_string_equal(u.f[POL_COL_EMAIL],
			    "alice@acme.com");
		}
		pol_user_cleanup(&u);
	}
	pol_userset_free(s);
}

static void
test_userset(void **state)
{
	struct pol_userset	*s = fx_set();
	struct pol_user		 u;
	const struct pol_user	**arr;
	size_t			 n;

	assert_int_equal(pol_userset_count(s), 3);
	assert_non_null(pol_userset_get(s, "1002"));
	assert_null(pol_userset_get(s, "9999"));
	assert_string_equal(pol_userset_get_sfdc(s, "bob@acme.com")->f[
	    POL_COL_INTERNAL_ID], "1002");
	assert_null(pol_userset_get_sfdc(s, "Bob@Acme.com"));
	memset(&u, 0, sizeof(u));
	u.f[POL_COL_INTERNAL_ID] = strdup("1002");
	assert_int_equal(pol_userset_add_take(s, &u), BK_E_EXISTS);
	pol_user_cleanup(&u);
	assert_int_equal(pol_userset_sorted(s, &arr, &n), BK_OK);
	assert_int_equal(n, 3);
	assert_string_equal(arr[0]->f[POL_COL_INTERNAL_ID], "1001");
	assert_string_equal(arr[2]->f[POL_COL_INTERNAL_ID], "1003");
	free(arr);
	pol_userset_free(s);
	pol_userset_free(NULL);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_too_many_rows),
		cmocka_unit_test(test_swap_usernames),
		cmocka_unit_test(test_plan_contents),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_report_json),
		cmocka_unit_test(test_100k),
		cmocka_unit_test(test_sfdc_key),
		cmocka_unit_test(test_field_check),
		cmocka_unit_test(test_spreadsheet_forms),
		cmocka_unit_test(test_spreadsheet_1252),
		cmocka_unit_test(test_primary_ext),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_api_json),
		cmocka_unit_test(test_userset),
		cmocka_unit_test(test_every_row_error),
		cmocka_unit_test(test_row_errors_capped),
	};
	struct CMUnitTest	*t;
	size_t			 n = 0, i;
	int			 rv;

	t = calloc(BK_NELEM(row_cases) + BK_NELEM(fatal_cases) +
	    BK_NELEM(guard_cases) + BK_NELEM(fixed), sizeof(*t));
	if (t == NULL)
		return 1;
	for (i = 0; i < BK_NELEM(row_cases); i++) {
		t[n].name = row_cases[i].name;
		t[n].test_func = test_row_case;
		t[n++].initial_state = (void *)(uintptr_t)&row_cases[i];
	}
	for (i = 0; i < BK_NELEM(fatal_cases); i++) {
		t[n].name = fatal_cases[i].name;
		t[n].test_func = test_fatal_case;
		t[n++].initial_state = (void *)(uintptr_t)&fatal_cases[i];
	}
	for (i = 0; i < BK_NELEM(guard_cases); i++) {
		t[n].name = guard_cases[i].name;
		t[n].test_func = test_guard_case;
		t[n++].initial_state = (void *)(uintptr_t)&guard_cases[i];
	}
	for (i = 0; i < BK_NELEM(fixed); i++)
		t[n++] = fixed[i];
	rv = _cmocka_run_group_tests("pol", t, n, NULL, NULL);
	free(t);
	return rv;
}
