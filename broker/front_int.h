/*
 * sso-broker: HTTP front internals, shared by front*.c and flow.c only.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * struct front_req is the per-request state.  Every answer ends in
 * front_req_done() (log, count) [relayd relay_close]; the last
 * front_req_unref() frees it.  Store operations in flight hold a
 * reference (front.c's store_hold), so a client that goes away while
 * Redis answers never leaves a dangling pointer, and no callback runs
 * for a request already answered.
 * Trust: everything in front_req that came from the request is untrusted.
 */
#ifndef BK_FRONT_INT_H
#define BK_FRONT_INT_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <event2/http.h>

#include "admin_cred.h"
#include "audit.h"
#include "bk.h"
#include "conf.h"
#include "front.h"
#include "flow.h"
#include "rec.h"
#include "front_page.h"
#include "metrics.h"
#include "store.h"

/* Limits (front 8: set explicitly, tighter before authentication). */
#define FRONT_MAX_HEADERS	(16 * 1024)
#define FRONT_MAX_BODY_PUBLIC	(1024 * 1024)
#define FRONT_MAX_BODY_ADMIN	(80 * 1024 * 1024)
#define FRONT_TIMEOUT_SEC	30
#define FRONT_MAX_PARAMS	64
#define FRONT_MAX_PARAM_LEN	(512 * 1024)
#define FRONT_STATE_MAX		512	/* OAuth state we echo */
#define FRONT_AUTHN_TTL		900	/* seconds to finish at the IdP */
#define FRONT_CONSENT_TX_TTL	600
#define FRONT_CONSENT_TTL	(365 * 86400)
#define FRONT_COOKIE_SESSION	"ssob_s_"	/* + tenant id */
#define FRONT_COOKIE_CORR	"ssob_rq"
#define FRONT_COOKIE_NAME_MAX \
	(sizeof(FRONT_COOKIE_SESSION) + CONF_TENANT_ID_MAX)

struct front {
	struct event_base	*base;
	const struct conf	*conf;
	struct audit		*audit;
	/*
	 * broker.conf's store (stores[0]): the audit heads, readiness, the
	 * accept gate.  A tenant's data: front_store() / front_req_store().
	 */
	struct store		*store_default;
	/* every store: the default and the tenants' own (store_map.c) */
	struct store_map	*stores;
	struct hout		*hout;		/* the requests' calls out */
	struct hout		*hout_rp;	/* the provider state's own */
	struct rp		*rp;		/* OAuth tenants' providers */
	struct mdr		*mdr;		/* IdP metadata URLs (mdr.h) */
	struct evhttp		*pub, *adm;
	struct front_http	*http;		/* strict layer, listeners */
	struct event		*tick;
	void			*tls_ctx;
	int			 keys_fd;	/* the key holder (keys.h) */
	int			 slot;
	int			 anchor_checked; /* audit head vs Redis */
	int			 inflight;
	int			 draining;
	/* held answers, sync thread, junk counts (front_durable.c) */
	struct front_durable	*dur;
	/* the SSO switch in force, per tenant (front_sso.c) */
	struct front_sso	*sso;
	struct timespec		 last_done;	/* last request's end */
	/* scheme://host[:port] of public_url */
	char			 origin[512];
};

struct front_param {
	char	*name;
	char	*value;
	size_t	 vlen;
};

struct front_params {
	struct front_param	*v;
	size_t			 n;
};

struct front_req;
/* What a sign-in carries between its asynchronous steps (flow.c). */
struct front_flow {
	/* the panel's request */
	char	*client_id, *redirect_uri, *state, *challenge;
	/* user = Salesforce username, sfdc_key its lookup key */
	char	*internal_id, *user, *sfdc_key, *extension;
	/* the upstream's proof: issuer, assertion ID, key, request */
	char	*issuer, *assertion_id, *cert_fp, *request_id;
	/* and what the audit records of it (flow_note()) */
	char	*name_id, *issue_instant, *authn_instant, *session_index;
	char	*sig_alg, *digest_alg, *key_id;
	/* the NameID's Format and qualifiers, for single logout */
	char	*nid_format, *nid_nq, *nid_spnq;
	/* a change's record: JSON object texts, and who made it */
	char	*before, *after;
	const char *credential;
	/* the sign-in opens the admin console (front_console_sso.c) */
	int	 console;
	enum conf_login	 upstream;
	const char	*event;		/* audit event of the upstream */
	int	 replay_rv, request_rv;	/* the upstream's codes */
	/* secrets: freed zeroed */
	char	*tx, *code, *token;
	char	*session;	/* the browser session's cookie */
	char	*corr;		/* a new correlation cookie */
	int	 new_session;	/* session is new: store it, set it */
	time_t	 sess_exp;
	int	 idp_initiated;
	int	 consent_needed;
	int	 allow;
	/* the user's revocation generation when the flow read it */
	char	 gen[REC_GEN_MAX + 1];
	char	*tenant;	/* the tenant's id, for records */
	/* keep_raw_assertions: the Response (borrowed from form), digest */
	const char	*raw_b64;
	char	 raw_sha256[BK_DIGEST_HEX + 1];
	/* a spent step's refusal, answered once the session is known */
	int	 spent_rv;
	char	*spent_detail;
};

struct store_sso_done;
/* The SSO switch changed (front_sso_change()): the answer. */
typedef void front_sso_done_cb(struct front_req *req, int rv,
    const struct store_sso_done *d);

struct front_req {
	struct front		*f;
	/* NULL once the client is gone */
	struct evhttp_request	*ev;
	char			 id[17];
	enum metrics_route	 route;
	struct timespec		 t0;
	int			 refs;
	int			 replied;
	int			 admin;
	int			 want_json;
	int			 status;
	const struct conf_tenant *t;
	char			 addr[64];	/* client, trusted_proxies */
	char			 peer[64];	/* the TCP peer */
	const char		*addr_note;	/* why addr is the peer */
	struct front_params	 q;		/* query string */
	struct front_params	 form;		/* urlencoded body */
	struct front_flow	 fl;
	/* More CSP form-action sources; the Referrer-Policy (no-referrer). */
	char			*form_action;
	const char		*referrer;
	/* A page's own Content-Security-Policy (the console's), or NULL. */
	const char		*csp;
	/*
	 * The console: an application/json answer (the audit reads') is
	 * handed to this instead, once, to be shown as a page.
	 */
	void			(*json_page)(struct front_req *req, int status,
				    const char *body, size_t len);
	/* per-handler state, freed by aux_free */
	void			*aux;
	void			(*aux_free)(void *);
	/* the newest record this request wrote: answered once durable */
	unsigned long long	 audit_seq;
	/* admin listener: the credential that made the request (owned) */
	struct admin_cred	*cred;
	/* a change of the SSO switch under way: who answers (front_sso.c) */
	front_sso_done_cb	*sso_cb;
};

/* front.c */
void	front_req_ref(struct front_req *req);
void	front_req_unref(struct front_req *req);
void	front_public_cb(struct evhttp_request *ev, void *arg);
/** A request on the admin listener. */
struct front_req *front_admin_req_new(struct front *f,
    struct evhttp_request *ev);

/*
 * The store that holds tenant t's data (NULL: the default store): every
 * store operation of a tenant goes through here.  Borrowed, valid while f.
 */
static inline struct store *
front_store(const struct front *f, const struct conf_tenant *t)
{
	return store_map_tenant(f->stores, t);
}
/* The store of the request's tenant (req->t; none: the default). */
#define front_req_store(req)	front_store((req)->f, (req)->t)

/*
 * front_sso.c: the account's SSO switch (issue 10 item 3).  The value in
 * force: the one an admin set, in the tenant's store, as this worker last
 * read it (every FRONT_SSO_POLL_MS); before any read since the worker
 * started, or when none was ever set, the tenant file's starting value.
 * A read that fails keeps the last value known.
 */
#define FRONT_SSO_POLL_MS	500
struct front_sso;
struct store_sso;
/** Worker: the cache and its timer (reads from its first tick).  BK_E_NOMEM. */
int	front_sso_new(struct front *f);
/** After store_map_free() (its callbacks are answered first). */
void	front_sso_free(struct front *f);
/** 1 when SSO is on for t now (borrowed; f's configuration). */
int	front_sso_in_force(const struct front *f, const struct conf_tenant *t);
/** The switch as last read for t (set 0: none read), or NULL. */
const struct store_sso *front_sso_known(const struct front *f,
	    const struct conf_tenant *t);
/** The switch's fields for a tenant's JSON (the admin's tenants, show). */
void	front_sso_json(const struct front *f, const struct conf_tenant *t,
	    void *json_obj);
/** GET and PUT /api/v1/tenants/<t>/sso. */
void	front_sso_get(struct front_req *req);
void	front_sso_put(struct front_req *req);
/*
 * Switch req->t's SSO on or off as req's credential, on record (sso_set)
 * and in force here at once; cb answers (rv BK_OK with d, or
 * BK_E_SSO_STORE: nothing changed).  Not called if the client went away.
 */
void	front_sso_change(struct front_req *req, int on, front_sso_done_cb *cb);
/* The gate of a sign-in step with the switch in force (flow_policy.c). */
#define front_gate(req, t, up, g) \
	flow_policy_gate((t), front_sso_in_force((req)->f, (t)), (up), (g))

/* front_params.c: parsing (no I/O) */
/** Decode one urlencoded component strictly; *out returned-owned. */
int	front_decode(const char *s, size_t len, char **out, size_t *outlen);
int	front_params_parse(const char *s, size_t len, struct front_params *out);
const char *front_param(const struct front_params *p, const char *name);
void	front_params_cleanup(struct front_params *p);
/** Parse the body (application/x-www-form-urlencoded) into req->form. */
int	front_form_parse(struct front_req *req, size_t max);
/** Cookie value by name from the Cookie header, returned-owned, or NULL. */
char	*front_cookie_get(struct front_req *req, const char *name);
/** Add Set-Cookie (HttpOnly; Path=/; Secure unless relaxed) to the reply. */
void	front_cookie_set(struct front_req *req, const char *name,
    const char *value,
	    int max_age, const char *samesite);
void	front_cookie_clear(struct front_req *req, const char *name,
    const char *samesite);
/**
 * Client authentication per RFC 6749 2.3.1 (Basic or body, not both).
 * On BK_OK *t is the client's tenant.  BK_E_OAUTH_INVALID_CLIENT or
 * BK_E_OAUTH_INVALID_REQUEST.
 */
int	front_client_auth(struct front_req *req, const struct conf_tenant **t);
/** Request header, or NULL. */
const char *front_header(struct front_req *req, const char *name);
/** 1 if s is a valid PKCE verifier/challenge (RFC 7636 4.1 unreserved,
    43-128). */
int	front_pkce_ok(const char *s);
/** base64url(SHA-256(verifier)) into out (44 bytes). */
void	front_pkce_s256(const char *verifier, char out[BK_TOKEN_LEN + 1]);
/** url with "?k=v&k2=v2" appended (values URL-encoded); NULL values skipped. */
char	*front_url_add(const char *url, const char *k1, const char *v1,
	    const char *k2, const char *v2, const char *k3, const char *v3);

/* front_util.c: replies */
void	front_reply(struct front_req *req, int status, const char *ctype,
	    const char *body, size_t len);
void	front_reply_json(struct front_req *req, int status, void *json_obj);
/**
 * Streamed reply: front_reply_start() sends the status and headers,
 * front_reply_chunk() moves b's contents out, front_reply_end() finishes
 * the request (as front_reply() does).  Start and chunk answer BK_E_IO
 * once the client is gone.
 */
struct evbuffer;
int	front_reply_start(struct front_req *req, int status, const char *ctype);
int	front_reply_chunk(struct front_req *req, struct evbuffer *b);
void	front_reply_end(struct front_req *req);
/** Admin: audit verify, run in a thread (front_audit.c). */
void	front_audit_verify_job(struct front_req *req);
/**
 * Stream what run(out, arg) writes, in a thread of its own, as a 200
 * answer of ctype (front_audit.c).  Then, on the loop: end(req, arg) and
 * release(arg); the thread calls release(arg) too when run is done, so
 * arg counts two references.  BK_OK, or BK_E_NOMEM (nothing was called).
 */
int	front_audit_pipe_start(struct front_req *req, const char *ctype,
	    void (*run)(FILE *out, void *arg),
	    void (*end)(struct front_req *req, void *arg),
	    void (*release)(void *arg), void *arg);

/** The admin API's error answer: {"error", "message", "request_id"}. */
void	front_admin_error(struct front_req *req, int rv, const char *msg);

/* front_admins.c: named, scoped admin credentials (issue 10 item 1). */
/**
 * Whether credential c (borrowed; NULL: none) may act with role need on
 * tenant t.  An operator may do everything; another role only its own
 * (roles do not include each other) and, with t, only on its tenants;
 * t NULL asks for the role alone (a global route, which then restricts
 * what it shows to c's tenants).  For the console too.  Pure.
 */
int	front_admin_allows(const struct admin_cred *c, enum admin_role need,
	    const struct conf_tenant *t);
/** As front_admin_allows() for a tenant ID (NULL: no tenant: operator). */
int	front_admin_allows_id(const struct admin_cred *c,
	    enum admin_role need, const char *tenant_id);
/**
 * Authenticate req's bearer token: the token file's (at once, no store
 * needed) or a stored credential (looked up in the default store, so
 * next runs in its callback).  On success req->cred and
 * req->fl.credential are set and next(req) runs; else req is answered
 * 401 (missing or wrong token) or 503 (the store is unavailable).
 */
/** req's credential is (a copy of) c; BK_OK or BK_E_NOMEM. */
int	front_admin_cred_set(struct front_req *req, const struct admin_cred *c);
void	front_admin_authenticate(struct front_req *req,
	    void (*next)(struct front_req *req));
/** 403 for req's credential with why ("may not ..."), and its record. */
void	front_admin_forbid(struct front_req *req, const char *why);
/** GET /api/v1/admins: every credential (never a token or digest). */
void	front_admins_list(struct front_req *req);
/** POST /api/v1/admins: {name, role, tenants[]}, answered with the token. */
void	front_admins_add(struct front_req *req);
/** DELETE /api/v1/admins/{name} (name borrowed, copied). */
void	front_admins_revoke(struct front_req *req, const char *name);

/* front_audit_read.c: the admin's reads of the audit. */
struct audit_query;
/** GET /api/v1/audit (export 0) or /api/v1/audit/export (export 1). */
void	front_audit_read(struct front_req *req, int export);
/**
 * Whether req's credential may read the audit: BK_OK, or
 * BK_E_AUDIT_FORBIDDEN.  The one place a role check goes.
 */
int	front_audit_access(struct front_req *req);
/**
 * The audit_read record of a read: what ("query", "export", "verify",
 * "show-assertion"), the filters as "name=value ...", the count (-1: not
 * known) and the outcome.  @return front_audit()'s.
 */
int	front_audit_read_note(struct front_req *req, const char *what,
	    const char *filters, long long count, int rv);
/**
 * The shared copies of a record just written (line, borrowed): the
 * tenant's Redis stream with its indexes and the chain head, and
 * [audit] syslog.  Not waited for.
 */
void	front_audit_share(struct front_req *req, const struct audit_rec *r,
	    const char *line);
/** A query or export of this broker's files, in a thread. */
void	front_audit_files_job(struct front_req *req, int export,
	    const struct audit_query *q, const char *cursor, size_t limit,
	    const char *filters);
void	front_redirect(struct front_req *req, int status, const char *url);
/** An HTML page: title and body_html (already escaped) inside the layout. */
void	front_page(struct front_req *req, int status, const char *title,
	    const char *body_html);
/** Error page or JSON answer for rv (status from bk_err_http). */
void	front_error(struct front_req *req, int rv, const char *detail);
/** RFC 6749 5.2 JSON error. */
void	front_oauth_error(struct front_req *req, int rv,
    const char *description);
/** HTML-escaped copy, returned-owned. */
char	*front_html_esc(const char *s);
/** Log the request's end and count it (called once from reply paths). */
void	front_req_done(struct front_req *req);

/* Audit helper: fills tenant, addr, request id and the flow fields. */
/** BK_OK when the tenant's way in can sign anyone in now, else why not. */
int	front_tenant_ready(struct front *f, const struct conf_tenant *t,
	    time_t now);
int	front_audit(struct front_req *req, const char *event, int rv,
    const char *detail);

/*
 * front_durable.c: a sign-in is answered only once its audit record is on
 * stable storage ([audit] fsync), and refusals of junk are counted.
 */
#define FRONT_JUNK_NONE		0	/* a decision: own record, durable */
#define FRONT_JUNK_OWN		2	/* junk with its own record, not held */
#define FRONT_JUNK_COUNTED	3	/* junk counted: no record now */
/** Worker: the sync thread, the timers.  BK_OK or BK_E_NOMEM. */
int	front_durable_new(struct front *f);
/** Draining: write the counted records now. */
void	front_durable_drain(struct front *f);
/** Answer what is held (after a last sync), write the counts, free. */
void	front_durable_free(struct front *f);
/** How front_audit() treats a record of event with code rv. */
int	front_durable_junk(struct front_req *req, const char *event, int rv);
/** A record of req was written: its answer waits until it is durable. */
void	front_durable_note(struct front_req *req);
/**
 * From front_reply(): 1 when the answer is held (a copy of ctype and body
 * is kept) until req's record is durable, 0 to send it now.
 */
int	front_durable_hold(struct front_req *req, int status, const char *ctype,
	    const char *body, size_t len);

/* front_raw.c: raw assertions (tenant [saml] keep_raw_assertions). */
/** The ACS: keep b64 (borrowed from req->form) for the record. */
void	front_raw_note(struct front_req *req, const char *b64);
/** The raw_sha256 of the record front_audit() writes, or NULL. */
const char *front_raw_digest(struct front_req *req, const char *event,
	    int junk);
/** After the record (line) was written: the Response to <path>.raw. */
int	front_raw_keep(struct front_req *req, const char *line);
/** Admin: GET /api/v1/audit/assertion?id=ID. */
void	front_raw_show(struct front_req *req);

/* Handlers (front_saml.c, front_oauth.c, front_consent.c, front_admin.c). */
void	front_saml_metadata(struct front_req *req);
void	front_saml_login(struct front_req *req);
/** The SAML upstream's start: an AuthnRequest, kept by flow_request(). */
void	front_saml_start(struct front_req *req);
struct saml_redirect;
/**
 * An HTTP-Redirect binding message (saml.h, borrowed) as the URL to send
 * the browser to: when r->sign, r->query is signed (RSA-SHA256) by req's
 * tenant's SP key in the key holder (keys_sign(), on this worker's channel;
 * blocks at most about a second) and Signature appended (Bindings
 * 3.4.4.1).  Every Redirect message the broker signs goes through here.
 * Worker.
 * @param url	returned-owned.
 * @return BK_OK, BK_E_SAML_REQUEST_SIGN (the holder did not sign; logged),
 * BK_E_TOOBIG, BK_E_NOMEM.
 */
int	front_saml_redirect_url(struct front_req *req,
	    const struct saml_redirect *r, char **url);
/*
 * front_console_sso.c: an admin's sign-in to the console through the
 * tenant's upstream.  GET /t/<tenant>/console/login; and the flow's end
 * for a request that opened the console (the role, a one-time code).
 */
void	front_console_login(struct front_req *req);
void	front_console_signin(struct front_req *req);
/* The OAuth upstream (front_oidc.c). */
void	front_oidc_start(struct front_req *req);
void	front_oidc_callback(struct front_req *req);
void	front_saml_acs(struct front_req *req);
void	front_oauth_authorize(struct front_req *req);
void	front_oauth_token(struct front_req *req);
void	front_oauth_introspect(struct front_req *req);
void	front_oauth_revoke(struct front_req *req);
void	front_oauth_wellknown(struct front_req *req);
void	front_logout(struct front_req *req);
/* front_slo.c: SAML single logout (issue 11 item 2) */
void	front_saml_slo(struct front_req *req);
void	front_saml_slo_post(struct front_req *req);
/**
 * /logout found sess of tenant t: 1 (and its NameID kept in req->fl) when
 * t's IdP takes a LogoutRequest for it.
 */
int	front_slo_candidate(struct front_req *req,
	    const struct conf_tenant *t, const struct rec_session *sess);
/**
 * After /logout ended this browser's sessions: send the LogoutRequest for
 * the candidate's session (t, user).  0: nothing sent (?local=1), the
 * caller answers; 1: the request is answered (req->aux replaced).
 */
int	front_slo_logout(struct front_req *req, const struct conf_tenant *t,
	    const char *user, const char *internal_id);
void	front_consent_get(struct front_req *req);
void	front_consent_post(struct front_req *req);
void	front_admin_cb(struct evhttp_request *ev, void *arg);

/* The flow (flow.c) keeps what it carries in req->fl. */
/** *dst = copy of v (or NULL); the old value is freed. */
void	front_set_str(char **dst, const char *v);
void	front_flow_cleanup(struct front_flow *fl);

/*
 * Cookie names (front_util.c): "__Host-" + base + suffix where public_url
 * is https (the prefix makes the browser refuse the cookie unless it is
 * Secure, Path=/ and without Domain, so no sibling host or plain-http
 * answer can plant it), base + suffix on loopback http.
 */
#define FRONT_COOKIE_HOST	"__Host-"
#define FRONT_COOKIE_NAMEBUF \
	(sizeof(FRONT_COOKIE_HOST) + FRONT_COOKIE_NAME_MAX)
/** The name into buf[FRONT_COOKIE_NAMEBUF]; suffix may be NULL. */
void	front_cookie_name(const struct front_req *req, const char *base,
	    const char *suffix, char *buf, size_t size);

#endif /* BK_FRONT_INT_H */
