/*
 * sso-broker: fuzz target for the stored records (broker/rec.c).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Redis is outside the trust boundary: the same bytes are read as every
 * kind of record.  Each read either refuses (and leaves the struct zeroed)
 * or gives a struct that writes to a record which reads back to a struct
 * that writes to the same bytes (one writer, one reader, one table).
 * No I/O, no clock; everything is freed.
 * Trust: the fuzzer's bytes stand for a Redis value.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "rec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The largest record struct. */
union fz_rec {
	struct rec_signin	s;
	struct rec_session	se;
	struct rec_grant	g;
	struct rec_token	t;
	struct rec_tomb		tb;
};

static size_t
fz_size(enum rec_kind k)
{
	switch (k) {
	case REC_SIGNIN:
		return sizeof(struct rec_signin);
	case REC_SESSION:
		return sizeof(struct rec_session);
	case REC_GRANT:
		return sizeof(struct rec_grant);
	case REC_TOKEN:
		return sizeof(struct rec_token);
	case REC_TOMB:
	case REC_NKINDS:
		break;
	}
	return sizeof(struct rec_tomb);
}

static int
fz_zero(const void *p, size_t n)
{
	const unsigned char	*c = p;
	size_t			 i;

	for (i = 0; i < n; i++)
		if (c[i] != 0)
			return 0;
	return 1;
}

static void
fz_kind(enum rec_kind k, const char *p, size_t n)
{
	union fz_rec	 a, b;
	char		*w1, *w2;

	memset(&a, 0xa5, sizeof(a));	/* a refusal must zero its kind */
	memset(&b, 0, sizeof(b));
	if (rec_read(k, p, n, &a, NULL) != BK_OK) {
		memset((char *)&a + fz_size(k), 0, sizeof(a) - fz_size(k));
		if (!fz_zero(&a, sizeof(a)))
			abort();	/* half-read */
		return;
	}
	if ((w1 = rec_write(k, &a)) == NULL)
		abort();
	if (rec_read(k, w1, strlen(w1), &b, NULL) != BK_OK)
		abort();
	if ((w2 = rec_write(k, &b)) == NULL || strcmp(w1, w2) != 0)
		abort();
	free(w1);
	free(w2);
	rec_cleanup(k, &a);
	rec_cleanup(k, &b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int	 k;

	for (k = 0; k < REC_NKINDS; k++)
		fz_kind((enum rec_kind)k, (const char *)data, size);
	return 0;
}
