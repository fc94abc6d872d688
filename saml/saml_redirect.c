/*
 * sso-broker: the HTTP-Redirect binding's encoding and query signature.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * SAML 2.0 Bindings 3.4.4.1, for every message the broker sends that way:
 * AuthnRequests, and the LogoutRequests and LogoutResponses of single
 * logout.  Pure: no key is used here.  saml_redirect_query_build() gives the
 * encoded parameters in the order 3.4.4.1 prescribes; when they are to be
 * signed they end with SigAlg and are exactly the bytes the key holder
 * signs (the caller's keys_sign()); saml_redirect_url_build() appends the
 * Signature and joins them to the endpoint.  The libraries do the work:
 * zlib's raw DEFLATE (RFC 1951, 3.4.4.1's "DEFLATE encoding"), OpenSSL's
 * base64 (bk_b64_encode) and glib's g_uri_escape_string(), which keeps
 * only RFC 3986 unreserved characters and writes upper-case hex, the same
 * bytes an IdP that re-encodes the parameters before checking (pysaml2's
 * urlencode) computes.
 * Trust: every input comes from the broker itself (messages it built, its
 * configuration); nothing untrusted is parsed here.
 */
#include <stdlib.h>
#include <string.h>

#include <glib.h>
/* next_in as const Bytef * */
#define ZLIB_CONST
#include <zlib.h>

#include "bk.h"
#include "log.h"
#include "saml.h"

/* Biggest message (XML) we encode; an AuthnRequest is about 700 bytes. */
#define SAML_REDIRECT_XML_MAX	(64 * 1024)

void
saml_redirect_cleanup(struct saml_redirect *r)
{
	if (r == NULL)
		return;
	free(r->dest);
	free(r->query);
	memset(r, 0, sizeof(*r));
}

int
saml_redirect_encode(const char *xml, size_t len, char **b64)
{
	z_stream	 z;
	unsigned char	*out = NULL;
	uLong		 cap;
	int		 rv = BK_E_NOMEM;

	*b64 = NULL;
	if (len == 0 || len > SAML_REDIRECT_XML_MAX)
		return BK_E_TOOBIG;
	memset(&z, 0, sizeof(z));
	/* windowBits -15: raw DEFLATE, no zlib header (3.4.4.1) */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return BK_E_NOMEM;
	cap = deflateBound(&z, (uLong)len);
	if ((out = malloc(cap)) == NULL)
		goto out;
	z.next_in = (const Bytef *)xml;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	/* deflateBound() is enough for Z_FINISH in one call */
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		log_warnx_r(rv, "deflate did not finish");
		goto out;
	}
	if ((*b64 = bk_b64_encode(out, z.total_out)) != NULL)
		rv = BK_OK;
 out:
	deflateEnd(&z);
	free(out);
	return rv;
}

/* "&name=" (no '&' first) and the escaped value onto b. */
static int
saml_redirect_param_add(struct bk_buf *b, const char *name, const char *v)
{
	char	*esc;
	int	 rv;

	if ((esc = g_uri_escape_string(v, NULL, FALSE)) == NULL)
		return BK_E_NOMEM;
	rv = bk_buf_addf(b, "%s%s=%s", b->len > 0 ? "&" : "", name, esc);
	g_free(esc);
	return rv;
}

int
saml_redirect_query_build(const char *param, const char *b64,
    const char *relay_state, int sign, char **query)
{
	struct bk_buf	 b;
	int		 rv;

	*query = NULL;
	BK_ASSERT(strcmp(param, "SAMLRequest") == 0 ||
	    strcmp(param, "SAMLResponse") == 0);
	/* keys_sign() takes at most 16 KiB; a longer URL no browser keeps */
	bk_buf_init(&b, 16 * 1024);
	if ((rv = saml_redirect_param_add(&b, param, b64)) == BK_OK &&
	    relay_state != NULL)
		rv = saml_redirect_param_add(&b, "RelayState", relay_state);
	if (rv == BK_OK && sign)
		rv = saml_redirect_param_add(&b, "SigAlg",
		    SAML_SIGALG_RSA_SHA256);
	if (rv == BK_OK && (*query = bk_buf_take(&b)) == NULL)
		rv = BK_E_NOMEM;
	bk_buf_free(&b);
	return rv;
}

int
saml_redirect_url_build(const char *dest, const char *query,
    const unsigned char *sig, size_t siglen, char **url)
{
	struct bk_buf	 b;
	char		*sig64 = NULL;
	int		 rv;

	*url = NULL;
	/* an endpoint with a query of its own keeps it, ours follows (3.4.4) */
	bk_buf_init(&b, 32 * 1024);
	rv = bk_buf_addf(&b, "%s%c%s", dest, strchr(dest, '?') ? '&' : '?',
	    query);
	if (rv == BK_OK && sig != NULL) {
		if ((sig64 = bk_b64_encode(sig, siglen)) == NULL)
			rv = BK_E_NOMEM;
		else
			rv = saml_redirect_param_add(&b, "Signature", sig64);
	}
	if (rv == BK_OK && (*url = bk_buf_take(&b)) == NULL)
		rv = BK_E_NOMEM;
	free(sig64);
	bk_buf_free(&b);
	return rv;
}
