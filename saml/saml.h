/*
 * sso-broker: SAML 2.0 service provider (lasso, xmlsec1, libxml2).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Only saml/ includes lasso, xmlsec or libxml2; no third-party type leaks
 * through this header.  Per tenant, struct saml_tenant holds everything
 * built once at start and reload (never per request): the IdP's signing
 * keys from its metadata (one or two, for rollover), the SP metadata
 * document, and the lasso server used to build AuthnRequests.
 * Trust: saml_response_verify() takes the raw, untrusted SAMLResponse form
 * value; everything it reports comes from the verified XML node.
 */
#ifndef BK_SAML_H
#define BK_SAML_H

#include <stddef.h>
#include <time.h>

/* Cap on the SAMLResponse form value before base64 decoding (X05). */
#define SAML_RESPONSE_MAX	(256 * 1024)
#define SAML_ID_MAX		128
#define SAML_FP_LEN		64	/* hex SHA-256 of the cert */
#define SAML_MAX_IDP_CERTS	2

/** What a tenant's SAML side is built from (all borrowed). */
struct saml_sp_params {
	const char *tenant_id;
	const char *sp_entity_id;	/* our entityID / Audience */
	/* Destination and Recipient must equal this */
	const char *acs_url;
	/* PEM certificate published in SP metadata */
	const char *sp_cert_path;
	const char *idp_metadata_path;	/* IdP EntityDescriptor */
	int	    allow_sha1;
	int	    clock_skew;		/* seconds */
	int	    allow_portal_users;
	const char *username_attribute;	/* NULL: the NameID */
	int	    max_authn_age;	/* seconds, 0 = no limit */
	/* AuthnRequests signed (the SP metadata says AuthnRequestsSigned) */
	int	    sign_requests;
	/*
	 * idp_metadata is the backing file of a metadata URL: a validUntil in
	 * the past loads (the tenant is not ready until a fetch renews it)
	 */
	int	    metadata_expired_ok;
	/* encrypted assertions (saml_enc.c): the rollover certificate */
	const char *sp_next_cert_path;	/* PEM, or NULL */
	int	    require_encryption;	/* a plain assertion is refused */
	int	    allow_cbc;		/* AES-CBC content besides AES-GCM */
};

struct saml_tenant;

struct saml_cert_info {
	char	fingerprint[SAML_FP_LEN + 1];	/* SHA-256 of the DER, hex */
	time_t	not_after;
	char	subject[256];
};

/** Facts about a loaded tenant, for the admin API and --check-config. */
struct saml_tenant_info {
	char	idp_entity_id[512];
	char	idp_sso_url[1024];
	size_t	n_certs;
	struct saml_cert_info certs[SAML_MAX_IDP_CERTS];
	time_t	metadata_valid_until;	/* 0 if the metadata has none */
	struct saml_cert_info sp_cert;	/* sp_cert (the metadata's key) */
	/* sp_next_cert, the rollover encryption key (not_after 0: none) */
	struct saml_cert_info sp_next_cert;
	/* SingleLogoutService, HTTP-Redirect: Location, ResponseLocation */
	char	idp_slo_url[1024];		/* "" if the IdP has none */
	char	idp_slo_response_url[1024];	/* "" if none given */
};

/** Verified facts from one Response.  Strings are returned-owned. */
struct saml_result {
	char	*issuer;		/* the IdP entityID */
	char	*response_id;
	char	*assertion_id;
	char	*in_response_to;	/* NULL for an unsolicited response */
	/* NameID (or configured attribute), full text */
	char	*username;
	/* earliest of Conditions and bearer SCD */
	time_t	 not_on_or_after;
	time_t	 session_not_on_or_after;	/* 0 if absent */
	int	 response_signed;
	/* cert that verified the assertion */
	char	 cert_fingerprint[SAML_FP_LEN + 1];
	/*
	 * For the audit record, as the message has them (on a failure, as
	 * claimed): the NameID's text, the Assertion's IssueInstant, the
	 * first AuthnStatement's AuthnInstant and SessionIndex, and the
	 * SignatureMethod and DigestMethod URIs of the Assertion's signature
	 * (the Response's when the Assertion has none).  NULL when absent.
	 */
	char	*name_id;
	char	*issue_instant, *authn_instant, *session_index;
	char	*sig_alg, *digest_alg;
	/* the NameID's attributes as received, for single logout */
	char	*name_id_format, *name_qualifier, *sp_name_qualifier;
};

/**
 * Once per process, before any other call: removes LASSO_FLAG from the
 * environment, lasso_init(), xmlsec init, minimum signature method
 * RSA-SHA256, libxml2 hardening.  Aborts (fatalx) if signature
 * verification could still be disabled.
 * @return BK_OK or BK_E_SAML_LASSO.
 */
int	saml_init(void);
void	saml_shutdown(void);

/**
 * Build a tenant's SAML context from its files.
 * @param why returned-owned reason on failure ("path: reason").
 * @return BK_OK, BK_E_SAML_METADATA, BK_E_SAML_CERT, BK_E_NOMEM.
 */
int	saml_tenant_new(const struct saml_sp_params *p,
    struct saml_tenant **out,
	    char **why);
void	saml_tenant_free(struct saml_tenant *t);
void	saml_tenant_info(const struct saml_tenant *t,
    struct saml_tenant_info *out);

/**
 * The SP metadata document, built once at load.  Borrowed, valid while t lives.
 */
const char *saml_sp_metadata(const struct saml_tenant *t, size_t *len);

/* saml_redirect.c: the HTTP-Redirect binding (Bindings 3.4.4.1) */
#define SAML_SIGALG_RSA_SHA256 \
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"

/** A message for the HTTP-Redirect binding, before its Signature. */
struct saml_redirect {
	char	*dest;		/* returned-owned: the endpoint URL */
	/*
	 * returned-owned: SAMLRequest (or SAMLResponse), RelayState and, when
	 * sign is set, SigAlg, URL-encoded in that order: exactly the bytes
	 * whose RSA-SHA256 signature goes into Signature.
	 */
	char	*query;
	int	 sign;		/* query ends with SigAlg; a signature is due */
};
/** Release what r holds (NULL is fine); r is cleared. */
void	saml_redirect_cleanup(struct saml_redirect *r);
/**
 * A message's XML, DEFLATE-compressed (raw, RFC 1951) and base64-encoded:
 * the value of SAMLRequest or SAMLResponse.
 * @param b64	returned-owned.
 * @return BK_OK, BK_E_TOOBIG (over 64 KiB of XML), BK_E_NOMEM.
 */
int	saml_redirect_encode(const char *xml, size_t len, char **b64);
/**
 * The query string of a Redirect-binding message: param ("SAMLRequest" or
 * "SAMLResponse") = b64, then RelayState (when not NULL), then, when sign
 * is set, SigAlg = RSA-SHA256, each value URL-encoded (RFC 3986 unreserved
 * characters kept, upper-case hex).  With sign, the result is the string
 * to sign.  All arguments borrowed.
 * @param query	returned-owned.
 * @return BK_OK, BK_E_TOOBIG (over 16 KiB), BK_E_NOMEM.
 */
int	saml_redirect_query_build(const char *param, const char *b64,
	    const char *relay_state, int sign, char **query);
/**
 * The URL: dest, '?' (or '&' when dest has a query), query and, when sig
 * is not NULL, "&Signature=" and the URL-encoded base64 of sig[0..siglen).
 * @param url	returned-owned.
 * @return BK_OK, BK_E_TOOBIG, BK_E_NOMEM.
 */
int	saml_redirect_url_build(const char *dest, const char *query,
	    const unsigned char *sig, size_t siglen, char **url);

/**
 * A new AuthnRequest for the HTTP-Redirect binding, to the tenant's IdP
 * SSO URL; out->sign is set when the tenant signs its requests
 * (sign_requests), and then out->query is the string to sign.
 * @param out		cleared on entry, filled on BK_OK (release with
 *			saml_redirect_cleanup()).
 * @param request_id	the request's ID, for InResponseTo (P09).
 * @return BK_OK, BK_E_SAML_RELAYSTATE, BK_E_SAML_LASSO, BK_E_NOMEM.
 */
int	saml_authn_request_build(const struct saml_tenant *t,
	    const char *relay_state, struct saml_redirect *out,
	    char request_id[SAML_ID_MAX + 1]);

/**
 * Verify a SAMLResponse form value (base64) against the tenant.  Pure apart
 * from the crypto: no I/O, the caller passes the clock.  Runs the ordered
 * one-rule checks documented in saml_verify.c; the first failing check's
 * code is returned.  InResponseTo correlation and the replay cache are the
 * caller's (they need the store); this function checks that the Response
 * and bearer SubjectConfirmationData InResponseTo agree.
 * @param b64, len	borrowed untrusted input (capped at SAML_RESPONSE_MAX).
 * @param now		current time.
 * @param out		filled on BK_OK (cleared on entry); release with
 *			saml_result_cleanup().  On failure, out may hold the
 *			issuer, IDs, InResponseTo, NameID, instants and
 *			algorithms that were read, for the audit record
 *			(never trusted).
 * @param detail	returned-owned one-line reason for logs and audit
 *			(may be NULL on success).  Never contains the message.
 * @return BK_OK or a BK_E_SAML_* code.
 */
int	saml_response_verify(const struct saml_tenant *t, const char *b64,
    size_t len,
	    time_t now, struct saml_result *out, char **detail);
void	saml_result_cleanup(struct saml_result *r);

/* saml_enc.c: encrypted assertions (issue 11 item 3) */
#define SAML_KEY_CURRENT	0	/* sp_key / sp_cert */
#define SAML_KEY_NEXT		1	/* sp_next_key / sp_next_cert */
#define SAML_MD_SHA1		1	/* RSA-OAEP digests */
#define SAML_MD_SHA256		2
#define SAML_WRAPPED_MAX	1024	/* an EncryptedKey's CipherValue */

/**
 * Unwrapping a content-encryption key with an SP private key, which saml/
 * never holds: the daemon's key holder does it (broker/keys.c).  cb gets
 * the key slot (SAML_KEY_*), the RSA-OAEP digest and MGF1 digest
 * (SAML_MD_*), the EncryptedKey's CipherValue (1 to SAML_WRAPPED_MAX
 * bytes, borrowed) and fills cek with exactly cek_len (16, 24, 32) bytes.
 * It returns BK_OK, or any code: BK_E_IPC_PEER and BK_E_NOMEM end the
 * verification with that code; any other failure is treated as a wrong
 * key, the same as a key that unwraps to garbage.
 */
struct saml_unwrap {
	int	(*cb)(void *arg, int slot, int oaep_md, int mgf1_md,
		    const unsigned char *wrapped, size_t len,
		    unsigned char *cek, size_t cek_len);
	void	*arg;
};

/**
 * saml_response_verify() for a response that may carry an
 * EncryptedAssertion: with uw (borrowed) it is decrypted (saml_enc.c:
 * RSA-OAEP key transport through uw, AES-GCM content, AES-CBC only where
 * the tenant allows it), parsed with the same limits, and put in the
 * place of the EncryptedAssertion, where every check of a plain one
 * follows, its signature included.  uw NULL: as saml_response_verify(),
 * which refuses any EncryptedAssertion (BK_E_SAML_ENCRYPTED).
 * @return as saml_response_verify(), and BK_E_SAML_ENC_*, BK_E_SAML_DECRYPT.
 */
int	saml_response_verify_enc(const struct saml_tenant *t, const char *b64,
	    size_t len, time_t now, const struct saml_unwrap *uw,
	    struct saml_result *out, char **detail);

/* saml_mdurl.c: IdP metadata from a URL (issue 11 item 4) */
/**
 * Pin the certificate whose enveloped signature every metadata document
 * given to saml_tenant_metadata_update() must carry (metadata_signing_cert:
 * a PEM file, RSA of 2048 bits or more).  At load, in the parent.
 * @param why	returned-owned "path: reason" on failure.
 * @return BK_OK, BK_E_SAML_CERT, BK_E_NOMEM.
 */
int	saml_tenant_pin_load(struct saml_tenant *t, const char *path,
	    char **why);
/**
 * Put a fetched IdP metadata document in force: only when it passes every
 * check the file does (parse within the message shape limits, a single
 * IdP EntityDescriptor, validUntil in the future, the HTTP-Redirect SSO
 * URL, one or two signing certificates of RSA 2048 bits or more), is for
 * the tenant's IdP (the same entityID) and, with a pinned certificate
 * (saml_tenant_pin_load()), carries a valid enveloped signature by it on
 * its root element (KeyInfo in the document is never trusted).  Then the
 * new signing certificates, SSO URL and validUntil replace the old ones
 * at once; on failure t is unchanged.  Runs in a worker, between
 * requests: no other call on t may be under way.
 * @param buf, len	borrowed, untrusted (need not be NUL-terminated).
 * @param detail	returned-owned one-line reason on failure (may name
 *			the document's entityID: untrusted, log it escaped).
 * @return BK_OK, BK_E_SAML_MD_TOOBIG, _NOT_XML, _UNSIGNED, _SIGNATURE,
 *	_SHAPE, _EXPIRED, _CERT, _ENTITY, BK_E_NOMEM.
 */
int	saml_tenant_metadata_update(struct saml_tenant *t, const char *buf,
	    size_t len, char **detail);

/* saml_offline.c: raw assertions kept with their record (issue 9 item 6) */
/**
 * The DER of the tenant's IdP certificate whose SHA-256 fingerprint (hex)
 * is fp.  *der borrowed, valid while t lives.
 * @return BK_OK or BK_E_NOT_FOUND.
 */
int	saml_tenant_cert_der(const struct saml_tenant *t, const char *fp,
	    const unsigned char **der, size_t *len);
/**
 * Check the XML signatures of a kept Response (base64, as posted) again,
 * offline: against the one certificate der (what the record names), with
 * the checks of saml_response_verify() up to and including the
 * signatures (parse, limits, shape, profile, SignedInfo, Reference).  The
 * checks after the signature (issuer, audience, time ...) need the
 * tenant and the time of the sign-in and are not repeated.
 * @param out	as saml_response_verify(); cert_fingerprint is set on BK_OK.
 * @param detail returned-owned reason on failure, or NULL.
 * @return BK_OK (the signatures verify with der), BK_E_SAML_CERT (der is
 *	not a usable certificate), or the first failing check's code.
 */
int	saml_response_recheck(const char *b64, size_t len,
	    const unsigned char *der, size_t der_len, int allow_sha1,
	    struct saml_result *out, char **detail);

/* saml_logout.c: single logout, front channel (issue 11 item 2) */
#define SAML_LOGOUT_QUERY_MAX	(16 * 1024)	/* the raw query */
#define SAML_LOGOUT_XML_MAX	(64 * 1024)	/* the inflated message */
#define SAML_LOGOUT_SI_MAX	4		/* SessionIndex elements */
#define SAML_STATUS_UNKNOWN_PRINCIPAL \
	"urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal"
#define SAML_STATUS_PARTIAL_LOGOUT \
	"urn:oasis:names:tc:SAML:2.0:status:PartialLogout"

/** A LogoutRequest or LogoutResponse read from the IdP (strings owned). */
struct saml_logout_msg {
	int	 is_response;
	char	*id, *issuer, *issue_instant, *destination;
	char	*in_response_to;		/* LogoutResponse */
	/* LogoutRequest: the NameID, its Format and qualifiers */
	char	*name_id, *nid_format, *nid_nq, *nid_spnq;
	char	*session_index[SAML_LOGOUT_SI_MAX];
	size_t	 n_si;
	time_t	 not_on_or_after;		/* 0 if absent */
	char	*status, *status2;		/* LogoutResponse StatusCodes */
	char	*relay_state;			/* decoded, <= 80 bytes */
	char	*sig_alg;
	char	 cert_fingerprint[SAML_FP_LEN + 1];
};
void	saml_logout_cleanup(struct saml_logout_msg *m);

/** Whom a LogoutRequest we send names (borrowed; NULL: absent). */
struct saml_logout_who {
	const char *name_id, *format, *nq, *spnq, *session_index;
};

/** 1 if the IdP's metadata has an HTTP-Redirect SingleLogoutService. */
int	saml_tenant_has_slo(const struct saml_tenant *t);
/**
 * Verify a LogoutRequest or LogoutResponse of the HTTP-Redirect binding:
 * query is the raw query string, untrusted.  The checks, in order, are in
 * saml_logout.c; the first failing one's code is returned.  Replay, the
 * InResponseTo correlation and the sessions are the caller's.
 * @param out		cleared on entry; release with saml_logout_cleanup()
 *			(on failure: what was read, as claimed).
 * @param detail	returned-owned reason, or NULL.
 * @return BK_OK, BK_E_SAML_SLO_*, a saml_xml_parse() code, BK_E_NOMEM.
 */
int	saml_logout_verify(const struct saml_tenant *t, const char *query,
	    time_t now, struct saml_logout_msg *out, char **detail);
/**
 * The same for the HTTP-POST binding: b64 the SAMLRequest or SAMLResponse
 * (param) form value, relay its RelayState or NULL; the signature is the
 * root's enveloped XML signature (the ACS's profile and pinned keys),
 * checked after the message's own checks (the parse comes first).
 */
int	saml_logout_verify_post(const struct saml_tenant *t, const char *param,
	    const char *b64, const char *relay, time_t now,
	    struct saml_logout_msg *out, char **detail);
/** 1 if a verified LogoutResponse's top-level status is Success. */
int	saml_logout_status_ok(const struct saml_logout_msg *m);
/**
 * A LogoutRequest to the IdP's SingleLogoutService (HTTP-Redirect, to be
 * signed: out->sign is set, out->query is the string to sign).
 * @return BK_OK, BK_E_SAML_SLO_NOT_CONFIGURED, BK_E_INVAL, BK_E_NOMEM.
 */
int	saml_logout_request_build(const struct saml_tenant *t,
	    const struct saml_logout_who *who, struct saml_redirect *out,
	    char request_id[SAML_ID_MAX + 1]);
/**
 * The LogoutResponse to a verified LogoutRequest: Success when ok, else
 * Requester/status2 (status2 NULL: Responder), to the ResponseLocation
 * (or Location); to be signed as above.
 */
int	saml_logout_response_build(const struct saml_tenant *t,
	    const char *in_response_to, const char *status2, int ok,
	    const char *relay_state, struct saml_redirect *out);

#endif /* BK_SAML_H */
