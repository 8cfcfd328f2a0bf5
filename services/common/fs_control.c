/* SPDX-License-Identifier: Apache-2.0 */
/* fs_control - the lockstep control socket (see fs_control.h). */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fs_control.h"
#include "fs_log.h"

#define SOURCE "(control socket)"

int fs_control_path(const char *address, char *buf, size_t size)
{
	if (!address || strncmp(address, "ipc://", 6)) {
		return -ENOTSUP;
	}
	int n = snprintf(buf, size, "%s/ctl", address + 6);
	if (n < 0 || (size_t)n >= size || (size_t)n >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		return -ENAMETOOLONG;
	}
	return 0;
}

static int socket_address(const char *address, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	return fs_control_path(address, sun->sun_path, sizeof(sun->sun_path));
}

/*
 * Room for a whole tick's control traffic queued on one connection: a Tick
 * names every (sender, topic) of the last tick, a few dozen bytes each.
 */
static void set_buffers(int fd)
{
	int size = (int)FS_CONTROL_MAX_DATAGRAM * 2;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

int fs_control_listen(const char *address)
{
	struct sockaddr_un sun;
	int rc = socket_address(address, &sun);
	if (rc < 0) {
		return rc;
	}
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		return -errno;
	}
	unlink(sun.sun_path); /* a previous run's, left by a crash: nobody listens on it */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 256) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int fs_control_accept(int listen_fd)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
	set_buffers(fd);
	return fd;
}

int fs_control_connect(const char *address)
{
	struct sockaddr_un sun;
	int rc = socket_address(address, &sun);
	if (rc < 0) {
		return rc;
	}
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	set_buffers(fd);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	/* Non-blocking from here: a participant polls it next to its bus socket. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* The datagram's size for @env on @topic, or 0 (logged) if it is over the limit. */
static size_t framed_size(const char *topic, const Fleetsim__V1__Envelope *env)
{
	size_t size = strlen(topic) + 1 + fleetsim__v1__envelope__get_packed_size(env);
	if (size > FS_CONTROL_MAX_DATAGRAM) {
		fs_error("%s message of %zu bytes is over the control socket's limit of %zu", topic, size,
			 FS_CONTROL_MAX_DATAGRAM);
		return 0;
	}
	return size;
}

/* "TOPIC\0ENVELOPE" into @buf, which holds framed_size() bytes. */
static void frame(const char *topic, const Fleetsim__V1__Envelope *env, uint8_t *buf)
{
	size_t topic_len = strlen(topic);
	memcpy(buf, topic, topic_len + 1);
	fleetsim__v1__envelope__pack(env, buf + topic_len + 1);
}

uint8_t *fs_control_pack(const char *topic, const Fleetsim__V1__Envelope *env, size_t *ret_size)
{
	size_t size = framed_size(topic, env);
	if (!size) {
		return NULL;
	}
	uint8_t *buf = fs_xcalloc(1, size);
	frame(topic, env, buf);
	*ret_size = size;
	return buf;
}

int fs_control_send_datagram(int fd, const uint8_t *data, size_t size)
{
	for (;;) {
		/*
		 * Blocking even on a non-blocking socket: lockstep keeps at most a
		 * tick's control messages in flight, far below the buffer, so this
		 * waits only if the peer stopped reading, and then the run is stuck
		 * anyway (the conductor warns about it).
		 */
		ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
		if (n >= 0) {
			return 0;
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			return -errno;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
			return -errno;
		}
	}
}

int fs_control_send(int fd, const char *topic, const Fleetsim__V1__Envelope *env)
{
	size_t size = framed_size(topic, env);
	if (!size) {
		return -EMSGSIZE;
	}
	/* A TickDone every tick: on the stack unless it is unusually large. */
	uint8_t small[4096];
	uint8_t *buf = size <= sizeof(small) ? small : fs_xcalloc(1, size);
	frame(topic, env, buf);
	int rc = fs_control_send_datagram(fd, buf, size);
	if (buf != small) {
		free(buf);
	}
	return rc;
}

int fs_control_recv(int fd, struct fs_bus *bus, struct fs_bus_message **ret)
{
	static uint8_t *buf; /* one process, one thread: one receive buffer */
	if (!buf && !(buf = malloc(FS_CONTROL_MAX_DATAGRAM))) {
		return -ENOMEM;
	}
	struct iovec iov = { .iov_base = buf, .iov_len = FS_CONTROL_MAX_DATAGRAM };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;
	do {
		n = recvmsg(fd, &mh, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return errno == EWOULDBLOCK ? -EAGAIN : errno == ECONNRESET ? -EPIPE : -errno;
	}
	if (n == 0) {
		return -EPIPE; /* orderly close: SOCK_SEQPACKET has no empty datagrams to confuse it with */
	}
	if (mh.msg_flags & MSG_TRUNC) {
		char why[96];
		snprintf(why, sizeof(why), "datagram larger than the limit of %zu bytes", FS_CONTROL_MAX_DATAGRAM);
		fs_bus_drop_malformed(bus, SOURCE, (size_t)n, why);
		return 0;
	}
	const uint8_t *nul = memchr(buf, '\0', (size_t)n);
	if (!nul) {
		fs_bus_drop_malformed(bus, SOURCE, (size_t)n, "no NUL between topic and envelope");
		return 0;
	}
	size_t topic_len = (size_t)(nul - buf);
	return fs_bus_decode(bus, (const char *)buf, topic_len, nul + 1, (size_t)n - topic_len - 1, ret);
}
