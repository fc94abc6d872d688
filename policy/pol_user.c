/*
 * sso-broker: one user profile: columns, field rules, store records and
 * the admin API's single-user JSON.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Every value that enters a profile goes through pol_field_check(), whether
 * it comes from a CSV upload, an API body or a record read back from Redis,
 * so the three paths cannot disagree about what a valid profile is.
 * Field rules (docs/admin.md):
 *   8x8 Internal ID  1-256 bytes of printable ASCII, no spaces; required.
 *   Salesforce ID    pol_sfdc_key() rules, spaces around it trimmed;
 *                    empty = the profile has no SSO.
 *   Extension        1-16 extensions separated by ';', each 1-32 ASCII
 *                    digits (leading zeros kept); spaces around ';' trimmed.
 *   Email            exactly one '@', non-empty on both sides, no spaces.
 *   names, custom    free text; tab/CR/LF allowed in names and custom
 *                    fields only; leading/trailing spaces trimmed.
 * Excel's ="text" reads as text in every column (CSV and API alike).
 * A leading "'" (spreadsheets add it to keep text as text) is stripped from
 * the two IDs and Extension; on other columns only in front of a formula
 * character, which is what pol_export_csv() writes to defuse CSV injection.
 * Trust: CSV cells, API bodies and store records are all untrusted.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <jansson.h>

#include "bk.h"
#include "pol.h"
#include "pol_int.h"

#define XSTR(x)	STR(x)
#define STR(x)	#x

struct pol_col_info {
	const char	*name;
	const char	*key;
	const char	*hdr_lc;	/* header, lower case, for matching */
	const char	*e_empty;
	const char	*e_long;
	const char	*e_utf8;
	const char	*e_ctrl;
	const char	*e_space;
};

#define COL(n, k, lc) { n, k, lc, n " is empty", \
	n " is longer than " XSTR(POL_FIELD_MAX) " bytes", \
	n " is not valid UTF-8", n " contains control characters", \
	n " has leading or trailing whitespace" }

static const struct pol_col_info pol_cols[POL_COL_COUNT] = {
	COL("8x8 Internal ID", "internal_id", "8x8 internal id"),
	COL("User Name", "user_name", "user name"),
	COL("First Name", "first_name", "first name"),
	COL("Last Name", "last_name", "last name"),
	COL("Email", "email", "email"),
	COL("Extension", "extension", "extension"),
	COL("Salesforce ID", "salesforce_id", "salesforce id"),
	COL("Custom Field 1", "custom_field_1", "custom field 1"),
	COL("Custom Field 2", "custom_field_2", "custom field 2"),
	COL("Custom Field 3", "custom_field_3", "custom field 3"),
};

const char *
pol_col_name(enum pol_col c)
{
	BK_ASSERT((int)c >= 0 && c < POL_COL_COUNT);
	return pol_cols[c].name;
}

const char *
pol_col_key(enum pol_col c)
{
	BK_ASSERT((int)c >= 0 && c < POL_COL_COUNT);
	return pol_cols[c].key;
}

int
pol_col_from_header(const char *h)
{
	int	 i;

	for (i = 0; i < POL_COL_COUNT; i++)
		if (g_ascii_strcasecmp(h, pol_cols[i].hdr_lc) == 0)
			return i;
	/* The template's older name for the Salesforce username column. */
	if (g_ascii_strcasecmp(h, "sfdc id") == 0)
		return POL_COL_SFDC_ID;
	return -1;
}

static int
pol_col_from_key(const char *k)
{
	int	 i;

	for (i = 0; i < POL_COL_COUNT; i++)
		if (strcmp(k, pol_cols[i].key) == 0)
			return i;
	return -1;
}

char *
pol_strf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s = NULL;
	int	 r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}

int
pol_str_eq(const char *a, const char *b)
{
	if (a == NULL)
		a = "";
	if (b == NULL)
		b = "";
	return strcmp(a, b) == 0;
}

int
pol_utf8_is_valid(const char *s, size_t n)
{
	/* g_utf8_validate_len() rejects NUL, overlongs and surrogates. */
	return g_utf8_validate_len(s, n, NULL);
}

int
pol_is_formula_start(const char *s)
{
	/* OWASP "CSV injection": cells a spreadsheet would evaluate. */
	return s != NULL && s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
}

void
pol_user_cleanup(struct pol_user *u)
{
	int	 i;

	if (u == NULL)
		return;
	for (i = 0; i < POL_COL_COUNT; i++) {
		free(u->f[i]);
		u->f[i] = NULL;
	}
}

int
pol_user_copy(const struct pol_user *src, struct pol_user *dst)
{
	struct pol_user	 t;
	int		 i;

	memset(&t, 0, sizeof(t));
	memset(dst, 0, sizeof(*dst));
	for (i = 0; i < POL_COL_COUNT; i++) {
		if (src->f[i] == NULL)
			continue;
		if ((t.f[i] = strdup(src->f[i])) == NULL) {
			pol_user_cleanup(&t);
			return BK_E_NOMEM;
		}
	}
	*dst = t;
	return BK_OK;
}

/* C0 controls, DEL and the C1 range (U+0080-U+009F, as UTF-8 C2 80-9F). */
static int
pol_has_ctrl(const char *s, int allow_ws)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			if (allow_ws &&
			    (*p == '\t' || *p == '\n' || *p == '\r'))
				continue;
			return 1;
		}
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return 1;
	}
	return 0;
}

static int
pol_is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '\v' || c == '\f';
}

int
pol_sfdc_key(const char *in, char **out, const char **why)
{
	const struct pol_col_info *ci = &pol_cols[POL_COL_SFDC_ID];
	size_t	 n;
	char	*k;

	*out = NULL;
	*why = NULL;
	if (in == NULL || in[0] == '\0') {
		*why = ci->e_empty;
		return BK_E_POL_FIELD;
	}
	n = strlen(in);
	if (n > POL_FIELD_MAX) {
		*why = ci->e_long;
		return BK_E_POL_FIELD;
	}
	if (pol_is_ws(in[0]) || pol_is_ws(in[n - 1])) {
		*why = ci->e_space;
		return BK_E_POL_FIELD;
	}
	if (pol_has_ctrl(in, 0)) {
		*why = ci->e_ctrl;
		return BK_E_POL_FIELD;
	}
	if (!pol_utf8_is_valid(in, n)) {
		*why = ci->e_utf8;
		return BK_E_POL_FIELD;
	}
	/*
	 * ASCII folding only: Salesforce usernames are e-mail shaped and
	 * compare case-insensitively in ASCII; Unicode case folding would
	 * let two distinct usernames collide on one profile.
	 */
	if ((k = g_ascii_strdown(in, (gssize)n)) == NULL)
		return BK_E_NOMEM;
	*out = strdup(k);
	g_free(k);
	return *out == NULL ? BK_E_NOMEM : BK_OK;
}

/*
 * Remove leading and trailing spaces, tabs and no-break spaces (U+00A0,
 * which a cell copied from a web page or Google Sheets carries) in place.
 */
static void
pol_trim(char *s)
{
	size_t	 n, i = 0;

	n = strlen(s);
	for (;;) {
		if (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		else if (n > 1 && (unsigned char)s[n - 2] == 0xc2 &&
		    (unsigned char)s[n - 1] == 0xa0)
			n -= 2;
		else
			break;
	}
	s[n] = '\0';
	for (;;) {
		if (s[i] == ' ' || s[i] == '\t')
			i++;
		else if ((unsigned char)s[i] == 0xc2 &&
		    (unsigned char)s[i + 1] == 0xa0)
			i += 2;
		else
			break;
	}
	if (i > 0)
		memmove(s, s + i, n - i + 1);
}

static int
pol_ext_check(char *v, char **norm, const char **why)
{
	struct bk_buf	 b;
	char		*items[POL_MAX_EXTENSIONS];
	char		*p, *semi;
	size_t		 n = 0, i, j, len;
	int		 rv;

	*norm = NULL;
	bk_buf_init(&b, POL_FIELD_MAX + 1);
	for (p = v;; p = semi + 1) {
		if ((semi = strchr(p, ';')) != NULL)
			*semi = '\0';
		pol_trim(p);
		len = strlen(p);
		if (len == 0) {
			rv = BK_E_POL_FIELD;
			*why = "Extension has an empty entry between ';'";
			goto out;
		}
		if (len > POL_EXT_MAX || strspn(p, "0123456789") != len) {
			rv = BK_E_POL_FIELD;
			*why = "Extension must be 1-" XSTR(POL_EXT_MAX)
			    " digits (several separated by ';')";
			/* 1.01E+11, 101.0: what Excel makes of a number */
			if (strspn(p, "0123456789.,E+-e") == len &&
			    strpbrk(p, "0123456789") != NULL &&
			    strpbrk(p, ".,Ee") != NULL)
				*why = "Extension must be 1-" XSTR(POL_EXT_MAX)
				    " digits (several separated by ';'); a "
				    "spreadsheet may have turned it into a "
				    "number: format the column as Text";
			goto out;
		}
		if (n == POL_MAX_EXTENSIONS) {
			rv = BK_E_POL_FIELD;
			*why = "Extension lists more than "
			    XSTR(POL_MAX_EXTENSIONS) " extensions";
			goto out;
		}
		items[n++] = p;
		if (semi == NULL)
			break;
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(items[i], items[j]) == 0) {
				rv = BK_E_POL_FIELD;
				*why = "Extension lists the same extension "
				    "twice";
				goto out;
			}
	for (i = 0; i < n; i++) {
		if ((i > 0 && (rv = bk_buf_add(&b, ";", 1)) != BK_OK) ||
		    (rv = bk_buf_adds(&b, items[i])) != BK_OK)
			goto out;
	}
	if ((*norm = bk_buf_take(&b)) == NULL) {
		rv = BK_E_NOMEM;
		goto out;
	}
	rv = BK_OK;
 out:
	bk_buf_free(&b);
	return rv;
}

static int
pol_email_check(const char *v, const char **why)
{
	const char *at;

	if ((at = strchr(v, '@')) == NULL || at == v || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL) {
		*why = "Email must contain exactly one @, with text before "
		    "and after it";
		return BK_E_POL_FIELD;
	}
	if (strpbrk(v, " \t\r\n") != NULL) {
		*why = "Email must be one address, without spaces";
		return BK_E_POL_FIELD;
	}
	return BK_OK;
}

static int
pol_id_check(const char *v, const char **why)
{
	const unsigned char *p;

	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f) {
			*why = "8x8 Internal ID must be printable ASCII "
			    "without spaces";
			return BK_E_POL_FIELD;
		}
	return BK_OK;
}

/* Which leading "'" is a spreadsheet artefact rather than data. */
static int
pol_strip_quote(enum pol_col c, const char *v)
{
	if (v[0] != '\'')
		return 0;
	if (c == POL_COL_INTERNAL_ID || c == POL_COL_SFDC_ID ||
	    c == POL_COL_EXTENSION)
		return 1;
	return pol_is_formula_start(v + 1);
}

int
pol_field_export_prefix(enum pol_col c, const char *v)
{
	/*
	 * The inverse of pol_strip_quote(), so that export then import is
	 * the identity: formula cells, and values that really start with
	 * "'" in the columns where the reader strips one unconditionally.
	 */
	if (v == NULL)
		return 0;
	if (pol_is_formula_start(v))
		return 1;
	return v[0] == '\'' && pol_strip_quote(c, v);
}

/*
 * strip: remove the spreadsheet "'" (CSV cells and API bodies); records
 * read back from the store are already normal and are not stripped again,
 * so that a value which really starts with "'" survives a round trip.
 */
static int
pol_field_norm(enum pol_col c, char **val, const char **why, int strip)
{
	const struct pol_col_info *ci;
	char	*v = *val, *norm = NULL, *key = NULL;
	size_t	 n;
	int	 rv, free_text;

	BK_ASSERT((int)c >= 0 && c < POL_COL_COUNT);
	ci = &pol_cols[c];
	*why = NULL;
	free_text = c == POL_COL_FIRST_NAME || c == POL_COL_LAST_NAME ||
	    c == POL_COL_CUSTOM1 || c == POL_COL_CUSTOM2 ||
	    c == POL_COL_CUSTOM3;
	if (v != NULL && (n = strlen(v)) > POL_FIELD_MAX) {
		*why = ci->e_long;
		return BK_E_POL_FIELD;
	}
	/* Spaces around ="0101" or '0101 too (the ID keeps its bytes). */
	if (v != NULL && strip && c != POL_COL_INTERNAL_ID)
		pol_trim(v);
	/* Excel's text-forcing ="0101", when it arrives quoted as a cell. */
	if (v != NULL && strip && (n = strlen(v)) >= 3 && v[0] == '=' &&
	    v[1] == '"' && v[n - 1] == '"' && memchr(v + 2, '"', n - 3) ==
	    NULL) {
		memmove(v, v + 2, n - 3);
		v[n - 3] = '\0';
	}
	if (v != NULL && strip && pol_strip_quote(c, v))
		memmove(v, v + 1, strlen(v));
	/*
	 * The Internal ID keeps its bytes (whitespace there is an error);
	 * a space around a Salesforce ID is a spreadsheet slip: trimmed.
	 */
	if (v != NULL && c != POL_COL_INTERNAL_ID)
		pol_trim(v);
	if (v != NULL && v[0] == '\0') {
		free(v);
		*val = v = NULL;
	}
	if (v == NULL) {
		if (c != POL_COL_INTERNAL_ID)
			return BK_OK;
		*why = ci->e_empty;
		return BK_E_POL_FIELD;
	}
	n = strlen(v);
	if (!pol_utf8_is_valid(v, n)) {
		*why = ci->e_utf8;
		return BK_E_POL_FIELD;
	}
	if (pol_has_ctrl(v, free_text)) {
		*why = ci->e_ctrl;
		return BK_E_POL_FIELD;
	}
	switch (c) {
	case POL_COL_INTERNAL_ID:
		return pol_id_check(v, why);
	case POL_COL_SFDC_ID:
		rv = pol_sfdc_key(v, &key, why);
		free(key);
		return rv;
	case POL_COL_EMAIL:
		return pol_email_check(v, why);
	case POL_COL_EXTENSION:
		if ((rv = pol_ext_check(v, &norm, why)) != BK_OK)
			return rv;
		free(*val);
		*val = norm;
		return BK_OK;
	default:
		return BK_OK;
	}
}

int
pol_field_check(enum pol_col c, char **val, const char **why)
{
	return pol_field_norm(c, val, why, 1);
}

char *
pol_user_primary_ext(const struct pol_user *u)
{
	const char *e = u->f[POL_COL_EXTENSION];

	if (e == NULL || e[0] == '\0')
		return NULL;
	return strndup(e, strcspn(e, ";"));
}

static int
pol_user_to_json(const struct pol_user *u, int record, int with_nulls,
    char **json)
{
	json_t	*o = NULL, *v;
	int	 i, rv = BK_E_NOMEM;

	*json = NULL;
	if ((o = json_object()) == NULL)
		goto out;
	if (record && json_object_set_new(o, "v", json_integer(1)) != 0)
		goto out;
	for (i = 0; i < POL_COL_COUNT; i++) {
		if (u->f[i] != NULL)
			v = json_string(u->f[i]);
		else if (with_nulls)
			v = json_null();
		else
			continue;
		if (v == NULL) {
			/* Only invalid UTF-8 makes json_string() fail here. */
			rv = BK_E_INVAL;
			goto out;
		}
		if (json_object_set_new(o, pol_cols[i].key, v) != 0)
			goto out;
	}
	if ((*json = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		goto out;
	rv = BK_OK;
 out:
	json_decref(o);
	return rv;
}

int
pol_user_build(const struct pol_user *u, char **json)
{
	return pol_user_to_json(u, 1, 0, json);
}

int
pol_user_to_api_json(const struct pol_user *u, char **json)
{
	return pol_user_to_json(u, 0, 1, json);
}

int
pol_user_parse(const char *json, size_t len, struct pol_user *out)
{
	struct pol_user	 t;
	json_error_t	 jerr;
	json_t		*o = NULL, *v;
	const char	*k, *why;
	int		 rv = BK_E_STORE_RECORD, c, have_v = 0;

	memset(&t, 0, sizeof(t));
	memset(out, 0, sizeof(*out));
	if (json == NULL || len == 0 || len > POL_RECORD_MAX)
		goto out;
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || !json_is_object(o))
		goto out;
	json_object_foreach(o, k, v) {
		if (strcmp(k, "v") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) != 1)
				goto out;
			have_v = 1;
			continue;
		}
		if ((c = pol_col_from_key(k)) < 0 || !json_is_string(v))
			goto out;
		if (strlen(json_string_value(v)) != json_string_length(v))
			goto out;
		if ((t.f[c] = strdup(json_string_value(v))) == NULL) {
			rv = BK_E_NOMEM;
			goto out;
		}
		if (pol_field_norm(c, &t.f[c], &why, 0) != BK_OK)
			goto out;
	}
	if (!have_v || t.f[POL_COL_INTERNAL_ID] == NULL)
		goto out;
	*out = t;
	memset(&t, 0, sizeof(t));
	rv = BK_OK;
 out:
	json_decref(o);
	pol_user_cleanup(&t);
	return rv;
}

int
pol_user_apply_json(struct pol_user *u, const char *json, size_t len,
    const char **why)
{
	struct pol_user	 t;
	json_error_t	 jerr;
	json_t		*o = NULL, *v;
	const char	*k;
	char		*val = NULL;
	int		 rv, c;

	*why = NULL;
	memset(&t, 0, sizeof(t));
	if ((rv = pol_user_copy(u, &t)) != BK_OK)
		goto out;
	rv = BK_E_INVAL;
	if (u->f[POL_COL_INTERNAL_ID] == NULL) {
		*why = "the profile has no 8x8 Internal ID";
		goto out;
	}
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || !json_is_object(o)) {
		*why = "the body must be one JSON object";
		goto out;
	}
	json_object_foreach(o, k, v) {
		if ((c = pol_col_from_key(k)) < 0) {
			*why = "unknown key in the body";
			goto out;
		}
		if (json_is_null(v))
			val = NULL;
		else if (!json_is_string(v) ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			*why = "values must be strings or null";
			goto out;
		} else if ((val = strdup(json_string_value(v))) == NULL) {
			rv = BK_E_NOMEM;
			goto out;
		}
		if (c == POL_COL_INTERNAL_ID) {
			/* The ID is the key: repeated, never changed. */
			if (val != NULL && val[0] == '\'')
				memmove(val, val + 1, strlen(val));
			if (val == NULL ||
			    strcmp(val, u->f[POL_COL_INTERNAL_ID]) != 0) {
				*why = "internal_id cannot be changed";
				goto out;
			}
			free(val);
			val = NULL;
			continue;
		}
		if ((rv = pol_field_check(c, &val, why)) != BK_OK)
			goto out;
		free(t.f[c]);
		t.f[c] = val;
		val = NULL;
		rv = BK_E_INVAL;
	}
	pol_user_cleanup(u);
	*u = t;
	memset(&t, 0, sizeof(t));
	rv = BK_OK;
 out:
	free(val);
	json_decref(o);
	pol_user_cleanup(&t);
	return rv;
}
