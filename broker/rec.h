/*
 * sso-broker: the records the broker keeps in Redis, as C structs behind
 * one strict, versioned parser and writer.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Every record is a JSON object {"v":1, ...} whose fields are listed in
 * one table per kind (rec.c).  rec_read() accepts a record only whole: the
 * version it knows, every field of the kind's table with its type, every
 * required field present, no other field, no duplicate key, strings valid
 * UTF-8 without NUL and within REC_STR_MAX.  Anything else is
 * BK_E_STORE_RECORD and nothing of the struct is set, so a caller treats
 * the record as absent; it is never half-read.  rec_write() is the only
 * writer of these records in C; the one record a Lua script writes (the
 * token, minted in the same step that consumes its code) follows the same
 * table, and rec_read() checks it like any other.
 * Pure: bytes in, a struct out (no I/O), so tests/fuzz/fuzz_rec.c can run
 * it alone.
 * Trust: the bytes come from Redis, outside the trust boundary.
 */
#ifndef BK_REC_H
#define BK_REC_H

#include <stddef.h>
#include <time.h>

/* The record format this broker reads and writes. */
#define REC_VERSION	1
/* Longest string field (a URL, a state, a Salesforce username). */
#define REC_STR_MAX	4096
/*
 * A revocation generation: the user's (decimal digits), then, once the
 * tenant's SSO was switched off, "." and the tenant's (store_sso.h).
 */
#define REC_GEN_MAX	41

enum rec_kind {
	REC_SIGNIN,	/* a sign-in started here: the upstream request */
	REC_SESSION,	/* a browser session after a verified sign-in */
	REC_GRANT,	/* a pending authorization: code or consent tx */
	REC_TOKEN,	/* a panel token */
	REC_TOMB,	/* a redeemed code's tombstone */
	REC_NKINDS
};

/* The request a sign-in started with (authn:<sha256(request ID)>). */
struct rec_signin {
	char	*rid;		/* the upstream request ID */
	char	*bind;		/* digest of the browser's correlation cookie */
	/* the panel's request, when there was one */
	char	*client_id, *redirect_uri, *state, *challenge;
	/* OAuth upstream: digest of the nonce sent, the PKCE verifier */
	char	*nonce, *verifier;
	/* SAML LogoutRequest (rid "slo:<ID>"): whom it signs out */
	char	*user;
	/* "console": an admin signing in to the console, not a panel */
	char	*purpose;
};

/* A browser session (sess:<sha256(cookie)>). */
struct rec_session {
	char	*internal_id, *user, *sfdc_key;
	char	*issuer, *assertion_id;
	time_t	 exp;
	char	 gen[REC_GEN_MAX + 1];
	/* SAML single logout: the NameID as received, its SessionIndex */
	char	*name_id, *nid_format, *nid_nq, *nid_spnq, *session_index;
};

/* A code or a consent transaction (code:, ctx:<sha256(secret)>). */
struct rec_grant {
	char	*tenant, *internal_id, *user, *sfdc_key, *extension;
	char	*client_id, *redirect_uri, *challenge, *state;
	char	*sess;		/* digest of the session cookie (consent) */
	time_t	 sess_exp;
	int	 idp_init;
	char	 gen[REC_GEN_MAX + 1];
};

/* A panel token (tok:<sha256(token)>), written by store_lua_redeem. */
struct rec_token {
	char	*tenant, *client_id, *internal_id, *user, *extension;
	char	*sfdc_key;
	time_t	 iat, exp;
	char	 gen[REC_GEN_MAX + 1];
};

/* What a second use of a code finds (codeused:<sha256(code)>). */
struct rec_tomb {
	char	*tok;		/* digest of the token the code gave */
	char	*internal_id, *user;
};

/**
 * Parse a record of kind k into out (the struct of that kind), strictly.
 * @return BK_OK, or BK_E_STORE_RECORD (out is left zeroed), BK_E_NOMEM.
 *	*why (optional) says what was wrong, for the log.
 */
int	rec_read(enum rec_kind k, const char *p, size_t len, void *out,
	    const char **why);
/**
 * Serialise in (the struct of kind k) as compact JSON, returned-owned
 * (NULL on allocation failure or a required field missing).
 */
char	*rec_write(enum rec_kind k, const void *in);
/** Free the strings of a struct of kind k and zero it. */
void	rec_cleanup(enum rec_kind k, void *rec);
/** The kind's name ("session"), for logs. */
const char *rec_kind_name(enum rec_kind k);
/** 1 if s is a revocation generation: digits[.digits], REC_GEN_MAX at most. */
int	rec_gen_ok(const char *s, size_t len);

#endif /* BK_REC_H */
