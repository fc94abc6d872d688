/*
 * sso-broker: the web console on the admin listener: sign-in, the users
 * of an account (search, paging, edit, delete), the CSV template and the
 * account's single sign-on switch.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Server-rendered HTML, no script, no external asset: one same-origin
 * style sheet (/console/style.css) under the strict CSP console_csp.
 * The session is a 256-bit random cookie (HttpOnly; Secure;
 * SameSite=Strict) whose digest keys a short record in the default store
 * (store_console.h) that ends after FRONT_CONSOLE_IDLE seconds without
 * use and FRONT_CONSOLE_MAX_AGE at most.  Every POST carries the
 * session's CSRF token, compared in constant time before anything else
 * is read; the sign-in form is bound the same way to a pre-session
 * cookie.  Every route checks the session's role and tenant
 * (console_may()).  Changes go through the same policy/ checks and store
 * operations as the admin API (PUT/DELETE users/{id}) and are recorded
 * in the audit under the console credential's name.
 * Trust: paths, queries, forms and cookies are untrusted; stored profiles
 * are shown escaped.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "front_console.h"
#include "front_int.h"
#include "front_multipart.h"
#include "log.h"
#include "pol.h"
#include "store_admin.h"
#include "store_console.h"
#include "store_snap.h"
#include "store_sso.h"
#include "store_cgrant.h"

#define CONSOLE_COOKIE		"ssob_console"
#define CONSOLE_COOKIE_PRE	"ssob_console_pre"
#define CONSOLE_ROWS		50		/* profiles per page */
#define CONSOLE_FORM_MAX	(64 * 1024)	/* a form's body */
#define CONSOLE_SIGNIN_MAX	4096		/* the sign-in form, pre-auth */
#define CONSOLE_Q_MAX		256		/* a search */
#define CONSOLE_REC_MAX		512		/* a session record */
/* an upload: the API's CSV bound and the form around it */
#define CONSOLE_UPLOAD_MAX	(POL_CSV_MAX + 64 * 1024)
#define CONSOLE_PREVIEW_TTL	900		/* seconds to submit */
#define CONSOLE_PREVIEW_LIST	1000		/* rows listed per kind */
#define CONSOLE_PREVIEW_HDR	256		/* the preview's first line */

static const char console_csp[] = "default-src 'none'; style-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

static const char console_css[] =
    "body{font-family:system-ui,sans-serif;background:#f4f6f9;"
    "color:#1b2430;margin:0}"
    "header{background:#0b5cab;color:#fff;padding:.6rem 1.5rem;"
    "display:flex;gap:1rem;align-items:center}"
    "header a{color:#fff}header form{margin-left:auto}"
    "main{background:#fff;margin:1.5rem;padding:1.5rem 2rem;"
    "border-radius:8px;box-shadow:0 2px 12px rgba(0,0,0,.08)}"
    "h1{font-size:1.35rem;margin-top:0}"
    "table{border-collapse:collapse;width:100%;font-size:.9rem}"
    "th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #dde}"
    "label{display:block;margin:.4rem 0}"
    "input[type=text],input[type=password],input[type=search]"
    "{font-size:1rem;padding:.3rem;width:22rem;max-width:100%}"
    "button{font-size:1rem;padding:.4rem 1.1rem;border-radius:6px;"
    "border:1px solid #0b5cab;background:#0b5cab;color:#fff}"
    "button.danger{background:#b00020;border-color:#b00020}"
    ".error{color:#b00020;font-weight:600}.meta{color:#5b6675;"
    "font-size:.85rem}\n";

enum console_what { CON_USERS = 2, CON_SSO, CON_AUDIT };
enum console_op { CON_EDIT_GET = 2, CON_EDIT_POST, CON_DEL_GET, CON_DEL_POST };

/* A console request's state. */
struct console_ctx {
	char			*sid;		/* the cookie: secret */
	int			 signed_in;
	int			 via_sfdc;	/* the Salesforce way in */
	struct front_console_who who;
	char			 csrf[BK_TOKEN_LEN + 1];
	time_t			 created;
	char			 cred[160];	/* the records' credential */
	char			*path;
	int			 method;
	char			*user_id;	/* decoded path segment */
	enum console_op		 op;
	struct store_user	 old;
	int			 sso_on;	/* the switch asked for */
	/* an import: the file, the plan, what it was computed from */
	char			*csv;
	size_t			 csv_len;
	int			 allow_new;
	/* the plan holds dropped-zero changes; the admin confirmed them */
	int			 zero, zero_confirmed;
	struct pol_plan		*plan;
	char			 ver[STORE_MAPPING_VER_MAX + 1];
	char			 preview[BK_TOKEN_LEN + 1];
	size_t			 rec_row, rec_up;	/* records written */
};

static void
console_ctx_free(void *p)
{
	struct console_ctx *a = p;

	if (a == NULL)
		return;
	bk_strfree_secret(a->sid);
	explicit_bzero(a->csrf, sizeof(a->csrf));
	free(a->path);
	free(a->user_id);
	store_user_cleanup(&a->old);
	free(a->csv);
	pol_plan_free(a->plan);
	free(a);
}

/* --- rendering --- */

/* Append s, HTML-escaped. */
static int
console_esc(struct bk_buf *b, const char *s)
{
	char	*e = front_html_esc(s);
	int	 rv;

	if (e == NULL)
		return BK_E_NOMEM;
	rv = bk_buf_adds(b, e);
	free(e);
	return rv;
}

/* Append s URL-encoded (a path segment or query value), then escaped. */
static int
console_urlesc(struct bk_buf *b, const char *s)
{
	char	*u = evhttp_uriencode(s ? s : "", -1, 0);
	int	 rv;

	if (u == NULL)
		return BK_E_NOMEM;
	rv = console_esc(b, u);
	free(u);
	return rv;
}

/* The hidden CSRF field of every form of a session. */
static int
console_csrf_field(struct bk_buf *b, const struct console_ctx *a)
{
	return bk_buf_addf(b, "<input type=\"hidden\" name=\"csrf\" "
	    "value=\"%s\">", a->csrf);
}

/* The layout around body (HTML already), with the session's header. */
static void
console_page(struct front_req *req, int status, const char *title,
    const struct bk_buf *body)
{
	struct console_ctx	*a = req->aux;
	struct bk_buf		 b;
	int			 rv;

	bk_buf_init(&b, 16 * 1024 * 1024);
	rv = bk_buf_adds(&b, "<!doctype html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\"><title>");
	if (rv == BK_OK)
		rv = console_esc(&b, title);
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, " - sso-broker console</title>"
		    "<link rel=\"stylesheet\" href=\"/console/style.css\">"
		    "</head><body><header><a href=\"/console/\">sso-broker "
		    "console</a>");
	if (rv == BK_OK && a != NULL && a->signed_in) {
		rv = bk_buf_adds(&b, "<span>Signed in as ");
		if (rv == BK_OK)
			rv = console_esc(&b, a->who.name);
		if (rv == BK_OK)
			rv = bk_buf_addf(&b, " (%s)</span><form "
			    "method=\"post\" action=\"/console/signout\">",
			    a->who.role);
		if (rv == BK_OK)
			rv = console_csrf_field(&b, a);
		if (rv == BK_OK)
			rv = bk_buf_adds(&b, "<button type=\"submit\">Sign out"
			    "</button></form>");
	}
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, "</header><main><h1>");
	if (rv == BK_OK)
		rv = console_esc(&b, title);
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, "</h1>");
	if (rv == BK_OK && body != NULL && body->len > 0)
		rv = bk_buf_add(&b, body->data, body->len);
	if (rv == BK_OK)
		rv = bk_buf_addf(&b, "<p class=\"meta\">Request ID: <code>%s"
		    "</code></p></main></body></html>\n", req->id);
	if (rv != BK_OK)
		front_reply(req, 500, "text/plain", "internal error\n", 15);
	else
		front_reply(req, status, "text/html; charset=utf-8", b.data,
		    b.len);
	bk_buf_free(&b);
}

/* A page that says what went wrong (rv's message, or msg) and its code. */
static void
console_fail(struct front_req *req, int rv, const char *msg)
{
	struct bk_buf	 b;
	int		 status;

	if (rv == BK_E_STORE_REPLY || rv == BK_E_STORE_TIMEOUT)
		rv = BK_E_STORE_DOWN;
	status = bk_err_http(rv);
	if (status < 400)
		status = 500;
	bk_buf_init(&b, 64 * 1024);
	if (bk_buf_adds(&b, "<p class=\"error\">") == BK_OK &&
	    console_esc(&b, msg != NULL ? msg : bk_strerror(rv)) == BK_OK)
		(void)bk_buf_addf(&b, "</p><p class=\"meta\">Reason: <code>%s"
		    "</code></p><p><a href=\"/console/\">Back to the console"
		    "</a></p>", bk_err_slug(rv));
	console_page(req, status, status == 403 ? "Forbidden" :
	    status == 404 ? "Not found" : status == 401 ? "Sign in" :
	    status == 501 ? "Not available yet" :
	    status >= 500 ? "Service unavailable" : "Not done", &b);
	bk_buf_free(&b);
}

static void
console_css_get(struct front_req *req)
{
	front_reply(req, 200, "text/css; charset=utf-8", console_css,
	    sizeof(console_css) - 1);
}

/* --- the session --- */

/* "v1 role tenant created csrf name": the record the store keeps. */
static int
console_rec_build(const struct console_ctx *a, char *out, size_t size)
{
	int	 n = snprintf(out, size, "v1 %s %s %lld %s %s", a->who.role,
	    a->who.tenant, (long long)a->created, a->csrf, a->who.name);

	return n > 0 && (size_t)n < size ? BK_OK : BK_E_TOOBIG;
}

static int
console_role_ok(const char *r)
{
	return strcmp(r, "operator") == 0 || strcmp(r, "admin") == 0 ||
	    strcmp(r, "auditor") == 0 || strcmp(r, "admin+auditor") == 0;
}

/* The record as stored, strictly: BK_OK and a's session, or BK_E_INVAL. */
static int
console_rec_parse(struct console_ctx *a, const char *s, size_t len)
{
	char		 buf[CONSOLE_REC_MAX + 1], *f[6], *save = NULL, *p;
	long long	 created;
	char		*end;
	size_t		 n = 0;

	if (len == 0 || len > CONSOLE_REC_MAX || memchr(s, '\0', len) != NULL)
		return BK_E_INVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (p = strtok_r(buf, " ", &save); p != NULL && n < 6;
	    p = strtok_r(NULL, " ", &save))
		f[n++] = p;
	if (n != 6 || p != NULL || strcmp(f[0], "v1") != 0 ||
	    !console_role_ok(f[1]) || strlen(f[2]) > CONF_TENANT_ID_MAX ||
	    strlen(f[4]) != BK_TOKEN_LEN || strlen(f[5]) >= sizeof(a->who.name))
		return BK_E_INVAL;
	created = strtoll(f[3], &end, 10);
	if (*end != '\0' || created <= 0)
		return BK_E_INVAL;
	snprintf(a->who.role, sizeof(a->who.role), "%s", f[1]);
	snprintf(a->who.tenant, sizeof(a->who.tenant), "%s", f[2]);
	snprintf(a->who.name, sizeof(a->who.name), "%s", f[5]);
	memcpy(a->csrf, f[4], BK_TOKEN_LEN + 1);
	a->created = (time_t)created;
	return BK_OK;
}

static void
console_cookie_name(const struct front_req *req, const char *base, char *buf,
    size_t size)
{
	/* __Host- where the admin listener is https (tls_cert). */
	snprintf(buf, size, "%s%s", req->f->conf->tls_cert != NULL ?
	    FRONT_COOKIE_HOST : "", base);
}

/* The request's cookie base (returned-owned), or NULL. */
static char *
console_cookie(struct front_req *req, const char *base)
{
	char	 name[64];

	console_cookie_name(req, base, name, sizeof(name));
	return front_cookie_get(req, name);
}

static void
console_cookie_put(struct front_req *req, const char *base, const char *v,
    int max_age)
{
	char	 name[64];

	console_cookie_name(req, base, name, sizeof(name));
	front_cookie_set(req, name, v, max_age, "Strict");
}

/* The form's csrf field against want, in constant time. */
static int
console_csrf_check(struct front_req *req, const char *want)
{
	const char	*got = front_param(&req->form, "csrf");

	if (got == NULL || want == NULL || want[0] == '\0' ||
	    !bk_ct_eq(got, strlen(got), want, strlen(want)))
		return BK_E_CONSOLE_CSRF;
	return BK_OK;
}

static void
console_credential_name(struct console_ctx *a)
{
	snprintf(a->cred, sizeof(a->cred), "console:%s", a->who.name);
}

/* --- sign-in, sign-out --- */

int
front_console_credential_check(struct front_req *req, const char *token,
    struct front_console_who *who)
{
	char	 d[BK_DIGEST_HEX + 1];

	memset(who, 0, sizeof(*who));
	if (token == NULL || token[0] == '\0')
		return BK_E_CONSOLE_SIGNIN;
	bk_sha256_hex(token, strlen(token), d);
	if (!bk_ct_eq(d, BK_DIGEST_HEX, req->f->conf->admin_token_digest,
	    BK_DIGEST_HEX))
		return BK_E_CONSOLE_SIGNIN;
	snprintf(who->role, sizeof(who->role), "operator");
	snprintf(who->name, sizeof(who->name), "%s", ADMIN_CRED_OPERATOR);
	snprintf(who->tenant, sizeof(who->tenant), "*");
	return BK_OK;
}

/*
 * "Sign in with Salesforce" for each account that names console users:
 * the tenant's own way in, on the public listener.
 */
static int
console_sfdc_links(struct front_req *req, struct bk_buf *b)
{
	const struct conf	*c = req->f->conf;
	const struct conf_tenant *t;
	size_t			 i;
	int			 rv = BK_OK, n = 0;

	for (i = 0; rv == BK_OK && i < c->n_tenants; i++) {
		t = c->tenants[i];
		if (t->n_console_admins + t->n_console_auditors == 0)
			continue;
		if (n++ == 0)
			rv = bk_buf_adds(b, "<p>Account admins and auditors: "
			    "sign in with your Salesforce account.</p><ul>");
		if (rv == BK_OK)
			rv = bk_buf_adds(b, "<li><a class=\"sfdc\" href=\"");
		if (rv == BK_OK)
			rv = console_esc(b, c->public_url);
		if (rv == BK_OK)
			rv = bk_buf_adds(b, "/t/");
		if (rv == BK_OK)
			rv = console_urlesc(b, t->id);
		if (rv == BK_OK)
			rv = bk_buf_adds(b, "/console/login\">Sign in with "
			    "Salesforce: ");
		if (rv == BK_OK)
			rv = console_esc(b, t->id);
		if (rv == BK_OK)
			rv = bk_buf_adds(b, "</a></li>");
	}
	if (rv == BK_OK && n > 0)
		rv = bk_buf_adds(b, "</ul>");
	return rv;
}

/* The sign-in form, bound to this browser's pre-session cookie. */
static void
console_signin_page(struct front_req *req, int status, const char *err)
{
	struct bk_buf	 b;
	char		*pre = console_cookie(req, CONSOLE_COOKIE_PRE);
	char		 tok[BK_TOKEN_LEN + 1];

	/* A cookie of ours is base64url of BK_TOKEN_LEN; anything else: new. */
	if (pre == NULL || strlen(pre) != BK_TOKEN_LEN ||
	    strspn(pre, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") != BK_TOKEN_LEN) {
		bk_strfree_secret(pre);
		pre = NULL;
		if (bk_token_new(tok) != BK_OK) {
			console_fail(req, BK_E_NOMEM, NULL);
			return;
		}
		console_cookie_put(req, CONSOLE_COOKIE_PRE, tok,
		    FRONT_CONSOLE_IDLE);
	} else
		snprintf(tok, sizeof(tok), "%s", pre);
	bk_buf_init(&b, 64 * 1024);
	if (err != NULL) {
		(void)bk_buf_adds(&b, "<p class=\"error\">");
		(void)console_esc(&b, err);
		(void)bk_buf_adds(&b, "</p>");
	}
	(void)console_sfdc_links(req, &b);
	(void)bk_buf_addf(&b, "<p>Paste your operator token (the one in the "
	    "broker's <code>[admin] token_file</code>).</p>"
	    "<form method=\"post\" action=\"/console/signin\">"
	    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
	    "<label>Token <input type=\"password\" name=\"token\" "
	    "autocomplete=\"off\" required></label>"
	    "<button type=\"submit\">Sign in</button></form>"
	    "<p class=\"meta\">The session ends after %d minutes without use."
	    "</p>", tok, FRONT_CONSOLE_IDLE / 60);
	console_page(req, status, "Sign in", &b);
	bk_buf_free(&b);
	explicit_bzero(tok, sizeof(tok));
	bk_strfree_secret(pre);
}

/*
 * After the Salesforce sign-in the browser arrives from another site's
 * redirect chain, which a SameSite=Strict cookie does not follow: a page
 * with a link (a navigation of this origin) rather than a redirect.
 */
static void
console_sfdc_welcome(struct front_req *req, struct console_ctx *a)
{
	struct bk_buf	 b;
	int		 rv;

	bk_buf_init(&b, 4096);
	rv = bk_buf_adds(&b, "<p id=\"welcome\">Signed in as <strong>");
	if (rv == BK_OK)
		rv = console_esc(&b, a->who.name);
	if (rv == BK_OK)
		rv = bk_buf_addf(&b, "</strong> (%s) for account <strong>",
		    a->who.role);
	if (rv == BK_OK)
		rv = console_esc(&b, a->who.tenant);
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, "</strong>.</p><p><a id=\"open\" "
		    "href=\"/console/\">Open the console</a></p>");
	if (rv != BK_OK)
		console_fail(req, rv, NULL);
	else
		console_page(req, 200, "Signed in", &b);
	bk_buf_free(&b);
}

static void console_signed_in_cb(void *, int);

/* A new session for a->who: kept, then the cookie. */
static void
console_session_open(struct front_req *req, struct console_ctx *a)
{
	char	 rec[CONSOLE_REC_MAX + 1];

	a->created = bk_now();
	console_credential_name(a);
	req->fl.credential = a->cred;
	if (bk_token_new_dup(&a->sid) != BK_OK ||
	    bk_token_new(a->csrf) != BK_OK ||
	    console_rec_build(a, rec, sizeof(rec)) != BK_OK) {
		console_fail(req, BK_E_NOMEM, NULL);
		return;
	}
	store_console_put(req->f->store_default, a->sid, rec,
	    FRONT_CONSOLE_IDLE, console_signed_in_cb, front_admin_hold(req));
	explicit_bzero(rec, sizeof(rec));
}

static void
console_signed_in_cb(void *arg, int rv)
{
	struct front_req	*req = front_admin_held(arg);
	struct console_ctx	*a;

	if (req == NULL)
		return;
	a = req->aux;
	if (rv != BK_OK) {
		front_audit(req, "console_signin", rv, NULL);
		console_fail(req, rv, NULL);
		return;
	}
	console_cookie_put(req, CONSOLE_COOKIE, a->sid, FRONT_CONSOLE_MAX_AGE);
	console_cookie_put(req, CONSOLE_COOKIE_PRE, "", 0);
	front_audit(req, "console_signin", BK_OK, a->who.role);
	if (a->via_sfdc)
		console_sfdc_welcome(req, a);
	else
		front_redirect(req, 303, "/console/");
}

static void
console_signin_post(struct front_req *req, struct console_ctx *a)
{
	char	*pre = console_cookie(req, CONSOLE_COOKIE_PRE);
	int	 rv;

	if ((rv = front_form_parse(req, CONSOLE_SIGNIN_MAX)) != BK_OK) {
		bk_strfree_secret(pre);
		front_audit(req, "console_signin", rv, NULL);
		console_fail(req, rv, NULL);
		return;
	}
	rv = console_csrf_check(req, pre);
	bk_strfree_secret(pre);
	if (rv != BK_OK) {
		front_audit(req, "console_signin", rv, "sign-in form");
		console_fail(req, rv, NULL);
		return;
	}
	if ((rv = front_console_credential_check(req,
	    front_param(&req->form, "token"), &a->who)) != BK_OK) {
		front_audit(req, "console_signin", rv, NULL);
		console_signin_page(req, 401, bk_strerror(rv));
		return;
	}
	console_session_open(req, a);
}

/*
 * GET /console/sso?tenant=T&code=C: the end of an admin's Salesforce
 * sign-in (front_console_sso.c on the public listener).  The grant is
 * taken once; its role and tenant are the session's.
 */
static void
console_sfdc_taken(void *arg, int rv, const struct store_console_grant *g)
{
	struct front_req	*req = front_admin_held(arg);
	struct console_ctx	*a;

	if (req == NULL)
		return;
	a = req->aux;
	if (rv == BK_OK && (strlen(g->user) >= sizeof(a->who.name) ||
	    strlen(g->role) >= sizeof(a->who.role) ||
	    strchr(g->user, ' ') != NULL))
		rv = BK_E_STORE_RECORD;
	if (rv != BK_OK) {
		front_audit(req, "console_signin", rv, "Salesforce sign-in");
		console_fail(req, rv, NULL);
		return;
	}
	snprintf(a->who.role, sizeof(a->who.role), "%s", g->role);
	snprintf(a->who.name, sizeof(a->who.name), "%s", g->user);
	snprintf(a->who.tenant, sizeof(a->who.tenant), "%s", req->t->id);
	front_set_str(&req->fl.user, g->user);
	a->via_sfdc = 1;
	console_session_open(req, a);
}

static void
console_sfdc_redeem(struct front_req *req)
{
	const char	*tid = front_param(&req->q, "tenant");
	const char	*code = front_param(&req->q, "code");

	req->t = tid != NULL ? conf_tenant_lookup(req->f->conf, tid) : NULL;
	if (req->t == NULL || code == NULL || strlen(code) != BK_TOKEN_LEN) {
		front_audit(req, "console_signin", BK_E_CONSOLE_CODE,
		    "Salesforce sign-in");
		console_fail(req, BK_E_CONSOLE_CODE, NULL);
		return;
	}
	store_console_grant_take(front_req_store(req), req->t->id, code,
	    console_sfdc_taken, front_admin_hold(req));
}

static void
console_signed_out_cb(void *arg, int rv)
{
	struct front_req	*req = front_admin_held(arg);

	if (req == NULL)
		return;
	/* The cookie goes either way; the record expires on its own. */
	console_cookie_put(req, CONSOLE_COOKIE, "", 0);
	front_audit(req, "console_signout", rv, NULL);
	front_redirect(req, 303, "/console/signin");
}

static void
console_signout(struct front_req *req, struct console_ctx *a)
{
	store_console_del(req->f->store_default, a->sid, console_signed_out_cb,
	    front_admin_hold(req));
}

/* --- access --- */

/* 1 if the session's role is r, or r is one of its "admin+auditor". */
static int
console_role_has(const struct console_ctx *a, const char *r)
{
	return strcmp(a->who.role, r) == 0 ||
	    strcmp(a->who.role, "admin+auditor") == 0;
}

/* Whether the session may see what of tenant t (operator: everything). */
static int
console_may(const struct console_ctx *a, const struct conf_tenant *t,
    enum console_what what)
{
	if (strcmp(a->who.role, "operator") == 0)
		return BK_OK;
	if (t == NULL || strcmp(a->who.tenant, t->id) != 0)
		return BK_E_CONSOLE_FORBIDDEN;
	if (console_role_has(a, "admin") &&
	    (what == CON_USERS || what == CON_SSO))
		return BK_OK;
	if (console_role_has(a, "auditor") && what == CON_AUDIT)
		return BK_OK;
	return BK_E_CONSOLE_FORBIDDEN;
}

/* A link " <a href=/console/t/<t>/<page>>label</a>" of the home page. */
static int
console_home_link(struct bk_buf *b, const struct conf_tenant *t,
    const char *page, const char *label)
{
	int	 rv = bk_buf_adds(b, " <a href=\"/console/t/");

	if (rv == BK_OK)
		rv = console_urlesc(b, t->id);
	if (rv == BK_OK)
		rv = bk_buf_addf(b, "/%s\">%s</a>", page, label);
	return rv;
}

/* The home page: the accounts this session opens. */
static void
console_home(struct front_req *req, struct console_ctx *a)
{
	const struct conf	*c = req->f->conf;
	struct bk_buf		 b;
	size_t			 i;
	int			 rv = BK_OK;

	bk_buf_init(&b, 1024 * 1024);
	rv = bk_buf_adds(&b, "<table><tr><th>Account</th><th>Single sign-on"
	    "</th><th></th></tr>");
	for (i = 0; i < c->n_tenants && rv == BK_OK; i++) {
		const struct conf_tenant *t = c->tenants[i];

		if (console_may(a, t, CON_USERS) != BK_OK &&
		    console_may(a, t, CON_AUDIT) != BK_OK)
			continue;
		rv = bk_buf_adds(&b, "<tr><td>");
		if (rv == BK_OK)
			rv = console_esc(&b, t->id);
		if (rv == BK_OK)
			rv = bk_buf_addf(&b, "</td><td>%s</td><td>",
			    t->sso_enabled ? "on" : "off");
		if (rv == BK_OK && console_may(a, t, CON_USERS) == BK_OK)
			rv = console_home_link(&b, t, "users", "Users");
		if (rv == BK_OK && console_may(a, t, CON_SSO) == BK_OK)
			rv = console_home_link(&b, t, "sso", "Single sign-on");
		if (rv == BK_OK && console_may(a, t, CON_AUDIT) == BK_OK)
			rv = console_home_link(&b, t, "audit", "Audit");
		if (rv == BK_OK)
			rv = bk_buf_adds(&b, "</td></tr>");
	}
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, "</table>");
	if (rv != BK_OK)
		console_fail(req, rv, NULL);
	else
		console_page(req, 200, "Accounts", &b);
	bk_buf_free(&b);
}

/* --- users --- */

/*
 * The users page works on the worker's copy of a tenant's stored
 * profiles, sorted by internal ID, for CONSOLE_SNAPS tenants.  Every
 * page asks the store what changed since the copy (store_snap.h): as a
 * rule nothing, or the few profiles an edit or an import touched, merged
 * in; the whole mapping only for a first copy, a write the change log
 * does not hold, or a store that lost its data.  Then a page without a
 * search reads its own profiles alone (store_snap_page(), by rank from
 * the sorted ID set) and the copy in the background (console_load());
 * a search waits for the whole read.  A profile is parsed
 * when a page shows it or a search reaches it, and kept parsed; after a
 * page, the rest are parsed in the background, CONSOLE_PARSE_STEP per
 * turn of the event loop, so the next search finds them parsed.
 */
#define CONSOLE_SNAPS		4
#define CONSOLE_SNAP_TRIES	3	/* answers overtaken by others */
#define CONSOLE_PARSE_STEP	250	/* parsed per turn (~2 ms) */

struct console_ent {
	const char	*id;	/* the internal ID (the hash field) */
	const char	*rec;	/* its stored profile, NUL-ended */
	size_t		 len;
	struct pol_user	*u;	/* rec parsed, on first use */
	char		*own;	/* id and rec, when not in buf */
};

struct console_snap {
	char			 tenant[CONF_TENANT_ID_MAX + 1];
	char			 ver[STORE_MAPPING_VER_MAX + 1];
	char			 epoch[STORE_SNAP_EPOCH_MAX + 1];
	struct console_ent	*ents;	/* NULL: a free slot */
	size_t			 n;
	struct store_snap_rec	*recs;	/* the whole read */
	char			*buf;	/* ... that ents point into */
	time_t			 at;	/* last shown */
	size_t			 next;	/* the background parse's */
};
static struct console_snap console_snaps[CONSOLE_SNAPS];
/* A copy a whole read replaced, freed by the next background turn. */
static struct console_snap console_retired;
static struct event	*console_parse_ev;
static struct event_base *console_base;	/* the worker's, from a page */

/* The users page's query: q (search) and page (from 1). */
struct console_search {
	const char	*q;
	size_t		 page;
};

/* Whether u matches q (case-insensitive, in any searched field). */
static int
console_user_match(const struct pol_user *u, const char *q)
{
	static const enum pol_col cols[] = { POL_COL_INTERNAL_ID,
	    POL_COL_USER_NAME, POL_COL_FIRST_NAME, POL_COL_LAST_NAME,
	    POL_COL_EXTENSION, POL_COL_SFDC_ID, POL_COL_EMAIL };
	char	 full[2 * POL_FIELD_MAX + 2];
	size_t	 i;

	if (q == NULL || q[0] == '\0')
		return 1;
	for (i = 0; i < BK_NELEM(cols); i++)
		if (u->f[cols[i]] != NULL && strcasestr(u->f[cols[i]], q))
			return 1;
	/* "First Last" as one name */
	if (strchr(q, ' ') != NULL && u->f[POL_COL_FIRST_NAME] != NULL &&
	    u->f[POL_COL_LAST_NAME] != NULL) {
		snprintf(full, sizeof(full), "%s %s", u->f[POL_COL_FIRST_NAME],
		    u->f[POL_COL_LAST_NAME]);
		return strcasestr(full, q) != NULL;
	}
	return 0;
}

/*
 * A search's words, to pass over profiles that cannot match without
 * parsing them: a field holding q (or "First Last" holding it) holds
 * every space-separated word of q, and a stored profile without a
 * backslash holds its fields' bytes as they are (JSON escapes nothing
 * else that a search can contain).  n 0: no such test (no search, or
 * one with a quote or a backslash).
 */
struct console_words {
	char	 buf[CONSOLE_Q_MAX + 1];	/* q, ASCII lower-cased */
	char	*w[CONSOLE_Q_MAX / 2 + 1];
	size_t	 len[CONSOLE_Q_MAX / 2 + 1];
	size_t	 n;
};

/* The bytes strcasestr() folds (the C locale's): A-Z. */
static void
console_lower(char *dst, const char *src, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)	/* without a branch: the loop vectorizes */
		dst[i] = (char)((unsigned char)src[i] |
		    ((unsigned char)(src[i] - 'A') < 26) << 5);
}

static void
console_words(const char *q, struct console_words *w)
{
	char	*p, *save = NULL;

	w->n = 0;
	if (q == NULL || strpbrk(q, "\"\\") != NULL ||
	    strlen(q) >= sizeof(w->buf))
		return;
	console_lower(w->buf, q, strlen(q) + 1);
	for (p = strtok_r(w->buf, " ", &save); p != NULL &&
	    w->n < BK_NELEM(w->w); p = strtok_r(NULL, " ", &save)) {
		w->len[w->n] = strlen(p);
		w->w[w->n++] = p;
	}
}

/*
 * Whether e's stored bytes may hold a match of the words: each found in
 * the record lower-cased as strcasestr() folds (one pass, then memmem()
 * per word).
 */
#define CONSOLE_LOW_MAX	4096	/* longer records are parsed instead */
static int
console_ent_may(const struct console_ent *e, const struct console_words *w)
{
	char	 low[CONSOLE_LOW_MAX];
	size_t	 i;

	if (w->n == 0 || e->u != NULL || e->len > sizeof(low) ||
	    memchr(e->rec, '\\', e->len) != NULL)
		return 1;
	console_lower(low, e->rec, e->len);
	for (i = 0; i < w->n; i++)
		if (memmem(low, e->len, w->w[i], w->len[i]) == NULL)
			return 0;
	return 1;
}

/*
 * u's fields in one allocation with the struct (freed with one free(),
 * never with pol_user_cleanup()): a copy of 100,000 profiles goes in a
 * few milliseconds instead of a million calls.
 */
static struct pol_user *
console_user_pack(const struct pol_user *u)
{
	struct pol_user	*p;
	size_t		 i, len[POL_COL_COUNT], total = sizeof(*p);
	char		*at;

	for (i = 0; i < POL_COL_COUNT; i++)
		total += (len[i] = u->f[i] != NULL ? strlen(u->f[i]) + 1 : 0);
	if ((p = calloc(1, total)) == NULL)
		return NULL;
	at = (char *)(p + 1);
	for (i = 0; i < POL_COL_COUNT; i++)
		if (u->f[i] != NULL) {
			memcpy(at, u->f[i], len[i]);
			p->f[i] = at;
			at += len[i];
		}
	return p;
}

/* e's profile, parsed once; a record naming another ID is corrupt. */
static int
console_ent_user(struct console_ent *e, const struct pol_user **out)
{
	struct pol_user	 u;
	int		 rv;

	if (e->u == NULL) {
		if ((rv = pol_user_parse(e->rec, e->len, &u)) != BK_OK)
			return rv;
		if (u.f[POL_COL_INTERNAL_ID] == NULL ||
		    strcmp(u.f[POL_COL_INTERNAL_ID], e->id) != 0)
			rv = BK_E_STORE_RECORD;
		else if ((e->u = console_user_pack(&u)) == NULL)
			rv = BK_E_NOMEM;
		pol_user_cleanup(&u);
		if (rv != BK_OK)
			return rv;
	}
	*out = e->u;
	return BK_OK;
}

static void
console_ent_free(struct console_ent *e)
{
	free(e->u);	/* console_user_pack()'s: one block */
	free(e->own);
}

static void
console_snap_clear(struct console_snap *c)
{
	while (c->n > 0)
		console_ent_free(&c->ents[--c->n]);
	free(c->ents);
	free(c->recs);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

/* The worker's copy of tenant's profiles, or NULL. */
static struct console_snap *
console_snap_find(const char *tenant)
{
	size_t	 i;

	for (i = 0; i < CONSOLE_SNAPS; i++)
		if (console_snaps[i].ents != NULL &&
		    strcmp(console_snaps[i].tenant, tenant) == 0)
			return &console_snaps[i];
	return NULL;
}

static int
console_snap_is(const struct console_snap *c, const struct store_snap *m)
{
	return c != NULL && strcmp(c->ver, m->ver) == 0 &&
	    strcmp(c->epoch, m->epoch) == 0;
}

/*
 * A whole read's order, as strcmp() gives it: the 8 bytes of each ID
 * after the prefix every ID shares, as one big-endian number (zeros
 * after the ID's end), sorted by radix, then strcmp() among equal
 * numbers.  100,000 IDs take a few milliseconds instead of the 30-40 of
 * qsort() with strcmp().
 */
struct console_key {
	uint64_t			 k;
	const struct store_snap_rec	*r;
};

static uint64_t
console_key_of(const char *id)
{
	uint64_t	 k = 0;
	size_t		 i;

	for (i = 0; i < 8; i++) {
		k = k << 8 | (unsigned char)*id;
		if (*id != '\0')
			id++;
	}
	return k;
}

static int
console_key_cmp(const void *a, const void *b)
{
	const struct console_key *x = a, *y = b;

	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	return strcmp(x->r->id, y->r->id);
}

/* The length of the prefix all n IDs share. */
static size_t
console_common(const struct store_snap_rec *r, size_t n)
{
	size_t	 i, l, len = n > 0 ? r[0].id_len : 0;

	for (i = 1; i < n && len > 0; i++) {
		for (l = 0; l < len && r[i].id[l] == r[0].id[l]; l++)
			;
		len = l;
	}
	return len;
}

/* Sort k (n of them) by number (LSD radix, a byte a pass), then by ID. */
static void
console_keys_sort(struct console_key *k, size_t n)
{
	struct console_key	*tmp, *src = k, *dst, *t;
	size_t			 cnt[256], i, j, sum, c;
	unsigned int		 sh;

	if (n < 2)
		return;
	if ((tmp = malloc(n * sizeof(*tmp))) == NULL) {
		qsort(k, n, sizeof(*k), console_key_cmp);
		return;
	}
	dst = tmp;
	for (sh = 0; sh < 64; sh += 8) {
		memset(cnt, 0, sizeof(cnt));
		for (i = 0; i < n; i++)
			cnt[(src[i].k >> sh) & 0xff]++;
		if (cnt[(src[0].k >> sh) & 0xff] == n)
			continue;	/* one value of this byte: in order */
		for (i = 0, sum = 0; i < 256; i++) {
			c = cnt[i];
			cnt[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[cnt[(src[i].k >> sh) & 0xff]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != k)
		memcpy(k, src, n * sizeof(*k));
	free(tmp);
	for (i = 0; i < n; i = j) {	/* equal numbers: by the whole ID */
		for (j = i + 1; j < n && k[j].k == k[i].k; j++)
			;
		if (j - i > 1)
			qsort(k + i, j - i, sizeof(*k), console_key_cmp);
	}
}

static int
console_rec_cmp(const void *a, const void *b)
{
	return strcmp(((const struct store_snap_rec *)a)->id,
	    ((const struct store_snap_rec *)b)->id);
}

/* A whole read as tenant's copy (its slot, a free one or the oldest). */
static int
console_snap_whole(const char *tenant, struct store_snap *m,
    struct console_snap **out)
{
	struct console_snap	*c = console_snap_find(tenant);
	struct console_key	*keys;
	size_t			 i, pre;

	if (c == NULL) {		/* a free slot (at 0), or the oldest */
		c = &console_snaps[0];
		for (i = 1; i < CONSOLE_SNAPS; i++)
			if (console_snaps[i].at < c->at)
				c = &console_snaps[i];
	}
	console_snap_clear(&console_retired);
	console_retired = *c;	/* freed after this page has gone out */
	memset(c, 0, sizeof(*c));
	if ((keys = calloc(m->n + 1, sizeof(*keys))) == NULL ||
	    (c->ents = calloc(m->n + 1, sizeof(*c->ents))) == NULL) {
		free(keys);
		return BK_E_NOMEM;
	}
	pre = console_common(m->recs, m->n);
	for (i = 0; i < m->n; i++) {
		keys[i].k = console_key_of(m->recs[i].id + pre);
		keys[i].r = &m->recs[i];
	}
	console_keys_sort(keys, m->n);
	for (i = 0; i < m->n; i++) {
		c->ents[i].id = keys[i].r->id;
		c->ents[i].rec = keys[i].r->rec;
		c->ents[i].len = keys[i].r->len;
	}
	free(keys);
	c->n = m->n;
	c->recs = m->recs;
	c->buf = m->buf;
	m->recs = NULL;
	m->buf = NULL;
	snprintf(c->tenant, sizeof(c->tenant), "%s", tenant);
	snprintf(c->ver, sizeof(c->ver), "%s", m->ver);
	snprintf(c->epoch, sizeof(c->epoch), "%s", m->epoch);
	*out = c;
	return BK_OK;
}

/* A changed profile as an entry of its own. */
static int
console_ent_own(const struct store_snap_rec *r, struct console_ent *e)
{
	memset(e, 0, sizeof(*e));
	if ((e->own = malloc(r->id_len + r->len + 2)) == NULL)
		return BK_E_NOMEM;
	memcpy(e->own, r->id, r->id_len + 1);
	memcpy(e->own + r->id_len + 1, r->rec, r->len + 1);
	e->id = e->own;
	e->rec = e->own + r->id_len + 1;
	e->len = r->len;
	return BK_OK;
}

/*
 * The changes since c's version merged into c, in order: a deleted
 * profile goes, a changed one is replaced, a new one goes in its place.
 * Everything is allocated first, so a failure leaves c as it was.
 */
static int
console_snap_merge(struct console_snap *c, struct store_snap *m)
{
	struct console_ent	*ents, *add;
	size_t			 i = 0, j = 0, k, n = 0, nadd = 0;
	int			 rv = BK_OK, cmp;

	qsort(m->recs, m->n, sizeof(*m->recs), console_rec_cmp);
	ents = calloc(c->n + m->n + 1, sizeof(*ents));
	add = calloc(m->n + 1, sizeof(*add));
	for (k = 0; k < m->n && ents != NULL && add != NULL && rv == BK_OK;
	    k++)
		if (m->recs[k].rec != NULL)
			rv = console_ent_own(&m->recs[k], &add[nadd++]);
	if (ents == NULL || add == NULL || rv != BK_OK) {
		while (nadd > 0)
			console_ent_free(&add[--nadd]);
		free(ents);
		free(add);
		return BK_E_NOMEM;
	}
	k = 0;			/* the next of add */
	while (i < c->n || j < m->n) {
		cmp = i == c->n ? 1 : j == m->n ? -1 :
		    strcmp(c->ents[i].id, m->recs[j].id);
		if (cmp < 0) {
			ents[n++] = c->ents[i++];
			continue;
		}
		if (cmp == 0)
			console_ent_free(&c->ents[i++]);
		if (m->recs[j++].rec != NULL)
			ents[n++] = add[k++];
	}
	free(add);
	free(c->ents);
	c->ents = ents;
	c->n = n;
	snprintf(c->ver, sizeof(c->ver), "%s", m->ver);
	snprintf(c->epoch, sizeof(c->epoch), "%s", m->epoch);
	return BK_OK;
}

/*
 * One turn of the background parse: up to CONSOLE_PARSE_STEP profiles
 * of the copies (one that does not parse is left for the page that
 * shows it to report); again while any copy has more.
 */
static void
console_parse_turn(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval next = { 0, 1000 };
	const struct pol_user	*u;
	struct console_snap	*c;
	size_t			 i, left = CONSOLE_PARSE_STEP;
	int			 more = 0;

	(void)fd;
	(void)what;
	(void)arg;
	console_snap_clear(&console_retired);
	for (i = 0; i < CONSOLE_SNAPS; i++) {
		c = &console_snaps[i];
		for (; c->ents != NULL && c->next < c->n && left > 0; c->next++)
			if (c->ents[c->next].u == NULL) {
				(void)console_ent_user(&c->ents[c->next], &u);
				left--;
			}
		if (c->ents != NULL && c->next < c->n)
			more = 1;
	}
	if (more)
		evtimer_add(console_parse_ev, &next);
}

/* Start the background parse of c (after the page has gone out). */
static void
console_parse_start(struct console_snap *c)
{
	static const struct timeval soon = { 0, 5000 };

	c->next = 0;
	if (console_parse_ev == NULL &&
	    (console_parse_ev = evtimer_new(console_base, console_parse_turn,
	    NULL)) == NULL)
		return;		/* the pages parse what they reach */
	if (!evtimer_pending(console_parse_ev, NULL))
		evtimer_add(console_parse_ev, &soon);
}

/* A link to page p of the search (the path already in b's context). */
static int
console_page_link(struct bk_buf *b, const struct front_req *req,
    const struct console_search *s, size_t p, const char *label)
{
	int	 rv = bk_buf_adds(b, " <a href=\"/console/t/");

	if (rv == BK_OK)
		rv = console_urlesc(b, req->t->id);
	if (rv == BK_OK)
		rv = bk_buf_adds(b, "/users?q=");
	if (rv == BK_OK)
		rv = console_urlesc(b, s->q != NULL ? s->q : "");
	if (rv == BK_OK)
		rv = bk_buf_addf(b, "&amp;page=%zu\">%s</a>", p, label);
	return rv;
}

/* One row of the table, with its edit and delete links. */
static int
console_user_row(struct bk_buf *b, const struct front_req *req,
    const struct pol_user *u)
{
	static const enum pol_col cols[] = { POL_COL_INTERNAL_ID,
	    POL_COL_USER_NAME, POL_COL_FIRST_NAME, POL_COL_LAST_NAME,
	    POL_COL_EMAIL, POL_COL_EXTENSION, POL_COL_SFDC_ID };
	size_t	 i;
	int	 rv = bk_buf_adds(b, "<tr>");

	for (i = 0; i < BK_NELEM(cols) && rv == BK_OK; i++) {
		rv = bk_buf_adds(b, "<td>");
		if (rv == BK_OK)
			rv = console_esc(b, u->f[cols[i]]);
		if (rv == BK_OK)
			rv = bk_buf_adds(b, "</td>");
	}
	for (i = 0; i < 2 && rv == BK_OK; i++) {
		rv = bk_buf_adds(b, "<td><a href=\"/console/t/");
		if (rv == BK_OK)
			rv = console_urlesc(b, req->t->id);
		if (rv == BK_OK)
			rv = bk_buf_adds(b, "/users/");
		if (rv == BK_OK)
			rv = console_urlesc(b, u->f[POL_COL_INTERNAL_ID]);
		if (rv == BK_OK)
			rv = bk_buf_adds(b, i == 0 ? "/edit\">Edit</a></td>" :
			    "/delete\">Delete</a></td>");
	}
	if (rv == BK_OK)
		rv = bk_buf_adds(b, "</tr>");
	return rv;
}

/*
 * The search form and the page of matching profiles: of n entries that
 * are the profiles from rank from on (a copy: from 0, n all of them; a
 * page read without a copy: that page, no search) of total.
 */
static int
console_admins_render(struct front_req *req, struct console_ent *ents,
    size_t n, size_t from, size_t total, const struct console_search *s,
    struct bk_buf *b)
{
	struct console_words	 w;
	const struct pol_user	*u;
	size_t			 i, match = 0, first, pages;
	int			 rv, all = s->q == NULL || s->q[0] == '\0';

	first = (s->page - 1) * CONSOLE_ROWS;
	console_words(s->q, &w);
	rv = bk_buf_adds(b, "<form method=\"get\"><label>Search (name, "
	    "Salesforce username, extension, 8x8 Internal ID) "
	    "<input type=\"search\" name=\"q\" value=\"");
	if (rv == BK_OK)
		rv = console_esc(b, s->q);
	if (rv == BK_OK)
		rv = bk_buf_adds(b, "\"></label><button type=\"submit\">Search"
		    "</button></form><p><a href=\"/console/t/");
	if (rv == BK_OK)
		rv = console_urlesc(b, req->t->id);
	if (rv == BK_OK)
		rv = bk_buf_adds(b, "/users.csv\">Download the CSV template"
		    "</a> | <a href=\"import\">Upload a CSV file</a></p>"
		    "<table><tr><th>8x8 Internal ID</th><th>User Name"
		    "</th><th>First Name</th><th>Last Name</th><th>Email</th>"
		    "<th>Extension</th><th>Salesforce ID</th><th></th><th></th>"
		    "</tr>");
	BK_ASSERT(all || (from == 0 && n == total));
	if (all) {		/* every profile matches: parse the page's */
		match = total;
		i = first >= from ? first - from : n;
	} else
		i = 0;
	for (; i < n && rv == BK_OK; i++) {
		if (all && from + i >= first + CONSOLE_ROWS)
			break;
		if (!all && !console_ent_may(&ents[i], &w))
			continue;
		if ((rv = console_ent_user(&ents[i], &u)) != BK_OK)
			break;
		if (!all && !console_user_match(u, s->q))
			continue;
		if (all || (match >= first && match < first + CONSOLE_ROWS))
			rv = console_user_row(b, req, u);
		if (!all)
			match++;
	}
	pages = match == 0 ? 1 : (match + CONSOLE_ROWS - 1) / CONSOLE_ROWS;
	if (rv == BK_OK)
		rv = bk_buf_addf(b, "</table><p id=\"paging\">%zu of %zu "
		    "profiles match; page %zu of %zu.", match, total, s->page,
		    pages);
	if (rv == BK_OK && s->page > 1)
		rv = console_page_link(b, req, s, s->page - 1, "Previous");
	if (rv == BK_OK && s->page < pages)
		rv = console_page_link(b, req, s, s->page + 1, "Next");
	if (rv == BK_OK)
		rv = bk_buf_adds(b, "</p>");
	return rv;
}

/* The search from the query: q at most CONSOLE_Q_MAX, page a number. */
static int
console_search_parse(struct front_req *req, struct console_search *s)
{
	const char	*p = front_param(&req->q, "page");
	char		*end;
	unsigned long	 v;

	s->q = front_param(&req->q, "q");
	s->page = 1;
	if (s->q != NULL && (strlen(s->q) > CONSOLE_Q_MAX ||
	    !bk_str_is_printable(s->q)))
		return BK_E_HTTP_BADPARAM;
	if (p != NULL && p[0] != '\0') {
		v = strtoul(p, &end, 10);
		if (*end != '\0' || v == 0 || v > 1000000 || p[0] == '-')
			return BK_E_HTTP_BADPARAM;
		s->page = v;
	}
	return BK_OK;
}

/*
 * Render the users page from c (the worker's copy of the profiles) or,
 * c NULL, from m (one page read without a copy).
 */
static void
console_admins_show(struct front_req *req, struct console_snap *c,
    struct store_snap *m)
{
	struct console_search	 s;
	struct console_ent	*ents = NULL;
	struct bk_buf		 b;
	size_t			 i;
	int			 rv = BK_OK;

	(void)console_search_parse(req, &s);	/* checked before the read */
	bk_buf_init(&b, 16 * 1024 * 1024);
	if (c != NULL) {
		c->at = bk_now();
		rv = console_admins_render(req, c->ents, c->n, 0, c->n, &s,
		    &b);
	} else if ((ents = calloc(m->n + 1, sizeof(*ents))) == NULL)
		rv = BK_E_NOMEM;
	else {
		for (i = 0; i < m->n; i++) {
			ents[i].id = m->recs[i].id;
			ents[i].rec = m->recs[i].rec;
			ents[i].len = m->recs[i].len;
		}
		rv = console_admins_render(req, ents, m->n,
		    (s.page - 1) * CONSOLE_ROWS, m->total, &s, &b);
		for (i = 0; i < m->n; i++)
			console_ent_free(&ents[i]);
		free(ents);
	}
	if (rv != BK_OK)
		console_fail(req, rv, NULL);
	else
		console_page(req, 200, "Users", &b);
	bk_buf_free(&b);
}

/*
 * The whole read that gives a tenant its copy after a page read without
 * one: in the background, one at a time per tenant.
 */
static char	console_loading[CONSOLE_SNAPS][CONF_TENANT_ID_MAX + 1];

static void
console_load_got(void *arg, int rv, struct store_snap *m)
{
	char			*tenant = arg;
	struct console_snap	*c = console_snap_find(tenant);
	size_t			 i;

	for (i = 0; i < CONSOLE_SNAPS; i++)
		if (strcmp(console_loading[i], tenant) == 0)
			console_loading[i][0] = '\0';
	if (rv == BK_OK && !console_snap_is(c, m) &&
	    console_snap_whole(tenant, m, &c) == BK_OK)
		console_parse_start(c);
	free(tenant);
}

static void
console_load(struct store *store, const char *id)
{
	char	*tenant;
	size_t	 i, f = CONSOLE_SNAPS;

	for (i = 0; i < CONSOLE_SNAPS; i++) {
		if (strcmp(console_loading[i], id) == 0)
			return;		/* under way */
		if (console_loading[i][0] == '\0')
			f = i;
	}
	if (f == CONSOLE_SNAPS || (tenant = bk_strdup(id)) == NULL)
		return;		/* the next page reads it */
	snprintf(console_loading[f], sizeof(console_loading[f]), "%s",
	    tenant);
	store_snap_full(store, tenant, console_load_got, tenant);
}

/* A users page's question to the store: since which copy, how often,
   for which page (from 1) and whether with a search. */
struct console_ask {
	void	*req;			/* held */
	char	 ver[STORE_MAPPING_VER_MAX + 1];
	char	 epoch[STORE_SNAP_EPOCH_MAX + 1];
	int	 tries;
	size_t	 page;
	int	 search;
};

static void console_admins_ask(struct front_req *req, int tries);

/*
 * The answer, applied to the copy it was asked for.  Another page's
 * answer may have moved the copy on meanwhile: one at the answer's
 * version serves; any other is asked again.
 */
static void
console_admins_got(void *arg, int rv, struct store_snap *m)
{
	struct console_ask	*k = arg;
	struct front_req	*req = front_admin_held(k->req);
	struct console_snap	*c;
	struct store		*store;
	char			 tenant[CONF_TENANT_ID_MAX + 1];
	int			 based;

	if (req == NULL) {
		free(k);
		return;
	}
	c = console_snap_find(req->t->id);
	based = c != NULL && strcmp(c->ver, k->ver) == 0 &&
	    strcmp(c->epoch, k->epoch) == 0;
	if (rv == BK_OK && m->kind == STORE_SNAP_STALE) {
		/* a page without a search: that page alone, the copy after */
		k->req = front_admin_hold(req);
		store_snap_page(front_req_store(req), req->t->id,
		    (k->page - 1) * CONSOLE_ROWS, CONSOLE_ROWS,
		    console_admins_got, k);
		return;
	}
	if (rv == BK_OK && m->kind == STORE_SNAP_PAGE) {
		free(k);
		store = front_req_store(req);
		snprintf(tenant, sizeof(tenant), "%s", req->t->id);
		console_admins_show(req, NULL, m);	/* req may go */
		console_load(store, tenant);
		return;
	}
	if (rv == BK_OK && m->kind == STORE_SNAP_FULL)
		rv = console_snap_whole(req->t->id, m, &c);
	else if (rv == BK_OK && !console_snap_is(c, m)) {
		if (based && m->kind == STORE_SNAP_SINCE)
			rv = console_snap_merge(c, m);
		else if (k->tries + 1 < CONSOLE_SNAP_TRIES) {
			console_admins_ask(req, k->tries + 1);
			free(k);
			return;
		} else
			rv = BK_E_STORE_BUSY;
	}
	free(k);
	if (rv != BK_OK) {
		console_fail(req, rv, NULL);
		return;
	}
	console_admins_show(req, c, NULL);	/* req may go */
	if (m->kind != STORE_SNAP_SAME)
		console_parse_start(c);
}

static void
console_admins_ask(struct front_req *req, int tries)
{
	struct console_snap	*c = console_snap_find(req->t->id);
	struct console_search	 s;
	struct console_ask	*k;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		console_fail(req, BK_E_NOMEM, NULL);
		return;
	}
	(void)console_search_parse(req, &s);	/* checked by the handler */
	k->tries = tries;
	k->page = s.page;
	k->search = s.q != NULL && s.q[0] != '\0';
	console_base = req->f->base;
	if (c != NULL) {
		snprintf(k->ver, sizeof(k->ver), "%s", c->ver);
		snprintf(k->epoch, sizeof(k->epoch), "%s", c->epoch);
	}
	k->req = front_admin_hold(req);
	/* a search needs every profile; a page without one, only its own */
	store_snap_since(front_req_store(req), req->t->id,
	    c != NULL ? k->ver : NULL, k->epoch, k->search,
	    console_admins_got, k);
}

static void
console_admins(struct front_req *req, struct console_ctx *a)
{
	struct console_search	 s;
	int			 rv;

	(void)a;
	if ((rv = console_search_parse(req, &s)) != BK_OK) {
		console_fail(req, rv, "the search is too long or not text, or "
		    "the page is not a number");
		return;
	}
	console_admins_ask(req, 0);
}

static void
console_template(struct front_req *req, struct console_ctx *a)
{
	(void)a;
	/* the bytes of GET /api/v1/tenants/<t>/users.csv, by its code */
	store_mapping_read(front_req_store(req), req->t->id,
	    front_admin_export_done, front_admin_hold(req));
}

/* --- one profile: edit, delete --- */

/* The profile's stored form as a short digest, the form's "rev". */
static void
console_rev(const struct store_user *u, char out[BK_DIGEST_HEX + 1])
{
	const char	*s = u->found && u->stored != NULL ? u->stored : "";

	bk_sha256_hex(s, strlen(s), out);
}

/* The users page's URL searching for id, into b. */
static int
console_admins_url(struct bk_buf *b, const struct front_req *req,
    const char *id)
{
	int	 rv = bk_buf_adds(b, "/console/t/");
	char	*t = evhttp_uriencode(req->t->id, -1, 0);
	char	*q = evhttp_uriencode(id ? id : "", -1, 0);

	if (t == NULL || q == NULL)
		rv = BK_E_NOMEM;
	if (rv == BK_OK)
		rv = bk_buf_addf(b, "%s/users?q=%s", t, q);
	free(t);
	free(q);
	return rv;
}

static void
console_back_to_users(struct front_req *req, const char *id)
{
	struct bk_buf	 b;

	bk_buf_init(&b, 4096);
	if (console_admins_url(&b, req, id) != BK_OK)
		console_fail(req, BK_E_NOMEM, NULL);
	else
		front_redirect(req, 303, b.data);
	bk_buf_free(&b);
}

/* The form's action: /console/t/<t>/users/<id>/<what>. */
static int
console_user_action(struct bk_buf *b, const struct front_req *req,
    const struct console_ctx *a, const char *what)
{
	int	 rv = bk_buf_adds(b,
	    "<form method=\"post\" action=\"/console/t/");

	if (rv == BK_OK)
		rv = console_urlesc(b, req->t->id);
	if (rv == BK_OK)
		rv = bk_buf_adds(b, "/users/");
	if (rv == BK_OK)
		rv = console_urlesc(b, a->user_id);
	if (rv == BK_OK)
		rv = bk_buf_addf(b, "/%s\">", what);
	if (rv == BK_OK)
		rv = console_csrf_field(b, a);
	return rv;
}

/* The edit form: the fields of u (or as submitted), err above them. */
static void
console_edit_page(struct front_req *req, struct console_ctx *a,
    const struct pol_user *u, int status, const char *err)
{
	struct bk_buf	 b;
	char		 rev[BK_DIGEST_HEX + 1];
	int		 rv = BK_OK, c;

	console_rev(&a->old, rev);
	bk_buf_init(&b, 256 * 1024);
	if (err != NULL) {
		rv = bk_buf_adds(&b, "<p class=\"error\">");
		if (rv == BK_OK)
			rv = console_esc(&b, err);
		if (rv == BK_OK)
			rv = bk_buf_adds(&b, "</p>");
	}
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, "<p>8x8 Internal ID: <code>");
	if (rv == BK_OK)
		rv = console_esc(&b, a->user_id);
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, "</code></p>");
	if (rv == BK_OK)
		rv = console_user_action(&b, req, a, "edit");
	if (rv == BK_OK)
		rv = bk_buf_addf(&b, "<input type=\"hidden\" name=\"rev\" "
		    "value=\"%s\">", rev);
	for (c = POL_COL_USER_NAME; c < POL_COL_COUNT && rv == BK_OK; c++) {
		rv = bk_buf_addf(&b, "<label>%s <input type=\"text\" "
		    "name=\"%s\" value=\"", pol_col_name((enum pol_col)c),
		    pol_col_key((enum pol_col)c));
		if (rv == BK_OK)
			rv = console_esc(&b, u != NULL ? u->f[c] : NULL);
		if (rv == BK_OK)
			rv = bk_buf_adds(&b, "\"></label>");
	}
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, "<p class=\"meta\">A changed Salesforce "
		    "ID or extension ends the user's live sessions and panel "
		    "tokens.</p><button type=\"submit\">Save</button></form>");
	if (rv != BK_OK)
		console_fail(req, rv, NULL);
	else
		console_page(req, status, "Edit user", &b);
	bk_buf_free(&b);
}

static void
console_delete_page(struct front_req *req, struct console_ctx *a)
{
	const struct pol_user	*u = &a->old.user;
	struct bk_buf		 b;
	char			 rev[BK_DIGEST_HEX + 1];
	int			 rv;

	console_rev(&a->old, rev);
	bk_buf_init(&b, 64 * 1024);
	rv = bk_buf_adds(&b, "<p>Delete the profile <code>");
	if (rv == BK_OK)
		rv = console_esc(&b, a->user_id);
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, "</code> (");
	if (rv == BK_OK)
		rv = console_esc(&b, u->f[POL_COL_USER_NAME]);
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, ", Salesforce ID ");
	if (rv == BK_OK)
		rv = console_esc(&b, u->f[POL_COL_SFDC_ID]);
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, ", extension ");
	if (rv == BK_OK)
		rv = console_esc(&b, u->f[POL_COL_EXTENSION]);
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, ")?  The user can no longer sign in to "
		    "the panel with Salesforce, and their live sessions and "
		    "panel tokens end now.</p>");
	if (rv == BK_OK)
		rv = console_user_action(&b, req, a, "delete");
	if (rv == BK_OK)
		rv = bk_buf_addf(&b, "<input type=\"hidden\" name=\"rev\" "
		    "value=\"%s\"><button class=\"danger\" type=\"submit\">"
		    "Delete this user</button></form><p><a href=\"", rev);
	if (rv == BK_OK)
		rv = console_admins_url(&b, req, a->user_id);
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, "\">Cancel</a></p>");
	if (rv != BK_OK)
		console_fail(req, rv, NULL);
	else
		console_page(req, 200, "Delete user", &b);
	bk_buf_free(&b);
}

static void
console_user_written(void *arg, int rv, const struct store_written *w)
{
	struct front_req	*req = front_admin_held(arg);
	struct console_ctx	*a;
	const char		*ev;
	char			 msg[256];

	if (req == NULL)
		return;
	a = req->aux;
	ev = a->op == CON_EDIT_POST ? "user_set" : "user_delete";
	if (rv != BK_OK) {
		console_fail(req, rv, NULL);
		return;
	}
	front_admin_change_set(&req->fl.before, &a->old.user);
	front_set_str(&req->fl.user, a->old.user.f[POL_COL_SFDC_ID]);
	if (w->result == STORE_WRITE_CONFLICT) {
		console_fail(req, BK_E_CONFLICT, "the profile changed "
		    "meanwhile; open it again");
		return;
	}
	if (w->result == STORE_WRITE_DUP) {
		snprintf(msg, sizeof(msg),
		    "Salesforce ID already mapped to profile %s", w->other);
		front_audit(req, ev, BK_E_POL_DUP_SFDC, msg);
		console_edit_page(req, a, NULL, 409, msg);
		return;
	}
	if (a->op == CON_EDIT_POST) {
		front_set_str(&req->fl.user, w->user.f[POL_COL_SFDC_ID]);
		front_admin_change_set(&req->fl.after, &w->user);
	}
	front_audit(req, ev, BK_OK, NULL);
	console_back_to_users(req, a->user_id);
}

/* The edit form's fields as the JSON body PUT users/{id} takes. */
static int
console_edit_json(struct front_req *req, char **out)
{
	json_t		*o = json_object();
	const char	*v;
	int		 c, rv = BK_OK;

	if (o == NULL)
		return BK_E_NOMEM;
	for (c = POL_COL_USER_NAME; c < POL_COL_COUNT && rv == BK_OK; c++) {
		v = front_param(&req->form, pol_col_key((enum pol_col)c));
		if (v == NULL)
			continue;	/* absent: unchanged, as in the API */
		if (json_object_set_new(o, pol_col_key((enum pol_col)c),
		    json_string(v)) != 0)
			rv = BK_E_INVAL;
	}
	if (rv == BK_OK && (*out = json_dumps(o, JSON_COMPACT)) == NULL)
		rv = BK_E_NOMEM;
	json_decref(o);
	return rv;
}

/* POST edit: the form over the profile as read, checked as PUT does. */
static void
console_edit_write(struct front_req *req, struct console_ctx *a)
{
	struct pol_user	 u;
	const char	*why = NULL;
	char		*j = NULL;
	int		 rv, c;

	memset(&u, 0, sizeof(u));
	if ((rv = pol_user_copy(&a->old.user, &u)) == BK_OK &&
	    (rv = console_edit_json(req, &j)) == BK_OK)
		rv = pol_user_apply_json(&u, j, strlen(j), &why);
	free(j);
	if (rv != BK_OK) {
		front_admin_change_set(&req->fl.before, &a->old.user);
		front_audit(req, "user_set", rv, why);
		/* what was typed stays in the form, with the reason */
		pol_user_cleanup(&u);
		memset(&u, 0, sizeof(u));
		for (c = POL_COL_USER_NAME; c < POL_COL_COUNT; c++)
			u.f[c] = bk_strdup(front_param(&req->form,
			    pol_col_key((enum pol_col)c)));
		console_edit_page(req, a, &u, 400, why != NULL ? why :
		    "the profile was not changed");
		pol_user_cleanup(&u);
		return;
	}
	store_user_put(front_req_store(req), req->t->id, a->user_id, &a->old,
	    &u, console_user_written, front_admin_hold(req));
	pol_user_cleanup(&u);
}

static void
console_user_read(void *arg, int rv, struct store_user *u)
{
	struct front_req	*req = front_admin_held(arg);
	struct console_ctx	*a;
	char			 rev[BK_DIGEST_HEX + 1];
	const char		*got;

	if (req == NULL)
		return;
	a = req->aux;
	if (rv != BK_OK) {
		console_fail(req, rv, NULL);
		return;
	}
	if (!u->found) {
		console_fail(req, BK_E_POL_ID_UNKNOWN, NULL);
		return;
	}
	store_user_move(&a->old, u);
	if (a->op == CON_EDIT_GET) {
		console_edit_page(req, a, &a->old.user, 200, NULL);
		return;
	}
	if (a->op == CON_DEL_GET) {
		console_delete_page(req, a);
		return;
	}
	/* A POST acts on the profile the person saw, or not at all. */
	console_rev(&a->old, rev);
	got = front_param(&req->form, "rev");
	if (got == NULL || !bk_ct_eq(got, strlen(got), rev, strlen(rev))) {
		console_fail(req, BK_E_CONFLICT, "the profile changed since "
		    "you opened it: nothing was saved; open it again");
		return;
	}
	if (a->op == CON_EDIT_POST)
		console_edit_write(req, a);
	else
		store_user_delete(front_req_store(req), req->t->id,
		    a->user_id, &a->old, console_user_written,
		    front_admin_hold(req));
}

static void
console_user_start(struct front_req *req, struct console_ctx *a,
    enum console_op op)
{
	a->op = op;
	front_set_str(&req->fl.internal_id, a->user_id);
	store_user_get(front_req_store(req), req->t->id, a->user_id,
	    console_user_read, front_admin_hold(req));
}

/* --- single sign-on --- */

/* Where the value in force comes from, for the page. */
static int
console_sso_source(struct bk_buf *b, struct front_req *req)
{
	const struct store_sso	*v = front_sso_known(req->f, req->t);
	char			 ts[32];
	int			 rv;

	if (v == NULL || !v->set)
		return bk_buf_adds(b, " (the tenant file's "
		    "<code>enable_salesforce_sso</code>)");
	bk_time_fmt(v->at, ts);
	if ((rv = bk_buf_adds(b, " (set by ")) == BK_OK &&
	    (rv = console_esc(b, v->by)) == BK_OK)
		rv = bk_buf_addf(b, " at %s)", ts);
	return rv;
}

static void
console_sso(struct front_req *req, struct console_ctx *a)
{
	const char	*to = front_param(&req->q, "to");
	struct bk_buf	 b;
	int		 rv, on, now = front_sso_in_force(req->f, req->t);

	bk_buf_init(&b, 64 * 1024);
	rv = bk_buf_addf(&b, "<p>Salesforce single sign-on for this account is "
	    "<strong id=\"sso-state\">%s</strong>", now ? "on" : "off");
	if (rv == BK_OK)
		rv = console_sso_source(&b, req);
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, ".</p>");
	if (to != NULL && (strcmp(to, "on") == 0 || strcmp(to, "off") == 0)) {
		on = strcmp(to, "on") == 0;
		if (rv == BK_OK)
			rv = bk_buf_adds(&b, on ? "<p>Switching single "
			    "sign-on <strong>on</strong> lets every mapped "
			    "user of the account sign in to the panel with "
			    "Salesforce.</p>" :
			    "<p>Switching single sign-on <strong>off</strong> "
			    "stops every Salesforce sign-in of the account and "
			    "<strong>ends every live session and panel token"
			    "</strong> of the account now.</p>");
		if (rv == BK_OK)
			rv = bk_buf_adds(&b, "<form method=\"post\" "
			    "action=\"/console/t/");
		if (rv == BK_OK)
			rv = console_urlesc(&b, req->t->id);
		if (rv == BK_OK)
			rv = bk_buf_addf(&b, "/sso\"><input type=\"hidden\" "
			    "name=\"to\" value=\"%s\">", to);
		if (rv == BK_OK)
			rv = console_csrf_field(&b, a);
		if (rv == BK_OK)
			rv = bk_buf_addf(&b, "<button type=\"submit\"%s>Switch "
			    "single sign-on %s</button></form>",
			    on ? "" : " class=\"danger\"", to);
	} else if (rv == BK_OK)
		rv = bk_buf_addf(&b, "<p><a href=\"?to=%s\">Switch single "
		    "sign-on %s...</a></p>", now ? "off" : "on",
		    now ? "off" : "on");
	if (rv != BK_OK)
		console_fail(req, rv, NULL);
	else
		console_page(req, 200, "Single sign-on", &b);
	bk_buf_free(&b);
}

/* The switch changed (or not): the page says what happened. */
static void
console_sso_done(struct front_req *req, int rv, const struct store_sso_done *d)
{
	struct bk_buf	 b;

	if (rv != BK_OK) {
		console_fail(req, rv, NULL);
		return;
	}
	bk_buf_init(&b, 4096);
	if (d->now.on)
		rv = bk_buf_adds(&b, "<p id=\"sso-done\">Single sign-on is now "
		    "<strong>on</strong> for this account.</p>");
	else
		rv = bk_buf_addf(&b, "<p id=\"sso-done\">Single sign-on is now "
		    "<strong>off</strong> for this account: %s%lld browser "
		    "sessions and %lld panel tokens ended.</p>", d->partial ?
		    "at least " : "", d->sessions, d->tokens);
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, "<p><a href=\"sso\">Back</a></p>");
	if (rv != BK_OK)
		console_fail(req, rv, NULL);
	else
		console_page(req, 200, "Single sign-on", &b);
	bk_buf_free(&b);
}

static void
console_sso_post(struct front_req *req, struct console_ctx *a)
{
	const char	*to = front_param(&req->form, "to");

	(void)a;
	if (to == NULL || (strcmp(to, "on") != 0 && strcmp(to, "off") != 0)) {
		front_audit(req, "sso_set", BK_E_HTTP_BADPARAM,
		    "choose on or off");
		console_fail(req, BK_E_HTTP_BADPARAM, "choose on or off");
		return;
	}
	front_sso_change(req, strcmp(to, "on") == 0, console_sso_done);
}

/*
 * --- CSV upload: preview, submit ---
 * The upload is checked as POST users.csv?dry_run=1 does (pol_import_plan()
 * against one snapshot) and shown.  An applicable plan is kept as its
 * input: the file, the mapping version it was computed from, allow_new,
 * bound to this session, under a random preview id (CONSOLE_PREVIEW_TTL).
 * Submit reads the mapping again: a version other than the preview's is
 * refused ("preview again") and nothing is written; the same file against
 * the same version gives the same plan, which the store applies only if
 * the version still holds (store_mapping_apply()).
 */

static int
console_is_upload(const char *path)
{
	size_t	 n = strlen(path);

	return n > 7 && strcmp(path + n - 7, "/import") == 0;
}

static void
console_import_form(struct front_req *req, struct console_ctx *a)
{
	struct bk_buf	 b;
	int		 rv;

	bk_buf_init(&b, 64 * 1024);
	rv = bk_buf_adds(&b, "<p>Upload the CSV template, filled in (CSV "
	    "UTF-8).  Nothing is written until you submit the preview.</p>"
	    "<form method=\"post\" enctype=\"multipart/form-data\" "
	    "action=\"/console/t/");
	if (rv == BK_OK)
		rv = console_urlesc(&b, req->t->id);
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, "/import\">");
	if (rv == BK_OK)
		rv = console_csrf_field(&b, a);
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, "<label>CSV file <input type=\"file\" "
		    "name=\"file\" accept=\".csv,text/csv\" required></label>"
		    "<label><input type=\"checkbox\" name=\"allow_new\" "
		    "value=\"1\"> Add the profiles whose 8x8 Internal ID is new"
		    "</label><button type=\"submit\">Preview</button></form>");
	if (rv != BK_OK)
		console_fail(req, rv, NULL);
	else
		console_page(req, 200, "Upload a CSV file", &b);
	bk_buf_free(&b);
}

/* A table row of the preview: row number, ID, then text (escaped). */
static int
console_preview_row(struct bk_buf *b, const struct pol_row *r,
    const char *a1, const char *a2)
{
	int	 rv = bk_buf_addf(b, "<tr><td>%zu</td><td>", r->row);

	if (rv == BK_OK)
		rv = console_esc(b, r->internal_id);
	if (rv == BK_OK)
		rv = bk_buf_adds(b, "</td><td>");
	if (rv == BK_OK)
		rv = console_esc(b, a1);
	if (rv == BK_OK && a2 != NULL) {
		rv = bk_buf_adds(b, "</td><td>");
		if (rv == BK_OK)
			rv = console_esc(b, a2);
	}
	if (rv == BK_OK)
		rv = bk_buf_adds(b, "</td></tr>");
	return rv;
}

/* One changed field: "Column: old -> new". */
static int
console_preview_change(struct bk_buf *b, const struct pol_row *r, size_t i)
{
	const struct pol_field_change	*ch = &r->changes[i];
	char				 t[3 * POL_FIELD_MAX + 64];

	snprintf(t, sizeof(t), "%s: %s -> %s", pol_col_name(ch->col),
	    ch->old_val ? ch->old_val : "(empty)",
	    ch->new_val ? ch->new_val : "(empty)");
	return console_preview_row(b, r, t, NULL);
}

/* The rows of kind k (at most CONSOLE_PREVIEW_LIST), under a heading. */
static int
console_preview_kind(struct bk_buf *b, const struct pol_plan *p,
    enum pol_change k, const char *title, const char *cols)
{
	size_t	 i, j, shown = 0, n = 0;
	int	 rv = BK_OK;

	for (i = 0; i < p->n_rows; i++)
		n += p->rows[i].kind == k;
	if (n == 0)
		return BK_OK;
	rv = bk_buf_addf(b, "<h2>%s (%zu)</h2><table><tr><th>Row</th>"
	    "<th>8x8 Internal ID</th>%s</tr>", title, n, cols);
	for (i = 0; i < p->n_rows && rv == BK_OK; i++) {
		const struct pol_row *r = &p->rows[i];

		if (r->kind != k || shown++ >= CONSOLE_PREVIEW_LIST)
			continue;
		if (k == POL_REJECTED)
			rv = console_preview_row(b, r, r->column ? r->column :
			    "", r->reason ? r->reason : bk_strerror(r->err));
		else if (k == POL_CHANGED)
			for (j = 0; j < r->n_changes && rv == BK_OK; j++)
				rv = console_preview_change(b, r, j);
		else
			rv = console_preview_row(b, r, "", NULL);
	}
	if (rv == BK_OK)
		rv = bk_buf_adds(b, "</table>");
	if (rv == BK_OK && n > CONSOLE_PREVIEW_LIST)
		rv = bk_buf_addf(b, "<p>and %zu more.</p>",
		    n - CONSOLE_PREVIEW_LIST);
	return rv;
}

/* The preview of a->plan; with a->preview set, the Submit form. */
/* The plan's warnings: row, ID, column, old -> new, what it means. */
static int
console_preview_warnings(struct bk_buf *b, const struct pol_plan *p)
{
	const struct pol_warning	*w;
	size_t				 i;
	int				 rv = BK_OK;

	if (p->n_warnings == 0)
		return BK_OK;
	rv = bk_buf_addf(b, "<h2>Warnings (%zu)</h2><table id=\"warnings\">"
	    "<tr><th>Row</th><th>8x8 Internal ID</th><th>Old -&gt; new</th>"
	    "<th>Warning</th></tr>", p->n_warnings);
	for (i = 0; i < p->n_warnings && rv == BK_OK; i++) {
		w = &p->warnings[i];
		rv = bk_buf_addf(b, "<tr><td>%zu</td><td>", w->row);
		if (rv == BK_OK && w->internal_id != NULL)
			rv = console_esc(b, w->internal_id);
		if (rv == BK_OK)
			rv = bk_buf_adds(b, "</td><td>");
		if (rv == BK_OK && w->old_val != NULL)
			rv = console_esc(b, w->old_val);
		if (rv == BK_OK && (w->old_val != NULL || w->new_val != NULL))
			rv = bk_buf_adds(b, " -&gt; ");
		if (rv == BK_OK && w->new_val != NULL)
			rv = console_esc(b, w->new_val);
		if (rv == BK_OK)
			rv = bk_buf_adds(b, "</td><td>");
		if (rv == BK_OK && w->message != NULL)
			rv = console_esc(b, w->message);
		if (rv == BK_OK)
			rv = bk_buf_adds(b, "</td></tr>");
	}
	if (rv == BK_OK)
		rv = bk_buf_adds(b, "</table>");
	return rv;
}

static void
console_preview_page(struct front_req *req, struct console_ctx *a,
    int status)
{
	const struct pol_plan	*p = a->plan;
	struct bk_buf		 b;
	size_t			 i;
	int			 rv;

	bk_buf_init(&b, 32 * 1024 * 1024);
	rv = bk_buf_addf(&b, "<p id=\"summary\">%zu added, %zu changed, %zu "
	    "unchanged, %zu rejected.</p>", p->n_added, p->n_changed,
	    p->n_unchanged, p->n_rejected);
	if (rv == BK_OK && p->fatal != NULL) {
		rv = bk_buf_adds(&b,
		    "<p class=\"error\">The file was refused: ");
		if (rv == BK_OK)
			rv = console_esc(&b, p->fatal);
		if (rv == BK_OK)
			rv = bk_buf_adds(&b, "</p>");
	}
	for (i = 0; i < p->n_ignored && rv == BK_OK; i++) {
		rv = bk_buf_adds(&b, "<p class=\"warning\">Warning: the column "
		    "&quot;");
		if (rv == BK_OK)
			rv = console_esc(&b, p->ignored_columns[i]);
		if (rv == BK_OK)
			rv = bk_buf_adds(&b, "&quot; is not in the template "
			    "and was ignored.</p>");
	}
	if (rv == BK_OK)
		rv = console_preview_warnings(&b, p);
	if (rv == BK_OK)
		rv = console_preview_kind(&b, p, POL_REJECTED, "Rejected rows",
		    "<th>Column</th><th>Reason</th>");
	if (rv == BK_OK)
		rv = console_preview_kind(&b, p, POL_ADDED, "Added",
		    "<th></th>");
	if (rv == BK_OK)
		rv = console_preview_kind(&b, p, POL_CHANGED, "Changed",
		    "<th>Field: old -&gt; new</th>");
	if (rv == BK_OK && a->preview[0] != '\0') {
		rv = bk_buf_adds(&b,
		    "<form method=\"post\" action=\"/console/t/");
		if (rv == BK_OK)
			rv = console_urlesc(&b, req->t->id);
		if (rv == BK_OK)
			rv = bk_buf_addf(&b, "/import/submit\"><input "
			    "type=\"hidden\" name=\"preview\" value=\"%s\">",
			    a->preview);
		if (rv == BK_OK)
			rv = console_csrf_field(&b, a);
		if (rv == BK_OK && a->zero)
			rv = bk_buf_adds(&b, "<p><label><input "
			    "type=\"checkbox\" name=\"confirm_zero\" "
			    "value=\"1\" required> These "
			    "extensions are meant to lose their leading zeros "
			    "(the warnings above).</label></p>");
		if (rv == BK_OK)
			rv = bk_buf_adds(&b, "<button type=\"submit\">Submit"
			    "</button></form>");
	} else if (rv == BK_OK)
		rv = bk_buf_adds(&b, p->fatal != NULL || p->n_rejected > 0 ?
		    "<p>Nothing can be submitted: correct the file and upload "
		    "it again.</p>" : "<p>Nothing to change.</p>");
	if (rv != BK_OK)
		console_fail(req, rv, NULL);
	else
		console_page(req, status, "Preview", &b);
	bk_buf_free(&b);
}

/* The digest of this session's cookie: what a preview is bound to. */
static void
console_sess_digest(const struct console_ctx *a, char out[BK_DIGEST_HEX + 1])
{
	bk_sha256_hex(a->sid, strlen(a->sid), out);
}

static void
console_preview_kept(void *arg, int rv)
{
	struct front_req	*req = front_admin_held(arg);

	if (req == NULL)
		return;
	if (rv != BK_OK) {
		console_fail(req, rv, NULL);
		return;
	}
	console_preview_page(req, req->aux, 200);
}

/*
 * Keep the preview's input: "v1 tenant ver allow_new session zero\n" +
 * file (zero: Submit must confirm the dropped-zero changes shown).
 */
static void
console_preview_keep(struct front_req *req, struct console_ctx *a)
{
	char	 d[BK_DIGEST_HEX + 1], hdr[CONSOLE_PREVIEW_HDR];
	char	*rec;
	int	 n;

	console_sess_digest(a, d);
	n = snprintf(hdr, sizeof(hdr), "v1 %s %s %d %s %d\n", req->t->id,
	    a->ver, a->allow_new, d, a->zero);
	if (n <= 0 || (size_t)n >= sizeof(hdr) ||
	    bk_token_new(a->preview) != BK_OK ||
	    (rec = malloc((size_t)n + a->csv_len)) == NULL) {
		console_fail(req, BK_E_NOMEM, NULL);
		return;
	}
	memcpy(rec, hdr, (size_t)n);
	memcpy(rec + n, a->csv, a->csv_len);
	store_console_preview_put(req->f->store_default, a->preview, rec,
	    (size_t)n + a->csv_len, CONSOLE_PREVIEW_TTL, console_preview_kept,
	    front_admin_hold(req));
	free(rec);
}

/* a->plan: a's file against m, as POST users.csv checks it. */
static int
console_plan(struct console_ctx *a, const struct store_mapping *m)
{
	struct pol_import_opts	 o;

	memset(&o, 0, sizeof(o));
	o.allow_new = a->allow_new;
	/* the held rows of this file at this version: what the page showed */
	o.confirm_zero = a->zero_confirmed ? "all" : NULL;
	pol_plan_free(a->plan);
	a->plan = NULL;
	return pol_import_plan(a->csv, a->csv_len, m->users, &o, &a->plan);
}

static void
console_import_read(void *arg, int rv, const struct store_mapping *m)
{
	struct front_req	*req = front_admin_held(arg);
	struct console_ctx	*a;

	if (req == NULL)
		return;
	a = req->aux;
	if (rv != BK_OK) {
		console_fail(req, rv, NULL);
		return;
	}
	rv = console_plan(a, m);
	if (a->plan == NULL) {
		console_fail(req, rv, NULL);
		return;
	}
	snprintf(a->ver, sizeof(a->ver), "%s", m->ver);
	if (rv == BK_E_POL_ZERO_UNCONFIRMED) {
		/* valid, with changes the admin must confirm on Submit */
		a->zero = 1;
		console_preview_keep(req, a);
	} else if (rv != BK_OK) {
		front_audit(req, "mapping_import", rv, "console preview");
		console_preview_page(req, a,
		    bk_err_http(rv) == 413 ? 413 : 400);
	} else if (a->plan->n_added + a->plan->n_changed > 0)
		console_preview_keep(req, a);
	else
		console_preview_page(req, a, 200);
}

static void
console_import_post(struct front_req *req, struct console_ctx *a)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(req->ev);
	struct front_part	 parts[FRONT_MULTIPART_PARTS];
	const struct front_part	*csrf, *file, *allow;
	size_t			 len = evbuffer_get_length(in), n;
	const char		*body;
	int			 rv;

	if (len > CONSOLE_UPLOAD_MAX) {
		console_fail(req, BK_E_HTTP_BODY_TOOBIG, NULL);
		return;
	}
	if ((body = (const char *)evbuffer_pullup(in, -1)) == NULL)
		body = "";
	rv = front_multipart_parse(front_header(req, "Content-Type"), body, len,
	    parts, BK_NELEM(parts), &n);
	csrf = rv == BK_OK ? front_multipart_get(parts, n, "csrf") : NULL;
	if (rv == BK_OK && (csrf == NULL || !bk_ct_eq(csrf->data, csrf->len,
	    a->csrf, strlen(a->csrf))))
		rv = BK_E_CONSOLE_CSRF;
	if (rv != BK_OK) {
		front_audit(req, "console_csrf", rv, "upload");
		console_fail(req, rv, rv == BK_E_CONSOLE_CSRF ? NULL :
		    "the upload is not a valid multipart/form-data form");
		return;
	}
	if ((file = front_multipart_get(parts, n, "file")) == NULL ||
	    !file->is_file) {
		console_fail(req, BK_E_HTTP_BADPARAM, "choose a CSV file");
		return;
	}
	allow = front_multipart_get(parts, n, "allow_new");
	a->allow_new = allow != NULL && allow->len == 1 &&
	    allow->data[0] == '1';
	if ((a->csv = malloc(file->len + 1)) == NULL) {
		console_fail(req, BK_E_NOMEM, NULL);
		return;
	}
	memcpy(a->csv, file->data, file->len);
	a->csv[file->len] = '\0';
	a->csv_len = file->len;
	store_mapping_read(front_req_store(req), req->t->id,
	    console_import_read, front_admin_hold(req));
}

static void
console_submit_again(struct front_req *req)
{
	front_audit(req, "mapping_import", BK_E_CONFLICT,
	    "console submit: the mapping changed since the preview");
	console_fail(req, BK_E_CONFLICT, "The mapping changed since this "
	    "preview (or the preview expired): nothing was written. Upload "
	    "the file again to preview again.");
}

static void
console_preview_gone(void *arg, int rv)
{
	(void)arg;
	(void)rv;	/* it expires on its own anyway */
}

/* Records an import writes per turn of the loop, as the admin API does. */
#define CONSOLE_IMPORT_BATCH	500

/* Row r's record, if it added or changed a profile (upserts[] in order). */
static void
console_submit_record(struct front_req *req, struct console_ctx *a,
    const struct pol_row *r)
{
	const struct pol_plan	*p = a->plan;
	const struct pol_user	*u;

	if ((r->kind != POL_ADDED && r->kind != POL_CHANGED) ||
	    a->rec_up >= p->n_upserts)
		return;
	u = &p->upserts[a->rec_up++];
	front_set_str(&req->fl.internal_id, u->f[POL_COL_INTERNAL_ID]);
	front_set_str(&req->fl.user, u->f[POL_COL_SFDC_ID]);
	free(req->fl.before);
	req->fl.before = NULL;
	if (r->kind == POL_ADDED)
		front_admin_change_set(&req->fl.after, u);
	else {
		req->fl.before = front_admin_import_fields(r, 0);
		free(req->fl.after);
		req->fl.after = front_admin_import_fields(r, 1);
	}
	front_audit(req, "mapping_import", BK_OK,
	    r->kind == POL_ADDED ? "added" : "changed");
}

/*
 * One record per added or changed profile, CONSOLE_IMPORT_BATCH a turn
 * so that a large import never holds the worker's sign-ins, then the
 * summary and the page.  Written whether or not anyone waits: the import
 * was applied.  Holds a reference on req until the last one.
 */
static void
console_submit_step(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval	 now = { 0, 0 };
	struct front_req		*req = arg;
	struct console_ctx		*a = req->aux;
	const struct pol_plan		*p = a->plan;
	struct bk_buf			 b;
	size_t				 end;
	char				 d[128];

	(void)fd;
	(void)what;
	end = a->rec_row + CONSOLE_IMPORT_BATCH;
	while (a->rec_row < p->n_rows && a->rec_row < end)
		console_submit_record(req, a, &p->rows[a->rec_row++]);
	if (a->rec_row < p->n_rows && event_base_once(req->f->base, -1,
	    EV_TIMEOUT, console_submit_step, req, &now) == 0)
		return;
	while (a->rec_row < p->n_rows)	/* could not wait: now */
		console_submit_record(req, a, &p->rows[a->rec_row++]);
	free(req->fl.before);
	free(req->fl.after);
	req->fl.before = req->fl.after = NULL;
	front_set_str(&req->fl.internal_id, NULL);
	front_set_str(&req->fl.user, NULL);
	snprintf(d, sizeof(d), "added=%zu changed=%zu deleted=0 (console)",
	    p->n_added, p->n_changed);
	front_audit(req, "mapping_import", BK_OK, d);
	if (!req->replied) {
		bk_buf_init(&b, 4096);
		(void)bk_buf_addf(&b, "<p id=\"summary\">Applied: %zu added, "
		    "%zu changed, %zu unchanged.</p><p><a href=\"users\">Back "
		    "to the users</a></p>", p->n_added, p->n_changed,
		    p->n_unchanged);
		console_page(req, 200, "Imported", &b);
		bk_buf_free(&b);
	}
	front_req_unref(req);
}

static void
console_submit_applied(void *arg, int rv, enum store_apply_result res)
{
	struct front_req	*req = arg;
	struct console_ctx	*a = req->aux;

	/* Applied: on record even if nobody waits for the page. */
	if (rv == BK_OK && res == STORE_APPLY_OK) {
		store_console_preview_del(req->f->store_default, a->preview,
		    console_preview_gone, NULL);
		/* the store call's reference goes on with the records */
		console_submit_step(-1, 0, req);
		return;
	}
	if ((req = front_admin_held(arg)) == NULL)
		return;
	if (rv != BK_OK || res == STORE_APPLY_REFUSED) {
		console_fail(req, rv != BK_OK ? rv : BK_E_STORE_REPLY, NULL);
		return;
	}
	console_submit_again(req);	/* STORE_APPLY_CONFLICT */
}

static void
console_submit_read(void *arg, int rv, const struct store_mapping *m)
{
	struct front_req	*req = front_admin_held(arg);
	struct console_ctx	*a;

	if (req == NULL)
		return;
	a = req->aux;
	if (rv != BK_OK) {
		console_fail(req, rv, NULL);
		return;
	}
	if (strcmp(m->ver, a->ver) != 0) {
		console_submit_again(req);
		return;
	}
	/* the previewed file against the previewed version: the same plan */
	if (console_plan(a, m) != BK_OK) {
		console_submit_again(req);
		return;
	}
	store_mapping_apply(front_req_store(req), req->t->id, m->ver, a->plan,
	    console_submit_applied, front_admin_hold(req));
}

/* "v1 tenant ver allow_new session zero": this tenant's, this session's. */
static int
console_preview_parse(struct front_req *req, struct console_ctx *a,
    const char *rec, size_t len)
{
	const char	*nl = memchr(rec, '\n',
	    len < CONSOLE_PREVIEW_HDR ? len : CONSOLE_PREVIEW_HDR);
	char		 hdr[CONSOLE_PREVIEW_HDR + 1], *f[6], *save = NULL;
	char		 d[BK_DIGEST_HEX + 1], *p;
	size_t		 n = 0;

	if (nl == NULL)
		return BK_E_STORE_RECORD;
	memcpy(hdr, rec, (size_t)(nl - rec));
	hdr[nl - rec] = '\0';
	for (p = strtok_r(hdr, " ", &save); p != NULL && n < 6;
	    p = strtok_r(NULL, " ", &save))
		f[n++] = p;
	if (n != 6 || p != NULL || strcmp(f[0], "v1") != 0 ||
	    strlen(f[2]) > STORE_MAPPING_VER_MAX)
		return BK_E_STORE_RECORD;
	console_sess_digest(a, d);
	if (strcmp(f[1], req->t->id) != 0 ||
	    !bk_ct_eq(f[4], strlen(f[4]), d, strlen(d)))
		return BK_E_CONSOLE_FORBIDDEN;
	snprintf(a->ver, sizeof(a->ver), "%s", f[2]);
	a->allow_new = strcmp(f[3], "1") == 0;
	a->zero = strcmp(f[5], "1") == 0;
	a->csv_len = len - (size_t)(nl + 1 - rec);
	if ((a->csv = malloc(a->csv_len + 1)) == NULL)
		return BK_E_NOMEM;
	memcpy(a->csv, nl + 1, a->csv_len);
	a->csv[a->csv_len] = '\0';
	return BK_OK;
}

/* A form checkbox sent as name=1. */
static int
console_checked(struct front_req *req, const char *name)
{
	const char	*v = front_param(&req->form, name);

	return v != NULL && strcmp(v, "1") == 0;
}

static void
console_submit_got(void *arg, int rv, const char *rec, size_t len)
{
	struct front_req	*req = front_admin_held(arg);
	struct console_ctx	*a;

	if (req == NULL)
		return;
	a = req->aux;
	if (rv == BK_OK && rec == NULL) {
		console_submit_again(req);
		return;
	}
	if (rv == BK_OK)
		rv = console_preview_parse(req, a, rec, len);
	if (rv != BK_OK) {
		console_fail(req, rv, NULL);
		return;
	}
	if (a->zero) {
		if (!console_checked(req, "confirm_zero")) {
			front_audit(req, "mapping_import",
			    BK_E_POL_ZERO_UNCONFIRMED, "console submit");
			console_fail(req, BK_E_POL_ZERO_UNCONFIRMED, "Tick the "
			    "box that confirms the extensions a spreadsheet "
			    "may have shortened: nothing was written.");
			return;
		}
		a->zero_confirmed = 1;
	}
	store_mapping_read(front_req_store(req), req->t->id,
	    console_submit_read, front_admin_hold(req));
}

static void
console_submit(struct front_req *req, struct console_ctx *a)
{
	const char	*id = front_param(&req->form, "preview");

	if (id == NULL || strlen(id) != BK_TOKEN_LEN ||
	    strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_") != BK_TOKEN_LEN) {
		console_fail(req, BK_E_HTTP_BADPARAM, "no preview to submit");
		return;
	}
	snprintf(a->preview, sizeof(a->preview), "%s", id);
	store_console_preview_get(req->f->store_default, id,
	    console_submit_got, front_admin_hold(req));
}

/*
 * --- the audit, for auditors ---
 * The query and the export of GET /api/v1/audit and /audit/export
 * (front_audit_read(), which records each read), with the tenant taken
 * from the path: the console's filters are the API's, the JSON page is
 * rendered here (req->json_page), the export streams JSON lines.
 */

/* The audit filters the console's form offers, as the API names them. */
static const char *const console_audit_filters[] = {
	"user", "event", "outcome", "reason", "assertion_id", "request_id",
	"since", "until", "cursor"
};

/* req->q: the form's non-empty filters, then tenant = the path's. */
static int
console_audit_query(struct front_req *req)
{
	struct front_params	 q;
	const char		*v;
	char			*enc, *e;
	struct bk_buf		 b;
	size_t			 i;
	int			 rv = BK_OK;

	bk_buf_init(&b, 64 * 1024);
	if ((e = evhttp_uriencode(req->t->id, -1, 0)) == NULL)
		return BK_E_NOMEM;
	rv = bk_buf_addf(&b, "tenant=%s", e);
	free(e);
	for (i = 0; i < BK_NELEM(console_audit_filters) && rv == BK_OK; i++) {
		if ((v = front_param(&req->q, console_audit_filters[i])) ==
		    NULL || v[0] == '\0')
			continue;
		if ((enc = evhttp_uriencode(v, -1, 0)) == NULL)
			rv = BK_E_NOMEM;
		else
			rv = bk_buf_addf(&b, "&%s=%s",
			    console_audit_filters[i], enc);
		free(enc);
	}
	if (rv == BK_OK &&
	    (rv = front_params_parse(b.data, b.len, &q)) == BK_OK) {
		front_params_cleanup(&req->q);
		req->q = q;
	}
	bk_buf_free(&b);
	return rv;
}

/* One record's fields as cells. */
static int
console_audit_row(struct bk_buf *b, json_t *r)
{
	static const char *const keys[] = { "time", "event", "outcome",
	    "reason", "user", "internal_id", "assertion_id", "client_addr",
	    "request_id", "credential" };
	const char	*s;
	size_t		 i;
	int		 rv = bk_buf_adds(b, "<tr>");

	for (i = 0; i < BK_NELEM(keys) && rv == BK_OK; i++) {
		s = json_string_value(json_object_get(r, keys[i]));
		rv = bk_buf_adds(b, "<td>");
		if (rv == BK_OK)
			rv = console_esc(b, s);
		if (rv == BK_OK)
			rv = bk_buf_adds(b, "</td>");
	}
	if (rv == BK_OK)
		rv = bk_buf_adds(b, "</tr>");
	return rv;
}

/* The query's filters but tenant and cursor, for a link (escaped). */
static int
console_audit_link(struct bk_buf *b, const struct front_req *req)
{
	const char	*v;
	size_t		 i, n = 0;
	int		 rv = BK_OK;

	for (i = 0; i + 1 < BK_NELEM(console_audit_filters) && rv == BK_OK;
	    i++) {
		if ((v = front_param(&req->q, console_audit_filters[i])) ==
		    NULL)
			continue;
		rv = bk_buf_addf(b, "%s%s=", n++ > 0 ? "&amp;" : "",
		    console_audit_filters[i]);
		if (rv == BK_OK)
			rv = console_urlesc(b, v);
	}
	return rv;
}

/* The filter form, its values as given. */
static int
console_audit_form(struct bk_buf *b, const struct front_req *req)
{
	size_t	 i;
	int	 rv = bk_buf_adds(b, "<form method=\"get\">");

	for (i = 0; i + 1 < BK_NELEM(console_audit_filters) && rv == BK_OK;
	    i++) {
		rv = bk_buf_addf(b, "<label>%s <input type=\"text\" "
		    "name=\"%s\" value=\"", console_audit_filters[i],
		    console_audit_filters[i]);
		if (rv == BK_OK)
			rv = console_esc(b, front_param(&req->q,
			    console_audit_filters[i]));
		if (rv == BK_OK)
			rv = bk_buf_adds(b, "\"></label>");
	}
	if (rv == BK_OK)
		rv = bk_buf_adds(b, "<p class=\"meta\">outcome: accepted or "
		    "rejected; since, until: a date or an RFC 3339 time "
		    "(2026-12-03T10:00:00Z).</p><button type=\"submit\">Search"
		    "</button></form>");
	return rv;
}

/* The query's JSON answer (or the API's error) as the audit page. */
static void
console_audit_page(struct front_req *req, int status, const char *body,
    size_t len)
{
	json_t		*o, *recs, *r;
	json_error_t	 err;
	struct bk_buf	 b;
	const char	*next;
	size_t		 i;
	int		 rv;

	/* an export that failed before it started is a page, not a file */
	if (req->ev != NULL)
		evhttp_remove_header(evhttp_request_get_output_headers(req->ev),
		    "Content-Disposition");
	if ((o = json_loadb(body, len, 0, &err)) == NULL) {
		console_fail(req, BK_E_NOMEM, NULL);
		return;
	}
	if (status != 200) {	/* the API's error, with its status */
		bk_buf_init(&b, 64 * 1024);
		rv = bk_buf_adds(&b, "<p class=\"error\">");
		if (rv == BK_OK)
			rv = console_esc(&b, json_string_value(
			    json_object_get(o, "message")));
		if (rv == BK_OK)
			rv = bk_buf_adds(&b,
			    "</p><p class=\"meta\">Reason: <code>");
		if (rv == BK_OK)
			rv = console_esc(&b, json_string_value(
			    json_object_get(o, "error")));
		if (rv == BK_OK)
			rv = bk_buf_adds(&b, "</code></p>");
		json_decref(o);
		console_page(req, status, "Audit", &b);
		bk_buf_free(&b);
		return;
	}
	recs = json_object_get(o, "records");
	next = json_string_value(json_object_get(o, "next"));
	bk_buf_init(&b, 32 * 1024 * 1024);
	rv = console_audit_form(&b, req);
	if (rv == BK_OK)
		rv = bk_buf_addf(&b, "<p id=\"count\">%zu records, newest "
		    "first. <a href=\"audit/export?", json_array_size(recs));
	if (rv == BK_OK)
		rv = console_audit_link(&b, req);
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, "\">Export (JSON lines)</a></p>"
		    "<table><tr><th>Time</th><th>Event</th><th>Outcome</th>"
		    "<th>Reason</th><th>User</th><th>8x8 Internal ID</th>"
		    "<th>Assertion ID</th><th>Client</th><th>Request ID</th>"
		    "<th>Credential</th></tr>");
	json_array_foreach(recs, i, r)
		if (rv == BK_OK)
			rv = console_audit_row(&b, r);
	if (rv == BK_OK)
		rv = bk_buf_adds(&b, "</table>");
	if (rv == BK_OK && next != NULL) {
		rv = bk_buf_adds(&b, "<p><a href=\"audit?cursor=");
		if (rv == BK_OK)
			rv = console_urlesc(&b, next);
		if (rv == BK_OK)
			rv = bk_buf_adds(&b, "&amp;");
		if (rv == BK_OK)
			rv = console_audit_link(&b, req);
		if (rv == BK_OK)
			rv = bk_buf_adds(&b, "\">Older records</a></p>");
	}
	json_decref(o);
	if (rv != BK_OK)
		console_fail(req, rv, NULL);
	else
		console_page(req, 200, "Audit", &b);
	bk_buf_free(&b);
}

static void
console_audit(struct front_req *req, struct console_ctx *a, int export)
{
	int	 rv;

	(void)a;
	if ((rv = console_audit_query(req)) != BK_OK) {
		console_fail(req, rv, NULL);
		return;
	}
	req->json_page = console_audit_page;
	front_audit_read(req, export);
}

static void
console_audit_query_get(struct front_req *req, struct console_ctx *a)
{
	console_audit(req, a, 0);
}

static void
console_audit_export(struct front_req *req, struct console_ctx *a)
{
	if (req->ev != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req->ev),
		    "Content-Disposition",
		    "attachment; filename=\"audit.jsonl\"");
	console_audit(req, a, 1);
}

/* --- routing --- */

/*
 * rest follows "/console/t/": the tenant, the role check, then
 * "users", "users.csv", "users/<id>/edit|delete" or "sso".
 */
static void
console_tenant_route(struct front_req *req, struct console_ctx *a,
    const char *rest)
{
	const char	*slash = strchr(rest, '/'), *sub, *end;
	char		*tid;
	int		 post = a->method == EVHTTP_REQ_POST, rv;
	int		 get = a->method == EVHTTP_REQ_GET;

	if (slash == NULL) {
		console_fail(req, BK_E_HTTP_NOROUTE, NULL);
		return;
	}
	sub = slash + 1;
	tid = front_admin_seg(rest, (size_t)(slash - rest));
	req->t = tid ? conf_tenant_lookup(req->f->conf, tid) : NULL;
	free(tid);
	if (req->t == NULL) {
		console_fail(req, BK_E_TENANT_UNKNOWN, NULL);
		return;
	}
	rv = console_may(a, req->t, strcmp(sub, "sso") == 0 ? CON_SSO :
	    strncmp(sub, "audit", 5) == 0 ? CON_AUDIT : CON_USERS);
	if (rv != BK_OK) {
		front_audit(req, "console_forbidden", rv, sub);
		console_fail(req, rv, NULL);
		return;
	}
	if (strcmp(sub, "users") == 0 && get)
		console_admins(req, a);
	else if (strcmp(sub, "users.csv") == 0 && get)
		console_template(req, a);
	else if (strcmp(sub, "sso") == 0 && (get || post))
		(post ? console_sso_post : console_sso)(req, a);
	else if (strcmp(sub, "import") == 0 && (get || post))
		(post ? console_import_post : console_import_form)(req, a);
	else if (strcmp(sub, "import/submit") == 0 && post)
		console_submit(req, a);
	else if (strcmp(sub, "audit") == 0 && get)
		console_audit_query_get(req, a);
	else if (strcmp(sub, "audit/export") == 0 && get)
		console_audit_export(req, a);
	else if (strncmp(sub, "users/", 6) == 0 &&
	    (end = strchr(sub + 6, '/')) != NULL && (get || post) &&
	    (strcmp(end, "/edit") == 0 || strcmp(end, "/delete") == 0)) {
		if ((a->user_id = front_admin_seg(sub + 6,
		    (size_t)(end - sub - 6))) == NULL) {
			console_fail(req, BK_E_HTTP_BADPARAM,
			    "bad 8x8 Internal ID in path");
			return;
		}
		console_user_start(req, a, strcmp(end, "/edit") == 0 ?
		    (post ? CON_EDIT_POST : CON_EDIT_GET) :
		    (post ? CON_DEL_POST : CON_DEL_GET));
	} else
		console_fail(req, BK_E_HTTP_NOROUTE, NULL);
}

/* With a session: the CSRF check of a POST, then the route. */
static void
console_route(struct front_req *req, struct console_ctx *a)
{
	const char	*p = a->path;
	int		 rv;

	req->fl.credential = a->cred;
	/* an upload is multipart: its handler checks the token itself */
	if (a->method == EVHTTP_REQ_POST && !console_is_upload(p)) {
		if ((rv = front_form_parse(req, CONSOLE_FORM_MAX)) == BK_OK)
			rv = console_csrf_check(req, a->csrf);
		if (rv != BK_OK) {
			front_audit(req, "console_csrf", rv, p);
			console_fail(req, rv, NULL);
			return;
		}
	}
	if (strcmp(p, "/console/") == 0 || strcmp(p, "/console") == 0) {
		if (a->method == EVHTTP_REQ_GET)
			console_home(req, a);
		else
			console_fail(req, BK_E_HTTP_METHOD, NULL);
	} else if (strcmp(p, "/console/signout") == 0 &&
	    a->method == EVHTTP_REQ_POST)
		console_signout(req, a);
	else if (strncmp(p, "/console/t/", 11) == 0)
		console_tenant_route(req, a, p + 11);
	else
		console_fail(req, BK_E_HTTP_NOROUTE, NULL);
}

/* No session: a GET goes to the sign-in page, anything else is a 401. */
static void
console_no_session(struct front_req *req, struct console_ctx *a, int rv)
{
	if (a->sid != NULL)	/* a cookie that no longer opens anything */
		console_cookie_put(req, CONSOLE_COOKIE, "", 0);
	if (a->method == EVHTTP_REQ_GET)
		front_redirect(req, 303, "/console/signin");
	else
		console_fail(req, rv, NULL);
}

/*
 * The session as the admin API's credential (req->cred), for what the
 * console reuses of it (the audit reads check it again): its role, its
 * one tenant; the records keep the console's full name.
 */
static int
console_cred(struct front_req *req, struct console_ctx *a)
{
	struct admin_cred	 c;
	int			 rv;

	memset(&c, 0, sizeof(c));
	memcpy(c.name, a->cred, strnlen(a->cred, sizeof(c.name) - 1));
	c.role = strcmp(a->who.role, "operator") == 0 ? ADMIN_ROLE_OPERATOR :
	    console_role_has(a, "auditor") ? ADMIN_ROLE_AUDITOR :
	    ADMIN_ROLE_ADMIN;
	rv = c.role == ADMIN_ROLE_OPERATOR ? BK_OK :
	    admin_cred_tenant_add(&c, a->who.tenant);
	if (rv == BK_OK)
		rv = front_admin_cred_set(req, &c);
	admin_cred_cleanup(&c);
	req->fl.credential = a->cred;
	return rv;
}

static void
console_sess_read(void *arg, int rv, const char *rec, size_t len)
{
	struct front_req	*req = front_admin_held(arg);
	struct console_ctx	*a;

	if (req == NULL)
		return;
	a = req->aux;
	if (rv != BK_OK) {
		console_fail(req, rv, NULL);
		return;
	}
	if (rec == NULL || console_rec_parse(a, rec, len) != BK_OK ||
	    a->created + FRONT_CONSOLE_MAX_AGE < bk_now()) {
		console_no_session(req, a, BK_E_CONSOLE_SESSION);
		return;
	}
	a->signed_in = 1;
	console_credential_name(a);
	if ((rv = console_cred(req, a)) != BK_OK) {
		console_fail(req, rv, NULL);
		return;
	}
	console_route(req, a);
}

int
front_console_is_path(const char *path)
{
	return strcmp(path, "/") == 0 || strcmp(path, "/console") == 0 ||
	    strncmp(path, "/console/", 9) == 0;
}

void
front_console_dispatch(struct front_req *req, const char *path,
    const char *query, int method)
{
	struct console_ctx	*a;
	int			 rv;

	req->want_json = 0;
	req->csp = console_csp;
	req->referrer = "no-referrer";
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->path = bk_strdup(path)) == NULL) {
		free(a);
		front_reply(req, 503, "text/plain", "out of memory\n", 14);
		return;
	}
	a->method = method;
	req->aux = a;
	req->aux_free = console_ctx_free;
	if (query != NULL && (strlen(query) > FRONT_MAX_PARAM_LEN ||
	    (rv = front_params_parse(query, strlen(query), &req->q)) !=
	    BK_OK)) {
		console_fail(req, BK_E_HTTP_BADPARAM, "the query string is "
		    "too long or malformed");
		return;
	}
	if (strcmp(path, "/") == 0)
		front_redirect(req, 303, "/console/");
	else if (strcmp(path, "/console/style.css") == 0)
		console_css_get(req);
	else if (strcmp(path, "/console/signin") == 0 &&
	    method == EVHTTP_REQ_GET)
		console_signin_page(req, 200, NULL);
	else if (strcmp(path, "/console/signin") == 0 &&
	    method == EVHTTP_REQ_POST)
		console_signin_post(req, a);
	else if (strcmp(path, "/console/sso") == 0 &&
	    method == EVHTTP_REQ_GET)
		console_sfdc_redeem(req);
	else if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_POST)
		console_fail(req, BK_E_HTTP_METHOD, NULL);
	else if ((a->sid = console_cookie(req, CONSOLE_COOKIE)) == NULL)
		console_no_session(req, a, BK_E_CONSOLE_SESSION);
	else
		store_console_get(req->f->store_default, a->sid,
		    FRONT_CONSOLE_IDLE, console_sess_read,
		    front_admin_hold(req));
}
