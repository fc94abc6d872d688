/*
 * sso-broker: the admin's reads of the audit (GET /api/v1/audit and
 * /api/v1/audit/export): the filters, who may read, the record of every
 * read, and the query of the shared streams.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * By default a read answers from the Redis streams, where every broker
 * of the fleet writes (store_audit.h); source=file reads this broker's
 * own file and its rotated siblings in a thread (front_audit.c).  A query
 * is one page, newest first: at most `limit` records and at most
 * FRONT_AUDIT_BUDGET entries examined, then a cursor for the next page,
 * so no query holds the worker or Redis for long.  An export streams
 * every match, oldest first, page after page, waiting while the client's
 * buffer is full.  Every read, answered or not, leaves an audit_read
 * record naming the credential, the filters and the count.
 * Trust: the query string is the admin's (untrusted: every name and
 * value is checked; an unknown name is an error, never ignored); records
 * from Redis are untrusted and parsed by audit_query_match().
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "audit_query.h"
#include "audit_syslog.h"
#include "front_int.h"
#include "log.h"
#include "store_audit.h"

#define FRONT_AUDIT_LIMIT	100	/* a query's page by default */
#define FRONT_AUDIT_LIMIT_MAX	1000
#define FRONT_AUDIT_EXPORT_MAX	100000000
/* Entries a query page examines at most (about 0.3 s of work). */
#define FRONT_AUDIT_BUDGET	50000
/* An export reads pages of this many records. */
#define FRONT_AUDIT_EXPORT_PAGE	500
/* An export waits while the client has this much unread. */
#define FRONT_AUDIT_HIGH_WATER	(1024 * 1024)
#define FRONT_AUDIT_WAIT_MS	20
/*
 * A stream entry's ID is Redis' clock when the record arrived, the
 * record's time the broker's when it was written: the ID range is
 * widened by this much and the record's own time decides.
 */
#define FRONT_AUDIT_SKEW_MS	5000
#define FRONT_AUDIT_OUT_MAX	(80 * 1024 * 1024)

/* Query parameters, in the order the audit_read record lists them. */
static const char *const front_audit_names[] = {
	"tenant", "user", "event", "outcome", "reason", "request_id",
	"assertion_id", "client", "since", "until", "limit", "cursor",
	"source"
};
/* the first 8 are the strings of struct audit_query */
#define FRONT_AUDIT_NSTR	8

struct front_audit_rd {
	struct front_req	*req;
	int			 export, file;
	struct audit_query	 q;
	const char		*v[BK_NELEM(front_audit_names)];
	const char		*cursor;
	size_t			 limit, count, examined;
	const char		**tenants;
	size_t			 n_tenants;
	struct bk_buf		 out;	/* query: the records, with commas */
	struct evbuffer		*chunk;	/* export: the page being read */
	struct event		*wait;
	int			 started;
	char			*filters;
	char			*next;	/* export: the next page's cursor */
};

int
front_audit_access(struct front_req *req)
{
	/*
	 * The audit names users and their addresses: only an auditor (of
	 * its tenants, front_audit_scope()) or an operator may read it.
	 * The admin router has checked the route's roles already; this is
	 * the same rule where the handlers start.
	 */
	if (!front_admin_allows(req->cred, ADMIN_ROLE_AUDITOR, NULL))
		return BK_E_AUDIT_FORBIDDEN;
	return BK_OK;
}

int
front_audit_read_note(struct front_req *req, const char *what,
    const char *filters, long long count, int rv)
{
	struct bk_buf	 b;
	int		 wrv;

	bk_buf_init(&b, 8192);
	if (bk_buf_addf(&b, "%s%s%s", what, filters != NULL &&
	    *filters != '\0' ? " " : "", filters != NULL ? filters : "") !=
	    BK_OK || (count >= 0 && bk_buf_addf(&b, " count=%lld", count) !=
	    BK_OK))
		bk_buf_adds(&b, " (detail cut)");
	wrv = front_audit(req, "audit_read", rv, b.data != NULL ? b.data :
	    what);
	bk_buf_free(&b);
	return wrv;
}

static void
front_audit_rd_free(struct front_audit_rd *rd)
{
	if (rd == NULL)
		return;
	audit_query_cleanup(&rd->q);
	bk_buf_free(&rd->out);
	if (rd->chunk != NULL)
		evbuffer_free(rd->chunk);
	if (rd->wait != NULL)
		event_free(rd->wait);
	free(rd->tenants);
	free(rd->filters);
	free(rd->next);
	free(rd);
}

/* Each name known, given once, not empty.  BK_E_AUDIT_FILTER with why. */
static int
front_audit_names_check(struct front_audit_rd *rd, char *why, size_t wl)
{
	const struct front_params *p = &rd->req->q;
	size_t	 i, k;

	for (i = 0; i < p->n; i++) {
		for (k = 0; k < BK_NELEM(front_audit_names); k++)
			if (strcmp(p->v[i].name, front_audit_names[k]) == 0)
				break;
		if (k == BK_NELEM(front_audit_names)) {
			snprintf(why, wl, "unknown filter '%.64s' (known: "
			    "tenant, user, event, outcome, reason, request_id,"
			    " assertion_id, client, since, until, limit, "
			    "cursor, source)", p->v[i].name);
			return BK_E_AUDIT_FILTER;
		}
		if (rd->v[k] != NULL) {
			snprintf(why, wl, "%s given twice", p->v[i].name);
			return BK_E_AUDIT_FILTER;
		}
		if (p->v[i].value == NULL || p->v[i].value[0] == '\0' ||
		    !bk_str_is_printable(p->v[i].value)) {
			snprintf(why, wl, "%s: empty or not printable",
			    p->v[i].name);
			return BK_E_AUDIT_FILTER;
		}
		rd->v[k] = p->v[i].value;
	}
	return BK_OK;
}

static int front_audit_bad(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
front_audit_bad(char *why, size_t wl, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, wl, fmt, ap);
	va_end(ap);
	return BK_E_AUDIT_FILTER;
}

/* The values: each checked for its kind.  BK_E_AUDIT_FILTER with why. */
static int
front_audit_values_check(struct front_audit_rd *rd, char *why, size_t wl)
{
	const char	*w, *const *v = rd->v;
	long long	 n, max = rd->export ? FRONT_AUDIT_EXPORT_MAX :
			    FRONT_AUDIT_LIMIT_MAX;

	/* a tenant id names a stream key: [a-z0-9][a-z0-9-]{0,62}, _broker */
	if (v[0] != NULL && strcmp(v[0], STORE_AUDIT_BROKER) != 0 &&
	    (v[0][0] == '-' || strlen(v[0]) > 63 || strspn(v[0],
	    "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(v[0])))
		return front_audit_bad(why, wl, "tenant: a tenant id, or %s "
		    "for the records without one", STORE_AUDIT_BROKER);
	if (v[3] != NULL && strcmp(v[3], "accepted") != 0 &&
	    strcmp(v[3], "rejected") != 0)
		return front_audit_bad(why, wl, "outcome: accepted or "
		    "rejected");
	if (v[8] != NULL && audit_query_time_parse(v[8], 0, &rd->q.since_ms,
	    &w) != BK_OK)
		return front_audit_bad(why, wl, "since: %s", w);
	if (v[9] != NULL && audit_query_time_parse(v[9], 1, &rd->q.until_ms,
	    &w) != BK_OK)
		return front_audit_bad(why, wl, "until: %s", w);
	if (v[8] != NULL && v[9] != NULL && rd->q.since_ms > rd->q.until_ms)
		return front_audit_bad(why, wl, "since is after until");
	if (v[12] != NULL && strcmp(v[12], "stream") != 0 &&
	    strcmp(v[12], "file") != 0)
		return front_audit_bad(why, wl, "source: stream (every "
		    "broker's records, the default) or file (this broker's "
		    "files)");
	rd->file = v[12] != NULL && strcmp(v[12], "file") == 0;
	rd->limit = rd->export ? 0 : FRONT_AUDIT_LIMIT;
	if (v[10] != NULL) {
		if (bk_strtonum(v[10], 1, max, &n, &w) != BK_OK)
			return front_audit_bad(why, wl, "limit: 1 to %lld",
			    max);
		rd->limit = (size_t)n;
	}
	if ((rd->cursor = v[11]) != NULL && rd->export)
		return front_audit_bad(why, wl, "cursor: for a query, not an "
		    "export");
	if (rd->cursor != NULL && !(rd->file ?
	    audit_file_cursor_is_valid(rd->cursor) :
	    store_audit_cursor_is_valid(rd->cursor)))
		return front_audit_bad(why, wl, "cursor: not one a %s query "
		    "gave", rd->file ? "file" : "stream");
	return BK_OK;
}

/* The filters as the audit_read record lists them: "name=value ...". */
static int
front_audit_filters_build(struct front_audit_rd *rd)
{
	struct bk_buf	 b;
	size_t		 k;
	int		 rv;

	bk_buf_init(&b, 4096);
	rv = bk_buf_addf(&b, "source=%s", rd->file ? "file" : "stream");
	for (k = 0; rv == BK_OK && k < BK_NELEM(front_audit_names); k++)
		if (rd->v[k] != NULL && k != 12)
			rv = bk_buf_addf(&b, " %s=%.200s",
			    front_audit_names[k], rd->v[k]);
	if (rv == BK_OK && (rd->filters = bk_buf_take(&b)) == NULL)
		rv = BK_E_NOMEM;
	if (rv != BK_OK)
		bk_buf_free(&b);
	return rv;
}

/*
 * A scoped auditor reads its tenants' records only: a tenant filter must
 * name one of them (else 403); without one, the streams read are its
 * tenants' (front_audit_tenants()), and a file read, which filters on
 * one tenant, takes its only tenant or needs one named.
 */
static int
front_audit_scope(struct front_audit_rd *rd, char *why, size_t wl)
{
	const struct admin_cred	*c = rd->req->cred;

	if (c == NULL || c->role == ADMIN_ROLE_OPERATOR)
		return BK_OK;
	if (rd->v[0] != NULL) {
		if (front_admin_allows_id(c, ADMIN_ROLE_AUDITOR, rd->v[0]))
			return BK_OK;
		snprintf(why, wl, "credential '%s' may not read the audit of "
		    "tenant '%.64s'", c->name, rd->v[0]);
		return BK_E_ADMIN_FORBIDDEN;
	}
	if (!rd->file)
		return BK_OK;
	if (c->n_tenants != 1) {
		snprintf(why, wl, "source=file: name one of credential "
		    "'%s''s tenants (tenant=ID)", c->name);
		return BK_E_AUDIT_FILTER;
	}
	rd->v[0] = c->tenants[0];
	return BK_OK;
}

static int
front_audit_parse(struct front_audit_rd *rd, char *why, size_t wl)
{
	int	 rv;

	if ((rv = front_audit_names_check(rd, why, wl)) != BK_OK ||
	    (rv = front_audit_values_check(rd, why, wl)) != BK_OK ||
	    (rv = front_audit_scope(rd, why, wl)) != BK_OK)
		return rv;
	rd->q.tenant = rd->v[0];
	rd->q.user = rd->v[1];
	rd->q.event = rd->v[2];
	rd->q.outcome = rd->v[3];
	rd->q.reason = rd->v[4];
	rd->q.request_id = rd->v[5];
	rd->q.assertion_id = rd->v[6];
	rd->q.client = rd->v[7];
	if ((rv = audit_query_compile(&rd->q)) != BK_OK)
		return rv;
	return front_audit_filters_build(rd);
}

/* --- the shared copies of a record --- */

/*
 * v as the record holds it, when that is certain: printable ASCII within
 * cap bytes (audit.c's cap for the field) is written unchanged.  NULL and
 * *plain cleared otherwise.
 */
static const char *
front_audit_plain(const char *v, size_t cap, int *plain)
{
	size_t	 i;

	for (i = 0; v != NULL && v[i] != '\0'; i++)
		if (v[i] < 0x20 || v[i] > 0x7e || i + 1 >= cap) {
			*plain = 0;
			return NULL;
		}
	return v;
}

void
front_audit_share(struct front_req *req, const struct audit_rec *r,
    const char *line)
{
	struct store_audit_meta	 m;
	struct audit_head	 h;
	const char		*tenant = req->t != NULL ? req->t->id : NULL;
	int			 plain = 1;

	memset(&m, 0, sizeof(m));
	m.user = front_audit_plain(r->user, 512, &plain);
	m.request_id = front_audit_plain(r->request_id, 64, &plain);
	m.assertion_id = front_audit_plain(r->assertion_id, 256, &plain);
	/*
	 * The head as it is now: this record's, or a later one's (another
	 * worker wrote since), a true pair of the chain either way.
	 */
	if (plain && audit_head_get(req->f->audit, &h) == BK_OK) {
		m.chain = h.chain;
		m.hash = h.hash;
		m.seq = h.seq;
		store_audit_append_meta(store_map_id(req->f->stores, tenant),
		    tenant, line, &m);
	} else	/* a value the writer changed: read the record itself */
		store_audit_append(store_map_id(req->f->stores, tenant),
		    tenant, line);
	audit_syslog_send(req->f->conf->audit_syslog, r->event,
	    r->outcome != NULL && strcmp(r->outcome, "accepted") == 0, line,
	    strlen(line));
}

/* --- the streams --- */

static void	front_audit_page(struct front_audit_rd *);

static void
front_audit_rd_end(struct front_audit_rd *rd)
{
	struct front_req	*req = rd->req;

	front_audit_rd_free(rd);
	front_req_unref(req);
}

static int
front_audit_match_cb(const char *line, size_t len, void *arg)
{
	struct front_audit_rd	*rd = arg;

	return audit_query_match(&rd->q, line, len);
}

static int
front_audit_query_emit(const char *line, size_t len, void *arg)
{
	struct front_audit_rd	*rd = arg;

	if ((rd->count > 0 && bk_buf_add(&rd->out, ",", 1) != BK_OK) ||
	    bk_buf_add(&rd->out, line, len) != BK_OK)
		return -1;
	rd->count++;
	return 0;
}

/* The page's answer, once its read is on record. */
static void
front_audit_query_done(int rv, const char *next, size_t examined, void *arg)
{
	struct front_audit_rd	*rd = arg;
	struct front_req	*req = rd->req;
	struct bk_buf		 b;

	rd->examined += examined;
	if (rv != BK_OK) {
		front_audit_read_note(req, "query", rd->filters, -1, rv);
		front_admin_error(req, rv == BK_E_INVAL ? BK_E_AUDIT_CURSOR :
		    rv == BK_E_IO ? BK_E_TOOBIG : rv, NULL);
		goto out;
	}
	if (front_audit_read_note(req, "query", rd->filters,
	    (long long)rd->count, BK_OK) != BK_OK) {
		front_admin_error(req, BK_E_AUDIT_WRITE, "this read could not "
		    "be recorded in the audit");
		goto out;
	}
	bk_buf_init(&b, FRONT_AUDIT_OUT_MAX + 1024);
	/* cursors are [0-9a-z_:-]: no JSON escaping needed */
	if (bk_buf_adds(&b, "{\"records\":[") != BK_OK ||
	    (rd->out.len > 0 && bk_buf_add(&b, rd->out.data, rd->out.len) !=
	    BK_OK) ||
	    bk_buf_addf(&b, "],\"next\":%s%s%s,\"truncated\":%s,\"source\":"
	    "\"stream\",\"examined\":%zu}", next ? "\"" : "",
	    next ? next : "null", next ? "\"" : "", next ? "true" : "false",
	    rd->examined) != BK_OK)
		front_admin_error(req, BK_E_NOMEM, NULL);
	else
		front_reply(req, 200, "application/json", b.data, b.len);
	bk_buf_free(&b);
 out:
	front_audit_rd_end(rd);
}

static int
front_audit_export_emit(const char *line, size_t len, void *arg)
{
	struct front_audit_rd	*rd = arg;

	if (evbuffer_add(rd->chunk, line, len) != 0 ||
	    evbuffer_add(rd->chunk, "\n", 1) != 0)
		return -1;
	rd->count++;
	return 0;
}

/* Bytes the client has not taken yet. */
static size_t
front_audit_unsent(struct front_req *req)
{
	struct evhttp_connection	*evcon;
	struct bufferevent		*bev;

	if (req->ev == NULL ||
	    (evcon = evhttp_request_get_connection(req->ev)) == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(bev));
}

/* The export ends: on record, then the last chunk. */
static void
front_audit_export_end(struct front_audit_rd *rd, int rv)
{
	struct front_req	*req = rd->req;

	(void)front_audit_read_note(req, "export", rd->filters,
	    (long long)rd->count, rv);
	if (rv != BK_OK)
		log_req(LOG_L_WARN, req->id, rv, "audit export cut short "
		    "after %zu records", rd->count);
	front_reply_end(req);
	front_audit_rd_end(rd);
}

static void
front_audit_next(struct front_audit_rd *rd)
{
	struct timeval	 tv = { 0, FRONT_AUDIT_WAIT_MS * 1000 };

	if (rd->req->ev == NULL || rd->req->replied) {
		front_audit_export_end(rd, BK_E_IO);	/* the client left */
		return;
	}
	if (front_audit_unsent(rd->req) > FRONT_AUDIT_HIGH_WATER) {
		evtimer_add(rd->wait, &tv);
		return;
	}
	front_audit_page(rd);
}

static void
front_audit_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	front_audit_next(arg);
}

static void
front_audit_export_done(int rv, const char *next, size_t examined,
    void *arg)
{
	struct front_audit_rd	*rd = arg;
	struct front_req	*req = rd->req;

	rd->examined += examined;
	if (rv != BK_OK && !rd->started) {
		(void)front_audit_read_note(req, "export", rd->filters, -1, rv);
		front_admin_error(req, rv, NULL);
		front_audit_rd_end(rd);
		return;
	}
	if (rv == BK_OK && !rd->started && req->ev != NULL) {
		if (front_reply_start(req, 200, "application/x-ndjson") !=
		    BK_OK)
			rv = BK_E_IO;
		rd->started = 1;
	}
	if (rv == BK_OK && evbuffer_get_length(rd->chunk) > 0 &&
	    front_reply_chunk(req, rd->chunk) != BK_OK)
		rv = BK_E_IO;
	if (rv != BK_OK || next == NULL ||
	    (rd->limit > 0 && rd->count >= rd->limit)) {
		front_audit_export_end(rd, rv);
		return;
	}
	free(rd->next);
	if ((rd->next = bk_strdup(next)) == NULL) {
		front_audit_export_end(rd, BK_E_NOMEM);
		return;
	}
	rd->cursor = rd->next;
	front_audit_next(rd);
}

/* One page from the streams, through the most selective index. */
static void
front_audit_page(struct front_audit_rd *rd)
{
	struct store_audit_q	 sq;
	size_t			 left = rd->limit > 0 ? rd->limit - rd->count :
				    FRONT_AUDIT_EXPORT_PAGE;
	long long		 keep;

	memset(&sq, 0, sizeof(sq));
	sq.tenants = rd->tenants;
	sq.n_tenants = rd->n_tenants;
	sq.idx = STORE_AUDIT_IDX_NONE;
	if ((sq.idx_val = rd->q.request_id) != NULL)
		sq.idx = STORE_AUDIT_IDX_REQUEST;
	else if ((sq.idx_val = rd->q.assertion_id) != NULL)
		sq.idx = STORE_AUDIT_IDX_ASSERTION;
	else if ((sq.idx_val = rd->q.user) != NULL)
		sq.idx = STORE_AUDIT_IDX_USER;
	if (rd->q.since_ms > 0)
		sq.since_ms = rd->q.since_ms > FRONT_AUDIT_SKEW_MS ?
		    rd->q.since_ms - FRONT_AUDIT_SKEW_MS : 1;
	/*
	 * Entries past [audit] stream_retention wait for the next append's
	 * trim (which removes whole stream nodes only): never answer them.
	 */
	keep = (long long)time(NULL) * 1000 -
	    (long long)rd->req->f->conf->audit_stream_retention * 86400000;
	if (sq.since_ms < keep)
		sq.since_ms = keep;
	if (rd->q.until_ms > 0)
		sq.until_ms = rd->q.until_ms + FRONT_AUDIT_SKEW_MS;
	sq.before = rd->cursor;
	sq.oldest_first = rd->export;
	sq.limit = rd->export && left > FRONT_AUDIT_EXPORT_PAGE ?
	    FRONT_AUDIT_EXPORT_PAGE : left;
	sq.budget = FRONT_AUDIT_BUDGET;
	sq.match = front_audit_match_cb;
	sq.emit = rd->export ? front_audit_export_emit : front_audit_query_emit;
	sq.done = rd->export ? front_audit_export_done : front_audit_query_done;
	sq.arg = rd;
	sq.stores = rd->req->f->stores;
	store_audit_query(rd->req->f->store_default, &sq);
}

/* The streams to read: the tenant's, or every tenant's and the rest. */
static int
front_audit_tenants(struct front_audit_rd *rd)
{
	const struct conf	*c = rd->req->f->conf;
	size_t			 i;

	if ((rd->tenants = calloc(c->n_tenants + 1, sizeof(char *))) == NULL)
		return BK_E_NOMEM;
	if (rd->q.tenant != NULL) {
		rd->tenants[rd->n_tenants++] = rd->q.tenant;
		return BK_OK;
	}
	for (i = 0; i < c->n_tenants; i++)
		if (front_admin_allows_id(rd->req->cred, ADMIN_ROLE_AUDITOR,
		    c->tenants[i]->id))
			rd->tenants[rd->n_tenants++] = c->tenants[i]->id;
	/* the records without a tenant: the operator's alone */
	if (front_admin_allows_id(rd->req->cred, ADMIN_ROLE_OPERATOR, NULL))
		rd->tenants[rd->n_tenants++] = STORE_AUDIT_BROKER;
	return BK_OK;
}

void
front_audit_read(struct front_req *req, int export)
{
	struct front_audit_rd	*rd;
	const char		*what = export ? "export" : "query";
	char			 why[512];
	int			 rv;

	why[0] = '\0';
	if ((rd = calloc(1, sizeof(*rd))) == NULL) {
		front_admin_error(req, BK_E_NOMEM, NULL);
		return;
	}
	rd->req = req;
	rd->export = export;
	bk_buf_init(&rd->out, FRONT_AUDIT_OUT_MAX);
	if ((rv = front_audit_access(req)) != BK_OK ||
	    (rv = front_audit_parse(rd, why, sizeof(why))) != BK_OK ||
	    (rv = front_audit_tenants(rd)) != BK_OK) {
		(void)front_audit_read_note(req, what, why, -1, rv);
		front_admin_error(req, rv, why[0] != '\0' ? why : NULL);
		front_audit_rd_free(rd);
		return;
	}
	/* A read that cannot be put on record is not done (fail closed). */
	if (!audit_is_ready(req->f->audit)) {
		front_admin_error(req, BK_E_AUDIT_WRITE, "this read could not "
		    "be recorded in the audit");
		front_audit_rd_free(rd);
		return;
	}
	if (rd->file) {
		front_audit_files_job(req, export, &rd->q, rd->cursor,
		    rd->limit, rd->filters);
		front_audit_rd_free(rd);
		return;
	}
	if (export && ((rd->chunk = evbuffer_new()) == NULL ||
	    (rd->wait = evtimer_new(req->f->base, front_audit_wait_cb, rd)) ==
	    NULL)) {
		front_admin_error(req, BK_E_NOMEM, NULL);
		front_audit_rd_free(rd);
		return;
	}
	front_req_ref(req);	/* held until the last page is answered */
	front_audit_page(rd);
}

/* --- the files --- */

/*
 * A file read's state, shared by the thread (which fills count and rv)
 * and the loop (which records the read): two references.
 */
struct front_audit_fjob {
	int			 refs;
	int			 export;
	struct audit_query	 q;
	char			*s[FRONT_AUDIT_NSTR];
	char			*path, *cursor, *filters;
	size_t			 limit, count;
	int			 rv;
	FILE			*out;
};

static void
front_audit_fjob_release(void *arg)
{
	struct front_audit_fjob	*fj = arg;
	size_t			 i;

	if (__atomic_sub_fetch(&fj->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (i = 0; i < BK_NELEM(fj->s); i++)
		free(fj->s[i]);
	audit_query_cleanup(&fj->q);
	free(fj->path);
	free(fj->cursor);
	free(fj->filters);
	free(fj);
}

static int
front_audit_file_emit(const char *line, size_t len, void *arg)
{
	struct front_audit_fjob	*fj = arg;

	if ((!fj->export && fj->count > 0 && fputc(',', fj->out) == EOF) ||
	    fwrite(line, 1, len, fj->out) != len ||
	    (fj->export && fputc('\n', fj->out) == EOF))
		return -1;
	fj->count++;
	return 0;
}

/* In the thread: the scan, written as the answer. */
static void
front_audit_file_run(FILE *out, void *arg)
{
	struct front_audit_fjob	*fj = arg;
	char			 next[AUDIT_FILE_CURSOR_MAX];
	int			 rv;

	fj->out = out;
	if (!fj->export)
		fputs("{\"records\":[", out);
	rv = audit_files_scan(fj->path, &fj->q, !fj->export, fj->cursor,
	    fj->limit, front_audit_file_emit, fj, next);
	/* a file cursor is hex, '.' and digits: no escaping needed */
	if (!fj->export)
		fprintf(out, "],\"next\":%s%s%s,\"truncated\":%s,\"source\":"
		    "\"file\"%s%s%s}\n", next[0] ? "\"" : "", next[0] ? next :
		    "null", next[0] ? "\"" : "", next[0] ? "true" : "false",
		    rv == BK_OK ? "" : ",\"error\":\"", rv == BK_OK ? "" :
		    bk_err_slug(rv == BK_E_INVAL ? BK_E_AUDIT_CURSOR : rv),
		    rv == BK_OK ? "" : "\"");
	__atomic_store_n(&fj->rv, rv, __ATOMIC_RELEASE);
}

/* On the loop, at the end: the read goes on record. */
static void
front_audit_file_end(struct front_req *req, void *arg)
{
	struct front_audit_fjob	*fj = arg;
	int			 rv;

	rv = __atomic_load_n(&fj->rv, __ATOMIC_ACQUIRE);
	(void)front_audit_read_note(req, fj->export ? "export" : "query",
	    fj->filters, (long long)__atomic_load_n(&fj->count,
	    __ATOMIC_ACQUIRE), rv);
}

static char *
front_audit_dupn(const char *s)
{
	return s != NULL ? bk_strdup(s) : NULL;
}

void
front_audit_files_job(struct front_req *req, int export,
    const struct audit_query *q, const char *cursor, size_t limit,
    const char *filters)
{
	struct front_audit_fjob	*fj;

	if ((fj = calloc(1, sizeof(*fj))) == NULL) {
		front_admin_error(req, BK_E_NOMEM, NULL);
		return;
	}
	fj->refs = 2;
	fj->export = export;
	fj->limit = limit;
	fj->q = *q;
	fj->q.tenant = fj->s[0] = front_audit_dupn(q->tenant);
	fj->q.user = fj->s[1] = front_audit_dupn(q->user);
	fj->q.event = fj->s[2] = front_audit_dupn(q->event);
	fj->q.outcome = fj->s[3] = front_audit_dupn(q->outcome);
	fj->q.reason = fj->s[4] = front_audit_dupn(q->reason);
	fj->q.request_id = fj->s[5] = front_audit_dupn(q->request_id);
	fj->q.assertion_id = fj->s[6] = front_audit_dupn(q->assertion_id);
	fj->q.client = fj->s[7] = front_audit_dupn(q->client);
	fj->q.n_need = 0;	/* its own needles, over its own strings */
	fj->path = front_audit_dupn(req->f->conf->audit_path);
	fj->cursor = front_audit_dupn(cursor);
	fj->filters = front_audit_dupn(filters);
	if (fj->path == NULL || audit_query_compile(&fj->q) != BK_OK ||
	    front_audit_pipe_start(req, export ?
	    "application/x-ndjson" : "application/json", front_audit_file_run,
	    front_audit_file_end, front_audit_fjob_release, fj) != BK_OK) {
		fj->refs = 1;
		front_audit_fjob_release(fj);
		front_admin_error(req, BK_E_NOMEM, NULL);
	}
}
