/*
 * sso-broker: systemd notifications (notify.h), on libsystemd's
 * sd_notify(3).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The watchdog is fed by the parent's loop, which wakes at least every
 * 500 ms; it is fed only while the parent runs that loop, so a hung
 * parent is restarted by systemd.
 * Trust: none.
 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "notify.h"

void
notify_ready(const char *status)
{
	(void)sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
notify_status(const char *status)
{
	(void)sd_notifyf(0, "STATUS=%s", status);
}

void
notify_reloading(void)
{
	(void)sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
}

void
notify_stopping(void)
{
	(void)sd_notify(0, "STOPPING=1\nSTATUS=draining the workers");
}

void
notify_watchdog(void)
{
	static int		 asked = -1;
	static uint64_t		 usec;
	static struct timespec	 last;
	struct timespec		 now;
	uint64_t		 el;

	if (asked < 0)
		asked = sd_watchdog_enabled(0, &usec) > 0;
	if (!asked)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	el = (uint64_t)(now.tv_sec - last.tv_sec) * 1000000 +
	    (uint64_t)((now.tv_nsec - last.tv_nsec) / 1000);
	if (last.tv_sec != 0 && el < usec / 2)
		return;
	last = now;
	(void)sd_notify(0, "WATCHDOG=1");
}
