/*
 * sso-broker: the one JSON loader of oidc/ and its typed getters.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Every document the provider sends (discovery, JWKS, token response,
 * UserInfo, the ID token's header and claims) goes through
 * oidc_json_load(): jansson with duplicate members refused (two "alg" or
 * two "aud" members would give two readings, RFC 7515 section 4), \u0000
 * refused (jansson's default), a size cap before parsing and a depth cap
 * after (STYLE 8, oidc/).  Getters check the type and length of one member.
 * Trust: the input bytes are untrusted.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "log.h"
#include "oidc_int.h"

int
oidc_fail(char **detail, int rv, const char *fmt, ...)
{
	va_list ap;

	if (detail == NULL || *detail != NULL)
		return rv;
	va_start(ap, fmt);
	*detail = log_vdetail(160, fmt, ap);
	va_end(ap);
	return rv;
}

/* 1 if j nests no deeper than left more levels. */
static int
oidc_json_depth_ok(const json_t *j, int left)
{
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_object(j) && !json_is_array(j))
		return 1;
	if (left <= 0)
		return 0;
	if (json_is_array(j)) {
		for (i = 0; i < json_array_size(j); i++)
			if (!oidc_json_depth_ok(json_array_get(j, i), left - 1))
				return 0;
		return 1;
	}
	/* json_object_foreach needs a non-const object; we only read. */
	json_object_foreach((json_t *)(uintptr_t)j, k, v)
		if (!oidc_json_depth_ok(v, left - 1))
			return 0;
	return 1;
}

int
oidc_json_load(const char *buf, size_t len, size_t max, json_t **out,
    char **detail)
{
	json_error_t jerr;
	json_t *j;

	*out = NULL;
	if (len > max)
		return oidc_fail(detail, BK_E_OIDC_TOOBIG,
		    "document over %zu bytes", max);
	if (buf == NULL || len == 0)
		return oidc_fail(detail, BK_E_OIDC_JSON, "empty document");
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return oidc_fail(detail, BK_E_OIDC_JSON,
		    "not JSON (offset %d): %.60s", jerr.position, jerr.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return oidc_fail(detail, BK_E_OIDC_JSON,
		    "not a JSON object");
	}
	if (!oidc_json_depth_ok(j, OIDC_JSON_DEPTH_MAX)) {
		json_decref(j);
		return oidc_fail(detail, BK_E_OIDC_JSON,
		    "nested deeper than %d", OIDC_JSON_DEPTH_MAX);
	}
	*out = j;
	return BK_OK;
}

int
oidc_json_str(const json_t *o, const char *k, size_t max, const char **out)
{
	json_t *v = json_object_get(o, k);
	size_t n;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return BK_E_NOT_FOUND;
	if (!json_is_string(v))
		return BK_E_INVAL;
	n = json_string_length(v);
	if (n == 0 || n > max)
		return BK_E_INVAL;
	*out = json_string_value(v);
	return BK_OK;
}

int
oidc_json_time(const json_t *o, const char *k, time_t *out)
{
	json_t *v = json_object_get(o, k);
	double d;

	*out = 0;
	if (v == NULL || json_is_null(v))
		return BK_E_NOT_FOUND;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 ||
		    json_integer_value(v) > (json_int_t)INT64_MAX / 2)
			return BK_E_INVAL;
		*out = (time_t)json_integer_value(v);
		return BK_OK;
	}
	if (!json_is_real(v))
		return BK_E_INVAL;
	/* RFC 7519 2: a NumericDate may be non-integer; truncate. */
	d = json_real_value(v);
	if (!isfinite(d) || d < 0 || d > 1e15)
		return BK_E_INVAL;
	*out = (time_t)d;
	return BK_OK;
}

int
oidc_strset(char **dst, const char *s)
{
	char *n = NULL;

	if (s != NULL && (n = bk_strdup(s)) == NULL)
		return BK_E_NOMEM;
	free(*dst);
	*dst = n;
	return BK_OK;
}

/* 1 if c is in the base64url alphabet (RFC 4648 5). */
static int
oidc_b64url_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int
oidc_b64url_ok(const char *s, size_t n)
{
	size_t i;

	/* RFC 7515 2: the URL-safe alphabet, no padding, no white space. */
	for (i = 0; i < n; i++)
		if (!oidc_b64url_char((unsigned char)s[i]))
			return 0;
	return n % 4 != 1;
}

int
oidc_b64url_decode(const char *s, size_t n, size_t max, uint8_t **out,
    size_t *outlen)
{
	cjose_err err;

	*out = NULL;
	*outlen = 0;
	/* 4 characters carry 3 bytes: the decoded size is known up front. */
	if (n / 4 * 3 + (n % 4) > max + 2)
		return BK_E_TOOBIG;
	if (!oidc_b64url_ok(s, n))
		return BK_E_INVAL;
	if (!cjose_base64url_decode(s, n, out, outlen, &err))
		return err.code == CJOSE_ERR_NO_MEMORY ? BK_E_NOMEM :
		    BK_E_INVAL;
	if (*outlen > max) {
		oidc_cjose_free(*out);
		*out = NULL;
		*outlen = 0;
		return BK_E_TOOBIG;
	}
	return BK_OK;
}

void
oidc_cjose_free(void *p)
{
	if (p != NULL)
		cjose_get_dealloc()(p);
}
