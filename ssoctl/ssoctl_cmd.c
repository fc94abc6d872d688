/*
 * sso-broker: ssoctl verbs for tenants, users and sessions.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Each verb builds one admin API request (path components percent-encoded
 * with curl_easy_escape), prints the answer as a table or key/value view,
 * or as the server's JSON with --json, and leaves the reason in c->err on
 * failure.
 * Trust: the answers are untrusted (see ssoctl_out.c); the import file is
 * the operator's and is only capped in size, the broker validates it.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ssoctl_int.h"
#include "ssoctl_out.h"

static const char *const ssoctl_tenant_keys[] = {
	"id", "login", "enable_salesforce_sso", "consent", "code_ttl",
	"session_ttl", "allow_idp_initiated", "clock_skew", "allow_sha1",
	"sign_requests", "require_encryption", "allow_cbc", "encryption_keys",
	"idp_entity_id", "metadata_valid_until",
	"sp_entity_id", "acs_url", "panel_client_id", "redirect_uris", "users",
	"issuer", "ready", "sso_enabled", "sso_file_value", "sso_source",
	"sso_set_by", "sso_set_at", NULL
};
static const char *const ssoctl_tenant_skip[] = { "idp_certificates", NULL };

static const char *const ssoctl_user_keys[] = {
	"internal_id", "user_name", "first_name", "last_name", "email",
	"extension", "salesforce_id", "custom_field_1", "custom_field_2",
	"custom_field_3", NULL
};

/* The users set options and the JSON keys they fill. */
static const struct {
	enum ssoctl_opt_id	 opt;
	const char		*key;
} ssoctl_user_fields[] = {
	{ SSOCTL_O_USER_NAME, "user_name" },
	{ SSOCTL_O_FIRST_NAME, "first_name" },
	{ SSOCTL_O_LAST_NAME, "last_name" },
	{ SSOCTL_O_EMAIL, "email" },
	{ SSOCTL_O_EXTENSION, "extension" },
	{ SSOCTL_O_SALESFORCE_ID, "salesforce_id" },
	{ SSOCTL_O_CUSTOM_1, "custom_field_1" },
	{ SSOCTL_O_CUSTOM_2, "custom_field_2" },
	{ SSOCTL_O_CUSTOM_3, "custom_field_3" },
};

/* "/api/v1/tenants/<t>[/users/<id>][tail]", the tenant resolved first. */
static int
ssoctl_tenant_path(struct ssoctl *c, struct bk_buf *b, const char *user,
    const char *tail)
{
	int	rv;

	if ((rv = ssoctl_tenant_resolve(c)) != BK_OK)
		return rv;
	bk_buf_init(b, 16 * 1024);
	if (bk_buf_adds(b, "/api/v1/tenants/") == BK_OK &&
	    ssoctl_buf_escape(c, b, c->tenant) == BK_OK &&
	    (user == NULL || (bk_buf_adds(b, "/users/") == BK_OK &&
	    ssoctl_buf_escape(c, b, user) == BK_OK)) &&
	    (tail == NULL || bk_buf_adds(b, tail) == BK_OK))
		return BK_OK;
	bk_buf_free(b);
	return ssoctl_fail(c, BK_E_TOOBIG, "request URL too long");
}

/* Earliest not_after of the IdP certificates ("-" when none). */
static char *
ssoctl_cert_expiry(const json_t *t)
{
	const json_t	*certs = json_object_get(t, "idp_certificates"), *e;
	const char	*na, *min = NULL;
	char		*s;
	size_t		 i;

	json_array_foreach(certs, i, e) {
		na = json_string_value(json_object_get(e, "not_after"));
		if (na != NULL && (min == NULL || strcmp(na, min) < 0))
			min = na;
	}
	if (min == NULL)
		return bk_strdup("-");
	if ((s = bk_strdup(min)) != NULL)
		ssoctl_sanitize(s, s, strlen(s) + 1);
	return s;
}

/* b's text as a table cell (sanitized), returned-owned; b is emptied. */
static char *
ssoctl_cell_take(struct bk_buf *b)
{
	char	*s;

	if ((s = bk_buf_take(b)) != NULL)
		ssoctl_sanitize(s, s, strlen(s) + 1);
	bk_buf_free(b);
	return s;
}

/*
 * The IdP metadata's source: "file", or "url STATE AGE" (AGE since the
 * last fetch put in force, "-" before one); "-" for an OAuth tenant.
 */
static char *
ssoctl_metadata_cell(const json_t *t)
{
	const char	*src = json_string_value(json_object_get(t,
	    "metadata_source"));
	const char	*st = json_string_value(json_object_get(t,
	    "metadata_state"));
	const json_t	*age = json_object_get(t, "metadata_age");
	struct bk_buf	 b;

	if (src == NULL || strcmp(src, "url") != 0)
		return bk_strdup(src != NULL ? src : "-");
	bk_buf_init(&b, 256);
	if (json_is_integer(age))
		(void)bk_buf_addf(&b, "url %s %llds", st != NULL ? st : "-",
		    (long long)json_integer_value(age));
	else
		(void)bk_buf_addf(&b, "url %s -", st != NULL ? st : "-");
	return ssoctl_cell_take(&b);
}

/*
 * GET path as JSON.  With --json the answer is printed and *arr is NULL;
 * otherwise *arr is its array under key (borrowed from *j, which the
 * caller frees).  Any error is printed and returned.
 */
int
ssoctl_get_list(struct ssoctl *c, const char *path, const char *key,
    json_t **j, json_t **arr)
{
	int	 rv;

	*j = *arr = NULL;
	if ((rv = ssoctl_json_call(c, "GET", path, NULL, j, NULL)) != BK_OK)
		return rv;
	if (c->json)
		return ssoctl_json_print(c, *j);
	if (!json_is_array(*arr = json_object_get(*j, key)))
		return ssoctl_fail(c, BK_E_INVAL, "unexpected answer: no %s "
		    "array", key);
	return BK_OK;
}

/*
 * Who set the switch in force and when ("admin-token 2026-12-03T17:00:00Z"),
 * or "file" while the tenant file's starting value is in force.
 */
static char *
ssoctl_sso_cell(const json_t *t)
{
	const char	*by = json_string_value(json_object_get(t,
	    "sso_set_by"));
	const char	*at = json_string_value(json_object_get(t,
	    "sso_set_at"));
	struct bk_buf	 b;

	if (by == NULL)
		return bk_strdup("file");
	bk_buf_init(&b, 512);
	(void)bk_buf_addf(&b, "%.128s %.40s", by, at != NULL ? at : "-");
	return ssoctl_cell_take(&b);
}

/* The tenants table: a heading, then a row per tenant.  BK_E_NOMEM. */
static int
ssoctl_tenants_table(struct ssoctl_table *t, json_t *arr)
{
	static const char *const head[] = { "ID", "LOGIN", "SSO", "CONSENT",
	    "IDP ENTITY", "CERT EXPIRY", "METADATA", "USERS", "READY",
	    "SSO SET BY" };
	json_t	*e, *v;
	size_t	 i;

	if (ssoctl_table_init(t, head, BK_NELEM(head),
	    json_array_size(arr)) != BK_OK)
		return BK_E_NOMEM;
	json_array_foreach(arr, i, e) {
		v = json_object_get(e, "enable_salesforce_sso");
		if (ssoctl_table_setj(t, 0, json_object_get(e, "id")) ||
		    ssoctl_table_setj(t, 1, json_object_get(e, "login")) ||
		    ssoctl_table_set(t, 2, bk_strdup(json_is_true(v) ?
		    "on" : "off")) ||
		    ssoctl_table_setj(t, 3, json_object_get(e, "consent")) ||
		    ssoctl_table_setj(t, 4, json_object_get(e,
		    json_is_string(json_object_get(e, "issuer")) ? "issuer" :
		    "idp_entity_id")) ||
		    ssoctl_table_set(t, 5, ssoctl_cert_expiry(e)) ||
		    ssoctl_table_set(t, 6, ssoctl_metadata_cell(e)) ||
		    ssoctl_table_setj(t, 7, json_object_get(e, "users")) ||
		    ssoctl_table_setj(t, 8, json_object_get(e, "ready")) ||
		    ssoctl_table_set(t, 9, ssoctl_sso_cell(e)))
			return BK_E_NOMEM;
		ssoctl_table_next(t);
	}
	return BK_OK;
}

int
ssoctl_cmd_tenants_list(struct ssoctl *c)
{
	struct ssoctl_table	 t;
	json_t			*j = NULL, *arr;
	int			 rv;

	memset(&t, 0, sizeof(t));
	if ((rv = ssoctl_get_list(c, "/api/v1/tenants", "tenants", &j,
	    &arr)) != BK_OK || arr == NULL)
		goto out;
	if (ssoctl_tenants_table(&t, arr) != BK_OK) {
		rv = ssoctl_fail(c, BK_E_NOMEM, "out of memory");
		goto out;
	}
	ssoctl_table_print(&t, stdout);
	rv = BK_OK;
 out:
	ssoctl_table_cleanup(&t);
	json_decref(j);
	return rv;
}

int
ssoctl_cmd_tenants_show(struct ssoctl *c)
{
	json_t		*j = NULL, *certs, *e;
	struct bk_buf	 path;
	char		*fp, *na, *subj;
	size_t		 i;
	int		 rv;

	/* "tenants show ID" names the tenant; else --tenant rules. */
	if (c->args->arg != NULL && (c->tenant = bk_strdup(c->args->arg)) ==
	    NULL)
		return ssoctl_fail(c, BK_E_NOMEM, "out of memory");
	if ((rv = ssoctl_tenant_path(c, &path, NULL, NULL)) != BK_OK)
		return rv;
	if ((rv = ssoctl_json_call(c, "GET", path.data, NULL, &j, NULL)) !=
	    BK_OK)
		goto out;
	if (c->json) {
		rv = ssoctl_json_print(c, j);
		goto out;
	}
	ssoctl_kv_print(j, ssoctl_tenant_keys, ssoctl_tenant_skip);
	certs = json_object_get(j, "idp_certificates");
	printf("idp_certificates%s\n", json_array_size(certs) == 0 ?
	    "       (none)" : ":");
	json_array_foreach(certs, i, e) {
		fp = ssoctl_jval(json_object_get(e, "fingerprint_sha256"), "-");
		na = ssoctl_jval(json_object_get(e, "not_after"), "-");
		subj = ssoctl_jval(json_object_get(e, "subject"), "-");
		if (fp != NULL && na != NULL && subj != NULL)
			printf("  sha256 %s\n    expires %s  subject %s\n",
			    fp, na, subj);
		free(fp);
		free(na);
		free(subj);
	}
	rv = BK_OK;
 out:
	bk_buf_free(&path);
	json_decref(j);
	return rv;
}

int
ssoctl_cmd_tenants_sso(struct ssoctl *c)
{
	struct bk_buf	 path;
	json_t		*j = NULL, *ended;
	char		*by, *at;
	char		 id[256];
	int		 on = strcmp(c->args->arg, "on") == 0, rv;

	/* "tenants sso off ID" names the tenant; else --tenant rules. */
	if (c->args->arg2 != NULL && (c->tenant = bk_strdup(c->args->arg2)) ==
	    NULL)
		return ssoctl_fail(c, BK_E_NOMEM, "out of memory");
	if ((rv = ssoctl_tenant_path(c, &path, NULL, "/sso")) != BK_OK)
		return rv;
	if ((rv = ssoctl_json_call(c, "PUT", path.data, on ?
	    "{\"enabled\": true}" : "{\"enabled\": false}", &j, NULL)) !=
	    BK_OK)
		goto out;
	if (c->json) {
		rv = ssoctl_json_print(c, j);
		goto out;
	}
	ssoctl_sanitize(c->tenant, id, sizeof(id));
	by = ssoctl_jval(json_object_get(j, "sso_set_by"), "-");
	at = ssoctl_jval(json_object_get(j, "sso_set_at"), "-");
	printf("tenant %s: SSO is %s on every broker (set by %s at %s)\n",
	    id, json_is_true(json_object_get(j, "sso_enabled")) ? "on" : "off",
	    by != NULL ? by : "-", at != NULL ? at : "-");
	free(by);
	free(at);
	/* A sweep that broke off counted less than it voided. */
	if ((ended = json_object_get(j, "ended")) != NULL)
		printf("ended %s%" JSON_INTEGER_FORMAT " sessions and %"
		    JSON_INTEGER_FORMAT " tokens; codes and sign-ins in flight "
		    "are void\n", json_is_false(json_object_get(ended,
		    "complete")) ? "at least " : "",
		    json_integer_value(json_object_get(ended, "sessions")),
		    json_integer_value(json_object_get(ended, "tokens")));
	rv = BK_OK;
 out:
	bk_buf_free(&path);
	json_decref(j);
	return rv;
}

/*
 * GET path and stream the body to -o FILE (written whole or not at all) or
 * to standard output.  path is consumed.
 */
int
ssoctl_get_to_output(struct ssoctl *c, struct bk_buf *path)
{
	struct ssoctl_outfile	 o;
	struct ssoctl_resp	 r;
	int			 rv;

	if ((rv = ssoctl_outfile_open(c, &o, c->args->opt[SSOCTL_O_OUTPUT])) !=
	    BK_OK) {
		bk_buf_free(path);
		return rv;
	}
	ssoctl_resp_init(&r, o.fp);
	if ((rv = ssoctl_http(c, "GET", path->data, NULL, 0, NULL, &r)) ==
	    BK_OK && (r.status < 200 || r.status > 299))
		rv = ssoctl_api_error(c, &r);
	if (ssoctl_outfile_close(c, &o, rv == BK_OK) != BK_OK)
		rv = BK_E_IO;
	ssoctl_resp_cleanup(&r);
	bk_buf_free(path);
	return rv;
}

int
ssoctl_cmd_users_export(struct ssoctl *c)
{
	struct bk_buf	 path;
	int		 rv;

	if ((rv = ssoctl_tenant_path(c, &path, NULL, "/users.csv")) != BK_OK)
		return rv;
	/* ="0101": Excel keeps the leading zeros (docs/admin.md) */
	if (c->args->opt[SSOCTL_O_EXCEL] != NULL &&
	    bk_buf_adds(&path, "?excel=1") != BK_OK) {
		bk_buf_free(&path);
		return ssoctl_fail(c, BK_E_TOOBIG, "request URL too long");
	}
	return ssoctl_get_to_output(c, &path);
}

/* Read the whole import file (or stdin for "-"), at most 64 MiB. */
static int
ssoctl_file_slurp(struct ssoctl *c, const char *path, struct bk_buf *b)
{
	char	buf[65536];
	ssize_t	n;
	int	fd, rv = BK_OK;

	bk_buf_init(b, SSOCTL_MAX_UPLOAD);
	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return ssoctl_fail(c, BK_E_IO, "%s: %s", path, strerror(errno));
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rv = ssoctl_fail(c, BK_E_IO, "%s: %s", path,
			    strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (bk_buf_add(b, buf, (size_t)n) != BK_OK) {
			rv = ssoctl_fail(c, BK_E_TOOBIG, "%s: larger than "
			    "the %lu MiB import limit", path,
			    (unsigned long)(SSOCTL_MAX_UPLOAD >> 20));
			break;
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (rv != BK_OK)
		bk_buf_free(b);
	else if (b->len == 0)
		rv = ssoctl_fail(c, BK_E_INVAL, "%s: the file is empty", path);
	return rv;
}

/* ' "old" -> "new"' for one change; values sanitised. */
static void
ssoctl_change_print(const json_t *ch, int first)
{
	char	*col, *old, *new;

	col = ssoctl_jval(json_object_get(ch, "column"), "?");
	old = ssoctl_jval(json_object_get(ch, "old"), "");
	new = ssoctl_jval(json_object_get(ch, "new"), "");
	if (col != NULL && old != NULL && new != NULL)
		printf("%s %s \"%s\" -> \"%s\"", first ? ":" : ",", col, old,
		    new);
	free(col);
	free(old);
	free(new);
}

/* ": column: reason" of one error (a row or an element of "errors"). */
static void
ssoctl_row_error_print(const json_t *e, int cont)
{
	const json_t	*v;
	const char	*sep = cont ? "\n    " : ": ";
	char		*s;

	if ((v = json_object_get(e, "column")) != NULL && !json_is_null(v) &&
	    (s = ssoctl_jval(v, "")) != NULL) {
		if (s[0] != '\0') {
			printf("%s%s", sep, s);
			sep = ": ";
		}
		free(s);
	}
	if ((s = ssoctl_jval(json_object_get(e, "reason"), "")) != NULL) {
		printf("%s%s", sep, s);
		free(s);
	}
}

static void
ssoctl_report_row(const json_t *row)
{
	const char	*res;
	const json_t	*changes, *ch, *v;
	char		*id, *s;
	size_t		 i;

	res = json_string_value(json_object_get(row, "result"));
	if (res == NULL || strcmp(res, "unchanged") == 0)
		return;
	if (json_is_integer(v = json_object_get(row, "row")) &&
	    json_integer_value(v) > 0) {
		printf("row %" JSON_INTEGER_FORMAT, json_integer_value(v));
		v = json_object_get(row, "line");
		if (json_is_integer(v) && json_integer_value(v) > 0)
			printf(" (line %" JSON_INTEGER_FORMAT ")",
			    json_integer_value(v));
		printf(": ");
	}
	id = ssoctl_jval(json_object_get(row, "internal_id"), "-");
	s = ssoctl_jval(json_object_get(row, "result"), "?");
	printf("%s %s", s != NULL ? s : "?", id != NULL ? id : "?");
	free(id);
	free(s);
	if (strcmp(res, "rejected") == 0) {
		/* Every error of the row; older brokers give only the first. */
		if (json_array_size(json_object_get(row, "errors")) == 0)
			ssoctl_row_error_print(row, 0);
		json_array_foreach(json_object_get(row, "errors"), i, v)
			ssoctl_row_error_print(v, i > 0);
		if (json_is_integer(v = json_object_get(row, "errors_more")))
			printf("\n    and %" JSON_INTEGER_FORMAT " more errors",
			    json_integer_value(v));
	}
	changes = json_object_get(row, "changes");
	json_array_foreach(changes, i, ch)
		ssoctl_change_print(ch, i == 0);
	if (json_is_true(json_object_get(row, "held")))
		printf(" (held: see warnings)");
	printf("\n");
}

/* The warnings of a plan as a table: row, ID, column, old, new, message. */
static void
ssoctl_warnings_print(const json_t *warn)
{
	static const char *const head[] = { "ROW", "INTERNAL ID", "COLUMN",
	    "OLD", "NEW", "CONFIRMED", "WARNING" };
	static const char *const keys[] = { "row", "internal_id", "column",
	    "old", "new", "confirmed", "message" };
	struct ssoctl_table	 t;
	const json_t		*w;
	size_t			 i, k;

	if (json_array_size(warn) == 0 || ssoctl_table_init(&t, head,
	    BK_NELEM(head), json_array_size(warn)) != BK_OK)
		return;
	printf("warnings:\n");
	json_array_foreach(warn, i, w) {
		for (k = 0; k < BK_NELEM(keys); k++)
			if (ssoctl_table_setj(&t, k, json_object_get(w,
			    keys[k])) != BK_OK)
				break;
		ssoctl_table_next(&t);
	}
	ssoctl_table_print(&t, stdout);
	ssoctl_table_cleanup(&t);
}

/* What to add to the command line to apply a held plan. */
static void
ssoctl_confirm_hint(const json_t *nc)
{
	const json_t	*z, *d;
	char		*s;

	if (!json_is_object(nc))
		return;
	z = json_object_get(nc, "confirm_zero");
	d = json_object_get(nc, "confirm_delete");
	printf("to apply, confirm with:");
	/* A long list would not fit in a request line: "all", once read. */
	if (json_is_string(z) && strlen(json_string_value(z)) > 1024)
		printf(" --confirm-dropped-zero all (after checking every "
		    "row above)");
	else if (json_is_string(z) && (s = ssoctl_jval(z, "")) != NULL) {
		printf(" --confirm-dropped-zero %s", s);
		free(s);
	}
	if (json_is_integer(d))
		printf(" --confirm-delete %" JSON_INTEGER_FORMAT,
		    json_integer_value(d));
	printf("\n");
}

static void
ssoctl_report_print(json_t *rep, long status)
{
	static const char *const names[] = { "added", "changed", "unchanged",
	    "deleted", "rejected" };
	const json_t	*sum = json_object_get(rep, "summary"), *rows, *e;
	const char	*what;
	char		*s;
	size_t		 i;

	if (status != 200)
		what = "refused, nothing applied";
	else if (json_is_true(json_object_get(rep, "dry_run")) &&
	    json_is_object(json_object_get(rep, "needs_confirmation")))
		what = "dry run, nothing applied; an apply needs a "
		    "confirmation";
	else if (json_is_true(json_object_get(rep, "dry_run")))
		what = "dry run, nothing applied";
	else if (json_is_true(json_object_get(rep, "applied")))
		what = "applied";
	else
		what = "not applied";
	for (i = 0; i < BK_NELEM(names); i++) {
		s = ssoctl_jval(json_object_get(sum, names[i]), "0");
		printf("%s%s %s", i == 0 ? "" : ", ", s != NULL ? s : "?",
		    names[i]);
		free(s);
	}
	printf(" (%s)\n", what);
	rows = json_object_get(rep, "rows");
	json_array_foreach(rows, i, e)
		ssoctl_report_row(e);
	rows = json_object_get(rep, "ignored_columns");
	if (json_array_size(rows) > 0) {
		printf("ignored columns:");
		json_array_foreach(rows, i, e) {
			s = ssoctl_jval(e, "");
			printf("%s \"%s\"", i == 0 ? "" : ",",
			    s != NULL ? s : "?");
			free(s);
		}
		printf("\n");
	}
	ssoctl_warnings_print(json_object_get(rep, "warnings"));
	ssoctl_confirm_hint(json_object_get(rep, "needs_confirmation"));
	/* On a refusal the error line of main() says why. */
	if (status == 200 &&
	    (s = ssoctl_jval(json_object_get(rep, "error"), "")) != NULL) {
		if (s[0] != '\0')
			printf("error: %s\n", s);
		free(s);
	}
}

/* Why a 400 or 409 import was refused, as one line. */
static int
ssoctl_import_refused(struct ssoctl *c, json_t *rep)
{
	json_int_t	 n;
	char		 msg[512], slug[64];
	const char	*m;

	n = json_integer_value(json_object_get(json_object_get(rep,
	    "summary"), "rejected"));
	if (json_is_object(json_object_get(rep, "needs_confirmation")))
		n = 0;
	if (n > 0)
		return ssoctl_fail(c, BK_E_INVAL, "import refused: %"
		    JSON_INTEGER_FORMAT " row%s rejected", n,
		    n == 1 ? "" : "s");
	if ((m = json_string_value(json_object_get(rep, "message"))) == NULL &&
	    (m = json_string_value(json_object_get(rep, "error"))) == NULL)
		m = "the file was refused";
	ssoctl_sanitize(m, msg, sizeof(msg));
	/* The code too, for scripts: dropped_zero_unconfirmed, ... */
	if ((m = json_string_value(json_object_get(rep, "error"))) != NULL &&
	    json_is_object(json_object_get(rep, "needs_confirmation"))) {
		ssoctl_sanitize(m, slug, sizeof(slug));
		return ssoctl_fail(c, BK_E_INVAL, "import refused: %s: %s",
		    slug, msg);
	}
	return ssoctl_fail(c, BK_E_INVAL, "import refused: %s", msg);
}

/*
 * --confirm-delete N and --confirm-dropped-zero ID[,ID..]|all: checked
 * here (a usage error costs no round trip), then passed on; the broker
 * checks them against the plan.
 */
static int
ssoctl_import_confirms(struct ssoctl *c, struct bk_buf *path, char sep)
{
	const char	*del = c->args->opt[SSOCTL_O_CONFIRM_DELETE];
	const char	*zero = c->args->opt[SSOCTL_O_CONFIRM_ZERO], *why;
	long long	 n;
	int		 rv;

	if (del != NULL) {
		c->exit_code = SSOCTL_EXIT_USAGE;
		if (c->args->opt[SSOCTL_O_DELETE_MISSING] == NULL)
			return ssoctl_fail(c, BK_E_INVAL, "--confirm-delete "
			    "needs --delete-missing");
		if (strspn(del, "0123456789") != strlen(del) ||
		    bk_strtonum(del, 0, 1000000, &n, &why) != BK_OK)
			return ssoctl_fail(c, BK_E_INVAL, "--confirm-delete: "
			    "the number of profiles the dry run said would be "
			    "deleted (0 to 1000000)");
		c->exit_code = SSOCTL_EXIT_FAIL;
		if (bk_buf_addf(path, "%cconfirm_delete=%lld", sep, n) !=
		    BK_OK)
			return ssoctl_fail(c, BK_E_TOOBIG, "request URL too "
			    "long");
		sep = '&';
	}
	if (zero == NULL)
		return BK_OK;
	if (zero[0] == '\0' || !bk_str_is_printable(zero) ||
	    strchr(zero, ' ') != NULL) {
		c->exit_code = SSOCTL_EXIT_USAGE;
		return ssoctl_fail(c, BK_E_INVAL, "--confirm-dropped-zero: "
		    "\"all\" or 8x8 Internal IDs separated by ','");
	}
	if ((rv = bk_buf_addf(path, "%cconfirm_zero=", sep)) != BK_OK)
		return ssoctl_fail(c, rv, "request URL too long");
	return ssoctl_buf_escape(c, path, zero);
}

int
ssoctl_cmd_users_import(struct ssoctl *c)
{
	const struct ssoctl_args *a = c->args;
	struct ssoctl_resp	 r;
	struct bk_buf		 path, file;
	json_t			*rep = NULL;
	char			 sep = '?';
	int			 rv;

	ssoctl_resp_init(&r, NULL);
	bk_buf_init(&path, 1);
	/* The file first: a typo should not cost a round trip. */
	if ((rv = ssoctl_file_slurp(c, a->arg, &file)) != BK_OK)
		goto out;
	if ((rv = ssoctl_tenant_path(c, &path, NULL, "/users.csv")) != BK_OK)
		goto out;
	if (a->opt[SSOCTL_O_DRY_RUN] != NULL) {
		bk_buf_addf(&path, "%cdry_run=1", sep);
		sep = '&';
	}
	if (a->opt[SSOCTL_O_ALLOW_NEW] != NULL) {
		bk_buf_addf(&path, "%callow_new=1", sep);
		sep = '&';
	}
	if (a->opt[SSOCTL_O_DELETE_MISSING] != NULL) {
		bk_buf_addf(&path, "%cdelete_missing=1", sep);
		sep = '&';
	}
	if ((rv = ssoctl_import_confirms(c, &path, sep)) != BK_OK)
		goto out;
	if ((rv = ssoctl_http(c, "POST", path.data, file.data, file.len,
	    "text/csv", &r)) != BK_OK)
		goto out;
	if (r.status != 200 && r.status != 400 && r.status != 409) {
		rv = ssoctl_api_error(c, &r);
		goto out;
	}
	if (ssoctl_json_parse(c, &r, &rep) != BK_OK ||
	    (json_object_get(rep, "summary") == NULL &&
	    json_object_get(rep, "rows") == NULL)) {
		/* A 400 that is not a report: report the error as such. */
		c->err[0] = '\0';
		rv = r.status == 200 ? ssoctl_fail(c, BK_E_INVAL, "unexpected "
		    "answer to the import (no report)") :
		    ssoctl_api_error(c, &r);
		goto out;
	}
	if (c->json)
		rv = ssoctl_json_print(c, rep);
	else
		ssoctl_report_print(rep, r.status);
	if (r.status != 200)
		rv = ssoctl_import_refused(c, rep);
 out:
	json_decref(rep);
	ssoctl_resp_cleanup(&r);
	bk_buf_free(&path);
	bk_buf_free(&file);
	return rv;
}

static void
ssoctl_user_print(struct ssoctl *c, json_t *u)
{
	if (c->json)
		ssoctl_json_print(c, u);
	else
		ssoctl_kv_print(u, ssoctl_user_keys, NULL);
}

int
ssoctl_cmd_users_get(struct ssoctl *c)
{
	struct bk_buf	 path;
	json_t		*j = NULL;
	int		 rv;

	if ((rv = ssoctl_tenant_path(c, &path, c->args->arg, NULL)) != BK_OK)
		return rv;
	if ((rv = ssoctl_json_call(c, "GET", path.data, NULL, &j, NULL)) ==
	    BK_OK)
		ssoctl_user_print(c, j);
	json_decref(j);
	bk_buf_free(&path);
	return rv;
}

/* The PUT body: only the fields given; "" clears a field. */
static int
ssoctl_user_body(struct ssoctl *c, char **out)
{
	const char	*val;
	json_t		*o, *s;
	size_t		 i, n = 0;
	int		 rv = BK_OK;

	*out = NULL;
	if ((o = json_object()) == NULL)
		return ssoctl_fail(c, BK_E_NOMEM, "out of memory");
	for (i = 0; i < BK_NELEM(ssoctl_user_fields); i++) {
		val = c->args->opt[ssoctl_user_fields[i].opt];
		if (val == NULL)
			continue;
		if ((s = json_string(val)) == NULL) {
			c->exit_code = SSOCTL_EXIT_USAGE;
			rv = ssoctl_fail(c, BK_E_INVAL, "--%s: not valid "
			    "UTF-8",
			    ssoctl_opt_name(ssoctl_user_fields[i].opt));
			goto out;
		}
		json_object_set_new(o, ssoctl_user_fields[i].key, s);
		n++;
	}
	if (n == 0 && c->args->opt[SSOCTL_O_ALLOW_NEW] == NULL) {
		c->exit_code = SSOCTL_EXIT_USAGE;
		rv = ssoctl_fail(c, BK_E_INVAL, "users set: nothing to change "
		    "(give a field option such as --extension)");
		goto out;
	}
	if ((*out = json_dumps(o, JSON_COMPACT)) == NULL)
		rv = ssoctl_fail(c, BK_E_NOMEM, "out of memory");
 out:
	json_decref(o);
	return rv;
}

int
ssoctl_cmd_users_set(struct ssoctl *c)
{
	struct bk_buf	 path;
	json_t		*j = NULL;
	char		*body = NULL, id[256];
	long		 status = 0;
	int		 rv;

	bk_buf_init(&path, 1);
	if ((rv = ssoctl_user_body(c, &body)) != BK_OK)
		goto out;
	if ((rv = ssoctl_tenant_path(c, &path, c->args->arg,
	    c->args->opt[SSOCTL_O_ALLOW_NEW] != NULL ? "?allow_new=1" :
	    NULL)) != BK_OK)
		goto out;
	if ((rv = ssoctl_json_call(c, "PUT", path.data, body, &j, &status)) !=
	    BK_OK)
		goto out;
	if (!c->json) {
		ssoctl_sanitize(c->args->arg, id, sizeof(id));
		printf("%s %s\n", status == 201 ? "created" : "updated", id);
	}
	ssoctl_user_print(c, j);
 out:
	json_decref(j);
	free(body);
	bk_buf_free(&path);
	return rv;
}

int
ssoctl_cmd_users_delete(struct ssoctl *c)
{
	struct bk_buf	 path;
	json_t		*j = NULL;
	char		*s;
	int		 rv;

	if ((rv = ssoctl_tenant_path(c, &path, c->args->arg, NULL)) != BK_OK)
		return rv;
	if ((rv = ssoctl_json_call(c, "DELETE", path.data, NULL, &j, NULL)) ==
	    BK_OK) {
		if (c->json)
			rv = ssoctl_json_print(c, j);
		else if ((s = ssoctl_jval(json_object_get(j, "deleted"),
		    c->args->arg)) != NULL) {
			printf("deleted %s\n", s);
			free(s);
		}
	}
	json_decref(j);
	bk_buf_free(&path);
	return rv;
}

int
ssoctl_cmd_sessions_revoke(struct ssoctl *c)
{
	struct bk_buf	 path;
	json_t		*j = NULL;
	char		 id[256];
	int		 rv;

	if ((rv = ssoctl_tenant_path(c, &path, c->args->arg,
	    "/sessions/revoke")) != BK_OK)
		return rv;
	if ((rv = ssoctl_json_call(c, "POST", path.data, NULL, &j, NULL)) ==
	    BK_OK) {
		if (c->json)
			rv = ssoctl_json_print(c, j);
		else {
			ssoctl_sanitize(c->args->arg, id, sizeof(id));
			printf("revoked %" JSON_INTEGER_FORMAT " tokens and %"
			    JSON_INTEGER_FORMAT " sessions of %s\n",
			    json_integer_value(json_object_get(j,
			    "revoked_tokens")),
			    json_integer_value(json_object_get(j,
			    "revoked_sessions")), id);
		}
	}
	json_decref(j);
	bk_buf_free(&path);
	return rv;
}
