/*
 * sso-broker: audited decisions by event and reason, and by tenant.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Two counter tables in a MAP_SHARED page made by the parent before it
 * forks: ssobroker_decisions_by_event_total{event,outcome,reason} and
 * ssobroker_tenant_decisions_total{tenant,event,outcome}.  Events are a
 * fixed list (anything else counts as "other"); reasons are the error
 * table's; tenants are counted by id, not by position, so a reload that
 * adds a tenant does not mix two tenants' counts.  A tenant's slot is
 * claimed lock-free (compare-and-swap); two workers claiming the same new
 * id at once may take two slots, which the rendering adds up.  Beyond
 * METRICS_DEC_TENANTS ids, decisions go to tenant "other".
 * Trust: tenant ids are checked by the configuration ([a-z0-9-]); event
 * names come from the code; no network input reaches a label value.
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "bk.h"
#include "metrics.h"

#define METRICS_DEC_TENANTS	256
#define METRICS_DEC_ID		64
#define METRICS_DEC_REASONS	1000

static const char *const metrics_dec_events[] = {
	"assertion", "id_token", "authorize", "consent", "code_issued",
	"code_redeemed", "token_introspected", "token_revoked", "logout",
	"session_revoked", "mapping_import", "user_set", "user_delete",
	"config_reload", "tenant_added", "tenant_removed", "tenant_changed",
	"audit_read", "sso_set", "other"
};
#define METRICS_DEC_NEVENT	BK_NELEM(metrics_dec_events)

struct metrics_dec_tenant {
	int		 state;		/* 0 free, 1 claimed, 2 ready */
	char		 id[METRICS_DEC_ID];
	uint64_t	 n[METRICS_DEC_NEVENT][2];
};

struct metrics_dec_shared {
	uint64_t			ev[METRICS_DEC_NEVENT][2]
	    [METRICS_DEC_REASONS];
	struct metrics_dec_tenant	t[METRICS_DEC_TENANTS];
	uint64_t			other[METRICS_DEC_NEVENT][2];
};

static struct metrics_dec_shared *mds;

int
metrics_dec_init(void)
{
	void	*p;

	if (mds != NULL)
		return BK_OK;
	p = mmap(NULL, sizeof(*mds), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return BK_E_NOMEM;
	mds = p;
	return BK_OK;
}

static size_t
metrics_dec_event(const char *event)
{
	size_t	 i;

	for (i = 0; event != NULL && i < METRICS_DEC_NEVENT - 1; i++)
		if (strcmp(metrics_dec_events[i], event) == 0)
			return i;
	return METRICS_DEC_NEVENT - 1;
}

/* The counters of tenant id: its slot, claimed if new; NULL when full. */
static uint64_t (*metrics_dec_slot(const char *id))[2]
{
	struct metrics_dec_tenant	*t;
	size_t				 i;
	int				 free_state;

	if (id == NULL || strlen(id) >= METRICS_DEC_ID)
		return NULL;
	for (i = 0; i < METRICS_DEC_TENANTS; i++) {
		t = &mds->t[i];
		if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == 2 &&
		    strcmp(t->id, id) == 0)
			return t->n;
	}
	for (i = 0; i < METRICS_DEC_TENANTS; i++) {
		t = &mds->t[i];
		free_state = 0;
		if (!__atomic_compare_exchange_n(&t->state, &free_state, 1, 0,
		    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		memcpy(t->id, id, strlen(id) + 1);
		__atomic_store_n(&t->state, 2, __ATOMIC_RELEASE);
		return t->n;
	}
	return NULL;
}

void
metrics_decision_record(const char *tenant, const char *event, int accepted,
    int rv)
{
	size_t		 e = metrics_dec_event(event);
	int		 idx = rv < 0 ? -rv : rv;
	uint64_t	(*n)[2];

	if (mds == NULL)
		return;
	accepted = accepted != 0;
	if (idx < METRICS_DEC_REASONS)
		__atomic_add_fetch(&mds->ev[e][accepted][idx], 1,
		    __ATOMIC_RELAXED);
	if (tenant == NULL)
		return;
	if ((n = metrics_dec_slot(tenant)) == NULL)
		n = mds->other;
	__atomic_add_fetch(&n[e][accepted], 1, __ATOMIC_RELAXED);
}

static int
metrics_dec_render_events(struct bk_buf *b)
{
	const uint64_t	*n;
	size_t		 e, o, r;
	int		 rv;

	rv = bk_buf_adds(b, "# HELP ssobroker_decisions_by_event_total Audited "
	    "decisions by event, outcome and reason.\n"
	    "# TYPE ssobroker_decisions_by_event_total counter\n");
	for (e = 0; e < METRICS_DEC_NEVENT; e++)
		for (o = 0; o < 2; o++) {
			n = mds->ev[e][o];
			for (r = 0; r < METRICS_DEC_REASONS; r++)
				if (n[r] != 0)
					rv |= bk_buf_addf(b, "ssobroker_"
					    "decisions_by_event_total{event="
					    "\"%s\",outcome=\"%s\",reason="
					    "\"%s\"} %llu\n",
					    metrics_dec_events[e],
					    o ? "accepted" : "rejected",
					    bk_err_slug(-(int)r),
					    (unsigned long long)n[r]);
		}
	return rv;
}

/* One tenant's lines; slots of the same id (a claim race) added up. */
static int
metrics_dec_render_tenant(struct bk_buf *b, size_t i)
{
	uint64_t	 sum;
	size_t		 e, o, k;
	int		 rv = BK_OK;

	for (e = 0; e < METRICS_DEC_NEVENT; e++)
		for (o = 0; o < 2; o++) {
			sum = 0;
			for (k = i; k < METRICS_DEC_TENANTS; k++)
				if (mds->t[k].state == 2 &&
				    strcmp(mds->t[k].id, mds->t[i].id) == 0)
					sum += mds->t[k].n[e][o];
			if (sum != 0)
				rv |= bk_buf_addf(b,
				    "ssobroker_tenant_decisions_total{tenant="
				    "\"%s\",event=\"%s\",outcome=\"%s\"} "
				    "%llu\n", mds->t[i].id,
				    metrics_dec_events[e],
				    o ? "accepted" : "rejected",
				    (unsigned long long)sum);
		}
	return rv;
}

static int
metrics_dec_render_tenants(struct bk_buf *b)
{
	size_t	 i, k, e, o;
	int	 rv, dup;

	rv = bk_buf_adds(b, "# HELP ssobroker_tenant_decisions_total Audited "
	    "decisions by tenant, event and outcome.\n"
	    "# TYPE ssobroker_tenant_decisions_total counter\n");
	for (i = 0; i < METRICS_DEC_TENANTS; i++) {
		if (mds->t[i].state != 2)
			continue;
		for (dup = 0, k = 0; k < i && !dup; k++)
			dup = mds->t[k].state == 2 &&
			    strcmp(mds->t[k].id, mds->t[i].id) == 0;
		if (!dup)
			rv |= metrics_dec_render_tenant(b, i);
	}
	for (e = 0; e < METRICS_DEC_NEVENT; e++)
		for (o = 0; o < 2; o++)
			if (mds->other[e][o] != 0)
				rv |= bk_buf_addf(b,
				    "ssobroker_tenant_decisions_total{tenant="
				    "\"other\",event=\"%s\",outcome=\"%s\"} "
				    "%llu\n", metrics_dec_events[e],
				    o ? "accepted" : "rejected",
				    (unsigned long long)mds->other[e][o]);
	return rv;
}

int
metrics_dec_render(struct bk_buf *b)
{
	int	 rv;

	if (mds == NULL)
		return BK_OK;
	rv = metrics_dec_render_events(b);
	rv |= metrics_dec_render_tenants(b);
	return rv == BK_OK ? BK_OK : BK_E_TOOBIG;
}
