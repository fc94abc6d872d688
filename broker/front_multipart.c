/*
 * sso-broker: a strict multipart/form-data reader (front_multipart.h).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * RFC 7578 over RFC 2046 5.1.1: "--boundary" CRLF, headers, CRLF CRLF,
 * the data up to CRLF "--boundary", then CRLF (next part) or "--" (end).
 * Trust: the input is hostile; every search is bounded by the body.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bk.h"
#include "front_multipart.h"

#define MP_BOUNDARY_MAX	70	/* RFC 2046 */

/* The boundary of ctype into b (with "--" first); BK_OK or CTYPE. */
static int
mp_boundary(const char *ctype, char *b, size_t size)
{
	const char	*p;
	size_t		 n;
	int		 quoted;

	if (ctype == NULL ||
	    strncasecmp(ctype, "multipart/form-data", 19) != 0 ||
	    (p = strcasestr(ctype + 19, "boundary=")) == NULL)
		return BK_E_HTTP_CTYPE;
	p += 9;
	quoted = *p == '"';
	p += quoted;
	n = quoted ? strcspn(p, "\"") : strcspn(p, "; \t");
	if (n == 0 || n > MP_BOUNDARY_MAX || (quoted && p[n] != '"') ||
	    n + 3 > size)
		return BK_E_HTTP_CTYPE;
	b[0] = b[1] = '-';
	memcpy(b + 2, p, n);
	b[n + 2] = '\0';
	return BK_OK;
}

/* name="..." (and whether filename= is there) from one header line. */
static int
mp_disposition(const char *h, size_t len, struct front_part *pt)
{
	char		 line[FRONT_MULTIPART_HDR_MAX + 1];
	const char	*p, *q;
	size_t		 n;

	if (len > FRONT_MULTIPART_HDR_MAX)
		return BK_E_HTTP_BADPARAM;
	memcpy(line, h, len);
	line[len] = '\0';
	if (strncasecmp(line, "Content-Disposition:", 20) != 0)
		return BK_OK;	/* another header: not ours to read */
	p = line + 20;
	p += strspn(p, " \t");
	if (strncasecmp(p, "form-data", 9) != 0)
		return BK_E_HTTP_BADPARAM;
	/* name= not preceded by a letter (filename=) */
	for (q = p; (q = strstr(q, "name=\"")) != NULL; q++)
		if (q == p || q[-1] == ' ' || q[-1] == ';')
			break;
	if (q == NULL)
		return BK_E_HTTP_BADPARAM;
	q += 6;
	n = strcspn(q, "\"");
	if (q[n] != '"' || n == 0 || n >= sizeof(pt->name))
		return BK_E_HTTP_BADPARAM;
	memcpy(pt->name, q, n);
	pt->name[n] = '\0';
	pt->is_file = strstr(p, "filename=") != NULL;
	return BK_OK;
}

/* The headers of a part, from h to end (CRLF-separated lines). */
static int
mp_headers(const char *h, const char *end, struct front_part *pt)
{
	const char	*eol;
	int		 rv;

	pt->name[0] = '\0';
	while (h < end) {
		eol = memmem(h, (size_t)(end - h), "\r\n", 2);
		if (eol == NULL)
			eol = end;
		if ((rv = mp_disposition(h, (size_t)(eol - h), pt)) != BK_OK)
			return rv;
		h = eol + 2;
	}
	return pt->name[0] != '\0' ? BK_OK : BK_E_HTTP_BADPARAM;
}

int
front_multipart_parse(const char *ctype, const char *body, size_t len,
    struct front_part *parts, size_t max, size_t *n)
{
	char		 delim[MP_BOUNDARY_MAX + 5], sep[MP_BOUNDARY_MAX + 8];
	const char	*p = body, *end = body + len, *hend, *next;
	size_t		 dl, sl;
	int		 rv;

	*n = 0;
	if ((rv = mp_boundary(ctype, delim, sizeof(delim))) != BK_OK)
		return rv;
	dl = strlen(delim);
	snprintf(sep, sizeof(sep), "\r\n%s", delim);
	sl = dl + 2;
	if (len < dl || memcmp(p, delim, dl) != 0)
		return BK_E_HTTP_BADPARAM;
	p += dl;
	for (;;) {
		if (end - p >= 2 && memcmp(p, "--", 2) == 0)
			return *n > 0 ? BK_OK : BK_E_HTTP_BADPARAM;
		if (end - p < 2 || memcmp(p, "\r\n", 2) != 0 || *n >= max)
			return BK_E_HTTP_BADPARAM;
		p += 2;
		hend = memmem(p, (size_t)(end - p) < FRONT_MULTIPART_HDR_MAX ?
		    (size_t)(end - p) : FRONT_MULTIPART_HDR_MAX, "\r\n\r\n", 4);
		if (hend == NULL ||
		    (rv = mp_headers(p, hend, &parts[*n])) != BK_OK)
			return BK_E_HTTP_BADPARAM;
		p = hend + 4;
		if ((next = memmem(p, (size_t)(end - p), sep, sl)) == NULL)
			return BK_E_HTTP_BADPARAM;
		parts[*n].data = p;
		parts[*n].len = (size_t)(next - p);
		(*n)++;
		p = next + sl;
	}
}

const struct front_part *
front_multipart_get(const struct front_part *parts, size_t n, const char *name)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(parts[i].name, name) == 0)
			return &parts[i];
	return NULL;
}
