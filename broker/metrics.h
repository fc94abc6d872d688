/*
 * sso-broker: Prometheus metrics shared by all workers.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Counters live in a MAP_SHARED page made by the parent before it forks;
 * workers add with atomics, any worker renders the text format 0.0.4.
 * No per-user labels: routes, statuses, reasons and latency buckets only.
 */
#ifndef BK_METRICS_H
#define BK_METRICS_H

#include <stddef.h>

enum metrics_route {
	MR_HEALTHZ, MR_READYZ, MR_METADATA, MR_SAML_LOGIN, MR_ACS, MR_AUTHORIZE,
	MR_TOKEN, MR_INTROSPECT, MR_REVOKE, MR_WELLKNOWN, MR_CONSENT, MR_LOGOUT,
	MR_OIDC_CALLBACK, MR_SIGNED_IN, MR_ADMIN, MR_METRICS, MR_OTHER, MR_COUNT
};

struct bk_buf;

/** Parent: allocate the shared page.  BK_OK or BK_E_NOMEM. */
int	metrics_init(void);
/** Count one finished request. */
void	metrics_request(enum metrics_route r, int status, double seconds);
/** Count one audited decision (event, outcome accepted/rejected,
    reason code). */
void	metrics_decision(int accepted, int rv);
/** Worker's Redis state, by worker slot. */
void	metrics_redis_up(int slot, int up);
/*
 * Each worker's stores (store_map.c) by their index in the map, bounded:
 * stores past METRICS_MAX_STORES are not shown.
 */
#define METRICS_MAX_STORES	64
void	metrics_store_up(int slot, size_t idx, int up);
/**
 * ssobroker_redis_store_up{store="NAME"}: workers whose connection to
 * store i (names[i], "default" or a tenant id) is up.
 */
int	metrics_stores_render(struct bk_buf *out, const char *const *names,
	    size_t n);
/** Parent: number of live workers. */
void	metrics_workers(int n);
/** One record sent to [audit] syslog (sent 1), or dropped (sent 0). */
void	metrics_audit_syslog(int sent);
/** Audit durability: one group-commit sync (ok or failed), and the
    answers it released. */
void	metrics_audit_sync(int ok, unsigned int released);
/** Audit file system: free bytes and whether below [audit] min_free_mb. */
void	metrics_audit_disk(unsigned long long free_bytes, int low);
/** Junk refusals counted instead of recorded one by one. */
void	metrics_audit_counted(void);
/** Append the exposition text. */
int	metrics_render(struct bk_buf *out);
const char *metrics_route_name(enum metrics_route r);

/* metrics_dec.c: decisions by event and reason, and by tenant. */
/** Parent, before forking.  BK_OK or BK_E_NOMEM. */
int	metrics_dec_init(void);
/** Count one audited decision of tenant (NULL: broker-wide) and event. */
void	metrics_decision_record(const char *tenant, const char *event,
	    int accepted, int rv);
/** Append both tables.  BK_OK or BK_E_TOOBIG. */
int	metrics_dec_render(struct bk_buf *out);

/* metrics_conf.c: what comes from the configuration in force. */
struct conf;
/** Parent, before forking: the reload page.  BK_OK or BK_E_NOMEM. */
int	metrics_conf_init(void);
/** Parent: a (re)load applied (ok, the new generation) or refused. */
void	metrics_reload_note(int ok, unsigned int gen);
/* Whether SSO is on for t now (the switch in force), for the gauge. */
struct conf_tenant;
typedef int metrics_sso_fn(const void *arg, const struct conf_tenant *t);
/**
 * Append build info, the tenants, every certificate's expiry (IdP and SP
 * of each tenant; the listener's, from tls_ctx, an SSL_CTX or NULL) and
 * the last reload.  sso(sso_arg, t) gives each tenant's switch in force
 * (NULL: the file's).  BK_OK or BK_E_TOOBIG.
 */
int	metrics_conf_render(struct bk_buf *out, const struct conf *c,
	    void *tls_ctx, metrics_sso_fn *sso, const void *sso_arg);

#endif /* BK_METRICS_H */
