/*
 * sso-broker: shared utilities (bounded buffers, secrets, encodings, numbers).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Every module may include this header.  No third-party type appears here.
 * Trust: the string helpers take untrusted input and bound it.
 */
#ifndef BK_H
#define BK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#include "errors.h"

#define BK_ASSERT(e) do { \
	if (!(e)) \
		bk_assert_fail(__FILE__, __LINE__, #e); \
} while (0)
void bk_assert_fail(const char *, int, const char *) __attribute__((noreturn));

#define BK_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Bytes of randomness in tokens, codes and cookies: 256 bits. */
#define BK_TOKEN_BYTES 32
/* base64url of 32 bytes, no padding. */
#define BK_TOKEN_LEN 43
/* hex SHA-256 digest length. */
#define BK_DIGEST_HEX 64

/** Growable byte buffer with a mandatory cap [curl dynbuf]. */
struct bk_buf {
	char	*data;	/* NUL-terminated at data[len] when len > 0 */
	size_t	 len;
	size_t	 cap;	/* allocated */
	size_t	 max;	/* hard limit on len */
};

/** Initialise b with the hard limit max (bytes). */
void	bk_buf_init(struct bk_buf *b, size_t max);
/** Append n bytes; BK_E_TOOBIG past the limit, BK_E_NOMEM. */
int	bk_buf_add(struct bk_buf *b, const void *p, size_t n);
/** Append a NUL-terminated string. */
int	bk_buf_adds(struct bk_buf *b, const char *s);
/** Append printf-formatted text. */
int	bk_buf_addf(struct bk_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/** Release the memory (zeroed first) and reset to empty. */
void	bk_buf_free(struct bk_buf *b);
/** Hand the data over to the caller (returned-owned, may be NULL if empty). */
char	*bk_buf_take(struct bk_buf *b);

/** free() after zeroing len bytes; NULL is fine. */
void	bk_freezero(void *p, size_t len);
/** free() a NUL-terminated secret string after zeroing it. */
void	bk_strfree_secret(char *s);
/** Constant-time equality of two byte strings (length is not secret). */
int	bk_ct_eq(const void *a, size_t alen, const void *b, size_t blen);

/** n bytes from the OpenSSL CSPRNG; BK_E_RANDOM on failure (fail closed). */
int	bk_random(void *buf, size_t n);
/**
 * A fresh 256-bit token, base64url without padding, into out[BK_TOKEN_LEN+1].
 */
int	bk_token_new(char out[BK_TOKEN_LEN + 1]);
/** Same, into a returned-owned string (*out; freed with bk_strfree_secret). */
int	bk_token_new_dup(char **out);
/** Random hex id of nbytes random bytes into out (2*nbytes+1). */
int	bk_random_hex(char *out, size_t nbytes);

/** SHA-256 of p[0..n) as lower-case hex into out[BK_DIGEST_HEX+1]. */
void	bk_sha256_hex(const void *p, size_t n, char out[BK_DIGEST_HEX + 1]);
/** SHA-256 raw digest. */
void	bk_sha256(const void *p, size_t n, unsigned char out[32]);
/** Lower-case hex of n bytes into out (2n+1). */
void	bk_hex(const unsigned char *p, size_t n, char *out);

/** base64url (no padding) of p into a returned-owned string. */
char	*bk_b64url_encode(const void *p, size_t n);
/** Standard base64 with padding, returned-owned. */
char	*bk_b64_encode(const void *p, size_t n);
/**
 * Strict standard base64 decode (OpenSSL EVP): whitespace CR/LF/space/tab
 * allowed between groups, anything else is BK_E_INVAL.  *out returned-owned,
 * NUL-terminated for convenience.  max caps the decoded size (BK_E_TOOBIG).
 */
int	bk_b64_decode(const char *in, size_t inlen, size_t max,
	    unsigned char **out, size_t *outlen);

/** Parse a decimal integer in [min,max]; BK_E_INVAL with *why set. */
int	bk_strtonum(const char *s, long long min, long long max,
	    long long *out, const char **why);

/** strdup that aborts-free returns NULL on ENOMEM. */
char	*bk_strdup(const char *s);
/** 1 if s consists only of bytes in [0x20,0x7e] (and is non-NULL). */
int	bk_str_is_printable(const char *s);
/** Lower-case ASCII copy, returned-owned. */
char	*bk_str_lower(const char *s);

/** Format a UNIX time as RFC 3339 UTC with milliseconds-free seconds. */
void	bk_time_fmt(time_t t, char out[32]);
/** Current wall-clock time (seconds). */
time_t	bk_now(void);
/* path replaced atomically by buf (tmp, fsync, rename, fsync of the dir). */
int	bk_file_replace(const char *path, const void *buf, size_t len,
	    mode_t mode);

#endif /* BK_H */
