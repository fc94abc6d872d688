/*
 * sso-broker: raw SAML Responses kept with their audit record (issue 9
 * item 6), and the admin route that hands one back.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A tenant with [saml] keep_raw_assertions = true keeps every Response
 * whose signatures were checked (junk that never got that far is only
 * counted, front_durable.c) as it was posted: front_raw_note() digests
 * it, front_audit() puts the digest in the record ("raw_sha256", sealed
 * with the record), and front_raw_keep() appends one JSON line to the
 * side file <audit path>.raw with the record's seq and chain, the
 * Response (base64, as received) and the IdP certificate that verified
 * it (DER, base64), flushed with the record's group commit.  A record
 * whose Response could not be kept fails as a record would: the sign-in
 * is refused.  GET /api/v1/audit/assertion?id=ID returns the newest line
 * kept for that assertion ID, for "ssoctl audit show-assertion ID
 * [--verify]", which checks the signature again offline.
 * Trust: the Response is untrusted bytes (only base64 text reaches the
 * file, in a JSON string); the side file read back is untrusted too
 * (parsed with jansson, every line checked).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "front_int.h"
#include "log.h"
#include "mon.h"
#include "saml.h"

#define FRONT_RAW_VERSION	1
/* Longest side-file line read back: a Response at its cap, base64. */
#define FRONT_RAW_LINE_MAX	(SAML_RESPONSE_MAX + 64 * 1024)
/* The side file scanned at most this far (newest last; older ignored). */
#define FRONT_RAW_SCAN_MAX	((off_t)512 << 20)

void
front_raw_note(struct front_req *req, const char *b64)
{
	if (req->t == NULL || !req->t->saml.keep_raw_assertions ||
	    b64 == NULL)
		return;
	req->fl.raw_b64 = b64;
	bk_sha256_hex(b64, strlen(b64), req->fl.raw_sha256);
}

const char *
front_raw_digest(struct front_req *req, const char *event, int junk)
{
	if (req->fl.raw_b64 == NULL || junk != FRONT_JUNK_NONE ||
	    strcmp(event, "assertion") != 0)
		return NULL;
	return req->fl.raw_sha256;
}

/* The certificate that verified it, base64 DER, returned-owned or NULL. */
static char *
front_raw_cert(struct front_req *req)
{
	const unsigned char	*der;
	size_t			 len;

	if (req->fl.cert_fp == NULL || req->t->saml_sp == NULL ||
	    saml_tenant_cert_der(req->t->saml_sp, req->fl.cert_fp, &der,
	    &len) != BK_OK)
		return NULL;
	return bk_b64_encode(der, len);
}

int
front_raw_keep(struct front_req *req, const char *line)
{
	json_t		*rec, *o;
	char		*cert, *s = NULL;
	int		 rv = BK_E_NOMEM;

	if ((rec = json_loads(line, 0, NULL)) == NULL)
		return BK_E_NOMEM;	/* our own line: only memory fails */
	cert = front_raw_cert(req);
	o = json_pack("{s:i, s:O?, s:O?, s:O?, s:O?, s:s, s:s?, s:s, s:s?, "
	    "s:b}", "v", FRONT_RAW_VERSION,
	    "assertion_id", json_object_get(rec, "assertion_id"),
	    "seq", json_object_get(rec, "seq"),
	    "chain", json_object_get(rec, "chain"),
	    "time", json_object_get(rec, "time"),
	    "tenant", req->t->id,
	    "idp_cert_fingerprint", req->fl.cert_fp,
	    "sha256", req->fl.raw_sha256,
	    "idp_cert", cert,
	    "allow_sha1", req->t->saml.allow_sha1);
	/* the Response last: a reader sees the small fields first */
	if (o != NULL && json_object_set_new(o, "response_b64",
	    json_string(req->fl.raw_b64)) == 0 &&
	    (s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII)) != NULL)
		rv = audit_raw_append(req->f->audit, s, strlen(s));
	if (rv != BK_OK)
		log_req(LOG_L_ERR, req->id, rv, "raw assertion not kept");
	/* one record of the request carries it */
	req->fl.raw_b64 = NULL;
	free(s);
	free(cert);
	json_decref(o);
	json_decref(rec);
	return rv;
}

/* --- GET /api/v1/audit/assertion?id=ID --- */

/* The newest line of fd whose assertion_id is id, returned-owned. */
static int
front_raw_find(int fd, const char *id, json_t **out)
{
	FILE		*fp;
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 n;
	off_t		 seen = 0;
	json_t		*o;
	const char	*v;

	*out = NULL;
	if ((fp = fdopen(fd, "r")) == NULL) {
		close(fd);
		return BK_E_IO;
	}
	while ((n = getline(&line, &cap, fp)) > 0 &&
	    (seen += n) <= FRONT_RAW_SCAN_MAX) {
		if (n > FRONT_RAW_LINE_MAX || strstr(line, id) == NULL)
			continue;
		if ((o = json_loadb(line, (size_t)n, 0, NULL)) == NULL)
			continue;	/* a line cut by a crash */
		v = json_string_value(json_object_get(o, "assertion_id"));
		if (v != NULL && strcmp(v, id) == 0) {
			json_decref(*out);
			*out = o;
		} else
			json_decref(o);
	}
	free(line);
	fclose(fp);
	return *out != NULL ? BK_OK : BK_E_AUDIT_RAW_NONE;
}

static void
front_raw_error(struct front_req *req, int rv)
{
	front_reply_json(req, bk_err_http(rv), json_pack("{s:s, s:s, s:s}",
	    "error", bk_err_slug(rv), "message", bk_strerror(rv),
	    "request_id", req->id));
}

void
front_raw_show(struct front_req *req)
{
	const char	*id = front_param(&req->q, "id");
	struct mon_files raw;
	json_t		*o = NULL;
	int		 rv;

	if ((rv = front_audit_access(req)) != BK_OK) {
		front_raw_error(req, rv);
		return;
	}
	if (id == NULL || *id == '\0' || strlen(id) > SAML_ID_MAX) {
		front_raw_error(req, BK_E_AUDIT_FILTER);
		return;
	}
	/* a read of the audit: on record first */
	if ((rv = front_audit_read_note(req, "show-assertion", NULL, -1,
	    BK_OK)) != BK_OK) {
		front_raw_error(req, rv);
		return;
	}
	/* opened by the parent (mon.c): the worker cannot open it */
	if ((rv = mon_files_get(req->f->conf->audit_path, MON_F_RAW,
	    &raw)) == BK_OK) {
		if (raw.n == 0)
			rv = BK_E_AUDIT_RAW_NONE;
		else {
			rv = front_raw_find(raw.f[0].fd, id, &o);
			raw.f[0].fd = -1;	/* closed by front_raw_find() */
		}
		mon_files_free(&raw);
	}
	/* a scoped auditor reads its own tenants' assertions only */
	if (rv == BK_OK && !front_admin_allows_id(req->cred,
	    ADMIN_ROLE_AUDITOR, json_string_value(json_object_get(o,
	    "tenant")))) {
		json_decref(o);
		front_admin_forbid(req, "read an assertion of another tenant");
		return;
	}
	if (rv != BK_OK)
		front_raw_error(req, rv);
	else
		front_reply_json(req, 200, o);
}
