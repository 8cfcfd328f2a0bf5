/* SPDX-License-Identifier: Apache-2.0 */
/*
 * control_hub.h - the conductor's end of the control socket (fs_control.h).
 *
 * Listens on DIR/ctl, accepts connections, and binds each to a participant
 * by the Ready it sends first. A bound connection carries that participant's
 * TickDones in and its Ticks and End out. Waiting happens here too: one poll
 * over the bus socket and every connection.
 */
#ifndef CONTROL_HUB_H
#define CONTROL_HUB_H

#include <stdbool.h>
#include <stddef.h>

#include "fs_bus.h"

struct control_hub;

struct control_hub_ops {
	/** A Ready on a new connection: the participant's index to bind it to, or -1 to refuse it. */
	long (*identify)(void *ctx, const struct fs_bus_message *msg);
	/** A message on participant @index's connection (Ready included); the hub frees @msg. */
	void (*message)(void *ctx, size_t index, const struct fs_bus_message *msg);
	/** Participant @index's connection closed: it died, or is leaving after End. */
	void (*closed)(void *ctx, size_t index);
};

/**
 * Listen on bus @address's control socket for @nparts participants; messages
 * are validated and counted with @bus. NULL (logged) on a tcp bus or failure:
 * every participant then uses the bus, as before.
 */
struct control_hub *control_hub_open(const char *address, size_t nparts, struct fs_bus *bus,
				      const struct control_hub_ops *ops, void *ctx);
/** Close every connection and remove the socket. @hub may be NULL. */
void control_hub_close(struct control_hub *hub);
bool control_hub_bound(const struct control_hub *hub, size_t index);
size_t control_hub_bound_count(const struct control_hub *hub);
/**
 * Wait at most @timeout_ms for @bus_socket or the control connections, then
 * handle every control datagram waiting (through the ops). @hub may be NULL.
 * Returns 0 or -errno (-EINTR on a signal).
 */
int control_hub_wait(struct control_hub *hub, void *bus_socket, int timeout_ms);
/**
 * Send @env (already stamped on the bus) to every bound participant; one
 * that cannot take it is unbound. -EMSGSIZE (logged) if @env is too large
 * for the socket: the bound participants cannot be told, the run must stop.
 */
int control_hub_broadcast(struct control_hub *hub, const char *topic, const Fleetsim__V1__Envelope *env);

#endif
