/*
 * sso-broker: one datagram with descriptors over a SOCK_SEQPACKET
 * channel, for the key holder (keys.c) and the parent's file service
 * (mon.c).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Each caller owns its message types and their sizes; here only the
 * transport: a header and a body in one sendmsg(), descriptors as
 * SCM_RIGHTS, and a receive that never keeps more descriptors than it was
 * asked for (the rest are closed, not leaked) and says when a message was
 * cut.
 * Trust: what arrives is the peer's; the caller checks its type and size.
 */
#ifndef BK_IPC_H
#define BK_IPC_H

#include <stddef.h>

/**
 * Send hdr (hlen bytes), then body (blen bytes, may be 0), with nfd
 * descriptors (at most IPC_FDS_MAX).
 * @return BK_OK or BK_E_IPC_PEER (not sent whole).
 */
int	ipc_send(int fd, const void *hdr, size_t hlen, const void *body,
	    size_t blen, const int *fds, int nfd);

#define IPC_FDS_MAX	4

/* A received datagram: its bytes (borrowed buf) and the descriptors kept. */
struct ipc_msg {
	size_t	 len;			/* bytes in buf */
	int	 fd[IPC_FDS_MAX];	/* received, owned by the caller */
	int	 nfd;
};

/**
 * One datagram into buf (cap bytes; a longer one is cut), keeping at most
 * maxfd (<= IPC_FDS_MAX) descriptors.  flags as recvmsg()'s
 * (MSG_DONTWAIT).
 * @return BK_OK; BK_E_NOT_FOUND (nothing waiting, with MSG_DONTWAIT);
 * BK_E_IPC_PEER (closed, or an error); BK_E_IPC_MSG (cut, or more
 * descriptors than maxfd: none kept).
 */
int	ipc_recv(int fd, void *buf, size_t cap, int maxfd, int flags,
	    struct ipc_msg *out);
/** Close the descriptors of m. */
void	ipc_msg_close(struct ipc_msg *m);

#endif /* BK_IPC_H */
