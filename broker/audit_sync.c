/*
 * sso-broker: a worker's audit sync thread (group commit).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The event loop never waits for the disk.  A request whose record must
 * be durable before its answer (front_durable.c) kicks this thread; it
 * runs one audit_sync_now(), which flushes every record appended so far
 * by any process, and makes an eventfd readable; the loop then answers
 * every request the published synced seq now covers.  Kicks that arrive
 * during a flush coalesce into the next one, so under load one fdatasync
 * serves many sign-ins (a sync of another worker that already covered a
 * record counts too: audit_sync_now() then returns at once).
 * Trust: none (no input from the network reaches this file).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "audit.h"
#include "bk.h"
#include "log.h"

struct audit_sync {
	struct audit	*a;
	pthread_t	 th;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 kicked;
	int		 stop;
	int		 last_rv;	/* of the last sync, under mu */
	int		 efd;
};

static void *
audit_sync_main(void *arg)
{
	struct audit_sync	*s = arg;
	uint64_t		 one = 1;
	int			 rv;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->kicked && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stop)
			break;
		s->kicked = 0;
		pthread_mutex_unlock(&s->mu);
		rv = audit_sync_now(s->a);
		pthread_mutex_lock(&s->mu);
		s->last_rv = rv;
		/* A full counter (never, in practice) is still readable. */
		if (write(s->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("audit: sync notification");
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

struct audit_sync *
audit_sync_new(struct audit *a)
{
	struct audit_sync	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->a = a;
	s->last_rv = BK_OK;
	if ((s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		log_warn("audit: eventfd");
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (pthread_create(&s->th, NULL, audit_sync_main, s) != 0) {
		log_warnx("audit: cannot start the sync thread");
		close(s->efd);
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return NULL;
	}
	return s;
}

int
audit_sync_fd(const struct audit_sync *s)
{
	return s->efd;
}

void
audit_sync_kick(struct audit_sync *s)
{
	pthread_mutex_lock(&s->mu);
	s->kicked = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

int
audit_sync_ack(struct audit_sync *s)
{
	uint64_t	 n;
	int		 rv;

	while (read(s->efd, &n, sizeof(n)) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&s->mu);
	rv = s->last_rv;
	pthread_mutex_unlock(&s->mu);
	return rv;
}

void
audit_sync_free(struct audit_sync *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->th, NULL);
	close(s->efd);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
