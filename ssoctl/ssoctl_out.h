/*
 * sso-broker: ssoctl output helpers (tables, key/value views, files).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Private to ssoctl.  Trust: values are sanitised before they are printed.
 */
#ifndef SSOCTL_OUT_H
#define SSOCTL_OUT_H

#include <stdio.h>

#include <jansson.h>

struct ssoctl;

/** A table built row by row; row 0 is the heading. */
struct ssoctl_table {
	char	**cells;	/* maxrows * ncols, owned */
	size_t	 *width;	/* display width per column */
	size_t	  ncols;
	size_t	  nrows;	/* rows completed */
	size_t	  maxrows;
};

/**
 * Room for nrows data rows plus the heading, which is written from
 * head[0..ncols) (borrowed); the next row is the first data row.
 * @return BK_OK or BK_E_NOMEM.
 */
int	ssoctl_table_init(struct ssoctl_table *t, const char *const *head,
	    size_t ncols, size_t nrows);
void	ssoctl_table_cleanup(struct ssoctl_table *t);
/** Set a cell of the current row; takes val (NULL: BK_E_NOMEM). */
int	ssoctl_table_set(struct ssoctl_table *t, size_t col, char *val);
/** Set a cell from a JSON value ("-" when absent or null). */
int	ssoctl_table_setj(struct ssoctl_table *t, size_t col, const json_t *v);
/** Finish the current row. */
void	ssoctl_table_next(struct ssoctl_table *t);
/** Print with columns aligned by two spaces. */
void	ssoctl_table_print(const struct ssoctl_table *t, FILE *fp);

/**
 * A JSON scalar as a sanitised string (returned-owned, NULL on ENOMEM);
 * none is used for NULL/absent, objects and arrays are compact JSON.
 */
char	*ssoctl_jval(const json_t *v, const char *none);
/** Pretty JSON of j on stdout (--json). */
int	ssoctl_json_print(struct ssoctl *c, const json_t *j);
/**
 * "key  value" lines for obj: the keys of order first (absent ones too),
 * then any other key not in skip (NULL-terminated lists).
 */
void	ssoctl_kv_print(json_t *obj, const char *const *order,
	    const char *const *skip);

/** An output file written to a temporary name and renamed on success. */
struct ssoctl_outfile {
	FILE		*fp;
	const char	*path;	/* borrowed; NULL for stdout */
	char		*tmp;	/* owned */
};

/** path NULL or "-" is stdout. */
int	ssoctl_outfile_open(struct ssoctl *c, struct ssoctl_outfile *o,
	    const char *path);
/** Close; rename into place if commit, else remove the temporary. */
int	ssoctl_outfile_close(struct ssoctl *c, struct ssoctl_outfile *o,
	    int commit);

#endif /* SSOCTL_OUT_H */
