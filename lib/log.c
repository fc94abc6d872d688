/*
 * sso-broker: logging, one JSON object a line on stderr [relayd log.c].
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Lines are built with jansson, so every untrusted string is escaped by
 * the encoder; log_esc() additionally caps and makes control bytes visible.
 * Trust: message text may contain untrusted, already-escaped strings.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bk.h"
#include "log.h"

static const char	*log_proc = "sso-broker";
static int		 log_min = LOG_L_INFO;

void
log_init(const char *proc, int debug)
{
	log_proc = proc;
	log_min = debug ? LOG_L_DEBUG : LOG_L_INFO;
}

void
log_set_proc(const char *proc)
{
	log_proc = proc;
}

static const char *
log_level_name(int level)
{
	switch (level) {
	case LOG_L_DEBUG:
		return "debug";
	case LOG_L_INFO:
		return "info";
	case LOG_L_WARN:
		return "warn";
	default:
		return "error";
	}
}

/*
 * o as one line on stderr, in one write so that lines stay whole across
 * worker processes: dumped into a buffer on the stack with room for the
 * newline (no allocation), or, for a longer line, into one of its own.
 */
static void
log_write(json_t *o)
{
	char	 stack[4096], *buf = stack;
	size_t	 n;

	n = json_dumpb(o, stack, sizeof(stack) - 1, JSON_COMPACT |
	    JSON_ENSURE_ASCII);
	if (n == 0)
		return;
	if (n > sizeof(stack) - 1) {
		if ((buf = malloc(n + 1)) == NULL)
			return;
		if (json_dumpb(o, buf, n, JSON_COMPACT | JSON_ENSURE_ASCII) !=
		    n) {
			free(buf);
			return;
		}
	}
	buf[n] = '\n';
	if (write(STDERR_FILENO, buf, n + 1) < 0) {
		/* nowhere left to report it */
	}
	if (buf != stack)
		free(buf);
}

/* The fields as keys of o. */
static void
log_fields_set(json_t *o, const struct log_fields *f)
{
	const struct {
		const char	*k, *v;
	} s[] = {
		{ "req", f->req }, { "tenant", f->tenant },
		{ "event", f->event }, { "user", f->user }, { "id", f->id },
		{ "route", f->route },
	};
	char	*clean;
	size_t	 i;

	for (i = 0; i < BK_NELEM(s); i++) {
		if (s[i].v == NULL || (clean = log_utf8(s[i].v, 256)) == NULL)
			continue;
		json_object_set_new(o, s[i].k, json_string_nocheck(clean));
		free(clean);
	}
	if (f->status > 0)
		json_object_set_new(o, "status", json_integer(f->status));
	if (f->duration_ms >= 0)
		json_object_set_new(o, "duration_ms",
		    json_real((double)(long long)(f->duration_ms * 1000) /
		    1000));
}

static void
log_ts(char ts[40])
{
	struct timespec	 now;
	struct tm	 tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + strlen(ts), 40 - strlen(ts), ".%03ldZ",
	    now.tv_nsec / 1000000);
}

static void log_emit(int, const struct log_fields *, int, const char *,
    const char *, va_list)
    __attribute__((format(printf, 5, 0)));

static void
log_emit(int level, const struct log_fields *f, int rv, const char *errtext,
    const char *fmt, va_list ap)
{
	char		 msg[2048], ts[40];
	json_t		*o;
	char		*clean;

	if (level < log_min)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_ts(ts);
	o = json_object();
	if (o == NULL)
		return;
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "level", json_string(log_level_name(level)));
	json_object_set_new(o, "proc", json_string(log_proc));
	json_object_set_new(o, "pid", json_integer(getpid()));
	if (f != NULL)
		log_fields_set(o, f);
	/*
	 * vsnprintf cuts at a byte count and the text may carry untrusted
	 * bytes: jansson refuses a string that is not UTF-8 and the line would
	 * be lost, so it is made well-formed first.
	 */
	if ((clean = log_utf8(msg, sizeof(msg))) == NULL) {
		json_decref(o);
		return;
	}
	json_object_set_new(o, "msg", json_string_nocheck(clean));
	free(clean);
	if (rv != 0) {
		json_object_set_new(o, "reason", json_string(bk_err_slug(rv)));
		json_object_set_new(o, "error", json_string(bk_strerror(rv)));
	}
	if (errtext != NULL)
		json_object_set_new(o, "errno", json_string(errtext));
	log_write(o);
	json_decref(o);
}

#define LOG_VA(level, f, rv, errtext) do { \
	va_list ap; \
	va_start(ap, fmt); \
	log_emit(level, f, rv, errtext, fmt, ap); \
	va_end(ap); \
} while (0)

void
log_info(const char *fmt, ...)
{
	LOG_VA(LOG_L_INFO, NULL, 0, NULL);
}

void
log_debug(const char *fmt, ...)
{
	LOG_VA(LOG_L_DEBUG, NULL, 0, NULL);
}

void
log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_VA(LOG_L_WARN, NULL, 0, e);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_VA(LOG_L_WARN, NULL, 0, NULL);
}

void
log_warnx_r(int rv, const char *fmt, ...)
{
	LOG_VA(LOG_L_WARN, NULL, rv, NULL);
}

void
log_req(int level, const char *req_id, int rv, const char *fmt, ...)
{
	struct log_fields	 f;

	memset(&f, 0, sizeof(f));
	f.req = req_id;
	f.duration_ms = -1;
	LOG_VA(level, &f, rv, NULL);
}

void
log_fields(int level, const struct log_fields *f, int rv, const char *fmt,
    ...)
{
	LOG_VA(level, f, rv, NULL);
}

static int	log_access_fd = -1;

void
log_access_set(int fd)
{
	log_access_fd = fd;
}

void
log_access(const struct log_fields *f, const char *method, const char *path,
    const char *client)
{
	char	 ts[40], *p;
	json_t	*o;
	size_t	 n;

	if (log_access_fd < 0 || (o = json_object()) == NULL)
		return;
	log_ts(ts);
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "method", json_string(method ? method : "-"));
	if (path != NULL && (p = log_utf8(path, 1024)) != NULL) {
		json_object_set_new(o, "path", json_string_nocheck(p));
		free(p);
	}
	if (client != NULL)
		json_object_set_new(o, "client", json_string(client));
	log_fields_set(o, f);
	p = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (p == NULL)
		return;
	n = strlen(p);
	p[n] = '\n';	/* the NUL's byte: json_dumps' buffer holds n + 1 */
	if (write(log_access_fd, p, n + 1) < 0) {
		/* a failed access-log write is not a reason to fail */
	}
	free(p);
}

void
fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_VA(LOG_L_ERR, NULL, 0, e);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_VA(LOG_L_ERR, NULL, 0, NULL);
	exit(1);
}

const char *
log_esc(const char *s)
{
	static char	 ring[8][160];
	static int	 slot;
	char		*out = ring[slot++ & 7];
	size_t		 o = 0, i;

	if (s == NULL)
		return "(null)";
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (o >= 128) {
			/* Cut on a character boundary (UTF-8 lead byte). */
			while (o > 0 &&
			    ((unsigned char)out[o - 1] & 0xc0) == 0x80)
				o--;
			if (o > 0 && (unsigned char)out[o - 1] >= 0xc0)
				o--;
			memcpy(out + o, "...", 4);
			return out;
		}
		if (c < 0x20 || c == 0x7f || c == '\\') {
			snprintf(out + o, 5, "\\x%02x", c);
			o += 4;
		} else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

/*
 * Length of the well-formed UTF-8 sequence at p (n bytes left), or 0.
 * The ranges are those of Unicode Table 3-7 (RFC 3629 section 4): no
 * overlong forms, no surrogates, nothing above U+10FFFF, which is what
 * jansson checks before it encodes a string.
 */
static size_t
log_utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/*
 * Copy whole characters (or \xNN for a stray byte) while they fit in cap;
 * out NULL only measures.  Returns the bytes produced.
 */
static size_t
log_utf8_run(const unsigned char *p, size_t n, char *out, size_t cap)
{
	size_t	 i = 0, o = 0, k, w;

	while (i < n) {
		k = log_utf8_seq(p + i, n - i);
		w = k == 0 ? 4 : k;
		if (o + w > cap)
			break;
		if (out != NULL && k == 0)
			snprintf(out + o, 5, "\\x%02x", p[i]);
		else if (out != NULL)
			memcpy(out + o, p + i, k);
		o += w;
		i += k == 0 ? 1 : k;
	}
	return o;
}

char *
log_utf8(const char *s, size_t max)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n, total, o;
	char			*out;

	if (s == NULL)
		return NULL;
	if (max < 8)
		max = 8;
	n = strlen(s);
	/* ASCII that fits, the common case: the copy is the answer. */
	for (o = 0; o < n && p[o] < 0x80; o++)
		;
	if (o == n && n <= max) {
		if ((out = malloc(n + 1)) != NULL)
			memcpy(out, s, n + 1);
		return out;
	}
	total = log_utf8_run(p, n, NULL, (size_t)-1);
	if ((out = malloc((total < max ? total : max) + 1)) == NULL)
		return NULL;
	if (total <= max)
		o = log_utf8_run(p, n, out, total);
	else {
		o = log_utf8_run(p, n, out, max - 3);
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

char *
log_vdetail(size_t max, const char *fmt, va_list ap)
{
	char	 buf[512];
	size_t	 i;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	return log_utf8(buf, max);
}

const char *
log_digest(const char *s)
{
	static char	 ring[4][BK_DIGEST_HEX + 1];
	static int	 slot;
	char		*out = ring[slot++ & 3];

	if (s == NULL)
		return "-";
	bk_sha256_hex(s, strlen(s), out);
	out[12] = '\0';
	return out;
}
