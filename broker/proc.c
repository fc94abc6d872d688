/*
 * sso-broker: the parent process and the workers [relayd, httpd, OpenSSH].
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The parent reads and checks the configuration, builds every tenant's
 * SAML context, binds the sockets, opens the audit file and forks
 * `workers` workers, which drop to [server] user.  It then waits in
 * poll() for signals (a signalfd) and for the files its unprivileged
 * workers ask for (mon.c): a dead worker is restarted (with a back-off
 * when it dies young); SIGHUP builds and checks the new configuration
 * first and, only if it is good, starts new workers and tells the old
 * ones to drain, so no connection is dropped; SIGTERM drains every worker
 * and exits 0.
 * Trust: configuration files only; the parent never reads network data.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <poll.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "audit.h"
#include "audit_syslog.h"
#include "bk.h"
#include "conf.h"
#include "front.h"
#include "hout.h"
#include "keys.h"
#include "log.h"
#include "notify.h"
#include "mdr.h"
#include "metrics.h"
#include "mon.h"
#include "proc.h"
#include "saml.h"
#include "store.h"

#define PROC_MAX_WORKERS	64
#define PROC_DRAIN_SEC		10
#define PROC_DRAIN_IDLE_MS	1000
#define PROC_STOP_SEC		15
#define PROC_RESTART_MIN_SEC	1
#define PROC_EXPIRY_WARN	(14 * 86400)	/* warn this long before */
/* The holder channel slot of the parent itself (workers: 0..63). */
#define PROC_SEAL_SLOT		PROC_MAX_WORKERS

struct proc_worker {
	pid_t	 pid;		/* 0 = not running */
	int	 kfd;		/* its key holder channel (kept for restarts) */
	int	 mreq, mpush;	/* its mon.c channels, the parent's ends */
	int	 creq, cpush;	/* the worker's ends, until it is forked */
	int	 gen;		/* configuration generation it runs */
	time_t	 started;
	/* when a dead current worker may be restarted */
	time_t	 restart_at;
};

static struct {
	const char		*path;
	struct conf		*conf;
	struct audit		*audit;
	SSL_CTX			*tls;
	struct keys		*keys;		/* this generation's holder */
	int			 pub_fd, adm_fd;
	int			 access_fd;	/* [server] access_log, or -1 */
	int			 access_old;	/* the one a reload replaces */
	int			 nworkers;
	int			 gen;
	struct proc_worker	 w[PROC_MAX_WORKERS * 2];
	sigset_t		 sigs;
	int			 sigfd;		/* signalfd of sigs */
	int			 seal_fd;	/* its own holder channel */
} P;

static int	proc_idx(int gen, int slot);
static void	proc_seal_chan(struct keys *);
static void	proc_audit_write(const struct audit_rec *);

/* --- configuration --- */

void
proc_conf_free(struct conf *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_tenants; i++) {
		saml_tenant_free(c->tenants[i]->saml_sp);
		c->tenants[i]->saml_sp = NULL;
		hout_trust_free(c->tenants[i]->oidc_trust);
		c->tenants[i]->oidc_trust = NULL;
		hout_trust_free(c->tenants[i]->md_trust);
		c->tenants[i]->md_trust = NULL;
	}
	conf_free(c);
}

/* An OAuth tenant's CA file (or the system bundle), parsed once, here. */
static void
proc_conf_trust(struct conf_tenant *t, struct bk_buf *eb)
{
	if (hout_trust_load(t->oidc.ca_file,
	    (struct hout_trust **)&t->oidc_trust) != BK_OK)
		bk_buf_addf(eb, "%s: tenant %s: [oidc] ca_file: no certificate "
		    "could be loaded\n", t->file, t->id);
}

/* One certificate that ends before soon: a warning. */
static void
proc_cert_warn(const struct conf_tenant *t, const char *kind,
    const struct saml_cert_info *ci, time_t now, time_t soon)
{
	char	 ts[32];

	if (ci->not_after == 0 || ci->not_after >= soon)
		return;
	bk_time_fmt(ci->not_after, ts);
	log_warnx("tenant %s: %s certificate %.16s... %s %s", t->id, kind,
	    ci->fingerprint, ci->not_after < now ? "expired" : "expires", ts);
}

/* Say early what will stop sign-ins: metadata or certificates ending. */
void
proc_tenant_expiry_warn(const struct conf_tenant *t)
{
	struct saml_tenant_info	 info;
	time_t			 now = time(NULL);
	time_t			 soon = now + PROC_EXPIRY_WARN;
	char			 ts[32];
	size_t			 k;

	if (t->saml_sp == NULL)
		return;
	saml_tenant_info(t->saml_sp, &info);
	/*
	 * From a URL, validUntil moves on at each refresh: only one that the
	 * next two refreshes might not reach in time is worth a warning.
	 */
	if (t->saml.idp_metadata_url != NULL)
		soon = now + 2 * (time_t)t->saml.metadata_refresh;
	if (info.metadata_valid_until != 0 &&
	    info.metadata_valid_until < soon) {
		bk_time_fmt(info.metadata_valid_until, ts);
		log_warnx("tenant %s: IdP metadata valid until %s", t->id, ts);
	}
	soon = now + PROC_EXPIRY_WARN;
	for (k = 0; k < info.n_certs; k++)
		proc_cert_warn(t, "IdP", &info.certs[k], now, soon);
	proc_cert_warn(t, "SP", &info.sp_cert, now, soon);
	if (info.sp_next_cert.not_after != 0)
		proc_cert_warn(t, "SP (sp_next_cert)", &info.sp_next_cert, now,
		    soon);
}

static void
proc_expiry_warn(const struct conf *c)
{
	size_t	 i;

	for (i = 0; i < c->n_tenants; i++)
		proc_tenant_expiry_warn(c->tenants[i]);
}

/*
 * idp_metadata_url: its trust store (metadata_ca_file, or the system's)
 * and the pinned metadata_signing_cert, loaded here: workers read no file.
 */
static void
proc_conf_mdurl(struct conf_tenant *t, struct bk_buf *eb)
{
	char	*why = NULL;

	if (t->saml.idp_metadata_url == NULL || t->saml_sp == NULL)
		return;
	if (hout_trust_load(t->saml.metadata_ca_file,
	    (struct hout_trust **)&t->md_trust) != BK_OK)
		bk_buf_addf(eb, "%s: tenant %s: [saml] metadata_ca_file: no "
		    "certificate could be loaded\n", t->file, t->id);
	if (t->saml.metadata_signing_cert != NULL &&
	    saml_tenant_pin_load(t->saml_sp, t->saml.metadata_signing_cert,
	    &why) != BK_OK) {
		bk_buf_addf(eb, "%s: tenant %s: %s\n", t->file, t->id,
		    why != NULL ? why : "metadata_signing_cert: out of memory");
		free(why);
	}
}

int
proc_conf_load(const char *path, struct conf **out, char **errors)
{
	struct conf	*c = NULL;
	struct bk_buf	 eb;
	size_t		 i;
	int		 rv;

	*out = NULL;
	*errors = NULL;
	if ((rv = conf_load(path, &c, errors)) != BK_OK)
		return rv;
	bk_buf_init(&eb, 64 * 1024);
	for (i = 0; i < c->n_tenants; i++) {
		struct conf_tenant	*t = c->tenants[i];
		struct saml_sp_params	 p;
		char			*why = NULL;

		if (t->login == CONF_LOGIN_OIDC) {
			proc_conf_trust(t, &eb);
			continue;
		}
		memset(&p, 0, sizeof(p));
		p.tenant_id = t->id;
		p.sp_entity_id = t->saml.sp_entity_id;
		p.acs_url = t->acs_url;
		p.sp_cert_path = t->saml.sp_cert;
		p.idp_metadata_path = t->saml.idp_metadata;
		p.allow_sha1 = t->saml.allow_sha1;
		p.clock_skew = t->saml.clock_skew;
		p.allow_portal_users = t->saml.allow_portal_users;
		p.username_attribute = t->saml.username_attribute;
		p.max_authn_age = t->saml.max_authn_age;
		p.sign_requests = t->saml.sign_requests;
		p.sp_next_cert_path = t->saml.sp_next_cert;
		p.require_encryption = t->saml.require_encryption;
		p.allow_cbc = t->saml.allow_cbc;
		p.metadata_expired_ok = t->saml.idp_metadata_url != NULL;
		if ((rv = saml_tenant_new(&p,
		    (struct saml_tenant **)&t->saml_sp, &why)) != BK_OK) {
			bk_buf_addf(&eb, "%s: tenant %s: %s\n", t->file, t->id,
			    why ? why : bk_strerror(rv));
			free(why);
		}
		proc_conf_mdurl(t, &eb);
	}
	if (eb.len > 0) {
		*errors = bk_buf_take(&eb);
		proc_conf_free(c);
		return BK_E_CONF_SYNTAX;
	}
	proc_expiry_warn(c);
	bk_buf_free(&eb);
	*out = c;
	return BK_OK;
}

/* --- sockets and TLS --- */

/*
 * Connections are file descriptors: raise the soft limit to the hard one
 * (the workers inherit it and size their connection caps from it).
 */
static void
proc_nofile_raise(void)
{
	struct rlimit	 rl;
	rlim_t		 was;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	/* RLIM_INFINITY is refused for NOFILE: stay at a large number. */
	if (rl.rlim_cur == RLIM_INFINITY)
		rl.rlim_cur = 1024 * 1024;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn("setrlimit RLIMIT_NOFILE %llu",
		    (unsigned long long)rl.rlim_cur);
	else
		log_info("file descriptor limit raised from %llu to %llu",
		    (unsigned long long)was, (unsigned long long)rl.rlim_cur);
}

static int
proc_bind(const char *hostport, int *fd)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 host[256];
	const char	*colon = strrchr(hostport, ':'), *h = host;
	size_t		 hl;
	int		 s = -1, one = 1, e;

	*fd = -1;
	if (colon == NULL || (hl = (size_t)(colon - hostport)) >= sizeof(host))
		return BK_E_INVAL;
	memcpy(host, hostport, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		h = host + 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(h, colon + 1, &hints, &res)) != 0) {
		log_warnx("%s: %s", hostport, gai_strerror(e));
		return BK_E_INVAL;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		s = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s < 0)
			continue;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(s, 1024) == 0)
			break;
		log_warn("bind %s", hostport);
		close(s);
		s = -1;
	}
	freeaddrinfo(res);
	if (s < 0)
		return BK_E_IO;
	*fd = s;
	return BK_OK;
}

/*
 * The listener's certificate chain and key, checked against each other;
 * *out stays NULL without TLS.  Used at start and on every SIGHUP, so a
 * certificate renewed in place is served by the next generation of workers
 * (the old one drains on its context).
 */
static int
proc_tls_load(const struct conf *c, SSL_CTX **out)
{
	SSL_CTX	*ctx;

	*out = NULL;
	if (c->tls_cert == NULL)
		return BK_OK;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return BK_E_NOMEM;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, c->tls_key,
	    SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_warnx("TLS: cannot load %s / %s (a certificate and its "
		    "key must be PEM and must match)", c->tls_cert, c->tls_key);
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return BK_E_CONF_TLS;
	}
	*out = ctx;
	return BK_OK;
}

/* "TLS: serving CERT (subject), valid until DATE, N days left". */
static void
proc_tls_log(SSL_CTX *ctx, const char *path)
{
	X509		*x = ctx != NULL ? SSL_CTX_get0_certificate(ctx) : NULL;
	struct tm	 tm;
	char		 subj[256], until[32];
	long long	 days;

	if (x == NULL || ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return;
	X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
	strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
	days = ((long long)timegm(&tm) - (long long)time(NULL)) / 86400;
	if (days < 14)
		log_warnx("TLS: serving %s (%s), valid until %s: %lld days "
		    "left", path, subj, until, days);
	else
		log_info("TLS: serving %s (%s), valid until %s, %lld days left",
		    path, subj, until, days);
}

/* --- workers --- */

struct proc_worker_ctx {
	struct event_base	*base;
	struct front		*front;
	struct event		*drain;
	int			 ticks;
};

static void
proc_worker_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct proc_worker_ctx	*w = arg;

	(void)fd;
	(void)ev;
	/*
	 * Exit once every connection is closed: a request whose bytes are
	 * arriving is finished; a keep-alive connection idle for a second
	 * is closed (one that was between two requests when the drain began
	 * gets its next answer, with "Connection: close", and moves to the
	 * new workers).  At most PROC_DRAIN_SEC.
	 */
	if (front_drain_poll(w->front, PROC_DRAIN_IDLE_MS) == 0 ||
	    ++w->ticks > PROC_DRAIN_SEC * 20)
		event_base_loopexit(w->base, NULL);
}

static void
proc_worker_term_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct proc_worker_ctx	*w = arg;
	struct timeval		 tv = { 0, 50 * 1000 };

	(void)fd;
	(void)ev;
	if (w->drain != NULL)
		return;
	front_drain(w->front);
	w->drain = event_new(w->base, -1, EV_PERSIST, proc_worker_tick_cb, w);
	if (w->drain == NULL)
		event_base_loopexit(w->base, NULL);
	else
		evtimer_add(w->drain, &tv);
}

static void
proc_libevent_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warnx("libevent: %s", log_esc(msg));
}

/*
 * In a new worker: its own key holder channel; the other workers' (every
 * generation's) are closed, so a worker can only ever speak for itself.
 */
static int
proc_worker_keys(int slot)
{
	int	 i, own = P.w[proc_idx(P.gen, slot)].kfd;

	for (i = 0; i < (int)BK_NELEM(P.w); i++)
		if (P.w[i].kfd >= 0 && P.w[i].kfd != own)
			close(P.w[i].kfd);
	return own;
}

/*
 * In a new worker: its own mon.c channels; every other worker's (the
 * parent's ends, any generation) closed.
 */
static void
proc_worker_mon(int idx)
{
	int	 i;

	for (i = 0; i < (int)BK_NELEM(P.w); i++) {
		if (P.w[i].mreq >= 0)
			close(P.w[i].mreq);
		if (P.w[i].mpush >= 0)
			close(P.w[i].mpush);
		P.w[i].mreq = P.w[i].mpush = -1;
	}
	if (P.sigfd >= 0)
		close(P.sigfd);
	keys_chan_close(P.seal_fd);
	P.seal_fd = -1;
	mon_worker_init(P.w[idx].creq, P.w[idx].cpush);
}

/*
 * In a new worker, before it serves anything: [server] user, no
 * supplementary groups, no capabilities (setresuid() from root to another
 * account clears them all), no way back (no_new_privs; setuid(0) must
 * fail).  Started as another user, the worker stays that user.
 */
static void
proc_worker_drop(const struct conf *c)
{
	if (geteuid() != 0 || c->run_root)
		return;
	if (setgroups(1, &c->run_gid) != 0 ||
	    setresgid(c->run_gid, c->run_gid, c->run_gid) != 0 ||
	    setresuid(c->run_uid, c->run_uid, c->run_uid) != 0)
		fatal("worker: cannot become user %s", c->user);
	if (setuid(0) == 0 || geteuid() == 0)
		fatalx("worker: could become root again after dropping to %s",
		    c->user);
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
#ifdef BK_SANITIZERS
	/* LeakSanitizer's tracer needs a dumpable process (tests only) */
	(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
}

static void __attribute__((noreturn))
proc_worker_main(int idx, int slot)
{
	static int		 seal_fd;
	struct proc_worker_ctx	 w;
	struct front_env	 env;
	struct event		*term, *intr;
	char			 name[32];

	memset(&w, 0, sizeof(w));
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_UNBLOCK, &P.sigs, NULL);
	snprintf(name, sizeof(name), "worker-%d", slot + 1);
	log_set_proc(bk_strdup(name));
	event_set_log_callback(proc_libevent_log);
	if ((w.base = event_base_new()) == NULL)
		fatalx("worker: no event base");
	memset(&env, 0, sizeof(env));
	env.conf = P.conf;
	env.audit = P.audit;
	env.slot = slot;
	env.pub_fd = P.pub_fd;
	env.adm_fd = P.adm_fd;
	env.tls_ctx = P.tls;
	env.keys_fd = proc_worker_keys(slot);
	proc_worker_mon(idx);
	seal_fd = env.keys_fd;	/* this worker's audit seals go there */
	audit_sealer(P.audit, keys_seal, keys_mac, &seal_fd);
	proc_worker_drop(P.conf);
	/* after the drop: a change of credentials clears the death signal */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		exit(0);	/* the parent died meanwhile */
	log_access_set(P.access_fd);
	if ((w.front = front_new(w.base, &env)) == NULL)
		fatalx("worker: cannot start the HTTP front");
	term = evsignal_new(w.base, SIGTERM, proc_worker_term_cb, &w);
	intr = evsignal_new(w.base, SIGINT, proc_worker_term_cb, &w);
	evsignal_add(term, NULL);
	evsignal_add(intr, NULL);
	signal(SIGHUP, SIG_IGN);
	event_base_dispatch(w.base);
	front_free(w.front);
	if (w.drain != NULL)
		event_free(w.drain);
	event_free(term);
	event_free(intr);
	event_base_free(w.base);
	proc_conf_free(P.conf);
	audit_free(P.audit);
	if (P.tls != NULL)
		SSL_CTX_free(P.tls);
	hout_global_cleanup();
	saml_shutdown();
	exit(0);
}

static int
proc_spawn(int idx, int slot)
{
	pid_t	 pid;

	if (P.w[idx].kfd < 0 && P.keys != NULL &&
	    keys_chan_new(P.keys, slot, &P.w[idx].kfd) != BK_OK)
		log_warnx("keys: no channel for worker slot %d", slot + 1);
	if (P.w[idx].mreq >= 0)
		close(P.w[idx].mreq);
	if (P.w[idx].mpush >= 0)
		close(P.w[idx].mpush);
	P.w[idx].mreq = P.w[idx].mpush = -1;
	if (mon_chan_new(&P.w[idx].mreq, &P.w[idx].mpush, &P.w[idx].creq,
	    &P.w[idx].cpush) != BK_OK) {
		log_warn("worker slot %d: no parent channel", slot + 1);
		return BK_E_IO;
	}
	if ((pid = fork()) < 0) {
		log_warn("fork");
		return BK_E_IO;
	}
	if (pid == 0)
		proc_worker_main(idx, slot);
	close(P.w[idx].creq);
	close(P.w[idx].cpush);
	P.w[idx].creq = P.w[idx].cpush = -1;
	P.w[idx].pid = pid;
	P.w[idx].gen = P.gen;
	P.w[idx].started = time(NULL);
	P.w[idx].restart_at = 0;
	return BK_OK;
}

/* Slots 0..n-1 of the current generation live in P.w[gen parity]. */
static int
proc_idx(int gen, int slot)
{
	return (gen & 1) * PROC_MAX_WORKERS + slot;
}

static void
proc_spawn_all(void)
{
	int	 i;

	for (i = 0; i < P.nworkers; i++)
		proc_spawn(proc_idx(P.gen, i), i);
	metrics_workers(P.nworkers);
	log_info("started %d workers (configuration generation %d)", P.nworkers,
	    P.gen);
}

/* --- the workers' requests (mon.c) --- */

static void
proc_mon_close(int i)
{
	if (P.w[i].mreq >= 0)
		close(P.w[i].mreq);
	if (P.w[i].mpush >= 0)
		close(P.w[i].mpush);
	P.w[i].mreq = P.w[i].mpush = -1;
}

/*
 * Answer what the workers asked, waiting at most ms for a request or, with
 * sigfd, a signal.  A worker that sent a message outside the set is
 * treated as compromised, as the key holder does: killed, then restarted.
 */
static void
proc_mon_poll(int ms)
{
	struct pollfd	 pfd[PROC_MAX_WORKERS * 2 + 1];
	int		 who[PROC_MAX_WORKERS * 2 + 1];
	int		 i, n = 0, rv;

	if (P.sigfd >= 0) {
		pfd[n].fd = P.sigfd;
		pfd[n].events = POLLIN;
		who[n++] = -1;
	}
	for (i = 0; i < (int)BK_NELEM(P.w); i++)
		if (P.w[i].mreq >= 0) {
			pfd[n].fd = P.w[i].mreq;
			pfd[n].events = POLLIN;
			who[n++] = i;
		}
	if (poll(pfd, (nfds_t)n, ms) <= 0)
		return;
	for (i = 0; i < n; i++) {
		if (who[i] < 0 || (pfd[i].revents & (POLLIN | POLLHUP |
		    POLLERR)) == 0)
			continue;
		rv = mon_serve(pfd[i].fd, P.conf);
		if (rv == BK_E_IPC_MSG && P.w[who[i]].pid != 0) {
			log_warnx("worker %d sent a message outside the "
			    "parent's set; killing it: treated as compromised",
			    (int)P.w[who[i]].pid);
			kill(P.w[who[i]].pid, SIGKILL);
		}
		if (rv != BK_OK)
			proc_mon_close(who[i]);
	}
}

/* audit_reopen(): the new file to every running worker, first. */
static void
proc_mon_push(unsigned long long fgen, int fd, int rfd)
{
	int	 i;

	for (i = 0; i < (int)BK_NELEM(P.w); i++)
		if (P.w[i].pid != 0 && P.w[i].mpush >= 0 &&
		    mon_push_audit(P.w[i].mpush, fgen, fd, rfd) != BK_OK)
			log_warnx("audit: worker %d did not take the new file",
			    (int)P.w[i].pid);
}

/* What the workers will run as, said once per configuration. */
static void
proc_user_log(const struct conf *c)
{
	if (geteuid() != 0)
		log_info("workers run as uid %d (the broker was not started "
		    "as root)", (int)geteuid());
	else if (c->run_root)
		log_warnx("workers run as root ([server] user = %s): every "
		    "worker can read every file and key of the host", c->user);
	else if (c->user_fallback)
		log_warnx("workers run as nobody: the account sso-broker does "
		    "not exist (the package creates it; or set [server] user)");
	else
		log_info("workers run as %s (uid %d)", c->user,
		    (int)c->run_uid);
}

/* The raw assertions' side file, opened here when a tenant keeps them. */
static void
proc_raw_prepare(const struct conf *c)
{
	size_t	 i;

	for (i = 0; i < c->n_tenants; i++)
		if (c->tenants[i]->saml.keep_raw_assertions) {
			if (audit_raw_prepare(P.audit) != BK_OK)
				log_warnx("audit: cannot open %s.raw",
				    c->audit_path);
			return;
		}
}

static void
proc_reap(int stopping)
{
	pid_t	 pid;
	int	 status, i;
	time_t	 now = time(NULL);

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < (int)BK_NELEM(P.w); i++) {
			if (P.w[i].pid != pid)
				continue;
			P.w[i].pid = 0;
			proc_mon_close(i);
			if (stopping || P.w[i].gen != P.gen) {
				log_debug("worker %d exited", (int)pid);
				break;
			}
			if (WIFSIGNALED(status))
				log_warnx("worker %d died on signal %d; "
				    "restarting", (int)pid,
				    WTERMSIG(status));
			else
				log_warnx("worker %d exited with %d; "
				    "restarting", (int)pid,
				    WEXITSTATUS(status));
			/*
			 * A worker that dies young is restarted after a pause.
			 */
			P.w[i].restart_at =
			    now - P.w[i].started < PROC_RESTART_MIN_SEC ?
			    now + PROC_RESTART_MIN_SEC : now;
			break;
		}
	}
	if (stopping)
		return;
	for (i = 0; i < P.nworkers; i++) {
		int idx = proc_idx(P.gen, i);

		if (P.w[idx].pid == 0 && P.w[idx].restart_at != 0 &&
		    P.w[idx].restart_at <= now)
			proc_spawn(idx, i);
	}
}

static int
proc_nworkers(const struct conf *c)
{
	long	 n = c->workers;

	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 0)
		n = 1;
	if (n > PROC_MAX_WORKERS)
		n = PROC_MAX_WORKERS;
	return (int)n;
}

static int
proc_str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/*
 * [server] access_log, opened (created 0640) for appending by the parent;
 * the workers write to the descriptor they inherit.  -1 when not set.
 */
static int
proc_access_open(const struct conf *c, int *fd)
{
	*fd = -1;
	if (c->access_log == NULL)
		return BK_OK;
	if ((*fd = open(c->access_log, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0640)) < 0) {
		log_warn("access_log %s", c->access_log);
		return BK_E_IO;
	}
	return BK_OK;
}

/*
 * SIGHUP: the access log opened again (a rotated file is followed); the
 * new workers get the new descriptor, the parent's old copy is closed once
 * they are forked.  A file that does not open keeps the old one.
 */
static void
proc_reload_access(const struct conf *nc)
{
	int	 fd;

	if (proc_access_open(nc, &fd) != BK_OK) {
		log_warnx("reload: keeping the running access log");
		return;
	}
	P.access_old = P.access_fd;
	P.access_fd = fd;
}

/*
 * The key holder of configuration c (the SP keys load there, never here).
 * At start a key that does not load is fatal; on a reload it refuses the
 * reload (BK_E_KEYS_LOAD, the reasons logged).
 */
static int
proc_keys_start(const struct conf *c, struct keys **out, int fatal_err)
{
	int	 fds[2] = { P.pub_fd, P.adm_fd }, rv;
	char	*errors = NULL, *line, *save = NULL;

	if ((rv = keys_start(c, fds, BK_NELEM(fds), out, &errors)) == BK_OK) {
		log_info("keys: the key holder runs (pid %d)",
		    (int)keys_pid(*out));
		return BK_OK;
	}
	for (line = strtok_r(errors, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		log_warnx("keys: %s", line);
	free(errors);
	if (fatal_err)
		fatalx("keys: the key holder cannot start");
	return rv;
}

/*
 * [audit] key_file: the key holder loaded it (or the start stopped); the
 * chain's page learns its epoch and start, and every process seals
 * through its own channel to the holder.  Without a key: unkeyed.
 */
static void
proc_audit_key(const struct conf *c)
{
	unsigned long long	 epoch;
	long long		 start;

	if (!keys_audit_key(P.keys, &epoch, &start)) {
		(void)audit_key_set(P.audit, NULL, 0);
		return;
	}
	audit_key_public(P.audit, epoch, start, (unsigned int)c->audit_epoch);
	proc_seal_chan(P.keys);
	audit_sealer(P.audit, keys_seal, keys_mac, &P.seal_fd);
}

/*
 * The parent's own channel to the holder k: its audit records (reloads,
 * refusals it makes) are sealed there, as the workers' are.
 */
static void
proc_seal_chan(struct keys *k)
{
	keys_chan_close(P.seal_fd);
	P.seal_fd = -1;
	if (k != NULL && keys_chan_new(k, PROC_SEAL_SLOT, &P.seal_fd) !=
	    BK_OK)
		log_warnx("keys: no channel for the parent's audit seals");
}

/*
 * The old generation's holder: the parent's copies of its channels are
 * closed, so it exits once the draining workers have closed theirs.
 */
static void
proc_keys_retire(struct keys *k, int gen)
{
	int	 i, idx;

	for (i = 0; i < PROC_MAX_WORKERS; i++) {
		idx = proc_idx(gen, i);
		keys_chan_close(P.w[idx].kfd);
		P.w[idx].kfd = -1;
	}
	keys_retire(k);
}

/*
 * The next generation of workers, on keys (its key holder): they start on
 * the same sockets; the old generation drains (finishes its requests,
 * then exits) and its holder is retired.
 */
static void
proc_generation_next(struct keys *keys)
{
	struct keys	*oldkeys = P.keys;
	int		 i, idx, oldgen = P.gen;

	P.keys = keys;
	proc_seal_chan(keys);
	P.gen++;
	P.nworkers = proc_nworkers(P.conf);
	for (i = 0; i < PROC_MAX_WORKERS; i++)
		P.w[proc_idx(P.gen, i)].restart_at = 0;
	proc_spawn_all();
	for (i = 0; i < PROC_MAX_WORKERS; i++) {
		idx = proc_idx(oldgen, i);
		if (P.w[idx].pid != 0)
			kill(P.w[idx].pid, SIGTERM);
		P.w[idx].restart_at = 0;
	}
	proc_keys_retire(oldkeys, oldgen);
}

/* The key holder died: a new one, and the workers recycled onto it. */
static void
proc_generation_restart(void)
{
	struct keys	*keys = NULL;

	if (proc_keys_start(P.conf, &keys, 0) != BK_OK) {
		log_warnx("keys: the key holder cannot start again; stopping");
		kill(getpid(), SIGTERM);
		return;
	}
	proc_generation_next(keys);
}

/*
 * SIGHUP: the listener's certificate and key, read again (renewed in place
 * or renamed); a pair that does not load refuses the whole reload, so the
 * running certificate stays.
 */
static int
proc_reload_tls(const struct conf *nc, SSL_CTX **tls)
{
	struct audit_rec	 r;
	int			 rv;

	if ((rv = proc_tls_load(nc, tls)) == BK_OK) {
		proc_tls_log(*tls, nc->tls_cert);
		return BK_OK;
	}
	log_warnx("reload refused, keeping the running configuration and "
	    "certificate: %s", bk_strerror(rv));
	memset(&r, 0, sizeof(r));
	r.event = "config_reload";
	r.outcome = "rejected";
	r.reason = bk_err_slug(rv);
	r.detail = "the listener's TLS certificate or key cannot be loaded";
	proc_audit_write(&r);
	metrics_reload_note(0, 0);
	return rv;
}

/* The IdP certificates a SAML tenant trusts, "fp,fp", into buf. */
/* A record of the parent's: the file, and the syslog copy (not Redis). */
static void
proc_audit_write(const struct audit_rec *r)
{
	char	*line = NULL;

	if (audit_write_line(P.audit, r, &line) == BK_OK && line != NULL)
		audit_syslog_send(P.conf->audit_syslog, r->event,
		    r->outcome != NULL && strcmp(r->outcome, "accepted") == 0,
		    line, strlen(line));
	free(line);
}

static void
proc_tenant_certs(const struct conf_tenant *t, char *buf, size_t size)
{
	struct saml_tenant_info	 info;
	size_t			 i, n = 0;

	buf[0] = '\0';
	if (t == NULL || t->saml_sp == NULL)
		return;
	saml_tenant_info(t->saml_sp, &info);
	for (i = 0; i < info.n_certs && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "," : "",
		    info.certs[i].fingerprint);
}

/*
 * One record for a tenant the reload added (a NULL), removed (b NULL) or
 * changed: the file, and the directives before and after
 * (conf_tenant_diff(); secrets never shown).  Returns 1 if recorded.
 */
static int
proc_tenant_audit(const struct conf *nc, const struct conf_tenant *a,
    const struct conf_tenant *b)
{
	const struct conf_tenant *t = b != NULL ? b : a;
	struct audit_rec	 r;
	struct bk_buf		 d;
	char			*before = NULL, *after = NULL;
	char			 ca[160], cb[160];
	int			 rv;

	rv = conf_tenant_diff(a, b, &before, &after);
	proc_tenant_certs(a, ca, sizeof(ca));
	proc_tenant_certs(b, cb, sizeof(cb));
	if (rv == BK_OK && a != NULL && b != NULL && before == NULL &&
	    after == NULL && strcmp(a->file, b->file) == 0 &&
	    strcmp(ca, cb) == 0)
		return 0;	/* unchanged */
	bk_buf_init(&d, 1024);
	(void)bk_buf_addf(&d, "file %s", t->file);
	if (a != NULL && b != NULL && strcmp(a->file, b->file) != 0)
		(void)bk_buf_addf(&d, " (was %s)", a->file);
	if (strcmp(ca, cb) != 0)
		(void)bk_buf_addf(&d, "; IdP certificates %s -> %s",
		    ca[0] != '\0' ? ca : "none", cb[0] != '\0' ? cb : "none");
	memset(&r, 0, sizeof(r));
	r.event = a == NULL ? "tenant_added" : b == NULL ? "tenant_removed" :
	    "tenant_changed";
	r.outcome = "accepted";
	r.reason = "ok";
	r.tenant = t->id;
	r.instance = nc->instance;
	r.detail = rv != BK_OK ? "changes not recorded: out of memory" :
	    d.data;
	r.before = before;
	r.after = after;
	proc_audit_write(&r);
	bk_buf_free(&d);
	free(before);
	free(after);
	return 1;
}

/* The reload's records: each tenant changed, then the reload itself. */
static void
proc_reload_audit(const struct conf *old, const struct conf *nc)
{
	struct audit_rec	 r;
	char			 detail[256], *before = NULL, *after = NULL;
	size_t			 i, n = 0;

	for (i = 0; i < nc->n_tenants; i++)
		n += (size_t)proc_tenant_audit(nc,
		    conf_tenant_lookup(old, nc->tenants[i]->id),
		    nc->tenants[i]);
	for (i = 0; i < old->n_tenants; i++)
		if (conf_tenant_lookup(nc, old->tenants[i]->id) == NULL)
			n += (size_t)proc_tenant_audit(nc, old->tenants[i],
			    NULL);
	snprintf(detail, sizeof(detail), "file %s: %zu tenants, %zu added, "
	    "removed or changed", nc->file, nc->n_tenants, n);
	memset(&r, 0, sizeof(r));
	r.event = "config_reload";
	r.outcome = "accepted";
	r.reason = "ok";
	r.instance = nc->instance;
	r.detail = detail;
	/* broker.conf's own changes (trusted_proxies, ...) before and after */
	if (conf_broker_diff(old, nc, &before, &after) != BK_OK)
		r.detail = "broker.conf changes not recorded: out of memory";
	r.before = before;
	r.after = after;
	proc_audit_write(&r);
	free(before);
	free(after);
}

/*
 * [audit] key_file and epoch are the running ones until a restart: the
 * new holder loads the key the running chain uses.
 */
static int
proc_reload_keep_audit(const struct conf *old, struct conf *nc)
{
	char	*kf = NULL;

	if (!proc_str_differs(old->audit_key_file, nc->audit_key_file) &&
	    old->audit_epoch == nc->audit_epoch)
		return BK_OK;
	log_warnx("reload: [audit] key_file and epoch changes need a restart; "
	    "the running key and epoch are kept");
	if (old->audit_key_file != NULL &&
	    (kf = bk_strdup(old->audit_key_file)) == NULL)
		return BK_E_NOMEM;
	free(nc->audit_key_file);
	nc->audit_key_file = kf;
	nc->audit_epoch = old->audit_epoch;
	return BK_OK;
}

static void
proc_reload(void)
{
	struct conf		*nc = NULL, *old = P.conf;
	char			*errors = NULL, *line, *save = NULL;
	struct audit_rec	 r;
	SSL_CTX			*tls = NULL;
	struct keys		*keys = NULL;

	log_info("SIGHUP: reloading %s", P.path);
	if (proc_conf_load(P.path, &nc, &errors) != BK_OK) {
		for (line = strtok_r(errors, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			log_warnx("reload refused, keeping the running "
			    "configuration: %s", line);
		memset(&r, 0, sizeof(r));
		r.event = "config_reload";
		r.outcome = "rejected";
		r.reason = bk_err_slug(BK_E_CONF_SYNTAX);
		r.detail = "the new configuration has errors; see the log";
		r.instance = old->instance;
		proc_audit_write(&r);
		metrics_reload_note(0, 0);
		free(errors);
		return;
	}
	if (proc_reload_keep_audit(old, nc) != BK_OK ||
	    proc_reload_tls(nc, &tls) != BK_OK ||
	    proc_keys_start(nc, &keys, 0) != BK_OK) {
		if (tls != NULL)
			SSL_CTX_free(tls);
		proc_conf_free(nc);
		return;
	}
	if (proc_str_differs(nc->listen, old->listen) ||
	    proc_str_differs(nc->admin_listen, old->admin_listen) ||
	    proc_str_differs(nc->audit_path, old->audit_path) ||
	    proc_str_differs(nc->audit_key_file, old->audit_key_file) ||
	    nc->audit_epoch != old->audit_epoch)
		log_warnx("reload: listen, admin_listen and [audit] path, "
		    "key_file and epoch changes need a restart; the running "
		    "sockets, audit file and key are kept");
	/*
	 * Only a rotated file is reopened, under the audit lock; the chain
	 * state is never reset, because the old workers still write.
	 */
	if (audit_reopen(P.audit, proc_mon_push) != BK_OK)
		log_warnx("audit: cannot open the new %s; records stay in the "
		    "old file", old->audit_path);
	P.conf = nc;
	proc_raw_prepare(nc);
	proc_user_log(nc);
	/* New workers take the new context; the old ones drain on theirs. */
	if (P.tls != NULL)
		SSL_CTX_free(P.tls);
	P.tls = tls;
	proc_reload_access(nc);
	proc_generation_next(keys);
	if (P.access_old >= 0)
		close(P.access_old);
	P.access_old = -1;
	proc_reload_audit(old, nc);
	proc_conf_free(old);
	metrics_reload_note(1, (unsigned int)P.gen);
	log_info("reload done: %zu tenants", nc->n_tenants);
}

static int
proc_alive(void)
{
	int	 i, n = 0;

	for (i = 0; i < (int)BK_NELEM(P.w); i++)
		n += P.w[i].pid != 0;
	return n;
}

static void
proc_stop(void)
{
	struct timespec	 ts = { 0, 100 * 1000 * 1000 };
	time_t		 deadline = time(NULL) + PROC_STOP_SEC;
	int		 i;

	log_info("SIGTERM: draining %d workers", proc_alive());
	for (i = 0; i < (int)BK_NELEM(P.w); i++)
		if (P.w[i].pid != 0)
			kill(P.w[i].pid, SIGTERM);
	while (proc_alive() > 0 && time(NULL) < deadline) {
		proc_mon_poll(0);
		sigtimedwait(&P.sigs, NULL, &ts);
		proc_reap(1);
	}
	for (i = 0; i < (int)BK_NELEM(P.w); i++)
		if (P.w[i].pid != 0) {
			log_warnx("worker %d did not drain in time; killing it",
			    (int)P.w[i].pid);
			kill(P.w[i].pid, SIGKILL);
			waitpid(P.w[i].pid, NULL, 0);
			P.w[i].pid = 0;
		}
}

/*
 * The service manager hears READY once the tenants are loaded (they are:
 * the configuration was checked) and a worker's store answered, then a
 * STATUS line; the watchdog is fed from this loop.
 */
static void
proc_notify_tick(int *ready)
{
	char	 st[128];

	if (!*ready && store_shared_ready()) {
		*ready = 1;
		snprintf(st, sizeof(st), "serving %zu tenants with %d workers",
		    P.conf->n_tenants, P.nworkers);
		notify_ready(st);
	}
	notify_watchdog();
}

/* Signals, reaping and notifications until SIGTERM or SIGINT. */
/*
 * A worker the holder cut off (it sent a message outside the set) is
 * killed, and restarted on a new channel; a holder that died takes the
 * whole generation with it (the workers are recycled, as on a reload).
 */
static void
proc_keys_tick(void)
{
	int	 slot, idx;

	if (keys_poll(P.keys, &slot) != BK_OK) {
		log_warnx("keys: the key holder is gone; restarting it and "
		    "the workers");
		proc_generation_restart();
		return;
	}
	if (slot < 0 || slot >= P.nworkers)
		return;
	idx = proc_idx(P.gen, slot);
	if (P.w[idx].pid != 0) {
		log_warnx("keys: killing worker %d (slot %d): treated as "
		    "compromised", (int)P.w[idx].pid, slot + 1);
		kill(P.w[idx].pid, SIGKILL);
	}
	keys_chan_close(P.w[idx].kfd);
	P.w[idx].kfd = -1;
}

static void
proc_loop(void)
{
	struct signalfd_siginfo	 si;
	int			 sig, ready = 0;

	notify_status("starting: waiting for a worker's store");
	for (;;) {
		proc_mon_poll(500);
		while (read(P.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			sig = (int)si.ssi_signo;
			if (sig == SIGTERM || sig == SIGINT)
				return;
			if (sig == SIGHUP) {
				notify_reloading();
				proc_reload();
				ready = 0;	/* READY=1 ends RELOADING */
			}
		}
		proc_keys_tick();
		proc_reap(0);
		proc_notify_tick(&ready);
	}
}

int
proc_run(const char *path, struct conf *c)
{
	int		 rv, i;

	memset(&P, 0, sizeof(P));
	P.path = path;
	P.conf = c;
	P.pub_fd = P.adm_fd = P.access_fd = P.access_old = -1;
	for (i = 0; i < (int)BK_NELEM(P.w); i++)
		P.w[i].kfd = P.w[i].mreq = P.w[i].mpush = P.w[i].creq =
		    P.w[i].cpush = -1;
	P.seal_fd = -1;
	sigemptyset(&P.sigs);
	sigaddset(&P.sigs, SIGCHLD);
	sigaddset(&P.sigs, SIGHUP);
	sigaddset(&P.sigs, SIGTERM);
	sigaddset(&P.sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &P.sigs, NULL);
	if ((P.sigfd = signalfd(-1, &P.sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		fatal("signalfd");
	signal(SIGPIPE, SIG_IGN);
	/*
	 * A write past RLIMIT_FSIZE must fail with EFBIG (the audit write
	 * then refuses the sign-in with a 503), not kill the process; the
	 * workers inherit the disposition.
	 */
	signal(SIGXFSZ, SIG_IGN);
	if (metrics_init() != BK_OK || metrics_conf_init() != BK_OK ||
	    metrics_dec_init() != BK_OK || mdr_metrics_init() != BK_OK)
		fatalx("cannot allocate the metrics page");
	if (store_shared_init() != BK_OK)
		fatalx("cannot allocate the store's shared page");
	proc_nofile_raise();
	if ((rv = audit_open(c->audit_path, &P.audit)) != BK_OK)
		fatalx("audit: cannot open %s", c->audit_path);
	if (proc_bind(c->listen, &P.pub_fd) != BK_OK)
		fatalx("cannot listen on %s", c->listen);
	if (proc_bind(c->admin_listen, &P.adm_fd) != BK_OK)
		fatalx("cannot listen on %s", c->admin_listen);
	if (proc_tls_load(c, &P.tls) != BK_OK)
		fatalx("TLS: cannot load the listener's certificate");
	proc_tls_log(P.tls, c->tls_cert);
	proc_keys_start(c, &P.keys, 1);
	proc_audit_key(c);
	if (proc_access_open(c, &P.access_fd) != BK_OK)
		fatalx("cannot open [server] access_log %s", c->access_log);
	proc_raw_prepare(c);
	proc_user_log(c);
	P.nworkers = proc_nworkers(c);
	log_info("sso-broker listening on %s (public %s), admin on %s, %zu "
	    "tenants",
	    c->listen, c->public_url, c->admin_listen, c->n_tenants);
	proc_spawn_all();
	proc_loop();
	notify_stopping();
	/*
	 * New connections are refused from now on, not queued and reset when
	 * the last copy closes: close ours first; each worker closes its own
	 * as it starts draining.
	 */
	close(P.pub_fd);
	close(P.adm_fd);
	P.pub_fd = P.adm_fd = -1;
	proc_stop();
	audit_free(P.audit);
	if (P.tls != NULL)
		SSL_CTX_free(P.tls);
	proc_conf_free(P.conf);
	log_info("stopped");
	return 0;
}
