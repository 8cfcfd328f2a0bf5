/* SPDX-License-Identifier: Apache-2.0 */
/* control_hub - the conductor's end of the control socket (see control_hub.h). */
#define _GNU_SOURCE /* struct ucred */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "control_hub.h"
#include "fs_control.h"
#include "fs_control_msg.h"
#include "fs_log.h"

/* Connections accepted but not yet bound; more than this at once is not a run's participants. */
#define MAX_UNBOUND 1024

struct control_hub {
	int listen_fd;
	char path[FS_BUS_ADDRESS_MAX];
	struct fs_bus *bus;
	const struct control_hub_ops *ops;
	void *ctx;
	int *fds;              /* per participant, -1 = not bound */
	size_t nparts, nbound;
	int *unbound;
	size_t n_unbound;
	zmq_pollitem_t *items; /* bus socket, listener, unbound, bound */
	struct fs_control_in first; /* a new connection's first message */
};

struct control_hub *control_hub_open(const char *address, size_t nparts, struct fs_bus *bus,
				      const struct control_hub_ops *ops, void *ctx)
{
	char path[FS_BUS_ADDRESS_MAX];
	if (fs_control_path(address, path, sizeof(path)) < 0) {
		fs_info("no control socket on %s: lockstep messages travel on the bus", address);
		return NULL;
	}
	int fd = fs_control_listen(address);
	if (fd < 0) {
		fs_warn("cannot listen on %s (%s): lockstep messages travel on the bus", path, strerror(-fd));
		return NULL;
	}
	struct control_hub *hub = fs_xcalloc(1, sizeof(*hub));
	hub->listen_fd = fd;
	snprintf(hub->path, sizeof(hub->path), "%s", path);
	hub->bus = bus;
	hub->ops = ops;
	hub->ctx = ctx;
	hub->nparts = nparts;
	hub->fds = fs_xcalloc(nparts, sizeof(*hub->fds));
	for (size_t i = 0; i < nparts; i++) {
		hub->fds[i] = -1;
	}
	hub->unbound = fs_xcalloc(MAX_UNBOUND, sizeof(*hub->unbound));
	hub->items = fs_xcalloc(2 + MAX_UNBOUND + nparts, sizeof(*hub->items));
	return hub;
}

void control_hub_close(struct control_hub *hub)
{
	if (!hub) {
		return;
	}
	for (size_t i = 0; i < hub->nparts; i++) {
		if (hub->fds[i] >= 0) {
			close(hub->fds[i]);
		}
	}
	for (size_t i = 0; i < hub->n_unbound; i++) {
		close(hub->unbound[i]);
	}
	close(hub->listen_fd);
	unlink(hub->path);
	free(hub->fds);
	free(hub->unbound);
	free(hub->items);
	fs_control_in_finish(&hub->first);
	free(hub);
}

bool control_hub_bound(const struct control_hub *hub, size_t index)
{
	return hub && index < hub->nparts && hub->fds[index] >= 0;
}

size_t control_hub_bound_count(const struct control_hub *hub)
{
	return hub ? hub->nbound : 0;
}

static void unbind(struct control_hub *hub, size_t index)
{
	close(hub->fds[index]);
	hub->fds[index] = -1;
	hub->nbound--;
	hub->ops->closed(hub->ctx, index);
}

static void drop_unbound(struct control_hub *hub, size_t i)
{
	close(hub->unbound[i]);
	hub->unbound[i] = hub->unbound[--hub->n_unbound];
}

static void accept_all(struct control_hub *hub)
{
	for (;;) {
		int fd = fs_control_accept(hub->listen_fd);
		if (fd < 0) {
			if (fd != -EAGAIN) {
				fs_warn("control socket: accept failed: %s", strerror(-fd));
			}
			return;
		}
		if (hub->n_unbound == MAX_UNBOUND) {
			fs_warn("control socket: %d connections without a Ready; refusing more", MAX_UNBOUND);
			close(fd);
			return;
		}
		hub->unbound[hub->n_unbound++] = fd;
	}
}

/*
 * A new connection's first message must be a participant's Ready: bind it, or
 * close it. Either way it leaves slot @i (the last one moves there).
 */
static void read_unbound(struct control_hub *hub, size_t i)
{
	struct fs_bus_message *msg = NULL;
	int rc;
	while ((rc = fs_control_recv(hub->unbound[i], hub->bus, &msg)) == 0) {
		/* a bad datagram, counted: keep reading */
	}
	if (rc == -EAGAIN) {
		return;
	}
	if (rc < 0) {
		drop_unbound(hub, i);
		return;
	}
	long index = -1;
	struct ucred cred;
	socklen_t cred_len = sizeof(cred);
	const char *refused = fs_control_msg_decode(msg->env, &hub->first);
	if (hub->first.kind != FS_CONTROL_READY) {
		fs_bus_reject(hub->bus, msg, "a control connection must begin with Ready");
	} else if (refused) {
		fs_bus_reject(hub->bus, msg, refused);
	} else if (getsockopt(hub->unbound[i], SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0 ||
		   cred.pid != (pid_t)hub->first.ready.pid) {
		/* a participant is who it says only if the kernel agrees on the pid */
		fs_bus_reject(hub->bus, msg, "Ready's pid is not the pid of the connecting process");
	} else {
		index = hub->ops->identify(hub->ctx, msg);
	}
	if (index < 0 || hub->fds[index] >= 0) {
		if (index >= 0) {
			fs_bus_reject(hub->bus, msg, "participant already has a control connection");
		}
		fs_bus_message_free(msg);
		drop_unbound(hub, i);
		return;
	}
	hub->fds[index] = hub->unbound[i];
	hub->nbound++;
	hub->unbound[i] = hub->unbound[--hub->n_unbound];
	hub->ops->message(hub->ctx, (size_t)index, msg);
	fs_bus_message_free(msg);
}

static void read_bound(struct control_hub *hub, size_t index)
{
	for (;;) {
		struct fs_bus_message *msg = NULL;
		int rc = fs_control_recv(hub->fds[index], hub->bus, &msg);
		if (rc == 1) {
			hub->ops->message(hub->ctx, index, msg);
			fs_bus_message_free(msg);
			if (hub->fds[index] < 0) {
				return;
			}
		} else if (rc == -EAGAIN) {
			return;
		} else if (rc < 0) {
			unbind(hub, index);
			return;
		}
	}
}

int control_hub_wait(struct control_hub *hub, void *bus_socket, int timeout_ms)
{
	zmq_pollitem_t bus_only = { .socket = bus_socket, .events = ZMQ_POLLIN };
	if (!hub) {
		return zmq_poll(&bus_only, 1, timeout_ms) < 0 ? -errno : 0;
	}
	zmq_pollitem_t *items = hub->items;
	size_t n = 0;
	items[n++] = bus_only;
	items[n++] = (zmq_pollitem_t){ .fd = hub->listen_fd, .events = ZMQ_POLLIN };
	for (size_t i = 0; i < hub->n_unbound; i++) {
		items[n++] = (zmq_pollitem_t){ .fd = hub->unbound[i], .events = ZMQ_POLLIN };
	}
	for (size_t i = 0; i < hub->nparts; i++) {
		if (hub->fds[i] >= 0) {
			items[n++] = (zmq_pollitem_t){ .fd = hub->fds[i], .events = ZMQ_POLLIN };
		}
	}
	if (zmq_poll(items, (int)n, timeout_ms) < 0) {
		return -errno;
	}
	/* Bound first, from the poll's snapshot: reading may bind or drop connections. */
	size_t k = 2 + hub->n_unbound;
	for (size_t i = 0; i < hub->nparts; i++) {
		if (hub->fds[i] >= 0 && k < n && items[k].fd == hub->fds[i]) {
			if (items[k].revents) {
				read_bound(hub, i);
			}
			k++;
		}
	}
	for (size_t i = hub->n_unbound; i-- > 0;) {
		if (items[2 + i].revents && items[2 + i].fd == hub->unbound[i]) {
			read_unbound(hub, i);
		}
	}
	if (items[1].revents) {
		accept_all(hub);
	}
	return 0;
}

int control_hub_broadcast(struct control_hub *hub, const char *topic, const Fleetsim__V1__Envelope *env)
{
	if (!hub || !hub->nbound) {
		return 0;
	}
	size_t size;
	uint8_t *data = fs_control_pack(topic, env, &size);
	if (!data) {
		return -EMSGSIZE;
	}
	for (size_t i = 0; i < hub->nparts; i++) {
		if (hub->fds[i] >= 0) {
			int rc = fs_control_send_datagram(hub->fds[i], data, size);
			if (rc < 0) {
				fs_warn("control socket: cannot send %s to participant %zu: %s", topic, i, strerror(-rc));
				unbind(hub, i);
			}
		}
	}
	free(data);
	return 0;
}
