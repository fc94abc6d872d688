/*
 * sso-broker: strict parsing of query strings and form bodies, PKCE and
 * redirect URL helpers (no I/O: linked alone into fuzz_front_params).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * URL decoding is libevent's (evhttp_uridecode); this file adds the
 * strictness the security rules need: a repeated parameter, a control
 * byte, an embedded NUL or a bad %-escape rejects the whole request.
 * Cost (issue 6: every parser before authentication is bounded): one pass
 * to split, one to check and one (libevent's) to decode each component;
 * the only comparison between parameters, the duplicate check, is over at
 * most FRONT_MAX_PARAMS names of at most FRONT_MAX_NAME_LEN bytes, so a
 * 1 MiB body costs linear time whatever its shape.
 * Trust: all input here is untrusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "front_int.h"

/* Longest parameter name: ours are at most 21 bytes (code_challenge_method). */
#define FRONT_MAX_NAME_LEN	64

static int
front_hexdig(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* Decode one x-www-form-urlencoded component strictly. */
int
front_decode(const char *s, size_t len, char **out, size_t *outlen)
{
	char	*tmp, *dec;
	size_t	 i, dlen;

	*out = NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return BK_E_HTTP_BADPARAM;
		if (c == '%' && (i + 2 >= len || !front_hexdig(s[i + 1]) ||
		    !front_hexdig(s[i + 2])))
			return BK_E_HTTP_BADPARAM;
	}
	if ((tmp = malloc(len + 1)) == NULL)
		return BK_E_NOMEM;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	dec = evhttp_uridecode(tmp, 1, &dlen);
	free(tmp);
	if (dec == NULL)
		return BK_E_NOMEM;
	for (i = 0; i < dlen; i++) {
		unsigned char c = (unsigned char)dec[i];

		/*
		 * Decoded controls (NUL, CR, LF...) are never legitimate here.
		 */
		if (c < 0x20 && c != '\t' && c != '\r' && c != '\n')
			goto bad;
		if (c == 0)
			goto bad;
	}
	*out = dec;
	*outlen = dlen;
	return BK_OK;
 bad:
	free(dec);
	return BK_E_HTTP_BADPARAM;
}

int
front_params_parse(const char *s, size_t len, struct front_params *out)
{
	const char	*p = s, *end = s + len, *amp, *eq;
	size_t		 i, vlen, nlen;
	char		*name = NULL, *value = NULL;
	int		 rv;

	memset(out, 0, sizeof(*out));
	if (len > FRONT_MAX_PARAM_LEN * 2)
		return BK_E_TOOBIG;
	if ((out->v = calloc(FRONT_MAX_PARAMS, sizeof(*out->v))) == NULL)
		return BK_E_NOMEM;
	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (amp == NULL)
			amp = end;
		if (amp == p) {		/* empty pair: "a=1&&b=2" */
			p++;
			continue;
		}
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL)
			eq = amp;
		/* Both caps before any decoding (each %XX is 3 bytes). */
		if (out->n >= FRONT_MAX_PARAMS) {
			rv = BK_E_HTTP_PARAM_COUNT;
			goto fail;
		}
		if ((size_t)(eq - p) > FRONT_MAX_NAME_LEN * 3) {
			rv = BK_E_HTTP_PARAM_NAME;
			goto fail;
		}
		if ((rv = front_decode(p, (size_t)(eq - p), &name,
		    &nlen)) != BK_OK)
			goto fail;
		if (nlen == 0) {
			rv = BK_E_HTTP_BADPARAM;
			goto fail;
		}
		if (nlen > FRONT_MAX_NAME_LEN) {
			rv = BK_E_HTTP_PARAM_NAME;
			goto fail;
		}
		if ((rv = front_decode(eq < amp ? eq + 1 : amp,
		    eq < amp ? (size_t)(amp - eq - 1) : 0, &value,
		    &vlen)) != BK_OK)
			goto fail;
		if (vlen > FRONT_MAX_PARAM_LEN) {
			rv = BK_E_TOOBIG;
			goto fail;
		}
		for (i = 0; i < out->n; i++)
			if (strcmp(out->v[i].name, name) == 0) {
				rv = BK_E_HTTP_DUPPARAM;
				goto fail;
			}
		out->v[out->n].name = name;
		out->v[out->n].value = value;
		out->v[out->n].vlen = vlen;
		out->n++;
		name = value = NULL;
		p = amp < end ? amp + 1 : end;
	}
	return BK_OK;
 fail:
	free(name);
	free(value);
	front_params_cleanup(out);
	return rv;
}

const char *
front_param(const struct front_params *p, const char *name)
{
	size_t	 i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->v[i].name, name) == 0)
			return p->v[i].value;
	return NULL;
}

void
front_params_cleanup(struct front_params *p)
{
	size_t	 i;

	for (i = 0; i < p->n; i++) {
		free(p->v[i].name);
		bk_freezero(p->v[i].value, p->v[i].vlen);
	}
	free(p->v);
	memset(p, 0, sizeof(*p));
}

int
front_pkce_ok(const char *s)
{
	size_t	 n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	if (n < 43 || n > 128)
		return 0;
	for (; *s != '\0'; s++) {
		char c = *s;

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~'))
			return 0;
	}
	return 1;
}

void
front_pkce_s256(const char *verifier, char out[BK_TOKEN_LEN + 1])
{
	unsigned char	 d[32];
	char		*s;

	out[0] = '\0';
	bk_sha256(verifier, strlen(verifier), d);
	if ((s = bk_b64url_encode(d, sizeof(d))) != NULL) {
		snprintf(out, BK_TOKEN_LEN + 1, "%s", s);
		free(s);
	}
}

char *
front_url_add(const char *url, const char *k1, const char *v1,
    const char *k2, const char *v2, const char *k3, const char *v3)
{
	struct bk_buf	 b;
	const char	*k[3] = { k1, k2, k3 }, *v[3] = { v1, v2, v3 };
	char		 sep = strchr(url, '?') ? '&' : '?';
	int		 i, rv;

	bk_buf_init(&b, 16384);
	rv = bk_buf_adds(&b, url);
	for (i = 0; i < 3 && rv == BK_OK; i++) {
		char *e;

		if (k[i] == NULL || v[i] == NULL)
			continue;
		if ((e = evhttp_uriencode(v[i], -1, 0)) == NULL) {
			rv = BK_E_NOMEM;
			break;
		}
		rv = bk_buf_addf(&b, "%c%s=%s", sep, k[i], e);
		free(e);
		sep = '&';
	}
	if (rv != BK_OK) {
		bk_buf_free(&b);
		return NULL;
	}
	return bk_buf_take(&b);
}

