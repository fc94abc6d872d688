/*
 * sso-broker: shared helpers: secrets, randomness, digests, encodings,
 * numbers, time.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Encodings use OpenSSL's EVP base64 (never hand-written); randomness is
 * the OpenSSL CSPRNG and fails closed.
 * Trust: bk_b64_decode() and bk_strtonum() take untrusted input.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "bk.h"
#include "log.h"

void
bk_assert_fail(const char *file, int line, const char *expr)
{
	fatalx("assertion failed: %s:%d: %s", file, line, expr);
}

void
bk_freezero(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

void
bk_strfree_secret(char *s)
{
	if (s != NULL)
		bk_freezero(s, strlen(s));
}

int
bk_ct_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return 0;
	if (alen == 0)
		return 1;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

int
bk_random(void *buf, size_t n)
{
	if (n > INT_MAX || RAND_bytes(buf, (int)n) != 1)
		return BK_E_RANDOM;
	return BK_OK;
}

void
bk_hex(const unsigned char *p, size_t n, char *out)
{
	static const char hexd[] = "0123456789abcdef";
	size_t	 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hexd[p[i] >> 4];
		out[2 * i + 1] = hexd[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int
bk_random_hex(char *out, size_t nbytes)
{
	unsigned char	 buf[64];
	int		 rv;

	if (nbytes > sizeof(buf))
		return BK_E_INVAL;
	if ((rv = bk_random(buf, nbytes)) != BK_OK)
		return rv;
	bk_hex(buf, nbytes, out);
	OPENSSL_cleanse(buf, sizeof(buf));
	return BK_OK;
}

/*
 * SHA-256 fetched once: SHA256() fetches the implementation from the
 * provider at every call (a quarter of the cost of a short digest).  The
 * admin API's audit thread digests too, hence pthread_once.
 */
static EVP_MD		*bk_md_sha256;
static pthread_once_t	 bk_md_once = PTHREAD_ONCE_INIT;

static void
bk_md_init(void)
{
	bk_md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void
bk_sha256(const void *p, size_t n, unsigned char out[32])
{
	pthread_once(&bk_md_once, bk_md_init);
	if (bk_md_sha256 == NULL ||
	    EVP_Digest(p, n, out, NULL, bk_md_sha256, NULL) != 1)
		SHA256(p, n, out);
}

void
bk_sha256_hex(const void *p, size_t n, char out[BK_DIGEST_HEX + 1])
{
	unsigned char	 d[32];

	bk_sha256(p, n, d);
	bk_hex(d, sizeof(d), out);
}

char *
bk_b64_encode(const void *p, size_t n)
{
	char	*out;
	size_t	 olen;

	if (n > (size_t)INT_MAX / 2)
		return NULL;
	olen = 4 * ((n + 2) / 3) + 1;
	if ((out = malloc(olen)) == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

char *
bk_b64url_encode(const void *p, size_t n)
{
	char	*s, *c;
	size_t	 len;

	if ((s = bk_b64_encode(p, n)) == NULL)
		return NULL;
	for (c = s; *c != '\0'; c++) {
		if (*c == '+')
			*c = '-';
		else if (*c == '/')
			*c = '_';
	}
	len = strlen(s);
	while (len > 0 && s[len - 1] == '=')
		s[--len] = '\0';
	return s;
}

int
bk_token_new(char out[BK_TOKEN_LEN + 1])
{
	unsigned char	 raw[BK_TOKEN_BYTES];
	char		*s;
	int		 rv;

	out[0] = '\0';
	if ((rv = bk_random(raw, sizeof(raw))) != BK_OK)
		return rv;
	s = bk_b64url_encode(raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	if (s == NULL)
		return BK_E_NOMEM;
	BK_ASSERT(strlen(s) == BK_TOKEN_LEN);
	memcpy(out, s, BK_TOKEN_LEN + 1);
	bk_strfree_secret(s);
	return BK_OK;
}

/*
 * Strict base64, the character classes: the alphabet A-Z a-z 0-9 + /,
 * '=' padding, and the white space skipped between groups (CR, LF, space,
 * tab).  Every other byte is refused.  The decoding itself is OpenSSL's.
 */
enum { BK_B64_BAD = 0, BK_B64_ALPHA = 1, BK_B64_PAD = 2, BK_B64_WS = 4 };
static const unsigned char bk_b64_class[256] = {
	['A' ... 'Z'] = BK_B64_ALPHA, ['a' ... 'z'] = BK_B64_ALPHA,
	['0' ... '9'] = BK_B64_ALPHA, ['+'] = BK_B64_ALPHA,
	['/'] = BK_B64_ALPHA, ['='] = BK_B64_PAD, ['\r'] = BK_B64_WS,
	['\n'] = BK_B64_WS, [' '] = BK_B64_WS, ['\t'] = BK_B64_WS,
};

/*
 * One pass over in: the alphabet, then at most two '=' of padding, white
 * space anywhere.  *n counts the characters that are not white space,
 * *pad the padding; *ws is 1 if there was white space.
 */
static int
bk_b64_scan(const unsigned char *in, size_t inlen, size_t *n, size_t *padp,
    int *ws)
{
	const unsigned char *c = bk_b64_class;
	size_t	 i = 0, nws = 0, pad = 0;

	for (;;) {
		/* The classes are bits: four alphabet bytes AND to ALPHA. */
		while (i + 4 <= inlen && (c[in[i]] & c[in[i + 1]] &
		    c[in[i + 2]] & c[in[i + 3]]) == BK_B64_ALPHA)
			i += 4;
		if (i == inlen)
			break;
		if (c[in[i]] == BK_B64_ALPHA)
			i++;
		else if (c[in[i]] == BK_B64_WS) {
			nws++;
			i++;
		} else if (c[in[i]] == BK_B64_PAD)
			break;
		else
			return BK_E_INVAL;
	}
	/* Padding: only '=' (two at most) and white space to the end. */
	for (; i < inlen; i++) {
		if (c[in[i]] == BK_B64_WS)
			nws++;
		else if (c[in[i]] != BK_B64_PAD || ++pad > 2)
			return BK_E_INVAL;
	}
	*n = inlen - nws;
	*padp = pad;
	*ws = nws > 0;
	return BK_OK;
}

/*
 * The common case, one line of base64 with no white space, without the
 * scan: EVP_DecodeBlock() refuses every byte outside the alphabet and
 * '=' itself, so what the scan adds is only what it lets through: '='
 * anywhere, and white space, '-', CR or LF it trims off either end.  With
 * an alphabet byte first, an alphabet byte or '=' last and every '=' in
 * the last two places, EVP decodes exactly what the scan accepts
 * (tests/unit/test_saml.c pins the refusals).  BK_E_INVAL: try the scan.
 */
static int
bk_b64_fast(const unsigned char *in, size_t n, size_t max,
    unsigned char **out, size_t *outlen)
{
	const unsigned char *eq;
	unsigned char	*dec;
	size_t		 pad = 0, dlen;
	int		 r;

	if (n == 0 || n % 4 != 0 || bk_b64_class[in[0]] != BK_B64_ALPHA ||
	    (bk_b64_class[in[n - 1]] & (BK_B64_ALPHA | BK_B64_PAD)) == 0)
		return BK_E_INVAL;
	if ((eq = memchr(in, '=', n)) != NULL) {
		pad = n - (size_t)(eq - in);
		if (pad > 2 || (pad == 2 && in[n - 1] != '='))
			return BK_E_INVAL;
	}
	dlen = n / 4 * 3;
	if ((dec = malloc(dlen + 1)) == NULL)
		return BK_E_NOMEM;
	r = EVP_DecodeBlock(dec, in, (int)n);
	if (r < 0 || (size_t)r != dlen || dlen - pad > max) {
		free(dec);
		return r < 0 || (size_t)r != dlen ? BK_E_INVAL : BK_E_TOOBIG;
	}
	dlen -= pad;
	dec[dlen] = '\0';
	*out = dec;
	*outlen = dlen;
	return BK_OK;
}

/*
 * Strict base64 (bk_b64_scan), then EVP_DecodeBlock, straight from the
 * input when it holds no white space (the common case: no copy), else
 * from a copy without it.
 */
int
bk_b64_decode(const char *in, size_t inlen, size_t max, unsigned char **out,
    size_t *outlen)
{
	const unsigned char *src = (const unsigned char *)in;
	unsigned char	*clean = NULL, *dec = NULL;
	size_t		 i, n, k = 0, pad, dlen;
	int		 rv, r, ws;

	*out = NULL;
	*outlen = 0;
	if (inlen > (size_t)INT_MAX / 2 || inlen / 4 * 3 > max + 3)
		return BK_E_TOOBIG;
	if ((rv = bk_b64_fast(src, inlen, max, out, outlen)) != BK_E_INVAL)
		return rv;
	if ((rv = bk_b64_scan(src, inlen, &n, &pad, &ws)) != BK_OK)
		return rv;
	if (n == 0 || n % 4 != 0)
		return BK_E_INVAL;
	if (ws) {
		if ((clean = malloc(n)) == NULL)
			return BK_E_NOMEM;
		for (i = 0; i < inlen; i++)
			if (bk_b64_class[src[i]] != BK_B64_WS)
				clean[k++] = src[i];
		src = clean;
	}
	rv = BK_E_INVAL;
	dlen = n / 4 * 3;
	if ((dec = malloc(dlen + 1)) == NULL) {
		rv = BK_E_NOMEM;
		goto out;
	}
	r = EVP_DecodeBlock(dec, src, (int)n);
	if (r < 0 || (size_t)r != dlen)
		goto out;
	dlen -= pad;
	if (dlen > max) {
		rv = BK_E_TOOBIG;
		goto out;
	}
	dec[dlen] = '\0';
	*out = dec;
	*outlen = dlen;
	dec = NULL;
	rv = BK_OK;
 out:
	free(clean);
	free(dec);
	return rv;
}

int
bk_strtonum(const char *s, long long min, long long max, long long *out,
    const char **why)
{
	char		*end;
	long long	 v;

	*out = 0;
	*why = NULL;
	if (s == NULL || *s == '\0') {
		*why = "empty";
		return BK_E_INVAL;
	}
	if (*s == ' ' || *s == '\t' || *s == '+') {
		*why = "invalid";
		return BK_E_INVAL;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0') {
		*why = "invalid";
		return BK_E_INVAL;
	}
	if (errno == ERANGE) {
		*why = v > 0 ? "too large" : "too small";
		return BK_E_INVAL;
	}
	if (v < min) {
		*why = "too small";
		return BK_E_INVAL;
	}
	if (v > max) {
		*why = "too large";
		return BK_E_INVAL;
	}
	*out = v;
	return BK_OK;
}

char *
bk_strdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

int
bk_str_is_printable(const char *s)
{
	if (s == NULL)
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

char *
bk_str_lower(const char *s)
{
	char	*d, *c;

	if ((d = strdup(s)) == NULL)
		return NULL;
	for (c = d; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return d;
}

void
bk_time_fmt(time_t t, char out[32])
{
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

time_t
bk_now(void)
{
	return time(NULL);
}

int
bk_token_new_dup(char **out)
{
	char	 t[BK_TOKEN_LEN + 1];
	int	 rv;

	*out = NULL;
	if ((rv = bk_token_new(t)) != BK_OK)
		return rv;
	*out = bk_strdup(t);
	OPENSSL_cleanse(t, sizeof(t));
	return *out ? BK_OK : BK_E_NOMEM;
}

/*
 * path replaced by len bytes of buf, atomically: a temporary file beside it
 * (path.tmp.<pid>), written, synced, renamed over it, then the directory
 * synced, so a crash leaves the old file or the new one, never a half.
 * Returns 0 or the errno of the step that failed (the temporary removed).
 */
int
bk_file_replace(const char *path, const void *buf, size_t len, mode_t mode)
{
	char		 tmp[PATH_MAX], dir[PATH_MAX];
	const char	*slash = strrchr(path, '/');
	size_t		 off = 0;
	ssize_t		 w;
	int		 fd, dfd, e = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return ENAMETOOLONG;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, mode)) < 0)
		return errno;
	if (fchmod(fd, mode) != 0)
		e = errno;
	while (e == 0 && off < len) {
		if ((w = write(fd, (const char *)buf + off, len - off)) < 0) {
			if (errno != EINTR)
				e = errno;
			continue;
		}
		off += (size_t)w;
	}
	if (e == 0 && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && e == 0)
		e = errno;
	if (e == 0 && rename(tmp, path) != 0)
		e = errno;
	if (e != 0) {
		(void)unlink(tmp);
		return e;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash == NULL ? 1 : slash == path ?
	    1 : (int)(slash - path), slash == NULL ? "." : path);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}
