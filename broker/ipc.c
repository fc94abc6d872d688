/*
 * sso-broker: one datagram with descriptors (ipc.h).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "bk.h"
#include "ipc.h"

int
ipc_send(int fd, const void *hdr, size_t hlen, const void *body, size_t blen,
    const int *fds, int nfd)
{
	union {
		struct cmsghdr	c;
		char		b[CMSG_SPACE(IPC_FDS_MAX * sizeof(int))];
	} cm;
	struct iovec	 iov[2] = { { (void *)(uintptr_t)hdr, hlen },
	    { (void *)(uintptr_t)body, blen } };
	struct msghdr	 m;
	struct cmsghdr	*c;

	BK_ASSERT(nfd >= 0 && nfd <= IPC_FDS_MAX);
	memset(&m, 0, sizeof(m));
	m.msg_iov = iov;
	m.msg_iovlen = blen > 0 ? 2 : 1;
	if (nfd > 0) {
		memset(&cm, 0, sizeof(cm));
		m.msg_control = cm.b;
		m.msg_controllen = CMSG_SPACE((size_t)nfd * sizeof(int));
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN((size_t)nfd * sizeof(int));
		memcpy(CMSG_DATA(c), fds, (size_t)nfd * sizeof(int));
	}
	return sendmsg(fd, &m, MSG_NOSIGNAL) == (ssize_t)(hlen + blen) ?
	    BK_OK : BK_E_IPC_PEER;
}

void
ipc_msg_close(struct ipc_msg *m)
{
	int	 i;

	for (i = 0; i < m->nfd; i++)
		if (m->fd[i] >= 0)
			close(m->fd[i]);
	m->nfd = 0;
}

int
ipc_recv(int fd, void *buf, size_t cap, int maxfd, int flags,
    struct ipc_msg *out)
{
	union {
		struct cmsghdr	c;
		char		b[CMSG_SPACE((IPC_FDS_MAX + 1) * sizeof(int))];
	} cm;
	struct iovec	 iov = { buf, cap };
	struct msghdr	 m;
	struct cmsghdr	*c;
	ssize_t		 n;
	size_t		 k, i;
	int		 x, over = 0;

	BK_ASSERT(maxfd >= 0 && maxfd <= IPC_FDS_MAX);
	memset(out, 0, sizeof(*out));
	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cm.b;
	m.msg_controllen = sizeof(cm.b);
	if ((n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC | flags)) < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ?
		    BK_E_NOT_FOUND : BK_E_IPC_PEER;
	/* Every descriptor that came is either kept or closed. */
	for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(x));
			if (out->nfd < maxfd)
				out->fd[out->nfd++] = x;
			else {
				close(x);
				over = 1;
			}
		}
	}
	if (n == 0 && out->nfd == 0 && !over)
		return BK_E_IPC_PEER;
	if (over || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
		ipc_msg_close(out);
		return BK_E_IPC_MSG;
	}
	out->len = (size_t)n;
	return BK_OK;
}
