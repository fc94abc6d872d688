/*
 * sso-broker: a strict multipart/form-data reader (RFC 7578) for the
 * console's file upload.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Pure: bytes in, borrowed slices out; no I/O.  libevent has no
 * multipart reader, so this one is small and strict: the body starts
 * with the boundary (no preamble), every part has a Content-Disposition
 * form-data header with a name, the close delimiter must come, at most
 * FRONT_MULTIPART_PARTS parts.  Fuzzed (tests/fuzz/fuzz_front_multipart.c).
 * Trust: the input is hostile.
 */
#ifndef BK_FRONT_MULTIPART_H
#define BK_FRONT_MULTIPART_H

#include <stddef.h>

#define FRONT_MULTIPART_PARTS	8
#define FRONT_MULTIPART_HDR_MAX	4096	/* a part's headers */
#define FRONT_MULTIPART_NAME	64

struct front_part {
	char		 name[FRONT_MULTIPART_NAME];
	int		 is_file;	/* a filename was given */
	const char	*data;		/* borrowed from the body */
	size_t		 len;
};

/**
 * Split body (of Content-Type ctype) into parts[max]; *n set.
 * @return BK_OK, BK_E_HTTP_CTYPE (not multipart/form-data with a usable
 * boundary) or BK_E_HTTP_BADPARAM (malformed, too many parts).
 */
int	front_multipart_parse(const char *ctype, const char *body, size_t len,
	    struct front_part *parts, size_t max, size_t *n);
/** The first part named name, or NULL. */
const struct front_part *front_multipart_get(const struct front_part *parts,
	    size_t n, const char *name);

#endif /* BK_FRONT_MULTIPART_H */
