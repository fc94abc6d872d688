/*
 * sso-broker test tool: drive broker/hout.c on a libevent loop.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Issues every URL given (each --count times) at once, or one after the
 * other from the callbacks (--serial), through the real module against
 * real servers, and prints one JSON line per result.  A timer of
 * --tick-ms runs meanwhile and records how late each firing is: a loop
 * that never blocks fires it on time, however many transfers are open.
 * --trust / --trust-system load a store first, as the parent would;
 * --alt-ca / --alt-trust give every odd request other trust, so requests
 * of two tenants to one server meet in one process.
 * The last line is a summary: callbacks, owners dropped, holds left,
 * callbacks that came from inside hout_get() (must be 0) and the timer's
 * lateness (p50, p99, max, in ms).  busy_p99 bounds each lateness by the
 * CPU the process used meanwhile: a loop held by its own work uses the
 * CPU while it is late, a process the machine did not schedule does not,
 * so busy_p99 is what this process's loop is to blame for.  --idle-ms N
 * with no URL only runs the timer for N ms: the machine's own noise.  Used by tests/integration/test_hout.py.
 *   hout_get [options] URL...
 * Trust: test-only; secrets on its command line are test values.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "bk.h"
#include "hout.h"
#include "log.h"

/* One request and its owner (what a front request would be). */
struct job {
	int	 i;
	int	 alive;
	int	 refs;
	int	 called;
	int	 dropped;
};

static struct {
	struct event_base	*base;
	struct hout		*h;
	struct hout_req		 req;
	const char		*alt_ca;
	const char		*alt_trust_file;
	struct hout_trust	*trust, *alt_trust;
	const char		*trust_file;
	int			 trust_system;
	int			 post;
	char		       **urls;
	int			 nurls;
	int			 total;
	int			 next;		/* next job to start */
	int			 settled;	/* unref'd for the last time */
	int			 serial;
	int			 show_body;
	int			 in_get;
	int			 reentrant;
	int			 cb_dead;	/* callbacks for a dropped owner */
	struct job		*jobs;
	struct event		*tick;
	long			 tick_ms;
	struct timespec		 armed, armed_cpu;
	struct timespec		 t0;
	long			*late_us, *busy_us;
	size_t			 nlate, late_cap;
	long			 worst_us[5], worst_at[5];	/* for a report */
} D;

static long
us_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000L +
	    (b->tv_nsec - a->tv_nsec) / 1000;
}

static void
tick_arm(void)
{
	struct timeval	 tv = { D.tick_ms / 1000, (D.tick_ms % 1000) * 1000 };

	clock_gettime(CLOCK_MONOTONIC, &D.armed);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &D.armed_cpu);
	evtimer_add(D.tick, &tv);
}

/* The five latest firings, and when (ms from the start) they came. */
static void
worst_keep(long late, long at)
{
	size_t	 i, k = 0;

	for (i = 1; i < BK_NELEM(D.worst_us); i++)
		if (D.worst_us[i] < D.worst_us[k])
			k = i;
	if (late > D.worst_us[k]) {
		D.worst_us[k] = late;
		D.worst_at[k] = at;
	}
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timespec	 now, cpu;
	long		*p, late, used;

	(void)fd;
	(void)what;
	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &now);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	if (D.nlate == D.late_cap) {
		D.late_cap = D.late_cap ? D.late_cap * 2 : 1024;
		if ((p = realloc(D.late_us, D.late_cap * sizeof(*p))) == NULL ||
		    (D.late_us = p, (p = realloc(D.busy_us,
		    D.late_cap * sizeof(*p))) == NULL))
			fatalx("out of memory");
		D.busy_us = p;
	}
	late = us_between(&D.armed, &now) - D.tick_ms * 1000;
	used = us_between(&D.armed_cpu, &cpu);
	D.late_us[D.nlate] = late;
	D.busy_us[D.nlate] = late < used ? late : used;
	worst_keep(D.late_us[D.nlate++], us_between(&D.t0, &now) / 1000);
	tick_arm();
}

static void
job_ref(void *arg)
{
	((struct job *)arg)->refs++;
}

static int	start_next(void);

static void
job_unref(void *arg)
{
	struct job	*j = arg;

	if (--j->refs > 0)
		return;
	if (j->dropped && !j->called)
		printf("{\"i\":%d,\"dropped\":true}\n", j->i);
	if (++D.settled == D.total)
		event_base_loopexit(D.base, NULL);
	else if (D.serial && D.h != NULL)
		start_next();
}

static int
job_alive(void *arg)
{
	return ((struct job *)arg)->alive;
}

static const struct hout_hold job_hold = { job_ref, job_unref, job_alive };

static void
done_cb(void *arg, int rv, const struct hout_res *res)
{
	struct job	*j = arg;
	json_t		*o;
	char		*s;

	if (D.in_get)
		D.reentrant++;
	if (!j->alive)
		D.cb_dead++;
	j->called++;
	o = json_pack("{s:i, s:s, s:i, s:s, s:I, s:I, s:I}", "i", j->i,
	    "url", D.urls[j->i % D.nurls], "rv", rv, "reason",
	    bk_err_slug(rv), "status", (json_int_t)res->status, "len",
	    (json_int_t)res->len, "ms", (json_int_t)res->ms);
	if (o == NULL)
		fatalx("json");
	json_object_set_new(o, "ctype", res->ctype ? json_string(res->ctype) :
	    json_null());
	if (D.show_body)
		json_object_set_new(o, "body",
		    json_stringn(res->body, res->len));
	if ((s = json_dumps(o, JSON_COMPACT)) == NULL)
		fatalx("json");
	printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(o);
}

static int
start_next(void)
{
	struct hout_req	 r = D.req;
	struct job	*j;
	int		 rv;

	if (D.next >= D.total)
		return BK_OK;
	j = &D.jobs[D.next++];
	r.url = D.urls[j->i % D.nurls];
	r.trust = D.trust;
	if (j->i % 2 == 1 && (D.alt_ca != NULL || D.alt_trust != NULL)) {
		r.ca_file = D.alt_ca;
		r.trust = D.alt_trust;
	}
	D.in_get = 1;
	rv = D.post ? hout_post_form(D.h, &r, done_cb, j) :
	    hout_get(D.h, &r, done_cb, j);
	D.in_get = 0;
	if (rv != BK_OK) {
		printf("{\"i\":%d,\"refused\":%d,\"reason\":\"%s\"}\n", j->i,
		    rv, bk_err_slug(rv));
		if (++D.settled == D.total)
			event_base_loopexit(D.base, NULL);
	}
	return rv;
}

/* --cancel-ms: the worker stops with requests in flight. */
static void
cancel_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	hout_free(D.h);
	D.h = NULL;
}

/* --idle-ms: the control run is over. */
static void
idle_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopexit(D.base, NULL);
}

/* --drop-ms: every owner still waiting goes away (a client hung up). */
static void
drop_cb(evutil_socket_t fd, short what, void *arg)
{
	int	 i;

	(void)fd;
	(void)what;
	(void)arg;
	for (i = 0; i < D.total; i++)
		if (D.jobs[i].refs > 0) {
			D.jobs[i].alive = 0;
			D.jobs[i].dropped = 1;
		}
}

static int
cmp_long(const void *a, const void *b)
{
	long	 x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

/* The p-quantile (ms) of a sorted series. */
static double
pct(const long *v, double p)
{
	size_t	 k;

	if (D.nlate == 0)
		return 0;
	k = (size_t)(p * (double)(D.nlate - 1) + 0.5);
	return (double)v[k] / 1000.0;
}

static void
summary(void)
{
	int	 i, refs = 0, dropped = 0, called = 0, twice = 0;

	for (i = 0; i < D.total; i++) {
		refs += D.jobs[i].refs;
		dropped += D.jobs[i].dropped;
		called += D.jobs[i].called > 0;
		twice += D.jobs[i].called > 1;
	}
	if (D.nlate > 0) {
		qsort(D.late_us, D.nlate, sizeof(*D.late_us), cmp_long);
		qsort(D.busy_us, D.nlate, sizeof(*D.busy_us), cmp_long);
	}
	printf("{\"summary\":true,\"total\":%d,\"callbacks\":%d,"
	    "\"twice\":%d,\"dropped\":%d,\"cb_dead\":%d,\"refs_left\":%d,"
	    "\"reentrant\":%d,\"ticks\":%zu,\"late_p50\":%.2f,"
	    "\"late_p99\":%.2f,\"late_max\":%.2f,\"busy_p99\":%.2f}\n",
	    D.total, called, twice, dropped, D.cb_dead, refs, D.reentrant,
	    D.nlate, pct(D.late_us, 0.50), pct(D.late_us, 0.99),
	    pct(D.late_us, 1.0), pct(D.busy_us, 0.99));
	fprintf(stderr, "hout_get: latest ticks (at ms: late ms):");
	for (i = 0; i < (int)BK_NELEM(D.worst_us); i++)
		fprintf(stderr, " %ld: %.1f", D.worst_at[i],
		    (double)D.worst_us[i] / 1000);
	fprintf(stderr, "\n");
}

static void
usage(void)
{
	fprintf(stderr, "usage: hout_get [--ca FILE] [--connect-ms N] "
	    "[--total-ms N] [--max-bytes N]\n\t[--alt-ca FILE] "
	    "[--trust FILE | --trust-system] [--alt-trust FILE]\n\t[--post BODY] [--user U "
	    "--secret S] [--bearer T] [--count N] [--serial]\n\t[--tick-ms N] "
	    "[--cancel-ms N] [--drop-ms N] [--body] [--debug] URL...\n"
	    "       hout_get [--tick-ms N] --idle-ms N\n");
	exit(2);
}

static long
num(const char *s, long long max)
{
	long long	 v;
	const char	*why;

	if (bk_strtonum(s, 0, max, &v, &why) != BK_OK)
		usage();
	return (long)v;
}

static const struct option longopts[] = {
	{ "ca", required_argument, NULL, 'a' },
	{ "alt-ca", required_argument, NULL, 'A' },
	{ "trust", required_argument, NULL, 'T' },
	{ "trust-system", no_argument, NULL, 'Y' },
	{ "alt-trust", required_argument, NULL, 'L' },
	{ "connect-ms", required_argument, NULL, 'c' },
	{ "total-ms", required_argument, NULL, 't' },
	{ "max-bytes", required_argument, NULL, 'm' },
	{ "post", required_argument, NULL, 'p' },
	{ "user", required_argument, NULL, 'u' },
	{ "secret", required_argument, NULL, 's' },
	{ "bearer", required_argument, NULL, 'b' },
	{ "count", required_argument, NULL, 'n' },
	{ "serial", no_argument, NULL, 'S' },
	{ "tick-ms", required_argument, NULL, 'k' },
	{ "cancel-ms", required_argument, NULL, 'x' },
	{ "drop-ms", required_argument, NULL, 'd' },
	{ "body", no_argument, NULL, 'B' },
	{ "debug", no_argument, NULL, 'D' },
	{ "idle-ms", required_argument, NULL, 'I' },
	{ NULL, 0, NULL, 0 }
};

static void
later(long ms, event_callback_fn fn)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	if (ms > 0)
		event_base_once(D.base, -1, EV_TIMEOUT, fn, NULL, &tv);
}

int
main(int argc, char **argv)
{
	struct hout_conf	 c;
	long			 count = 1, cancel_ms = 0, drop_ms = 0;
	long			 idle_ms = 0;
	int			 ch, i, debug = 0;

	memset(&c, 0, sizeof(c));
	D.tick_ms = 10;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': D.req.ca_file = optarg; break;
		case 'A': D.alt_ca = optarg; break;
		case 'T': D.trust_file = optarg; break;
		case 'Y': D.trust_system = 1; break;
		case 'L': D.alt_trust_file = optarg; break;
		case 'c': c.connect_ms = num(optarg, 600000); break;
		case 't': c.total_ms = num(optarg, 600000); break;
		case 'm': c.max_bytes = (size_t)num(optarg, 1LL << 30); break;
		case 'p':
			D.post = 1;
			D.req.body = optarg;
			D.req.body_len = strlen(optarg);
			break;
		case 'u': D.req.user = optarg; break;
		case 's': D.req.secret = optarg; break;
		case 'b': D.req.bearer = optarg; break;
		case 'n': count = num(optarg, 100000); break;
		case 'S': D.serial = 1; break;
		case 'k': D.tick_ms = num(optarg, 10000); break;
		case 'x': cancel_ms = num(optarg, 600000); break;
		case 'd': drop_ms = num(optarg, 600000); break;
		case 'B': D.show_body = 1; break;
		case 'D': debug = 1; break;
		case 'I': idle_ms = num(optarg, 600000); break;
		default: usage();
		}
	}
	if ((optind >= argc) == (idle_ms == 0) || count < 1 || D.tick_ms < 1)
		usage();
	D.urls = argv + optind;
	D.nurls = argc - optind;
	D.total = (int)count * D.nurls;
	log_init("hout_get", debug);
	if ((D.jobs = calloc((size_t)D.total + 1, sizeof(*D.jobs))) == NULL)
		fatalx("out of memory");
	for (i = 0; i < D.total; i++) {
		D.jobs[i].i = i;
		D.jobs[i].alive = 1;
	}
	if (hout_global_init() != BK_OK)
		fatalx("hout_global_init");
	if ((D.trust_file != NULL || D.trust_system) &&
	    hout_trust_load(D.trust_file, &D.trust) != BK_OK)
		fatalx("cannot load the trust store");
	if (D.alt_trust_file != NULL &&
	    hout_trust_load(D.alt_trust_file, &D.alt_trust) != BK_OK)
		fatalx("cannot load the other trust store");
	c.hold = &job_hold;
	if ((D.base = event_base_new()) == NULL ||
	    (D.h = hout_new(D.base, &c)) == NULL ||
	    (D.tick = evtimer_new(D.base, tick_cb, NULL)) == NULL)
		fatalx("setup");
	clock_gettime(CLOCK_MONOTONIC, &D.t0);
	tick_arm();
	later(cancel_ms, cancel_cb);
	later(drop_ms, drop_cb);
	later(idle_ms, idle_cb);
	for (i = 0; i < (D.serial ? 1 : D.total); i++)
		start_next();
	if (D.settled < D.total || idle_ms > 0)
		event_base_dispatch(D.base);
	summary();
	hout_free(D.h);
	hout_trust_free(D.trust);
	hout_trust_free(D.alt_trust);
	event_free(D.tick);
	event_base_free(D.base);
	hout_global_cleanup();
	free(D.jobs);
	free(D.late_us);
	free(D.busy_us);
	return 0;
}
