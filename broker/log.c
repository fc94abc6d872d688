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

static void log_emit(int, const char *, int, const char *, const char *,
    va_list)
    __attribute__((format(printf, 5, 0)));

static void
log_emit(int level, const char *req_id, int rv, const char *errtext,
    const char *fmt, va_list ap)
{
	char		 msg[2048], ts[40];
	struct timespec	 now;
	struct tm	 tm;
	json_t		*o;
	char		*line;

	if (level < log_min)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%03ldZ",
	    now.tv_nsec / 1000000);
	o = json_object();
	if (o == NULL)
		return;
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "level", json_string(log_level_name(level)));
	json_object_set_new(o, "proc", json_string(log_proc));
	json_object_set_new(o, "pid", json_integer(getpid()));
	if (req_id != NULL)
		json_object_set_new(o, "req", json_string(req_id));
	json_object_set_new(o, "msg", json_string_nocheck(msg));
	if (rv != 0) {
		json_object_set_new(o, "reason", json_string(bk_err_slug(rv)));
		json_object_set_new(o, "error", json_string(bk_strerror(rv)));
	}
	if (errtext != NULL)
		json_object_set_new(o, "errno", json_string(errtext));
	line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (line == NULL)
		return;
	/* One write per line keeps lines whole across worker processes. */
	{
		size_t	 n = strlen(line);
		char	*buf = malloc(n + 2);

		if (buf != NULL) {
			memcpy(buf, line, n);
			buf[n] = '\n';
			if (write(STDERR_FILENO, buf, n + 1) < 0) {
				/* nowhere left to report it */
			}
			free(buf);
		}
	}
	free(line);
}

#define LOG_VA(level, req, rv, errtext) do { \
	va_list ap; \
	va_start(ap, fmt); \
	log_emit(level, req, rv, errtext, fmt, ap); \
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
	LOG_VA(level, req_id, rv, NULL);
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
