/*
 * sso-broker: IdP metadata refreshed from [saml] idp_metadata_url, in a
 * worker (issue 11 item 4).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Each worker refreshes its own copy, as rp.c does for the OAuth
 * providers: at start (the parent loaded the backing file, idp_metadata)
 * and then every metadata_refresh seconds, it fetches the URL through
 * hout (https, no redirect followed, 1 MiB cap) and hands the document to
 * saml_tenant_metadata_update(), which puts it in force only if it passes
 * every check; the worker whose fetch brought a new document writes it to
 * the backing file (a temporary file renamed over it), so a restart or a
 * reload starts from it.  A fetch that fails, or a document that fails a
 * check, leaves the metadata in force (logged with the reason code,
 * counted, shown by mdr_info()) and is retried with backoff.
 * Trust: the fetched document is untrusted until saml/ checked it.
 */
#ifndef BK_MDR_H
#define BK_MDR_H

#include <time.h>

struct bk_buf;
struct conf;
struct conf_tenant;
struct event_base;
struct hout;
struct mdr;

/* Backoff after a failed refresh (seconds), never past metadata_refresh. */
#define MDR_RETRY_MIN_S	10
#define MDR_RETRY_MAX_S	600

/** A tenant's metadata source, for the admin API and the metrics. */
struct mdr_info {
	/*
	 * BK_OK: the last fetch was put in force; BK_E_SAML_MD_PENDING before
	 * the first fetch ended; else the last failure's code (a BK_E_HOUT_*
	 * or BK_E_SAML_MD_*; BK_E_SAML_MD_WRITE: in force, not written).
	 */
	int		 state;
	time_t		 last_good;	/* last fetch put in force, or 0 */
	time_t		 last_try;	/* last fetch's end, or 0 */
	unsigned int	 failures;	/* failed refreshes in this worker */
};

/**
 * Start refreshing every SAML tenant that has an idp_metadata_url.  Runs
 * in a worker.  The tenants' saml_tenant objects are updated in place.
 * @param h	borrowed: a client whose callbacks take no hold.
 * @return returned-owned, NULL when out of memory.
 */
struct mdr *mdr_new(struct event_base *base, struct hout *h,
	    const struct conf *c);
/** Stop the timers; fetches in flight end with hout_free().  NULL fine. */
void	mdr_free(struct mdr *m);

/**
 * The state of t's metadata URL in this worker.
 * @return BK_OK (out filled), BK_E_NOT_FOUND (no idp_metadata_url).
 */
int	mdr_info(const struct mdr *m, const struct conf_tenant *t,
	    struct mdr_info *out);

/** Parent, before forking: the failure counters' shared page. */
int	mdr_metrics_init(void);
/**
 * Append ssobroker_idp_metadata_age_seconds{tenant} and
 * ssobroker_idp_metadata_refresh_ok{tenant} (this worker's view) and the
 * refresh counters of every worker.  BK_OK or BK_E_TOOBIG.
 */
int	mdr_metrics_render(struct bk_buf *b, const struct conf *c);

#endif /* BK_MDR_H */
