/*
 * sso-broker: answers held until their audit record is durable, and
 * refusals of junk counted (issue 9 items 4 and 5).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Nothing lost: front_audit() notes the seq a request's record reached;
 * when the request answers, front_reply() asks front_durable_hold(),
 * which sends at once if the shared synced seq already covers it and
 * otherwise keeps a copy of the answer and kicks the worker's sync thread
 * (audit_sync.c).  The thread's notification releases every answer the
 * flush covered: a group commit, one fdatasync for all the sign-ins that
 * arrived meanwhile, in any worker.  If the flush fails, a held answer
 * that would have handed something out (status below 400: the redirect
 * with a code, the session cookie, the token) is replaced by the audit's
 * 503 page, its headers dropped; a refusal is still sent.  With
 * [audit] fsync = false nothing is held.
 * Not a weapon: front_durable_junk() lets audit_agg.c count refusals of
 * input that never reached a verified signature; the counts are written
 * every [audit] aggregate_interval and at drain.
 * The disk watermark: every few seconds the free space of the audit file
 * system goes to the metrics, with a warning (once a minute across the
 * workers) while it is below [audit] min_free_mb.
 * Trust: held bodies are our own answers; the junk keys come from the
 * request (client address, tenant name) and are capped in audit_agg.c.
 */
#include <sys/queue.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "front_int.h"
#include "log.h"
#include "store_audit.h"

#define FRONT_DISK_SEC	5	/* how often the free space is looked at */

struct front_held {
	TAILQ_ENTRY(front_held)	 entry;
	struct front_req	*req;
	unsigned long long	 seq;
	int			 raw;	/* it kept a raw assertion too */
	int			 status;
	char			*ctype;
	char			*body;
	size_t			 len;
};
TAILQ_HEAD(front_helds, front_held);

struct front_durable {
	struct front		*f;
	struct audit_sync	*sync;		/* NULL: fsync = false */
	struct event		*sync_ev;
	struct event		*agg_ev;
	struct event		*disk_ev;
	struct audit_agg	*agg;
	struct front_helds	 held;
	int			 kicked;	/* a sync asked, not acked */
};

static void
front_held_free(struct front_held *h)
{
	free(h->ctype);
	free(h->body);
	free(h);
}

static void
front_durable_kick(struct front_durable *d)
{
	if (d->kicked || d->sync == NULL)
		return;
	d->kicked = 1;
	audit_sync_kick(d->sync);
}

/*
 * Send a held answer, or, when its record could not be made durable and
 * it would hand something out, the audit's 503 page in its place.
 */
static void
front_held_answer(struct front_durable *d, struct front_held *h, int failed)
{
	struct front_req	*req = h->req;

	TAILQ_REMOVE(&d->held, h, entry);
	req->audit_seq = 0;
	if (failed && h->status < 400 && !req->replied) {
		log_req(LOG_L_ERR, req->id, BK_E_AUDIT_SYNC, "answer %d "
		    "withheld: its audit record is not on stable storage",
		    h->status);
		if (req->ev != NULL)
			evhttp_clear_headers(
			    evhttp_request_get_output_headers(req->ev));
		front_error(req, BK_E_AUDIT_WRITE, NULL);
	} else
		front_reply(req, h->status, h->ctype, h->body, h->len);
	front_req_unref(req);
	front_held_free(h);
}

/*
 * Whether the flushes cover h: its record, and the raw assertion it kept
 * (the side file is flushed by this process's own sync; a sync of another
 * worker that covered the record does not cover it).
 */
static int
front_held_is_durable(const struct audit *a, unsigned long long seq, int raw)
{
	return audit_synced_seq(a) >= seq && !(raw && audit_raw_is_dirty(a));
}

/* Answer what the synced seq covers; on a failed sync, everything held. */
static unsigned int
front_durable_release(struct front_durable *d, int rv)
{
	struct front_held	*h, *next;
	unsigned int		 n = 0;

	for (h = TAILQ_FIRST(&d->held); h != NULL; h = next) {
		next = TAILQ_NEXT(h, entry);
		if (front_held_is_durable(d->f->audit, h->seq, h->raw))
			front_held_answer(d, h, 0);
		else if (rv != BK_OK)
			front_held_answer(d, h, 1);
		else
			continue;
		n++;
	}
	return n;
}

static void
front_durable_sync_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct front_durable	*d = arg;
	unsigned int		 n;
	int			 rv;

	(void)fd;
	(void)ev;
	rv = audit_sync_ack(d->sync);
	d->kicked = 0;
	n = front_durable_release(d, rv);
	metrics_audit_sync(rv == BK_OK, n);
	/* Records written after the flush began wait for the next one. */
	if (!TAILQ_EMPTY(&d->held))
		front_durable_kick(d);
}

int
front_durable_hold(struct front_req *req, int status, const char *ctype,
    const char *body, size_t len)
{
	struct front_durable	*d = req->f->dur;
	struct front_held	*h;
	/* front_raw_keep() clears raw_b64 once the Response is kept */
	int			 raw = req->fl.raw_sha256[0] != '\0' &&
	    req->fl.raw_b64 == NULL;

	if (req->audit_seq == 0)
		return 0;
	if (d == NULL || d->sync == NULL || req->ev == NULL ||
	    front_held_is_durable(req->f->audit, req->audit_seq, raw)) {
		req->audit_seq = 0;
		return 0;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->ctype = bk_strdup(ctype)) == NULL ||
	    (h->body = malloc(len + 1)) == NULL) {
		if (h != NULL)
			front_held_free(h);
		/* Fail closed: nothing of the sign-in goes out undurable. */
		req->audit_seq = 0;
		evhttp_clear_headers(
		    evhttp_request_get_output_headers(req->ev));
		front_error(req, BK_E_NOMEM, NULL);
		return 1;
	}
	if (len > 0)
		memcpy(h->body, body, len);
	h->len = len;
	h->status = status;
	h->seq = req->audit_seq;
	h->raw = raw;
	h->req = req;
	front_req_ref(req);
	TAILQ_INSERT_TAIL(&d->held, h, entry);
	front_durable_kick(d);
	return 1;
}

void
front_durable_note(struct front_req *req)
{
	unsigned long long	 seq = audit_seq(req->f->audit);

	/* The chain's newest seq covers this record (and maybe more). */
	if (seq > req->audit_seq)
		req->audit_seq = seq;
}

int
front_durable_junk(struct front_req *req, const char *event, int rv)
{
	struct front_durable	*d = req->f->dur;

	if (d == NULL || d->agg == NULL || !audit_agg_is_junk(event, rv))
		return FRONT_JUNK_NONE;
	/*
	 * A code the table lists can still follow a verified signature (the
	 * tenant switched off by a reload under way): the verifying key's
	 * fingerprint is only known once the Assertion's signature verified.
	 */
	if (req->fl.cert_fp != NULL)
		return FRONT_JUNK_NONE;
	if (audit_agg_add(d->agg, event, rv, req->t != NULL ? req->t->id :
	    NULL, req->addr, bk_now()))
		return FRONT_JUNK_OWN;
	/* counted, not recorded: still a decision in the metrics */
	metrics_decision(0, rv);
	metrics_decision_record(req->t != NULL ? req->t->id : NULL, event, 0,
	    rv);
	metrics_audit_counted();
	return FRONT_JUNK_COUNTED;
}

/* Counted records go to the tenant's Redis stream too, as front_audit(). */
static void
front_durable_stream(const char *line, const char *tenant, void *arg)
{
	struct front	*f = arg;

	/* an unknown tenant's name is junk: the broker-wide stream */
	if (tenant != NULL && conf_tenant_lookup(f->conf, tenant) == NULL)
		tenant = NULL;
	store_audit_append(store_map_id(f->stores, tenant), tenant, line);
}

static void
front_durable_agg_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct front_durable	*d = arg;

	(void)fd;
	(void)ev;
	(void)audit_agg_flush(d->agg, front_durable_stream, d->f);
}

static void
front_durable_disk_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct front_durable	*d = arg;
	unsigned long long	 free_b, min;
	int			 low;

	(void)fd;
	(void)ev;
	if (audit_disk_free(d->f->audit, &free_b) != BK_OK)
		return;
	min = (unsigned long long)d->f->conf->audit_min_free_mb << 20;
	low = free_b < min;
	metrics_audit_disk(free_b, low);
	if (low && audit_disk_warn_due(d->f->audit))
		log_warnx("audit: %s has %llu MiB free, below [audit] "
		    "min_free_mb = %d; sign-ins stop when it is full",
		    d->f->conf->audit_path, free_b >> 20,
		    d->f->conf->audit_min_free_mb);
}

static int
front_durable_timers(struct front_durable *d)
{
	struct event_base	*base = d->f->base;
	struct timeval		 agg = { d->f->conf->audit_aggregate_interval,
	    0 };
	struct timeval		 disk = { FRONT_DISK_SEC, 0 };

	if ((d->agg_ev = event_new(base, -1, EV_PERSIST, front_durable_agg_cb,
	    d)) == NULL ||
	    (d->disk_ev = event_new(base, -1, EV_PERSIST,
	    front_durable_disk_cb, d)) == NULL)
		return BK_E_NOMEM;
	evtimer_add(d->agg_ev, &agg);
	evtimer_add(d->disk_ev, &disk);
	front_durable_disk_cb(-1, 0, d);
	return BK_OK;
}

int
front_durable_new(struct front *f)
{
	struct front_durable	*d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return BK_E_NOMEM;
	d->f = f;
	TAILQ_INIT(&d->held);
	f->dur = d;
	if (f->audit == NULL)
		return BK_OK;
	if ((d->agg = audit_agg_new(f->audit,
	    f->conf->audit_aggregate_interval,
	    (unsigned int)f->conf->audit_junk_records)) == NULL ||
	    front_durable_timers(d) != BK_OK)
		return BK_E_NOMEM;
	if (!f->conf->audit_fsync)
		return BK_OK;
	if ((d->sync = audit_sync_new(f->audit)) == NULL ||
	    (d->sync_ev = event_new(f->base, audit_sync_fd(d->sync),
	    EV_READ | EV_PERSIST, front_durable_sync_cb, d)) == NULL)
		return BK_E_NOMEM;
	event_add(d->sync_ev, NULL);
	return BK_OK;
}

void
front_durable_drain(struct front *f)
{
	if (f->dur != NULL)
		(void)audit_agg_flush(f->dur->agg, front_durable_stream, f);
}

void
front_durable_free(struct front *f)
{
	struct front_durable	*d = f->dur;

	if (d == NULL)
		return;
	if (d->sync_ev != NULL)
		event_free(d->sync_ev);
	audit_sync_free(d->sync);
	d->sync = NULL;
	/* Left at exit (a drain cut short): one last flush, then answer. */
	if (!TAILQ_EMPTY(&d->held))
		(void)front_durable_release(d, audit_sync_now(f->audit));
	(void)audit_agg_flush(d->agg, NULL, NULL);
	if (d->agg_ev != NULL)
		event_free(d->agg_ev);
	if (d->disk_ev != NULL)
		event_free(d->disk_ev);
	audit_agg_free(d->agg);
	free(d);
	f->dur = NULL;
}
