/*
 * sso-broker: SAML library start-up, tenants (IdP metadata, pinned keys,
 * SP metadata, lasso server) and AuthnRequests.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Everything here runs at start or reload, except
 * saml_authn_request_build() which runs per login on objects built once.
 * lasso is used only to build AuthnRequests: the Response path is ours
 * (saml_verify.c), because lasso's SP checks miss the B rows of
 * SECURITY-CASES and cost three times our budget.
 * Trust: the configuration files are trusted input from the operator, but
 * are still parsed with the hardened parser and checked strictly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <glib.h>
#include <lasso/lasso.h>
#include <lasso/debug.h>
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>
#include <lasso/xml/saml-2.0/samlp2_name_id_policy.h>
#include <lasso/xml/saml-2.0/samlp2_request_abstract.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/errors.h>
#include <xmlsec/transforms.h>
#include <xmlsec/crypto.h>

#include "bk.h"
#include "log.h"
#include "saml_int.h"

#define SAML_RELAYSTATE_MAX	80	/* bindings 3.4.3 (P33) */
#define SAML_SPFILE_MAX		(64 * 1024)

static int saml_initialised;

/*
 * Declared by <lasso/xml/xml.h> but not exported by Debian's liblasso3
 * 2.8.1 (nm -D shows no such symbol), so the reference is weak.  It only
 * matters for lasso's own verification, which is never used here: the
 * Response path enforces RSA-SHA256 or better itself (saml_sig.c, S29).
 */
#pragma weak lasso_set_min_signature_method

static void
saml_xmlsec_err_cb(const char *file, int line, const char *func,
    const char *obj, const char *subj, int reason, const char *msg)
{
	/* Per-request noise on every rejected signature: debug only. */
	log_debug("xmlsec: %s: reason %d", func != NULL ? func : "?", reason);
}

static void
saml_glib_log_cb(const gchar *domain, GLogLevelFlags level, const gchar *msg,
    gpointer data)
{
	log_debug("lasso: %s", log_esc(msg));
}

static int
saml_xmlsec_ready(void)
{
	return xmlSecTransformIdListFindByHref(xmlSecTransformIdsGet(),
	    SAML_XC("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"),
	    xmlSecTransformUsageSignatureMethod) != NULL;
}

int
saml_init(void)
{
	if (saml_initialised)
		return BK_OK;
	/* S32: LASSO_FLAG=no-verify-signature switches lasso's checks off. */
	if (unsetenv("LASSO_FLAG") != 0)
		fatal("unsetenv LASSO_FLAG");
	saml_xml_init();
	if (lasso_init() != 0) {
		log_warnx_r(BK_E_SAML_LASSO, "lasso_init failed");
		return BK_E_SAML_LASSO;
	}
	if (lasso_set_min_signature_method != NULL)
		lasso_set_min_signature_method(
		    LASSO_SIGNATURE_METHOD_RSA_SHA256);
	else
		log_debug("lasso_set_min_signature_method not exported; "
		    "lasso never verifies in this broker");
	if (!lasso_flag_verify_signature)
		fatalx("lasso signature verification is disabled");
	if (!saml_xmlsec_ready() && (xmlSecInit() < 0 ||
	    xmlSecCryptoAppInit(NULL) < 0 || xmlSecCryptoInit() < 0)) {
		log_warnx_r(BK_E_SAML_LASSO, "xmlsec initialisation failed");
		return BK_E_SAML_LASSO;
	}
	BK_ASSERT(saml_xmlsec_ready());
	xmlSecErrorsSetCallback(saml_xmlsec_err_cb);
	g_log_set_handler("Lasso", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL |
	    G_LOG_FLAG_RECURSION, saml_glib_log_cb, NULL);
	/* Again: lasso_init must not have loosened the parser defaults. */
	saml_xml_init();
	saml_initialised = 1;
	return BK_OK;
}

void
saml_shutdown(void)
{
	if (!saml_initialised)
		return;
	lasso_shutdown();
	saml_initialised = 0;
}

/* Read a whole file (at most max bytes) into a NUL-terminated buffer. */
static int
saml_file_read(const char *path, size_t max, char **out, size_t *len,
    const char **why)
{
	FILE *f;
	char *buf = NULL;
	size_t n;
	int rv = BK_E_IO;

	*out = NULL;
	*len = 0;
	if ((f = fopen(path, "rb")) == NULL) {
		*why = strerror(errno);
		return BK_E_IO;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		rv = BK_E_NOMEM;
		*why = "out of memory";
		goto out;
	}
	n = fread(buf, 1, max + 1, f);
	*why = ferror(f) ? "read error" : n > max ? "file too large" :
	    n == 0 ? "empty file" : NULL;
	if (*why != NULL)
		goto out;
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	rv = BK_OK;
 out:
	free(buf);
	fclose(f);
	return rv;
}

/* "path: reason" into *why (returned-owned); returns rv. */
static int
saml_why(char **why, int rv, const char *path, const char *reason)
{
	struct bk_buf b;

	if (why == NULL)
		return rv;
	free(*why);
	bk_buf_init(&b, 1024);
	(void)bk_buf_addf(&b, "%s: %s", path != NULL ? path : "(none)", reason);
	*why = bk_buf_take(&b);
	bk_buf_free(&b);
	return rv;
}

/* The EntityDescriptor with an IDPSSODescriptor (one level of Entities). */
static xmlNodePtr
saml_md_entity(xmlNodePtr root)
{
	xmlNodePtr n, found = NULL;

	if (saml_xml_is(root, SAML_NS_MD, "EntityDescriptor"))
		return root;
	if (!saml_xml_is(root, SAML_NS_MD, "EntitiesDescriptor"))
		return NULL;
	for (n = saml_xml_first_elem(root->children); n != NULL;
	    n = saml_xml_next_elem(n)) {
		if (!saml_xml_is(n, SAML_NS_MD, "EntityDescriptor") ||
		    saml_xml_child(n, SAML_NS_MD, "IDPSSODescriptor") == NULL)
			continue;
		if (found != NULL)
			return NULL;
		found = n;
	}
	return found;
}

/*
 * validUntil of n, if any, folded into the info; expired is an error
 * unless expired_ok (the backing file of a URL, which may renew it: the
 * tenant is then not ready, front_tenant_ready(), until it does).
 */
static int
saml_md_valid_until(struct saml_tenant *t, xmlNodePtr n, int expired_ok,
    const char **why)
{
	const char *v = saml_xml_attr(n, "validUntil");
	time_t vu;

	if (v == NULL)
		return BK_OK;
	if (saml_xml_time_parse(v, &vu) != 0) {
		*why = "malformed validUntil";
		return BK_E_SAML_METADATA;
	}
	if (vu <= bk_now() && !expired_ok) {
		*why = "metadata expired (validUntil)";
		return BK_E_SAML_METADATA;
	}
	if (t->info.metadata_valid_until == 0 ||
	    vu < t->info.metadata_valid_until)
		t->info.metadata_valid_until = vu;
	return BK_OK;
}

/* One signing X509Certificate into a pinned key. */
static int
saml_md_add_cert(struct saml_tenant *t, xmlNodePtr kd, const char **why)
{
	xmlNodePtr x;
	unsigned char *der = NULL;
	size_t len;
	char *b64 = NULL;
	int rv;

	x = saml_xml_child(saml_xml_child(saml_xml_child(kd, SAML_NS_DS,
	    "KeyInfo"), SAML_NS_DS, "X509Data"), SAML_NS_DS, "X509Certificate");
	*why = "signing KeyDescriptor without X509Certificate";
	if (x == NULL)
		return BK_E_SAML_METADATA;
	if (t->info.n_certs == SAML_MAX_IDP_CERTS) {
		*why = "more than two signing certificates";
		return BK_E_SAML_METADATA;
	}
	if ((rv = saml_xml_text(x, &b64)) != BK_OK) {
		*why = "unreadable X509Certificate";
		return rv == BK_E_NOMEM ? rv : BK_E_SAML_CERT;
	}
	if (bk_b64_decode(b64, strlen(b64), 65536, &der, &len) != BK_OK) {
		*why = "X509Certificate is not base64";
		free(b64);
		return BK_E_SAML_CERT;
	}
	free(b64);
	rv = saml_sig_key_from_der(der, len, &t->keys[t->info.n_certs],
	    &t->info.certs[t->info.n_certs], why);
	/* kept for the raw assertions' records (saml_offline.c) */
	if (rv == BK_OK) {
		t->cert_der[t->info.n_certs] = der;
		t->cert_der_len[t->info.n_certs] = len;
	} else
		free(der);
	if (rv == BK_OK &&
	    (rv = saml_si_key_ready(t, t->info.n_certs)) != BK_OK)
		*why = "the key cannot verify";
	if (rv == BK_OK)
		t->info.n_certs++;
	return rv;
}

/* An http(s) URL that fits dst (char[1024]), copied; else -1. */
static int
saml_md_url(const char *loc, char *dst, size_t size)
{
	if (loc == NULL || (strncmp(loc, "https://", 8) != 0 &&
	    strncmp(loc, "http://", 7) != 0) || strlen(loc) >= size)
		return -1;
	memcpy(dst, loc, strlen(loc) + 1);
	return 0;
}

/*
 * The first HTTP-Redirect SingleLogoutService: Location and the optional
 * ResponseLocation (single logout, saml_logout.c).  Other bindings are
 * skipped; a tenant without one logs out locally only.
 */
static int
saml_md_slo(struct saml_tenant *t, xmlNodePtr n, const char **why)
{
	const char *v = saml_xml_attr(n, "Binding");
	const char *rl = saml_xml_attr(n, "ResponseLocation");

	if (!saml_xml_is(n, SAML_NS_MD, "SingleLogoutService") || v == NULL ||
	    strcmp(v, SAML_BINDING_REDIRECT) != 0 ||
	    t->info.idp_slo_url[0] != '\0')
		return BK_OK;
	*why = "bad HTTP-Redirect SingleLogoutService Location";
	if (saml_md_url(saml_xml_attr(n, "Location"), t->info.idp_slo_url,
	    sizeof(t->info.idp_slo_url)) != 0 || (rl != NULL &&
	    saml_md_url(rl, t->info.idp_slo_response_url,
	    sizeof(t->info.idp_slo_response_url)) != 0)) {
		t->info.idp_slo_url[0] = '\0';
		return BK_E_SAML_METADATA;
	}
	return BK_OK;
}

/* IDPSSODescriptor: SAML 2.0, HTTP-Redirect SSO URL, signing keys. */
static int
saml_md_idp(struct saml_tenant *t, xmlNodePtr idp, const char **why)
{
	xmlNodePtr n;
	const char *v, *loc;
	int rv;

	v = saml_xml_attr(idp, "protocolSupportEnumeration");
	*why = "IDPSSODescriptor does not support SAML 2.0";
	if (v == NULL || strstr(v, SAML_NS_PROTO) == NULL)
		return BK_E_SAML_METADATA;
	for (n = saml_xml_first_elem(idp->children); n != NULL;
	    n = saml_xml_next_elem(n)) {
		if (saml_xml_is(n, SAML_NS_MD, "SingleSignOnService") &&
		    (v = saml_xml_attr(n, "Binding")) != NULL &&
		    strcmp(v, SAML_BINDING_REDIRECT) == 0 &&
		    t->info.idp_sso_url[0] == '\0') {
			loc = saml_xml_attr(n, "Location");
			*why = "bad HTTP-Redirect SingleSignOnService Location";
			if (loc == NULL || (strncmp(loc, "https://", 8) != 0 &&
			    strncmp(loc, "http://", 7) != 0) ||
			    strlen(loc) >= sizeof(t->info.idp_sso_url))
				return BK_E_SAML_METADATA;
			memcpy(t->info.idp_sso_url, loc, strlen(loc) + 1);
		}
		if ((rv = saml_md_slo(t, n, why)) != BK_OK)
			return rv;
		if (!saml_xml_is(n, SAML_NS_MD, "KeyDescriptor"))
			continue;
		v = saml_xml_attr(n, "use");
		if (v != NULL && strcmp(v, "signing") != 0)
			continue;
		if ((rv = saml_md_add_cert(t, n, why)) != BK_OK)
			return rv;
	}
	*why = "no HTTP-Redirect SingleSignOnService";
	if (t->info.idp_sso_url[0] == '\0')
		return BK_E_SAML_METADATA;
	*why = "no signing certificate";
	if (t->info.n_certs == 0)
		return BK_E_SAML_METADATA;
	*why = NULL;
	return BK_OK;
}

/* The entity alone, as a document of its own, for lasso. */
static int
saml_md_entity_dump(xmlNodePtr entity, char **out)
{
	xmlDocPtr d;
	xmlNodePtr copy;
	xmlChar *mem = NULL;
	int size = 0;

	*out = NULL;
	if ((d = xmlNewDoc(SAML_XC("1.0"))) == NULL)
		return BK_E_NOMEM;
	if ((copy = xmlDocCopyNode(entity, d, 1)) == NULL) {
		xmlFreeDoc(d);
		return BK_E_NOMEM;
	}
	xmlDocSetRootElement(d, copy);
	xmlDocDumpMemoryEnc(d, &mem, &size, "UTF-8");
	xmlFreeDoc(d);
	if (mem == NULL)
		return BK_E_NOMEM;
	*out = bk_strdup((const char *)mem);
	xmlFree(mem);
	return *out == NULL ? BK_E_NOMEM : BK_OK;
}

/*
 * Check an IdP metadata document and fill t: entityID, SSO URL, pinned
 * keys, validUntil.  With pin, the root element must carry an enveloped
 * signature by pin's one key (saml_md_sig_check()), checked first.  The
 * code names the failed check (BK_E_SAML_MD_*); *reason is static.
 */
int
saml_md_parse(struct saml_tenant *t, const char *buf, size_t len, int flags,
    const struct saml_tenant *pin, char **entity_xml, const char **reason)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root, ent, idp;
	char *perr = NULL;
	const char *eid;
	int rv;

	*reason = "not well-formed XML, has a DTD, or exceeds the limits";
	if ((rv = saml_xml_parse(buf, len, flags & SAML_XML_LIMITS, &doc,
	    &perr)) != BK_OK) {
		rv = rv == BK_E_NOMEM ? rv : BK_E_SAML_MD_NOT_XML;
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (pin != NULL && (rv = saml_md_sig_check(pin, doc, root, reason)) !=
	    BK_OK)
		goto out;
	rv = BK_E_SAML_MD_SHAPE;
	*reason = "no single EntityDescriptor with an IDPSSODescriptor";
	if ((ent = saml_md_entity(root)) == NULL ||
	    saml_xml_count(ent, SAML_NS_MD, "IDPSSODescriptor") != 1)
		goto out;
	idp = saml_xml_child(ent, SAML_NS_MD, "IDPSSODescriptor");
	if (saml_md_valid_until(t, root, flags & SAML_MD_EXPIRED_OK,
	    reason) != BK_OK || (ent != root && saml_md_valid_until(t, ent,
	    flags & SAML_MD_EXPIRED_OK, reason) != BK_OK)) {
		rv = BK_E_SAML_MD_EXPIRED;
		goto out;
	}
	eid = saml_xml_attr(ent, "entityID");
	*reason = "missing or overlong entityID";
	if (eid == NULL || eid[0] == '\0' ||
	    strlen(eid) >= sizeof(t->info.idp_entity_id))
		goto out;
	memcpy(t->info.idp_entity_id, eid, strlen(eid) + 1);
	if ((rv = saml_md_idp(t, idp, reason)) != BK_OK) {
		rv = rv == BK_E_NOMEM ? rv : rv == BK_E_SAML_METADATA ?
		    BK_E_SAML_MD_SHAPE : BK_E_SAML_MD_CERT;
		goto out;
	}
	rv = entity_xml != NULL ? saml_md_entity_dump(ent, entity_xml) : BK_OK;
 out:
	free(perr);
	if (doc != NULL)
		xmlFreeDoc(doc);
	return rv;
}

/*
 * The IdP metadata file (the backing file of a metadata URL), with the
 * codes it always had: BK_E_SAML_CERT for an unusable certificate, else
 * BK_E_SAML_METADATA.  flags: 0 or SAML_MD_EXPIRED_OK.
 */
static int
saml_md_load(struct saml_tenant *t, const char *path, int flags,
    char **entity_xml, char **why)
{
	char *buf = NULL;
	const char *reason = NULL;
	size_t len;
	int rv;

	if ((rv = saml_file_read(path, SAML_METADATA_MAX, &buf, &len,
	    &reason)) == BK_OK)
		rv = saml_md_parse(t, buf, len, flags, NULL, entity_xml,
		    &reason);
	if (rv != BK_OK && rv != BK_E_NOMEM) {
		rv = rv == BK_E_SAML_MD_CERT ? BK_E_SAML_CERT :
		    BK_E_SAML_METADATA;
		saml_why(why, rv, path, reason != NULL ? reason : "invalid");
	}
	free(buf);
	return rv;
}

/*
 * Read the SP certificate (PEM).  The private key is not read here: it
 * lives in the key holder (broker/keys.c), which checks that it matches.
 */
static int
saml_sp_cert_load(const struct saml_sp_params *p, char **der_b64,
    struct saml_cert_info *info, char **why)
{
	FILE *f = NULL;
	X509 *x = NULL;
	unsigned char *der = NULL;
	int len, rv = BK_E_SAML_CERT;

	*der_b64 = NULL;
	if ((f = fopen(p->sp_cert_path, "r")) == NULL ||
	    (x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		saml_why(why, rv, p->sp_cert_path,
		    "cannot read PEM certificate");
		goto out;
	}
	if ((len = i2d_X509(x, &der)) <= 0 ||
	    (*der_b64 = bk_b64_encode(der, (size_t)len)) == NULL) {
		rv = BK_E_NOMEM;
		goto out;
	}
	saml_cert_info_fill(x, der, (size_t)len, info);
	rv = BK_OK;
 out:
	if (f != NULL)
		fclose(f);
	OPENSSL_free(der);
	X509_free(x);
	return rv;
}

/* Our SingleLogoutService (Redirect, then POST), before NameIDFormat. */
static int
saml_sp_metadata_slo(const struct saml_tenant *t, xmlNodePtr sp, xmlNsPtr md)
{
	static const char *const bindings[] = { SAML_BINDING_REDIRECT,
	    SAML_BINDING_POST };
	xmlNodePtr slo;
	size_t i;

	for (i = 0; i < BK_NELEM(bindings); i++)
		if ((slo = xmlNewChild(sp, md, SAML_XC("SingleLogoutService"),
		    NULL)) == NULL ||
		    xmlNewProp(slo, SAML_XC("Binding"),
		    SAML_XC(bindings[i])) == NULL ||
		    xmlNewProp(slo, SAML_XC("Location"),
		    SAML_XC(t->slo_url)) == NULL)
			return BK_E_NOMEM;
	return BK_OK;
}

/* SP metadata with libxml2's tree API (no XML built from strings). */
static int
saml_sp_metadata_build(struct saml_tenant *t, const char *cert_b64)
{
	xmlDocPtr d;
	xmlNodePtr root, sp, kd, ki, xd, acs;
	xmlNsPtr md, ds;
	xmlChar *mem = NULL;
	int size = 0, rv = BK_E_NOMEM;

	if ((d = xmlNewDoc(SAML_XC("1.0"))) == NULL)
		return BK_E_NOMEM;
	if ((root = xmlNewDocNode(d, NULL, SAML_XC("EntityDescriptor"),
	    NULL)) == NULL)
		goto out;
	xmlDocSetRootElement(d, root);
	if ((md = xmlNewNs(root, SAML_XC(SAML_NS_MD), SAML_XC("md"))) == NULL ||
	    (ds = xmlNewNs(root, SAML_XC(SAML_NS_DS), SAML_XC("ds"))) == NULL)
		goto out;
	xmlSetNs(root, md);
	if (xmlNewProp(root, SAML_XC("entityID"), SAML_XC(t->sp_entity_id)) ==
	    NULL ||
	    (sp = xmlNewChild(root, md, SAML_XC("SPSSODescriptor"), NULL)) ==
	    NULL ||
	    xmlNewProp(sp, SAML_XC("AuthnRequestsSigned"),
	    SAML_XC(t->sign_requests ? "true" : "false")) == NULL ||
	    xmlNewProp(sp, SAML_XC("WantAssertionsSigned"), SAML_XC("true")) ==
	    NULL ||
	    xmlNewProp(sp, SAML_XC("protocolSupportEnumeration"),
	    SAML_XC(SAML_NS_PROTO)) == NULL ||
	    (kd = xmlNewChild(sp, md, SAML_XC("KeyDescriptor"),
	    NULL)) == NULL ||
	    xmlNewProp(kd, SAML_XC("use"), SAML_XC("signing")) == NULL ||
	    (ki = xmlNewChild(kd, ds, SAML_XC("KeyInfo"), NULL)) == NULL ||
	    (xd = xmlNewChild(ki, ds, SAML_XC("X509Data"), NULL)) == NULL ||
	    xmlNewTextChild(xd, ds, SAML_XC("X509Certificate"),
	    SAML_XC(cert_b64)) == NULL ||
	    saml_enc_metadata_add(t, kd, md) != BK_OK ||
	    saml_sp_metadata_slo(t, sp, md) != BK_OK ||
	    xmlNewTextChild(sp, md, SAML_XC("NameIDFormat"),
	    SAML_XC(SAML_FMT_UNSPEC)) == NULL ||
	    (acs = xmlNewChild(sp, md, SAML_XC("AssertionConsumerService"),
	    NULL)) == NULL ||
	    xmlNewProp(acs, SAML_XC("Binding"), SAML_XC(SAML_BINDING_POST)) ==
	    NULL ||
	    xmlNewProp(acs, SAML_XC("Location"), SAML_XC(t->acs_url)) == NULL ||
	    xmlNewProp(acs, SAML_XC("index"), SAML_XC("0")) == NULL ||
	    xmlNewProp(acs, SAML_XC("isDefault"), SAML_XC("true")) == NULL)
		goto out;
	xmlDocDumpFormatMemoryEnc(d, &mem, &size, "UTF-8", 1);
	if (mem == NULL || size <= 0)
		goto out;
	if ((t->sp_metadata = bk_strdup((const char *)mem)) == NULL)
		goto out;
	t->sp_metadata_len = (size_t)size;
	rv = BK_OK;
 out:
	xmlFree(mem);
	xmlFreeDoc(d);
	return rv;
}

/*
 * The lasso server, built once: SP metadata and certificate, IdP as
 * provider.  No private key: nothing here signs or decrypts (the key
 * holder does, broker/keys.c), so no worker has the key in memory.
 */
static int
saml_lasso_build(struct saml_tenant *t, const struct saml_sp_params *p,
    const char *idp_xml, char **why)
{
	char *cert = NULL;
	const char *reason = NULL;
	size_t len;
	int rv;

	if ((rv = saml_file_read(p->sp_cert_path, SAML_SPFILE_MAX, &cert, &len,
	    &reason)) != BK_OK) {
		rv = saml_why(why, BK_E_SAML_CERT, p->sp_cert_path, reason);
		goto out;
	}
	t->server = lasso_server_new_from_buffers(t->sp_metadata, NULL, NULL,
	    cert);
	rv = BK_E_SAML_LASSO;
	if (t->server == NULL) {
		saml_why(why, rv, p->tenant_id,
		    "lasso refused the SP metadata");
		goto out;
	}
	if (lasso_server_add_provider_from_buffer(t->server,
	    LASSO_PROVIDER_ROLE_IDP, idp_xml, NULL, NULL) != 0) {
		saml_why(why, rv, p->idp_metadata_path,
		    "lasso refused the IdP metadata");
		goto out;
	}
	rv = BK_OK;
 out:
	free(cert);
	return rv;
}

/* Our SingleLogoutService: the ACS URL's last segment "acs" -> "slo". */
static char *
saml_slo_url(const char *acs)
{
	size_t	 n = strlen(acs);
	char	*s;

	if ((s = bk_strdup(acs)) != NULL && n >= 4 &&
	    strcmp(acs + n - 4, "/acs") == 0)
		memcpy(s + n - 3, "slo", 3);
	return s;
}

static int
saml_tenant_copy(struct saml_tenant *t, const struct saml_sp_params *p)
{
	t->allow_sha1 = p->allow_sha1 != 0;
	t->clock_skew = p->clock_skew < 0 ? 0 : p->clock_skew;
	t->allow_portal_users = p->allow_portal_users != 0;
	t->max_authn_age = p->max_authn_age < 0 ? 0 : p->max_authn_age;
	t->sign_requests = p->sign_requests != 0;
	if ((t->tenant_id = bk_strdup(p->tenant_id)) == NULL ||
	    (t->sp_entity_id = bk_strdup(p->sp_entity_id)) == NULL ||
	    (t->acs_url = bk_strdup(p->acs_url)) == NULL ||
	    (t->slo_url = saml_slo_url(p->acs_url)) == NULL)
		return BK_E_NOMEM;
	if (p->username_attribute != NULL && (t->username_attribute =
	    bk_strdup(p->username_attribute)) == NULL)
		return BK_E_NOMEM;
	return BK_OK;
}

int
saml_tenant_new(const struct saml_sp_params *p, struct saml_tenant **out,
    char **why)
{
	struct saml_tenant *t;
	char *idp_xml = NULL, *cert_b64 = NULL;
	int rv;

	*out = NULL;
	if (why != NULL)
		*why = NULL;
	BK_ASSERT(saml_initialised);
	if (p->tenant_id == NULL || p->sp_entity_id == NULL ||
	    p->acs_url == NULL || p->sp_cert_path == NULL ||
	    p->idp_metadata_path == NULL)
		return saml_why(why, BK_E_SAML_METADATA, p->tenant_id,
		    "incomplete SAML parameters");
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return BK_E_NOMEM;
	if ((rv = saml_tenant_copy(t, p)) != BK_OK ||
	    (rv = saml_md_load(t, p->idp_metadata_path,
	    p->metadata_expired_ok ? SAML_MD_EXPIRED_OK : 0, &idp_xml, why)) !=
	    BK_OK ||
	    (rv = saml_sp_cert_load(p, &cert_b64, &t->info.sp_cert, why)) !=
	    BK_OK ||
	    (rv = saml_enc_tenant_load(t, p, why)) != BK_OK ||
	    (rv = saml_sp_metadata_build(t, cert_b64)) != BK_OK ||
	    (rv = saml_lasso_build(t, p, idp_xml, why)) != BK_OK)
		goto out;
	*out = t;
	t = NULL;
 out:
	free(idp_xml);
	free(cert_b64);
	saml_tenant_free(t);
	return rv;
}

void
saml_tenant_free(struct saml_tenant *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < SAML_MAX_IDP_CERTS; i++) {
		saml_si_key_free(t, i);
		if (t->keys[i] != NULL)
			xmlSecKeyDestroy(t->keys[i]);
		free(t->cert_der[i]);
	}
	if (t->server != NULL)
		lasso_server_destroy(t->server);
	saml_tenant_free(t->md_pin);
	saml_enc_tenant_free(t);
	free(t->tenant_id);
	free(t->sp_entity_id);
	free(t->acs_url);
	free(t->slo_url);
	free(t->username_attribute);
	free(t->sp_metadata);
	free(t);
}

void
saml_tenant_info(const struct saml_tenant *t, struct saml_tenant_info *out)
{
	*out = t->info;
}

const char *
saml_sp_metadata(const struct saml_tenant *t, size_t *len)
{
	if (len != NULL)
		*len = t->sp_metadata_len;
	return t->sp_metadata;
}

/* Shape the lasso-built request: POST back to our ACS, unspecified NameID. */
static int
saml_authn_request_shape(const struct saml_tenant *t, LassoProfile *prof)
{
	LassoSamlp2AuthnRequest *req;
	LassoSamlp2RequestAbstract *ra;

	if (!LASSO_IS_SAMLP2_AUTHN_REQUEST(prof->request))
		return BK_E_SAML_LASSO;
	req = LASSO_SAMLP2_AUTHN_REQUEST(prof->request);
	ra = LASSO_SAMLP2_REQUEST_ABSTRACT(prof->request);
	req->IsPassive = FALSE;
	req->ForceAuthn = FALSE;
	g_free(req->AssertionConsumerServiceURL);
	req->AssertionConsumerServiceURL = g_strdup(t->acs_url);
	g_free(req->ProtocolBinding);
	req->ProtocolBinding = g_strdup(SAML_BINDING_POST);
	if (req->NameIDPolicy == NULL)
		req->NameIDPolicy = LASSO_SAMLP2_NAME_ID_POLICY(
		    lasso_samlp2_name_id_policy_new());
	g_free(req->NameIDPolicy->Format);
	req->NameIDPolicy->Format = g_strdup(SAML_FMT_UNSPEC);
	g_free(req->NameIDPolicy->SPNameQualifier);
	req->NameIDPolicy->SPNameQualifier = NULL;
	req->NameIDPolicy->AllowCreate = TRUE;
	/* the endpoint the URL goes to (saml_authn_request_encode) */
	g_free(ra->Destination);
	ra->Destination = g_strdup(t->info.idp_sso_url);
	return BK_OK;
}

/*
 * The request's XML from lasso, encoded for the HTTP-Redirect binding by
 * saml_redirect.c: the same code signs (or not) every message the broker
 * sends that way, so lasso never builds the URL (it has no key to sign).
 */
static int
saml_authn_request_encode(const struct saml_tenant *t, LassoProfile *prof,
    const char *relay_state, struct saml_redirect *out)
{
	LassoSamlp2RequestAbstract *ra;
	char	*xml, *b64 = NULL;
	int	 rv;

	ra = LASSO_SAMLP2_REQUEST_ABSTRACT(prof->request);
	if ((xml = lasso_node_export_to_xml(LASSO_NODE(prof->request))) ==
	    NULL) {
		log_warnx_r(BK_E_SAML_LASSO, "lasso_node_export_to_xml failed");
		return BK_E_SAML_LASSO;
	}
	if ((rv = saml_redirect_encode(xml, strlen(xml), &b64)) == BK_OK &&
	    (rv = saml_redirect_query_build("SAMLRequest", b64, relay_state,
	    t->sign_requests, &out->query)) == BK_OK &&
	    (out->dest = bk_strdup(ra->Destination)) == NULL)
		rv = BK_E_NOMEM;
	out->sign = t->sign_requests;
	g_free(xml);
	free(b64);
	return rv;
}

int
saml_authn_request_build(const struct saml_tenant *t, const char *relay_state,
    struct saml_redirect *out, char request_id[SAML_ID_MAX + 1])
{
	LassoLogin *login = NULL;
	LassoProfile *prof;
	const char *id;
	int rv = BK_E_SAML_LASSO, lrc;

	memset(out, 0, sizeof(*out));
	request_id[0] = '\0';
	if (relay_state != NULL && (strlen(relay_state) > SAML_RELAYSTATE_MAX ||
	    !bk_str_is_printable(relay_state)))
		return BK_E_SAML_RELAYSTATE;
	if ((login = lasso_login_new(t->server)) == NULL)
		return BK_E_NOMEM;
	prof = LASSO_PROFILE(login);
	lasso_profile_set_signature_hint(prof,
	    LASSO_PROFILE_SIGNATURE_HINT_FORBID);
	if ((lrc = lasso_login_init_authn_request(login, t->info.idp_entity_id,
	    LASSO_HTTP_METHOD_REDIRECT)) != 0) {
		log_warnx_r(rv, "lasso_login_init_authn_request: %s",
		    lasso_strerror(lrc));
		goto out;
	}
	if ((rv = saml_authn_request_shape(t, prof)) != BK_OK)
		goto out;
	id = LASSO_SAMLP2_REQUEST_ABSTRACT(prof->request)->ID;
	rv = BK_E_SAML_LASSO;
	if (id == NULL || strlen(id) > SAML_ID_MAX)
		goto out;
	if ((rv = saml_authn_request_encode(t, prof, relay_state, out)) !=
	    BK_OK) {
		saml_redirect_cleanup(out);
		goto out;
	}
	memcpy(request_id, id, strlen(id) + 1);
 out:
	g_object_unref(login);
	return rv;
}
