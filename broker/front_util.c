/*
 * sso-broker: HTTP front helpers: parameters, cookies, client
 * authentication and replies (the pages are in front_page.c).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Parsing of parameters is in front_params.c.
 * Trust: all input here is untrusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "front_int.h"
#include "store_signin.h"
#include "log.h"

const char *
front_header(struct front_req *req, const char *name)
{
	if (req->ev == NULL)
		return NULL;
	return evhttp_find_header(evhttp_request_get_input_headers(req->ev),
	    name);
}

int
front_form_parse(struct front_req *req, size_t max)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req->ev);
	const char	*ct = front_header(req, "Content-Type");
	size_t		 len = evbuffer_get_length(in);
	unsigned char	*body;

	if (ct == NULL ||
	    strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0 ||
	    (ct[33] != '\0' && ct[33] != ';'))
		return BK_E_HTTP_CTYPE;
	if (len > max)
		return BK_E_HTTP_BODY_TOOBIG;
	if ((body = evbuffer_pullup(in, -1)) == NULL && len > 0)
		return BK_E_NOMEM;
	/* A line end after the last field (curl --data-binary) is no data. */
	while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r'))
		len--;
	return front_params_parse((const char *)body, len, &req->form);
}

/* Cookie header: "a=1; b=2" (RFC 6265 5.4). */
char *
front_cookie_get(struct front_req *req, const char *name)
{
	const char	*h = front_header(req, "Cookie"), *p, *semi, *eq;
	size_t		 nlen = strlen(name);

	if (h == NULL)
		return NULL;
	for (p = h; *p != '\0'; p = semi ? semi + 1 : p + strlen(p)) {
		while (*p == ' ')
			p++;
		semi = strchr(p, ';');
		eq = strchr(p, '=');
		if (eq == NULL || (semi != NULL && eq > semi))
			continue;
		if ((size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
			size_t vlen =
			    semi ? (size_t)(semi - eq - 1) : strlen(eq + 1);
			char *v;

			while (vlen > 0 && eq[vlen] == ' ')
				vlen--;
			if (vlen == 0 || vlen > 256)
				return NULL;
			if ((v = malloc(vlen + 1)) == NULL)
				return NULL;
			memcpy(v, eq + 1, vlen);
			v[vlen] = '\0';
			if (!bk_str_is_printable(v)) {
				free(v);
				return NULL;
			}
			return v;
		}
	}
	return NULL;
}

void
front_cookie_name(const struct front_req *req, const char *base,
    const char *suffix, char *buf, size_t size)
{
	int	 https = strncmp(req->f->conf->public_url, "https:", 6) == 0;

	snprintf(buf, size, "%s%s%s", https ? FRONT_COOKIE_HOST : "", base,
	    suffix != NULL ? suffix : "");
}

/*
 * Every value set here is one the broker minted (a fresh CSPRNG token) or
 * empty (a deletion): a value that came in a request is never echoed, so
 * a planted cookie cannot become the browser's binding (issue 6).
 */
void
front_cookie_set(struct front_req *req, const char *name, const char *value,
    int max_age, const char *samesite)
{
	char	 buf[512];

	if (req->ev == NULL)
		return;
	/*
	 * Secure always: browsers keep Secure cookies on http://127.0.0.1 and
	 * localhost too, and SameSite=None requires it.  Path=/ and no Domain
	 * are what a __Host- name requires (RFC 6265bis 4.1.3.2).
	 */
	snprintf(buf, sizeof(buf),
	    "%s=%s; Path=/; Max-Age=%d; HttpOnly; Secure; SameSite=%s",
	    name, value, max_age, samesite);
	evhttp_add_header(evhttp_request_get_output_headers(req->ev),
	    "Set-Cookie", buf);
}

void
front_cookie_clear(struct front_req *req, const char *name,
    const char *samesite)
{
	front_cookie_set(req, name, "", 0, samesite);
}

/* Basic credentials are form-urlencoded before base64 (RFC 6749 2.3.1). */
static int
front_basic_parse(const char *h, char **id, char **secret)
{
	unsigned char	*dec = NULL;
	size_t		 dlen, il;
	char		*colon;
	int		 rv = BK_E_OAUTH_INVALID_CLIENT;

	*id = *secret = NULL;
	if (strncasecmp(h, "Basic ", 6) != 0)
		return BK_E_OAUTH_INVALID_CLIENT;
	if (bk_b64_decode(h + 6, strlen(h + 6), 1024, &dec, &dlen) != BK_OK)
		return BK_E_OAUTH_INVALID_CLIENT;
	if (memchr(dec, '\0', dlen) != NULL ||
	    (colon = strchr((char *)dec, ':')) == NULL)
		goto out;
	il = (size_t)(colon - (char *)dec);
	if (front_decode((char *)dec, il, id, &il) != BK_OK ||
	    front_decode(colon + 1, strlen(colon + 1), secret,
	    &dlen) != BK_OK) {
		free(*id);
		bk_strfree_secret(*secret);
		*id = *secret = NULL;
		goto out;
	}
	rv = BK_OK;
 out:
	bk_freezero(dec, dlen);
	return rv;
}

int
front_client_auth(struct front_req *req, const struct conf_tenant **t)
{
	const char		*h = front_header(req, "Authorization");
	const char		*fid = front_param(&req->form, "client_id");
	const char		*fsec =
	    front_param(&req->form, "client_secret");
	char			*id = NULL, *secret = NULL;
	const struct conf_tenant *ct;
	char			 want[BK_DIGEST_HEX + 1],
	    got[BK_DIGEST_HEX + 1];
	int			 rv = BK_E_OAUTH_INVALID_CLIENT;

	*t = NULL;
	if (h != NULL && fsec != NULL)
		return BK_E_OAUTH_INVALID_REQUEST;	/* one method only */
	if (h != NULL) {
		if (front_basic_parse(h, &id, &secret) != BK_OK)
			return BK_E_OAUTH_INVALID_CLIENT;
		if (fid != NULL && strcmp(fid, id) != 0) {
			rv = BK_E_OAUTH_INVALID_REQUEST;
			goto out;
		}
	} else if (fid != NULL && fsec != NULL) {
		id = bk_strdup(fid);
		secret = bk_strdup(fsec);
	} else
		return BK_E_OAUTH_INVALID_CLIENT;
	if (id == NULL || secret == NULL) {
		rv = BK_E_NOMEM;
		goto out;
	}
	if ((ct = conf_tenant_by_client(req->f->conf, id)) == NULL) {
		/*
		 * Same work as a known client: no timing hint about client ids.
		 */
		bk_sha256_hex(secret, strlen(secret), got);
		goto out;
	}
	/*
	 * Compare digests in constant time (the secret's length stays hidden).
	 */
	bk_sha256_hex(ct->panel.client_secret, strlen(ct->panel.client_secret),
	    want);
	bk_sha256_hex(secret, strlen(secret), got);
	if (!bk_ct_eq(want, BK_DIGEST_HEX, got, BK_DIGEST_HEX))
		goto out;
	*t = ct;
	rv = BK_OK;
 out:
	free(id);
	bk_strfree_secret(secret);
	return rv;
}

/* --- replies --- */

static void
front_headers_common(struct front_req *req, const char *ctype)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req->ev);

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "X-Request-Id", req->id);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Pragma", "no-cache");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy",
	    req->referrer ? req->referrer : "no-referrer");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	{
		char	 csp[2048];

		front_page_csp(req, csp, sizeof(csp));
		evhttp_add_header(h, "Content-Security-Policy", csp);
	}
	if (strncmp(req->f->conf->public_url, "https:", 6) == 0 && !req->admin)
		evhttp_add_header(h, "Strict-Transport-Security",
		    "max-age=31536000");
}

static const char *
front_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 302: return "Found";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

void
front_reply(struct front_req *req, int status, const char *ctype,
    const char *body, size_t len)
{
	struct evbuffer	*out;
	void		(*page)(struct front_req *, int, const char *, size_t);

	if (req->replied)
		return;
	/* The console shows a JSON answer as a page (front_console.c). */
	if ((page = req->json_page) != NULL &&
	    strncmp(ctype, "application/json", 16) == 0) {
		req->json_page = NULL;
		page(req, status, body, len);
		return;
	}
	/* A sign-in's answer waits for its audit record to be durable. */
	if (front_durable_hold(req, status, ctype, body, len))
		return;
	req->replied = 1;
	req->status = status;
	if (req->ev != NULL) {
		struct evhttp_connection *evcon =
		    evhttp_request_get_connection(req->ev);

		if (evcon != NULL)
			evhttp_connection_set_closecb(evcon, NULL, NULL);
		front_headers_common(req, ctype);
		/* Draining: the client reconnects, to a new worker. */
		if (req->f->draining)
			evhttp_add_header(evhttp_request_get_output_headers(
			    req->ev), "Connection", "close");
		if (status == 405)
			evhttp_add_header(evhttp_request_get_output_headers(
			    req->ev), "Allow",
			    req->route == MR_ACS ? "POST" : "GET, POST");
		out = evbuffer_new();
		if (out != NULL && len > 0)
			evbuffer_add(out, body, len);
		evhttp_send_reply(req->ev, status, front_reason(status), out);
		if (out != NULL)
			evbuffer_free(out);
	}
	front_req_done(req);
}

/*
 * A streamed (chunked) reply: start, any number of chunks, end.  The
 * connection's close callback stays armed until the end, so a client
 * that leaves mid-stream still ends the request (status 499).
 */
int
front_reply_start(struct front_req *req, int status, const char *ctype)
{
	if (req->replied || req->ev == NULL)
		return BK_E_IO;
	req->status = status;
	front_headers_common(req, ctype);
	evhttp_send_reply_start(req->ev, status, front_reason(status));
	return BK_OK;
}

int
front_reply_chunk(struct front_req *req, struct evbuffer *b)
{
	if (req->replied || req->ev == NULL)
		return BK_E_IO;
	evhttp_send_reply_chunk(req->ev, b);
	return BK_OK;
}

void
front_reply_end(struct front_req *req)
{
	struct evhttp_connection *evcon;

	if (req->replied)
		return;
	req->replied = 1;
	if (req->ev != NULL) {
		if ((evcon = evhttp_request_get_connection(req->ev)) != NULL)
			evhttp_connection_set_closecb(evcon, NULL, NULL);
		evhttp_send_reply_end(req->ev);
	}
	front_req_done(req);
}

void
front_reply_json(struct front_req *req, int status, void *obj)
{
	json_t	*o = obj;
	char	*s;

	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (s == NULL)
		front_reply(req, 500, "application/json",
		    "{\"error\":\"server_error\"}", 24);
	else
		front_reply(req, status, "application/json", s, strlen(s));
	free(s);
	json_decref(o);
}

void
front_redirect(struct front_req *req, int status, const char *url)
{
	if (req->ev != NULL && !req->replied)
		evhttp_add_header(evhttp_request_get_output_headers(req->ev),
		    "Location", url);
	front_reply(req, status, "text/html; charset=utf-8", "", 0);
}

static int
front_wants_json(struct front_req *req)
{
	const char *a = front_header(req, "Accept");

	return req->want_json ||
	    (a != NULL && strstr(a, "application/json") != NULL &&
	    strstr(a, "text/html") == NULL);
}

void
front_error(struct front_req *req, int rv, const char *detail)
{
	int	 status = bk_err_http(rv);
	json_t	*o;

	if (status < 400)
		status = 500;
	if (front_wants_json(req)) {
		o = json_pack("{s:s, s:s, s:s}", "error", bk_err_slug(rv),
		    "error_description", bk_strerror(rv), "request_id",
		    req->id);
		front_reply_json(req, status, o);
		return;
	}
	/* details go to the log and the audit record only (P35) */
	(void)detail;
	front_page_error(req, status, rv);
}

void
front_oauth_error(struct front_req *req, int rv, const char *description)
{
	int	 status = bk_err_http(rv);
	json_t	*o;
	const char *slug = bk_err_slug(rv);

	if (rv == BK_E_STORE_DOWN || rv == BK_E_STORE_TIMEOUT ||
	    rv == BK_E_STORE_REPLY || rv == BK_E_STORE_REPLICA ||
	    rv == BK_E_AUDIT_WRITE) {
		slug = "temporarily_unavailable";
		status = 503;
	} else if (status >= 500)
		slug = "server_error";
	o = json_pack("{s:s, s:s, s:s}", "error", slug, "error_description",
	    description ? description : bk_strerror(rv), "request_id", req->id);
	if (req->ev != NULL && status == 401)
		evhttp_add_header(evhttp_request_get_output_headers(req->ev),
		    "WWW-Authenticate", "Basic realm=\"sso-broker\"");
	front_reply_json(req, status, o);
}

/* The proof's fields (verified, or as claimed on a refusal). */
static void
front_audit_proof(const struct front_req *req, struct audit_rec *r)
{
	const struct front_flow	*fl = &req->fl;

	r->issuer = fl->issuer;
	r->name_id = fl->name_id;
	r->user = fl->user;
	r->internal_id = fl->internal_id;
	r->assertion_id = fl->assertion_id;
	r->issue_instant = fl->issue_instant;
	r->authn_instant = fl->authn_instant;
	r->session_index = fl->session_index;
	r->sig_alg = fl->sig_alg;
	r->digest_alg = fl->digest_alg;
	r->cert_fingerprint = fl->cert_fp;
	r->key_id = fl->key_id;
	r->in_response_to = fl->request_id;
}

int
front_audit(struct front_req *req, const char *event, int rv,
    const char *detail)
{
	struct audit_rec	 r;
	char			*line = NULL;
	int			 wrv, junk;

	/* Junk (no verified signature) is counted, not recorded each time. */
	if ((junk = front_durable_junk(req, event, rv)) == FRONT_JUNK_COUNTED)
		return BK_OK;
	memset(&r, 0, sizeof(r));
	r.event = event;
	r.outcome = rv == BK_OK ? "accepted" : "rejected";
	r.reason = bk_err_slug(rv);
	r.detail = detail;
	r.tenant = req->t ? req->t->id : NULL;
	front_audit_proof(req, &r);
	r.client_addr = req->addr;
	r.peer_addr = req->peer[0] != '\0' ? req->peer : NULL;
	r.client_addr_note = req->addr_note;
	r.user_agent = front_header(req, "User-Agent");
	r.request_id = req->id;
	r.instance = req->f->conf->instance;
	r.client_id = req->fl.client_id;
	r.credential = req->fl.credential;
	r.before = req->fl.before;
	r.after = req->fl.after;
	r.raw_sha256 = front_raw_digest(req, event, junk);
	wrv = audit_write_line(req->f->audit, &r, &line);
	/* keep_raw_assertions: the Response beside its record (front_raw.c) */
	if (wrv == BK_OK && r.raw_sha256 != NULL)
		wrv = front_raw_keep(req, line);
	if (wrv == BK_OK && junk == FRONT_JUNK_NONE)
		front_durable_note(req);
	metrics_decision(rv == BK_OK, rv);
	metrics_decision_record(r.tenant, event, rv == BK_OK, rv);
	/*
	 * The shared copy: every broker's records in one stream per tenant
	 * (records without a tenant in the broker-wide one), and the chain
	 * head.  The local file is the record of authority (it survives a
	 * Redis outage), so this send is not waited for.
	 */
	if (line != NULL)	/* and the SIEM's copy (front_audit_read.c) */
		front_audit_share(req, &r, line);
	free(line);
	if (wrv != BK_OK)
		log_req(LOG_L_ERR, req->id, wrv,
		    "audit record not written (%s %s)",
		    event, bk_err_slug(rv));
	return wrv;
}
