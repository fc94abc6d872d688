/*
 * sso-broker: an import's warnings and the confirmations they need.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Two changes an upload can make by accident are held until the admin
 * confirms them, explicitly and specifically:
 *  - an extension that equals the stored one without its leading zeros
 *    (Excel reads 0101 as the number 101 unless the column is Text):
 *    confirm_zero names the rows' 8x8 Internal IDs, or says "all";
 *  - deleting the profiles missing from the file: confirm_delete must be
 *    the exact number that would be deleted.
 * A plan that waits is valid but has no store operations; an apply of it
 * is refused whole (all or nothing, nothing written), a dry run shows it
 * with its warnings.  Other warnings (a Salesforce ID cleared) are
 * information only.
 * Trust: the confirmation strings come from the admin's query string;
 * the plan's values were validated by pol_plan.c.
 */
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <jansson.h>

#include "bk.h"
#include "pol.h"
#include "pol_int.h"

/* How many rows a hold message names before "and N more". */
#define POL_HOLD_NAMED	10

int
pol_confirm_parse(const struct pol_import_opts *o, struct pol_confirm *c,
    const char **why)
{
	long long	 n;
	const char	*e;
	char		*p, *comma;
	size_t		 len;

	memset(c, 0, sizeof(*c));
	*why = NULL;
	if (o->confirm_delete != NULL) {
		if (!o->delete_missing) {
			*why = "confirm_delete is only meaningful with "
			    "delete_missing";
			return BK_E_POL_CONFIRM_INVALID;
		}
		len = strlen(o->confirm_delete);
		if (len == 0 || len > 7 ||
		    strspn(o->confirm_delete, "0123456789") != len ||
		    bk_strtonum(o->confirm_delete, 0, POL_MAX_ROWS, &n, &e) !=
		    BK_OK) {
			*why = "confirm_delete must be the number of profiles "
			    "that would be deleted (0-1000000)";
			return BK_E_POL_CONFIRM_INVALID;
		}
		c->del_given = 1;
		c->del_count = (size_t)n;
	}
	if (o->confirm_zero == NULL)
		return BK_OK;
	if (strcmp(o->confirm_zero, "all") == 0) {
		c->zero_all = 1;
		return BK_OK;
	}
	if ((c->copy = strdup(o->confirm_zero)) == NULL)
		return BK_E_NOMEM;
	c->ids = g_hash_table_new(g_str_hash, g_str_equal);
	for (p = c->copy;; p = comma + 1) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma = '\0';
		len = strlen(p);
		if (len == 0 || len > POL_FIELD_MAX ||
		    !bk_str_is_printable(p) || strchr(p, ' ') != NULL) {
			*why = "confirm_zero must be \"all\" or 8x8 Internal "
			    "IDs separated by ','";
			return BK_E_POL_CONFIRM_INVALID;
		}
		g_hash_table_add(c->ids, p);
		if (comma == NULL)
			break;
	}
	return BK_OK;
}

void
pol_confirm_cleanup(struct pol_confirm *c)
{
	if (c->ids != NULL)
		g_hash_table_destroy(c->ids);
	free(c->copy);
	memset(c, 0, sizeof(*c));
}

/* Stored entry o (on bytes) without its leading zeros is e (en bytes). */
static int
pol_ext_entry_dropped(const char *o, size_t on, const char *e, size_t en)
{
	size_t	 z;

	if (on < 2 || o[0] != '0')
		return 0;
	/* Excel keeps one digit of 000: it reads as 0. */
	for (z = 0; z + 1 < on && o[z] == '0'; z++)
		;
	return on - z == en && memcmp(o + z, e, en) == 0;
}

/* 1 if list (normalised, ';'-separated) holds entry e (en bytes). */
static int
pol_ext_list_has(const char *list, const char *e, size_t en)
{
	size_t	 n;

	for (;; list += n + 1) {
		n = strcspn(list, ";");
		if (n == en && memcmp(list, e, en) == 0)
			return 1;
		if (list[n] == '\0')
			return 0;
	}
}

int
pol_ext_zero_dropped(const char *oldv, const char *newv)
{
	const char	*e, *o;
	size_t		 en, on;

	if (oldv == NULL || newv == NULL)
		return 0;
	for (e = newv;; e += en + 1) {
		en = strcspn(e, ";");
		if (!pol_ext_list_has(oldv, e, en))
			for (o = oldv;; o += on + 1) {
				on = strcspn(o, ";");
				if (pol_ext_entry_dropped(o, on, e, en))
					return 1;
				if (o[on] == '\0')
					break;
			}
		if (e[en] == '\0')
			return 0;
	}
}

static int
pol_warn_push(struct pol_plan *p, struct pol_warning *w)
{
	struct pol_warning	*nw;
	size_t			 n = p->n_warnings, cap = 0;

	/* Room for max(8, the next power of two) warnings: double when full. */
	if (n == 0)
		cap = 8;
	else if (n >= 8 && (n & (n - 1)) == 0)
		cap = 2 * n;
	if (cap > 0) {
		if ((nw = reallocarray(p->warnings, cap, sizeof(*nw))) == NULL)
			return BK_E_NOMEM;
		p->warnings = nw;
	}
	p->warnings[p->n_warnings++] = *w;
	return BK_OK;
}

int
pol_row_warn(struct pol_plan *p, const struct pol_row *r,
    enum pol_warn_kind k, int col, const char *oldv, const char *newv)
{
	struct pol_warning	 w;

	memset(&w, 0, sizeof(w));
	w.kind = k;
	w.row = r->row;
	w.line = r->line;
	w.col = col;
	w.blocking = k == POL_WARN_DROPPED_ZERO;
	if (k == POL_WARN_DROPPED_ZERO)
		w.message = pol_strf("a spreadsheet may have dropped a leading "
		    "zero (%s %s -> %s); not applied unless confirmed "
		    "(confirm_zero) or the file is fixed", pol_col_name(col),
		    oldv, newv);
	else
		w.message = strdup("the Salesforce ID is cleared: this user "
		    "can no longer sign in with single sign-on");
	if (w.message == NULL ||
	    (w.internal_id = strdup(r->internal_id)) == NULL ||
	    (oldv != NULL && (w.old_val = strdup(oldv)) == NULL) ||
	    (newv != NULL && (w.new_val = strdup(newv)) == NULL) ||
	    pol_warn_push(p, &w) != BK_OK) {
		pol_warning_cleanup(&w);
		return BK_E_NOMEM;
	}
	return BK_OK;
}

void
pol_warning_cleanup(struct pol_warning *w)
{
	free(w->internal_id);
	free(w->old_val);
	free(w->new_val);
	free(w->message);
	memset(w, 0, sizeof(*w));
}

/* "N profile(s) not in the file would be deleted", as a warning. */
static int
pol_delete_warn(struct pol_plan *p, const struct pol_confirm *c)
{
	struct pol_warning	 w;
	size_t			 n = p->n_deleted;

	memset(&w, 0, sizeof(w));
	w.kind = POL_WARN_DELETE_COUNT;
	w.col = -1;
	w.blocking = 1;
	w.confirmed = c->del_given && c->del_count == n;
	if (c->del_given && !w.confirmed)
		w.message = pol_strf("%zu profile%s not in the file would be "
		    "deleted (confirm_delete=%zu does not match)", n,
		    n == 1 ? "" : "s", c->del_count);
	else
		w.message = pol_strf("%zu profile%s not in the file would be "
		    "deleted", n, n == 1 ? "" : "s");
	if (w.message == NULL || pol_warn_push(p, &w) != BK_OK) {
		free(w.message);
		return BK_E_NOMEM;
	}
	return BK_OK;
}

/* A confirm_zero ID that names no dropped-zero row is refused. */
static int
pol_confirm_stray(struct pol_plan *p, const struct pol_confirm *c)
{
	GHashTable	*flagged;
	GHashTableIter	 it;
	gpointer	 k;
	const char	*bad = NULL;
	size_t		 i;
	int		 rv = BK_OK;

	if (c->ids == NULL)
		return BK_OK;
	flagged = g_hash_table_new(g_str_hash, g_str_equal);
	for (i = 0; i < p->n_warnings; i++)
		if (p->warnings[i].kind == POL_WARN_DROPPED_ZERO)
			g_hash_table_add(flagged, p->warnings[i].internal_id);
	g_hash_table_iter_init(&it, c->ids);
	while (bad == NULL && g_hash_table_iter_next(&it, &k, NULL))
		if (!g_hash_table_contains(flagged, k))
			bad = k;
	if (bad != NULL) {
		p->fatal = pol_strf("confirm_zero names 8x8 Internal ID %s, "
		    "which has no dropped-zero warning in this file", bad);
		p->fatal_err = BK_E_POL_CONFIRM_INVALID;
		rv = p->fatal == NULL ? BK_E_NOMEM : BK_E_POL_CONFIRM_INVALID;
	}
	g_hash_table_destroy(flagged);
	return rv;
}

/* The held rows as "row 2 (1001), row 5 (1003) and 3 more". */
static int
pol_hold_zero_text(struct pol_plan *p, struct bk_buf *msg, size_t nheld)
{
	struct bk_buf	 ids;
	size_t		 i, named = 0;
	int		 rv = BK_OK;

	bk_buf_init(&ids, (size_t)POL_MAX_ROWS * (POL_FIELD_MAX + 1));
	for (i = 0; i < p->n_warnings && rv == BK_OK; i++) {
		if (p->warnings[i].kind != POL_WARN_DROPPED_ZERO ||
		    p->warnings[i].confirmed)
			continue;
		if (ids.len > 0)
			rv = bk_buf_add(&ids, ",", 1);
		if (rv == BK_OK)
			rv = bk_buf_adds(&ids, p->warnings[i].internal_id);
		if (rv != BK_OK || named == POL_HOLD_NAMED)
			continue;
		rv = bk_buf_addf(msg, "%srow %zu (8x8 Internal ID %s, "
		    "%s -> %s)", named == 0 ? "" : ", ", p->warnings[i].row,
		    p->warnings[i].internal_id, p->warnings[i].old_val,
		    p->warnings[i].new_val);
		named++;
	}
	if (rv == BK_OK && nheld > named)
		rv = bk_buf_addf(msg, " and %zu more", nheld - named);
	if (rv == BK_OK)
		rv = bk_buf_addf(msg, ": a spreadsheet may have dropped a "
		    "leading zero; confirm %s (confirm_zero) or fix the file",
		    nheld == 1 ? "that change" : "those changes");
	if (rv == BK_OK && (p->need_zero = bk_buf_take(&ids)) == NULL)
		rv = BK_E_NOMEM;
	bk_buf_free(&ids);
	return rv;
}

int
pol_plan_confirm(struct pol_plan *p, const struct pol_import_opts *o,
    const struct pol_confirm *c)
{
	struct bk_buf	 msg;
	size_t		 i, nheld = 0;
	int		 rv, del_ok;

	p->need_delete = -1;
	if (o->delete_missing && (p->n_deleted > 0 ||
	    (c->del_given && c->del_count != p->n_deleted)) &&
	    (rv = pol_delete_warn(p, c)) != BK_OK)
		return rv;
	for (i = 0; i < p->n_warnings; i++)
		if (p->warnings[i].kind == POL_WARN_DROPPED_ZERO)
			p->warnings[i].confirmed = c->zero_all ||
			    (c->ids != NULL && g_hash_table_contains(c->ids,
			    p->warnings[i].internal_id));
	if ((rv = pol_confirm_stray(p, c)) != BK_OK)
		return rv;
	for (i = 0; i < p->n_warnings; i++)
		if (p->warnings[i].kind == POL_WARN_DROPPED_ZERO &&
		    !p->warnings[i].confirmed)
			nheld++;
	del_ok = !o->delete_missing || (c->del_given ?
	    c->del_count == p->n_deleted : p->n_deleted == 0);
	if (nheld == 0 && del_ok)
		return BK_OK;
	/* Ten rows named, each at most three fields long: fits. */
	bk_buf_init(&msg, 64 * 1024);
	rv = BK_OK;
	if (nheld > 0)
		rv = pol_hold_zero_text(p, &msg, nheld);
	if (rv == BK_OK && !del_ok) {
		p->need_delete = (long long)p->n_deleted;
		rv = bk_buf_addf(&msg, "%s%zu profile%s would be deleted; "
		    "confirm that count (confirm_delete=%zu)",
		    nheld > 0 ? "; also: " : "", p->n_deleted,
		    p->n_deleted == 1 ? "" : "s", p->n_deleted);
	}
	if (rv == BK_OK && (p->hold = bk_buf_take(&msg)) == NULL)
		rv = BK_E_NOMEM;
	bk_buf_free(&msg);
	if (rv != BK_OK)
		return rv;
	p->hold_err = nheld > 0 ? BK_E_POL_ZERO_UNCONFIRMED :
	    BK_E_POL_DELETE_UNCONFIRMED;
	return p->hold_err;
}

static const char *
pol_warn_kind_name(enum pol_warn_kind k)
{
	switch (k) {
	case POL_WARN_DROPPED_ZERO:
		return "dropped_zero";
	case POL_WARN_DELETE_COUNT:
		return "delete_missing";
	case POL_WARN_SFDC_CLEARED:
		return "salesforce_id_cleared";
	}
	return "unknown";
}

int
pol_plan_warnings_json(const struct pol_plan *p, json_t *o)
{
	const struct pol_warning *w;
	json_t			*arr, *j, *nc;
	size_t			 i;
	int			 e = 0;

	if ((arr = json_array()) == NULL ||
	    json_object_set_new(o, "warnings", arr) != 0)
		return BK_E_NOMEM;
	for (i = 0; i < p->n_warnings; i++) {
		w = &p->warnings[i];
		if ((j = json_object()) == NULL ||
		    json_array_append_new(arr, j) != 0)
			return BK_E_NOMEM;
		e |= json_object_set_new(j, "kind",
		    json_string(pol_warn_kind_name(w->kind)));
		if (w->row > 0) {
			e |= json_object_set_new(j, "row",
			    json_integer(w->row));
			e |= json_object_set_new(j, "line",
			    json_integer(w->line));
		}
		if (w->internal_id != NULL)
			e |= pol_json_str(j, "internal_id", w->internal_id);
		if (w->col >= 0) {
			e |= pol_json_str(j, "column", pol_col_name(w->col));
			e |= pol_json_str(j, "old", w->old_val);
			e |= pol_json_str(j, "new", w->new_val);
		}
		e |= pol_json_str(j, "message", w->message);
		e |= json_object_set_new(j, "blocking",
		    json_boolean(w->blocking));
		if (w->blocking)
			e |= json_object_set_new(j, "confirmed",
			    json_boolean(w->confirmed));
	}
	if (p->hold != NULL) {
		if ((nc = json_object()) == NULL ||
		    json_object_set_new(o, "needs_confirmation", nc) != 0)
			return BK_E_NOMEM;
		e |= json_object_set_new(nc, "code",
		    json_string(bk_err_slug(p->hold_err)));
		e |= pol_json_str(nc, "message", p->hold);
		e |= pol_json_str(nc, "confirm_zero", p->need_zero);
		e |= json_object_set_new(nc, "confirm_delete",
		    p->need_delete >= 0 ? json_integer(p->need_delete) :
		    json_null());
	}
	return e != 0 ? BK_E_NOMEM : BK_OK;
}
