/*
 * sso-broker: ssoctl audit verbs: query (table) and export (JSON lines,
 * streamed); verify is in ssoctl_verify.c.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Filters are checked here only where a typo would otherwise silently
 * match nothing (outcome, source, limit); the broker checks the rest and
 * answers an unknown or malformed one with 400 and a reason, which is
 * printed as the one-line error.  A query is one page, newest first; the
 * next page is asked for with the cursor the broker gave (--cursor).
 * Trust: audit records carry attacker-influenced strings (usernames,
 * assertion IDs, reasons); ssoctl_out.c sanitises them before display.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssoctl_int.h"
#include "ssoctl_out.h"

/* Filter options and the query parameters they become. */
static const struct {
	enum ssoctl_opt_id	 opt;
	const char		*param;
} ssoctl_filters[] = {
	{ SSOCTL_O_USER, "user" },
	{ SSOCTL_O_OUTCOME, "outcome" },
	{ SSOCTL_O_REASON, "reason" },
	{ SSOCTL_O_EVENT, "event" },
	{ SSOCTL_O_SINCE, "since" },
	{ SSOCTL_O_UNTIL, "until" },
	{ SSOCTL_O_ASSERTION_ID, "assertion_id" },
	{ SSOCTL_O_REQUEST_ID, "request_id" },
	{ SSOCTL_O_CLIENT, "client" },
	{ SSOCTL_O_SOURCE, "source" },
	{ SSOCTL_O_CURSOR, "cursor" },
	{ SSOCTL_O_LIMIT, "limit" },
};

static int
ssoctl_query_add(struct ssoctl *c, struct bk_buf *b, const char *key,
    const char *val)
{
	if (bk_buf_adds(b, strchr(b->data, '?') == NULL ? "?" : "&") !=
	    BK_OK || bk_buf_adds(b, key) != BK_OK || bk_buf_adds(b, "=") !=
	    BK_OK)
		return ssoctl_fail(c, BK_E_TOOBIG, "request URL too long");
	return ssoctl_buf_escape(c, b, val);
}

/* base + "?tenant=..&user=..": the filters given on the command line. */
static int
ssoctl_audit_path(struct ssoctl *c, const char *base, struct bk_buf *b)
{
	const char	*v, *why = NULL, *t = c->args->opt[SSOCTL_O_TENANT];
	long long	 n;
	size_t		 i;
	int		 rv;

	bk_buf_init(b, 64 * 1024);
	if (bk_buf_adds(b, base) != BK_OK)
		return ssoctl_fail(c, BK_E_NOMEM, "out of memory");
	v = c->args->opt[SSOCTL_O_OUTCOME];
	if (v != NULL && strcmp(v, "accepted") != 0 &&
	    strcmp(v, "rejected") != 0) {
		c->exit_code = SSOCTL_EXIT_USAGE;
		return ssoctl_fail(c, BK_E_INVAL, "--outcome must be "
		    "accepted or rejected");
	}
	v = c->args->opt[SSOCTL_O_SOURCE];
	if (v != NULL && strcmp(v, "stream") != 0 && strcmp(v, "file") != 0) {
		c->exit_code = SSOCTL_EXIT_USAGE;
		return ssoctl_fail(c, BK_E_INVAL, "--source must be stream or "
		    "file");
	}
	v = c->args->opt[SSOCTL_O_LIMIT];
	/* a query's page is at most 1000: the broker says so */
	if (v != NULL && bk_strtonum(v, 1, 100000000, &n, &why) != BK_OK) {
		c->exit_code = SSOCTL_EXIT_USAGE;
		return ssoctl_fail(c, BK_E_INVAL, "--limit %s: %s (1 to "
		    "1000 for a query, 100000000 for an export)", v,
		    why != NULL ? why : "invalid");
	}
	/* The tenant is a filter here: no tenant means all of them. */
	if (t == NULL && (t = getenv("SSOCTL_TENANT")) != NULL && t[0] == '\0')
		t = NULL;
	if (t != NULL && (rv = ssoctl_query_add(c, b, "tenant", t)) != BK_OK)
		return rv;
	for (i = 0; i < BK_NELEM(ssoctl_filters); i++) {
		v = c->args->opt[ssoctl_filters[i].opt];
		if (v != NULL && (rv = ssoctl_query_add(c, b,
		    ssoctl_filters[i].param, v)) != BK_OK)
			return rv;
	}
	return BK_OK;
}

/* A long cell (a detail, a fingerprint) cut to n characters. */
static const json_t *
ssoctl_audit_cut(const json_t *v, size_t n, json_t **tmp)
{
	const char	*s = json_string_value(v);
	char		 b[128];

	if (s == NULL || strlen(s) <= n || n + 4 > sizeof(b))
		return v;
	snprintf(b, sizeof(b), "%.*s...", (int)n, s);
	return *tmp = json_string(b);
}

/*
 * The records table: a heading, then a row per record.  The certificate
 * column is the fingerprint of the certificate that verified an
 * assertion, else the kid of the key that verified an ID token.
 * BK_E_NOMEM.
 */
static int
ssoctl_audit_table(struct ssoctl_table *t, json_t *recs)
{
	static const char *const cols[] = { "time", "event", "outcome",
	    "reason", "detail", "tenant", "user", "client_addr",
	    "assertion_id", "cert_fingerprint" };
	static const char *const head[] = { "TIME", "EVENT", "OUTCOME",
	    "REASON", "DETAIL", "TENANT", "USER", "CLIENT", "ASSERTION ID",
	    "CERT/KEY" };
	const json_t	*v;
	json_t		*e, *tmp;
	size_t		 i, k;
	int		 rv;

	if (ssoctl_table_init(t, head, BK_NELEM(cols),
	    json_array_size(recs)) != BK_OK)
		return BK_E_NOMEM;
	json_array_foreach(recs, i, e) {
		for (k = 0; k < BK_NELEM(cols); k++) {
			v = json_object_get(e, cols[k]);
			if (v == NULL && k == 9)
				v = json_object_get(e, "key_id");
			tmp = NULL;
			if (k == 4 || k == 9)
				v = ssoctl_audit_cut(v, k == 4 ? 48 : 23, &tmp);
			rv = ssoctl_table_setj(t, k, v);
			json_decref(tmp);
			if (rv != BK_OK)
				return BK_E_NOMEM;
		}
		ssoctl_table_next(t);
	}
	return BK_OK;
}

/* The next page, if there is one: the cursor to ask for it with. */
static void
ssoctl_audit_more(const json_t *j)
{
	const char	*next = json_string_value(json_object_get(j, "next"));
	char		 b[256];

	if (next == NULL)
		return;
	ssoctl_sanitize(next, b, sizeof(b));
	printf("(more records may match: the next page is "
	    "--cursor %s)\n", b);
}

int
ssoctl_cmd_audit_query(struct ssoctl *c)
{
	struct ssoctl_table	 t;
	struct bk_buf		 path;
	json_t			*j = NULL, *recs;
	int			 rv;

	memset(&t, 0, sizeof(t));
	if ((rv = ssoctl_audit_path(c, "/api/v1/audit", &path)) != BK_OK)
		goto out;
	if ((rv = ssoctl_get_list(c, path.data, "records", &j, &recs)) !=
	    BK_OK || recs == NULL)
		goto out;
	if (json_array_size(recs) == 0) {
		printf("no matching audit records%s\n",
		    json_is_string(json_object_get(j, "next")) ? " in this "
		    "page (the scan stopped at its budget: go on with --cursor "
		    "below)" : "");
		ssoctl_audit_more(j);
		goto out;
	}
	if (ssoctl_audit_table(&t, recs) != BK_OK) {
		rv = ssoctl_fail(c, BK_E_NOMEM, "out of memory");
		goto out;
	}
	ssoctl_table_print(&t, stdout);
	ssoctl_audit_more(j);
	rv = BK_OK;
 out:
	ssoctl_table_cleanup(&t);
	bk_buf_free(&path);
	json_decref(j);
	return rv;
}

int
ssoctl_cmd_audit_export(struct ssoctl *c)
{
	struct bk_buf	 path;
	int		 rv;

	if ((rv = ssoctl_audit_path(c, "/api/v1/audit/export", &path)) !=
	    BK_OK) {
		bk_buf_free(&path);
		return rv;
	}
	return ssoctl_get_to_output(c, &path);
}
