/*
 * sso-broker: unit tests for broker/conf.c and broker/conf_tenant.c.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Table-driven malformed configurations of every kind, each with the
 * exact "file:line: " of the message expected; the acceptance suite's
 * config as the positive control; the keyword table against
 * docs/broker.conf.5 both ways [curl test1139].  Files are written under
 * a mkdtemp() directory removed at the end.
 * Trust: none (test code).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bk.h"
#include "conf.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif

static char	 tdir[64];

/* The acceptance suite's broker.conf (shared/acceptance/run), 17 lines. */
#define BROKER_SERVER \
	"[server]\n" \
	"listen = 127.0.0.1:18080\n" \
	"public_url = http://127.0.0.1:18080\n" \
	"admin_listen = 127.0.0.1:18081\n" \
	"workers = 2\n"
#define BROKER_REST \
	"\n" \
	"[redis]\n" \
	"url = redis://127.0.0.1:6379/0\n" \
	"\n" \
	"[audit]\n" \
	"path = @D@/audit.jsonl\n" \
	"\n" \
	"[admin]\n" \
	"token_file = @D@/pki/admin.token\n" \
	"\n" \
	"[tenants]\n" \
	"dir = @D@/tenants.d\n"
#define BROKER_OK BROKER_SERVER BROKER_REST

/* The acceptance suite's acme.conf, 19 lines; @V@ is enable_salesforce_sso. */
#define T_TENANT \
	"[tenant]\n" \
	"id = acme\n" \
	"enable_salesforce_sso = @V@\n"
#define T_SAML \
	"\n" \
	"[saml]\n" \
	"idp_metadata = @D@/idp-metadata.xml\n" \
	"sp_key = @D@/pki/sp.key\n" \
	"sp_cert = @D@/pki/sp.crt\n" \
	"allow_idp_initiated = true\n" \
	"clock_skew = 60\n"
#define OIDC_T "[tenant]\nid = acme\nlogin = oidc\n[oidc]\nclient_id = x\n" \
	"client_secret_file = @D@/pki/op.secret\norg_id = 00D000000000001\n"
#define T_PANEL \
	"\n" \
	"[panel]\n" \
	"client_id = panel-acme\n" \
	"client_secret_file = @D@/pki/panel.secret\n" \
	"redirect_uri = http://127.0.0.1:9999/sso/callback\n" \
	"initiate_login_uri = http://127.0.0.1:9999/sso/start\n"
#define T_POLICY \
	"\n" \
	"[policy]\n" \
	"consent = first_use\n"
#define TENANT_OK T_TENANT T_SAML T_PANEL T_POLICY

#define BETA_OK \
	"[tenant]\nid = beta\n[saml]\nidp_metadata = @D@/idp-metadata.xml\n" \
	"sp_key = @D@/pki/sp.key\nsp_cert = @D@/pki/sp.crt\n[panel]\n" \
	"client_id = panel-beta\nclient_secret_file = @D@/pki/panel.secret\n" \
	"redirect_uri = https://panel.example/cb\n"

/* Replace @D@ by the test dir and @V@ by v. */
static char *
subst(const char *tmpl, const char *v)
{
	struct bk_buf	 b;
	const char	*s;

	bk_buf_init(&b, 1 << 20);
	for (s = tmpl; *s != '\0'; s++) {
		if (strncmp(s, "@D@", 3) == 0) {
			assert_int_equal(bk_buf_adds(&b, tdir), BK_OK);
			s += 2;
		} else if (strncmp(s, "@V@", 3) == 0) {
			assert_int_equal(bk_buf_adds(&b, v != NULL ? v : "true"),
			    BK_OK);
			s += 2;
		} else
			assert_int_equal(bk_buf_add(&b, s, 1), BK_OK);
	}
	if (b.len == 0)
		return strdup("");
	return bk_buf_take(&b);
}

static void
write_file(const char *rel, const char *tmpl, const char *v, mode_t mode)
{
	char	 path[512], *text;
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", tdir, rel);
	text = subst(tmpl, v);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
	free(text);
}

static void
clear_tenants(void)
{
	char		 path[512];
	DIR		*d;
	struct dirent	*de;

	snprintf(path, sizeof(path), "%s/tenants.d", tdir);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/tenants.d/%s", tdir,
		    de->d_name);
		assert_int_equal(unlink(path), 0);
	}
	closedir(d);
}

/* Write broker.conf and tenants, load; returns the code, *errs the text. */
static int
load(const char *broker, const char *acme, const char *beta, const char *v,
    struct conf **c, char **errs)
{
	char	 path[512];

	clear_tenants();
	write_file("broker.conf", broker != NULL ? broker : BROKER_OK, v,
	    0600);
	if (acme != NULL)
		write_file("tenants.d/acme.conf", acme, v, 0600);
	if (beta != NULL)
		write_file("tenants.d/beta.conf", beta, v, 0600);
	snprintf(path, sizeof(path), "%s/broker.conf", tdir);
	return conf_load(path, c, errs);
}

static int
group_setup(void **state)
{
	static const struct {
		const char	*name, *text;
		mode_t		 mode;
	} files[] = {
		{ "pki/admin.token", "0123456789abcdef0123456789abcdef\n",
		    0600 },
		{ "pki/panel.secret", "panel-secret-0123456789\n", 0600 },
		{ "pki/short.secret", "short\n", 0600 },
		{ "pki/sp.key", "-----BEGIN PRIVATE KEY-----\n", 0600 },
		{ "pki/sp.crt", "-----BEGIN CERTIFICATE-----\n", 0644 },
		{ "pki/op.secret", "oidc-client-secret\n", 0600 },
		{ "idp-metadata.xml", "<EntityDescriptor/>\n", 0644 },
	};
	char	 path[512];
	size_t	 i;

	(void)state;
	snprintf(tdir, sizeof(tdir), "/tmp/test_conf.XXXXXX");
	if (mkdtemp(tdir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/pki", tdir);
	if (mkdir(path, 0700) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/tenants.d", tdir);
	if (mkdir(path, 0700) == -1)
		return -1;
	for (i = 0; i < BK_NELEM(files); i++)
		write_file(files[i].name, files[i].text, NULL, files[i].mode);
	return 0;
}

static int
rm_rf(const char *path)
{
	struct stat	 st;
	DIR		*d;
	struct dirent	*de;
	char		 sub[1024];

	if (lstat(path, &st) == -1)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		if ((d = opendir(path)) == NULL)
			return -1;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			(void)rm_rf(sub);
		}
		closedir(d);
		return rmdir(path);
	}
	return unlink(path);
}

static int
group_teardown(void **state)
{
	(void)state;
	return rm_rf(tdir);
}

/* Malformed configurations ------------------------------------------------ */

struct conf_case {
	const char	*name;
	const char	*broker;	/* NULL: BROKER_OK */
	const char	*acme;		/* tenants.d/acme.conf; NULL: none */
	const char	*beta;		/* tenants.d/beta.conf; NULL: none */
	const char	*v;		/* @V@, enable_salesforce_sso */
	int		 rv;
	const char	*expect[4];	/* lines of the message, @D@ expanded */
};

#define X10 "0123456789"
#define X50 X10 X10 X10 X10 X10
#define B_CONF "@D@/broker.conf"
#define A_CONF "@D@/tenants.d/acme.conf"
#define BETA_CONF "@D@/tenants.d/beta.conf"

static const struct conf_case cases[] = {
	{ "unknown key", BROKER_SERVER "bogus = 1\n" BROKER_REST, TENANT_OK,
	    NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":6: unknown key 'bogus' in [server]" } },
	{ "unknown key in tenant", NULL, TENANT_OK "colour = blue\n", NULL,
	    NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":20: unknown key 'colour' in [policy]" } },
	{ "unknown section", BROKER_SERVER "[nope]\na = b\n" BROKER_REST,
	    TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":6: unknown section [nope]" } },
	{ "tenant section in broker.conf", BROKER_OK "[tenant]\nid = x\n",
	    TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":18: unknown section [tenant]" } },
	{ "repeated key", BROKER_SERVER "workers = 3\n" BROKER_REST, TENANT_OK,
	    NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":6: duplicate key workers in [server] (first set at "
	    "line 5)" } },
	{ "repeated tenant id", NULL, T_TENANT "id = other\n" T_SAML T_PANEL,
	    NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":4: duplicate key id in [tenant] (first set at line "
	    "2)" } },
	{ "bad int", BROKER_SERVER "[redis]\ntimeout_ms = 2s\n" BROKER_REST,
	    TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":7: invalid timeout_ms '2s': not a decimal integer "
	    "(range 50..60000)" } },
	{ "int out of range", NULL, T_TENANT T_SAML "max_authn_age = 2592001\n"
	    T_PANEL, NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":11: invalid max_authn_age '2592001': too large (range "
	    "0..2592000)" } },
	{ "repeated clock_skew", NULL, T_TENANT T_SAML "clock_skew = 30\n"
	    T_PANEL, NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":11: duplicate key clock_skew in [saml] (first set at "
	    "line 10)" } },
	{ "negative clock_skew", NULL, T_TENANT "[saml]\nclock_skew = -1\n"
	    "idp_metadata = @D@/idp-metadata.xml\nsp_key = @D@/pki/sp.key\n"
	    "sp_cert = @D@/pki/sp.crt\n" T_PANEL, NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":5: invalid clock_skew '-1': too small (range "
	    "0..300)" } },
	{ "int out of range (policy)", NULL, TENANT_OK "code_ttl = 601\n",
	    NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":20: invalid code_ttl '601': too large (range "
	    "10..600)" } },
	{ "int below range", BROKER_SERVER "[redis]\ntimeout_ms = 49\n"
	    BROKER_REST, TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":7: invalid timeout_ms '49': too small (range "
	    "50..60000)" } },
	{ "workers out of range", "[server]\npublic_url = http://127.0.0.1:1\n"
	    "workers = 65\n" BROKER_REST, TENANT_OK, NULL, NULL,
	    BK_E_CONF_SYNTAX,
	    { B_CONF ":3: invalid workers '65': too large (range 0..64)" } },
	{ "bad bool TRUE", NULL, T_TENANT T_SAML "allow_sha1 = TRUE\n" T_PANEL,
	    NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":11: invalid allow_sha1 'TRUE': must be exactly true or "
	    "false" } },
	{ "bad bool yes", NULL, T_TENANT T_SAML "allow_portal_users = yes\n"
	    T_PANEL, NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":11: invalid allow_portal_users 'yes': must be exactly "
	    "true or false" } },
	{ "sso TRUE", NULL, TENANT_OK, NULL, "TRUE", BK_E_CONF_SYNTAX,
	    { A_CONF ":3: invalid enable_salesforce_sso 'TRUE': must be "
	    "exactly true or false" } },
	{ "sso yes", NULL, TENANT_OK, NULL, "yes", BK_E_CONF_SYNTAX,
	    { A_CONF ":3: invalid enable_salesforce_sso 'yes'" } },
	{ "sso 1", NULL, TENANT_OK, NULL, "1", BK_E_CONF_SYNTAX,
	    { A_CONF ":3: invalid enable_salesforce_sso '1'" } },
	{ "sso True", NULL, TENANT_OK, NULL, "True", BK_E_CONF_SYNTAX,
	    { A_CONF ":3: invalid enable_salesforce_sso 'True'" } },
	{ "sso on", NULL, TENANT_OK, NULL, "on", BK_E_CONF_SYNTAX,
	    { A_CONF ":3: invalid enable_salesforce_sso 'on'" } },
	{ "sso \"true\"", NULL, TENANT_OK, NULL, "\"true\"", BK_E_CONF_SYNTAX,
	    { A_CONF ":3: invalid enable_salesforce_sso '\"true\"'" } },
	{ "sso empty", NULL, TENANT_OK, NULL, "", BK_E_CONF_SYNTAX,
	    { A_CONF ":3: missing value for enable_salesforce_sso" } },
	{ "sso true junk", NULL, TENANT_OK, NULL, "true false",
	    BK_E_CONF_SYNTAX,
	    { A_CONF ":3: invalid enable_salesforce_sso 'true false'" } },
	{ "missing required key", "[server]\nworkers = 1\n" BROKER_REST,
	    TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":1: missing required key [server] public_url" } },
	{ "missing required tenant keys", NULL, "[tenant]\nlogin = saml\n",
	    NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":1: missing required key [tenant] id",
	    A_CONF ":2: missing required key [panel] redirect_uri",
	    A_CONF ":2: missing required key [saml] idp_metadata (login = "
	    "saml)" } },
	{ "missing oidc keys", NULL, "[tenant]\nid = acme\nlogin = oidc\n"
	    T_PANEL, NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":9: missing required key [oidc] issuer (login = oidc)",
	    A_CONF ":9: missing required key [oidc] client_secret_file (login "
	    "= oidc)" } },
	{ "bad redis url", BROKER_SERVER "[redis]\nurl = http://x/0\n"
	    "[audit]\npath = @D@/a\n[admin]\ntoken_file = @D@/pki/admin.token\n"
	    "[tenants]\ndir = @D@/tenants.d\n", TENANT_OK, NULL, NULL,
	    BK_E_CONF_SYNTAX,
	    { B_CONF ":7: invalid url: expected redis://host:port/db or "
	    "unix:///path" } },
	{ "redis url password not echoed", BROKER_SERVER "[redis]\n"
	    "url = redis://u:hunter2hunter2@h:99999/0\n[audit]\npath = @D@/a\n"
	    "[admin]\ntoken_file = @D@/pki/admin.token\n"
	    "[tenants]\ndir = @D@/tenants.d\n", TENANT_OK, NULL, NULL,
	    BK_E_CONF_SYNTAX,
	    { B_CONF ":7: invalid url: port must be a number in 1..65535" } },
	{ "bad redirect_uri", NULL, T_TENANT T_SAML T_PANEL
	    "redirect_uri = ftp://panel/cb\n", NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":17: invalid redirect_uri 'ftp://panel/cb': not an "
	    "absolute http:// or https:// URL" } },
	{ "http redirect_uri off loopback", NULL, T_TENANT T_SAML T_PANEL
	    "redirect_uri = http://panel.example/cb\n", NULL, NULL,
	    BK_E_CONF_SYNTAX,
	    { A_CONF ":17: invalid redirect_uri 'http://panel.example/cb': "
	    "http:// is allowed only for a loopback host" } },
	{ "redirect_uri with fragment", NULL, T_TENANT T_SAML T_PANEL
	    "redirect_uri = https://panel.example/cb#x\n", NULL, NULL,
	    BK_E_CONF_SYNTAX,
	    { A_CONF ":17: invalid redirect_uri 'https://panel.example/cb#x': "
	    "URL has a fragment" } },
	{ "redirect_uri with userinfo", NULL, T_TENANT T_SAML T_PANEL
	    "redirect_uri = https://a@panel.example/cb\n", NULL, NULL,
	    BK_E_CONF_SYNTAX,
	    { A_CONF ":17: invalid redirect_uri 'https://a@panel.example/cb': "
	    "user name or password in URL" } },
	{ "oidc issuer not https", NULL, "[tenant]\nid = acme\nlogin = oidc\n"
	    "[oidc]\nissuer = http://login.salesforce.com\nclient_id = x\n"
	    "client_secret_file = @D@/pki/op.secret\n" T_PANEL, NULL, NULL,
	    BK_E_CONF_SYNTAX,
	    { A_CONF ":5: invalid issuer 'http://login.salesforce.com': must "
	    "be an https:// URL" } },
	{ "oidc issuer not salesforce", NULL, OIDC_T
	    "issuer = https://accounts.example.com\n" T_PANEL, NULL, NULL,
	    BK_E_CONF_SYNTAX,
	    { A_CONF ":8: invalid issuer 'https://accounts.example.com': must "
	    "be a Salesforce issuer" } },
	{ "oidc endpoints partly given", NULL, OIDC_T
	    "issuer = https://acme.my.salesforce.com\n"
	    "token_url = https://acme.my.salesforce.com/services/oauth2/token\n"
	    T_PANEL, NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":9: [oidc] authorize_url, token_url, jwks_url and "
	    "userinfo_url are given all four or none" } },
	{ "oidc scope without openid", NULL, OIDC_T
	    "issuer = https://login.salesforce.com\nscope = id api\n" T_PANEL,
	    NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":9: invalid scope 'id api': must include openid" } },
	{ "oidc scope asks a refresh token", NULL, OIDC_T
	    "issuer = https://login.salesforce.com\n"
	    "scope = openid refresh_token\n" T_PANEL, NULL, NULL,
	    BK_E_CONF_SYNTAX,
	    { A_CONF ":9: invalid scope 'openid refresh_token': must not ask "
	    "for a refresh token" } },
	{ "oidc missing org_id", NULL, "[tenant]\nid = acme\nlogin = oidc\n"
	    "[oidc]\nissuer = https://login.salesforce.com\nclient_id = x\n"
	    "client_secret_file = @D@/pki/op.secret\n" T_PANEL, NULL, NULL,
	    BK_E_CONF_SYNTAX,
	    { "missing required key [oidc] org_id (login = oidc)" } },
	{ "oidc issuer with a trailing slash", NULL, OIDC_T
	    "issuer = https://login.salesforce.com/\n" T_PANEL, NULL, NULL,
	    BK_E_CONF_SYNTAX,
	    { A_CONF ":8: invalid issuer 'https://login.salesforce.com/': must "
	    "be scheme://host[:port] only" } },
	{ "saml keys in an oidc tenant", NULL, OIDC_T
	    "issuer = https://login.salesforce.com\n[saml]\nclock_skew = 5\n"
	    T_PANEL, NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":10: [saml] clock_skew is set but this tenant signs in "
	    "with login = oidc" } },
	{ "oidc keys in a saml tenant", NULL, T_TENANT T_SAML
	    "[oidc]\nissuer = https://login.salesforce.com\n" T_PANEL, NULL,
	    NULL, BK_E_CONF_SYNTAX,
	    { "[oidc] issuer is set but this tenant signs in with login = "
	    "saml" } },
	{ "public_url with path", "[server]\npublic_url = https://sso.example/"
	    "broker\n" BROKER_REST, TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":2: invalid public_url 'https://sso.example/broker': URL "
	    "has a path" } },
	{ "public_url with query", "[server]\npublic_url = https://sso.example"
	    "?a=b\n" BROKER_REST, TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":2: invalid public_url 'https://sso.example?a=b': URL "
	    "has a query" } },
	{ "public_url with userinfo", "[server]\npublic_url = https://u:p@sso."
	    "example\n" BROKER_REST, TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":2: invalid public_url 'https://u:p@sso.example': user "
	    "name or password in URL" } },
	{ "admin_listen off loopback", "[server]\npublic_url = https://sso."
	    "example\nadmin_listen = 0.0.0.0:8081\n" BROKER_REST, TENANT_OK,
	    NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":3: admin_listen 0.0.0.0:8081 is not a loopback "
	    "address" } },
	{ "listen without port", "[server]\npublic_url = https://sso.example\n"
	    "listen = 127.0.0.1\n" BROKER_REST, TENANT_OK, NULL, NULL,
	    BK_E_CONF_SYNTAX,
	    { B_CONF ":3: invalid listen '127.0.0.1': missing :port" } },
	{ "tls_cert without key", "[server]\npublic_url = https://sso.example\n"
	    "tls_cert = @D@/pki/sp.crt\n" BROKER_REST, TENANT_OK, NULL, NULL,
	    BK_E_CONF_SYNTAX,
	    { B_CONF ":3: tls_cert is set without tls_key" } },
	{ "tls_key without cert", "[server]\npublic_url = https://sso.example\n"
	    "tls_key = @D@/pki/sp.key\n" BROKER_REST, TENANT_OK, NULL, NULL,
	    BK_E_CONF_SYNTAX,
	    { B_CONF ":3: tls_key is set without tls_cert" } },
	{ "sentinels without master_name", BROKER_SERVER "[redis]\nsentinels = "
	    "10.0.0.1:26379, 10.0.0.2:26379\n[audit]\npath = @D@/a\n[admin]\n"
	    "token_file = @D@/pki/admin.token\n[tenants]\ndir = @D@/tenants.d\n",
	    TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":7: missing required key [redis] master_name" } },
	{ "bad sentinel", BROKER_SERVER "[redis]\nsentinels = 10.0.0.1:26379,,"
	    "\nmaster_name = m\n[audit]\npath = @D@/a\n[admin]\n"
	    "token_file = @D@/pki/admin.token\n[tenants]\ndir = @D@/tenants.d\n",
	    TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":7: invalid sentinels: empty or over-long element" } },
	{ "duplicate tenant id", NULL, TENANT_OK,
	    "[tenant]\nid = acme\n[saml]\nidp_metadata = @D@/idp-metadata.xml\n"
	    "sp_key = @D@/pki/sp.key\nsp_cert = @D@/pki/sp.crt\n[panel]\n"
	    "client_id = panel-beta\nclient_secret_file = @D@/pki/panel.secret\n"
	    "redirect_uri = https://panel.example/cb\n", NULL, BK_E_CONF_SYNTAX,
	    { BETA_CONF ":2: duplicate tenant id 'acme' (also in " A_CONF
	    ":2)" } },
	{ "duplicate panel client_id", NULL, TENANT_OK,
	    "[tenant]\nid = beta\n[saml]\nidp_metadata = @D@/idp-metadata.xml\n"
	    "sp_key = @D@/pki/sp.key\nsp_cert = @D@/pki/sp.crt\n[panel]\n"
	    "client_id = panel-acme\nclient_secret_file = @D@/pki/panel.secret\n"
	    "redirect_uri = https://panel.example/cb\n", NULL, BK_E_CONF_SYNTAX,
	    { BETA_CONF ":8: duplicate [panel] client_id 'panel-acme' (also in "
	    A_CONF ":13)" } },
	{ "missing metadata file", NULL, T_TENANT "[saml]\nidp_metadata = "
	    "@D@/nonexistent.xml\nsp_key = @D@/pki/sp.key\nsp_cert = "
	    "@D@/pki/sp.crt\n" T_PANEL, NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":5: @D@/nonexistent.xml: No such file or directory" } },
	{ "short panel secret", NULL, T_TENANT T_SAML "[panel]\nclient_id = p\n"
	    "client_secret_file = @D@/pki/short.secret\nredirect_uri = "
	    "https://p.example/cb\n", NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":13: @D@/pki/short.secret: the secret is too short; at "
	    "least 16 characters are needed" } },
	{ "short admin token", BROKER_SERVER "[audit]\npath = @D@/a\n[admin]\n"
	    "token_file = @D@/pki/short.secret\n[tenants]\ndir = @D@/tenants.d\n",
	    TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":9: @D@/pki/short.secret: the secret is too short" } },
	{ "over-long line", BROKER_SERVER "# " X50 X50 X50 X50 X50 "\n"
	    BROKER_REST, TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":6: line too long (at most 197 characters)" } },
	{ "no equals sign", BROKER_SERVER "workers\n" BROKER_REST, TENANT_OK,
	    NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":6: expected 'key = value'" } },
	{ "colon separator", BROKER_SERVER "[redis]\ntimeout_ms: 100\n"
	    BROKER_REST, TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":7: expected 'key = value'" } },
	{ "junk after section", BROKER_SERVER "[redis] x\n" BROKER_REST,
	    TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":6: junk after section header" } },
	{ "unterminated section", BROKER_SERVER "[redis\n" BROKER_REST,
	    TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":6: malformed section header: missing ']'" } },
	{ "key outside section", "workers = 1\n" BROKER_SERVER BROKER_REST,
	    TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":1: workers is outside any [section]" } },
	{ "value starting with ';'", BROKER_SERVER "[redis]\nmaster_name =;x\n"
	    BROKER_REST, TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":7: value starts with ';'" } },
	{ "empty value", BROKER_SERVER "[redis]\nmaster_name =\n" BROKER_REST,
	    TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":7: missing value for master_name" } },
	{ "control character", BROKER_SERVER "[redis]\nmaster_name = a\001b\n"
	    BROKER_REST, TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":7: control character in line" } },
	{ "bad tenant id", NULL, "[tenant]\nid = Acme\n" T_SAML T_PANEL, NULL,
	    NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":2: invalid id 'Acme': must match "
	    "[a-z0-9][a-z0-9-]{0,62}" } },
	{ "tenant id starting with dash", NULL, "[tenant]\nid = -acme\n"
	    T_SAML T_PANEL, NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":2: invalid id '-acme'" } },
	{ "bad enum", NULL, TENANT_OK "[tenant]\nlogin = saml2\n", NULL, NULL,
	    BK_E_CONF_SYNTAX,
	    { A_CONF ":21: invalid login 'saml2': must be one of saml, oidc" } },
	{ "bad consent", NULL, T_TENANT T_SAML T_PANEL "[policy]\nconsent = "
	    "sometimes\n", NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":18: invalid consent 'sometimes': must be one of "
	    "first_use, always, never" } },
	{ "tenants dir not a directory", BROKER_SERVER "[audit]\npath = @D@/a\n"
	    "[admin]\ntoken_file = @D@/pki/admin.token\n[tenants]\n"
	    "dir = @D@/idp-metadata.xml\n", NULL, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":11: tenants dir @D@/idp-metadata.xml is not a "
	    "directory" } },
	{ "audit dir missing", BROKER_SERVER "[audit]\npath = @D@/no/a.jsonl\n"
	    "[admin]\ntoken_file = @D@/pki/admin.token\n[tenants]\n"
	    "dir = @D@/tenants.d\n", TENANT_OK, NULL, NULL, BK_E_CONF_SYNTAX,
	    { B_CONF ":7: audit path @D@/no/a.jsonl: directory @D@/no does "
	    "not exist" } },
	{ "too many redirect_uris", NULL, T_TENANT T_SAML T_PANEL
	    "redirect_uri = https://p/1\nredirect_uri = https://p/2\n"
	    "redirect_uri = https://p/3\nredirect_uri = https://p/4\n"
	    "redirect_uri = https://p/5\nredirect_uri = https://p/6\n"
	    "redirect_uri = https://p/7\nredirect_uri = https://p/8\n"
	    "redirect_uri = https://p/9\nredirect_uri = https://p/10\n"
	    "redirect_uri = https://p/11\nredirect_uri = https://p/12\n"
	    "redirect_uri = https://p/13\nredirect_uri = https://p/14\n"
	    "redirect_uri = https://p/15\nredirect_uri = https://p/16\n",
	    NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":32: too many values for redirect_uri (at most 16)" } },
	{ "bad org_id", NULL, "[tenant]\nid = acme\nlogin = oidc\n[oidc]\n"
	    "issuer = https://login.salesforce.com\nclient_id = x\n"
	    "client_secret_file = @D@/pki/op.secret\norg_id = 00Dxx\n" T_PANEL,
	    NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":8: invalid org_id '00Dxx': must be a 15- or "
	    "18-character Salesforce org ID" } },
	/* A tenant's own store: broker.conf's rules, file:line (issue 12). */
	{ "tenant redis url bad", NULL, TENANT_OK "[redis]\n"
	    "url = redis://u:hunter2@host:99999/0\n", NULL, NULL,
	    BK_E_CONF_SYNTAX, { A_CONF ":21: invalid url" } },
	{ "tenant redis url scheme", NULL, TENANT_OK "[redis]\n"
	    "url = http://redis.example/0\n", NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":21: invalid url", "expected redis://host:port/db or "
	    "unix:///path" } },
	{ "tenant redis sentinels without master_name", NULL, TENANT_OK
	    "[redis]\nsentinels = 127.0.0.1:26379\n", NULL, NULL,
	    BK_E_CONF_SYNTAX, { A_CONF ":21: missing required key [redis] "
	    "master_name (sentinels is set)" } },
	{ "tenant redis master_name alone", NULL, TENANT_OK "[redis]\n"
	    "master_name = big\n", NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":21: [redis] needs url or sentinels in a tenant file" } },
	{ "tenant redis timeout alone", NULL, TENANT_OK "[redis]\n"
	    "timeout_ms = 500\n", NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":21: [redis] needs url or sentinels in a tenant file" } },
	{ "tenant redis timeout range", NULL, TENANT_OK "[redis]\n"
	    "url = redis://127.0.0.1:6380/0\ntimeout_ms = 10\n", NULL, NULL,
	    BK_E_CONF_SYNTAX, { A_CONF ":22: invalid timeout_ms" } },
	{ "tenant redis unknown key", NULL, TENANT_OK "[redis]\n"
	    "url = redis://127.0.0.1:6380/0\nhost = x\n", NULL, NULL,
	    BK_E_CONF_SYNTAX, { A_CONF ":22: unknown key" } },
	{ "tenant redis url twice", NULL, TENANT_OK "[redis]\n"
	    "url = redis://127.0.0.1:6380/0\nurl = redis://127.0.0.1:6381/0\n",
	    NULL, NULL, BK_E_CONF_SYNTAX, { A_CONF ":22:" } },
	{ "sp_next_key alone", NULL, T_TENANT T_SAML
	    "sp_next_key = @D@/pki/sp.key\n" T_PANEL, NULL, NULL,
	    BK_E_CONF_SYNTAX,
	    { A_CONF ":11: [saml] sp_next_key and sp_next_cert are given "
	    "both or neither" } },
	{ "sp_next_cert alone", NULL, T_TENANT T_SAML
	    "sp_next_cert = @D@/pki/sp.crt\n" T_PANEL, NULL, NULL,
	    BK_E_CONF_SYNTAX,
	    { A_CONF ":11: [saml] sp_next_key and sp_next_cert are given "
	    "both or neither" } },
	{ "allow_cbc yes", NULL, T_TENANT T_SAML "allow_cbc = yes\n" T_PANEL,
	    NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":11: invalid allow_cbc 'yes': must be exactly true or "
	    "false" } },
	{ "require_encryption 1", NULL, T_TENANT T_SAML
	    "require_encryption = 1\n" T_PANEL, NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":11: invalid require_encryption '1': must be exactly "
	    "true or false" } },
	{ "sp_next_key in an oidc tenant", NULL, "[tenant]\nid = acme\n"
	    "login = oidc\n[oidc]\nissuer = https://login.salesforce.com\n"
	    "client_id = x\nclient_secret_file = @D@/pki/op.secret\n"
	    "org_id = 00D000000000001\n[saml]\nallow_cbc = true\n" T_PANEL,
	    NULL, NULL, BK_E_CONF_SYNTAX,
	    { A_CONF ":10: [saml] allow_cbc is set but this tenant signs in "
	    "with login = oidc" } },
};

static void
test_conf_cases(void **state)
{
	struct conf	*c;
	char		*errs, *want;
	size_t		 i, j;
	int		 rv;

	(void)state;
	for (i = 0; i < BK_NELEM(cases); i++) {
		const struct conf_case *k = &cases[i];

		c = NULL;
		errs = NULL;
		rv = load(k->broker, k->acme, k->beta, k->v, &c, &errs);
		if (rv != k->rv || errs == NULL)
			print_error("case '%s': rv %d, errors:\n%s\n", k->name,
			    rv, errs != NULL ? errs : "(none)");
		assert_int_equal(rv, k->rv);
		assert_null(c);
		assert_non_null(errs);
		for (j = 0; j < BK_NELEM(k->expect) && k->expect[j]; j++) {
			want = subst(k->expect[j], NULL);
			if (strstr(errs, want) == NULL)
				print_error("case '%s': want\n  %s\ngot\n%s\n",
				    k->name, want, errs);
			assert_non_null(strstr(errs, want));
			free(want);
		}
		/* A redis password never reaches a message. */
		assert_null(strstr(errs, "hunter2"));
		free(errs);
	}
}

/* Several errors at once: all reported, each with its exact prefix. */
static void
test_conf_all_errors(void **state)
{
	struct conf	*c;
	char		*errs, *want;
	int		 rv;

	(void)state;
	rv = load("[server]\n"
	    "public_url = http://127.0.0.1:1/x\n"
	    "workers = many\n"
	    "colour = blue\n"
	    "[redis]\n"
	    "timeout_ms = 10\n"
	    "timeout_ms = 20\n"
	    "[nope]\n"
	    "[admin]\n"
	    "token_file = @D@/pki/admin.token\n"
	    "[tenants]\n"
	    "dir = @D@/tenants.d\n",
	    T_TENANT "login = ldap\n" T_SAML T_PANEL T_POLICY, NULL, "yes",
	    &c, &errs);
	assert_int_equal(rv, BK_E_CONF_SYNTAX);
	assert_null(c);
	want = subst(
	    B_CONF ":2: invalid public_url 'http://127.0.0.1:1/x': URL has a "
	    "path; give scheme://host[:port] only\n"
	    B_CONF ":3: invalid workers 'many': not a decimal integer (range "
	    "0..64)\n"
	    B_CONF ":4: unknown key 'colour' in [server]\n"
	    B_CONF ":6: invalid timeout_ms '10': too small (range 50..60000)\n"
	    B_CONF ":7: duplicate key timeout_ms in [redis] (first set at line "
	    "6)\n"
	    B_CONF ":8: unknown section [nope]\n"
	    B_CONF ":12: missing required key [audit] path\n"
	    A_CONF ":3: invalid enable_salesforce_sso 'yes': must be exactly "
	    "true or false\n"
	    A_CONF ":4: invalid login 'ldap': must be one of saml, oidc", NULL);
	if (strcmp(errs, want) != 0)
		print_error("want:\n%s\ngot:\n%s\n", want, errs);
	assert_string_equal(errs, want);
	free(want);
	free(errs);
}

/* Secret files -------------------------------------------------------------- */

static void
check_perm(const char *rel, const char *expect_tmpl)
{
	struct conf	*c = NULL;
	char		 path[512], *errs = NULL, *want;
	int		 rv;

	snprintf(path, sizeof(path), "%s/%s", tdir, rel);
	assert_int_equal(chmod(path, 0644), 0);
	rv = load(NULL, TENANT_OK, NULL, NULL, &c, &errs);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(rv, BK_E_CONF_SECRET_PERM);
	assert_null(c);
	want = subst(expect_tmpl, NULL);
	if (errs == NULL || strcmp(errs, want) != 0)
		print_error("want:\n%s\ngot:\n%s\n", want, errs);
	assert_string_equal(errs, want);
	free(want);
	free(errs);
}

static void
test_conf_secret_perm(void **state)
{
	(void)state;
	check_perm("pki/panel.secret", A_CONF ":14: @D@/pki/panel.secret is "
	    "readable by group or others (mode 0644); chmod 600 it");
	check_perm("pki/admin.token", B_CONF ":14: @D@/pki/admin.token is "
	    "readable by group or others (mode 0644); chmod 600 it");
	check_perm("pki/sp.key", A_CONF ":7: @D@/pki/sp.key is readable by "
	    "group or others (mode 0644); chmod 600 it");
}

/* Positive controls ---------------------------------------------------------- */

static void
test_conf_acceptance(void **state)
{
	struct conf		*c = NULL;
	struct conf_tenant	*t;
	char			*errs = NULL, *want, digest[BK_DIGEST_HEX + 1];
	const char		*tok = "0123456789abcdef0123456789abcdef";
	int			 rv;

	(void)state;
	rv = load(NULL, TENANT_OK, NULL, "true", &c, &errs);
	if (rv != BK_OK)
		print_error("%s\n", errs);
	assert_int_equal(rv, BK_OK);
	assert_null(errs);
	assert_non_null(c);
	assert_string_equal(c->listen, "127.0.0.1:18080");
	assert_string_equal(c->public_url, "http://127.0.0.1:18080");
	assert_string_equal(c->admin_listen, "127.0.0.1:18081");
	assert_int_equal(c->workers, 2);
	assert_int_equal(c->public_is_loopback_http, 1);
	assert_string_equal(c->redis.url, "redis://127.0.0.1:6379/0");
	assert_string_equal(c->redis.host, "127.0.0.1");
	assert_int_equal(c->redis.port, 6379);
	assert_int_equal(c->redis.db, 0);
	assert_null(c->redis.password);
	assert_int_equal(c->redis.timeout_ms, 2000);
	assert_int_equal(c->redis.n_sentinels, 0);
	bk_sha256_hex(tok, strlen(tok), digest);
	assert_string_equal(c->admin_token_digest, digest);
	assert_int_equal(c->n_tenants, 1);
	t = conf_tenant_lookup(c, "acme");
	assert_non_null(t);
	assert_ptr_equal(conf_tenant_by_client(c, "panel-acme"), t);
	assert_null(conf_tenant_lookup(c, "beta"));
	assert_null(conf_tenant_by_client(c, "panel-beta"));
	assert_int_equal(t->login, CONF_LOGIN_SAML);
	assert_int_equal(t->sso_enabled, 1);
	assert_int_equal(t->saml.allow_idp_initiated, 1);
	assert_int_equal(t->saml.clock_skew, 60);
	assert_int_equal(t->saml.allow_sha1, 0);
	assert_int_equal(t->saml.allow_portal_users, 0);
	assert_null(t->saml.username_attribute);
	assert_int_equal(t->saml.max_authn_age, 0);
	assert_string_equal(t->saml.sp_entity_id,
	    "http://127.0.0.1:18080/t/acme/saml/metadata");
	assert_string_equal(t->acs_url, "http://127.0.0.1:18080/t/acme/saml/acs");
	assert_string_equal(t->metadata_url,
	    "http://127.0.0.1:18080/t/acme/saml/metadata");
	assert_string_equal(t->panel.client_secret, "panel-secret-0123456789");
	assert_int_equal(t->panel.n_redirect_uris, 1);
	assert_int_equal(conf_redirect_uri_ok(t,
	    "http://127.0.0.1:9999/sso/callback"), 1);
	assert_int_equal(conf_redirect_uri_ok(t,
	    "http://127.0.0.1:9999/sso/callback/"), 0);
	assert_int_equal(conf_redirect_uri_ok(t,
	    "HTTP://127.0.0.1:9999/sso/callback"), 0);
	assert_string_equal(t->panel.initiate_login_uri,
	    "http://127.0.0.1:9999/sso/start");
	assert_int_equal(t->policy.consent, CONF_CONSENT_FIRST_USE);
	assert_int_equal(t->policy.code_ttl, 60);
	assert_int_equal(t->policy.session_ttl, 28800);
	want = subst("@D@/tenants.d/acme.conf", NULL);
	assert_string_equal(t->file, want);
	free(want);
	assert_string_equal(conf_login_name(t->login), "saml");
	assert_string_equal(conf_consent_name(t->policy.consent), "first_use");
	conf_free(c);
	conf_free(NULL);
}

static void
test_conf_sso_values(void **state)
{
	struct conf	*c;
	char		*errs;

	(void)state;
	assert_int_equal(load(NULL, TENANT_OK, NULL, "false", &c, &errs),
	    BK_OK);
	assert_int_equal(c->tenants[0]->sso_enabled, 0);
	conf_free(c);
	/* Absent: off. */
	assert_int_equal(load(NULL, "[tenant]\nid = acme\n" T_SAML T_PANEL,
	    NULL, NULL, &c, &errs), BK_OK);
	assert_int_equal(c->tenants[0]->sso_enabled, 0);
	conf_free(c);
	/* Inline comment after the value is allowed. */
	assert_int_equal(load(NULL, TENANT_OK, NULL, "true ; on for everyone",
	    &c, &errs), BK_OK);
	assert_int_equal(c->tenants[0]->sso_enabled, 1);
	conf_free(c);
}

/* Indentation, CRLF, comments, a BOM, sorting and other variants. */
static void
test_conf_variants(void **state)
{
	struct conf		*c;
	struct conf_tenant	*t;
	char			*errs = NULL, path[512];

	(void)state;
	assert_int_equal(load("\xef\xbb\xbf# comment\r\n; other comment\r\n"
	    "[server]\r\n  public_url = https://sso.example.com/\r\n"
	    "\tworkers = 4\r\n   listen = [::1]:8443\r\n"
	    "admin_listen = [::1]:8444\r\n"
	    "[redis]\nurl = unix:///run/redis/redis.sock?db=3\n"
	    "[audit]\npath = audit.jsonl\n[admin]\ntoken_file = pki/admin.token\n"
	    "[tenants]\ndir = tenants.d\n",
	    "[tenant]\nid = acme\nlogin = oidc\nenable_salesforce_sso = true\n"
	    "[oidc]\nissuer = https://login.salesforce.com\nclient_id = 3MVG9x\n"
	    "client_secret_file = ../pki/op.secret\n"
	    "org_id = 00D000000000001AAA\n"
	    "[panel]\nclient_id = panel-acme\n"
	    "client_secret_file = @D@/pki/panel.secret\n"
	    "redirect_uri = https://panel.example/cb\n"
	    "redirect_uri = http://localhost:8000/cb\n"
	    "[policy]\nconsent = never\ncode_ttl = 10\nsession_ttl = 604800\n",
	    BETA_OK, NULL, &c, &errs), BK_OK);
	assert_null(errs);
	assert_string_equal(c->public_url, "https://sso.example.com");
	assert_int_equal(c->public_is_loopback_http, 0);
	assert_int_equal(c->workers, 4);
	assert_string_equal(c->listen, "[::1]:8443");
	assert_null(c->redis.host);
	assert_string_equal(c->redis.unix_path, "/run/redis/redis.sock");
	assert_int_equal(c->redis.db, 3);
	/* Relative paths are relative to the file that names them. */
	snprintf(path, sizeof(path), "%s/audit.jsonl", tdir);
	assert_string_equal(c->audit_path, path);
	assert_int_equal(c->n_tenants, 2);
	assert_string_equal(c->tenants[0]->id, "acme");
	assert_string_equal(c->tenants[1]->id, "beta");
	t = c->tenants[0];
	assert_int_equal(t->login, CONF_LOGIN_OIDC);
	assert_string_equal(t->oidc.client_secret, "oidc-client-secret");
	snprintf(path, sizeof(path), "%s/tenants.d/../pki/op.secret", tdir);
	assert_string_equal(t->oidc.client_secret_file, path);
	assert_int_equal(t->panel.n_redirect_uris, 2);
	assert_int_equal(conf_redirect_uri_ok(t, "http://localhost:8000/cb"),
	    1);
	assert_int_equal(t->policy.consent, CONF_CONSENT_NEVER);
	assert_int_equal(t->policy.code_ttl, 10);
	assert_int_equal(t->policy.session_ttl, 604800);
	assert_string_equal(t->saml.sp_entity_id,
	    "https://sso.example.com/t/acme/saml/metadata");
	conf_free(c);

	/* Files other than *.conf in the tenants dir are ignored. */
	clear_tenants();
	write_file("tenants.d/acme.conf.example", "garbage", NULL, 0600);
	write_file("tenants.d/.beta.conf", "garbage", NULL, 0600);
	write_file("tenants.d/README", "garbage", NULL, 0600);
	snprintf(path, sizeof(path), "%s/broker.conf", tdir);
	write_file("broker.conf", BROKER_OK, NULL, 0600);
	assert_int_equal(conf_load(path, &c, &errs), BK_OK);
	assert_int_equal(c->n_tenants, 0);
	conf_free(c);

	/* A missing broker.conf names itself. */
	snprintf(path, sizeof(path), "%s/none.conf", tdir);
	assert_int_equal(conf_load(path, &c, &errs), BK_E_CONF_SYNTAX);
	assert_non_null(strstr(errs, "none.conf: No such file or directory"));
	free(errs);
}

/* A tenant's own [redis]: parsed as broker.conf's, timeout inherited. */
static void
test_conf_tenant_redis(void **state)
{
	struct conf		*c;
	struct conf_tenant	*a, *b;
	char			*errs = NULL;

	(void)state;
	assert_int_equal(load(BROKER_SERVER "\n[redis]\n"
	    "url = redis://127.0.0.1:6379/0\ntimeout_ms = 700\n"
	    "[audit]\npath = @D@/audit.jsonl\n[admin]\n"
	    "token_file = @D@/pki/admin.token\n[tenants]\ndir = @D@/tenants.d\n",
	    TENANT_OK "[redis]\nurl = redis://big:s%40cret@10.0.0.9:6390/4\n",
	    BETA_OK "[redis]\nsentinels = 10.0.0.1:26379,10.0.0.2:26379\n"
	    "master_name = beta\ntimeout_ms = 300\n", NULL, &c, &errs), BK_OK);
	assert_null(errs);
	a = c->tenants[0];
	b = c->tenants[1];
	assert_int_equal(conf_tenant_has_redis(a), 1);
	assert_string_equal(a->redis.host, "10.0.0.9");
	assert_int_equal(a->redis.port, 6390);
	assert_int_equal(a->redis.db, 4);
	assert_string_equal(a->redis.user, "big");
	assert_string_equal(a->redis.password, "s@cret");
	assert_int_equal(a->redis.timeout_ms, 700);	/* broker.conf's */
	assert_int_equal(conf_tenant_has_redis(b), 1);
	assert_null(b->redis.url);
	assert_int_equal(b->redis.n_sentinels, 2);
	assert_string_equal(b->redis.master_name, "beta");
	assert_int_equal(b->redis.timeout_ms, 300);
	assert_int_equal(conf_redis_same(&a->redis, &b->redis), 0);
	assert_int_equal(conf_redis_same(&a->redis, &a->redis), 1);
	assert_int_equal(conf_redis_same(&a->redis, &c->redis), 0);
	conf_free(c);

	/* No [redis]: the default store; the same URL as broker.conf's. */
	assert_int_equal(load(NULL, TENANT_OK, BETA_OK "[redis]\n"
	    "url = redis://127.0.0.1:6379/0\n", NULL, &c, &errs), BK_OK);
	assert_int_equal(conf_tenant_has_redis(c->tenants[0]), 0);
	assert_int_equal(conf_tenant_has_redis(c->tenants[1]), 1);
	assert_int_equal(conf_redis_same(&c->tenants[1]->redis, &c->redis), 1);
	conf_free(c);
}

/* conf_parse_string() and conf_dump(): secrets masked, output re-parses. */
static void
test_conf_dump(void **state)
{
	static const char text[] =
	    "[server]\npublic_url = https://sso.example.com\n"
	    "tls_cert = /etc/sso/cert.pem\ntls_key = /etc/sso/key.pem\n"
	    "admin_listen = 10.0.0.1:8081\n"
	    "[redis]\nurl = redis://app:s3cr%40t@redis.example:6380/2\n"
	    "sentinels = 10.0.0.1:26379,10.0.0.2:26379\nmaster_name = mymaster\n"
	    "[audit]\npath = /var/log/sso/audit.jsonl\n"
	    "[admin]\ntoken_file = /etc/sso/admin.token\n"
	    "[tenants]\ndir = /etc/sso/tenants.d\n";
	struct conf	*c, *c2;
	char		*errs, *out = NULL;
	size_t		 outlen = 0;
	FILE		*fp;

	(void)state;
	assert_int_equal(conf_parse_string(text, sizeof(text) - 1, "mem.conf",
	    &c, &errs), BK_OK);
	assert_string_equal(c->redis.host, "redis.example");
	assert_int_equal(c->redis.port, 6380);
	assert_int_equal(c->redis.db, 2);
	assert_string_equal(c->redis.user, "app");
	assert_string_equal(c->redis.password, "s3cr@t");
	assert_int_equal(c->redis.n_sentinels, 2);
	assert_string_equal(c->redis.sentinels[1], "10.0.0.2:26379");
	fp = open_memstream(&out, &outlen);
	assert_non_null(fp);
	conf_dump(c, fp);
	assert_int_equal(fclose(fp), 0);
	assert_null(strstr(out, "s3cr"));
	assert_non_null(strstr(out, "url = redis://app:****@redis.example:6380/2"));
	assert_non_null(strstr(out, "listen = 127.0.0.1:8080\n"));
	assert_non_null(strstr(out, "workers = 0\n"));
	assert_non_null(strstr(out, "timeout_ms = 2000\n"));
	assert_non_null(strstr(out, "token_file = /etc/sso/admin.token\n"));
	/* The dump is a config that says the same. */
	assert_int_equal(conf_parse_string(out, outlen, "dump.conf", &c2,
	    &errs), BK_OK);
	assert_string_equal(c2->admin_listen, c->admin_listen);
	assert_int_equal(c2->redis.n_sentinels, 2);
	conf_free(c2);
	conf_free(c);
	free(out);

	/* conf_parse_string() needs no NUL and reports like conf_load(). */
	assert_int_equal(conf_parse_string("[server]\nworkers = 12", 20, "m",
	    &c, &errs), BK_E_CONF_SYNTAX);
	assert_null(c);
	assert_string_equal(errs, "m:1: missing required key [server] public_url\n"
	    "m:2: missing required key [audit] path\n"
	    "m:2: missing required key [admin] token_file\n"
	    "m:2: missing required key [tenants] dir");
	free(errs);
	/* Embedded NUL bytes are control characters, not line ends. */
	assert_int_equal(conf_parse_string("[server]\nworkers = 1\0002\n", 23,
	    "m", &c, &errs), BK_E_CONF_SYNTAX);
	assert_non_null(strstr(errs, "m:2: control character in line"));
	free(errs);
}

/* The keyword table against docs/broker.conf.5, both ways ------------------ */

struct man_entry {
	char	 section[32];
	char	 name[64];
	char	*body;
};

static size_t
man_parse(const char *text, struct man_entry *ents, size_t max)
{
	const char	*line = text, *nl;
	char		 sec[32] = "";
	size_t		 n = 0, l;
	int		 want_name = 0;
	struct bk_buf	*body = NULL;
	struct bk_buf	 bufs[128];

	assert_true(max <= BK_NELEM(bufs));
	for (; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl);
		l = (size_t)(nl - line);
		if (strncmp(line, ".SH", 3) == 0) {
			sec[0] = '\0';
			body = NULL;
		} else if (strncmp(line, ".SS [", 5) == 0) {
			const char *rb = memchr(line, ']', l);

			assert_non_null(rb);
			snprintf(sec, sizeof(sec), "%.*s", (int)(rb - line - 5),
			    line + 5);
			body = NULL;
		} else if (sec[0] != '\0' && strncmp(line, ".TP", 3) == 0) {
			want_name = 1;
			body = NULL;
		} else if (want_name) {
			const char *s = line + strcspn(line, " ");
			size_t k;

			want_name = 0;
			assert_true(strncmp(line, ".B", 2) == 0);
			s++;
			k = strcspn(s, " \n");
			assert_true(n < max);
			snprintf(ents[n].section, sizeof(ents[n].section), "%s",
			    sec);
			snprintf(ents[n].name, sizeof(ents[n].name), "%.*s",
			    (int)k, s);
			bk_buf_init(&bufs[n], 1 << 16);
			body = &bufs[n];
			n++;
		} else if (body != NULL) {
			assert_int_equal(bk_buf_add(body, line, l + 1), BK_OK);
		}
	}
	for (l = 0; l < n; l++)
		ents[l].body = bufs[l].len > 0 ? bk_buf_take(&bufs[l]) :
		    strdup("");
	return n;
}

static void
test_conf_man_sync(void **state)
{
	const struct conf_keyword *kw;
	struct man_entry ents[128];
	char		 path[1024], *text, want[256];
	size_t		 nkw, nents, i, j;
	struct stat	 st;
	FILE		*fp;
	int		 found;

	(void)state;
	snprintf(path, sizeof(path), "%s/docs/broker.conf.5",
	    getenv("SRCDIR") != NULL ? getenv("SRCDIR") : SRCDIR);
	fp = fopen(path, "r");
	if (fp == NULL)
		print_error("%s: %s\n", path, strerror(errno));
	assert_non_null(fp);
	assert_int_equal(fstat(fileno(fp), &st), 0);
	text = calloc(1, (size_t)st.st_size + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)st.st_size, fp),
	    (size_t)st.st_size);
	fclose(fp);
	nents = man_parse(text, ents, BK_NELEM(ents));
	kw = conf_keywords_table(&nkw);
	assert_true(nkw > 0);

	/* Every keyword: documented once, with its default and bounds. */
	for (i = 0; i < nkw; i++) {
		found = 0;
		for (j = 0; j < nents; j++) {
			if (strcmp(ents[j].section, kw[i].section) != 0 ||
			    strcmp(ents[j].name, kw[i].name) != 0)
				continue;
			found++;
			if (kw[i].def != NULL) {
				snprintf(want, sizeof(want), "Default: %s",
				    kw[i].def);
				if (strstr(ents[j].body, want) == NULL)
					print_error("[%s] %s: no '%s'\n",
					    kw[i].section, kw[i].name, want);
				assert_non_null(strstr(ents[j].body, want));
			}
			if (kw[i].type == CONF_T_INT) {
				snprintf(want, sizeof(want), "Range: %lld to "
				    "%lld", kw[i].min, kw[i].max);
				if (strstr(ents[j].body, want) == NULL)
					print_error("[%s] %s: no '%s'\n",
					    kw[i].section, kw[i].name, want);
				assert_non_null(strstr(ents[j].body, want));
			}
			if (kw[i].flags & (CONF_REQUIRED | CONF_REQ_SAML |
			    CONF_REQ_OIDC))
				assert_non_null(strstr(ents[j].body,
				    "Required"));
			if (kw[i].flags & CONF_SECRET)
				assert_non_null(strstr(ents[j].body, "0600"));
			if (kw[i].flags & CONF_REPEATABLE)
				assert_non_null(strstr(ents[j].body,
				    "more than once"));
		}
		if (found != 1)
			print_error("[%s] %s documented %d times in %s\n",
			    kw[i].section, kw[i].name, found, path);
		assert_int_equal(found, 1);
	}
	/* Every documented directive exists. */
	for (j = 0; j < nents; j++) {
		found = 0;
		for (i = 0; i < nkw; i++)
			if (strcmp(ents[j].section, kw[i].section) == 0 &&
			    strcmp(ents[j].name, kw[i].name) == 0)
				found = 1;
		if (!found)
			print_error("[%s] %s in %s is not a keyword\n",
			    ents[j].section, ents[j].name, path);
		assert_int_equal(found, 1);
		free(ents[j].body);
	}
	free(text);
}

/* The shipped examples parse cleanly (paths aside). */
static void
test_conf_examples(void **state)
{
	char		 path[1024], *errs = NULL, *buf;
	struct conf	*c;
	struct stat	 st;
	FILE		*fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/etc/broker.conf.example",
	    getenv("SRCDIR") != NULL ? getenv("SRCDIR") : SRCDIR);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fstat(fileno(fp), &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, fp),
	    (size_t)st.st_size);
	fclose(fp);
	if (conf_parse_string(buf, (size_t)st.st_size, path, &c, &errs) !=
	    BK_OK)
		print_error("%s\n", errs);
	assert_non_null(c);
	conf_free(c);
	free(buf);

	/* The tenant example, against a broker.conf of ours. */
	snprintf(path, sizeof(path), "%s/etc/tenant.conf.example",
	    getenv("SRCDIR") != NULL ? getenv("SRCDIR") : SRCDIR);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fstat(fileno(fp), &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, fp),
	    (size_t)st.st_size);
	buf[st.st_size] = '\0';
	fclose(fp);
	assert_int_equal(load(NULL, buf, NULL, NULL, &c, &errs),
	    BK_E_CONF_SYNTAX);
	/* Only the demo paths may be wrong: no syntax or value errors. */
	{
		char *line, *nl;

		for (line = errs; line != NULL; line = nl) {
			if ((nl = strchr(line, '\n')) != NULL)
				*nl++ = '\0';
			if (strstr(line, "No such file or directory") == NULL)
				print_error("unexpected: %s\n", line);
			assert_non_null(strstr(line,
			    "No such file or directory"));
		}
	}
	free(errs);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_acceptance),
		cmocka_unit_test(test_conf_cases),
		cmocka_unit_test(test_conf_all_errors),
		cmocka_unit_test(test_conf_secret_perm),
		cmocka_unit_test(test_conf_sso_values),
		cmocka_unit_test(test_conf_variants),
		cmocka_unit_test(test_conf_tenant_redis),
		cmocka_unit_test(test_conf_dump),
		cmocka_unit_test(test_conf_man_sync),
		cmocka_unit_test(test_conf_examples),
	};

	return cmocka_run_group_tests_name("conf", tests, group_setup,
	    group_teardown);
}
