/*
 * sso-broker: refusals of junk, counted instead of recorded one by one.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Issue 9 item 5: anyone can post junk to an ACS (or GET it), and each
 * refusal used to write a record, so a flood filled the disk and, the
 * audit failing closed, stopped every sign-in.  A refusal of input that
 * never reached a verified signature (audit_agg_is_junk()) still gets its
 * own record while its key (client address, tenant, event, reason) has
 * had fewer than half of [audit] junk_records in this interval and the
 * broker fewer than junk_records in this minute (so a single bad post is on
 * record at once);
 * beyond that it is counted, and at the end of the interval (and at
 * drain) one record per key carries the count and the first and last
 * time.  The table is per worker and bounded: AUDIT_AGG_MAX keys, then
 * one "other" bucket.  A verified or accepted decision is never counted.
 * Trust: addr is the request's client address (canonical text) and
 * tenant a configured tenant's id or NULL (an unknown tenant's name from
 * the path never reaches the table); both are copied capped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "bk.h"
#include "log.h"

/* Codes given before the signature was verified (saml_verify.c order). */
static const int audit_agg_saml[] = {
	BK_E_SAML_PARAM, BK_E_SAML_TOOBIG, BK_E_SAML_BASE64, BK_E_SAML_XML,
	BK_E_SAML_DTD, BK_E_SAML_SCHEMA, BK_E_SAML_VERSION, BK_E_SAML_STATUS,
	BK_E_SAML_ASSERTION_COUNT, BK_E_SAML_ENCRYPTED, BK_E_SAML_DUP_ID,
	BK_E_SAML_SIG_MISSING, BK_E_SAML_SIG_SHAPE, BK_E_SAML_SIG_ALG,
	BK_E_SAML_SIG_INVALID, BK_E_SAML_RELAYSTATE, BK_E_SAML_METHOD,
	BK_E_SAML_XML_DEPTH, BK_E_SAML_XML_NODES, BK_E_SAML_XML_ATTRS,
	BK_E_SAML_XML_ATTRS_TOTAL, BK_E_SAML_XML_NS, BK_E_SAML_XML_NS_SCOPE,
	BK_E_SAML_XML_NS_TOTAL, BK_E_SAML_PREFIX_LIST, BK_E_SAML_XML_ENCODING,
	BK_E_TENANT_UNKNOWN, BK_E_TENANT_SSO_OFF, BK_E_HTTP_BADPARAM,
	BK_E_HTTP_DUPPARAM, BK_E_HTTP_BODY_TOOBIG, BK_E_HTTP_CTYPE,
	BK_E_HTTP_PARAM_COUNT, BK_E_HTTP_PARAM_NAME,
};
/* The OAuth callback: a state nobody issued, a callback without a code. */
static const int audit_agg_oidc[] = {
	BK_E_OIDC_STATE, BK_E_OIDC_CODE, BK_E_TENANT_SSO_OFF,
	BK_E_HTTP_BADPARAM, BK_E_HTTP_DUPPARAM, BK_E_HTTP_PARAM_COUNT,
	BK_E_HTTP_PARAM_NAME,
};

/*
 * Single logout's messages before a verified signature (saml_logout.c;
 * one that verified has a cert_fp and is never counted, front_durable.c).
 */
static const int audit_agg_slo[] = {
	BK_E_SAML_SLO_PARAM, BK_E_SAML_SLO_TOOBIG, BK_E_SAML_SLO_UNSIGNED,
	BK_E_SAML_SLO_SIG_ALG, BK_E_SAML_SLO_SIGNATURE, BK_E_SAML_SLO_MALFORMED,
	BK_E_SAML_XML, BK_E_SAML_DTD, BK_E_SAML_SIG_SHAPE, BK_E_SAML_DUP_ID,
	BK_E_SAML_XML_DEPTH, BK_E_SAML_XML_NODES, BK_E_SAML_XML_ATTRS,
	BK_E_SAML_XML_ATTRS_TOTAL, BK_E_SAML_XML_NS, BK_E_SAML_XML_NS_SCOPE,
	BK_E_SAML_XML_NS_TOTAL, BK_E_SAML_XML_ENCODING, BK_E_HTTP_BADPARAM,
	BK_E_HTTP_DUPPARAM, BK_E_HTTP_BODY_TOOBIG, BK_E_HTTP_CTYPE,
	BK_E_HTTP_PARAM_COUNT, BK_E_HTTP_PARAM_NAME,
};

struct audit_agg_ent {
	char		 addr[64];
	char		 tenant[72];
	const char	*event;
	int		 rv;
	unsigned int	 own;		/* own records this interval */
	unsigned long long count;	/* counted this interval */
	time_t		 first, last;
};

struct audit_agg {
	struct audit		*a;
	int			 interval;
	unsigned int		 free_all;	/* own records a minute */
	unsigned int		 free_key;	/* per key and interval */
	size_t			 n;
	struct audit_agg_ent	 ent[AUDIT_AGG_MAX];
	struct audit_agg_ent	 other;	/* once the table is full */
	unsigned long long	 counted;
};

static int
audit_agg_in(const int *v, size_t n, int rv)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (v[i] == rv)
			return 1;
	return 0;
}

int
audit_agg_is_junk(const char *event, int rv)
{
	if (event == NULL || rv == BK_OK)
		return 0;
	if (strcmp(event, "assertion") == 0)
		return audit_agg_in(audit_agg_saml, BK_NELEM(audit_agg_saml),
		    rv);
	if (strcmp(event, "id_token") == 0)
		return audit_agg_in(audit_agg_oidc, BK_NELEM(audit_agg_oidc),
		    rv);
	/* a wrong admin token (front_admins.c): nothing was verified */
	if (strcmp(event, "admin_auth") == 0)
		return rv == BK_E_HTTP_UNAUTH;
	if (strcmp(event, "slo_request") == 0 ||
	    strcmp(event, "slo_response") == 0)
		return audit_agg_in(audit_agg_slo, BK_NELEM(audit_agg_slo),
		    rv);
	return 0;
}

struct audit_agg *
audit_agg_new(struct audit *a, int interval, unsigned int per_minute)
{
	struct audit_agg	*g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->a = a;
	g->interval = interval > 0 ? interval : 60;
	g->free_all = per_minute;
	g->free_key = per_minute / 2;
	snprintf(g->other.addr, sizeof(g->other.addr), "other");
	g->other.event = "assertion";
	return g;
}

static struct audit_agg_ent *
audit_agg_find(struct audit_agg *g, const char *event, int rv,
    const char *tenant, const char *addr)
{
	struct audit_agg_ent	*e;
	size_t			 i;

	addr = addr != NULL ? addr : "-";
	tenant = tenant != NULL ? tenant : "";
	for (i = 0; i < g->n; i++) {
		e = &g->ent[i];
		if (e->rv == rv && strcmp(e->event, event) == 0 &&
		    strncmp(e->addr, addr, sizeof(e->addr) - 1) == 0 &&
		    strncmp(e->tenant, tenant, sizeof(e->tenant) - 1) == 0)
			return e;
	}
	if (g->n == AUDIT_AGG_MAX)
		return &g->other;
	e = &g->ent[g->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->addr, sizeof(e->addr), "%s", addr);
	snprintf(e->tenant, sizeof(e->tenant), "%s", tenant);
	e->event = event;
	e->rv = rv;
	return e;
}

int
audit_agg_add(struct audit_agg *g, const char *event, int rv,
    const char *tenant, const char *addr, time_t now)
{
	struct audit_agg_ent	*e = audit_agg_find(g, event, rv, tenant, addr);

	if (e != &g->other && e->own < g->free_key &&
	    audit_junk_take(g->a, (long long)(now / AUDIT_AGG_FREE_SEC),
	    g->free_all)) {
		e->own++;
		return 1;
	}
	if (e->count++ == 0)
		e->first = now;
	e->last = now;
	if (e == &g->other)
		e->rv = rv;	/* the latest reason stands for the bucket */
	g->counted++;
	return 0;
}

static int
audit_agg_write(struct audit_agg *g, const struct audit_agg_ent *e,
    void (*cb)(const char *, const char *, void *), void *arg)
{
	struct audit_rec	 r;
	char			*line = NULL, detail[160];
	int			 rv;

	memset(&r, 0, sizeof(r));
	r.event = e->event;
	r.outcome = "rejected";
	/* the "other" bucket: addr "other", the latest reason */
	r.reason = bk_err_slug(e->rv);
	r.tenant = e->tenant[0] != '\0' ? e->tenant : NULL;
	r.client_addr = e->addr;
	snprintf(detail, sizeof(detail), "%llu refusals of unverified input "
	    "counted, not recorded one by one (interval %d s)", e->count,
	    g->interval);
	r.detail = detail;
	rv = audit_write_counted(g->a, &r, e->count, e->first, e->last,
	    &line);
	if (rv == BK_OK && cb != NULL && line != NULL)
		cb(line, r.tenant, arg);
	free(line);
	return rv;
}

int
audit_agg_flush(struct audit_agg *g,
    void (*cb)(const char *, const char *, void *), void *arg)
{
	size_t	 i;
	int	 rv = BK_OK, wrv;

	if (g == NULL)
		return BK_OK;
	for (i = 0; i <= g->n; i++) {
		struct audit_agg_ent *e = i < g->n ? &g->ent[i] : &g->other;

		if (e->count == 0)
			continue;
		if ((wrv = audit_agg_write(g, e, cb, arg)) != BK_OK) {
			log_warnx_r(wrv, "audit: %llu counted refusals not "
			    "recorded", e->count);
			if (rv == BK_OK)
				rv = wrv;
		}
	}
	g->n = 0;
	g->other.count = 0;
	return rv;
}

unsigned long long
audit_agg_counted(const struct audit_agg *g)
{
	return g != NULL ? g->counted : 0;
}

void
audit_agg_free(struct audit_agg *g)
{
	free(g);
}
