/*
 * sso-broker: every audit record also as an RFC 5424 syslog message.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * [audit] syslog names a local datagram socket (unix:/dev/log) or a
 * loopback UDP address; the local syslog daemon forwards to the SIEM.  The
 * message is the record line whole, so each copy carries the chain head
 * (chain, seq, hash) and anchors it off the machine.
 * Trust: the line was built by audit.c (JSON, ASCII); the event name is
 * the broker's own.
 */
#ifndef BK_AUDIT_SYSLOG_H
#define BK_AUDIT_SYSLOG_H

#include <stddef.h>

/**
 * Send one record, never waiting: a socket that cannot take it now
 * (full, syslog daemon down) drops it and counts the drop
 * (ssobroker_audit_syslog_dropped_total).  The socket is opened at the
 * first call of each process and opened again, at most once a second,
 * after an error.  Runs in a worker's loop (not thread-safe).
 * @param spec	borrowed, [audit] syslog; NULL: nothing is sent.
 * @param event	borrowed, the record's event (the MSGID).
 * @param line	borrowed, the record without its newline.
 */
void	audit_syslog_send(const char *spec, const char *event, int accepted,
	    const char *line, size_t len);

#endif /* BK_AUDIT_SYSLOG_H */
