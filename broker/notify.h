/*
 * sso-broker: the service manager's notifications (systemd sd_notify).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Only notify.c includes libsystemd.  Without a service manager
 * (NOTIFY_SOCKET unset) every call does nothing, so the broker runs the
 * same with or without systemd.  Parent only.
 * Trust: none (outgoing messages of our own).
 */
#ifndef BK_NOTIFY_H
#define BK_NOTIFY_H

/** READY=1 with a STATUS line: tenants loaded, a store answered. */
void	notify_ready(const char *status);
/** STATUS=... alone. */
void	notify_status(const char *status);
/** RELOADING=1 (SIGHUP taken), then notify_ready() when done. */
void	notify_reloading(void);
/** STOPPING=1 (SIGTERM taken). */
void	notify_stopping(void);
/**
 * WATCHDOG=1 when the service manager asked for it (WatchdogSec), at
 * least twice per interval; call it from the parent's loop.
 */
void	notify_watchdog(void);

#endif /* BK_NOTIFY_H */
