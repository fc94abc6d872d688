/*
 * sso-broker: private declarations of the oidc/ module.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Shared between oidc_json.c (the one JSON loader and its getters),
 * oidc_disco.c (discovery, https URLs), oidc_jwks.c (key sets),
 * oidc_jws.c (compact JWS steps), oidc_claims.c (claim steps),
 * oidc_verify.c (the ordered chain) and oidc_sfdc.c (Salesforce's IDs,
 * identity URL, token response and UserInfo).  Only oidc/ includes
 * cjose; jansson types stay inside it.
 * Trust: every json_t handled here comes from an untrusted document.
 */
#ifndef BK_OIDC_INT_H
#define BK_OIDC_INT_H

#include <jansson.h>
#include <cjose/cjose.h>

#include "oidc.h"

/* Deepest nesting accepted in any document (objects and arrays). */
#define OIDC_JSON_DEPTH_MAX	8
/* Longest claim or field value read as a string (bytes). */
#define OIDC_STR_MAX		4096

/** One JWKS entry: a usable key, or a weak one kept by kid only. */
struct oidc_key {
	char		*kid;		/* NULL when the JWKS gave none */
	cjose_jwk_t	*jwk;		/* NULL for a weak key */
	int		 bits;
};

struct oidc_keyset {
	size_t		 n;
	struct oidc_key	 keys[OIDC_JWKS_MAX_KEYS];
};

/** State of one ID token verification (oidc_verify.c). */
struct oidc_vctx {
	const struct oidc_keyset *ks;
	const struct oidc_expect *e;
	time_t		 now;
	const char	*tok;
	size_t		 len;
	struct oidc_result *out;
	char		*detail;
	json_t		*hdr;		/* the protected header */
	json_t		*claims;	/* the verified payload */
	size_t		 dot1, dot2;	/* the two '.' of the compact form */
	size_t		 aud_n;		/* entries in aud */
	const struct oidc_key *key;
	struct oidc_identity sub_id;
};

/**
 * Set *detail (when detail is not NULL and not yet set) to the formatted
 * reason, control bytes replaced, and return rv.
 */
int	oidc_fail(char **detail, int rv, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/**
 * Load a JSON object: at most max bytes, no duplicate member, no NUL in
 * strings, at most OIDC_JSON_DEPTH_MAX deep.  *out returned-owned.
 * @return BK_OK, BK_E_OIDC_TOOBIG, BK_E_OIDC_JSON.
 */
int	oidc_json_load(const char *buf, size_t len, size_t max, json_t **out,
	    char **detail);

/**
 * Member k of object o as a string of 1..max bytes.  *out borrowed from o.
 * @return BK_OK, BK_E_NOT_FOUND (absent or null), BK_E_INVAL (another
 *	type, empty or too long).
 */
int	oidc_json_str(const json_t *o, const char *k, size_t max,
	    const char **out);

/**
 * Member k of object o as a NumericDate (an integer or real number of
 * seconds, within time_t's range and non-negative).
 * @return BK_OK, BK_E_NOT_FOUND, BK_E_INVAL.
 */
int	oidc_json_time(const json_t *o, const char *k, time_t *out);

/** 1 if s[0..n) is in the base64url alphabet and of a possible length. */
int	oidc_b64url_ok(const char *s, size_t n);
/**
 * Strict base64url (RFC 7515 2: URL-safe alphabet, no padding) of s[0..n)
 * by cjose, at most max bytes.  *out returned-owned, release with
 * oidc_cjose_free().
 * @return BK_OK, BK_E_INVAL, BK_E_TOOBIG, BK_E_NOMEM.
 */
int	oidc_b64url_decode(const char *s, size_t n, size_t max, uint8_t **out,
	    size_t *outlen);
/** Release memory cjose allocated; NULL is fine. */
void	oidc_cjose_free(void *p);

/** Duplicate s into *dst (freeing what *dst held); BK_E_NOMEM. */
int	oidc_strset(char **dst, const char *s);

/* oidc_jws.c: the JWS steps of the chain. */
int	oidc_check_compact(struct oidc_vctx *);
int	oidc_check_header(struct oidc_vctx *);
int	oidc_check_alg(struct oidc_vctx *);
int	oidc_check_header_keys(struct oidc_vctx *);
int	oidc_check_kid(struct oidc_vctx *);
int	oidc_check_signature(struct oidc_vctx *);

/* oidc_claims.c: the claim steps of the chain. */
int	oidc_check_iss(struct oidc_vctx *);
int	oidc_check_sub(struct oidc_vctx *);
int	oidc_check_aud(struct oidc_vctx *);
int	oidc_check_azp(struct oidc_vctx *);
int	oidc_check_exp(struct oidc_vctx *);
int	oidc_check_nbf(struct oidc_vctx *);
int	oidc_check_iat(struct oidc_vctx *);
int	oidc_check_nonce(struct oidc_vctx *);
int	oidc_check_at_hash(struct oidc_vctx *);
int	oidc_check_org(struct oidc_vctx *);
int	oidc_check_identity(struct oidc_vctx *);
int	oidc_check_username(struct oidc_vctx *);

/* oidc_sfdc.c */
/**
 * A user name as Salesforce sends it: 1..OIDC_USERNAME_MAX bytes, no
 * control byte, no leading or trailing space (we never trim: one reading).
 * @return BK_OK or BK_E_OIDC_USERNAME.
 */
int	oidc_username_check(const char *s, size_t len);

/* oidc_jwks.c */
/**
 * The key for kid (NULL: the token names none).
 * @return BK_OK, BK_E_OIDC_KID_UNKNOWN, BK_E_OIDC_KID_MISSING,
 *	BK_E_OIDC_KEY_WEAK.
 */
int	oidc_keyset_find(const struct oidc_keyset *ks, const char *kid,
	    const struct oidc_key **out);

#endif /* BK_OIDC_INT_H */
