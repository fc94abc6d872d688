/*
 * sso-broker: fuzz target for the console's multipart/form-data reader
 * (front_multipart_parse).  The input's first line is the Content-Type,
 * the rest the body.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Trust: the input is hostile.  No I/O, no clock.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "front_multipart.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct front_part	 parts[FRONT_MULTIPART_PARTS];
	const uint8_t		*nl = memchr(data, '\n', size);
	char			*ctype;
	size_t			 n, i, hl, sum = 0;

	if (nl == NULL)
		return 0;
	hl = (size_t)(nl - data);
	if ((ctype = malloc(hl + 1)) == NULL)
		return 0;
	memcpy(ctype, data, hl);
	ctype[hl] = '\0';
	if (front_multipart_parse(ctype, (const char *)nl + 1, size - hl - 1,
	    parts, BK_NELEM(parts), &n) == BK_OK) {
		/* every slice lies inside the body */
		for (i = 0; i < n; i++) {
			if (parts[i].data < (const char *)nl + 1 ||
			    parts[i].data + parts[i].len >
			    (const char *)data + size)
				abort();
			sum += parts[i].len;
		}
		(void)front_multipart_get(parts, n, "file");
	}
	(void)sum;
	free(ctype);
	return 0;
}
