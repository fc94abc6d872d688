/*
 * sso-broker: ssoctl, the admin and audit command-line client.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * This file holds main(), the set-up (URL, admin token, tenant) and the one
 * HTTP exchange function built on the libcurl easy API; the verbs and their
 * output live in ssoctl_cmd.c, the command-line parser in ssoctl_args.c.
 * Every failure ends as one line "ssoctl: <reason>" on stderr.
 * Trust: the answers of the admin listener (status, body) are untrusted;
 * bodies are capped and sanitised before display.  The admin token is a
 * secret: it is never printed and is zeroed on release.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ssoctl_int.h"

int
ssoctl_fail(struct ssoctl *c, int rv, const char *fmt, ...)
{
	va_list	ap;

	/* Keep the first reason: it is the cause, later ones are effects. */
	if (c->err[0] != '\0')
		return rv;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return rv;
}

void
ssoctl_sanitize(const char *s, char *out, size_t outlen)
{
	size_t	i;

	if (outlen == 0)
		return;
	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < outlen; i++) {
		unsigned char ch = (unsigned char)s[i];

		/* No terminal escapes or line breaks from the server. */
		out[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	out[i] = '\0';
}

/* Only printable, non-blank ASCII may go into the Authorization header. */
static int
ssoctl_token_check(struct ssoctl *c, const char *tok, const char *from)
{
	size_t	i;

	if (tok[0] == '\0')
		return ssoctl_fail(c, BK_E_INVAL, "%s: the token is empty",
		    from);
	for (i = 0; tok[i] != '\0'; i++) {
		if ((unsigned char)tok[i] <= 0x20 ||
		    (unsigned char)tok[i] >= 0x7f)
			return ssoctl_fail(c, BK_E_INVAL, "%s: the token "
			    "contains a blank or non-ASCII byte", from);
	}
	return BK_OK;
}

/*
 * Read the token file, refusing one that group or others can read or
 * write, as ssh refuses a private key [OpenSSH sshkey_perm_ok].
 */
static int
ssoctl_token_read(struct ssoctl *c, const char *path)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, rv = BK_E_IO;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return ssoctl_fail(c, BK_E_IO, "%s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) == -1) {
		ssoctl_fail(c, BK_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ssoctl_fail(c, BK_E_INVAL, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		rv = ssoctl_fail(c, BK_E_PERM, "%s: token file permissions "
		    "%04o are too open (it must not be accessible by group "
		    "or others: chmod 600 %s)", path,
		    (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if ((buf = calloc(1, SSOCTL_MAX_TOKEN + 1)) == NULL) {
		rv = ssoctl_fail(c, BK_E_NOMEM, "out of memory");
		goto out;
	}
	while (len < SSOCTL_MAX_TOKEN + 1) {
		n = read(fd, buf + len, SSOCTL_MAX_TOKEN + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			ssoctl_fail(c, BK_E_IO, "%s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > SSOCTL_MAX_TOKEN) {
		rv = ssoctl_fail(c, BK_E_TOOBIG, "%s: token file is larger "
		    "than %d bytes", path, SSOCTL_MAX_TOKEN);
		goto out;
	}
	/* One trailing newline (and blanks) is what editors leave. */
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	    buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		buf[--len] = '\0';
	buf[len] = '\0';
	if ((rv = ssoctl_token_check(c, buf, path)) != BK_OK)
		goto out;
	c->token = buf;
	buf = NULL;
	rv = BK_OK;
 out:
	bk_freezero(buf, SSOCTL_MAX_TOKEN + 1);
	close(fd);
	return rv;
}

/* SSOCTL_TOKEN wins over --token-file (as documented in ssoctl(1)). */
static int
ssoctl_token_load(struct ssoctl *c)
{
	const char	*env = getenv("SSOCTL_TOKEN");
	const char	*file = c->args->opt[SSOCTL_O_TOKEN_FILE];
	int		 rv;

	if (env != NULL && env[0] != '\0') {
		if ((rv = ssoctl_token_check(c, env, "SSOCTL_TOKEN")) != BK_OK)
			return rv;
		if ((c->token = bk_strdup(env)) == NULL)
			return ssoctl_fail(c, BK_E_NOMEM, "out of memory");
		return BK_OK;
	}
	if (file != NULL)
		return ssoctl_token_read(c, file);
	c->exit_code = SSOCTL_EXIT_USAGE;
	return ssoctl_fail(c, BK_E_INVAL, "no admin token: set SSOCTL_TOKEN "
	    "or pass --token-file FILE");
}

static int
ssoctl_host_is_loopback(const char *host)
{
	return strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
	    strcmp(host, "::1") == 0 || strncmp(host, "127.", 4) == 0;
}

/* Check --url / SSOCTL_URL with curl's own URL parser. */
static int
ssoctl_url_setup(struct ssoctl *c)
{
	const char	*url = c->args->opt[SSOCTL_O_URL];
	CURLU		*u = NULL;
	char		*scheme = NULL, *host = NULL, *part = NULL;
	size_t		 len;
	int		 rv = BK_E_INVAL;

	if (url == NULL && (url = getenv("SSOCTL_URL")) != NULL &&
	    url[0] == '\0')
		url = NULL;
	if (url == NULL)
		url = SSOCTL_DEFAULT_URL;
	c->exit_code = SSOCTL_EXIT_USAGE;
	if ((u = curl_url()) == NULL) {
		rv = ssoctl_fail(c, BK_E_NOMEM, "out of memory");
		goto out;
	}
	if (!bk_str_is_printable(url) || strchr(url, ' ') != NULL ||
	    curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		ssoctl_fail(c, rv, "invalid URL '%s'", url);
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		ssoctl_fail(c, rv, "invalid URL '%s': only http and https "
		    "are supported", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
		ssoctl_fail(c, rv, "invalid URL '%s': no credentials, query "
		    "or fragment allowed (the token goes in SSOCTL_TOKEN)",
		    url);
		goto out;
	}
	if ((c->url = bk_strdup(url)) == NULL) {
		rv = ssoctl_fail(c, BK_E_NOMEM, "out of memory");
		goto out;
	}
	len = strlen(c->url);
	while (len > 0 && c->url[len - 1] == '/')
		c->url[--len] = '\0';
	/* Not an error: a TLS-terminating tunnel may be in between. */
	if (strcmp(scheme, "http") == 0 && !ssoctl_host_is_loopback(host))
		fprintf(stderr, "ssoctl: warning: sending the admin token "
		    "over plain http to %s\n", host);
	c->exit_code = SSOCTL_EXIT_FAIL;
	rv = BK_OK;
 out:
	curl_free(part);
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rv;
}

int
ssoctl_buf_escape(struct ssoctl *c, struct bk_buf *b, const char *s)
{
	char	*e;
	int	 rv;

	if ((e = curl_easy_escape(c->curl, s, (int)strlen(s))) == NULL)
		return ssoctl_fail(c, BK_E_NOMEM, "out of memory");
	rv = bk_buf_adds(b, e);
	curl_free(e);
	if (rv != BK_OK)
		return ssoctl_fail(c, rv, "request URL too long");
	return BK_OK;
}

void
ssoctl_resp_init(struct ssoctl_resp *r, FILE *sink)
{
	memset(r, 0, sizeof(*r));
	r->sink = sink;
	bk_buf_init(&r->body, sink != NULL ? SSOCTL_MAX_ERRBODY :
	    SSOCTL_MAX_RESPONSE);
}

void
ssoctl_resp_cleanup(struct ssoctl_resp *r)
{
	bk_buf_free(&r->body);
}

struct ssoctl_wctx {
	struct ssoctl_resp	*r;
	CURL			*curl;
	int			 toobig;
};

static size_t
ssoctl_write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct ssoctl_wctx	*w = arg;
	struct ssoctl_resp	*r = w->r;
	size_t			 n = size * nmemb;
	long			 status = 0;

	curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
	/* Stream only a success body; an error body is kept to report. */
	if (r->sink != NULL && status >= 200 && status < 300) {
		r->streamed = 1;
		if (fwrite(p, 1, n, r->sink) != n) {
			r->sink_err = errno != 0 ? errno : EIO;
			return 0;
		}
		return n;
	}
	if (bk_buf_add(&r->body, p, n) != BK_OK) {
		w->toobig = 1;
		return 0;
	}
	return n;
}

/* Turn a libcurl failure into the one-line reason. */
static int
ssoctl_http_fail(struct ssoctl *c, CURLcode cc, const char *errbuf,
    const struct ssoctl_wctx *w)
{
	const char	*detail;
	long		 oserr = 0;

	detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc);

	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &oserr);
		return ssoctl_fail(c, BK_E_UNAVAILABLE, "cannot connect to "
		    "%s: %s", c->url, oserr != 0 ? strerror((int)oserr) :
		    detail);
	case CURLE_COULDNT_RESOLVE_HOST:
		return ssoctl_fail(c, BK_E_UNAVAILABLE, "cannot connect to "
		    "%s: %s", c->url, detail);
	case CURLE_OPERATION_TIMEDOUT:
		return ssoctl_fail(c, BK_E_UNAVAILABLE, "%s: no answer "
		    "within %ld s (see --timeout)", c->url, c->timeout);
	case CURLE_WRITE_ERROR:
		if (w->r->sink_err != 0)
			return ssoctl_fail(c, BK_E_IO, "write error: %s",
			    strerror(w->r->sink_err));
		if (w->toobig)
			return ssoctl_fail(c, BK_E_TOOBIG, "the answer from "
			    "%s exceeds %lu MiB", c->url,
			    (unsigned long)(w->r->body.max >> 20));
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
		return ssoctl_fail(c, BK_E_IO, "TLS certificate of %s not "
		    "trusted: %s (SSOCTL_CA_FILE names a private CA)", c->url,
		    detail);
	case CURLE_FILESIZE_EXCEEDED:
		return ssoctl_fail(c, BK_E_TOOBIG, "the answer from %s "
		    "exceeds %lu MiB", c->url,
		    (unsigned long)(w->r->body.max >> 20));
	default:
		break;
	}
	return ssoctl_fail(c, BK_E_IO, "request to %s failed: %s", c->url,
	    detail);
}

/* Options that every request carries; set after curl_easy_reset(). */
static int
ssoctl_http_setopts(struct ssoctl *c, const char *url, int streaming)
{
	const char	*ca = getenv("SSOCTL_CA_FILE");
	CURLcode	 cc = CURLE_OK;

#define SETOPT(o, v) do { \
	if (cc == CURLE_OK) \
		cc = curl_easy_setopt(c->curl, (o), (v)); \
} while (0)
	SETOPT(CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	/* The admin token must not go through a proxy for a local broker. */
	SETOPT(CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
	SETOPT(CURLOPT_USERAGENT, "ssoctl/" PACKAGE_VERSION);
	SETOPT(CURLOPT_CONNECTTIMEOUT, c->timeout);
	if (streaming) {
		/* An export may be long; fail on a stall, not on length. */
		SETOPT(CURLOPT_LOW_SPEED_LIMIT, 1L);
		SETOPT(CURLOPT_LOW_SPEED_TIME, c->timeout);
	} else {
		SETOPT(CURLOPT_TIMEOUT, c->timeout);
		SETOPT(CURLOPT_MAXFILESIZE_LARGE,
		    (curl_off_t)SSOCTL_MAX_RESPONSE);
	}
	if (ca != NULL && ca[0] != '\0')
		SETOPT(CURLOPT_CAINFO, ca);
#undef SETOPT
	if (cc != CURLE_OK)
		return ssoctl_fail(c, BK_E_INTERNAL, "libcurl: %s",
		    curl_easy_strerror(cc));
	return BK_OK;
}

static struct curl_slist *
ssoctl_http_headers(struct ssoctl *c, const char *ctype, int *ok)
{
	struct curl_slist	*h = NULL, *t;
	struct bk_buf		 b;

	*ok = 0;
	bk_buf_init(&b, SSOCTL_MAX_TOKEN + 64);
	if (bk_buf_addf(&b, "Authorization: Bearer %s", c->token) != BK_OK)
		goto out;
	if ((t = curl_slist_append(h, b.data)) == NULL)
		goto out;
	h = t;
	/* evhttp does not answer "Expect: 100-continue"; don't wait. */
	if ((t = curl_slist_append(h, "Expect:")) == NULL)
		goto out;
	h = t;
	/* No body type for a bodiless POST, not curl's form default. */
	if (ctype == NULL && (t = curl_slist_append(h, "Content-Type:")) ==
	    NULL)
		goto out;
	h = t;
	if (ctype != NULL) {
		bk_buf_free(&b);
		if (bk_buf_addf(&b, "Content-Type: %s", ctype) != BK_OK ||
		    (t = curl_slist_append(h, b.data)) == NULL)
			goto out;
		h = t;
	}
	*ok = 1;
 out:
	bk_buf_free(&b);
	return h;
}

int
ssoctl_http(struct ssoctl *c, const char *method, const char *path,
    const char *body, size_t bodylen, const char *ctype,
    struct ssoctl_resp *r)
{
	struct ssoctl_wctx	 w = { r, c->curl, 0 };
	struct curl_slist	*hdr = NULL;
	struct bk_buf		 url;
	char			 errbuf[CURL_ERROR_SIZE];
	CURLcode		 cc = CURLE_OK;
	int			 ok, rv;

	errbuf[0] = '\0';
	bk_buf_init(&url, 64 * 1024);
	if ((rv = bk_buf_addf(&url, "%s%s", c->url, path)) != BK_OK) {
		rv = ssoctl_fail(c, rv, "request URL too long");
		goto out;
	}
	curl_easy_reset(c->curl);
	if ((rv = ssoctl_http_setopts(c, url.data, r->sink != NULL)) != BK_OK)
		goto out;
	hdr = ssoctl_http_headers(c, ctype, &ok);
	if (!ok) {
		rv = ssoctl_fail(c, BK_E_NOMEM, "out of memory");
		goto out;
	}
	cc = curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdr);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION,
		    ssoctl_write_cb);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &w);
	if (cc == CURLE_OK && strcmp(method, "GET") == 0)
		cc = curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	else if (cc == CURLE_OK && strcmp(method, "DELETE") == 0)
		cc = curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	else if (cc == CURLE_OK) {
		/* POST or PUT, with a body (possibly empty). */
		cc = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)bodylen);
		if (cc == CURLE_OK)
			cc = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS,
			    body != NULL ? body : "");
		if (cc == CURLE_OK && strcmp(method, "POST") != 0)
			cc = curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST,
			    method);
	}
	if (cc != CURLE_OK) {
		rv = ssoctl_fail(c, BK_E_INTERNAL, "libcurl: %s",
		    curl_easy_strerror(cc));
		goto out;
	}
	if ((cc = curl_easy_perform(c->curl)) != CURLE_OK) {
		rv = ssoctl_http_fail(c, cc, errbuf, &w);
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
	rv = BK_OK;
 out:
	/* Do not leave pointers to this frame in the handle. */
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdr);
	bk_buf_free(&url);
	return rv;
}

int
ssoctl_json_parse(struct ssoctl *c, const struct ssoctl_resp *r,
    json_t **out)
{
	json_error_t	 jerr;
	json_t		*j;

	*out = NULL;
	if (r->body.len == 0 || (j = json_loadb(r->body.data, r->body.len,
	    JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return ssoctl_fail(c, BK_E_INVAL, "HTTP %ld from %s: the "
		    "answer is not JSON", r->status, c->url);
	if (!json_is_object(j)) {
		json_decref(j);
		return ssoctl_fail(c, BK_E_INVAL, "HTTP %ld from %s: the "
		    "answer is not a JSON object", r->status, c->url);
	}
	*out = j;
	return BK_OK;
}

int
ssoctl_api_error(struct ssoctl *c, const struct ssoctl_resp *r)
{
	json_error_t	 jerr;
	json_t		*j = NULL;
	const char	*slug = NULL, *msg = NULL;
	char		 s1[128], s2[512], line[200];
	size_t		 i;

	if (r->body.len > 0)
		j = json_loadb(r->body.data, r->body.len, 0, &jerr);
	if (json_is_object(j)) {
		slug = json_string_value(json_object_get(j, "error"));
		msg = json_string_value(json_object_get(j, "message"));
	}
	if (slug != NULL) {
		ssoctl_sanitize(slug, s1, sizeof(s1));
		ssoctl_sanitize(msg, s2, sizeof(s2));
		if (s2[0] != '\0')
			ssoctl_fail(c, BK_E_INVAL, "%ld %s: %s", r->status, s1,
			    s2);
		else
			ssoctl_fail(c, BK_E_INVAL, "%ld %s", r->status, s1);
	} else {
		/* Not our JSON (a proxy?): show the start of the body. */
		line[0] = '\0';
		if (r->body.len > 0) {
			for (i = 0; i < r->body.len && i + 1 < sizeof(line) &&
			    r->body.data[i] != '\n'; i++)
				line[i] = r->body.data[i];
			line[i] = '\0';
			ssoctl_sanitize(line, line, sizeof(line));
		}
		ssoctl_fail(c, BK_E_INVAL, "HTTP %ld from %s%s%s", r->status,
		    c->url, line[0] != '\0' ? ": " : "", line);
	}
	json_decref(j);
	return BK_E_INVAL;
}

int
ssoctl_json_call(struct ssoctl *c, const char *method, const char *path,
    const char *body, json_t **out, long *status)
{
	struct ssoctl_resp	r;
	int			rv;

	*out = NULL;
	ssoctl_resp_init(&r, NULL);
	rv = ssoctl_http(c, method, path, body, body != NULL ? strlen(body) : 0,
	    body != NULL ? "application/json" : NULL, &r);
	if (rv != BK_OK)
		goto out;
	if (status != NULL)
		*status = r.status;
	if (r.status < 200 || r.status > 299) {
		rv = ssoctl_api_error(c, &r);
		goto out;
	}
	rv = ssoctl_json_parse(c, &r, out);
 out:
	ssoctl_resp_cleanup(&r);
	return rv;
}

int
ssoctl_tenant_resolve(struct ssoctl *c)
{
	const char	*t = c->args->opt[SSOCTL_O_TENANT], *id;
	json_t		*j = NULL, *arr, *e;
	struct bk_buf	 names;
	size_t		 i;
	int		 rv;

	if (c->tenant != NULL)
		return BK_OK;
	if (t == NULL && (t = getenv("SSOCTL_TENANT")) != NULL && t[0] == '\0')
		t = NULL;
	if (t != NULL) {
		if ((c->tenant = bk_strdup(t)) == NULL)
			return ssoctl_fail(c, BK_E_NOMEM, "out of memory");
		return BK_OK;
	}
	bk_buf_init(&names, 4096);
	if ((rv = ssoctl_json_call(c, "GET", "/api/v1/tenants", NULL, &j,
	    NULL)) != BK_OK)
		goto out;
	arr = json_object_get(j, "tenants");
	if (!json_is_array(arr)) {
		rv = ssoctl_fail(c, BK_E_INVAL, "unexpected answer to GET "
		    "/api/v1/tenants (no tenants array)");
		goto out;
	}
	if (json_array_size(arr) == 0) {
		rv = ssoctl_fail(c, BK_E_NOT_FOUND, "the broker has no "
		    "tenants");
		goto out;
	}
	json_array_foreach(arr, i, e) {
		if ((id = json_string_value(json_object_get(e, "id"))) == NULL)
			continue;
		if (i > 0)
			bk_buf_adds(&names, ", ");
		if (bk_buf_adds(&names, id) != BK_OK)
			break;
	}
	if (json_array_size(arr) > 1) {
		char clean[1024];

		ssoctl_sanitize(names.data, clean, sizeof(clean));
		rv = ssoctl_fail(c, BK_E_INVAL, "several tenants: pass "
		    "--tenant (one of: %s)", clean);
		goto out;
	}
	id = json_string_value(json_object_get(json_array_get(arr, 0), "id"));
	if (id == NULL || id[0] == '\0') {
		rv = ssoctl_fail(c, BK_E_INVAL, "unexpected answer to GET "
		    "/api/v1/tenants (tenant without id)");
		goto out;
	}
	if ((c->tenant = bk_strdup(id)) == NULL) {
		rv = ssoctl_fail(c, BK_E_NOMEM, "out of memory");
		goto out;
	}
	rv = BK_OK;
 out:
	bk_buf_free(&names);
	json_decref(j);
	return rv;
}

static int
ssoctl_setup(struct ssoctl *c)
{
	const char	*why = NULL, *s = c->args->opt[SSOCTL_O_TIMEOUT];
	long long	 n;
	int		 rv;

	c->json = c->args->opt[SSOCTL_O_JSON] != NULL;
	c->timeout = SSOCTL_DEFAULT_TIMEOUT;
	if (s != NULL) {
		if (bk_strtonum(s, 1, 86400, &n, &why) != BK_OK) {
			c->exit_code = SSOCTL_EXIT_USAGE;
			return ssoctl_fail(c, BK_E_INVAL, "--timeout %s: %s "
			    "(1 to 86400 seconds)", s, why != NULL ? why :
			    "invalid");
		}
		c->timeout = (long)n;
	}
	if ((rv = ssoctl_url_setup(c)) != BK_OK)
		return rv;
	if ((rv = ssoctl_token_load(c)) != BK_OK)
		return rv;
	c->exit_code = SSOCTL_EXIT_FAIL;
	if ((c->curl = curl_easy_init()) == NULL)
		return ssoctl_fail(c, BK_E_NOMEM, "cannot initialise libcurl");
	return BK_OK;
}

static int
ssoctl_dispatch(struct ssoctl *c)
{
	switch (c->args->verb) {
	case SSOCTL_V_TENANTS_LIST:
		return ssoctl_cmd_tenants_list(c);
	case SSOCTL_V_TENANTS_SHOW:
		return ssoctl_cmd_tenants_show(c);
	case SSOCTL_V_TENANTS_SSO:
		return ssoctl_cmd_tenants_sso(c);
	case SSOCTL_V_USERS_EXPORT:
		return ssoctl_cmd_users_export(c);
	case SSOCTL_V_USERS_IMPORT:
		return ssoctl_cmd_users_import(c);
	case SSOCTL_V_USERS_GET:
		return ssoctl_cmd_users_get(c);
	case SSOCTL_V_USERS_SET:
		return ssoctl_cmd_users_set(c);
	case SSOCTL_V_USERS_DELETE:
		return ssoctl_cmd_users_delete(c);
	case SSOCTL_V_SESSIONS_REVOKE:
		return ssoctl_cmd_sessions_revoke(c);
	case SSOCTL_V_AUDIT_QUERY:
		return ssoctl_cmd_audit_query(c);
	case SSOCTL_V_AUDIT_EXPORT:
		return ssoctl_cmd_audit_export(c);
	case SSOCTL_V_AUDIT_VERIFY:
		return ssoctl_cmd_audit_verify(c);
	case SSOCTL_V_AUDIT_KEYGEN:
		return ssoctl_cmd_audit_keygen(c);
	case SSOCTL_V_AUDIT_SHOW_ASSERTION:
		return ssoctl_cmd_audit_show_assertion(c);
	case SSOCTL_V_ADMINS_LIST:
		return ssoctl_cmd_admins_list(c);
	case SSOCTL_V_ADMINS_ADD:
		return ssoctl_cmd_admins_add(c);
	case SSOCTL_V_ADMINS_REVOKE:
		return ssoctl_cmd_admins_revoke(c);
	default:
		break;
	}
	return ssoctl_fail(c, BK_E_INTERNAL, "internal error: no verb");
}

int
main(int argc, char *argv[])
{
	struct ssoctl_args	args;
	struct ssoctl		c;
	char			err[512];
	int			rv, code;

	if (ssoctl_args_parse(argc, argv, &args, err, sizeof(err)) != BK_OK) {
		fprintf(stderr, "ssoctl: %s\n", err);
		return SSOCTL_EXIT_USAGE;
	}
	if (args.verb == SSOCTL_V_HELP) {
		fputs(ssoctl_usage, stdout);
		return fflush(stdout) == 0 ? SSOCTL_EXIT_OK : SSOCTL_EXIT_FAIL;
	}
	if (args.verb == SSOCTL_V_VERSION) {
		printf("ssoctl (sso-broker) %s\n", PACKAGE_VERSION);
		return fflush(stdout) == 0 ? SSOCTL_EXIT_OK : SSOCTL_EXIT_FAIL;
	}
	memset(&c, 0, sizeof(c));
	c.args = &args;
	c.exit_code = SSOCTL_EXIT_FAIL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "ssoctl: cannot initialise libcurl\n");
		return SSOCTL_EXIT_FAIL;
	}
	if (ssoctl_verb_is_offline(&args)) {
		c.json = args.opt[SSOCTL_O_JSON] != NULL;
		rv = ssoctl_dispatch(&c);
	} else if ((rv = ssoctl_setup(&c)) == BK_OK)
		rv = ssoctl_dispatch(&c);
	if (rv == BK_OK && (fflush(stdout) != 0 || ferror(stdout)))
		rv = ssoctl_fail(&c, BK_E_IO, "write error on standard "
		    "output: %s", strerror(errno));
	code = SSOCTL_EXIT_OK;
	if (rv != BK_OK) {
		if (c.err[0] == '\0')
			ssoctl_fail(&c, rv, "%s", bk_strerror(rv));
		fflush(stdout);
		fprintf(stderr, "ssoctl: %s\n", c.err);
		code = c.exit_code != SSOCTL_EXIT_OK ? c.exit_code :
		    SSOCTL_EXIT_FAIL;
	}
	if (c.curl != NULL)
		curl_easy_cleanup(c.curl);
	curl_global_cleanup();
	bk_strfree_secret(c.token);
	free(c.tenant);
	free(c.url);
	return code;
}
