/*
 * sso-broker: strict parsing of query strings and form bodies, PKCE and
 * redirect URL helpers (no I/O: linked alone into fuzz_front_params).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * URL decoding is libevent's (evhttp_uridecode); this file adds the
 * strictness the security rules need: a repeated parameter, a control
 * byte, an embedded NUL or a bad %-escape rejects the whole request.
 * Cost (issue 6: every parser before authentication is bounded; issue 7:
 * a sign-in posts 7.5 KB here): the body is copied once, each component
 * is checked in one pass (front_scan: the raw bytes and, from its escapes,
 * what the decoded bytes will be) and decoded once by libevent in place
 * in that copy, with no per-component copy and no second look at the
 * decoded text.  The only comparison between parameters, the duplicate
 * check, is over at most FRONT_MAX_PARAMS names of at most
 * FRONT_MAX_NAME_LEN bytes, so a 1 MiB body costs linear time whatever
 * its shape.
 * Trust: all input here is untrusted.
 */
#include <stdint.h>
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

/*
 * 1 if the escape %<hi><lo> (two hex digits) decodes to a byte allowed in
 * a decoded component: no control byte but tab, LF and CR (%09 %0A %0D),
 * so never NUL.  A decoded DEL (%7F) is allowed, as it always was.
 */
static int
front_esc_ok(char hi, char lo)
{
	if (hi == '1')
		return 0;
	if (hi != '0')
		return 1;
	return lo == '9' || lo == 'a' || lo == 'A' || lo == 'd' || lo == 'D';
}

/* The bytes front_scan() looks at: controls, DEL and '%'. */
static const unsigned char front_special[256] = {
	[0x00 ... 0x1f] = 1, [0x7f] = 1, ['%'] = 1,
};

#define FRONT_ONES	0x0101010101010101ULL
#define FRONT_HIGHS	0x8080808080808080ULL

/*
 * 1 if one of the 8 bytes at p is special (front_special): a byte below
 * 0x20, or one equal to DEL or '%'.  (v - ONES) & ~v & HIGHS is non-zero
 * exactly when a byte of v is zero, and (v - 0x20 ONES) & ~v & HIGHS
 * exactly when a byte of v is below 0x20 (Hacker's Delight 6-1).
 */
static int
front_special8(const unsigned char *p)
{
	uint64_t v, d, q;

	memcpy(&v, p, sizeof(v));
	d = v ^ (0x7f * FRONT_ONES);
	q = v ^ ('%' * FRONT_ONES);
	return ((((v - 0x20 * FRONT_ONES) & ~v) | ((d - FRONT_ONES) & ~d) |
	    ((q - FRONT_ONES) & ~q)) & FRONT_HIGHS) != 0;
}

/*
 * The one strict pass over a raw x-www-form-urlencoded component: no
 * control byte or DEL, every '%' followed by two hex digits that do not
 * decode to a control byte.  '+' decodes to a space and every other byte
 * to itself, so what passes here decodes to text without controls or NUL.
 */
static int
front_scan(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t	 i = 0;

	while (i < len) {
		/* Eight plain bytes at a time, the common case. */
		if (i + 8 <= len && !front_special8(u + i)) {
			i += 8;
			continue;
		}
		if (!front_special[u[i]]) {
			i++;
			continue;
		}
		if (s[i] != '%' || i + 2 >= len || !front_hexdig(s[i + 1]) ||
		    !front_hexdig(s[i + 2]) ||
		    !front_esc_ok(s[i + 1], s[i + 2]))
			return BK_E_HTTP_BADPARAM;
		i += 3;
	}
	return BK_OK;
}

/* Check and decode s[0..len), NUL-terminated at s[len]. */
static int
front_decode_z(const char *s, size_t len, char **out, size_t *outlen)
{
	int	 rv;

	*out = NULL;
	if ((rv = front_scan(s, len)) != BK_OK)
		return rv;
	if ((*out = evhttp_uridecode(s, 1, outlen)) == NULL)
		return BK_E_NOMEM;
	return BK_OK;
}

/* Decode one x-www-form-urlencoded component strictly. */
int
front_decode(const char *s, size_t len, char **out, size_t *outlen)
{
	char	*tmp;
	int	 rv;

	*out = NULL;
	if ((rv = front_scan(s, len)) != BK_OK)
		return rv;
	if ((tmp = malloc(len + 1)) == NULL)
		return BK_E_NOMEM;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	rv = front_decode_z(tmp, len, out, outlen);
	bk_freezero(tmp, len);
	return rv;
}

/*
 * One name=value pair, p[0..len) in the writable copy: split at the first
 * '=' (NUL-terminating both parts in place), the caps before any decoding
 * (each %XX is 3 bytes), then decode both.
 */
static int
front_pair(char *p, size_t len, struct front_param *pp)
{
	char	*eq = memchr(p, '=', len), *v;
	size_t	 nlen, vlen, raw = eq != NULL ? (size_t)(eq - p) : len;
	int	 rv;

	if (raw > FRONT_MAX_NAME_LEN * 3)
		return BK_E_HTTP_PARAM_NAME;
	v = eq != NULL ? eq + 1 : p + len;
	vlen = eq != NULL ? len - raw - 1 : 0;
	p[raw] = '\0';
	if ((rv = front_decode_z(p, raw, &pp->name, &nlen)) != BK_OK)
		return rv;
	if (nlen == 0)
		return BK_E_HTTP_BADPARAM;
	if (nlen > FRONT_MAX_NAME_LEN)
		return BK_E_HTTP_PARAM_NAME;
	if ((rv = front_decode_z(v, vlen, &pp->value, &pp->vlen)) != BK_OK)
		return rv;
	if (pp->vlen > FRONT_MAX_PARAM_LEN)
		return BK_E_TOOBIG;
	return BK_OK;
}

static int
front_params_split(char *buf, size_t len, struct front_params *out)
{
	char		*p = buf, *end = buf + len, *amp;
	struct front_param pp;
	size_t		 i;
	int		 rv = BK_OK;

	while (p < end && rv == BK_OK) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		*amp = '\0';
		if (amp == p) {		/* empty pair: "a=1&&b=2" */
			p++;
			continue;
		}
		if (out->n >= FRONT_MAX_PARAMS)
			return BK_E_HTTP_PARAM_COUNT;
		memset(&pp, 0, sizeof(pp));
		rv = front_pair(p, (size_t)(amp - p), &pp);
		for (i = 0; i < out->n && rv == BK_OK; i++)
			if (strcmp(out->v[i].name, pp.name) == 0)
				rv = BK_E_HTTP_DUPPARAM;
		if (rv != BK_OK) {
			free(pp.name);
			bk_freezero(pp.value, pp.vlen);
		} else
			out->v[out->n++] = pp;
		p = amp + 1;
	}
	return rv;
}

int
front_params_parse(const char *s, size_t len, struct front_params *out)
{
	char	*buf;
	int	 rv;

	memset(out, 0, sizeof(*out));
	if (len > FRONT_MAX_PARAM_LEN * 2)
		return BK_E_TOOBIG;
	if ((out->v = calloc(FRONT_MAX_PARAMS, sizeof(*out->v))) == NULL)
		return BK_E_NOMEM;
	/* One writable, NUL-terminated copy: components end in place. */
	if ((buf = malloc(len + 1)) == NULL) {
		front_params_cleanup(out);
		return BK_E_NOMEM;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	rv = front_params_split(buf, len, out);
	bk_freezero(buf, len);
	if (rv != BK_OK)
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

