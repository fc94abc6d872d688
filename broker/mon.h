/*
 * sso-broker: the parent's services for unprivileged workers.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Started as root, the parent binds the sockets, reads the configuration,
 * keys and secrets and opens the audit file; the workers then run as
 * [server] user with no capabilities and cannot open a file of the
 * broker's (the audit directory is the parent's).  What a worker still
 * needs from the file system it asks the parent for, as OpenSSH's privsep
 * children ask the monitor, over two SOCK_SEQPACKET channels per worker:
 *   - requests (worker -> parent, each answered): the audit files for
 *     reading (the file, its rotated siblings, the raw assertions' side
 *     file: descriptors only, never a path the worker chose), a fetched
 *     IdP metadata document for its backing file (a memfd; the parent
 *     writes it where the tenant's configuration says, never parses it);
 *   - pushes (parent -> worker): after a rotation, the new audit file's
 *     descriptors, sent before the chain's file generation moves, so a
 *     worker that sees the new generation finds them waiting.
 * Every message's size is checked against its type; a worker that sends
 * anything else is cut off and killed (proc.c), as the key holder does.
 * A process without channels (the parent itself, --check-config, ssoctl's
 * code, unit tests) opens the files directly: mon_active() tells which.
 * Trust: requests are untrusted; the parent's answers are trusted.
 */
#ifndef BK_MON_H
#define BK_MON_H

#include <stddef.h>
#include <time.h>

struct conf;

/* What MON_FILES asks for (bits). */
#define MON_F_ROTATED	1	/* the rotated siblings, oldest first */
#define MON_F_CURRENT	2	/* the audit file itself, last */
#define MON_F_RAW	4	/* the raw assertions' side file */
/* At most this many files in one answer. */
#define MON_FILES_MAX	1000

/* One open file of an answer: fd is the caller's to close. */
struct mon_file {
	char	*path;		/* the audit directory + the file's name */
	time_t	 mtime;
	int	 current;	/* the audit file itself */
	int	 fd;		/* O_RDONLY, or -1 once taken */
};

struct mon_files {
	struct mon_file	*f;
	size_t		 n;
};

/* --- parent --- */

/*
 * A worker's two channels: *parent_req and *parent_push stay in the parent,
 * *child_req and *child_push go to the worker (mon_worker_init()).
 * @return BK_OK or BK_E_IO.
 */
int	mon_chan_new(int *parent_req, int *parent_push, int *child_req,
	    int *child_push);
/*
 * Answer one request read from fd (readable).  c is the configuration in
 * force.
 * @return BK_OK, BK_E_IPC_PEER (the worker closed its end) or BK_E_IPC_MSG
 *	(a message outside the set: cut the worker off).
 */
int	mon_serve(int fd, const struct conf *c);
/* After a rotation, before the chain's generation moves: fd and rfd. */
int	mon_push_audit(int push_fd, unsigned long long fgen, int fd, int rfd);

/* --- worker --- */

/* This worker's channels (its ends); both are kept until exit. */
void	mon_worker_init(int req_fd, int push_fd);
/* 1 in a worker with channels. */
int	mon_active(void);
/*
 * The audit files what asks for (MON_F_*), open for reading, oldest first,
 * current last.  In a process without channels, opened here.  Any thread.
 * @return BK_OK (possibly none), BK_E_TOOBIG, BK_E_NOMEM, BK_E_IO,
 *	BK_E_IPC_PEER.
 */
int	mon_files_get(const char *audit_path, int what, struct mon_files *out);
void	mon_files_free(struct mon_files *l);
/*
 * The newest audit file descriptors pushed for generation fgen (the
 * earlier ones read and closed).  Under the chain's lock.
 * @return BK_OK, BK_E_NOT_FOUND (not pushed), BK_E_IPC_PEER.
 */
int	mon_audit_take(unsigned long long fgen, int *fd, int *rfd);
/*
 * A fetched IdP metadata document (already checked and in force) for the
 * tenant's backing file.  Any thread.  BK_OK or BK_E_SAML_MD_WRITE.
 */
int	mon_md_save(const char *tenant, const char *body, size_t len);

/*
 * Both sides: the files the answer would hold, opened in this process
 * (mon_files_get() without channels, and the parent's answer).
 */
int	mon_files_open(const char *audit_path, int what, struct mon_files *out);

#endif /* BK_MON_H */
