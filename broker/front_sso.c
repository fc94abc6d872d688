/*
 * sso-broker: the account's SSO switch, as every broker sees it, and its
 * admin route (issue 10 item 3).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The tenant file's enable_salesforce_sso is the value a tenant starts
 * with.  An admin sets the value in force (PUT /api/v1/tenants/<t>/sso,
 * ssoctl tenants sso on|off, the console), which is kept in the tenant's
 * store (store_sso.h), so every broker shares it.  Each worker reads every
 * tenant's switch every FRONT_SSO_POLL_MS, one script per store, and keeps
 * what it read: a change made on any broker is in force on every worker
 * within a second; a read that fails keeps the last value known (and a
 * tenant never read since the worker started has its file's value), while
 * the store's scripts, which compare the tenant's generation, refuse
 * anything of a tenant whose stored switch is off whatever a worker
 * believes.  A SIGHUP forks new workers, which read again: a value an
 * admin set survives a reload, and a changed file does not override it
 * (docs/admin.md).
 * Trust: the PUT body is untrusted (strict JSON, capped); stored values
 * are checked by store_sso.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "front_int.h"
#include "log.h"
#include "store_sso.h"

/* A PUT body larger than this is not a switch. */
#define FRONT_SSO_BODY_MAX	1024

struct front_sso {
	struct front		*f;
	struct event		*tick;
	/* per conf->tenants[i]: the switch as last read (set 0: none) */
	struct store_sso	*v;
	int			*read;	/* read at least once */
	size_t			 n;
	int			 pending;	/* reads in flight */
};

/* One store's share of a poll: the tenants' places in conf->tenants. */
struct front_sso_part {
	struct front_sso	*fs;
	size_t			*pos;
	size_t			 k;
};

static size_t
front_sso_idx(const struct front *f, const struct conf_tenant *t)
{
	size_t	 i;

	for (i = 0; f->sso != NULL && i < f->conf->n_tenants; i++)
		if (f->conf->tenants[i] == t)
			return i;
	return (size_t)-1;
}

const struct store_sso *
front_sso_known(const struct front *f, const struct conf_tenant *t)
{
	size_t	 i = front_sso_idx(f, t);

	return i != (size_t)-1 && f->sso->read[i] ? &f->sso->v[i] : NULL;
}

int
front_sso_in_force(const struct front *f, const struct conf_tenant *t)
{
	const struct store_sso *v;

	if (t == NULL)
		return 0;
	if ((v = front_sso_known(f, t)) != NULL && v->set)
		return v->on;
	return t->sso_enabled;
}

static void
front_sso_keep(struct front_sso *fs, size_t i, const struct store_sso *v)
{
	const struct conf_tenant *t = fs->f->conf->tenants[i];
	int	 before = front_sso_in_force(fs->f, t);

	fs->v[i] = *v;
	fs->read[i] = 1;
	if (front_sso_in_force(fs->f, t) != before)
		log_info("tenant %s: SSO is %s (set by %s)", t->id,
		    before ? "off" : "on", v->set ? v->by : "the tenant file");
}

static void
front_sso_read_cb(void *arg, int rv, const struct store_sso *v, size_t n)
{
	struct front_sso_part	*p = arg;
	struct front_sso	*fs = p->fs;
	size_t			 i;

	/* A failed read keeps what was known. */
	for (i = 0; rv == BK_OK && v != NULL && i < p->k && i < n; i++)
		front_sso_keep(fs, p->pos[i], &v[i]);
	fs->pending--;
	free(p->pos);
	free(p);
}

/* One script per store, with the tenants that store holds. */
static void
front_sso_poll(struct front_sso *fs)
{
	const struct conf	*c = fs->f->conf;
	struct store		*s;
	struct front_sso_part	*p;
	const char		**ids;
	size_t			 si, i;

	if (fs->pending > 0 || c->n_tenants == 0 ||
	    (ids = calloc(c->n_tenants, sizeof(*ids))) == NULL)
		return;
	for (si = 0; si < store_map_count(fs->f->stores); si++) {
		s = store_map_at(fs->f->stores, si);
		if (!store_is_up(s) || (p = calloc(1, sizeof(*p))) == NULL)
			continue;
		if ((p->pos = calloc(c->n_tenants, sizeof(*p->pos))) == NULL) {
			free(p);
			continue;
		}
		p->fs = fs;
		for (i = 0; i < c->n_tenants; i++)
			if (front_store(fs->f, c->tenants[i]) == s) {
				ids[p->k] = c->tenants[i]->id;
				p->pos[p->k++] = i;
			}
		if (p->k == 0) {
			free(p->pos);
			free(p);
			continue;
		}
		fs->pending++;
		store_sso_read(s, ids, p->k, front_sso_read_cb, p);
	}
	free(ids);
}

static void
front_sso_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	front_sso_poll(arg);
}

int
front_sso_new(struct front *f)
{
	struct front_sso	*fs;
	struct timeval		 tv = { 0, FRONT_SSO_POLL_MS * 1000 };
	size_t			 n = f->conf->n_tenants;

	if ((fs = calloc(1, sizeof(*fs))) == NULL ||
	    (fs->v = calloc(n + 1, sizeof(*fs->v))) == NULL ||
	    (fs->read = calloc(n + 1, sizeof(*fs->read))) == NULL ||
	    (fs->tick = event_new(f->base, -1, EV_PERSIST, front_sso_tick_cb,
	    fs)) == NULL) {
		if (fs != NULL) {
			free(fs->v);
			free(fs->read);
		}
		free(fs);
		return BK_E_NOMEM;
	}
	fs->f = f;
	fs->n = n;
	f->sso = fs;
	evtimer_add(fs->tick, &tv);
	return BK_OK;
}

void
front_sso_free(struct front *f)
{
	struct front_sso	*fs = f->sso;

	if (fs == NULL)
		return;
	/* store_map_free() answered every read in flight. */
	BK_ASSERT(fs->pending == 0);
	event_free(fs->tick);
	free(fs->v);
	free(fs->read);
	free(fs);
	f->sso = NULL;
}

void
front_sso_json(const struct front *f, const struct conf_tenant *t, void *jo)
{
	const struct store_sso	*v = front_sso_known(f, t);
	json_t			*o = jo;
	char			 ts[32];

	json_object_set_new(o, "sso_enabled",
	    json_boolean(front_sso_in_force(f, t)));
	json_object_set_new(o, "sso_file_value", json_boolean(t->sso_enabled));
	json_object_set_new(o, "sso_source", json_string(v != NULL && v->set ?
	    "admin" : "file"));
	if (v != NULL && v->set) {
		bk_time_fmt(v->at, ts);
		json_object_set_new(o, "sso_set_by", json_string(v->by));
		json_object_set_new(o, "sso_set_at", json_string(ts));
	} else {
		json_object_set_new(o, "sso_set_by", json_null());
		json_object_set_new(o, "sso_set_at", json_null());
	}
	/* Not read since this worker started: the file's, until then. */
	json_object_set_new(o, "sso_read", json_boolean(v != NULL));
}

/* --- the admin route --- */

static json_t *
front_sso_reply_json(struct front_req *req)
{
	json_t	*o = json_pack("{s:s}", "tenant", req->t->id);

	if (o != NULL)
		front_sso_json(req->f, req->t, o);
	return o;
}

void
front_sso_get(struct front_req *req)
{
	json_t	*o = front_sso_reply_json(req);

	front_reply_json(req, o != NULL ? 200 : 500, o);
}

/*
 * {"enabled": true|false} and nothing else: a duplicate key, another key,
 * another type or trailing bytes are refused (BK_E_SSO_BODY, *why).
 */
static int
front_sso_body(struct front_req *req, int *on, const char **why)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req->ev);
	size_t		 len = evbuffer_get_length(in);
	unsigned char	*p;
	json_t		*j, *e;
	json_error_t	 err;
	int		 rv = BK_E_SSO_BODY;

	*why = "the body must be the JSON object {\"enabled\": true} or "
	    "{\"enabled\": false}";
	if (len > FRONT_SSO_BODY_MAX) {
		*why = "the body is larger than 1 KiB";
		return BK_E_TOOBIG;
	}
	if ((p = evbuffer_pullup(in, -1)) == NULL && len > 0)
		return BK_E_NOMEM;
	j = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &err);
	if (j != NULL && json_is_object(j) && json_object_size(j) == 1 &&
	    (e = json_object_get(j, "enabled")) != NULL && json_is_boolean(e)) {
		*on = json_is_true(e);
		rv = BK_OK;
	}
	json_decref(j);
	return rv;
}

static void
front_sso_change_note(struct front_req *req, int was, int on)
{
	char	 b[64];

	snprintf(b, sizeof(b), "{\"enabled\":%s}", was ? "true" : "false");
	front_set_str(&req->fl.before, b);
	snprintf(b, sizeof(b), "{\"enabled\":%s}", on ? "true" : "false");
	front_set_str(&req->fl.after, b);
}

/* The change is on record and in force here; the caller answers. */
static void
front_sso_changed(void *arg, int rv, const struct store_sso_done *d)
{
	struct front_req	*req = arg;
	front_sso_done_cb	*cb = req->sso_cb;
	size_t			 i;
	char			 det[128];

	/* In force here at once, whether or not the client still waits. */
	if (rv == BK_OK && (i = front_sso_idx(req->f, req->t)) != (size_t)-1)
		front_sso_keep(req->f->sso, i, &d->now);
	if (!req->replied && rv != BK_OK) {
		/* Nothing changed: the script did not run, or refused. */
		front_audit(req, "sso_set", BK_E_SSO_STORE, bk_err_slug(rv));
		rv = BK_E_SSO_STORE;
	} else if (!req->replied) {
		snprintf(det, sizeof(det), d->now.on ? "on" : "off: %lld "
		    "sessions and %lld tokens ended%s", d->sessions, d->tokens,
		    d->partial ? " (count short: the sweep broke off)" : "");
		front_audit(req, "sso_set", BK_OK, det);
	}
	if (!req->replied)
		cb(req, rv, rv == BK_OK ? d : NULL);
	front_req_unref(req);
}

void
front_sso_change(struct front_req *req, int on, front_sso_done_cb *cb)
{
	front_sso_change_note(req, front_sso_in_force(req->f, req->t), on);
	req->sso_cb = cb;
	front_req_ref(req);
	store_sso_set(front_req_store(req), req->t->id, on,
	    req->fl.credential != NULL ? req->fl.credential :
	    ADMIN_CRED_OPERATOR, time(NULL), front_sso_changed, req);
}

/* The admin route's answer: the switch as it is now, and what ended. */
static void
front_sso_set_cb(struct front_req *req, int rv,
    const struct store_sso_done *d)
{
	json_t	*o;
	int	 on;

	if (rv != BK_OK)
		front_admin_error(req, rv, NULL);
	else {
		on = d->now.on;
		o = front_sso_reply_json(req);
		if (o != NULL && !on)
			json_object_set_new(o, "ended", json_pack("{s:I, s:I, "
			    "s:b}", "sessions", (json_int_t)d->sessions,
			    "tokens", (json_int_t)d->tokens,
			    "complete", !d->partial));
		front_reply_json(req, o != NULL ? 200 : 500, o);
	}
}

void
front_sso_put(struct front_req *req)
{
	const char	*why;
	int		 rv, on = 0;

	if ((rv = front_sso_body(req, &on, &why)) != BK_OK) {
		front_audit(req, "sso_set", rv, why);
		front_admin_error(req, rv, why);
		return;
	}
	front_sso_change(req, on, front_sso_set_cb);
}
