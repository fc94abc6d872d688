/*
 * sso-broker: the user-mapping CSV: strict reading into rows, and export.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Reading uses libcsv in strict mode (a stray or unterminated quote is a
 * malformed file, never a guess).  libcsv does not report positions, so
 * the input is fed one physical line (up to and including '\n') at a time;
 * with CSV_REPALL_NL every unquoted '\n' ends in a row callback, which
 * tells us whether the next line starts a new row or continues a quoted
 * field, and so which line each row starts on.  Cell bytes are kept as
 * they are (no space trimming by libcsv): the field rules decide.
 * Before parsing: the file must be UTF-8 (else the line and byte are
 * named), the delimiter is taken from the header line (',', ';', tab)
 * and Excel's bare ="..." cells are rewritten to their text.
 * Writing quotes with csv_write() and prefixes cells that a spreadsheet
 * would evaluate (=, +, -, @) with "'", which the reader strips again.
 * Trust: the whole upload is untrusted; every size is capped.
 */
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <glib.h>

#include "bk.h"
#include "pol.h"
#include "pol_int.h"

struct pol_csv_ctx {
	struct pol_csv_doc	*doc;
	/* fields of the row being read */
	struct pol_csv_field	*cur;
	size_t			 cur_n;		/* fields seen */
	size_t			 cur_kept;	/* fields stored */
	size_t			 cur_cap;
	size_t			 max_fields;
	size_t			 max_rows;
	size_t			 row_line;
	int			 saw_nl_row;
	int			 nomem;
	int			 too_many_rows;
};

static int
pol_csv_no_space(unsigned char c)
{
	return 0;
}

/* Cell text lives in doc->text; only the per-row arrays are freed. */
static void
pol_csv_fields_free(struct pol_csv_field *f, size_t n)
{
	free(f);
}

void
pol_csv_doc_cleanup(struct pol_csv_doc *doc)
{
	size_t	 i;

	for (i = 0; i < doc->n; i++)
		pol_csv_fields_free(doc->rows[i].f, doc->rows[i].nkept);
	free(doc->rows);
	free(doc->text);
	memset(doc, 0, sizeof(*doc));
}

static void
pol_csv_field_cb(void *data, size_t len, void *arg)
{
	struct pol_csv_ctx	*ctx = arg;
	struct pol_csv_field	*f, *nf;
	size_t			 keep, ncap, i;

	if (ctx->nomem || ctx->too_many_rows)
		return;
	ctx->cur_n++;
	/* Fields past the cap are only counted: the row is rejected anyway. */
	if (ctx->cur_kept >= ctx->max_fields)
		return;
	if (ctx->cur_kept == ctx->cur_cap) {
		ncap = ctx->cur_cap ? ctx->cur_cap * 2 : 16;
		if ((nf = reallocarray(ctx->cur, ncap, sizeof(*nf))) == NULL) {
			ctx->nomem = 1;
			return;
		}
		ctx->cur = nf;
		ctx->cur_cap = ncap;
	}
	f = &ctx->cur[ctx->cur_kept++];
	memset(f, 0, sizeof(*f));
	f->len = len;
	if (data == NULL || len == 0)
		return;
	/* Keep one byte more than allowed so the length check still fires. */
	keep = len > POL_FIELD_MAX + 1 ? POL_FIELD_MAX + 1 : len;
	if (keep + 1 > ctx->doc->text_cap - ctx->doc->text_len) {
		/* Cannot happen: see the arena size in pol_csv_read(). */
		ctx->nomem = 1;
		return;
	}
	f->s = ctx->doc->text + ctx->doc->text_len;
	ctx->doc->text_len += keep + 1;
	memcpy(f->s, data, keep);
	f->s[keep] = '\0';
	/* A NUL would hide the rest of the cell: make it a visible control. */
	for (i = 0; i < keep; i++)
		if (f->s[i] == '\0') {
			f->s[i] = '\x01';
			f->has_nul = 1;
		}
}

static int
pol_csv_row_blank(const struct pol_csv_ctx *ctx)
{
	const char	*q;
	size_t		 i;

	/* Cells of only spaces count as empty (a "blank" line of spaces). */
	for (i = 0; i < ctx->cur_kept; i++) {
		if (ctx->cur[i].s == NULL)
			continue;
		if (ctx->cur[i].len > POL_FIELD_MAX)
			return 0;
		for (q = ctx->cur[i].s; *q == ' ' || *q == '\t'; q++)
			;
		if (*q != '\0')
			return 0;
	}
	return ctx->cur_kept == ctx->cur_n;
}

/*
 * Keep the row just read (the row takes ctx->cur): 0 if it is dropped,
 * being blank, past the row cap or out of memory.
 */
static int
pol_csv_row_add(struct pol_csv_ctx *ctx)
{
	struct pol_csv_doc	*doc = ctx->doc;
	struct pol_csv_row	*r, *nr;
	size_t			 ncap;

	if (ctx->nomem || ctx->too_many_rows)
		return 0;
	/* Blank lines and rows of only empty cells (",,,") are skipped. */
	if (ctx->cur_n == 0 || pol_csv_row_blank(ctx))
		return 0;
	if (doc->n >= ctx->max_rows) {
		ctx->too_many_rows = 1;
		return 0;
	}
	if (doc->n == doc->cap) {
		ncap = doc->cap ? doc->cap * 2 : 256;
		if ((nr = reallocarray(doc->rows, ncap, sizeof(*nr))) == NULL) {
			ctx->nomem = 1;
			return 0;
		}
		doc->rows = nr;
		doc->cap = ncap;
	}
	r = &doc->rows[doc->n++];
	r->line = ctx->row_line;
	r->nf = ctx->cur_n;
	r->nkept = ctx->cur_kept;
	r->f = ctx->cur;
	/* The first row fixes the width; later rows keep one extra field. */
	if (doc->n == 1)
		ctx->max_fields = ctx->cur_kept + 1;
	return 1;
}

static void
pol_csv_row_cb(int c, void *arg)
{
	struct pol_csv_ctx	*ctx = arg;

	if (c == '\n')
		ctx->saw_nl_row = 1;
	if (!pol_csv_row_add(ctx))
		pol_csv_fields_free(ctx->cur, ctx->cur_kept);
	ctx->cur = NULL;
	ctx->cur_n = ctx->cur_kept = ctx->cur_cap = 0;
}

static int
pol_csv_too_many(struct pol_csv_doc *doc, size_t line)
{
	doc->err_line = line;
	doc->err_why = "the file has too many rows";
	return BK_E_POL_CSV_MALFORMED;
}

/*
 * Feed the parser one physical line at a time, so that each row knows the
 * line it starts on (see the top of this file).
 */
static int
pol_csv_feed(struct csv_parser *p, struct pol_csv_ctx *ctx, const char *csv,
    size_t len)
{
	struct pol_csv_doc	*doc = ctx->doc;
	const char		*nl;
	size_t			 pos = 0, end, line = 1;
	int			 mid_row = 0;

	if (len >= 3 && memcmp(csv, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		nl = memchr(csv + pos, '\n', len - pos);
		end = nl != NULL ? (size_t)(nl - csv) + 1 : len;
		if (!mid_row)
			ctx->row_line = line;
		ctx->saw_nl_row = 0;
		if (csv_parse(p, csv + pos, end - pos, pol_csv_field_cb,
		    pol_csv_row_cb, ctx) != end - pos) {
			if (csv_error(p) != CSV_EPARSE)
				return BK_E_NOMEM;
			doc->err_line = line;
			doc->err_why = "a quote (\") inside a field that is "
			    "not quoted, or text after a closing quote";
			return BK_E_POL_CSV_MALFORMED;
		}
		if (ctx->nomem)
			return BK_E_NOMEM;
		if (ctx->too_many_rows)
			return pol_csv_too_many(doc, line);
		/* An unquoted '\n' always ends a row (or a blank line). */
		mid_row = nl != NULL && !ctx->saw_nl_row;
		pos = end;
		line++;
	}
	return BK_OK;
}

/*
 * Is the whole file UTF-8?  NUL bytes are left to the field reader (they
 * become a visible control there), so each NUL-free run is checked.
 */
static int
pol_csv_utf8(struct pol_csv_doc *doc, const char *csv, size_t len)
{
	const char	*end, *nul;
	size_t		 pos = 0, seg, line = 1, i;

	while (pos < len) {
		nul = memchr(csv + pos, '\0', len - pos);
		seg = nul != NULL ? (size_t)(nul - csv) - pos : len - pos;
		if (!g_utf8_validate(csv + pos, (gssize)seg, &end)) {
			for (i = 0; csv + i < end; i++)
				if (csv[i] == '\n')
					line++;
			doc->err_line = line;
			(void)snprintf(doc->err_buf, sizeof(doc->err_buf),
			    "byte %zu of the file (0x%02X) is not UTF-8 text: "
			    "save it as CSV UTF-8 (Excel: Save As, \"CSV UTF-8 "
			    "(Comma delimited)\")", (size_t)(end - csv) + 1,
			    (unsigned)(unsigned char)*end);
			doc->err_why = doc->err_buf;
			return BK_E_POL_CSV_ENCODING;
		}
		pos += seg + 1;
	}
	return BK_OK;
}

/*
 * The delimiter is the one of ',', ';' and tab that the header line uses
 * most, outside quotes (a European Excel writes ';'); a tie is ','.
 */
static char
pol_csv_delim(const char *csv, size_t len)
{
	size_t	 i, n_comma = 0, n_semi = 0, n_tab = 0;
	int	 inq = 0;

	for (i = 0; i < len && (inq || csv[i] != '\n'); i++) {
		if (csv[i] == '"')
			inq = !inq;
		else if (!inq && csv[i] == ',')
			n_comma++;
		else if (!inq && csv[i] == ';')
			n_semi++;
		else if (!inq && csv[i] == '\t')
			n_tab++;
	}
	if (n_semi > n_comma && n_semi >= n_tab)
		return ';';
	if (n_tab > n_comma && n_tab > n_semi)
		return '\t';
	return ',';
}

/*
 * Excel's text-forcing cell ="0101" is not CSV (a quote inside an unquoted
 * field): rewrite each such cell, unquoted and without a quote inside, to
 * its text.  The copy is never longer and keeps every '\n', so line
 * numbers stay those of the file.  Returns a malloc'd copy or NULL (nomem).
 */
static char *
pol_csv_unformula(const char *csv, size_t len, char delim, size_t *olen)
{
	char	*out;
	size_t	 i = 0, o = 0, j;
	int	 inq = 0, start = 1;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	while (i < len) {
		if (!inq && start && i + 1 < len && csv[i] == '=' &&
		    csv[i + 1] == '"') {
			for (j = i + 2; j < len && csv[j] != '"' &&
			    csv[j] != '\n' && csv[j] != delim; j++)
				;
			if (j < len && csv[j] == '"' && (j + 1 == len ||
			    csv[j + 1] == delim || csv[j + 1] == '\r' ||
			    csv[j + 1] == '\n')) {
				memcpy(out + o, csv + i + 2, j - i - 2);
				o += j - i - 2;
				i = j + 1;
				start = 0;
				continue;
			}
		}
		if (csv[i] == '"')
			inq = !inq;
		start = !inq && (csv[i] == delim || csv[i] == '\n');
		out[o++] = csv[i++];
	}
	*olen = o;
	return out;
}

int
pol_csv_read(const char *csv, size_t len, size_t max_rows,
    struct pol_csv_doc *doc)
{
	struct csv_parser	 p;
	struct pol_csv_ctx	 ctx;
	char			*copy = NULL;
	size_t			 skip = 0;
	int			 rv, pinit = 0;

	memset(doc, 0, sizeof(*doc));
	memset(&ctx, 0, sizeof(ctx));
	ctx.doc = doc;
	ctx.max_fields = POL_HEADER_MAX_COLS + 1;
	ctx.max_rows = max_rows;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL |
	    CSV_EMPTY_IS_NULL | CSV_REPALL_NL) != 0) {
		rv = BK_E_NOMEM;
		goto out;
	}
	pinit = 1;
	if (len > POL_CSV_MAX) {
		rv = BK_E_TOOBIG;
		goto out;
	}
	/*
	 * One arena for every cell: a cell is never longer than its bytes
	 * in the file, plus a NUL, so twice the input always suffices and
	 * the arena never moves (cell pointers stay valid).  This keeps a
	 * 100,000-row file to a few allocations instead of a million.
	 */
	doc->text_cap = 2 * len + 2;
	if ((doc->text = malloc(doc->text_cap)) == NULL) {
		rv = BK_E_NOMEM;
		goto out;
	}
	csv_set_space_func(&p, pol_csv_no_space);
	if ((rv = pol_csv_utf8(doc, csv, len)) != BK_OK)
		goto out;
	if (len >= 3 && memcmp(csv, "\xef\xbb\xbf", 3) == 0)
		skip = 3;
	doc->delim = pol_csv_delim(csv + skip, len - skip);
	csv_set_delim(&p, doc->delim);
	if (memmem(csv, len, "=\"", 2) != NULL) {
		if ((copy = pol_csv_unformula(csv, len, doc->delim, &len)) ==
		    NULL) {
			rv = BK_E_NOMEM;
			goto out;
		}
		csv = copy;
	}
	if ((rv = pol_csv_feed(&p, &ctx, csv, len)) != BK_OK)
		goto out;
	if (csv_fini(&p, pol_csv_field_cb, pol_csv_row_cb, &ctx) != 0) {
		rv = BK_E_POL_CSV_MALFORMED;
		doc->err_line = ctx.row_line;
		doc->err_why = "a quoted field is not closed before the end "
		    "of the file";
		goto out;
	}
	if (ctx.nomem) {
		rv = BK_E_NOMEM;
		goto out;
	}
	if (ctx.too_many_rows) {
		rv = pol_csv_too_many(doc, ctx.row_line);
		goto out;
	}
	rv = BK_OK;
 out:
	if (pinit)
		csv_free(&p);
	free(copy);
	pol_csv_fields_free(ctx.cur, ctx.cur_kept);
	return rv;
}

/* Whether excel mode writes v of column col as ="v". */
static int
pol_csv_excel_wrap(int col, const char *v)
{
	size_t	 n = strlen(v);

	if (col == POL_COL_EXTENSION)
		return strspn(v, "0123456789;") == n;
	return col == POL_COL_INTERNAL_ID && strspn(v, "0123456789") == n;
}

/* One cell: quoted by libcsv only when the text needs it. */
static int
pol_csv_cell_add(struct bk_buf *b, int col, const char *v, int excel)
{
	char	 tmp[2 * (POL_FIELD_MAX + 1) + 3];
	char	 val[POL_FIELD_MAX + 2];
	size_t	 n, q;
	int	 rv;

	if (v == NULL)
		return BK_OK;
	n = strlen(v);
	if (n > POL_FIELD_MAX)
		return BK_E_INVAL;
	/* Bare ="0101": the form Excel documents and pol_csv_read() reads. */
	if (excel && col >= 0 && pol_csv_excel_wrap(col, v)) {
		if ((rv = bk_buf_add(b, "=\"", 2)) != BK_OK ||
		    (rv = bk_buf_add(b, v, n)) != BK_OK)
			return rv;
		return bk_buf_add(b, "\"", 1);
	}
	if (col >= 0 && pol_field_export_prefix(col, v)) {
		val[0] = '\'';
		memcpy(val + 1, v, n + 1);
		v = val;
		n++;
	}
	if (strpbrk(v, ",\"\r\n") == NULL && v[0] != ' ' && v[n - 1] != ' ')
		return bk_buf_add(b, v, n);
	q = csv_write(tmp, sizeof(tmp), v, n);
	if (q > sizeof(tmp))
		return BK_E_INTERNAL;
	return bk_buf_add(b, tmp, q);
}

int
pol_export_csv(const struct pol_userset *s, char **out, size_t *len)
{
	return pol_export_csv_opts(s, 0, out, len);
}

int
pol_export_csv_opts(const struct pol_userset *s, int excel, char **out,
    size_t *len)
{
	const struct pol_user	**arr = NULL;
	struct bk_buf		 b;
	size_t			 n = 0, i;
	int			 rv, c;

	*out = NULL;
	*len = 0;
	bk_buf_init(&b, POL_EXPORT_MAX);
	if ((rv = pol_userset_sorted(s, &arr, &n)) != BK_OK)
		goto out;
	for (c = 0; c < POL_COL_COUNT; c++)
		if ((c > 0 && (rv = bk_buf_add(&b, ",", 1)) != BK_OK) ||
		    (rv = pol_csv_cell_add(&b, -1, pol_col_name(c), 0)) !=
		    BK_OK)
			goto out;
	if ((rv = bk_buf_add(&b, "\n", 1)) != BK_OK)
		goto out;
	for (i = 0; i < n; i++) {
		for (c = 0; c < POL_COL_COUNT; c++)
			if ((c > 0 && (rv = bk_buf_add(&b, ",", 1)) != BK_OK) ||
			    (rv = pol_csv_cell_add(&b, c, arr[i]->f[c],
			    excel)) != BK_OK)
				goto out;
		if ((rv = bk_buf_add(&b, "\n", 1)) != BK_OK)
			goto out;
	}
	*len = b.len;
	if ((*out = bk_buf_take(&b)) == NULL) {
		rv = BK_E_NOMEM;
		*len = 0;
		goto out;
	}
	rv = BK_OK;
 out:
	free(arr);
	bk_buf_free(&b);
	return rv;
}
