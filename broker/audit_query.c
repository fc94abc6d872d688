/*
 * sso-broker: audit queries (audit_query.h): the filter and the scan of
 * the local audit files, rotated ones included.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A query over the files answers newest first, but a file is read
 * forwards: the scan keeps the last `limit` matches in a ring and gives
 * them at the end, newest first.  The next page starts at the cursor
 * (the chain and seq of the oldest record given), which names one record
 * for good even when the file grows or is rotated between two pages.
 * Trust: the files and every record are untrusted: each line is parsed
 * by jansson, a line that does not parse or is too long is skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "audit_query.h"
#include "bk.h"
#include "log.h"
#include "mon.h"

/* Longer lines are not records the broker wrote (audit.c caps them). */
#define AUDIT_QUERY_LINE_MAX	(64 * 1024)
/* The ring of a newest-first scan holds at most this many records. */
#define AUDIT_QUERY_RING_MAX	10000

/* "+HH:MM" or "-HH:MM" into seconds east of UTC.  -1 when malformed. */
static long
audit_query_offset(const char *s)
{
	long	 h, m;

	if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':' ||
	    strspn(s + 1, "0123456789") != 2 ||
	    strspn(s + 4, "0123456789") != 2)
		return -1;
	h = (s[1] - '0') * 10 + (s[2] - '0');
	m = (s[4] - '0') * 10 + (s[5] - '0');
	if (h > 23 || m > 59)
		return -1;
	return (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
}

/* The date part really is a date (strptime takes 02-31; timegm moves it). */
static int
audit_query_date_check(const struct tm *want, time_t t)
{
	struct tm	 got;

	if (gmtime_r(&t, &got) == NULL)
		return BK_E_INVAL;
	return got.tm_year == want->tm_year && got.tm_mon == want->tm_mon &&
	    got.tm_mday == want->tm_mday ? BK_OK : BK_E_INVAL;
}

/* "HH:MM:SS[.frac](Z|+HH:MM|-HH:MM|)" after the date. */
static int
audit_query_clock_parse(const char *s, struct tm *tm, long *frac_ms,
    int *has_frac, long *off)
{
	const char	*end;
	size_t		 n;

	*frac_ms = 0;
	*has_frac = 0;
	*off = 0;
	if ((end = strptime(s, "%H:%M:%S", tm)) == NULL)
		return BK_E_INVAL;
	if (*end == '.') {
		if ((n = strspn(end + 1, "0123456789")) == 0 || n > 9)
			return BK_E_INVAL;
		*frac_ms = (end[1] - '0') * 100 + (n > 1 ? (end[2] - '0') * 10 :
		    0) + (n > 2 ? end[3] - '0' : 0);
		*has_frac = 1;
		end += 1 + n;
	}
	if ((*end == 'Z' || *end == 'z') && end[1] == '\0')
		return BK_OK;
	if (*end == '\0')	/* no offset: UTC, as before */
		return BK_OK;
	/* offsets are whole minutes, so -1 is free to mean "malformed" */
	return (*off = audit_query_offset(end)) == -1 ? BK_E_INVAL : BK_OK;
}

int
audit_query_time_parse(const char *s, int until, long long *ms,
    const char **why)
{
	struct tm	 tm, asked;
	const char	*end, *w;
	long long	 v;
	long		 frac, off;
	int		 has_frac;
	time_t		 t;

	*ms = 0;
	*why = "an RFC 3339 time (2026-12-03T08:00:00Z), a date "
	    "(2026-12-03) or epoch seconds";
	if (bk_strtonum(s, 0, 1LL << 40, &v, &w) == BK_OK) {
		*ms = v * 1000 + (until ? 999 : 0);
		return BK_OK;
	}
	memset(&tm, 0, sizeof(tm));
	if (strspn(s, "0123456789") != 4 ||
	    (end = strptime(s, "%Y-%m-%d", &tm)) == NULL || end - s != 10)
		return BK_E_INVAL;
	asked = tm;
	if (*end == '\0') {
		t = timegm(&tm);
		if (audit_query_date_check(&asked, t) != BK_OK)
			return BK_E_INVAL;
		*ms = (long long)t * 1000 + (until ? 86400000 - 1 : 0);
		return BK_OK;
	}
	if ((*end != 'T' && *end != 't') ||
	    audit_query_clock_parse(end + 1, &tm, &frac, &has_frac, &off) !=
	    BK_OK)
		return BK_E_INVAL;
	t = timegm(&tm);
	if (audit_query_date_check(&asked, t) != BK_OK)
		return BK_E_INVAL;
	*ms = ((long long)t - off) * 1000 + frac +
	    (until && !has_frac ? 999 : 0);
	return BK_OK;
}

static int
audit_query_field(json_t *o, const char *k, const char *want, int nocase)
{
	const char	*v;

	if (want == NULL)
		return 1;
	if ((v = json_string_value(json_object_get(o, k))) == NULL)
		return 0;
	return nocase ? strcasecmp(v, want) == 0 : strcmp(v, want) == 0;
}

static int
audit_query_match_obj(const struct audit_query *q, json_t *o)
{
	const char	*ts, *why;
	long long	 t;

	if (q->tenant != NULL &&
	    strcmp(q->tenant, AUDIT_QUERY_NO_TENANT) == 0) {
		if (json_object_get(o, "tenant") != NULL)
			return 0;
	} else if (!audit_query_field(o, "tenant", q->tenant, 0))
		return 0;
	if (!audit_query_field(o, "user", q->user, 1) ||
	    !audit_query_field(o, "event", q->event, 0) ||
	    !audit_query_field(o, "outcome", q->outcome, 0) ||
	    !audit_query_field(o, "reason", q->reason, 0) ||
	    !audit_query_field(o, "request_id", q->request_id, 0) ||
	    !audit_query_field(o, "assertion_id", q->assertion_id, 0) ||
	    !audit_query_field(o, "client_addr", q->client, 0))
		return 0;
	if (q->since_ms == 0 && q->until_ms == 0)
		return 1;
	if ((ts = json_string_value(json_object_get(o, "time"))) == NULL ||
	    audit_query_time_parse(ts, 0, &t, &why) != BK_OK)
		return 0;
	return (q->since_ms == 0 || t >= q->since_ms) &&
	    (q->until_ms == 0 || t <= q->until_ms);
}

static int
audit_query_need_add(struct audit_query *q, const char *k, const char *v)
{
	json_t		*s;
	char		*enc;
	struct bk_buf	 b;
	int		 rv;

	if (v == NULL)
		return BK_OK;
	if ((s = json_string(v)) == NULL)
		return BK_OK;	/* not UTF-8: the full match decides */
	enc = json_dumps(s, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(s);
	if (enc == NULL)
		return BK_E_NOMEM;
	bk_buf_init(&b, 8192);
	rv = bk_buf_addf(&b, "\"%s\":%s", k, enc);
	free(enc);
	if (rv != BK_OK || (q->need[q->n_need] = bk_buf_take(&b)) == NULL) {
		bk_buf_free(&b);
		return BK_E_NOMEM;
	}
	q->n_need++;
	return BK_OK;
}

int
audit_query_compile(struct audit_query *q)
{
	int	 rv = BK_OK;

	q->n_need = 0;
	/* the user compares case-insensitively: no needle */
	if (q->tenant != NULL && strcmp(q->tenant, AUDIT_QUERY_NO_TENANT) != 0)
		rv = audit_query_need_add(q, "tenant", q->tenant);
	if (rv == BK_OK)
		rv = audit_query_need_add(q, "event", q->event);
	if (rv == BK_OK)
		rv = audit_query_need_add(q, "outcome", q->outcome);
	if (rv == BK_OK)
		rv = audit_query_need_add(q, "reason", q->reason);
	if (rv == BK_OK)
		rv = audit_query_need_add(q, "request_id", q->request_id);
	if (rv == BK_OK)
		rv = audit_query_need_add(q, "assertion_id", q->assertion_id);
	if (rv == BK_OK)
		rv = audit_query_need_add(q, "client_addr", q->client);
	if (rv != BK_OK)
		audit_query_cleanup(q);
	return rv;
}

void
audit_query_cleanup(struct audit_query *q)
{
	size_t	 i;

	for (i = 0; i < q->n_need; i++)
		free(q->need[i]);
	q->n_need = 0;
}

int
audit_query_match(const struct audit_query *q, const char *line, size_t len)
{
	json_t		*o;
	json_error_t	 err;
	size_t		 i;
	int		 m;

	for (i = 0; i < q->n_need; i++)
		if (memmem(line, len, q->need[i], strlen(q->need[i])) == NULL)
			return 0;
	if ((o = json_loadb(line, len, 0, &err)) == NULL)
		return 0;
	m = json_is_object(o) && audit_query_match_obj(q, o);
	json_decref(o);
	return m;
}

/* --- the files (mon.c lists and opens them) --- */

/* A scan's state across files. */
struct audit_scan_st {
	const struct audit_query *q;
	int		 newest_first;
	const char	*cursor;
	int		 at_cursor;	/* the cursor's record was reached */
	size_t		 limit, matched;
	int		(*emit)(const char *, size_t, void *);
	void		*arg;
	char		 cur_seq[40];	/* '"seq":N' of the cursor */
	/* newest_first: the last `limit` matches, and their cursors */
	char		**ring, **rcur;
	size_t		 head;
};

/* "<chain>.<seq>" of a record, or "" when it has neither. */
static void
audit_rec_cursor(json_t *o, char out[AUDIT_FILE_CURSOR_MAX])
{
	const char	*c = json_string_value(json_object_get(o, "chain"));
	json_t		*s = json_object_get(o, "seq");

	out[0] = '\0';
	if (c != NULL && json_is_integer(s) && strlen(c) < 64)
		snprintf(out, AUDIT_FILE_CURSOR_MAX, "%s.%lld", c,
		    (long long)json_integer_value(s));
}

int
audit_file_cursor_is_valid(const char *s)
{
	const char	*dot = strrchr(s, '.');
	size_t		 cl;

	if (dot == NULL || (cl = (size_t)(dot - s)) == 0 || cl >= 64 ||
	    strspn(s, "0123456789abcdefABCDEF") != cl || dot[1] == '\0')
		return 0;
	return strspn(dot + 1, "0123456789") == strlen(dot + 1) &&
	    strlen(dot + 1) <= 19;
}

/* One line.  BK_OK to go on, BK_E_IO: the reader left; 1: stop here. */
static int
audit_scan_one(struct audit_scan_st *st, const char *line, size_t len)
{
	json_t		*o;
	json_error_t	 err;
	char		 cur[AUDIT_FILE_CURSOR_MAX];
	size_t		 slot;
	int		 rv = BK_OK;

	/* cheap first: a line that cannot match and is not the cursor's */
	for (slot = 0; slot < st->q->n_need; slot++)
		if (memmem(line, len, st->q->need[slot],
		    strlen(st->q->need[slot])) == NULL)
			break;
	if (slot < st->q->n_need && (st->cursor == NULL ||
	    memmem(line, len, st->cur_seq, strlen(st->cur_seq)) == NULL))
		return BK_OK;
	if ((o = json_loadb(line, len, 0, &err)) == NULL)
		return BK_OK;
	audit_rec_cursor(o, cur);
	if (st->cursor != NULL && strcmp(cur, st->cursor) == 0) {
		st->at_cursor = 1;
		rv = 1;		/* every later record is on an earlier page */
	} else if (json_is_object(o) && audit_query_match_obj(st->q, o)) {
		if (!st->newest_first) {
			if (st->emit(line, len, st->arg) != 0)
				rv = BK_E_IO;
			else if (++st->matched == st->limit)
				rv = 1;
		} else {
			slot = st->head++ % st->limit;
			free(st->ring[slot]);
			free(st->rcur[slot]);
			st->ring[slot] = malloc(len + 1);
			st->rcur[slot] = bk_strdup(cur);
			if (st->ring[slot] == NULL || st->rcur[slot] == NULL)
				rv = BK_E_NOMEM;
			else {
				memcpy(st->ring[slot], line, len);
				st->ring[slot][len] = '\0';
				st->matched++;
			}
		}
	}
	json_decref(o);
	return rv;
}

/* Every line of one file; a too long line is skipped whole. */
static int
audit_scan_file(struct audit_scan_st *st, struct mon_file *f, char *buf)
{
	FILE	*fp;
	size_t	 len;
	int	 rv = BK_OK, skip = 0;

	if ((fp = fdopen(f->fd, "r")) == NULL) {
		log_warn("audit query: %s", log_esc(f->path));
		return BK_E_IO;
	}
	f->fd = -1;	/* fclose() closes it */
	while (rv == BK_OK && fgets(buf, AUDIT_QUERY_LINE_MAX + 2, fp)) {
		len = strlen(buf);
		if (len == 0 || buf[len - 1] != '\n') {
			skip = 1;	/* too long, or a half last line */
			continue;
		}
		if (skip) {
			skip = 0;
			continue;
		}
		rv = audit_scan_one(st, buf, len - 1);
	}
	if (rv == BK_OK && ferror(fp))
		rv = BK_E_IO;
	fclose(fp);
	return rv;
}

/* The ring, newest first; next: the oldest one given, if more match. */
static int
audit_scan_ring_emit(struct audit_scan_st *st, char next[AUDIT_FILE_CURSOR_MAX])
{
	size_t	 n = st->matched < st->limit ? st->matched : st->limit, i,
		 slot;

	for (i = 0; i < n; i++) {
		slot = (st->head - 1 - i) % st->limit;
		if (st->emit(st->ring[slot], strlen(st->ring[slot]),
		    st->arg) != 0)
			return BK_E_IO;
		if (i + 1 == n && st->matched > st->limit)
			snprintf(next, AUDIT_FILE_CURSOR_MAX, "%s",
			    st->rcur[slot]);
	}
	return BK_OK;
}

int
audit_files_scan(const char *path, const struct audit_query *q,
    int newest_first, const char *cursor, size_t limit,
    int (*emit)(const char *, size_t, void *), void *arg,
    char next[AUDIT_FILE_CURSOR_MAX])
{
	struct audit_scan_st	 st;
	struct mon_files	 l;
	char			*buf = NULL;
	size_t			 i;
	int			 rv;

	next[0] = '\0';
	memset(&st, 0, sizeof(st));
	if (newest_first && (limit == 0 || limit > AUDIT_QUERY_RING_MAX))
		return BK_E_TOOBIG;
	if ((rv = mon_files_get(path, MON_F_ROTATED | MON_F_CURRENT, &l)) !=
	    BK_OK)
		return rv;
	st.q = q;
	st.newest_first = newest_first;
	st.cursor = cursor;
	if (cursor != NULL)
		snprintf(st.cur_seq, sizeof(st.cur_seq), "\"seq\":%.20s",
		    strrchr(cursor, '.') != NULL ? strrchr(cursor, '.') + 1 :
		    "");
	st.limit = limit;
	st.emit = emit;
	st.arg = arg;
	rv = BK_E_NOMEM;
	if ((buf = malloc(AUDIT_QUERY_LINE_MAX + 2)) == NULL ||
	    (newest_first && ((st.ring = calloc(limit, sizeof(char *))) ==
	    NULL || (st.rcur = calloc(limit, sizeof(char *))) == NULL)))
		goto out;
	rv = BK_OK;
	for (i = 0; rv == BK_OK && i < l.n; i++)
		rv = audit_scan_file(&st, &l.f[i], buf);
	if (rv == 1 || rv == BK_OK)
		rv = cursor != NULL && !st.at_cursor ? BK_E_INVAL : BK_OK;
	if (rv == BK_OK && newest_first)
		rv = audit_scan_ring_emit(&st, next);
 out:
	for (i = 0; st.ring != NULL && i < limit; i++)
		free(st.ring[i]);
	for (i = 0; st.rcur != NULL && i < limit; i++)
		free(st.rcur[i]);
	free(st.ring);
	free(st.rcur);
	free(buf);
	mon_files_free(&l);
	return rv;
}
