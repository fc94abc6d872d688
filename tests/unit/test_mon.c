/*
 * sso-broker: unit tests for the parent's services to unprivileged
 * workers (broker/mon.c).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The files an answer holds (rotated siblings oldest first, never a
 * compressed, temporary, key or raw file among them; the current file
 * last; the raw side file alone); a worker's request answered by a
 * forked "parent" over a real SOCK_SEQPACKET pair (files, a metadata
 * document written to the tenant's backing file); every message outside
 * the set refused with BK_E_IPC_MSG (unknown type, wrong size, an
 * answer's type, a descriptor where none belongs, a tenant without a
 * backing file); pushed audit descriptors, the newest one taken.
 * Files live under a mkdtemp() directory removed at the end.
 * Trust: none (test code).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bk.h"
#include "conf.h"
#include "ipc.h"
#include "mon.h"

static char	 dir[] = "/tmp/bk-mon-XXXXXX";
static char	 apath[256], mdpath[256];

static void
put(const char *name, const char *body, time_t mtime)
{
	char		 p[512];
	struct timespec	 ts[2];
	int		 fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	ts[0].tv_sec = ts[1].tv_sec = mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
}

static int
setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(apath, sizeof(apath), "%s/audit.jsonl", dir);
	snprintf(mdpath, sizeof(mdpath), "%s/idp.xml", dir);
	put("audit.jsonl", "current\n", 3000);
	put("audit.jsonl.1", "one\n", 2000);
	put("audit.jsonl.2", "two\n", 1000);
	put("audit.jsonl-20261203", "dated\n", 1000);
	put("audit.jsonl.3.gz", "gz", 500);
	put("audit.jsonl.key", "key", 500);
	put("audit.jsonl.tmp", "tmp", 500);
	put("audit.jsonl.raw", "raw\n", 500);
	put("other.jsonl.1", "other\n", 500);
	return 0;
}

static int
teardown(void **state)
{
	char	 cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *
base(const struct mon_file *f)
{
	return strrchr(f->path, '/') + 1;
}

static void
test_files_open(void **state)
{
	struct mon_files	 l;
	char			 b[16];

	(void)state;
	assert_int_equal(mon_files_open(apath, MON_F_ROTATED | MON_F_CURRENT,
	    &l), BK_OK);
	assert_int_equal(l.n, 4);
	/* oldest first; the same second: .2 before the dated one by name */
	assert_string_equal(base(&l.f[0]), "audit.jsonl.2");
	assert_string_equal(base(&l.f[1]), "audit.jsonl-20261203");
	assert_string_equal(base(&l.f[2]), "audit.jsonl.1");
	assert_string_equal(base(&l.f[3]), "audit.jsonl");
	assert_true(l.f[3].current && !l.f[0].current);
	assert_int_equal(read(l.f[3].fd, b, 8), 8);
	assert_memory_equal(b, "current\n", 8);
	mon_files_free(&l);
	assert_int_equal(mon_files_open(apath, MON_F_RAW, &l), BK_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(base(&l.f[0]), "audit.jsonl.raw");
	mon_files_free(&l);
}

/* A "parent" in a child process, answering until the channel closes. */
static pid_t
server(int fd, const struct conf *c)
{
	pid_t	 pid = fork();
	int	 rv;

	assert_true(pid >= 0);
	if (pid == 0) {
		while ((rv = mon_serve(fd, c)) == BK_OK)
			usleep(1000);
		_exit(rv == BK_E_IPC_PEER ? 0 : 1);
	}
	return pid;
}

static void
conf_fake(struct conf *c, struct conf_tenant *t, struct conf_tenant **tp)
{
	memset(c, 0, sizeof(*c));
	memset(t, 0, sizeof(*t));
	t->id = "acme";
	t->saml.idp_metadata = mdpath;
	t->saml.idp_metadata_url = "https://idp.example/md";
	*tp = t;
	c->audit_path = apath;
	c->tenants = tp;
	c->n_tenants = 1;
}

static void
test_worker_asks_parent(void **state)
{
	struct conf		 c;
	struct conf_tenant	 t, *tp;
	struct mon_files	 l;
	char			 b[32];
	int			 sv[2], st;
	pid_t			 pid;
	FILE			*fp;

	(void)state;
	conf_fake(&c, &t, &tp);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	pid = server(sv[0], &c);
	close(sv[0]);
	mon_worker_init(sv[1], -1);
	assert_true(mon_active());
	assert_int_equal(mon_files_get(apath, MON_F_ROTATED, &l), BK_OK);
	assert_int_equal(l.n, 3);
	assert_string_equal(base(&l.f[2]), "audit.jsonl.1");
	assert_int_equal(read(l.f[2].fd, b, 4), 4);
	assert_memory_equal(b, "one\n", 4);
	mon_files_free(&l);
	assert_int_equal(mon_files_get(apath, MON_F_RAW, &l), BK_OK);
	assert_int_equal(l.n, 1);
	mon_files_free(&l);
	assert_int_equal(mon_md_save("acme", "<md/>", 5), BK_OK);
	assert_non_null(fp = fopen(mdpath, "r"));
	assert_non_null(fgets(b, sizeof(b), fp));
	fclose(fp);
	assert_string_equal(b, "<md/>");
	/* no backing file for that tenant: the parent cuts the worker off */
	assert_int_equal(mon_md_save("beta", "<md/>", 5), BK_E_SAML_MD_WRITE);
	mon_worker_init(-1, -1);
	close(sv[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}

/* Descriptors open in this process. */
static int
open_fds(void)
{
	DIR	*d = opendir("/proc/self/fd");
	int	 n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/*
 * Raw bytes (and fds) from a worker: what mon_serve() says to them.  No
 * descriptor that came with a refused message may stay open.
 */
static int
hostile(const void *msg, size_t len, int nfd)
{
	struct conf		 c;
	struct conf_tenant	 t, *tp;
	int			 sv[2], fds[IPC_FDS_MAX], i, rv, before;

	conf_fake(&c, &t, &tp);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	for (i = 0; i < nfd; i++)
		fds[i] = open("/dev/null", O_RDONLY);
	assert_int_equal(ipc_send(sv[1], msg, len, NULL, 0, fds, nfd), BK_OK);
	for (i = 0; i < nfd; i++)
		close(fds[i]);
	before = open_fds();
	rv = mon_serve(sv[0], &c);
	if (rv != BK_OK)
		assert_int_equal(open_fds(), before);
	close(sv[0]);
	close(sv[1]);
	return rv;
}

static void
test_hostile_messages(void **state)
{
	uint32_t	 m[80];

	(void)state;
	memset(m, 0, sizeof(m));
	m[0] = 1;	/* files, what = 0 */
	m[1] = 4;
	assert_int_equal(hostile(m, 12, 0), BK_E_IPC_MSG);
	m[2] = 64;	/* a bit outside the set */
	assert_int_equal(hostile(m, 12, 0), BK_E_IPC_MSG);
	m[1] = 8;	/* wrong size */
	m[2] = MON_F_ROTATED;
	assert_int_equal(hostile(m, 16, 0), BK_E_IPC_MSG);
	m[1] = 4;	/* a descriptor where none belongs */
	assert_int_equal(hostile(m, 12, 1), BK_E_IPC_MSG);
	assert_int_equal(hostile(m, 12, 3), BK_E_IPC_MSG);	/* too many */
	m[0] = 99;	/* unknown type */
	m[1] = 0;
	assert_int_equal(hostile(m, 8, 0), BK_E_IPC_MSG);
	m[0] = 101;	/* an answer's type, from a worker */
	m[1] = 4;
	assert_int_equal(hostile(m, 12, 0), BK_E_IPC_MSG);
	m[0] = 3;	/* not a type of the set (any more) */
	assert_int_equal(hostile(m, 12, 0), BK_E_IPC_MSG);
	m[0] = 2;	/* metadata: no memfd */
	m[1] = 128;
	memcpy(&m[2], "acme", 5);
	assert_int_equal(hostile(m, 8 + 128, 0), BK_E_IPC_MSG);
	memset(&m[2], 'a', 128);	/* a tenant id without its NUL */
	assert_int_equal(hostile(m, 8 + 128, 1), BK_E_IPC_MSG);
	assert_int_equal(hostile(m, 4, 0), BK_E_IPC_MSG);	/* short */
	/* the peer gone: not a compromise */
	{
		struct conf		 c;
		struct conf_tenant	 t, *tp;
		int			 sv[2];

		conf_fake(&c, &t, &tp);
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv),
		    0);
		close(sv[1]);
		assert_int_equal(mon_serve(sv[0], &c), BK_E_IPC_PEER);
		close(sv[0]);
	}
}

static void
test_push_newest(void **state)
{
	int	 sv[2], fd, rfd, a, b;
	char	 c;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	a = open(apath, O_RDONLY);
	b = open("/dev/null", O_RDONLY);
	assert_int_equal(mon_push_audit(sv[0], 5, b, b), BK_OK);
	assert_int_equal(mon_push_audit(sv[0], 6, a, a), BK_OK);
	mon_worker_init(-1, sv[1]);
	assert_int_equal(mon_audit_take(6, &fd, &rfd), BK_OK);
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, 'c');	/* "current": generation 6's */
	close(fd);
	close(rfd);
	assert_int_equal(mon_audit_take(7, &fd, &rfd), BK_E_NOT_FOUND);
	assert_int_equal(fd, -1);
	mon_worker_init(-1, -1);
	close(a);
	close(b);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_open),
		cmocka_unit_test(test_worker_asks_parent),
		cmocka_unit_test(test_hostile_messages),
		cmocka_unit_test(test_push_newest),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
