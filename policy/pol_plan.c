/*
 * sso-broker: CSV import plan: header, row validation, diff, report.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * An upload is validated completely before anything changes: this file
 * computes the whole result (every rejected row with its column and
 * reason, or the exact list of store operations) and the store applies
 * it atomically.  Everything is O(rows) with hash tables so that 100,000
 * rows plan well under a second.  The final-state rule for Salesforce IDs
 * ("one username, one profile") is checked on the state after the upload,
 * so swapping two usernames between profiles is legal, and the store
 * applies every index_del before any index_set.
 * Trust: the upload is untrusted; the current set came from the store
 * through pol_user_parse().
 */
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <jansson.h>

#include "bk.h"
#include "pol.h"
#include "pol_int.h"

/* Per data row scratch state, parallel to plan->rows. */
struct pol_scratch {
	struct pol_user		 u;	/* the profile after this row */
	const struct pol_user	*cur;	/* current profile, or NULL */
	/* Salesforce lookup key after, or NULL */
	char			*key;
	int			 id_ok;
	int			 sfdc_bad;
	int			 shape_ok;
};

struct pol_planner {
	const struct pol_userset	*cur;
	const struct pol_import_opts	*o;
	struct pol_plan			*p;
	struct pol_csv_doc		 doc;
	int				 colmap[POL_HEADER_MAX_COLS];
	int				 present[POL_COL_COUNT];
	size_t				 ncols;
	struct pol_scratch		*sc;
	GHashTable			*ids;	/* id -> row index + 1 */
	struct pol_confirm		 conf;
};

static int
pol_plan_fatal(struct pol_plan *p, int err, size_t line, const char *what)
{
	if (line > 0)
		p->fatal = pol_strf("line %zu: %s", line, what);
	else
		p->fatal = pol_strf("%s", what);
	p->fatal_err = err;
	return p->fatal == NULL ? BK_E_NOMEM : err;
}

/*
 * Mark a row rejected and add this error to its list: every error of a
 * row is reported (up to POL_ROW_ERRS_MAX, then counted), the first also
 * in r->err, r->column and r->reason (borrowed from errs[0]).
 */
static int
pol_row_reject(struct pol_row *r, int err, int col, char *reason)
{
	struct pol_row_err	*e;

	if (reason == NULL)
		return BK_E_NOMEM;
	r->kind = POL_REJECTED;
	if (r->n_errs == POL_ROW_ERRS_MAX) {
		r->n_errs_more++;
		free(reason);
		return BK_OK;
	}
	if (r->errs == NULL && (r->errs = calloc(POL_ROW_ERRS_MAX,
	    sizeof(*r->errs))) == NULL) {
		free(reason);
		return BK_E_NOMEM;
	}
	e = &r->errs[r->n_errs++];
	e->err = err;
	e->reason = reason;
	if (col >= 0 && (e->column = strdup(pol_col_name(col))) == NULL)
		return BK_E_NOMEM;
	if (r->n_errs == 1) {
		r->err = err;
		r->reason = e->reason;
		r->column = e->column;
	}
	return BK_OK;
}

static int
pol_header_text_ok(const char *s, size_t len)
{
	const unsigned char *q;

	if (len > POL_FIELD_MAX || strlen(s) != len ||
	    !pol_utf8_is_valid(s, len))
		return 0;
	for (q = (const unsigned char *)s; *q != '\0'; q++)
		if (*q < 0x20 || *q == 0x7f)
			return 0;
	return 1;
}

static int
pol_plan_header(struct pol_planner *pl)
{
	struct pol_csv_row *h = &pl->doc.rows[0];
	struct pol_plan	*p = pl->p;
	char		*t, *msg, **ni;
	size_t		 i;
	int		 c, rv;

	if (h->nf > POL_HEADER_MAX_COLS)
		return pol_plan_fatal(p, BK_E_POL_CSV_HEADER, h->line,
		    "the header has too many columns");
	pl->ncols = h->nf;
	for (c = 0; c < POL_COL_COUNT; c++)
		pl->present[c] = -1;
	for (i = 0; i < h->nkept; i++) {
		pl->colmap[i] = -1;
		if (h->f[i].s == NULL)
			continue;	/* unnamed column: nothing to read */
		if (!pol_header_text_ok(h->f[i].s, h->f[i].len))
			return pol_plan_fatal(p, BK_E_POL_CSV_HEADER, h->line,
			    "a column name in the header is not valid text");
		/* The header cells are ours: trim them in place. */
		t = g_strstrip(h->f[i].s);
		if ((c = pol_col_from_header(t)) < 0) {
			if (t[0] == '\0')
				continue;
			ni = reallocarray(p->ignored_columns, p->n_ignored + 1,
			    sizeof(*ni));
			if (ni == NULL)
				return BK_E_NOMEM;
			p->ignored_columns = ni;
			if ((ni[p->n_ignored] = strdup(t)) == NULL)
				return BK_E_NOMEM;
			p->n_ignored++;
			continue;
		}
		if (pl->present[c] >= 0) {
			msg = pol_strf("the column \"%s\" appears more than "
			    "once (\"%s\" and \"%s\")", pol_col_name(c),
			    h->f[pl->present[c]].s, t);
			if (msg == NULL)
				return BK_E_NOMEM;
			rv = pol_plan_fatal(p, BK_E_POL_CSV_HEADER, h->line,
			    msg);
			free(msg);
			return rv;
		}
		pl->present[c] = (int)i;
		pl->colmap[i] = c;
	}
	if (pl->present[POL_COL_INTERNAL_ID] < 0)
		return pol_plan_fatal(p, BK_E_POL_CSV_HEADER, h->line,
		    "the required column \"8x8 Internal ID\" is missing");
	return BK_OK;
}

/* A copy of cell idx of row (NULL when empty or absent). */
static int
pol_cell_dup(const struct pol_csv_row *row, int idx, char **out)
{
	*out = NULL;
	if (idx < 0 || (size_t)idx >= row->nkept || row->f[idx].s == NULL)
		return BK_OK;
	if ((*out = strdup(row->f[idx].s)) == NULL)
		return BK_E_NOMEM;
	return BK_OK;
}

static int
pol_plan_row_id(struct pol_planner *pl, size_t i)
{
	struct pol_row		*r = &pl->p->rows[i];
	const struct pol_csv_row *row = &pl->doc.rows[i + 1];
	struct pol_scratch	*s = &pl->sc[i];
	const char		*why;
	char			*v;
	gpointer		 prevp;
	size_t			 prev;
	int			 rv;

	/* Columns out of line make every field check noise: skip those. */
	s->shape_ok = row->nf == pl->ncols;
	if ((rv = pol_cell_dup(row, pl->present[POL_COL_INTERNAL_ID], &v)) !=
	    BK_OK)
		return rv;
	if ((rv = pol_field_check(POL_COL_INTERNAL_ID, &v, &why)) != BK_OK) {
		free(v);
		if ((rv = pol_row_reject(r, rv, POL_COL_INTERNAL_ID,
		    strdup(why))) != BK_OK || s->shape_ok)
			return rv;
		return pol_row_reject(r, BK_E_POL_ROW_SHAPE, -1,
		    pol_strf("the row has %zu fields; the header has %zu",
		    row->nf, pl->ncols));
	}
	r->internal_id = v;
	if ((prevp = g_hash_table_lookup(pl->ids, v)) != NULL) {
		prev = GPOINTER_TO_SIZE(prevp) - 1;
		if ((rv = pol_row_reject(&pl->p->rows[prev], BK_E_POL_DUP_ID,
		    POL_COL_INTERNAL_ID, pol_strf("8x8 Internal ID %s appears "
		    "again in row %zu", v, r->row))) != BK_OK)
			return rv;
		return pol_row_reject(r, BK_E_POL_DUP_ID, POL_COL_INTERNAL_ID,
		    pol_strf("8x8 Internal ID %s already appears in row %zu",
		    v, pl->p->rows[prev].row));
	}
	g_hash_table_insert(pl->ids, v, GSIZE_TO_POINTER(i + 1));
	if (!s->shape_ok &&
	    (rv = pol_row_reject(r, BK_E_POL_ROW_SHAPE, -1,
	    pol_strf("the row has %zu fields; the header has %zu",
	    row->nf, pl->ncols))) != BK_OK)
		return rv;
	s->cur = pol_userset_get(pl->cur, v);
	if (s->cur == NULL && !pl->o->allow_new)
		return pol_row_reject(r, BK_E_POL_ID_UNKNOWN,
		    POL_COL_INTERNAL_ID, pol_strf("unknown 8x8 Internal ID %s "
		    "(the ID is the row key: it cannot be changed, and this "
		    "upload does not create profiles)", v));
	s->id_ok = s->shape_ok;
	return BK_OK;
}

/* Merge the present cells into the current profile. */
static int
pol_plan_row_fields(struct pol_planner *pl, size_t i)
{
	struct pol_row		*r = &pl->p->rows[i];
	const struct pol_csv_row *row = &pl->doc.rows[i + 1];
	struct pol_scratch	*s = &pl->sc[i];
	const char		*why;
	char			*v;
	int			 c, rv;

	if (r->internal_id != NULL &&
	    (s->u.f[POL_COL_INTERNAL_ID] = strdup(r->internal_id)) == NULL)
		return BK_E_NOMEM;
	for (c = 0; c < POL_COL_COUNT; c++) {
		if (c == POL_COL_INTERNAL_ID)
			continue;
		/* An absent column keeps the current value (partial update). */
		if (pl->present[c] < 0) {
			if (s->cur != NULL && s->cur->f[c] != NULL &&
			    (s->u.f[c] = strdup(s->cur->f[c])) == NULL)
				return BK_E_NOMEM;
			continue;
		}
		if ((rv = pol_cell_dup(row, pl->present[c], &v)) != BK_OK)
			return rv;
		if ((rv = pol_field_check(c, &v, &why)) != BK_OK) {
			free(v);
			if (c == POL_COL_SFDC_ID)
				s->sfdc_bad = 1;
			if ((rv = pol_row_reject(r, rv, c, strdup(why))) !=
			    BK_OK)
				return rv;
			/* Keep the current value: later checks need one. */
			if (s->cur != NULL && s->cur->f[c] != NULL &&
			    (s->u.f[c] = strdup(s->cur->f[c])) == NULL)
				return BK_E_NOMEM;
			continue;
		}
		s->u.f[c] = v;
	}
	if (!s->sfdc_bad && s->u.f[POL_COL_SFDC_ID] != NULL &&
	    (rv = pol_sfdc_key(s->u.f[POL_COL_SFDC_ID], &s->key, &why)) !=
	    BK_OK) {
		/* Only a stored value can fail here (corrupt store). */
		s->sfdc_bad = 1;
		return rv == BK_E_NOMEM ? rv :
		    pol_row_reject(r, rv, POL_COL_SFDC_ID, strdup(why));
	}
	return BK_OK;
}

/*
 * One Salesforce username, one profile, in the state after the upload:
 * between rows of the file, and against profiles the file leaves alone.
 */
static int
pol_plan_dup_sfdc(struct pol_planner *pl)
{
	struct pol_plan		*p = pl->p;
	struct pol_scratch	*s;
	const struct pol_user	*h;
	const char		*hid;
	GHashTable		*keys;
	gpointer		 jp;
	size_t			 i, j, n = p->n_rows;
	int			 rv = BK_OK;

	keys = g_hash_table_new(g_str_hash, g_str_equal);
	for (i = 0; i < n && rv == BK_OK; i++) {
		s = &pl->sc[i];
		if (!s->id_ok || s->sfdc_bad || s->key == NULL)
			continue;
		if ((jp = g_hash_table_lookup(keys, s->key)) == NULL) {
			g_hash_table_insert(keys, s->key,
			    GSIZE_TO_POINTER(i + 1));
			continue;
		}
		j = GPOINTER_TO_SIZE(jp) - 1;
		rv = pol_row_reject(&p->rows[j], BK_E_POL_DUP_SFDC,
		    POL_COL_SFDC_ID, pol_strf("Salesforce ID %s is also used "
		    "by row %zu", pl->sc[j].u.f[POL_COL_SFDC_ID],
		    p->rows[i].row));
		if (rv == BK_OK)
			rv = pol_row_reject(&p->rows[i], BK_E_POL_DUP_SFDC,
			    POL_COL_SFDC_ID, pol_strf("Salesforce ID %s is "
			    "also used by row %zu", s->u.f[POL_COL_SFDC_ID],
			    p->rows[j].row));
	}
	g_hash_table_destroy(keys);
	for (i = 0; i < n && rv == BK_OK; i++) {
		s = &pl->sc[i];
		if (!s->id_ok || s->sfdc_bad || s->key == NULL)
			continue;
		if ((h = pol_userset_get_sfdc(pl->cur, s->key)) == NULL)
			continue;
		hid = h->f[POL_COL_INTERNAL_ID];
		/* The holder's row in the file decides its final username. */
		if (strcmp(hid, p->rows[i].internal_id) == 0 ||
		    g_hash_table_contains(pl->ids, hid) ||
		    pl->o->delete_missing)
			continue;
		rv = pol_row_reject(&p->rows[i], BK_E_POL_DUP_SFDC,
		    POL_COL_SFDC_ID, pol_strf("Salesforce ID %s is already "
		    "mapped to profile %s", s->u.f[POL_COL_SFDC_ID], hid));
	}
	return rv;
}

/*
 * The changes of a row an admin should look at twice: an extension a
 * spreadsheet may have stripped of its leading zeros (held until
 * confirmed, see pol_confirm.c), a Salesforce ID cleared (information).
 */
static int
pol_plan_row_warn(struct pol_plan *p, const struct pol_row *r,
    const struct pol_scratch *s)
{
	const char	*o, *n;
	int		 rv;

	o = s->cur->f[POL_COL_EXTENSION];
	n = s->u.f[POL_COL_EXTENSION];
	if (!pol_str_eq(o, n) && pol_ext_zero_dropped(o, n) &&
	    (rv = pol_row_warn(p, r, POL_WARN_DROPPED_ZERO, POL_COL_EXTENSION,
	    o, n)) != BK_OK)
		return rv;
	o = s->cur->f[POL_COL_SFDC_ID];
	if (o != NULL && s->u.f[POL_COL_SFDC_ID] == NULL)
		return pol_row_warn(p, r, POL_WARN_SFDC_CLEARED,
		    POL_COL_SFDC_ID, o, NULL);
	return BK_OK;
}

static int
pol_plan_diff_row(struct pol_plan *p, struct pol_row *r,
    struct pol_scratch *s)
{
	struct pol_field_change	*ch;
	int			 c;

	if (s->cur == NULL) {
		r->kind = POL_ADDED;
		return BK_OK;
	}
	for (c = 0; c < POL_COL_COUNT; c++) {
		if (pol_str_eq(s->cur->f[c], s->u.f[c]))
			continue;
		if (r->changes == NULL && (r->changes = calloc(POL_COL_COUNT,
		    sizeof(*r->changes))) == NULL)
			return BK_E_NOMEM;
		ch = &r->changes[r->n_changes++];
		ch->col = c;
		if ((s->cur->f[c] != NULL &&
		    (ch->old_val = strdup(s->cur->f[c])) == NULL) ||
		    (s->u.f[c] != NULL &&
		    (ch->new_val = strdup(s->u.f[c])) == NULL))
			return BK_E_NOMEM;
	}
	r->kind = r->n_changes > 0 ? POL_CHANGED : POL_UNCHANGED;
	return r->kind == POL_CHANGED ? pol_plan_row_warn(p, r, s) : BK_OK;
}

static int
pol_plan_deletions(struct pol_planner *pl)
{
	const struct pol_user	**arr = NULL;
	struct pol_plan		*p = pl->p;
	struct pol_row		*r;
	size_t			 n, i;
	int			 rv;

	if ((rv = pol_userset_sorted(pl->cur, &arr, &n)) != BK_OK)
		return rv;
	for (i = 0; i < n; i++) {
		if (g_hash_table_contains(pl->ids,
		    arr[i]->f[POL_COL_INTERNAL_ID]))
			continue;
		r = &p->rows[p->n_rows++];
		r->kind = POL_DELETED;
		if ((r->internal_id = strdup(arr[i]->f[POL_COL_INTERNAL_ID])) ==
		    NULL) {
			rv = BK_E_NOMEM;
			break;
		}
	}
	free(arr);
	return rv;
}

static int
pol_plan_push(char ***arr, size_t *n, const char *v)
{
	char	*d;

	if ((d = strdup(v)) == NULL)
		return BK_E_NOMEM;
	(*arr)[(*n)++] = d;
	return BK_OK;
}

/* Old and new lookup key of a profile: what the index must forget/learn. */
static int
pol_plan_index_ops(struct pol_plan *p, const char *id, const char *oldk,
    const char *newk)
{
	char	*k, *v;
	int	 rv;

	if (oldk != NULL && (newk == NULL || strcmp(oldk, newk) != 0) &&
	    (rv = pol_plan_push(&p->index_del, &p->n_index_del, oldk)) != BK_OK)
		return rv;
	if (newk == NULL || (oldk != NULL && strcmp(oldk, newk) == 0))
		return BK_OK;
	if ((k = strdup(newk)) == NULL || (v = strdup(id)) == NULL) {
		free(k);
		return BK_E_NOMEM;
	}
	p->index_set[2 * p->n_index_set] = k;
	p->index_set[2 * p->n_index_set + 1] = v;
	p->n_index_set++;
	return BK_OK;
}

/* The store operations of a valid plan. */
static int
pol_plan_ops(struct pol_planner *pl)
{
	struct pol_plan		*p = pl->p;
	struct pol_scratch	*s;
	const struct pol_user	*u;
	const char		*why;
	char			*oldk = NULL;
	size_t			 i, nup = p->n_added + p->n_changed;
	int			 rv = BK_OK;

	p->upserts = calloc(nup + 1, sizeof(*p->upserts));
	p->deletes = calloc(p->n_deleted + 1, sizeof(*p->deletes));
	p->index_del = calloc(nup + p->n_deleted + 1, sizeof(*p->index_del));
	p->index_set = calloc(2 * nup + 1, sizeof(*p->index_set));
	if (p->upserts == NULL || p->deletes == NULL || p->index_del == NULL ||
	    p->index_set == NULL)
		return BK_E_NOMEM;
	for (i = 0; i < p->n_rows && rv == BK_OK; i++) {
		oldk = NULL;
		if (p->rows[i].kind == POL_DELETED) {
			u = pol_userset_get(pl->cur, p->rows[i].internal_id);
			rv = pol_plan_push(&p->deletes, &p->n_deletes,
			    p->rows[i].internal_id);
			if (rv == BK_OK && u->f[POL_COL_SFDC_ID] != NULL &&
			    pol_sfdc_key(u->f[POL_COL_SFDC_ID], &oldk, &why) ==
			    BK_OK)
				rv = pol_plan_index_ops(p,
				    p->rows[i].internal_id, oldk, NULL);
			free(oldk);
			continue;
		}
		if (p->rows[i].kind != POL_ADDED &&
		    p->rows[i].kind != POL_CHANGED)
			continue;
		s = &pl->sc[i];
		if (s->cur != NULL && s->cur->f[POL_COL_SFDC_ID] != NULL &&
		    (rv = pol_sfdc_key(s->cur->f[POL_COL_SFDC_ID], &oldk,
		    &why)) == BK_E_NOMEM)
			break;
		rv = pol_plan_index_ops(p, p->rows[i].internal_id, oldk,
		    s->key);
		free(oldk);
		p->upserts[p->n_upserts++] = s->u;
		memset(&s->u, 0, sizeof(s->u));
	}
	return rv;
}

static void
pol_planner_cleanup(struct pol_planner *pl, size_t nsc)
{
	size_t	 i;

	if (pl->sc != NULL)
		for (i = 0; i < nsc; i++) {
			pol_user_cleanup(&pl->sc[i].u);
			free(pl->sc[i].key);
		}
	free(pl->sc);
	if (pl->ids != NULL)
		g_hash_table_destroy(pl->ids);
	pol_confirm_cleanup(&pl->conf);
	pol_csv_doc_cleanup(&pl->doc);
}

static int
pol_plan_rows(struct pol_planner *pl, size_t ndata)
{
	struct pol_plan	*p = pl->p;
	struct pol_row	*r;
	size_t		 i;
	int		 rv;

	for (i = 0; i < ndata; i++) {
		r = &p->rows[i];
		r->line = pl->doc.rows[i + 1].line;
		r->row = i + 1;
		p->n_rows++;
		if ((rv = pol_plan_row_id(pl, i)) != BK_OK)
			return rv;
		/* Every field is checked, whatever the ID's fate. */
		if (pl->sc[i].shape_ok &&
		    (rv = pol_plan_row_fields(pl, i)) != BK_OK)
			return rv;
	}
	if ((rv = pol_plan_dup_sfdc(pl)) != BK_OK)
		return rv;
	for (i = 0; i < ndata; i++)
		if (p->rows[i].kind != POL_REJECTED &&
		    (rv = pol_plan_diff_row(p, &p->rows[i], &pl->sc[i])) !=
		    BK_OK)
			return rv;
	if (pl->o->delete_missing && (rv = pol_plan_deletions(pl)) != BK_OK)
		return rv;
	for (i = 0; i < p->n_rows; i++) {
		switch (p->rows[i].kind) {
		case POL_ADDED:
			p->n_added++;
			break;
		case POL_CHANGED:
			p->n_changed++;
			break;
		case POL_UNCHANGED:
			p->n_unchanged++;
			break;
		case POL_DELETED:
			p->n_deleted++;
			break;
		case POL_REJECTED:
			p->n_rejected++;
			break;
		}
	}
	if (p->n_rejected > 0)
		return BK_E_POL_ROW_INVALID;
	/* A plan that waits for a confirmation gets no store operations. */
	rv = pol_plan_confirm(p, pl->o, &pl->conf);
	for (i = 0; i < p->n_warnings; i++)
		if (p->warnings[i].blocking && !p->warnings[i].confirmed &&
		    p->warnings[i].row > 0)
			p->rows[p->warnings[i].row - 1].held = 1;
	if (rv != BK_OK)
		return rv;
	return pol_plan_ops(pl);
}

int
pol_import_plan(const char *csv, size_t len, const struct pol_userset *cur,
    const struct pol_import_opts *o, struct pol_plan **out)
{
	static const struct pol_import_opts defopts;
	struct pol_planner	 pl;
	struct pol_plan		*p;
	const char		*why;
	size_t			 ndata = 0;
	int			 rv;

	*out = NULL;
	memset(&pl, 0, sizeof(pl));
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return BK_E_NOMEM;
	pl.p = p;
	pl.cur = cur;
	pl.o = o != NULL ? o : &defopts;
	if ((rv = pol_confirm_parse(pl.o, &pl.conf, &why)) != BK_OK) {
		if (rv == BK_E_POL_CONFIRM_INVALID)
			rv = pol_plan_fatal(p, rv, 0, why);
		goto out;
	}
	if (len > POL_CSV_MAX) {
		rv = pol_plan_fatal(p, BK_E_TOOBIG, 0,
		    "the file is larger than 64 MiB");
		goto out;
	}
	rv = pol_csv_read(csv, len, (size_t)POL_MAX_ROWS + 1, &pl.doc);
	if (rv == BK_E_POL_CSV_MALFORMED || rv == BK_E_POL_CSV_ENCODING) {
		rv = pol_plan_fatal(p, rv, pl.doc.err_line, pl.doc.err_why);
		goto out;
	}
	if (rv != BK_OK)
		goto out;
	if (pl.doc.n == 0) {
		rv = pol_plan_fatal(p, BK_E_POL_CSV_MALFORMED, 0,
		    "the file is empty");
		goto out;
	}
	if ((rv = pol_plan_header(&pl)) != BK_OK)
		goto out;
	ndata = pl.doc.n - 1;
	p->rows = calloc(ndata + (pl.o->delete_missing ?
	    pol_userset_count(cur) : 0) + 1, sizeof(*p->rows));
	pl.sc = calloc(ndata + 1, sizeof(*pl.sc));
	if (p->rows == NULL || pl.sc == NULL) {
		rv = BK_E_NOMEM;
		goto out;
	}
	pl.ids = g_hash_table_new(g_str_hash, g_str_equal);
	rv = pol_plan_rows(&pl, ndata);
 out:
	pol_planner_cleanup(&pl, ndata);
	if (rv == BK_E_NOMEM) {
		pol_plan_free(p);
		return rv;
	}
	*out = p;
	return rv;
}

static void
pol_strv_free(char **v, size_t n)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
pol_plan_free(struct pol_plan *p)
{
	size_t	 i, j;

	if (p == NULL)
		return;
	for (i = 0; i < p->n_rows; i++) {
		free(p->rows[i].internal_id);
		/* column and reason are borrowed from errs[0] */
		for (j = 0; j < p->rows[i].n_errs; j++) {
			free(p->rows[i].errs[j].column);
			free(p->rows[i].errs[j].reason);
		}
		free(p->rows[i].errs);
		for (j = 0; j < p->rows[i].n_changes; j++) {
			free(p->rows[i].changes[j].old_val);
			free(p->rows[i].changes[j].new_val);
		}
		free(p->rows[i].changes);
	}
	free(p->rows);
	for (i = 0; i < p->n_warnings; i++)
		pol_warning_cleanup(&p->warnings[i]);
	free(p->warnings);
	free(p->hold);
	free(p->need_zero);
	free(p->fatal);
	pol_strv_free(p->ignored_columns, p->n_ignored);
	for (i = 0; i < p->n_upserts; i++)
		pol_user_cleanup(&p->upserts[i]);
	free(p->upserts);
	pol_strv_free(p->deletes, p->n_deletes);
	pol_strv_free(p->index_del, p->n_index_del);
	pol_strv_free(p->index_set, 2 * p->n_index_set);
	free(p);
}

static const char *
pol_change_name(enum pol_change k)
{
	switch (k) {
	case POL_ADDED:
		return "added";
	case POL_CHANGED:
		return "changed";
	case POL_UNCHANGED:
		return "unchanged";
	case POL_DELETED:
		return "deleted";
	case POL_REJECTED:
		return "rejected";
	}
	return "unknown";
}

/* Set o[k] to a string, or null; invalid UTF-8 cannot reach here. */
int
pol_json_str(json_t *o, const char *k, const char *v)
{
	json_t	*j;

	j = v != NULL ? json_string(v) : json_null();
	if (j == NULL)
		j = json_string("(not valid UTF-8)");
	return json_object_set_new(o, k, j);
}

static json_t *
pol_row_errs_json(const struct pol_row *r)
{
	json_t	*arr, *j;
	size_t	 i;
	int	 e = 0;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < r->n_errs; i++) {
		if ((j = json_object()) == NULL ||
		    json_array_append_new(arr, j) != 0) {
			json_decref(arr);
			return NULL;
		}
		e |= json_object_set_new(j, "column", r->errs[i].column !=
		    NULL ? json_string(r->errs[i].column) : json_null());
		e |= pol_json_str(j, "reason", r->errs[i].reason);
		e |= json_object_set_new(j, "code",
		    json_string(bk_err_slug(r->errs[i].err)));
	}
	if (e != 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *
pol_plan_row_json(const struct pol_row *r)
{
	json_t	*o, *chs, *ch, *errs;
	size_t	 i;
	int	 e = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	/* Unchanged rows are most of a big file: keep them short. */
	if (r->kind != POL_DELETED) {
		e |= json_object_set_new(o, "row", json_integer(r->row));
		if (r->kind != POL_UNCHANGED)
			e |= json_object_set_new(o, "line",
			    json_integer(r->line));
	}
	if (r->internal_id != NULL)
		e |= pol_json_str(o, "internal_id", r->internal_id);
	e |= json_object_set_new(o, "result",
	    json_string(pol_change_name(r->kind)));
	if (r->kind == POL_REJECTED) {
		/* The first error as before; then every one of them. */
		if (r->column != NULL)
			e |= pol_json_str(o, "column", r->column);
		e |= pol_json_str(o, "reason", r->reason);
		e |= json_object_set_new(o, "code",
		    json_string(bk_err_slug(r->err)));
		if ((errs = pol_row_errs_json(r)) == NULL ||
		    json_object_set_new(o, "errors", errs) != 0) {
			json_decref(o);
			return NULL;
		}
		if (r->n_errs_more > 0)
			e |= json_object_set_new(o, "errors_more",
			    json_integer(r->n_errs_more));
	}
	if (r->held)
		e |= json_object_set_new(o, "held", json_true());
	if (r->kind == POL_CHANGED) {
		if ((chs = json_array()) == NULL ||
		    json_object_set_new(o, "changes", chs) != 0) {
			json_decref(o);
			return NULL;
		}
		for (i = 0; i < r->n_changes; i++) {
			if ((ch = json_object()) == NULL ||
			    json_array_append_new(chs, ch) != 0) {
				json_decref(o);
				return NULL;
			}
			e |= pol_json_str(ch, "column",
			    pol_col_name(r->changes[i].col));
			e |= pol_json_str(ch, "old", r->changes[i].old_val);
			e |= pol_json_str(ch, "new", r->changes[i].new_val);
		}
	}
	if (e != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
pol_plan_report(const struct pol_plan *p, int applied, char **json)
{
	return pol_plan_report_meta(p, applied, NULL, json);
}

int
pol_plan_report_meta(const struct pol_plan *p, int applied,
    const struct pol_report_meta *m, char **json)
{
	json_t	*o = NULL, *sum, *rows, *ign, *r;
	size_t	 i, held;
	int	 rv = BK_E_NOMEM, e = 0;

	*json = NULL;
	if ((o = json_object()) == NULL)
		goto out;
	e |= json_object_set_new(o, "applied", json_boolean(applied));
	if ((sum = json_object()) == NULL ||
	    json_object_set_new(o, "summary", sum) != 0)
		goto out;
	e |= json_object_set_new(sum, "added", json_integer(p->n_added));
	e |= json_object_set_new(sum, "changed", json_integer(p->n_changed));
	e |= json_object_set_new(sum, "unchanged",
	    json_integer(p->n_unchanged));
	e |= json_object_set_new(sum, "deleted", json_integer(p->n_deleted));
	e |= json_object_set_new(sum, "rejected", json_integer(p->n_rejected));
	e |= json_object_set_new(sum, "warnings", json_integer(p->n_warnings));
	for (i = 0, held = 0; i < p->n_rows; i++)
		held += p->rows[i].held != 0;
	e |= json_object_set_new(sum, "held", json_integer(held));
	/* What an apply of this file with these parameters would do. */
	e |= json_object_set_new(o, "applicable", json_boolean(p->fatal ==
	    NULL && p->n_rejected == 0 && p->hold == NULL));
	if ((rows = json_array()) == NULL ||
	    json_object_set_new(o, "rows", rows) != 0)
		goto out;
	for (i = 0; i < p->n_rows; i++)
		if ((r = pol_plan_row_json(&p->rows[i])) == NULL ||
		    json_array_append_new(rows, r) != 0)
			goto out;
	if ((ign = json_array()) == NULL ||
	    json_object_set_new(o, "ignored_columns", ign) != 0)
		goto out;
	for (i = 0; i < p->n_ignored; i++)
		e |= json_array_append_new(ign,
		    json_string(p->ignored_columns[i]));
	if (pol_plan_warnings_json(p, o) != BK_OK)
		goto out;
	if (p->fatal != NULL) {
		e |= pol_json_str(o, "error", p->fatal);
		e |= json_object_set_new(o, "code",
		    json_string(bk_err_slug(p->fatal_err)));
	}
	if (m != NULL) {
		e |= json_object_set_new(o, "dry_run",
		    json_boolean(m->dry_run));
		if (m->error != NULL)
			e |= pol_json_str(o, "error", m->error);
		if (m->message != NULL)
			e |= pol_json_str(o, "message", m->message);
		if (m->request_id != NULL)
			e |= pol_json_str(o, "request_id", m->request_id);
	}
	if (e != 0)
		goto out;
	if ((*json = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		goto out;
	rv = BK_OK;
 out:
	json_decref(o);
	return rv;
}
