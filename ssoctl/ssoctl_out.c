/*
 * sso-broker: ssoctl output helpers: aligned tables, key/value views,
 * pretty JSON and output files written atomically.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Trust: every value printed here comes from the admin listener; control
 * bytes are replaced (ssoctl_sanitize) so that a hostile record in the
 * audit log cannot drive the operator's terminal.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ssoctl_int.h"
#include "ssoctl_out.h"

/* Display width of a UTF-8 string: one column per code point. */
static size_t
ssoctl_width(const char *s)
{
	size_t	w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

char *
ssoctl_jval(const json_t *v, const char *none)
{
	char	num[64], *s, *dump = NULL;
	const char *src = none;

	switch (v != NULL ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		src = json_string_value(v);
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		src = num;
		break;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%g", json_real_value(v));
		src = num;
		break;
	case JSON_TRUE:
		src = "true";
		break;
	case JSON_FALSE:
		src = "false";
		break;
	case JSON_OBJECT:
	case JSON_ARRAY:
		dump = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
		src = dump != NULL ? dump : "?";
		break;
	default:
		src = none;
		break;
	}
	if ((s = malloc(strlen(src) + 1)) != NULL)
		ssoctl_sanitize(src, s, strlen(src) + 1);
	free(dump);
	return s;
}

int
ssoctl_table_init(struct ssoctl_table *t, const char *const *head,
    size_t ncols, size_t nrows)
{
	size_t	 k;

	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->maxrows = nrows + 1;		/* plus the heading */
	t->cells = calloc(t->maxrows * ncols, sizeof(*t->cells));
	t->width = calloc(ncols, sizeof(*t->width));
	if (t->cells == NULL || t->width == NULL) {
		ssoctl_table_cleanup(t);
		return BK_E_NOMEM;
	}
	for (k = 0; k < ncols; k++)
		if (ssoctl_table_set(t, k, bk_strdup(head[k])) != BK_OK)
			return BK_E_NOMEM;
	ssoctl_table_next(t);
	return BK_OK;
}

void
ssoctl_table_cleanup(struct ssoctl_table *t)
{
	size_t	i;

	if (t->cells != NULL)
		for (i = 0; i < t->maxrows * t->ncols; i++)
			free(t->cells[i]);
	free(t->cells);
	free(t->width);
	memset(t, 0, sizeof(*t));
}

int
ssoctl_table_set(struct ssoctl_table *t, size_t col, char *val)
{
	size_t	 w, row = t->nrows;

	if (val == NULL)
		return BK_E_NOMEM;
	if (row >= t->maxrows || col >= t->ncols) {
		free(val);
		return BK_E_INTERNAL;
	}
	free(t->cells[row * t->ncols + col]);
	t->cells[row * t->ncols + col] = val;
	if ((w = ssoctl_width(val)) > t->width[col])
		t->width[col] = w;
	return BK_OK;
}

int
ssoctl_table_setj(struct ssoctl_table *t, size_t col, const json_t *v)
{
	return ssoctl_table_set(t, col, ssoctl_jval(v, "-"));
}

void
ssoctl_table_next(struct ssoctl_table *t)
{
	if (t->nrows < t->maxrows)
		t->nrows++;
}

void
ssoctl_table_print(const struct ssoctl_table *t, FILE *fp)
{
	const char	*cell;
	size_t		 r, col, pad;

	for (r = 0; r < t->nrows; r++) {
		for (col = 0; col < t->ncols; col++) {
			cell = t->cells[r * t->ncols + col];
			if (cell == NULL)
				cell = "";
			fputs(cell, fp);
			if (col + 1 == t->ncols)
				break;
			for (pad = ssoctl_width(cell); pad < t->width[col] + 2;
			    pad++)
				fputc(' ', fp);
		}
		fputc('\n', fp);
	}
}

int
ssoctl_json_print(struct ssoctl *c, const json_t *j)
{
	if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
		return ssoctl_fail(c, BK_E_IO, "write error on standard "
		    "output: %s", strerror(errno));
	fputc('\n', stdout);
	return BK_OK;
}

/* One key/value line; arrays of scalars get one element a line. */
static void
ssoctl_kv_line(const char *key, const json_t *v, int width)
{
	const json_t	*e;
	char		*s, k[128];
	size_t		 i;

	ssoctl_sanitize(key, k, sizeof(k));
	if (json_is_array(v) && json_array_size(v) > 0) {
		json_array_foreach(v, i, e) {
			s = ssoctl_jval(e, "-");
			printf("%-*s  %s\n", width, i == 0 ? k : "",
			    s != NULL ? s : "?");
			free(s);
		}
		return;
	}
	s = ssoctl_jval(v, "");
	if (s != NULL && s[0] == '\0')
		printf("%s\n", k);	/* no trailing blanks */
	else
		printf("%-*s  %s\n", width, k, s != NULL ? s : "?");
	free(s);
}

void
ssoctl_kv_print(json_t *obj, const char *const *order,
    const char *const *skip)
{
	const char	*key;
	json_t		*v;
	size_t		 i, w = 0;
	int		 known;

	for (i = 0; order[i] != NULL; i++)
		if (strlen(order[i]) > w)
			w = strlen(order[i]);
	json_object_foreach(obj, key, v)
		if (strlen(key) > w && strlen(key) < 64)
			w = strlen(key);
	for (i = 0; order[i] != NULL; i++)
		ssoctl_kv_line(order[i], json_object_get(obj, order[i]),
		    (int)w + 1);
	/* Whatever a newer broker adds is shown too, after the rest. */
	json_object_foreach(obj, key, v) {
		known = 0;
		for (i = 0; order[i] != NULL && !known; i++)
			known = strcmp(order[i], key) == 0;
		for (i = 0; skip != NULL && skip[i] != NULL && !known; i++)
			known = strcmp(skip[i], key) == 0;
		if (!known)
			ssoctl_kv_line(key, v, (int)w + 1);
	}
}

int
ssoctl_outfile_open(struct ssoctl *c, struct ssoctl_outfile *o,
    const char *path)
{
	size_t	n;
	int	fd;

	memset(o, 0, sizeof(*o));
	if (path == NULL || strcmp(path, "-") == 0) {
		o->fp = stdout;
		return BK_OK;
	}
	o->path = path;
	n = strlen(path) + sizeof(".XXXXXX");
	if ((o->tmp = malloc(n)) == NULL)
		return ssoctl_fail(c, BK_E_NOMEM, "out of memory");
	snprintf(o->tmp, n, "%s.XXXXXX", path);
	/* mkstemp: mode 0600, as the data names users. */
	if ((fd = mkstemp(o->tmp)) == -1) {
		ssoctl_fail(c, BK_E_IO, "%s: %s", path, strerror(errno));
		free(o->tmp);
		o->tmp = NULL;
		return BK_E_IO;
	}
	if ((o->fp = fdopen(fd, "w")) == NULL) {
		ssoctl_fail(c, BK_E_IO, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
		return BK_E_IO;
	}
	return BK_OK;
}

int
ssoctl_outfile_close(struct ssoctl *c, struct ssoctl_outfile *o, int commit)
{
	int	rv = BK_OK;

	if (o->fp == NULL)
		return BK_OK;
	if (o->tmp == NULL) {
		o->fp = NULL;
		return BK_OK;		/* stdout: main() checks it */
	}
	if (fflush(o->fp) != 0 || ferror(o->fp) || fsync(fileno(o->fp)) != 0) {
		if (commit)
			rv = ssoctl_fail(c, BK_E_IO, "%s: %s", o->path,
			    strerror(errno));
		commit = 0;
	}
	if (fclose(o->fp) != 0 && commit) {
		rv = ssoctl_fail(c, BK_E_IO, "%s: %s", o->path,
		    strerror(errno));
		commit = 0;
	}
	o->fp = NULL;
	if (commit && rename(o->tmp, o->path) != 0) {
		rv = ssoctl_fail(c, BK_E_IO, "%s: %s", o->path,
		    strerror(errno));
		commit = 0;
	}
	if (!commit)
		unlink(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
	return rv;
}
