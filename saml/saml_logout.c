/*
 * sso-broker: single logout, front channel (issue 11 item 2): the
 * LogoutRequest and LogoutResponse of the HTTP-Redirect binding, parsed,
 * verified and built.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Verification runs in an order that keeps an unauthenticated message
 * cheap (SAML Bindings 3.4.4.1, Profiles 4.4): the raw query is split
 * (its size capped, every parameter once), SigAlg must be one the tenant
 * allows, and the Signature must verify with a pinned IdP key over the
 * exact octets received ("SAMLRequest=...&RelayState=...&SigAlg=...",
 * still URL-encoded) before anything is decoded: an unsigned or forged
 * message costs two RSA verifications at most and is never inflated or
 * parsed.  Then the value is base64-decoded, inflated (raw DEFLATE, its
 * output capped: no decompression bomb) and parsed by saml_xml_parse()
 * with the shape limits, exactly as the ACS parses a Response (no DTD,
 * no entities, no network).  Then the message itself: the root element,
 * Version, ID, Issuer = the IdP's entityID, Destination = our SLO URL,
 * IssueInstant within the clock skew, NotOnOrAfter; a LogoutRequest's
 * NameID (with its Format and qualifiers) and SessionIndex elements, a
 * LogoutResponse's InResponseTo and StatusCode.  Replay (the ID), the
 * InResponseTo correlation and which sessions end are the caller's: they
 * need the store.
 * The messages the broker sends are built with libxml2's tree API (no XML
 * from strings) and encoded by saml_redirect.c; the key holder signs them.
 * The HTTP-POST binding (saml_logout_verify_post()) has the same checks,
 * with the root's enveloped XML signature instead of the query's.
 * Trust: the query is untrusted; what *out holds after BK_OK is verified,
 * after a failure it is as claimed (for the audit only).
 */
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#define ZLIB_CONST
#include <zlib.h>

#include "bk.h"
#include "saml_int.h"

#define SAML_STATUS_TOP_REQUESTER \
	"urn:oasis:names:tc:SAML:2.0:status:Requester"
#define SAML_STATUS_TOP_RESPONDER \
	"urn:oasis:names:tc:SAML:2.0:status:Responder"
#define SAML_SIGALG_RSA_SHA1	"http://www.w3.org/2000/09/xmldsig#rsa-sha1"
#define SAML_SIGALG_RSA_SHA384 \
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
#define SAML_SIGALG_RSA_SHA512 \
	"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
/* Longest RelayState we echo (Bindings 3.4.3: 80 bytes). */
#define SAML_RELAY_MAX		80

void
saml_logout_cleanup(struct saml_logout_msg *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	free(m->id);
	free(m->issuer);
	free(m->issue_instant);
	free(m->destination);
	free(m->in_response_to);
	free(m->name_id);
	free(m->nid_format);
	free(m->nid_nq);
	free(m->nid_spnq);
	for (i = 0; i < m->n_si; i++)
		free(m->session_index[i]);
	free(m->status);
	free(m->status2);
	free(m->relay_state);
	free(m->sig_alg);
	memset(m, 0, sizeof(*m));
}

/* --- the query --- */

/* The parameters of the binding, raw (still URL-encoded), borrowed. */
struct saml_lq {
	const char	*msg, *relay, *sigalg, *sig;
	size_t		 msg_len, relay_len, sigalg_len, sig_len;
	const char	*msg_name;	/* "SAMLRequest" or "SAMLResponse" */
};

/* One parameter of q; a second of the same name is refused. */
static int
saml_lq_take(const char *p, size_t n, const char *name, const char **v,
    size_t *vlen)
{
	size_t	 k = strlen(name);

	if (n <= k || strncmp(p, name, k) != 0 || p[k] != '=')
		return 0;
	if (*v != NULL)
		return -1;
	*v = p + k + 1;
	*vlen = n - k - 1;
	return 1;
}

static int
saml_lq_split(const char *query, struct saml_lq *q, char **detail)
{
	const char	*p = query, *e;
	const char	*req = NULL, *resp = NULL;
	size_t		 n, req_len = 0, resp_len = 0;
	int		 r;

	memset(q, 0, sizeof(*q));
	while (*p != '\0') {
		e = strchr(p, '&');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if ((r = saml_lq_take(p, n, "SAMLRequest", &req,
		    &req_len)) == 0 &&
		    (r = saml_lq_take(p, n, "SAMLResponse", &resp,
		    &resp_len)) == 0 &&
		    (r = saml_lq_take(p, n, "RelayState", &q->relay,
		    &q->relay_len)) == 0 &&
		    (r = saml_lq_take(p, n, "SigAlg", &q->sigalg,
		    &q->sigalg_len)) == 0)
			r = saml_lq_take(p, n, "Signature", &q->sig,
			    &q->sig_len);
		if (r < 0) {
			*detail = bk_strdup("a parameter is given twice");
			return BK_E_SAML_SLO_PARAM;
		}
		p += n;
		if (*p == '&')
			p++;
	}
	if ((req == NULL) == (resp == NULL)) {
		*detail = bk_strdup("exactly one of SAMLRequest and "
		    "SAMLResponse is required");
		return BK_E_SAML_SLO_PARAM;
	}
	q->msg = req != NULL ? req : resp;
	q->msg_len = req != NULL ? req_len : resp_len;
	q->msg_name = req != NULL ? "SAMLRequest" : "SAMLResponse";
	return BK_OK;
}

/* A raw value URL-decoded ('+' is a space), returned-owned, or NULL. */
static char *
saml_lq_decode(const char *v, size_t len)
{
	char	*raw, *out, *p;

	if ((raw = g_strndup(v, len)) == NULL)
		return NULL;
	for (p = raw; *p != '\0'; p++)
		if (*p == '+')
			*p = ' ';
	out = g_uri_unescape_string(raw, NULL);
	g_free(raw);
	if (out == NULL)
		return NULL;
	p = bk_strdup(out);
	g_free(out);
	return p;
}

/* SigAlg -> the digest index of saml_si.c, or -1 when not allowed. */
static int
saml_lq_md(const struct saml_tenant *t, const char *alg)
{
	if (strcmp(alg, SAML_SIGALG_RSA_SHA256) == 0)
		return 0;
	if (strcmp(alg, SAML_SIGALG_RSA_SHA384) == 0)
		return 1;
	if (strcmp(alg, SAML_SIGALG_RSA_SHA512) == 0)
		return 2;
	if (t->allow_sha1 && strcmp(alg, SAML_SIGALG_RSA_SHA1) == 0)
		return 3;
	return -1;
}

/* The octets signed (3.4.4.1), returned-owned. */
static char *
saml_lq_signed(const struct saml_lq *q)
{
	struct bk_buf	 b;
	int		 rv;

	bk_buf_init(&b, SAML_LOGOUT_QUERY_MAX);
	rv = bk_buf_addf(&b, "%s=%.*s", q->msg_name, (int)q->msg_len, q->msg);
	if (rv == BK_OK && q->relay != NULL)
		rv = bk_buf_addf(&b, "&RelayState=%.*s", (int)q->relay_len,
		    q->relay);
	if (rv == BK_OK)
		rv = bk_buf_addf(&b, "&SigAlg=%.*s", (int)q->sigalg_len,
		    q->sigalg);
	if (rv != BK_OK) {
		bk_buf_free(&b);
		return NULL;
	}
	return bk_buf_take(&b);
}

/* SigAlg, then Signature with a pinned key, before anything is decoded. */
static int
saml_lq_verify(const struct saml_tenant *t, const struct saml_lq *q,
    struct saml_logout_msg *out, char **detail)
{
	char		*sig64 = NULL, *tbs = NULL;
	unsigned char	*sig = NULL;
	size_t		 siglen = 0, i;
	int		 md, rv;

	if (q->sig == NULL || q->sigalg == NULL) {
		*detail = bk_strdup("no Signature or no SigAlg: the message "
		    "is not signed");
		return BK_E_SAML_SLO_UNSIGNED;
	}
	if ((out->sig_alg = saml_lq_decode(q->sigalg, q->sigalg_len)) ==
	    NULL || (md = saml_lq_md(t, out->sig_alg)) < 0) {
		*detail = bk_strdup(t->allow_sha1 ? "SigAlg is not RSA with "
		    "SHA-1 or SHA-2" : "SigAlg is not RSA with SHA-2 "
		    "(allow_sha1 is off)");
		return BK_E_SAML_SLO_SIG_ALG;
	}
	rv = BK_E_SAML_SLO_SIGNATURE;
	if ((sig64 = saml_lq_decode(q->sig, q->sig_len)) == NULL ||
	    bk_b64_decode(sig64, strlen(sig64), SAML_LIM_SIGVALUE, &sig,
	    &siglen) != BK_OK) {
		*detail = bk_strdup("Signature is not base64");
		goto out;
	}
	if ((tbs = saml_lq_signed(q)) == NULL) {
		rv = BK_E_NOMEM;
		goto out;
	}
	for (i = 0; i < t->info.n_certs; i++)
		if (saml_si_rsa_ok(t, i, md, sig, siglen,
		    (const unsigned char *)tbs, strlen(tbs))) {
			memcpy(out->cert_fingerprint,
			    t->info.certs[i].fingerprint,
			    sizeof(out->cert_fingerprint));
			rv = BK_OK;
			break;
		}
	if (rv != BK_OK)
		*detail = bk_strdup("the Signature does not verify with the "
		    "IdP's certificates");
 out:
	free(sig64);
	free(sig);
	free(tbs);
	return rv;
}

/* base64, then raw DEFLATE, the output capped. */
static int
saml_lq_inflate(const struct saml_lq *q, char **xml, size_t *len,
    char **detail)
{
	z_stream	 z;
	char		*v = NULL;
	unsigned char	*raw = NULL;
	size_t		 rawlen = 0;
	int		 zr, rv = BK_E_SAML_SLO_MALFORMED;

	*xml = NULL;
	memset(&z, 0, sizeof(z));
	if ((v = saml_lq_decode(q->msg, q->msg_len)) == NULL ||
	    bk_b64_decode(v, strlen(v), SAML_LOGOUT_QUERY_MAX, &raw,
	    &rawlen) != BK_OK || rawlen == 0) {
		*detail = bk_strdup("the message is not base64");
		goto out;
	}
	if ((*xml = malloc(SAML_LOGOUT_XML_MAX + 1)) == NULL ||
	    inflateInit2(&z, -MAX_WBITS) != Z_OK) {
		rv = BK_E_NOMEM;
		goto out;
	}
	z.next_in = raw;
	z.avail_in = (uInt)rawlen;
	z.next_out = (Bytef *)*xml;
	z.avail_out = SAML_LOGOUT_XML_MAX;
	zr = inflate(&z, Z_FINISH);
	if (zr == Z_STREAM_END && z.avail_in == 0) {
		*len = z.total_out;
		(*xml)[*len] = '\0';
		rv = BK_OK;
	} else if (zr == Z_BUF_ERROR && z.avail_out == 0) {
		rv = BK_E_SAML_SLO_TOOBIG;
		*detail = bk_strdup("the inflated message exceeds 64 KiB");
	} else
		*detail = bk_strdup("the message is not raw DEFLATE");
	inflateEnd(&z);
 out:
	if (rv != BK_OK) {
		free(*xml);
		*xml = NULL;
	}
	free(v);
	free(raw);
	return rv;
}

/* --- the message --- */

static int
saml_lm_attr(xmlNodePtr n, const char *name, size_t max, char **out)
{
	const char	*v = saml_xml_attr(n, name);

	if (v == NULL || *out != NULL)
		return BK_OK;
	if (strlen(v) > max)
		return BK_E_SAML_SLO_MALFORMED;
	return (*out = bk_strdup(v)) == NULL ? BK_E_NOMEM : BK_OK;
}

/* Text of an element, at most max bytes, no markup inside. */
static int
saml_lm_text(xmlNodePtr n, size_t max, char **out)
{
	int	 rv;

	if ((rv = saml_xml_text(n, out)) != BK_OK)
		return rv == BK_E_NOMEM ? rv : BK_E_SAML_SLO_MALFORMED;
	if ((*out)[0] == '\0' || strlen(*out) > max)
		return BK_E_SAML_SLO_MALFORMED;
	return BK_OK;
}

/* What the root says of itself (kept for the audit even on a failure). */
static int
saml_lm_facts(xmlNodePtr root, struct saml_logout_msg *m)
{
	xmlNodePtr	 iss = saml_xml_child(root, SAML_NS_ASSERT, "Issuer");
	int		 rv;

	if ((rv = saml_lm_attr(root, "ID", SAML_ID_MAX, &m->id)) != BK_OK ||
	    (rv = saml_lm_attr(root, "IssueInstant", 64,
	    &m->issue_instant)) != BK_OK ||
	    (rv = saml_lm_attr(root, "Destination", 1024,
	    &m->destination)) != BK_OK ||
	    (rv = saml_lm_attr(root, "InResponseTo", SAML_ID_MAX,
	    &m->in_response_to)) != BK_OK)
		return rv;
	if (iss != NULL && m->issuer == NULL &&
	    (rv = saml_lm_text(iss, 512, &m->issuer)) != BK_OK)
		return rv;
	return BK_OK;
}

/* The LogoutRequest's NameID and SessionIndex elements. */
static int
saml_lm_request(xmlNodePtr root, struct saml_logout_msg *m, char **detail)
{
	xmlNodePtr	 n, nid = NULL;
	int		 rv, bad = 0;

	for (n = saml_xml_first_elem(root->children); n != NULL && !bad;
	    n = saml_xml_next_elem(n)) {
		if (saml_xml_is(n, SAML_NS_ASSERT, "NameID")) {
			bad = nid != NULL;
			nid = n;
		} else if (saml_xml_is(n, SAML_NS_PROTO, "SessionIndex")) {
			if ((bad = m->n_si == SAML_LOGOUT_SI_MAX))
				break;
			if ((rv = saml_lm_text(n, SAML_ID_MAX,
			    &m->session_index[m->n_si])) != BK_OK)
				return rv;
			m->n_si++;
		} else
			bad = saml_xml_is(n, SAML_NS_ASSERT, "BaseID") ||
			    saml_xml_is(n, SAML_NS_ASSERT, "EncryptedID");
	}
	if (bad || nid == NULL) {
		*detail = bk_strdup("the LogoutRequest needs one NameID (not "
		    "encrypted) and at most 4 SessionIndex elements");
		return BK_E_SAML_SLO_MALFORMED;
	}
	if ((rv = saml_lm_text(nid, SAML_TEXT_MAX, &m->name_id)) != BK_OK ||
	    (rv = saml_lm_attr(nid, "Format", 256, &m->nid_format)) != BK_OK ||
	    (rv = saml_lm_attr(nid, "NameQualifier", 1024,
	    &m->nid_nq)) != BK_OK ||
	    (rv = saml_lm_attr(nid, "SPNameQualifier", 1024,
	    &m->nid_spnq)) != BK_OK)
		return rv;
	return BK_OK;
}

/* The LogoutResponse's InResponseTo and StatusCode (and its second level). */
static int
saml_lm_response(xmlNodePtr root, struct saml_logout_msg *m, char **detail)
{
	xmlNodePtr	 sc, sc2;
	int		 rv;

	sc = saml_xml_child(saml_xml_child(root, SAML_NS_PROTO, "Status"),
	    SAML_NS_PROTO, "StatusCode");
	sc2 = saml_xml_child(sc, SAML_NS_PROTO, "StatusCode");
	if ((rv = saml_lm_attr(sc, "Value", 256, &m->status)) != BK_OK ||
	    (rv = saml_lm_attr(sc2, "Value", 256, &m->status2)) != BK_OK)
		return rv;
	if (m->in_response_to == NULL || m->status == NULL) {
		*detail = bk_strdup("the LogoutResponse needs InResponseTo and "
		    "a StatusCode");
		return BK_E_SAML_SLO_MALFORMED;
	}
	return BK_OK;
}

/* IssueInstant within the skew, and a LogoutRequest's NotOnOrAfter. */
static int
saml_lm_time(const struct saml_tenant *t, xmlNodePtr root, time_t now,
    struct saml_logout_msg *m, char **detail)
{
	const char	*noa = saml_xml_attr(root, "NotOnOrAfter");
	time_t		 ii;

	if (m->issue_instant == NULL ||
	    saml_xml_time_parse(m->issue_instant, &ii) != BK_OK) {
		*detail = bk_strdup("IssueInstant is missing or malformed");
		return BK_E_SAML_SLO_MALFORMED;
	}
	if (ii > now + t->clock_skew ||
	    ii < now - t->clock_skew - SAML_ISSUE_MAX_AGE) {
		*detail = bk_strdup("IssueInstant is outside the allowed "
		    "window");
		return BK_E_SAML_SLO_EXPIRED;
	}
	if (noa == NULL)
		return BK_OK;
	if (saml_xml_time_parse(noa, &m->not_on_or_after) != BK_OK) {
		*detail = bk_strdup("NotOnOrAfter is malformed");
		return BK_E_SAML_SLO_MALFORMED;
	}
	if (now - t->clock_skew >= m->not_on_or_after) {
		*detail = bk_strdup("the LogoutRequest is past its "
		    "NotOnOrAfter");
		return BK_E_SAML_SLO_EXPIRED;
	}
	return BK_OK;
}

/* The parsed message: shape, issuer, destination, time, contents. */
static int
saml_lm_check(const struct saml_tenant *t, xmlNodePtr root, int response,
    time_t now, struct saml_logout_msg *m, char **detail)
{
	const char	*ver = saml_xml_attr(root, "Version");
	int		 rv;

	if (!saml_xml_is(root, SAML_NS_PROTO, response ? "LogoutResponse" :
	    "LogoutRequest")) {
		*detail = bk_strdup(response ? "the SAMLResponse is not a "
		    "LogoutResponse" : "the SAMLRequest is not a "
		    "LogoutRequest");
		return BK_E_SAML_SLO_MALFORMED;
	}
	if ((rv = saml_lm_facts(root, m)) != BK_OK)
		return rv;
	if (ver == NULL || strcmp(ver, "2.0") != 0) {
		*detail = bk_strdup("Version is not 2.0");
		return BK_E_SAML_VERSION;
	}
	if (m->id == NULL || m->id[0] == '\0') {
		*detail = bk_strdup("no ID");
		return BK_E_SAML_SLO_MALFORMED;
	}
	if (m->issuer == NULL || strcmp(m->issuer, t->info.idp_entity_id) !=
	    0) {
		*detail = bk_strdup("Issuer is missing or not the tenant's "
		    "IdP");
		return BK_E_SAML_SLO_ISSUER;
	}
	/* Bindings 3.4.5.2: a signed message's Destination is required. */
	if (m->destination == NULL || t->slo_url == NULL ||
	    strcmp(m->destination, t->slo_url) != 0) {
		*detail = bk_strdup("Destination is missing or not our "
		    "SingleLogoutService");
		return BK_E_SAML_SLO_DESTINATION;
	}
	if ((rv = saml_lm_time(t, root, now, m, detail)) != BK_OK)
		return rv;
	return response ? saml_lm_response(root, m, detail) :
	    saml_lm_request(root, m, detail);
}

/* Every refusal says why: the code's own text when no check said more. */
static int
saml_lm_done(int rv, char **detail)
{
	if (rv != BK_OK && rv != BK_E_NOMEM && *detail == NULL)
		*detail = bk_strdup(bk_strerror(rv));
	return rv;
}

int
saml_logout_verify(const struct saml_tenant *t, const char *query,
    time_t now, struct saml_logout_msg *out, char **detail)
{
	struct saml_lq	 q;
	xmlDocPtr	 doc = NULL;
	char		*xml = NULL, *why = NULL;
	size_t		 len = 0;
	int		 rv;

	memset(out, 0, sizeof(*out));
	*detail = NULL;
	if (query == NULL || strlen(query) > SAML_LOGOUT_QUERY_MAX) {
		*detail = bk_strdup(query == NULL ? "no query" :
		    "the query exceeds 16 KiB");
		return query == NULL ? BK_E_SAML_SLO_PARAM :
		    BK_E_SAML_SLO_TOOBIG;
	}
	if ((rv = saml_lq_split(query, &q, detail)) != BK_OK)
		return rv;
	out->is_response = strcmp(q.msg_name, "SAMLResponse") == 0;
	if (q.relay != NULL && ((out->relay_state = saml_lq_decode(q.relay,
	    q.relay_len)) == NULL || strlen(out->relay_state) >
	    SAML_RELAY_MAX || !bk_str_is_printable(out->relay_state))) {
		free(out->relay_state);
		out->relay_state = NULL;
		*detail = bk_strdup("RelayState is malformed or over 80 bytes");
		return BK_E_SAML_SLO_PARAM;
	}
	if ((rv = saml_lq_verify(t, &q, out, detail)) != BK_OK ||
	    (rv = saml_lq_inflate(&q, &xml, &len, detail)) != BK_OK)
		return saml_lm_done(rv, detail);
	if ((rv = saml_xml_parse(xml, len, SAML_XML_LIMITS, &doc, &why)) !=
	    BK_OK)
		*detail = why != NULL ? bk_strdup(why) : NULL;
	else
		rv = saml_lm_check(t, xmlDocGetRootElement(doc),
		    out->is_response, now, out, detail);
	if (doc != NULL)
		xmlFreeDoc(doc);
	free(why);
	free(xml);
	return saml_lm_done(rv, detail);
}

/*
 * The HTTP-POST binding (Bindings 3.5): the message carries an enveloped
 * XML signature on its root, checked as the ACS checks a Response's (the
 * SAML signature profile, SignedInfo with the pinned keys, then the
 * Reference, which must be the root itself); it is parsed first, within
 * the same size and shape limits.
 */
static int
saml_lp_signature(const struct saml_tenant *t, xmlDocPtr doc, xmlNodePtr root,
    time_t now, struct saml_logout_msg *m, char **detail)
{
	struct saml_ctx	 c;
	xmlNodePtr	 sig = NULL;
	int		 rv;

	memset(&c, 0, sizeof(c));
	c.t = t;
	c.now = now;
	c.doc = doc;
	c.response = root;
	if ((rv = saml_sig_find(root, &sig)) != BK_OK || sig == NULL) {
		*detail = bk_strdup(sig == NULL && rv == BK_OK ? "the message "
		    "has no enveloped Signature" : "two Signatures");
		return rv == BK_OK ? BK_E_SAML_SLO_UNSIGNED : rv;
	}
	if ((rv = saml_sig_check_profile(&c, root, sig)) == BK_OK)
		rv = saml_sig_verify(&c, root, sig, m->cert_fingerprint);
	if (rv != BK_OK) {
		*detail = c.detail;
		c.detail = NULL;
		if (rv == BK_E_SAML_SIG_ALG)
			rv = BK_E_SAML_SLO_SIG_ALG;
		else if (rv == BK_E_SAML_SIG_INVALID)
			rv = BK_E_SAML_SLO_SIGNATURE;
		m->cert_fingerprint[0] = '\0';
	}
	free(c.detail);
	return rv;
}

int
saml_logout_verify_post(const struct saml_tenant *t, const char *param,
    const char *b64, const char *relay, time_t now,
    struct saml_logout_msg *out, char **detail)
{
	xmlDocPtr	 doc = NULL;
	xmlNodePtr	 root;
	unsigned char	*xml = NULL;
	char		*why = NULL;
	size_t		 len = 0;
	int		 rv;

	memset(out, 0, sizeof(*out));
	*detail = NULL;
	out->is_response = strcmp(param, "SAMLResponse") == 0;
	if (strlen(b64) > SAML_LOGOUT_XML_MAX / 3 * 4 + 4) {
		*detail = bk_strdup("the message exceeds 64 KiB");
		return BK_E_SAML_SLO_TOOBIG;
	}
	if (relay != NULL && (strlen(relay) > SAML_RELAY_MAX ||
	    !bk_str_is_printable(relay))) {
		*detail = bk_strdup("RelayState is malformed or over 80 bytes");
		return BK_E_SAML_SLO_PARAM;
	}
	if (relay != NULL && (out->relay_state = bk_strdup(relay)) == NULL)
		return BK_E_NOMEM;
	if ((rv = bk_b64_decode(b64, strlen(b64), SAML_LOGOUT_XML_MAX, &xml,
	    &len)) != BK_OK || len == 0) {
		*detail = bk_strdup("the message is not base64");
		free(xml);
		return rv == BK_E_NOMEM ? rv : BK_E_SAML_SLO_MALFORMED;
	}
	if ((rv = saml_xml_parse((const char *)xml, len, SAML_XML_LIMITS, &doc,
	    &why)) != BK_OK)
		*detail = why != NULL ? bk_strdup(why) : NULL;
	else {
		/* what it says of itself, for the audit, then signed first */
		root = xmlDocGetRootElement(doc);
		if ((rv = saml_lm_facts(root, out)) != BK_E_NOMEM &&
		    (rv = saml_lp_signature(t, doc, root, now, out, detail)) ==
		    BK_OK)
			rv = saml_lm_check(t, root, out->is_response, now, out,
			    detail);
	}
	if (doc != NULL)
		xmlFreeDoc(doc);
	free(why);
	free(xml);
	return saml_lm_done(rv, detail);
}

/* --- what the broker sends --- */

/* A new ID: "_" and 32 hex digits (xsd:ID, never a digit first). */
static int
saml_lb_id(char id[SAML_ID_MAX + 1])
{
	id[0] = '_';
	return bk_random_hex(id + 1, 16);
}

/* The root element of a message to the IdP: ID, Version, time, Issuer. */
static int
saml_lb_root(const struct saml_tenant *t, const char *name, const char *dest,
    const char *id, xmlDocPtr *dp, xmlNodePtr *rp)
{
	xmlDocPtr	 d;
	xmlNodePtr	 root;
	xmlNsPtr	 p, a;
	char		 ii[32];

	*dp = NULL;
	if ((d = xmlNewDoc(SAML_XC("1.0"))) == NULL)
		return BK_E_NOMEM;
	bk_time_fmt(bk_now(), ii);
	if ((root = xmlNewDocNode(d, NULL, SAML_XC(name), NULL)) == NULL) {
		xmlFreeDoc(d);
		return BK_E_NOMEM;
	}
	xmlDocSetRootElement(d, root);
	*dp = d;
	if ((p = xmlNewNs(root, SAML_XC(SAML_NS_PROTO),
	    SAML_XC("samlp"))) == NULL ||
	    (a = xmlNewNs(root, SAML_XC(SAML_NS_ASSERT),
	    SAML_XC("saml"))) == NULL)
		return BK_E_NOMEM;
	xmlSetNs(root, p);
	if (xmlNewProp(root, SAML_XC("ID"), SAML_XC(id)) == NULL ||
	    xmlNewProp(root, SAML_XC("Version"), SAML_XC("2.0")) == NULL ||
	    xmlNewProp(root, SAML_XC("IssueInstant"), SAML_XC(ii)) == NULL ||
	    xmlNewProp(root, SAML_XC("Destination"), SAML_XC(dest)) == NULL ||
	    xmlNewTextChild(root, a, SAML_XC("Issuer"),
	    SAML_XC(t->sp_entity_id)) == NULL)
		return BK_E_NOMEM;
	*rp = root;
	return BK_OK;
}

/* The document, DEFLATE + base64, as a signed Redirect-binding query. */
static int
saml_lb_encode(xmlDocPtr d, const char *param, const char *dest,
    const char *relay_state, struct saml_redirect *out)
{
	xmlChar		*mem = NULL;
	char		*b64 = NULL;
	int		 size = 0, rv;

	xmlDocDumpMemoryEnc(d, &mem, &size, "UTF-8");
	if (mem == NULL || size <= 0) {
		xmlFree(mem);
		return BK_E_NOMEM;
	}
	rv = saml_redirect_encode((const char *)mem, (size_t)size, &b64);
	xmlFree(mem);
	if (rv == BK_OK)
		rv = saml_redirect_query_build(param, b64, relay_state, 1,
		    &out->query);
	free(b64);
	if (rv == BK_OK && (out->dest = bk_strdup(dest)) == NULL)
		rv = BK_E_NOMEM;
	out->sign = 1;
	if (rv != BK_OK)
		saml_redirect_cleanup(out);
	return rv;
}

int
saml_tenant_has_slo(const struct saml_tenant *t)
{
	return t != NULL && t->info.idp_slo_url[0] != '\0' &&
	    t->slo_url != NULL;
}

int
saml_logout_request_build(const struct saml_tenant *t,
    const struct saml_logout_who *who, struct saml_redirect *out,
    char request_id[SAML_ID_MAX + 1])
{
	xmlDocPtr	 d = NULL;
	xmlNodePtr	 root, nid;
	int		 rv;

	memset(out, 0, sizeof(*out));
	if (!saml_tenant_has_slo(t))
		return BK_E_SAML_SLO_NOT_CONFIGURED;
	if (who->name_id == NULL || who->name_id[0] == '\0')
		return BK_E_INVAL;
	if ((rv = saml_lb_id(request_id)) != BK_OK)
		return rv;
	if ((rv = saml_lb_root(t, "LogoutRequest", t->info.idp_slo_url,
	    request_id, &d, &root)) != BK_OK)
		goto out;
	rv = BK_E_NOMEM;
	/* The NameID as the assertion had it (Profiles 4.4.4.1). */
	if ((nid = xmlNewTextChild(root, xmlSearchNsByHref(d, root,
	    SAML_XC(SAML_NS_ASSERT)), SAML_XC("NameID"),
	    SAML_XC(who->name_id))) == NULL ||
	    (who->format != NULL && xmlNewProp(nid, SAML_XC("Format"),
	    SAML_XC(who->format)) == NULL) ||
	    (who->nq != NULL && xmlNewProp(nid, SAML_XC("NameQualifier"),
	    SAML_XC(who->nq)) == NULL) ||
	    (who->spnq != NULL && xmlNewProp(nid, SAML_XC("SPNameQualifier"),
	    SAML_XC(who->spnq)) == NULL) ||
	    (who->session_index != NULL && xmlNewTextChild(root, root->ns,
	    SAML_XC("SessionIndex"), SAML_XC(who->session_index)) == NULL))
		goto out;
	rv = saml_lb_encode(d, "SAMLRequest", t->info.idp_slo_url, NULL, out);
 out:
	if (d != NULL)
		xmlFreeDoc(d);
	return rv;
}

int
saml_logout_response_build(const struct saml_tenant *t,
    const char *in_response_to, const char *status2, int ok,
    const char *relay_state, struct saml_redirect *out)
{
	xmlDocPtr	 d = NULL;
	xmlNodePtr	 root, st, sc;
	char		 id[SAML_ID_MAX + 1];
	const char	*dest;
	int		 rv;

	memset(out, 0, sizeof(*out));
	if (!saml_tenant_has_slo(t))
		return BK_E_SAML_SLO_NOT_CONFIGURED;
	dest = t->info.idp_slo_response_url[0] != '\0' ?
	    t->info.idp_slo_response_url : t->info.idp_slo_url;
	if ((rv = saml_lb_id(id)) != BK_OK ||
	    (rv = saml_lb_root(t, "LogoutResponse", dest, id, &d, &root)) !=
	    BK_OK)
		goto out;
	rv = BK_E_NOMEM;
	if (xmlNewProp(root, SAML_XC("InResponseTo"),
	    SAML_XC(in_response_to)) == NULL ||
	    (st = xmlNewChild(root, root->ns, SAML_XC("Status"), NULL)) ==
	    NULL ||
	    (sc = xmlNewChild(st, root->ns, SAML_XC("StatusCode"), NULL)) ==
	    NULL ||
	    xmlNewProp(sc, SAML_XC("Value"), SAML_XC(ok ? SAML_STATUS_SUCCESS :
	    status2 != NULL ? SAML_STATUS_TOP_REQUESTER :
	    SAML_STATUS_TOP_RESPONDER)) == NULL)
		goto out;
	if (!ok && status2 != NULL && ((sc = xmlNewChild(sc, root->ns,
	    SAML_XC("StatusCode"), NULL)) == NULL ||
	    xmlNewProp(sc, SAML_XC("Value"), SAML_XC(status2)) == NULL))
		goto out;
	rv = saml_lb_encode(d, "SAMLResponse", dest, relay_state, out);
 out:
	if (d != NULL)
		xmlFreeDoc(d);
	return rv;
}

int
saml_logout_status_ok(const struct saml_logout_msg *m)
{
	return m->status != NULL && strcmp(m->status, SAML_STATUS_SUCCESS) ==
	    0;
}
