/*
 * sso-broker: the admin API's reads of the audit files, off the event
 * loop: verify, and the thread of a file query or export
 * (front_audit_read.c).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The audit file grows by hundreds of megabytes a day at full load, and a
 * scan of it must never stall the sign-ins a worker serves.  A detached
 * thread reads the files (audit_verify_chain, audit_files_scan) and
 * writes the answer into a pipe; the loop reads the pipe and streams it as
 * a chunked reply, so memory stays bounded by the pipe and the socket
 * buffers.  If the client leaves, the loop closes the read end and the
 * thread stops at its next write (EPIPE; SIGPIPE is ignored).  The thread
 * owns its own copy of everything it reads; the two sides share only the
 * pipe.  Verify first asks Redis for the head anchored for this broker's
 * chain (store_audit_head_lookup), then walks the rotated files and the
 * current one (audit_verify_chain) against it and the shared head.
 * Trust: the file read back is untrusted (audit.c parses it strictly).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "front_int.h"
#include "store_audit.h"
#include "log.h"

/* The verify thread's own state, freed by the thread. */
struct front_audit_thread {
	struct audit		*audit;
	FILE			*out;	/* the pipe's write end */
	/* the walk, with the Redis head as an anchor; notes */
	struct bk_chain_verify	*v;
	char			 notes[160];
};

/* The loop's side. */
struct front_audit_job {
	struct front_req	*req;
	struct bufferevent	*bev;	/* the pipe's read end */
	const char		*ctype;
	int			 started;
	/* a reader's job (front_audit_pipe_start): on the loop at the end */
	void			(*end)(struct front_req *, void *);
	void			(*release)(void *);
	void			*arg;
};

static void
front_audit_thread_free(struct front_audit_thread *t)
{
	if (t->v != NULL) {
		bk_chain_verify_cleanup(t->v);
		free(t->v);
	}
	if (t->out != NULL)
		fclose(t->out);		/* EOF for the loop */
	free(t);
}

/*
 * In the thread: the rotated files and the current one, against the head
 * in shared memory and the one anchored in Redis (t->v's anchor).
 */
static void
front_audit_verify_run(struct front_audit_thread *t)
{
	char	*s = NULL;
	int	 rv;

	if ((rv = audit_verify_chain(t->audit, t->v, 1)) != BK_OK ||
	    bk_chain_verify_report(t->v, t->notes, &s) != BK_OK)
		fprintf(t->out, "{\"ok\":false,\"reason\":\"%s\"}\n",
		    bk_err_slug(rv != BK_OK ? rv : BK_E_NOMEM));
	else
		fprintf(t->out, "%s\n", s);
	free(s);
}

static void *
front_audit_thread_main(void *arg)
{
	struct front_audit_thread	*t = arg;

	front_audit_verify_run(t);
	front_audit_thread_free(t);
	return NULL;
}

/* End the job: finish the reply if the client is still there. */
static void
front_audit_job_end(struct front_audit_job *j)
{
	struct front_req	*req = j->req;

	bufferevent_free(j->bev);	/* closes the read end */
	if (j->end != NULL)
		j->end(req, j->arg);
	if (j->release != NULL)
		j->release(j->arg);
	if (req->ev != NULL && !req->replied) {
		if (j->started)
			front_reply_end(req);
		else	/* the thread wrote nothing: an empty answer */
			front_reply(req, 200, j->ctype, "", 0);
	}
	free(j);
	front_req_unref(req);
}

/* Forward what the thread wrote.  -1: the client left, the job ended. */
static int
front_audit_forward(struct front_audit_job *j)
{
	struct front_req	*req = j->req;

	if (req->ev == NULL || req->replied) {
		front_audit_job_end(j);
		return -1;
	}
	if (!j->started) {
		if (front_reply_start(req, 200, j->ctype) != BK_OK) {
			front_audit_job_end(j);
			return -1;
		}
		j->started = 1;
	}
	front_reply_chunk(req, bufferevent_get_input(j->bev));
	return 0;
}

static void
front_audit_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	front_audit_forward(arg);
}

/* EOF (the thread is done) or an error: forward the rest and end. */
static void
front_audit_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct front_audit_job	*j = arg;

	(void)what;
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0 &&
	    front_audit_forward(j) != 0)
		return;
	front_audit_job_end(j);
}

static int
front_audit_spawn(struct front_audit_thread *t)
{
	pthread_attr_t	 attr;
	pthread_t	 th;
	int		 r;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&th, &attr, front_audit_thread_main, t);
	pthread_attr_destroy(&attr);
	return r == 0 ? BK_OK : BK_E_NOMEM;
}

/* Redis's head of this broker's chain: one more anchor, then the walk. */
static void
front_audit_head_cb(int rv, unsigned long long seq, const char *hash,
    void *arg)
{
	struct front_audit_thread	*t = arg;

	if (rv == BK_OK && hash != NULL && strlen(hash) == BK_DIGEST_HEX)
		(void)bk_chain_verify_anchor(t->v, t->notes, seq, hash,
		    "redis");
	snprintf(t->notes, sizeof(t->notes), "redis head: %s", rv == BK_OK ?
	    "compared" : rv == BK_E_NOT_FOUND ? "none anchored yet" :
	    bk_err_slug(rv));
	if (front_audit_spawn(t) != BK_OK)
		front_audit_thread_free(t);	/* EOF: an empty answer */
}

static void
front_audit_verify_start(struct front_req *req, struct front_audit_thread *t)
{
	struct audit_head	 h;

	if ((t->v = calloc(1, sizeof(*t->v))) == NULL ||
	    audit_head_get(t->audit, &h) != BK_OK) {
		front_audit_thread_free(t);
		return;
	}
	bk_chain_verify_init(t->v, NULL);
	/* t->notes holds the chain id until the answer replaces it */
	snprintf(t->notes, sizeof(t->notes), "%s", h.chain);
	if (h.seq == 0 || req->f->store_default == NULL) {
		front_audit_head_cb(BK_E_NOT_FOUND, 0, NULL, t);
		return;
	}
	store_audit_head_lookup(req->f->store_default, h.chain,
	    front_audit_head_cb, t);
}

/*
 * A job whose answer a thread writes: a pipe whose read end the loop
 * watches (once enabled) and whose write end is *out.  NULL: no memory or
 * descriptors.
 */
static struct front_audit_job *
front_audit_job_open(struct front_req *req, const char *ctype, FILE **out)
{
	struct front_audit_job	*j = NULL;
	int			 p[2] = { -1, -1 };

	*out = NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL || pipe2(p, O_CLOEXEC) != 0)
		goto out;
	evutil_make_socket_nonblocking(p[0]);
	if ((*out = fdopen(p[1], "w")) == NULL)
		goto out;
	p[1] = -1;
	if ((j->bev = bufferevent_socket_new(req->f->base, p[0],
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		goto out;
	p[0] = -1;
	j->req = req;
	j->ctype = ctype;
	bufferevent_setcb(j->bev, front_audit_read_cb, NULL,
	    front_audit_event_cb, j);
	return j;
 out:
	if (*out != NULL)
		fclose(*out);
	*out = NULL;
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	free(j);
	return NULL;
}

void
front_audit_verify_job(struct front_req *req)
{
	struct front_audit_thread	*t;
	struct front_audit_job		*j = NULL;

	if ((t = calloc(1, sizeof(*t))) == NULL || (j =
	    front_audit_job_open(req, "application/json", &t->out)) == NULL) {
		log_req(LOG_L_WARN, req->id, BK_E_NOMEM, "audit job: %s",
		    strerror(errno));
		free(t);
		front_error(req, BK_E_NOMEM, NULL);
		return;
	}
	t->audit = req->f->audit;
	bufferevent_enable(j->bev, EV_READ);
	/* the job holds req until the pipe ends; the walk waits for Redis */
	front_req_ref(req);
	front_audit_verify_start(req, t);
}

/* --- a reader's thread (front_audit_read.c) --- */

struct front_audit_pipe {
	void	(*run)(FILE *, void *);
	void	(*release)(void *);
	void	*arg;
	FILE	*out;
};

static void *
front_audit_pipe_main(void *p)
{
	struct front_audit_pipe	*tp = p;

	tp->run(tp->out, tp->arg);
	fclose(tp->out);	/* EOF for the loop */
	tp->release(tp->arg);
	free(tp);
	return NULL;
}

int
front_audit_pipe_start(struct front_req *req, const char *ctype,
    void (*run)(FILE *, void *), void (*end)(struct front_req *, void *),
    void (*release)(void *), void *arg)
{
	struct front_audit_pipe	*tp;
	struct front_audit_job	*j = NULL;
	pthread_attr_t		 attr;
	pthread_t		 th;
	int			 r;

	if ((tp = calloc(1, sizeof(*tp))) == NULL ||
	    (j = front_audit_job_open(req, ctype, &tp->out)) == NULL) {
		free(tp);
		return BK_E_NOMEM;
	}
	tp->run = run;
	tp->release = release;
	tp->arg = arg;
	j->end = end;
	j->release = release;
	j->arg = arg;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&th, &attr, front_audit_pipe_main, tp);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		bufferevent_free(j->bev);
		fclose(tp->out);
		free(j);
		free(tp);
		return BK_E_NOMEM;
	}
	bufferevent_enable(j->bev, EV_READ);
	front_req_ref(req);	/* held by the job until the pipe ends */
	return BK_OK;
}
