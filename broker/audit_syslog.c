/*
 * sso-broker: audit records as RFC 5424 syslog messages (audit_syslog.h).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * One datagram per record, "<PRI>1 TIMESTAMP HOST sso-broker PID EVENT -
 * RECORD": facility authpriv (10; the records name users), severity info
 * for an accepted decision and notice for a rejected one (RFC 5424 6.2.1).
 * A datagram socket in non-blocking mode: a sign-in never waits for the
 * syslog daemon, and a record it cannot take is dropped and counted; the
 * local file stays the record of authority.
 * Trust: the record is JSON written with ASCII escapes by audit.c, so the
 * message is printable; the event is checked against PRINTUSASCII.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "audit_syslog.h"
#include "bk.h"
#include "log.h"
#include "metrics.h"

#define AUDIT_SYSLOG_FACILITY	10	/* authpriv */
#define AUDIT_SYSLOG_INFO	6
#define AUDIT_SYSLOG_NOTICE	5
/* The largest datagram a loopback UDP socket carries. */
#define AUDIT_SYSLOG_MAX	65000

/* This process's socket (each worker opens its own). */
static struct {
	int	 fd;
	char	 spec[128];
	time_t	 retry_at;
	int	 warned;
} audit_sl = { -1, "", 0, 0 };

/* "udp://127.0.0.1:514", "udp://[::1]:514" (checked by conf.c). */
static int
audit_syslog_udp(const char *hp, struct sockaddr_storage *ss, socklen_t *sl)
{
	struct sockaddr_in	*a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*a6 = (struct sockaddr_in6 *)ss;
	char			 host[64];
	const char		*colon, *w;
	long long		 port;
	size_t			 hl;

	if ((colon = strrchr(hp, ':')) == NULL ||
	    bk_strtonum(colon + 1, 1, 65535, &port, &w) != BK_OK)
		return BK_E_INVAL;
	hl = (size_t)(colon - hp);
	if (hl >= 2 && hp[0] == '[' && hp[hl - 1] == ']') {
		hp++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return BK_E_INVAL;
	memcpy(host, hp, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*sl = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*a6);
	} else
		return BK_E_INVAL;
	return BK_OK;
}

static int
audit_syslog_open(const char *spec)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_un	*un = (struct sockaddr_un *)&ss;
	socklen_t		 sl = 0;
	int			 fd;

	if (strncmp(spec, "unix:", 5) == 0) {
		memset(&ss, 0, sizeof(ss));
		un->sun_family = AF_UNIX;
		if (strlen(spec + 5) >= sizeof(un->sun_path))
			return -1;
		memcpy(un->sun_path, spec + 5, strlen(spec + 5) + 1);
		sl = sizeof(*un);
	} else if (strncmp(spec, "udp://", 6) != 0 ||
	    audit_syslog_udp(spec + 6, &ss, &sl) != BK_OK)
		return -1;
	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The socket for spec, or -1 (then the record is dropped). */
static int
audit_syslog_fd(const char *spec)
{
	time_t	 now = time(NULL);

	if (audit_sl.fd >= 0 && strcmp(audit_sl.spec, spec) == 0)
		return audit_sl.fd;
	if (audit_sl.fd >= 0)
		close(audit_sl.fd);
	audit_sl.fd = -1;
	if (now < audit_sl.retry_at)
		return -1;
	snprintf(audit_sl.spec, sizeof(audit_sl.spec), "%s", spec);
	if ((audit_sl.fd = audit_syslog_open(spec)) < 0) {
		audit_sl.retry_at = now + 1;
		if (audit_sl.warned++ % 60 == 0)
			log_warn("audit: syslog %s", log_esc(spec));
	}
	return audit_sl.fd;
}

/* The RFC 5424 header; MSGID is the event if it is PRINTUSASCII. */
static int
audit_syslog_head(struct bk_buf *b, const char *event, int accepted)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 host[256], t[32];
	size_t		 i;
	int		 ok = event != NULL && *event != '\0' &&
			    strlen(event) <= 32;

	for (i = 0; ok && event[i] != '\0'; i++)
		ok = event[i] > 32 && event[i] < 127;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "-");
	host[sizeof(host) - 1] = '\0';
	for (i = 0; host[i] != '\0'; i++)
		if (host[i] <= 32 || host[i] >= 127)
			host[i] = '_';
	return bk_buf_addf(b, "<%d>1 %s.%03ldZ %s sso-broker %ld %s - ",
	    AUDIT_SYSLOG_FACILITY * 8 + (accepted ? AUDIT_SYSLOG_INFO :
	    AUDIT_SYSLOG_NOTICE), t, ts.tv_nsec / 1000000, host,
	    (long)getpid(), ok ? event : "-");
}

void
audit_syslog_send(const char *spec, const char *event, int accepted,
    const char *line, size_t len)
{
	struct bk_buf	 b;
	int		 fd;

	if (spec == NULL || *spec == '\0')
		return;
	bk_buf_init(&b, AUDIT_SYSLOG_MAX);
	if ((fd = audit_syslog_fd(spec)) < 0 ||
	    audit_syslog_head(&b, event, accepted) != BK_OK ||
	    bk_buf_add(&b, line, len) != BK_OK) {
		metrics_audit_syslog(0);
		goto out;
	}
	if (send(fd, b.data, b.len, MSG_DONTWAIT | MSG_NOSIGNAL) ==
	    (ssize_t)b.len) {
		metrics_audit_syslog(1);
		goto out;
	}
	metrics_audit_syslog(0);
	/* not "full for now": the daemon went away; reconnect next time */
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
		close(audit_sl.fd);
		audit_sl.fd = -1;
	}
 out:
	bk_buf_free(&b);
}
