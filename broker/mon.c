/*
 * sso-broker: the parent's services for unprivileged workers (mon.h).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "bk.h"
#include "conf.h"
#include "log.h"
#include "ipc.h"
#include "mon.h"

/* A metadata document is at most SAML_METADATA_MAX (saml/saml_int.h). */
#define MON_MD_MAX	(1024 * 1024)
#define MON_NAME_MAX	256
#define MON_TENANT_MAX	128
#define MON_FDS_MAX	2
/* A worker waits this long for an answer (the parent may be reloading). */
#define MON_ANSWER_S	10
/* The parent gives a worker this long to take an answer's message. */
#define MON_SEND_S	2

enum mon_type {
	MON_Q_FILES = 1,	/* worker: struct mon_q_files */
	MON_Q_MD_SAVE,		/* worker: struct mon_q_md, memfd attached */
	MON_A_FILE = 100,	/* parent: struct mon_a_file, fd attached */
	MON_A_DONE,		/* parent: struct mon_a_done, the last */
	MON_P_AUDIT = 200	/* parent push: struct mon_p_audit, 2 fds */
};

struct mon_hdr {
	uint32_t	type;
	uint32_t	len;
};

struct mon_q_files {
	uint32_t	what;
};

struct mon_q_md {
	char		tenant[MON_TENANT_MAX];
};

struct mon_a_file {
	int64_t		mtime;
	uint32_t	current;
	char		name[MON_NAME_MAX];
};

struct mon_a_done {
	int32_t		rv;
};

struct mon_p_audit {
	uint64_t	fgen;
};

union mon_body {
	struct mon_q_files	files;
	struct mon_q_md		md;
	struct mon_a_file	file;
	struct mon_a_done	done;
	struct mon_p_audit	push;
};

#define MON_MSG_MAX	(sizeof(struct mon_hdr) + sizeof(union mon_body))

struct mon_msg {
	struct mon_hdr	h;
	union mon_body	b;
	struct ipc_msg	io;	/* its descriptors (at most MON_FDS_MAX) */
};

static int		mon_req = -1, mon_push = -1;
static pthread_mutex_t	mon_mu = PTHREAD_MUTEX_INITIALIZER;

/* --- wire --- */

static int
mon_send(int fd, uint32_t type, const void *body, size_t len,
    const int *fds, int nfd)
{
	struct mon_hdr	 h = { type, (uint32_t)len };

	return ipc_send(fd, &h, sizeof(h), body, len, fds, nfd);
}

/* The size each type must have, or -1 for a type outside the set. */
static ssize_t
mon_type_len(uint32_t type)
{
	switch (type) {
	case MON_Q_FILES:	return sizeof(struct mon_q_files);
	case MON_Q_MD_SAVE:	return sizeof(struct mon_q_md);
	case MON_A_FILE:	return sizeof(struct mon_a_file);
	case MON_A_DONE:	return sizeof(struct mon_a_done);
	case MON_P_AUDIT:	return sizeof(struct mon_p_audit);
	default:		return -1;
	}
}

/*
 * One message: its size checked against its type, at most MON_FDS_MAX
 * descriptors (more, or a cut message, is BK_E_IPC_MSG).  flags as
 * recvmsg()'s; EAGAIN is BK_E_NOT_FOUND, 0 bytes BK_E_IPC_PEER.
 */
static int
mon_recv(int fd, struct mon_msg *out, int flags)
{
	unsigned char	 buf[MON_MSG_MAX + 1];
	struct ipc_msg	 im;
	ssize_t		 want;
	int		 rv;

	memset(out, 0, sizeof(*out));
	if ((rv = ipc_recv(fd, buf, sizeof(buf), MON_FDS_MAX, flags, &im)) !=
	    BK_OK)
		return rv;
	if (im.len < sizeof(out->h))
		rv = BK_E_IPC_MSG;
	else {
		memcpy(&out->h, buf, sizeof(out->h));
		want = mon_type_len(out->h.type);
		if (want < 0 || out->h.len != (size_t)want ||
		    im.len != sizeof(out->h) + (size_t)want)
			rv = BK_E_IPC_MSG;
		else
			memcpy(&out->b, buf + sizeof(out->h), (size_t)want);
	}
	if (rv != BK_OK) {
		ipc_msg_close(&im);
		return rv;
	}
	out->io = im;
	return BK_OK;
}

static void
mon_timeout(int fd, int opt, int seconds)
{
	struct timeval	 tv = { seconds, 0 };

	(void)setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

/* --- the files, opened in this process --- */

static int
mon_file_cmp(const void *a, const void *b)
{
	const struct mon_file *x = a, *y = b;

	if (x->current != y->current)
		return x->current - y->current;
	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	/* the same second: "audit.log.2" is older than "audit.log.1" */
	return strcmp(y->path, x->path);
}

/*
 * A rotated sibling of the audit file base: base, '.' or '-', a suffix;
 * not compressed, not a temporary, key or raw assertions' file.
 */
static int
mon_is_rotated(const char *base, const char *name)
{
	static const char *const skip[] = { ".gz", ".xz", ".bz2", ".zst",
	    ".lz4", ".z", ".Z", ".tmp", ".key", ".raw" };
	size_t	 bl = strlen(base), nl = strlen(name), i, sl;

	if (nl <= bl + 1 || strncmp(name, base, bl) != 0 ||
	    (name[bl] != '.' && name[bl] != '-'))
		return 0;
	for (i = 0; i < BK_NELEM(skip); i++) {
		sl = strlen(skip[i]);
		if (nl >= sl && strcmp(name + nl - sl, skip[i]) == 0)
			return 0;
	}
	return 1;
}

/* Add name (in dir, open at dfd) to l: a regular file, opened O_RDONLY. */
static int
mon_files_add(struct mon_files *l, int dfd, const char *dir,
    const char *name, int current)
{
	struct mon_file	*nf;
	struct stat	 st;
	struct bk_buf	 b;
	int		 fd;

	if (l->n >= MON_FILES_MAX)
		return BK_E_TOOBIG;
	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) < 0)
		return errno == ENOENT ? BK_OK : BK_E_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return BK_OK;	/* not a file */
	}
	bk_buf_init(&b, PATH_MAX);
	if (bk_buf_addf(&b, "%s/%s", dir, name) != BK_OK ||
	    (nf = reallocarray(l->f, l->n + 1, sizeof(*nf))) == NULL) {
		bk_buf_free(&b);
		close(fd);
		return BK_E_NOMEM;
	}
	l->f = nf;
	nf[l->n].path = bk_buf_take(&b);
	nf[l->n].mtime = st.st_mtime;
	nf[l->n].current = current;
	nf[l->n].fd = fd;
	l->n++;
	return BK_OK;
}

void
mon_files_free(struct mon_files *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++) {
		if (l->f[i].fd >= 0)
			close(l->f[i].fd);
		free(l->f[i].path);
	}
	free(l->f);
	l->f = NULL;
	l->n = 0;
}

int
mon_files_open(const char *audit_path, int what, struct mon_files *out)
{
	char		 dir[PATH_MAX], raw[NAME_MAX + 1];
	const char	*slash = strrchr(audit_path, '/'), *base;
	struct dirent	*e;
	DIR		*d = NULL;
	int		 dfd, rv = BK_OK;

	memset(out, 0, sizeof(*out));
	base = slash != NULL ? slash + 1 : audit_path;
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (snprintf(dir, sizeof(dir), "%.*s", slash == audit_path ? 1 :
	    (int)(slash - audit_path), audit_path) >= (int)sizeof(dir))
		return BK_E_TOOBIG;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return BK_E_IO;
	if ((what & MON_F_ROTATED) != 0) {
		if ((d = fdopendir(dup(dfd))) == NULL)
			rv = BK_E_IO;
		while (rv == BK_OK && (e = readdir(d)) != NULL)
			if (mon_is_rotated(base, e->d_name))
				rv = mon_files_add(out, dfd, dir, e->d_name, 0);
		if (d != NULL)
			closedir(d);
	}
	if (rv == BK_OK && (what & MON_F_CURRENT) != 0)
		rv = mon_files_add(out, dfd, dir, base, 1);
	if (rv == BK_OK && (what & MON_F_RAW) != 0) {
		if (snprintf(raw, sizeof(raw), "%s.raw", base) >=
		    (int)sizeof(raw))
			rv = BK_E_TOOBIG;
		else
			rv = mon_files_add(out, dfd, dir, raw, 1);
	}
	close(dfd);
	if (rv != BK_OK)
		mon_files_free(out);
	else if (out->n > 1)
		qsort(out->f, out->n, sizeof(*out->f), mon_file_cmp);
	return rv;
}

/* --- parent --- */

int
mon_chan_new(int *parent_req, int *parent_push, int *child_req,
    int *child_push)
{
	int	 a[2], b[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, a) != 0)
		return BK_E_IO;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, b) != 0) {
		close(a[0]);
		close(a[1]);
		return BK_E_IO;
	}
	mon_timeout(a[0], SO_SNDTIMEO, MON_SEND_S);
	mon_timeout(b[0], SO_SNDTIMEO, MON_SEND_S);
	*parent_req = a[0];
	*child_req = a[1];
	*parent_push = b[0];
	*child_push = b[1];
	return BK_OK;
}

static int
mon_done(int fd, int rv)
{
	struct mon_a_done	 d = { rv };

	return mon_send(fd, MON_A_DONE, &d, sizeof(d), NULL, 0);
}

static int
mon_serve_files(int fd, const struct conf *c, uint32_t what)
{
	struct mon_files	 l;
	struct mon_a_file	 a;
	const char		*name;
	size_t			 i;
	int			 rv;

	if (what == 0 || (what & ~(uint32_t)(MON_F_ROTATED | MON_F_CURRENT |
	    MON_F_RAW)) != 0)
		return BK_E_IPC_MSG;
	rv = mon_files_open(c->audit_path, (int)what, &l);
	for (i = 0; rv == BK_OK && i < l.n; i++) {
		memset(&a, 0, sizeof(a));
		name = strrchr(l.f[i].path, '/');
		snprintf(a.name, sizeof(a.name), "%s",
		    name != NULL ? name + 1 : l.f[i].path);
		a.mtime = (int64_t)l.f[i].mtime;
		a.current = (uint32_t)l.f[i].current;
		if (mon_send(fd, MON_A_FILE, &a, sizeof(a), &l.f[i].fd, 1) !=
		    BK_OK)
			rv = BK_E_IPC_PEER;
	}
	if (rv != BK_E_IPC_PEER && mon_done(fd, rv) != BK_OK)
		rv = BK_E_IPC_PEER;
	mon_files_free(&l);
	return rv == BK_E_IPC_PEER ? rv : BK_OK;
}

/* The tenant's backing file replaced by the memfd's bytes. */
static int
mon_serve_md(int fd, const struct conf *c, struct mon_msg *m)
{
	const struct conf_tenant *t = NULL;
	struct stat		 st;
	char			*buf = NULL;
	size_t			 i;
	ssize_t			 n = 0;
	int			 rv = BK_E_SAML_MD_WRITE, e, mfd;

	if (m->io.nfd != 1 || memchr(m->b.md.tenant, '\0',
	    sizeof(m->b.md.tenant)) == NULL)
		return BK_E_IPC_MSG;
	for (i = 0; i < c->n_tenants && t == NULL; i++)
		if (strcmp(c->tenants[i]->id, m->b.md.tenant) == 0)
			t = c->tenants[i];
	if (t == NULL || t->saml.idp_metadata_url == NULL ||
	    t->saml.idp_metadata == NULL)
		return BK_E_IPC_MSG;	/* no backing file to ask for */
	mfd = m->io.fd[0];
	if (fstat(mfd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size > 0 && st.st_size <= MON_MD_MAX &&
	    (buf = malloc((size_t)st.st_size)) != NULL &&
	    (n = pread(mfd, buf, (size_t)st.st_size, 0)) == st.st_size) {
		if ((e = bk_file_replace(t->saml.idp_metadata, buf, (size_t)n,
		    0644)) == 0)
			rv = BK_OK;
		else
			log_warnx("tenant %s: cannot write the IdP metadata "
			    "backing file %s: %s", t->id, t->saml.idp_metadata,
			    strerror(e));
	}
	free(buf);
	return mon_done(fd, rv);
}

int
mon_serve(int fd, const struct conf *c)
{
	struct mon_msg	 m;
	int		 rv;

	if ((rv = mon_recv(fd, &m, MSG_DONTWAIT)) != BK_OK)
		return rv == BK_E_NOT_FOUND ? BK_OK : rv;
	switch (m.h.type) {
	case MON_Q_FILES:
		rv = m.io.nfd == 0 ? mon_serve_files(fd, c, m.b.files.what) :
		    BK_E_IPC_MSG;
		break;
	case MON_Q_MD_SAVE:
		rv = mon_serve_md(fd, c, &m);
		break;
	default:
		rv = BK_E_IPC_MSG;	/* an answer's type from a worker */
		break;
	}
	ipc_msg_close(&m.io);
	return rv;
}

int
mon_push_audit(int push_fd, unsigned long long fgen, int fd, int rfd)
{
	struct mon_p_audit	 p = { fgen };
	int			 fds[2] = { fd, rfd };

	return mon_send(push_fd, MON_P_AUDIT, &p, sizeof(p), fds, 2);
}

/* --- worker --- */

void
mon_worker_init(int req_fd, int push_fd)
{
	mon_req = req_fd;
	mon_push = push_fd;
	if (mon_req >= 0)
		mon_timeout(mon_req, SO_RCVTIMEO, MON_ANSWER_S);
}

int
mon_active(void)
{
	return mon_req >= 0;
}

/* Under mon_mu: answers until MON_A_DONE; files into out. */
static int
mon_files_read(const char *audit_path, struct mon_files *out)
{
	const char	*slash = strrchr(audit_path, '/');
	struct mon_file	*nf;
	struct mon_msg	 m;
	struct bk_buf	 b;
	int		 rv;

	for (;;) {
		if ((rv = mon_recv(mon_req, &m, 0)) != BK_OK)
			return rv == BK_E_NOT_FOUND ? BK_E_IPC_PEER : rv;
		if (m.h.type == MON_A_DONE && m.io.nfd == 0)
			return m.b.done.rv;
		if (m.h.type != MON_A_FILE || m.io.nfd != 1 ||
		    memchr(m.b.file.name, '\0', sizeof(m.b.file.name)) ==
		    NULL || out->n >= MON_FILES_MAX) {
			ipc_msg_close(&m.io);
			return BK_E_IPC_MSG;
		}
		bk_buf_init(&b, PATH_MAX);
		if (bk_buf_addf(&b, "%.*s%s", slash != NULL ? (int)(slash -
		    audit_path + 1) : 0, audit_path, m.b.file.name) != BK_OK ||
		    (nf = reallocarray(out->f, out->n + 1,
		    sizeof(*nf))) == NULL) {
			bk_buf_free(&b);
			ipc_msg_close(&m.io);
			return BK_E_NOMEM;	/* the caller drains the rest */
		}
		out->f = nf;
		nf[out->n].path = bk_buf_take(&b);
		nf[out->n].mtime = (time_t)m.b.file.mtime;
		nf[out->n].current = m.b.file.current != 0;
		nf[out->n].fd = m.io.fd[0];
		out->n++;
	}
}

int
mon_files_get(const char *audit_path, int what, struct mon_files *out)
{
	struct mon_q_files	 q = { (uint32_t)what };
	struct mon_msg		 m;
	int			 rv;

	memset(out, 0, sizeof(*out));
	if (!mon_active())
		return mon_files_open(audit_path, what, out);
	pthread_mutex_lock(&mon_mu);
	if ((rv = mon_send(mon_req, MON_Q_FILES, &q, sizeof(q), NULL, 0)) ==
	    BK_OK && (rv = mon_files_read(audit_path, out)) == BK_E_NOMEM) {
		/* drain to the end, so the next request starts clean */
		while (mon_recv(mon_req, &m, 0) == BK_OK &&
		    m.h.type != MON_A_DONE)
			ipc_msg_close(&m.io);
	}
	pthread_mutex_unlock(&mon_mu);
	if (rv != BK_OK)
		mon_files_free(out);
	return rv;
}

int
mon_audit_take(unsigned long long fgen, int *fd, int *rfd)
{
	struct mon_msg	 m;
	int		 rv;

	*fd = *rfd = -1;
	for (;;) {
		if ((rv = mon_recv(mon_push, &m, MSG_DONTWAIT)) != BK_OK)
			break;
		if (m.h.type != MON_P_AUDIT || m.io.nfd != 2) {
			ipc_msg_close(&m.io);
			rv = BK_E_IPC_MSG;
			break;
		}
		if (*fd >= 0)
			close(*fd);
		if (*rfd >= 0)
			close(*rfd);
		*fd = m.io.fd[0];
		*rfd = m.io.fd[1];
		if (m.b.push.fgen == fgen)
			return BK_OK;
	}
	if (*fd >= 0)
		close(*fd);
	if (*rfd >= 0)
		close(*rfd);
	*fd = *rfd = -1;
	return rv == BK_E_IPC_PEER || rv == BK_E_IPC_MSG ? BK_E_IPC_PEER :
	    BK_E_NOT_FOUND;
}

int
mon_md_save(const char *tenant, const char *body, size_t len)
{
	struct mon_q_md	 q;
	struct mon_msg	 m;
	size_t		 off = 0;
	ssize_t		 w;
	int		 fd, rv;

	memset(&q, 0, sizeof(q));
	if (strlen(tenant) >= sizeof(q.tenant) || len > MON_MD_MAX)
		return BK_E_SAML_MD_WRITE;
	snprintf(q.tenant, sizeof(q.tenant), "%s", tenant);
	if ((fd = memfd_create("sso-broker-md", MFD_CLOEXEC)) < 0)
		return BK_E_SAML_MD_WRITE;
	while (off < len && (w = write(fd, body + off, len - off)) > 0)
		off += (size_t)w;
	if (off != len) {
		close(fd);
		return BK_E_SAML_MD_WRITE;
	}
	pthread_mutex_lock(&mon_mu);
	rv = mon_send(mon_req, MON_Q_MD_SAVE, &q, sizeof(q), &fd, 1);
	if (rv == BK_OK && (rv = mon_recv(mon_req, &m, 0)) == BK_OK) {
		rv = m.h.type == MON_A_DONE ? m.b.done.rv : BK_E_IPC_MSG;
		ipc_msg_close(&m.io);
	}
	pthread_mutex_unlock(&mon_mu);
	close(fd);
	return rv == BK_OK ? BK_OK : BK_E_SAML_MD_WRITE;
}
