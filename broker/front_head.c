/*
 * sso-broker: strict checks of an HTTP/1.1 request head, line by line.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Pure functions (no I/O, no allocation) used by the connection filter
 * (front_http.c) before evhttp sees a byte.  They accept only what
 * libevent 2.1 reads the same way we do, so the filter and evhttp always
 * agree on where a request ends: one Content-Length of digits, or
 * "Transfer-Encoding: chunked" alone, one Host, no obs-fold, field names
 * of token characters only, every line ended by CRLF (RFC 9112 2.2, 5,
 * 6.1, 6.3, 11.2 on request smuggling).
 * Trust: every byte given to these functions is untrusted.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "bk.h"
#include "front_http.h"

static const struct {
	const char	*name;
	int		 m;
} front_methods[] = {
	{ "GET", FRONT_M_GET }, { "HEAD", FRONT_M_HEAD },
	{ "POST", FRONT_M_POST }, { "PUT", FRONT_M_PUT },
	{ "DELETE", FRONT_M_DELETE }, { "OPTIONS", FRONT_M_OPTIONS },
	{ "PATCH", FRONT_M_PATCH }, { "TRACE", FRONT_M_TRACE },
	{ "CONNECT", FRONT_M_CONNECT },
};

/* tchar, RFC 9110 5.6.2. */
static int
front_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar / SP / HTAB, RFC 9110 5.5 (obs-text allowed). */
static int
front_vchar(unsigned char c)
{
	return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f);
}

static size_t
front_span(const char *s, size_t n, int (*ok)(unsigned char))
{
	size_t	 i;

	for (i = 0; i < n && ok((unsigned char)s[i]); i++)
		;
	return i;
}

static int
front_target_char(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e;
}

/* method SP request-target SP HTTP-version, RFC 9112 3. */
static int
front_head_request(struct front_head *h, const char *s, size_t n)
{
	size_t	 ml, tl, i;
	const char *v;

	ml = front_span(s, n, front_tchar);
	if (ml == 0 || ml >= n || s[ml] != ' ')
		return BK_E_HTTP_REQUEST_LINE;
	tl = front_span(s + ml + 1, n - ml - 1, front_target_char);
	if (tl == 0 || ml + 1 + tl + 1 + 8 != n || s[ml + 1 + tl] != ' ')
		return BK_E_HTTP_REQUEST_LINE;
	v = s + ml + 1 + tl + 1;
	if (memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' ||
	    v[6] != '.' || v[7] < '0' || v[7] > '9')
		return BK_E_HTTP_REQUEST_LINE;
	if (memcmp(v + 5, "1.1", 3) == 0)
		h->http10 = 0;
	else if (memcmp(v + 5, "1.0", 3) == 0)
		h->http10 = 1;
	else
		return BK_E_HTTP_VERSION;
	for (i = 0; i < BK_NELEM(front_methods); i++)
		if (strlen(front_methods[i].name) == ml &&
		    memcmp(front_methods[i].name, s, ml) == 0) {
			h->method = front_methods[i].m;
			return FRONT_HEAD_MORE;
		}
	return BK_E_HTTP_METHOD_UNKNOWN;
}

static int
front_name_is(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

/*
 * The value of a framing field.  libevent strips only spaces in front of
 * a value, so a tab there would make it read "\tchunked" as not chunked
 * while we read chunked: refuse it.
 */
static int
front_head_framing(struct front_head *h, int te, const char *v, size_t vn,
    int tab)
{
	size_t	 i;

	if (te) {
		if (++h->n_te > 1 || tab || vn != 7 ||
		    strncasecmp(v, "chunked", 7) != 0)
			return BK_E_HTTP_FRAMING;
		return FRONT_HEAD_MORE;
	}
	if (++h->n_cl > 1 || tab || vn == 0 || vn > 18)
		return BK_E_HTTP_CONTENT_LENGTH;
	h->content_length = 0;
	for (i = 0; i < vn; i++) {
		if (v[i] < '0' || v[i] > '9')
			return BK_E_HTTP_CONTENT_LENGTH;
		h->content_length = h->content_length * 10 +
		    (uint64_t)(v[i] - '0');
	}
	return FRONT_HEAD_MORE;
}

/* field-name ":" OWS field-value OWS, RFC 9112 5. */
static int
front_head_field(struct front_head *h, const char *s, size_t n)
{
	size_t	 nl, vs, ve;
	int	 tab = 0;

	/* RFC 9112 5.2: obs-fold is refused, not joined. */
	if (s[0] == ' ' || s[0] == '\t')
		return BK_E_HTTP_OBS_FOLD;
	nl = front_span(s, n, front_tchar);
	/* RFC 9112 5.1: no whitespace in or before the colon. */
	if (nl == 0 || nl >= n || s[nl] != ':')
		return BK_E_HTTP_HEADER_SYNTAX;
	if (front_span(s + nl + 1, n - nl - 1, front_vchar) != n - nl - 1)
		return BK_E_HTTP_HEADER_SYNTAX;
	for (vs = nl + 1; vs < n && (s[vs] == ' ' || s[vs] == '\t'); vs++)
		tab |= s[vs] == '\t';
	for (ve = n; ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'); ve--)
		;
	if (front_name_is(s, nl, "Content-Length"))
		return front_head_framing(h, 0, s + vs, ve - vs, tab);
	if (front_name_is(s, nl, "Transfer-Encoding"))
		return front_head_framing(h, 1, s + vs, ve - vs, tab);
	if (front_name_is(s, nl, "Host")) {
		/* One authority: a list or a space would be two. */
		if (++h->n_host > 1 || memchr(s + vs, ',', ve - vs) != NULL ||
		    memchr(s + vs, ' ', ve - vs) != NULL ||
		    memchr(s + vs, '\t', ve - vs) != NULL)
			return BK_E_HTTP_HOST;
	}
	return FRONT_HEAD_MORE;
}

int
front_head_line(struct front_head *h, const char *line, size_t len)
{
	size_t	 n, i;

	/* RFC 9112 2.2: CRLF only; a bare CR or LF is not a line end. */
	if (len < 2 || line[len - 1] != '\n' || line[len - 2] != '\r')
		return h->nlines == 0 ? BK_E_HTTP_REQUEST_LINE :
		    BK_E_HTTP_HEADER_SYNTAX;
	n = len - 2;
	for (i = 0; i < n; i++)
		if (line[i] == '\r' || line[i] == '\n' || line[i] == '\0')
			return h->nlines == 0 ? BK_E_HTTP_REQUEST_LINE :
			    BK_E_HTTP_HEADER_SYNTAX;
	if (h->nlines == 0) {
		/* RFC 9112 2.2: an empty line before the request line. */
		if (n == 0)
			return FRONT_HEAD_SKIP;
		h->nlines++;
		return front_head_request(h, line, n);
	}
	h->nlines++;
	if (n == 0)
		return FRONT_HEAD_END;
	return front_head_field(h, line, n);
}

int
front_head_end(const struct front_head *h, int *body)
{
	*body = 0;
	/* RFC 9112 3.2: exactly one Host in HTTP/1.1. */
	if (!h->http10 && h->n_host != 1)
		return BK_E_HTTP_HOST;
	/* RFC 9112 6.1, 6.3: both, or chunked in 1.0, cannot be framed. */
	if (h->n_te > 0 && (h->n_cl > 0 || h->http10))
		return BK_E_HTTP_FRAMING;
	/*
	 * libevent reads no body after HEAD or TRACE: bytes sent as one
	 * would be taken for the next request.
	 */
	if ((h->method == FRONT_M_HEAD || h->method == FRONT_M_TRACE) &&
	    (h->n_te > 0 || h->content_length > 0))
		return BK_E_HTTP_FRAMING;
	if (h->n_te > 0)
		*body = 2;
	else if (h->content_length > 0)
		*body = 1;
	return BK_OK;
}

int
front_head_chunk(const char *line, size_t len, uint64_t *size)
{
	size_t	 i, n;
	uint64_t v = 0;
	char	 c;

	*size = 0;
	if (len < 3 || line[len - 1] != '\n' || line[len - 2] != '\r')
		return BK_E_HTTP_CHUNK;
	n = len - 2;
	/* 15 hex digits: 2^60 bytes, far past any body cap. */
	if (n > 15)
		return BK_E_HTTP_CHUNK;
	for (i = 0; i < n; i++) {
		c = line[i];
		if (c >= '0' && c <= '9')
			v = v * 16 + (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uint64_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (uint64_t)(c - 'A' + 10);
		else
			return BK_E_HTTP_CHUNK;	/* also chunk extensions */
	}
	*size = v;
	return BK_OK;
}
