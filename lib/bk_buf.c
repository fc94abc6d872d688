/*
 * sso-broker: bounded growable buffers [curl dynbuf].
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Every buffer has a hard cap set at init; exceeding it is BK_E_TOOBIG.
 * Trust: callers append untrusted bytes; the cap bounds memory.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "bk.h"

void
bk_buf_init(struct bk_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

static int
bk_buf_grow(struct bk_buf *b, size_t need)
{
	size_t	 ncap;
	char	*p;

	if (need > b->max)
		return BK_E_TOOBIG;
	if (need + 1 <= b->cap)
		return BK_OK;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need + 1)
		ncap *= 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if ((p = realloc(b->data, ncap)) == NULL)
		return BK_E_NOMEM;
	b->data = p;
	b->cap = ncap;
	return BK_OK;
}

int
bk_buf_add(struct bk_buf *b, const void *p, size_t n)
{
	int	 rv;

	if (n > b->max || b->len > b->max - n)
		return BK_E_TOOBIG;
	if ((rv = bk_buf_grow(b, b->len + n)) != BK_OK)
		return rv;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return BK_OK;
}

int
bk_buf_adds(struct bk_buf *b, const char *s)
{
	return bk_buf_add(b, s, strlen(s));
}

/*
 * Formatted once into a stack buffer when the text is short (the common
 * case: keys, headers), else measured and formatted in place.
 */
int
bk_buf_addf(struct bk_buf *b, const char *fmt, ...)
{
	char	 tmp[512];
	va_list	 ap;
	int	 n, rv;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return BK_E_INVAL;
	if ((size_t)n < sizeof(tmp)) {
		rv = bk_buf_add(b, tmp, (size_t)n);
		OPENSSL_cleanse(tmp, (size_t)n);
		return rv;
	}
	if ((size_t)n > b->max || b->len > b->max - (size_t)n)
		return BK_E_TOOBIG;
	if ((rv = bk_buf_grow(b, b->len + (size_t)n)) != BK_OK)
		return rv;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return BK_OK;
}

void
bk_buf_free(struct bk_buf *b)
{
	if (b->data != NULL) {
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

char *
bk_buf_take(struct bk_buf *b)
{
	char	*p = b->data;

	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
