/*
 * sso-broker: Prometheus counters in shared memory (text format 0.0.4).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Fixed label sets (routes x a short status list, latency buckets, reason
 * codes) keep the page small and the cardinality bounded.
 * Trust: no input from the network reaches label values.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "bk.h"
#include "metrics.h"

#define METRICS_MAX_WORKERS	64
#define METRICS_NREASON		1000

static const int metrics_statuses[] = {
	200, 201, 204, 302, 303, 400, 401, 403, 404, 405, 409, 413, 415, 500,
	    501, 503, 0
};
#define METRICS_NSTATUS BK_NELEM(metrics_statuses)

static const double metrics_buckets[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5
};
#define METRICS_NBUCKET BK_NELEM(metrics_buckets)

struct metrics_shared {
	uint64_t	req[MR_COUNT][METRICS_NSTATUS];
	uint64_t	lat[MR_COUNT][METRICS_NBUCKET + 1];
	uint64_t	lat_sum_us[MR_COUNT];
	uint64_t	decisions[2][METRICS_NREASON];
	int		redis_up[METRICS_MAX_WORKERS];
	int		store_up[METRICS_MAX_WORKERS][METRICS_MAX_STORES];
	int		workers;
	/* audit durability (issue 9) */
	uint64_t	audit_syncs, audit_sync_fail, audit_released;
	uint64_t	audit_counted;
	uint64_t	audit_syslog_sent, audit_syslog_dropped;
	uint64_t	audit_disk_free;
	int		audit_disk_low;
	int		audit_disk_known;
};

static struct metrics_shared *msh;

static const char *metrics_route_names[MR_COUNT] = {
	"healthz", "readyz", "saml_metadata", "saml_login", "saml_acs",
	"oauth2_authorize", "oauth2_token", "oauth2_introspect",
	    "oauth2_revoke",
	"well_known", "consent", "logout", "oidc_callback", "signed_in",
	"admin", "metrics", "other"
};

const char *
metrics_route_name(enum metrics_route r)
{
	return r < MR_COUNT ? metrics_route_names[r] : "other";
}

int
metrics_init(void)
{
	void	*p;

	if (msh != NULL)
		return BK_OK;
	p = mmap(NULL, sizeof(*msh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return BK_E_NOMEM;
	msh = p;
	return BK_OK;
}

void
metrics_request(enum metrics_route r, int status, double seconds)
{
	size_t	 i;

	if (msh == NULL || r >= MR_COUNT)
		return;
	for (i = 0; i < METRICS_NSTATUS - 1; i++)
		if (metrics_statuses[i] == status)
			break;
	__atomic_add_fetch(&msh->req[r][i], 1, __ATOMIC_RELAXED);
	for (i = 0; i < METRICS_NBUCKET; i++)
		if (seconds <= metrics_buckets[i])
			break;
	__atomic_add_fetch(&msh->lat[r][i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&msh->lat_sum_us[r], (uint64_t)(seconds * 1e6),
	    __ATOMIC_RELAXED);
}

void
metrics_decision(int accepted, int rv)
{
	int	 idx = rv < 0 ? -rv : rv;

	if (msh == NULL || idx >= METRICS_NREASON)
		return;
	__atomic_add_fetch(&msh->decisions[accepted ? 1 : 0][idx], 1,
	    __ATOMIC_RELAXED);
}

void
metrics_redis_up(int slot, int up)
{
	if (msh != NULL && slot >= 0 && slot < METRICS_MAX_WORKERS)
		__atomic_store_n(&msh->redis_up[slot], up, __ATOMIC_RELAXED);
}

void
metrics_store_up(int slot, size_t idx, int up)
{
	if (msh != NULL && slot >= 0 && slot < METRICS_MAX_WORKERS &&
	    idx < METRICS_MAX_STORES)
		__atomic_store_n(&msh->store_up[slot][idx], up,
		    __ATOMIC_RELAXED);
}

int
metrics_stores_render(struct bk_buf *b, const char *const *names, size_t n)
{
	size_t	 i, w;
	int	 rv, up;

	if (msh == NULL)
		return BK_E_INTERNAL;
	rv = bk_buf_adds(b, "# HELP ssobroker_redis_store_up Workers whose "
	    "connection to the store is up (default: broker.conf's [redis]; "
	    "else the first tenant that names it).\n"
	    "# TYPE ssobroker_redis_store_up gauge\n");
	for (i = 0; i < n && i < METRICS_MAX_STORES; i++) {
		up = 0;
		for (w = 0; w < (size_t)msh->workers &&
		    w < METRICS_MAX_WORKERS; w++)
			up += __atomic_load_n(&msh->store_up[w][i],
			    __ATOMIC_RELAXED) ? 1 : 0;
		rv |= bk_buf_addf(b, "ssobroker_redis_store_up{store=\"%s\"} "
		    "%d\n", names[i], up);
	}
	return rv == BK_OK ? BK_OK : BK_E_TOOBIG;
}

void
metrics_workers(int n)
{
	if (msh != NULL) {
		int i;

		__atomic_store_n(&msh->workers, n, __ATOMIC_RELAXED);
		for (i = n; i < METRICS_MAX_WORKERS; i++) {
			msh->redis_up[i] = 0;
			memset(msh->store_up[i], 0, sizeof(msh->store_up[i]));
		}
	}
}

void
metrics_audit_sync(int ok, unsigned int released)
{
	if (msh == NULL)
		return;
	__atomic_add_fetch(ok ? &msh->audit_syncs : &msh->audit_sync_fail, 1,
	    __ATOMIC_RELAXED);
	__atomic_add_fetch(&msh->audit_released, released, __ATOMIC_RELAXED);
}

void
metrics_audit_disk(unsigned long long free_bytes, int low)
{
	if (msh == NULL)
		return;
	__atomic_store_n(&msh->audit_disk_free, free_bytes, __ATOMIC_RELAXED);
	__atomic_store_n(&msh->audit_disk_low, low, __ATOMIC_RELAXED);
	__atomic_store_n(&msh->audit_disk_known, 1, __ATOMIC_RELAXED);
}

void
metrics_audit_counted(void)
{
	if (msh != NULL)
		__atomic_add_fetch(&msh->audit_counted, 1, __ATOMIC_RELAXED);
}

void
metrics_audit_syslog(int sent)
{
	if (msh != NULL)
		__atomic_add_fetch(sent ? &msh->audit_syslog_sent :
		    &msh->audit_syslog_dropped, 1, __ATOMIC_RELAXED);
}

/* Records copied to [audit] syslog, and those it could not take. */
static int
metrics_render_syslog(struct bk_buf *b)
{
	return bk_buf_addf(b,
	    "# HELP ssobroker_audit_syslog_sent_total Audit records sent to "
	    "[audit] syslog.\n"
	    "# TYPE ssobroker_audit_syslog_sent_total counter\n"
	    "ssobroker_audit_syslog_sent_total %llu\n"
	    "# HELP ssobroker_audit_syslog_dropped_total Audit records the "
	    "syslog socket could not take at once (dropped; the file has "
	    "them).\n"
	    "# TYPE ssobroker_audit_syslog_dropped_total counter\n"
	    "ssobroker_audit_syslog_dropped_total %llu\n",
	    (unsigned long long)msh->audit_syslog_sent,
	    (unsigned long long)msh->audit_syslog_dropped);
}

/* The audit's durability: syncs, answers held for them, disk space. */
static int
metrics_render_audit(struct bk_buf *b)
{
	int	 rv;

	rv = bk_buf_addf(b,
	    "# HELP ssobroker_audit_fsync_total Group-commit flushes of the "
	    "audit file.\n"
	    "# TYPE ssobroker_audit_fsync_total counter\n"
	    "ssobroker_audit_fsync_total{outcome=\"ok\"} %llu\n"
	    "ssobroker_audit_fsync_total{outcome=\"failed\"} %llu\n"
	    "# HELP ssobroker_audit_held_answers_total Answers held until "
	    "their audit record was durable.\n"
	    "# TYPE ssobroker_audit_held_answers_total counter\n"
	    "ssobroker_audit_held_answers_total %llu\n"
	    "# HELP ssobroker_audit_counted_total Refusals of unverified input "
	    "counted instead of recorded one by one.\n"
	    "# TYPE ssobroker_audit_counted_total counter\n"
	    "ssobroker_audit_counted_total %llu\n",
	    (unsigned long long)msh->audit_syncs,
	    (unsigned long long)msh->audit_sync_fail,
	    (unsigned long long)msh->audit_released,
	    (unsigned long long)msh->audit_counted);
	if (rv != BK_OK || !msh->audit_disk_known)
		return rv;
	return bk_buf_addf(b,
	    "# HELP ssobroker_audit_disk_free_bytes Free space of the audit "
	    "file system.\n"
	    "# TYPE ssobroker_audit_disk_free_bytes gauge\n"
	    "ssobroker_audit_disk_free_bytes %llu\n"
	    "# HELP ssobroker_audit_disk_low 1 while the free space is below "
	    "[audit] min_free_mb.\n"
	    "# TYPE ssobroker_audit_disk_low gauge\n"
	    "ssobroker_audit_disk_low %d\n",
	    (unsigned long long)msh->audit_disk_free, msh->audit_disk_low);
}

/* ssobroker_requests_total: a counter per route and status. */
static int
metrics_render_requests(struct bk_buf *b)
{
	size_t	 r, i;
	int	 rv = BK_OK;
	char	 st[16];

	rv |= bk_buf_adds(b,
	    "# HELP ssobroker_requests_total HTTP requests by route and "
	    "status.\n"
	    "# TYPE ssobroker_requests_total counter\n");
	for (r = 0; r < MR_COUNT; r++)
		for (i = 0; i < METRICS_NSTATUS; i++) {
			if (msh->req[r][i] == 0)
				continue;
			if (metrics_statuses[i] != 0)
				snprintf(st, sizeof(st), "%d",
				    metrics_statuses[i]);
			else
				snprintf(st, sizeof(st), "other");
			rv |= bk_buf_addf(b, "ssobroker_requests_total"
			    "{route=\"%s\",status=\"%s\"} %llu\n",
			    metrics_route_names[r], st,
			    (unsigned long long)msh->req[r][i]);
		}
	return rv;
}

/* ssobroker_request_duration_seconds: a histogram per route. */
static int
metrics_render_latency(struct bk_buf *b)
{
	size_t	 r, i;
	int	 rv = BK_OK;
	uint64_t cum;

	rv |= bk_buf_adds(b,
	    "# HELP ssobroker_request_duration_seconds Request latency by "
	    "route.\n"
	    "# TYPE ssobroker_request_duration_seconds histogram\n");
	for (r = 0; r < MR_COUNT; r++) {
		cum = 0;
		for (i = 0; i <= METRICS_NBUCKET; i++) {
			cum += msh->lat[r][i];
			if (i < METRICS_NBUCKET)
				rv |= bk_buf_addf(b,
				    "ssobroker_request_duration_seconds_bucket"
				    "{route=\"%s\",le=\"%g\"} %llu\n",
				    metrics_route_names[r], metrics_buckets[i],
				    (unsigned long long)cum);
			else
				rv |= bk_buf_addf(b,
				    "ssobroker_request_duration_seconds_bucket"
				    "{route=\"%s\",le=\"+Inf\"} %llu\n",
				    metrics_route_names[r],
				    (unsigned long long)cum);
		}
		rv |= bk_buf_addf(b,
		    "ssobroker_request_duration_seconds_sum{route=\"%s\"} "
		    "%.6f\n"
		    "ssobroker_request_duration_seconds_count{route=\"%s\"} "
		    "%llu\n",
		    metrics_route_names[r], (double)msh->lat_sum_us[r] / 1e6,
		    metrics_route_names[r], (unsigned long long)cum);
	}
	return rv;
}

int
metrics_render(struct bk_buf *b)
{
	size_t	 r, i;
	int	 rv = BK_OK, up = 0, w;

	if (msh == NULL)
		return BK_E_INTERNAL;
	w = msh->workers;
	for (i = 0; i < (size_t)w && i < METRICS_MAX_WORKERS; i++)
		up += msh->redis_up[i] ? 1 : 0;
	rv |= metrics_render_requests(b);
	rv |= metrics_render_latency(b);
	rv |= metrics_render_audit(b);
	rv |= metrics_render_syslog(b);
	rv |= bk_buf_adds(b,
	    "# HELP ssobroker_decisions_total Audited decisions by outcome and "
	    "reason.\n"
	    "# TYPE ssobroker_decisions_total counter\n");
	for (r = 0; r < 2; r++)
		for (i = 0; i < METRICS_NREASON; i++)
			if (msh->decisions[r][i] != 0)
				rv |= bk_buf_addf(b,
				    "ssobroker_decisions_total{outcome=\"%s\","
				    "reason=\"%s\"} %llu\n",
				    r ? "accepted" : "rejected",
				    bk_err_slug(-(int)i),
				    (unsigned long long)msh->decisions[r][i]);
	rv |= bk_buf_addf(b,
	    "# HELP ssobroker_redis_up Workers whose Redis connection is up.\n"
	    "# TYPE ssobroker_redis_up gauge\n"
	    "ssobroker_redis_up %d\n"
	    "# HELP ssobroker_workers Live worker processes.\n"
	    "# TYPE ssobroker_workers gauge\n"
	    "ssobroker_workers %d\n", up, w);
	return rv == BK_OK ? BK_OK : BK_E_TOOBIG;
}
