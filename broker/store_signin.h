/*
 * sso-broker: the sign-in's store operations, typed.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * One function per operation.  Each owns its keys, its script, its
 * argument order and the parsing of its reply, and hands back C structs
 * (rec.h): no caller builds a key, knows a script or compares a reply.
 * Every operation calls its callback exactly once, at once if the
 * command could not be sent (rv BK_E_STORE_DOWN), and never after the
 * owner of arg is gone (store_set_hold()).  rv is BK_OK or a BK_E_STORE_*
 * code; a stored record that fails rec_read() is treated as absent and
 * logged.
 * Trust: replies and records come from outside the trust boundary.
 */
#ifndef BK_STORE_SIGNIN_H
#define BK_STORE_SIGNIN_H

#include <time.h>

#include "rec.h"

struct store;

/*
 * How the store keeps the caller's object (a request) alive while a reply
 * is awaited: ref when the command goes out, alive before the callback
 * (0: the callback is skipped), unref after it.
 */
struct store_hold {
	void	(*ref)(void *);
	void	(*unref)(void *);
	int	(*alive)(void *);
};
/** Set once per worker, before the first operation. */
void	store_set_hold(const struct store_hold *h);
/**
 * The same through the store map (store_map.c), whose split calls pass
 * their own args: what the front sets.
 */
void	store_map_set_hold(const struct store_hold *h);

typedef void store_done_cb(void *arg, int rv);

/* The profile a Salesforce username maps to. */
struct store_profile {
	char	*internal_id;
	char	*extension;	/* primary extension, or NULL */
};

/** Keep the request a sign-in starts with, for ttl seconds. */
void	store_signin_put(struct store *s, const char *tenant,
	    const struct rec_signin *r, int ttl, store_done_cb *cb, void *arg);

typedef void store_signin_cb(void *arg, int rv, const struct rec_signin *r);
/**
 * Take (read and delete, once) the request a sign-in started with, for an
 * upstream that needs it before the decision (OAuth: the state, before
 * the code exchange).  r is NULL when it is unknown, used, unreadable or
 * not bound to bind (the digest of this browser's correlation cookie).
 */
void	store_signin_take(struct store *s, const char *tenant, const char *rid,
	    const char *bind, store_signin_cb *cb, void *arg);

/* The atomic decision on a verified identity (store_decide). */
struct store_decide_in {
	const char	*tenant;
	/* what makes the upstream's proof unique (issuer + assertion ID) */
	const char	*proof;
	long		 proof_ttl;	/* seconds the proof stays refused */
	const char	*request_id;	/* NULL: unsolicited */
	const char	*bind;		/* digest of the correlation cookie */
	const char	*sfdc_key;	/* normalised Salesforce username */
	const char	*client_id;	/* the panel, for unsolicited ones */
	int		 console;	/* the request was the console's */
};

enum store_decide_verdict {
	STORE_DECIDE_OK,
	STORE_DECIDE_REPLAY,	/* the proof was used before */
	STORE_DECIDE_REQUEST,	/* request unknown, used, another browser's */
	STORE_DECIDE_UNMAPPED,	/* no profile for the username */
	STORE_DECIDE_CONSOLE	/* an admin's console sign-in: no profile */
};

struct store_decision {
	enum store_decide_verdict verdict;
	struct store_profile	 prof;
	int			 has_request;
	struct rec_signin	 request;
	int			 consent;	/* remembered for the client */
	char			 gen[REC_GEN_MAX + 1];
};
typedef void store_decide_cb(void *arg, int rv,
    const struct store_decision *d);
/**
 * Replay, the sign-in request bound to this browser and consumed once,
 * the username -> profile lookup and the user's revocation generation, in
 * one step; nothing is written unless all pass.
 */
void	store_decide(struct store *s, const struct store_decide_in *in,
	    store_decide_cb *cb, void *arg);

/* A browser session asked to authorize a panel. */
struct store_session_found {
	/* 0: none, expired, revoked or remapped */
	int			 found;
	struct rec_session	 sess;
	struct store_profile	 prof;
	int			 consent;
	char			 gen[REC_GEN_MAX + 1];
};
typedef void store_session_cb(void *arg, int rv,
    const struct store_session_found *f);
void	store_session_authz(struct store *s, const char *tenant,
	    const char *cookie, const char *client_id, store_session_cb *cb,
	    void *arg);

enum store_grant_kind { STORE_GRANT_NONE, STORE_GRANT_CODE,
	STORE_GRANT_CONSENT };

/* What a sign-in issues, all in one step (store_issue). */
struct store_issue_in {
	const char		*tenant;
	const char		*internal_id;
	const char		*gen;	/* generation read by the flow */
	/* a new browser session: cookie value and record, or NULL */
	const char		*session;
	const struct rec_session *sess;
	long			 sess_ttl;
	/* a code or a consent transaction: secret and record */
	enum store_grant_kind	 grant;
	const char		*grant_secret;
	const struct rec_grant	*grant_rec;
	long			 grant_ttl;
	/* "Allow" remembered for this client, or NULL */
	const char		*remember_client;
	long			 remember_ttl;
};
/** rv BK_OK, or BK_E_OAUTH_REVOKED (the user was revoked: nothing written). */
void	store_issue(struct store *s, const struct store_issue_in *in,
	    store_done_cb *cb, void *arg);

typedef void store_grant_cb(void *arg, int rv, const struct rec_grant *g);
/** A consent transaction (g NULL: unknown); take consumes it. */
void	store_consent_get(struct store *s, const char *tenant, const char *tx,
	    int take, store_grant_cb *cb, void *arg);

/* Redeeming a code (store_code_redeem). */
struct store_redeem_in {
	const char	*tenant;
	const char	*code;
	const char	*client_id;
	const char	*redirect_uri;
	const char	*challenge;	/* S256 of the verifier */
	const char	*token;		/* the token to mint */
	long		 now;
	long		 session_ttl;
	long		 code_ttl;
};

enum store_redeem_verdict {
	STORE_REDEEM_OK,
	STORE_REDEEM_UNKNOWN,	/* unknown, expired */
	STORE_REDEEM_REUSED,	/* used before: its token is revoked */
	STORE_REDEEM_MISMATCH,	/* client, redirect_uri or verifier */
	STORE_REDEEM_REVOKED,	/* the user was revoked since */
	STORE_REDEEM_GONE,	/* the user no longer maps to the profile */
	STORE_REDEEM_EXPIRED,	/* the session has no time left */
	STORE_REDEEM_BAD,	/* the code's record was unreadable */
	STORE_REDEEM_BADTYPE	/* a key of the wrong type: nothing written */
};

struct store_redeemed {
	enum store_redeem_verdict verdict;
	const char		*why;	/* MISMATCH: what did not match */
	int			 token_revoked;	/* REUSED */
	/* OK: the token; else the user fields found, for the audit */
	struct rec_token	 tok;
	long			 ttl;
};
typedef void store_redeem_cb(void *arg, int rv,
    const struct store_redeemed *r);
void	store_code_redeem(struct store *s, const struct store_redeem_in *in,
	    store_redeem_cb *cb, void *arg);

typedef void store_token_cb(void *arg, int rv, const struct rec_token *t);
/** A token's record (t NULL: unknown or unreadable). */
void	store_token_get(struct store *s, const char *tenant,
	    const char *token, store_token_cb *cb, void *arg);

enum store_revoke_result { STORE_REVOKE_UNKNOWN, STORE_REVOKE_DONE,
	STORE_REVOKE_OTHER_CLIENT };
typedef void store_revoke_cb(void *arg, int rv, enum store_revoke_result r);
/** RFC 7009: revoke a token of client_id. */
void	store_token_revoke(struct store *s, const char *tenant,
	    const char *token, const char *client_id, store_revoke_cb *cb,
	    void *arg);

/**
 * End browser sessions: n (tenant, cookie) pairs, at most 8, each with
 * the panel tokens minted from it, in one step.
 */
void	store_sessions_end(struct store *s, size_t n,
	    const char *const *tenants, const char *const *cookies,
	    store_done_cb *cb, void *arg);
struct store_map;
/**
 * store_sessions_end() with the tenants on any of m's stores: one call
 * per store; cb gets BK_OK or the first failure (store_map.c).
 */
void	store_map_sessions_end(const struct store_map *m, size_t n,
	    const char *const *tenants, const char *const *cookies,
	    store_done_cb *cb, void *arg);

/* Single logout from the IdP (store_slo_end). */
struct store_slo_in {
	const char	*tenant;
	const char	*name_id;
	const char	*const *session_index;	/* none: every session */
	size_t		 n_si;			/* at most 4 */
	const char	*proof;		/* issuer + LogoutRequest ID */
	long		 proof_ttl;
};
struct store_slo_ended {
	int			 replay;	/* the request was seen */
	size_t			 total;		/* sessions ended */
	size_t			 n;		/* of them, in sess[] */
	struct rec_session	 sess[8];	/* zeroed when unreadable */
	long long		 tokens;	/* panel tokens ended */
};
typedef void store_slo_cb(void *arg, int rv,
    const struct store_slo_ended *e);
/**
 * Remember the LogoutRequest (replay), then end the sessions of the NameID
 * (those of one of the SessionIndex values when given) and their tokens,
 * in one step; another NameID's sessions are never ended.
 */
void	store_slo_end(struct store *s, const struct store_slo_in *in,
	    store_slo_cb *cb, void *arg);

#endif /* BK_STORE_SIGNIN_H */
