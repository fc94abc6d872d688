/*
 * sso-broker: ssoctl audit show-assertion ID [--verify] [--file F.raw].
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Prints a raw SAML Response kept with its audit record (tenant
 * [saml] keep_raw_assertions): from the broker (GET
 * /api/v1/audit/assertion?id=ID) or, with --file, from a side file
 * <audit path>.raw copied off the broker (no broker needed).  --verify
 * checks, offline, that the Response is the one the record's raw_sha256
 * names (its SHA-256), that the certificate kept is the one whose
 * fingerprint the record names, and that the Response's XML signatures
 * verify with that certificate (saml_response_recheck(): the daemon's own
 * parser, limits and signature checks, no IdP, no network).
 * Trust: the answer or the file may have been edited: every field is
 * checked for type, compared in constant time where it is a digest, and
 * sanitized before it reaches the terminal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "saml.h"
#include "ssoctl_int.h"

/* The newest line of path for the assertion ID id, returned-owned. */
static int
ssoctl_raw_file_find(struct ssoctl *c, const char *path, const char *id,
    json_t **out)
{
	FILE		*fp;
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 n;
	json_t		*o;
	const char	*v;

	*out = NULL;
	if ((fp = fopen(path, "r")) == NULL)
		return ssoctl_fail(c, BK_E_IO, "%s: %s", path, strerror(errno));
	while ((n = getline(&line, &cap, fp)) > 0) {
		if (strstr(line, id) == NULL ||
		    (o = json_loadb(line, (size_t)n, 0, NULL)) == NULL)
			continue;
		v = json_string_value(json_object_get(o, "assertion_id"));
		if (v != NULL && strcmp(v, id) == 0) {
			json_decref(*out);
			*out = o;
		} else
			json_decref(o);
	}
	free(line);
	fclose(fp);
	if (*out == NULL)
		return ssoctl_fail(c, BK_E_AUDIT_RAW_NONE,
		    "%s: no raw assertion with ID %s", path, id);
	return BK_OK;
}

static int
ssoctl_raw_fetch(struct ssoctl *c, const char *id, json_t **out)
{
	struct bk_buf	 path;
	int		 rv;

	bk_buf_init(&path, 4096);
	if ((rv = bk_buf_adds(&path, "/api/v1/audit/assertion?id=")) ==
	    BK_OK && (rv = ssoctl_buf_escape(c, &path, id)) == BK_OK)
		rv = ssoctl_json_call(c, "GET", path.data, NULL, out, NULL);
	bk_buf_free(&path);
	return rv;
}

static const char *
ssoctl_raw_str(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v != NULL ? v : "";
}

/* The kept line's facts, then the Response's XML (control bytes masked). */
static int
ssoctl_raw_print(struct ssoctl *c, json_t *o)
{
	const char	*k[] = { "assertion_id", "tenant", "time", "chain",
	    "sha256", "idp_cert_fingerprint" };
	char		 buf[1024];
	unsigned char	*xml = NULL;
	size_t		 i, len = 0;

	for (i = 0; i < BK_NELEM(k); i++) {
		ssoctl_sanitize(ssoctl_raw_str(o, k[i]), buf, sizeof(buf));
		printf("%-22s %s\n", k[i], buf);
	}
	printf("%-22s %lld\n", "seq",
	    (long long)json_integer_value(json_object_get(o, "seq")));
	if (bk_b64_decode(ssoctl_raw_str(o, "response_b64"),
	    strlen(ssoctl_raw_str(o, "response_b64")), SAML_RESPONSE_MAX, &xml,
	    &len) != BK_OK)
		return ssoctl_fail(c, BK_E_SAML_BASE64, "the kept Response is "
		    "not base64");
	printf("\n");
	for (i = 0; i < len; i++)
		putchar(xml[i] == '\n' || xml[i] == '\t' || xml[i] >= 0x20 ?
		    xml[i] : '?');
	if (len > 0 && xml[len - 1] != '\n')
		putchar('\n');
	free(xml);
	return BK_OK;
}

/* The Response is the one digested; the certificate the one named. */
static int
ssoctl_raw_digests(struct ssoctl *c, json_t *o, unsigned char **der,
    size_t *der_len)
{
	const char	*b64 = ssoctl_raw_str(o, "response_b64");
	const char	*cert = ssoctl_raw_str(o, "idp_cert");
	char		 got[BK_DIGEST_HEX + 1];

	*der = NULL;
	bk_sha256_hex(b64, strlen(b64), got);
	if (strlen(ssoctl_raw_str(o, "sha256")) != BK_DIGEST_HEX ||
	    CRYPTO_memcmp(got, ssoctl_raw_str(o, "sha256"), BK_DIGEST_HEX) != 0)
		return ssoctl_fail(c, BK_E_AUDIT_RAW_DIGEST,
		    "the Response kept is not the one its record names "
		    "(SHA-256 differs)");
	if (bk_b64_decode(cert, strlen(cert), 65536, der, der_len) != BK_OK ||
	    *der_len == 0)
		return ssoctl_fail(c, BK_E_SAML_CERT, "no IdP certificate was "
		    "kept with this Response");
	bk_sha256_hex(*der, *der_len, got);
	if (strlen(ssoctl_raw_str(o, "idp_cert_fingerprint")) !=
	    BK_DIGEST_HEX || strcasecmp(got, ssoctl_raw_str(o,
	    "idp_cert_fingerprint")) != 0) {
		free(*der);
		*der = NULL;
		return ssoctl_fail(c, BK_E_SAML_CERT, "the certificate kept is "
		    "not the one the record names");
	}
	return BK_OK;
}

static int
ssoctl_raw_verify(struct ssoctl *c, json_t *o)
{
	struct saml_result	 res;
	unsigned char		*der = NULL;
	size_t			 der_len = 0;
	const char		*b64 = ssoctl_raw_str(o, "response_b64");
	char			*detail = NULL, buf[256];
	int			 rv;

	if ((rv = ssoctl_raw_digests(c, o, &der, &der_len)) != BK_OK)
		return rv;
	if ((rv = saml_init()) != BK_OK) {
		free(der);
		return ssoctl_fail(c, rv, "the SAML library did not start");
	}
	rv = saml_response_recheck(b64, strlen(b64), der, der_len,
	    json_is_true(json_object_get(o, "allow_sha1")), &res, &detail);
	if (rv == BK_OK)
		printf("signature: verified with the IdP certificate %s\n",
		    res.cert_fingerprint);
	else {
		ssoctl_sanitize(detail != NULL ? detail : bk_strerror(rv), buf,
		    sizeof(buf));
		ssoctl_fail(c, rv, "signature: does not verify (%s: %s)",
		    bk_err_slug(rv), buf);
	}
	saml_result_cleanup(&res);
	free(detail);
	free(der);
	saml_shutdown();
	return rv;
}

int
ssoctl_cmd_audit_show_assertion(struct ssoctl *c)
{
	const char	*file = c->args->opt[SSOCTL_O_FILE];
	json_t		*o = NULL;
	int		 rv;

	if (file != NULL)
		rv = ssoctl_raw_file_find(c, file, c->args->arg, &o);
	else
		rv = ssoctl_raw_fetch(c, c->args->arg, &o);
	if (rv != BK_OK)
		goto out;
	if (c->json) {
		if (json_dumpf(o, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) !=
		    0 || putchar('\n') == EOF)
			rv = ssoctl_fail(c, BK_E_IO, "write error");
	} else
		rv = ssoctl_raw_print(c, o);
	if (rv == BK_OK && c->args->opt[SSOCTL_O_VERIFY] != NULL)
		rv = ssoctl_raw_verify(c, o);
 out:
	json_decref(o);
	return rv;
}
