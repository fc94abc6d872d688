/*
 * sso-broker: the metrics that come from the configuration in force.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Rendered at scrape time by the worker that answers: build information,
 * every certificate's expiry (each tenant's IdP and SP certificates, the
 * listener's TLS certificate), the tenants, and the last reload (result,
 * time, configuration generation), which the parent writes into a small
 * page of its own shared with the workers.
 * Cardinality: one series per configured tenant and certificate; tenant
 * ids are checked by the configuration ([a-z0-9-]), so they are safe
 * label values; fingerprints are hex.
 * Trust: no input from the network reaches a label value.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "bk.h"
#include "conf.h"
#include "mdr.h"
#include "metrics.h"
#include "saml.h"

/* Label value: the fingerprint's first 16 hex digits name the certificate. */
#define METRICS_FP_LABEL	16

struct metrics_reload {
	long long	at;		/* Unix time of the last (re)load */
	int		ok;		/* the last one was applied */
	unsigned int	gen;		/* configuration generation */
};

static struct metrics_reload	*mrl;

int
metrics_conf_init(void)
{
	void	*p;

	if (mrl != NULL)
		return BK_OK;
	p = mmap(NULL, sizeof(*mrl), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return BK_E_NOMEM;
	mrl = p;
	mrl->at = (long long)time(NULL);
	mrl->ok = 1;
	return BK_OK;
}

void
metrics_reload_note(int ok, unsigned int gen)
{
	if (mrl == NULL)
		return;
	__atomic_store_n(&mrl->at, (long long)time(NULL), __ATOMIC_RELAXED);
	__atomic_store_n(&mrl->ok, ok, __ATOMIC_RELAXED);
	if (ok)
		__atomic_store_n(&mrl->gen, gen, __ATOMIC_RELAXED);
}

static int
metrics_cert_line(struct bk_buf *b, const char *tenant, const char *kind,
    const struct saml_cert_info *ci)
{
	if (ci->not_after == 0)
		return BK_OK;
	return bk_buf_addf(b, "ssobroker_certificate_not_after_seconds{tenant="
	    "\"%s\",kind=\"%s\",fingerprint=\"%.*s\"} %lld\n", tenant, kind,
	    METRICS_FP_LABEL, ci->fingerprint, (long long)ci->not_after);
}

/* The listener's certificate: notAfter and fingerprint from the context. */
static int
metrics_tls_line(struct bk_buf *b, void *tls_ctx)
{
	struct saml_cert_info	 ci;
	X509			*x;
	unsigned char		*der = NULL;
	struct tm		 tm;
	int			 len, rv = BK_OK;

	if (tls_ctx == NULL ||
	    (x = SSL_CTX_get0_certificate((SSL_CTX *)tls_ctx)) == NULL)
		return BK_OK;
	memset(&ci, 0, sizeof(ci));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1 ||
	    (len = i2d_X509(x, &der)) <= 0)
		return BK_OK;
	ci.not_after = timegm(&tm);
	bk_sha256_hex(der, (size_t)len, ci.fingerprint);
	rv = metrics_cert_line(b, "", "tls", &ci);
	OPENSSL_free(der);
	return rv;
}

static int
metrics_certs(struct bk_buf *b, const struct conf *c, void *tls_ctx)
{
	struct saml_tenant_info	 info;
	size_t			 i, k;
	int			 rv;

	rv = bk_buf_adds(b, "# HELP ssobroker_certificate_not_after_seconds "
	    "When each certificate expires (Unix time): kind idp (the IdP's "
	    "signing keys), sp (the tenant's SP certificate), tls (the "
	    "listener).\n"
	    "# TYPE ssobroker_certificate_not_after_seconds gauge\n");
	for (i = 0; rv == BK_OK && i < c->n_tenants; i++) {
		if (c->tenants[i]->saml_sp == NULL)
			continue;
		saml_tenant_info(c->tenants[i]->saml_sp, &info);
		for (k = 0; rv == BK_OK && k < info.n_certs; k++)
			rv = metrics_cert_line(b, c->tenants[i]->id, "idp",
			    &info.certs[k]);
		if (rv == BK_OK)
			rv = metrics_cert_line(b, c->tenants[i]->id, "sp",
			    &info.sp_cert);
		if (rv == BK_OK)
			rv = metrics_cert_line(b, c->tenants[i]->id, "sp",
			    &info.sp_next_cert);
	}
	return rv == BK_OK ? metrics_tls_line(b, tls_ctx) : rv;
}

static int
metrics_tenants(struct bk_buf *b, const struct conf *c, metrics_sso_fn *sso,
    const void *arg)
{
	size_t	 i;
	int	 rv;

	rv = bk_buf_adds(b, "# HELP ssobroker_tenant_info The tenants in "
	    "force: login (saml or oidc) and whether Salesforce SSO is on "
	    "(the switch in force: an admin's, else the file's).\n"
	    "# TYPE ssobroker_tenant_info gauge\n");
	for (i = 0; rv == BK_OK && i < c->n_tenants; i++)
		rv = bk_buf_addf(b, "ssobroker_tenant_info{tenant=\"%s\","
		    "login=\"%s\",sso=\"%s\"} 1\n", c->tenants[i]->id,
		    conf_login_name(c->tenants[i]->login),
		    (sso != NULL ? sso(arg, c->tenants[i]) :
		    c->tenants[i]->sso_enabled) ? "on" : "off");
	return rv;
}

static int
metrics_build_reload(struct bk_buf *b)
{
	int	 rv;

	rv = bk_buf_addf(b, "# HELP ssobroker_build_info The broker's version "
	    "and the libraries it runs on.\n"
	    "# TYPE ssobroker_build_info gauge\n"
	    "ssobroker_build_info{version=\"%s\",openssl=\"%s\","
	    "libevent=\"%s\",jansson=\"%s\"} 1\n", PACKAGE_VERSION,
	    OpenSSL_version(OPENSSL_VERSION_STRING), event_get_version(),
	    jansson_version_str());
	if (rv != BK_OK || mrl == NULL)
		return rv;
	return bk_buf_addf(b, "# HELP ssobroker_config_reload_success 1 when "
	    "the last load or SIGHUP reload was applied, 0 when it was "
	    "refused.\n"
	    "# TYPE ssobroker_config_reload_success gauge\n"
	    "ssobroker_config_reload_success %d\n"
	    "# HELP ssobroker_config_reload_timestamp_seconds When the "
	    "configuration was last loaded or a reload refused (Unix time).\n"
	    "# TYPE ssobroker_config_reload_timestamp_seconds gauge\n"
	    "ssobroker_config_reload_timestamp_seconds %lld\n"
	    "# HELP ssobroker_config_generation The configuration "
	    "generation in force (0 at start, +1 per applied reload).\n"
	    "# TYPE ssobroker_config_generation gauge\n"
	    "ssobroker_config_generation %u\n",
	    __atomic_load_n(&mrl->ok, __ATOMIC_RELAXED),
	    __atomic_load_n(&mrl->at, __ATOMIC_RELAXED),
	    __atomic_load_n(&mrl->gen, __ATOMIC_RELAXED));
}

int
metrics_conf_render(struct bk_buf *b, const struct conf *c, void *tls_ctx,
    metrics_sso_fn *sso, const void *sso_arg)
{
	int	 rv;

	if ((rv = metrics_build_reload(b)) == BK_OK &&
	    (rv = metrics_tenants(b, c, sso, sso_arg)) == BK_OK &&
	    (rv = metrics_certs(b, c, tls_ctx)) == BK_OK)
		rv = mdr_metrics_render(b, c);
	return rv == BK_OK ? BK_OK : BK_E_TOOBIG;
}
