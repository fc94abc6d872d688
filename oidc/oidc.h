/*
 * sso-broker: OpenID Connect relying party verification (pure).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The twin of saml/: functions that take bytes and the time and return a
 * code.  No HTTP, no store, no processes, no mappings: the daemon fetches
 * the documents and hands them in.  JWS and JWK handling is libcjose's,
 * JSON is jansson's, digests and HMAC are OpenSSL's; no third-party type
 * appears in this header.  Salesforce specifics (its identity URL, 15 and
 * 18 character IDs, the token response's `signature`) live here too.
 * Trust: every document and token handed to these functions is untrusted;
 * what they report comes from a verified token or a checked document.
 */
#ifndef BK_OIDC_H
#define BK_OIDC_H

#include <stddef.h>
#include <time.h>

/* Size caps on what the provider sends (bytes). */
#define OIDC_DISCOVERY_MAX	(64 * 1024)
#define OIDC_JWKS_MAX		(64 * 1024)
#define OIDC_IDTOKEN_MAX	(16 * 1024)
#define OIDC_TOKENRESP_MAX	(32 * 1024)
#define OIDC_USERINFO_MAX	(64 * 1024)
/* Most keys kept from one JWKS; RSA modulus bounds (bits). */
#define OIDC_JWKS_MAX_KEYS	16
#define OIDC_RSA_MIN_BITS	2048
#define OIDC_RSA_MAX_BITS	8192
#define OIDC_KID_MAX		128
#define OIDC_URL_MAX		2048
#define OIDC_USERNAME_MAX	256
/* A Salesforce ID in its 15-character, case-sensitive form. */
#define OIDC_SFID_LEN		15
/* Default oldest iat accepted, seconds before now - skew. */
#define OIDC_IAT_MAX_AGE	600

/** A checked discovery document.  Strings are returned-owned. */
struct oidc_provider {
	char	*issuer;
	char	*authorization_endpoint;
	char	*token_endpoint;
	char	*jwks_uri;
	char	*userinfo_endpoint;
};

/** The RSA signing keys of one JWKS, by kid (opaque, immutable once built). */
struct oidc_keyset;

/** A Salesforce identity URL https://<host>/id/<orgId>/<userId>. */
struct oidc_identity {
	char	org_id[OIDC_SFID_LEN + 1];	/* canonical 15-char form */
	char	user_id[OIDC_SFID_LEN + 1];	/* canonical 15-char form */
};

/** What one sign-in expects of its ID token (all borrowed). */
struct oidc_expect {
	const char *issuer;		/* exact string, as configured */
	const char *client_id;
	const char *org_id;		/* 15 or 18 characters */
	const char *nonce;		/* the one sent with this sign-in, or */
	const char *nonce_digest;	/* its SHA-256, hex (then nonce NULL) */
	/* the token response's access_token: at_hash is checked against it */
	const char *access_token;
	/* the token response's `id`: must name the sub's org and user */
	const char *identity_url;
	int	    clock_skew;		/* seconds */
	int	    iat_max_age;	/* seconds; 0 means OIDC_IAT_MAX_AGE */
};

/**
 * What a verified ID token says, for the flow and the audit.  Strings are
 * returned-owned.  On failure the fields that were read are kept for the
 * audit record (kid and alg from the unverified header; once the
 * signature verified, iss, sub and iat as signed), never trusted.
 */
struct oidc_result {
	char	*issuer;
	char	*sub;
	char	*kid;
	char	*username;	/* preferred_username, when the token has it */
	char	 alg[16];
	char	 org_id[OIDC_SFID_LEN + 1];
	char	 user_id[OIDC_SFID_LEN + 1];
	time_t	 exp;
	time_t	 iat;
	time_t	 auth_time;	/* 0 when the token has none */
};

/** A token endpoint answer.  Strings are returned-owned; tokens are secret. */
struct oidc_token_response {
	char	*access_token;
	char	*id_token;
	char	*id;			/* the identity URL */
	char	*issued_at;	/* milliseconds since the epoch, digits */
	char	*signature;		/* base64 HMAC-SHA256 */
	char	*token_type;
};

/**
 * Check that url is an absolute https URL with a host, no user info and
 * no fragment, of printable ASCII and at most OIDC_URL_MAX bytes.
 * @return BK_OK or BK_E_OIDC_ENDPOINT.
 */
int	oidc_url_https_check(const char *url);

/**
 * Parse an OpenID provider configuration document.
 * @param json, len	borrowed, untrusted (capped at OIDC_DISCOVERY_MAX).
 * @param issuer	borrowed: the configured issuer; the document's must be
 *			the same string.
 * @param out		cleared on entry, filled on BK_OK; release with
 *			oidc_provider_cleanup().
 * @param detail	returned-owned one-line reason (NULL on success).
 * @return BK_OK, BK_E_OIDC_TOOBIG, BK_E_OIDC_JSON, BK_E_OIDC_DISCOVERY,
 *	BK_E_OIDC_DISCOVERY_ISSUER, BK_E_OIDC_ENDPOINT, BK_E_NOMEM.
 */
int	oidc_discovery_parse(const char *json, size_t len, const char *issuer,
	    struct oidc_provider *out, char **detail);
void	oidc_provider_cleanup(struct oidc_provider *p);

/**
 * Parse a JWKS into its RSA signature keys.  Keys that are not RSA, are
 * for encryption, or name another alg are skipped; an RSA key under
 * OIDC_RSA_MIN_BITS is kept by kid only, so a token naming it fails with
 * BK_E_OIDC_KEY_WEAK.  Two usable keys with one kid make the set invalid.
 * @param out	returned-owned, free with oidc_keyset_free().
 * @return BK_OK, BK_E_OIDC_TOOBIG, BK_E_OIDC_JSON, BK_E_OIDC_JWKS,
 *	BK_E_OIDC_JWKS_EMPTY, BK_E_NOMEM.
 */
int	oidc_jwks_parse(const char *json, size_t len, struct oidc_keyset **out,
	    char **detail);
void	oidc_keyset_free(struct oidc_keyset *ks);
/** Number of usable keys in ks. */
size_t	oidc_keyset_count(const struct oidc_keyset *ks);
/**
 * Whether ks has a usable key named kid.
 * @return BK_OK, BK_E_OIDC_KID_UNKNOWN, BK_E_OIDC_KEY_WEAK.
 */
int	oidc_keyset_lookup(const struct oidc_keyset *ks, const char *kid);

/**
 * Verify an ID token: compact JWS, RS256 only, no key named by the token,
 * the key from ks by kid, then the ordered claim checks documented in
 * oidc_verify.c.  The first failure's code is returned.
 * @param tok, len	borrowed, untrusted (capped at OIDC_IDTOKEN_MAX).
 * @param now		the current time.
 * @param out		cleared on entry; release with oidc_result_cleanup().
 * @param detail	returned-owned one-line reason (NULL on success);
 *			never quotes the token.
 * @return BK_OK or a BK_E_OIDC_* code (BK_E_OIDC_KID_UNKNOWN lets the
 *	caller refetch the JWKS, rate-limited), BK_E_NOMEM.
 */
int	oidc_idtoken_verify(const struct oidc_keyset *ks,
	    const struct oidc_expect *e, const char *tok, size_t len,
	    time_t now, struct oidc_result *out, char **detail);
void	oidc_result_cleanup(struct oidc_result *r);

/**
 * Parse a token endpoint answer (JSON).  access_token, id_token, id,
 * issued_at and signature are required and token_type must be Bearer;
 * a refresh_token is ignored and never copied.  An `error` answer is
 * BK_E_OIDC_TOKEN_RESPONSE with the error code in the detail.
 * @param out	cleared on entry; release with oidc_token_response_cleanup()
 *		(which zeroes the tokens).
 * @return BK_OK, BK_E_OIDC_TOOBIG, BK_E_OIDC_JSON,
 *	BK_E_OIDC_TOKEN_RESPONSE, BK_E_NOMEM.
 */
int	oidc_token_response_parse(const char *json, size_t len,
	    struct oidc_token_response *out, char **detail);
void	oidc_token_response_cleanup(struct oidc_token_response *tr);

/**
 * Salesforce's token response signature: base64 of HMAC-SHA256 over
 * id followed by issued_at, keyed with the client secret; compared in
 * constant time.
 * @param secret, slen	borrowed client secret.
 * @return BK_OK or BK_E_OIDC_TOKEN_SIGNATURE.
 */
int	oidc_token_signature_verify(const struct oidc_token_response *tr,
	    const char *secret, size_t slen);

/**
 * Parse a Salesforce identity URL https://<host>/id/<orgId>/<userId>.
 * @return BK_OK or BK_E_OIDC_IDENTITY.
 */
int	oidc_identity_parse(const char *url, struct oidc_identity *out);

/**
 * A Salesforce ID of 15 characters (case-sensitive) or 18 (the 15 plus a
 * 3-character case checksum, which must match) to its 15-character form.
 * @return BK_OK or BK_E_INVAL.
 */
int	oidc_sfid_parse(const char *id, char out[OIDC_SFID_LEN + 1]);

/**
 * Read the user name from a UserInfo answer (preferred_username) or an
 * identity URL answer (username).  Its `sub` (UserInfo) or `id` (identity
 * answer) must be the ID token's sub.
 * @param sub		borrowed: the verified ID token's sub.
 * @param username	returned-owned on BK_OK.
 * @return BK_OK, BK_E_OIDC_TOOBIG, BK_E_OIDC_JSON, BK_E_OIDC_USERINFO,
 *	BK_E_OIDC_USERINFO_SUB, BK_E_OIDC_USERNAME, BK_E_NOMEM.
 */
int	oidc_userinfo_parse(const char *json, size_t len, const char *sub,
	    char **username, char **detail);

/**
 * The PKCE S256 code_challenge of a verifier: base64url(SHA-256) without
 * padding, into out (43 characters and a NUL).
 */
void	oidc_pkce_s256(const char *verifier, char out[44]);

#endif /* BK_OIDC_H */
