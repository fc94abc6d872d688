/*
 * sso-broker: private declarations of the saml/ module.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Shared between saml_xml.c (the one parser and node helpers),
 * saml_sig.c (signature profile and xmlsec), saml_conditions.c (subject,
 * conditions, time), saml_verify.c (the ordered check chain) and
 * saml_sp.c (init, tenants, metadata, AuthnRequest).  Only saml/ includes
 * lasso, xmlsec and libxml2.
 * Trust: every xmlNode handled here comes from an untrusted document
 * unless it belongs to a tenant's configuration files.
 */
#ifndef BK_SAML_INT_H
#define BK_SAML_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <libxml/tree.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/keys.h>

#include "saml.h"

/* A C string as a libxml2 string, without casting const away. */
#define SAML_XC(s)	((const xmlChar *)(s))

#define SAML_NS_PROTO	"urn:oasis:names:tc:SAML:2.0:protocol"
#define SAML_NS_ASSERT	"urn:oasis:names:tc:SAML:2.0:assertion"
#define SAML_NS_MD	"urn:oasis:names:tc:SAML:2.0:metadata"
#define SAML_NS_DS	"http://www.w3.org/2000/09/xmldsig#"
#define SAML_NS_XML	"http://www.w3.org/XML/1998/namespace"

#define SAML_STATUS_SUCCESS	"urn:oasis:names:tc:SAML:2.0:status:Success"
#define SAML_CM_BEARER		"urn:oasis:names:tc:SAML:2.0:cm:bearer"
#define SAML_FMT_ENTITY \
	"urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
#define SAML_FMT_UNSPEC \
	"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
#define SAML_FMT_EMAIL \
	"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
#define SAML_BINDING_POST	"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
#define SAML_BINDING_REDIRECT \
	"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"

/* Longest identity or attribute text we read from an assertion. */
#define SAML_TEXT_MAX		4096
/* IssueInstant may be this much older than now - skew (seconds). */
#define SAML_ISSUE_MAX_AGE	300
/* Biggest metadata file we read. */
#define SAML_METADATA_MAX	(1024 * 1024)

/*
 * Shape limits of a SAML message (saml_limits.c), checked while libxml2
 * builds the tree, so before any superlinear work: libxml2's own start-tag
 * parsing, xmlsec's canonicalization, our walks.  The figures after each
 * are the largest seen in real responses (Salesforce, lasso, pysaml2);
 * the rationale is in docs/security.md.
 */
#define SAML_LIM_DEPTH		24	/* element nesting: 8 */
#define SAML_LIM_NODES		1024	/* elements, comments, PIs, CDATA: 60 */
#define SAML_LIM_ATTRS_ELEM	16	/* attributes of one element: 6 */
#define SAML_LIM_ATTRS		2048	/* attributes in the message: 60 */
#define SAML_LIM_NS_ELEM	8	/* ns declarations on one element: 4 */
#define SAML_LIM_NS_SCOPE	16	/* on an element and its ancestors: 6 */
#define SAML_LIM_NS_TOTAL	512	/* ns declarations in the message: 13 */
#define SAML_LIM_PREFIX_LEN	128	/* bytes of one PrefixList: 14 */
#define SAML_LIM_PREFIXES	8	/* prefixes in one PrefixList: 4 */
#define SAML_LIM_SIGVALUE	4096	/* bytes of SignatureValue text: 350 */
#define SAML_LIM_DIGESTVALUE	256	/* bytes of DigestValue text: 44 */

/* Shape counters of one parse with limits (saml_limits.c). */
struct saml_lim {
	int	 rv;			/* first limit exceeded, or BK_OK */
	char	 msg[96];		/* its reason */
	size_t	 depth, nodes, attrs, ns_total, ns_scope;
	size_t	 ns_at[SAML_LIM_DEPTH + 1];	/* declarations per level */
};

/* State of one saml_xml_parse() call (ctxt->_private). */
struct saml_xml_state {
	int	 dtd;			/* a DOCTYPE or declaration was seen */
	int	 limits;		/* SAML_XML_LIMITS was given */
	char	 msg[96];		/* first libxml2 error (the reason) */
	struct saml_lim lim;
};

#define SAML_XML_LIMITS		0x01	/* untrusted message: shape limits */

struct _LassoServer;
/* The digests a SignatureMethod may name: SHA-256, -384, -512, SHA-1. */
#define SAML_SI_MDS	4

/** A tenant: everything built once at load (see saml.h). */
struct saml_tenant {
	char		*tenant_id;
	char		*sp_entity_id;
	char		*acs_url;
	char		*username_attribute;
	int		 allow_sha1;
	int		 clock_skew;
	int		 allow_portal_users;
	int		 max_authn_age;
	int		 sign_requests;	/* AuthnRequests signed (3.4.4.1) */
	struct saml_tenant_info info;
	xmlSecKeyPtr	 keys[SAML_MAX_IDP_CERTS];	/* public RSA only */
	/* the certificates' DER, for the raw assertions' records */
	unsigned char	*cert_der[SAML_MAX_IDP_CERTS];
	size_t		 cert_der_len[SAML_MAX_IDP_CERTS];
	/* per key and digest, a verification context to copy (saml_si.c) */
	EVP_MD_CTX	*verify_ctx[SAML_MAX_IDP_CERTS][SAML_SI_MDS];
	char		*sp_metadata;
	size_t		 sp_metadata_len;
	struct _LassoServer *server;
	/* metadata_signing_cert: a tenant of that one key (saml_mdurl.c) */
	struct saml_tenant *md_pin;
	/* our SingleLogoutService: acs_url with "slo" for "acs" */
	char		*slo_url;
	/* encrypted assertions (saml_enc.c): the SP certificates' DER */
	unsigned char	*enc_der[2];	/* SAML_KEY_CURRENT, SAML_KEY_NEXT */
	size_t		 enc_der_len[2];
	int		 require_encryption;
	int		 allow_cbc;
};

/** State of one saml_response_verify() call. */
struct saml_ctx {
	const struct saml_tenant *t;
	time_t		 now;
	xmlDocPtr	 doc;
	xmlNodePtr	 response;
	xmlNodePtr	 assertion;
	xmlNodePtr	 resp_sig;	/* direct-child Signature or NULL */
	xmlNodePtr	 assert_sig;
	xmlNodePtr	 bearer_scd;	/* the satisfied bearer SCD */
	time_t		 scd_not_on_or_after;
	time_t		 cond_not_on_or_after;
	struct saml_result *out;
	char		*detail;	/* returned-owned one-line reason */
	/* saml_enc.c */
	const struct saml_unwrap *uw;	/* NULL: EncryptedAssertion refused */
	int		 resp_verified;	/* Response signature checked early */
	int		 enc_oracle;	/* CBC: one answer until signed */
	int		 assert_verified;
};

/* saml_xml.c */
int	 saml_xml_parse(const char *buf, size_t len, int flags, xmlDocPtr *doc,
	    char **why);
void	 saml_xml_init(void);
int	 saml_xml_is(const xmlNode *n, const char *ns, const char *name);
int	 saml_xml_ns_is(const xmlNode *n, const char *ns);
xmlNodePtr saml_xml_first_elem(xmlNodePtr n);
xmlNodePtr saml_xml_next_elem(xmlNodePtr n);
xmlNodePtr saml_xml_child(xmlNodePtr parent, const char *ns, const char *name);
size_t	 saml_xml_count(xmlNodePtr parent, const char *ns, const char *name);
xmlNodePtr saml_xml_walk_next(xmlNodePtr root, xmlNodePtr n);
size_t	 saml_xml_count_desc(xmlNodePtr root, const char *ns, const char *name);
const char *saml_xml_attr(const xmlNode *n, const char *name);
int	 saml_xml_text(const xmlNode *n, char **out);
int	 saml_xml_text_is(const xmlNode *n, const char *want);
int	 saml_xml_time_parse(const char *s, time_t *out);
int	 saml_xml_has_markup(const xmlNode *n);

/* saml_limits.c */
int	 saml_lim_prescan(const char *buf, size_t len, struct saml_lim *l);
void	 saml_lim_hook(xmlSAXHandler *sax);
int	 saml_check_prefix_lists(struct saml_ctx *c);

/* saml_si.c */
int	 saml_si_key(struct saml_ctx *c, xmlNodePtr sig, size_t *which);
int	 saml_si_key_ready(struct saml_tenant *t, size_t i);
void	 saml_si_key_free(struct saml_tenant *t, size_t i);
int	 saml_si_rsa_ok(const struct saml_tenant *t, size_t i, int md,
	    const unsigned char *sig, size_t siglen, const unsigned char *tbs,
	    size_t len);

/* saml_sig.c */
int	 saml_sig_find(xmlNodePtr elem, xmlNodePtr *sig);
int	 saml_sig_check_profile(struct saml_ctx *c, xmlNodePtr elem,
	    xmlNodePtr sig);
int	 saml_sig_verify(struct saml_ctx *c, xmlNodePtr elem, xmlNodePtr sig,
	    char fp[SAML_FP_LEN + 1]);
int	 saml_sig_key_from_der(const unsigned char *der, size_t len,
	    xmlSecKeyPtr *key, struct saml_cert_info *info, const char **why);
void	 saml_cert_info_fill(X509 *x, const unsigned char *der, size_t len,
	    struct saml_cert_info *info);

/* saml_sp.c, saml_mdurl.c: IdP metadata */
#define SAML_MD_EXPIRED_OK	0x100	/* saml_md_parse(): validUntil past */
int	 saml_md_parse(struct saml_tenant *t, const char *buf, size_t len,
	    int flags, const struct saml_tenant *pin, char **entity_xml,
	    const char **reason);
int	 saml_md_sig_check(const struct saml_tenant *pin, xmlDocPtr doc,
	    xmlNodePtr root, const char **reason);

/* saml_conditions.c */
int	 saml_check_subject(struct saml_ctx *c);
int	 saml_check_in_response_to(struct saml_ctx *c);
int	 saml_check_conditions(struct saml_ctx *c);
int	 saml_check_audience(struct saml_ctx *c, xmlNodePtr cond);
int	 saml_check_issue_instant(struct saml_ctx *c);
int	 saml_check_authn_statement(struct saml_ctx *c);
int	 saml_time_attr(struct saml_ctx *c, xmlNodePtr n, const char *name,
	    int required, time_t *out);

/* saml_enc.c */
int	 saml_check_encrypted(struct saml_ctx *c);
int	 saml_enc_collapse(struct saml_ctx *c, int rv);
int	 saml_enc_tenant_load(struct saml_tenant *t,
	    const struct saml_sp_params *p, char **why);
int	 saml_enc_metadata_add(const struct saml_tenant *t, xmlNodePtr kd,
	    xmlNsPtr md);
void	 saml_enc_tenant_free(struct saml_tenant *t);

/* saml_verify.c */
int	 saml_fail(struct saml_ctx *c, int rv, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif /* BK_SAML_INT_H */
