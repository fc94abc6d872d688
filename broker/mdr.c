/*
 * sso-broker: IdP metadata refreshed from a URL, per worker (mdr.h).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A tenant goes: fetch -> saml_tenant_metadata_update() -> in force ->
 * (new bytes) backing file written -> next fetch after metadata_refresh.
 * Any failure keeps the metadata in force and tries again after a backoff
 * doubling from MDR_RETRY_MIN_S to MDR_RETRY_MAX_S (and never later than
 * metadata_refresh).  Failures are counted by reason in a page the parent
 * shares with every worker, like metrics.c's counters.
 * Trust: see mdr.h.
 */
#include <sys/mman.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bk.h"
#include "conf.h"
#include "hout.h"
#include "log.h"
#include "mdr.h"
#include "mon.h"
#include "proc.h"
#include "saml.h"

/* Codes are small negative numbers (lib/errors.def): index by -rv. */
#define MDR_CODES	1024

struct mdr_shm {
	unsigned long long	 ok;
	unsigned long long	 fails[MDR_CODES];
};

struct mdr_tenant {
	struct mdr		*m;
	const struct conf_tenant *t;
	struct event		*timer;
	struct mdr_info		 info;
	int			 backoff;
	char			 written[SAML_FP_LEN + 1];	/* SHA-256 */
};

struct mdr {
	struct hout		*h;
	size_t			 n;
	struct mdr_tenant	*v;
};

static struct mdr_shm	*mdr_shm;
/* The worker's one struct mdr, for metrics_conf.c's render. */
static struct mdr	*mdr_cur;

static void	mdr_fetch(struct mdr_tenant *);

int
mdr_metrics_init(void)
{
	void	*p;

	if (mdr_shm != NULL)
		return BK_OK;
	p = mmap(NULL, sizeof(*mdr_shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return BK_E_NOMEM;
	mdr_shm = p;
	return BK_OK;
}

static void
mdr_count(int rv)
{
	if (mdr_shm == NULL)
		return;
	if (rv == BK_OK)
		__atomic_add_fetch(&mdr_shm->ok, 1, __ATOMIC_RELAXED);
	else if (-rv > 0 && -rv < MDR_CODES)
		__atomic_add_fetch(&mdr_shm->fails[-rv], 1, __ATOMIC_RELAXED);
}

static void
mdr_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	mdr_fetch(arg);
}

static void
mdr_schedule(struct mdr_tenant *mt, int seconds)
{
	struct timeval	 tv;

	tv.tv_sec = seconds;
	tv.tv_usec = 0;
	if (mt->timer != NULL)
		evtimer_add(mt->timer, &tv);
}

/*
 * The backing file replaced by the document (bk_file_replace(): a
 * temporary file beside it, written, synced, renamed over it), so a
 * restart or a reload never starts from a half-written file.  A worker
 * hands the bytes to the parent, which owns the file (mon.c).
 */
static int
mdr_file_write(const struct conf_tenant *t, const char *body, size_t len)
{
	int	 e;

	if (mon_active())
		return mon_md_save(t->id, body, len);
	if ((e = bk_file_replace(t->saml.idp_metadata, body, len, 0644)) == 0)
		return BK_OK;
	log_warnx("tenant %s: cannot write the IdP metadata backing file "
	    "%s: %s", t->id, t->saml.idp_metadata, strerror(e));
	return BK_E_SAML_MD_WRITE;
}

/* In force: written to the backing file when the bytes are new. */
static void
mdr_good(struct mdr_tenant *mt, const struct hout_res *res)
{
	const struct conf_tenant *t = mt->t;
	struct saml_tenant_info	 info;
	char			 fp[SAML_FP_LEN + 1], ts[32];
	int			 was = mt->info.state;

	mt->info.last_good = mt->info.last_try;
	mt->info.state = BK_OK;
	bk_sha256_hex(res->body, res->len, fp);
	if (strcmp(fp, mt->written) == 0 && was != BK_OK)
		log_info("tenant %s: IdP metadata from %s good again (the "
		    "same document)", t->id, t->saml.idp_metadata_url);
	if (strcmp(fp, mt->written) != 0) {
		saml_tenant_info(t->saml_sp, &info);
		bk_time_fmt(info.metadata_valid_until, ts);
		log_info("tenant %s: IdP metadata from %s in force (%zu "
		    "signing certificates, valid until %s)", t->id,
		    t->saml.idp_metadata_url, info.n_certs,
		    info.metadata_valid_until != 0 ? ts : "-");
		proc_tenant_expiry_warn(t);
		if (mdr_file_write(t, res->body, res->len) == BK_OK)
			memcpy(mt->written, fp, sizeof(fp));
		else
			mt->info.state = BK_E_SAML_MD_WRITE;
	}
}

static void
mdr_fetch_cb(void *arg, int rv, const struct hout_res *res)
{
	struct mdr_tenant	*mt = arg;
	const struct conf_tenant *t;
	char			*detail = NULL;
	int			 next;

	/* hout_free() at the worker's end: mt may be gone already. */
	if (rv == BK_E_HOUT_CANCELLED)
		return;
	t = mt->t;
	next = t->saml.metadata_refresh;
	mt->info.last_try = bk_now();
	if (rv == BK_OK)
		rv = saml_tenant_metadata_update(t->saml_sp, res->body,
		    res->len, &detail);
	mdr_count(rv);
	if (rv == BK_OK) {
		mdr_good(mt, res);
		mt->backoff = MDR_RETRY_MIN_S;
	} else {
		mt->info.state = rv;
		mt->info.failures++;
		if (mt->backoff < next)
			next = mt->backoff;
		log_warnx_r(rv, "tenant %s: IdP metadata from %s refused%s%s; "
		    "the metadata in force stays; next try in %d s", t->id,
		    t->saml.idp_metadata_url, detail != NULL ? ": " : "",
		    detail != NULL ? log_esc(detail) : "", next);
		mt->backoff = mt->backoff * 2 > MDR_RETRY_MAX_S ?
		    MDR_RETRY_MAX_S : mt->backoff * 2;
	}
	free(detail);
	mdr_schedule(mt, next);
}

static void
mdr_fetch(struct mdr_tenant *mt)
{
	struct hout_req	 r;
	struct hout_res	 none;
	int		 rv;

	memset(&r, 0, sizeof(r));
	r.url = mt->t->saml.idp_metadata_url;
	r.trust = mt->t->md_trust;
	if ((rv = hout_get(mt->m->h, &r, mdr_fetch_cb, mt)) != BK_OK) {
		memset(&none, 0, sizeof(none));
		none.body = "";
		mdr_fetch_cb(mt, rv == BK_E_HOUT_CANCELLED ? BK_E_INTERNAL :
		    rv, &none);
	}
}

struct mdr *
mdr_new(struct event_base *base, struct hout *h, const struct conf *c)
{
	struct mdr		*m;
	struct mdr_tenant	*mt;
	size_t			 i;

	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->v = calloc(c->n_tenants + 1, sizeof(*m->v))) == NULL) {
		free(m);
		return NULL;
	}
	m->h = h;
	for (i = 0; i < c->n_tenants; i++) {
		if (c->tenants[i]->login != CONF_LOGIN_SAML ||
		    c->tenants[i]->saml.idp_metadata_url == NULL ||
		    c->tenants[i]->saml_sp == NULL)
			continue;
		mt = &m->v[m->n++];
		mt->m = m;
		mt->t = c->tenants[i];
		mt->info.state = BK_E_SAML_MD_PENDING;
		mt->backoff = MDR_RETRY_MIN_S;
		mt->timer = evtimer_new(base, mdr_timer_cb, mt);
		mdr_fetch(mt);
	}
	mdr_cur = m;
	return m;
}

void
mdr_free(struct mdr *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		if (m->v[i].timer != NULL)
			event_free(m->v[i].timer);
	if (mdr_cur == m)
		mdr_cur = NULL;
	free(m->v);
	free(m);
}

int
mdr_info(const struct mdr *m, const struct conf_tenant *t,
    struct mdr_info *out)
{
	size_t	 i;

	memset(out, 0, sizeof(*out));
	for (i = 0; m != NULL && i < m->n; i++)
		if (m->v[i].t == t) {
			*out = m->v[i].info;
			return BK_OK;
		}
	return BK_E_NOT_FOUND;
}

/* The gauges of this worker's tenants. */
static int
mdr_metrics_gauges(struct bk_buf *b)
{
	const struct mdr_tenant	*mt;
	time_t			 now = bk_now();
	size_t			 i;
	int			 rv;

	rv = bk_buf_adds(b, "# HELP ssobroker_idp_metadata_age_seconds Time "
	    "since the IdP metadata was last fetched from its URL and put in "
	    "force.\n"
	    "# TYPE ssobroker_idp_metadata_age_seconds gauge\n");
	for (i = 0; rv == BK_OK && mdr_cur != NULL && i < mdr_cur->n; i++) {
		mt = &mdr_cur->v[i];
		if (mt->info.last_good != 0)
			rv = bk_buf_addf(b, "ssobroker_idp_metadata_age_seconds"
			    "{tenant=\"%s\"} %lld\n", mt->t->id,
			    (long long)(now - mt->info.last_good));
	}
	if (rv == BK_OK)
		rv = bk_buf_adds(b, "# HELP ssobroker_idp_metadata_refresh_ok "
		    "1 when the last fetch of the IdP metadata URL was put in "
		    "force.\n"
		    "# TYPE ssobroker_idp_metadata_refresh_ok gauge\n");
	for (i = 0; rv == BK_OK && mdr_cur != NULL && i < mdr_cur->n; i++) {
		mt = &mdr_cur->v[i];
		rv = bk_buf_addf(b, "ssobroker_idp_metadata_refresh_ok{tenant="
		    "\"%s\"} %d\n", mt->t->id, mt->info.state == BK_OK);
	}
	return rv;
}

int
mdr_metrics_render(struct bk_buf *b, const struct conf *c)
{
	unsigned long long	 n;
	size_t			 i;
	int			 rv;

	(void)c;
	if ((rv = mdr_metrics_gauges(b)) != BK_OK || mdr_shm == NULL)
		return rv;
	rv = bk_buf_addf(b, "# HELP ssobroker_idp_metadata_refreshes_total "
	    "Fetches of IdP metadata URLs put in force, all workers.\n"
	    "# TYPE ssobroker_idp_metadata_refreshes_total counter\n"
	    "ssobroker_idp_metadata_refreshes_total %llu\n"
	    "# HELP ssobroker_idp_metadata_refresh_failures_total Fetches of "
	    "IdP metadata URLs that failed or were refused, by reason.\n"
	    "# TYPE ssobroker_idp_metadata_refresh_failures_total counter\n",
	    __atomic_load_n(&mdr_shm->ok, __ATOMIC_RELAXED));
	for (i = 1; rv == BK_OK && i < MDR_CODES; i++)
		if ((n = __atomic_load_n(&mdr_shm->fails[i],
		    __ATOMIC_RELAXED)) != 0)
			rv = bk_buf_addf(b, "ssobroker_idp_metadata_refresh_"
			    "failures_total{reason=\"%s\"} %llu\n",
			    bk_err_slug(-(int)i), n);
	return rv;
}
