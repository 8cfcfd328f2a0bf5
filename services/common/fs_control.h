/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_control.h - the lockstep control socket (docs/bus.md "Control socket").
 *
 * On an ipc bus the conductor also listens on DIR/ctl, a Unix SOCK_SEQPACKET
 * socket in the bus directory. Participants connect to it and the lockstep's
 * critical path (Ready, Tick, TickDone, End) travels over it directly instead
 * of through the broker: each message costs one wake-up of the receiving
 * process instead of three (sender's and receiver's ZeroMQ I/O threads, the
 * broker). Everything else, and a copy of every control message for
 * observers, still travels on the bus. tcp buses have no control socket.
 *
 * Framing: one datagram per message, "TOPIC\0ENVELOPE": the bus topic, a
 * NUL byte (topics are printable ASCII) and the Envelope's protobuf bytes.
 * A datagram is validated exactly as a bus message (fs_bus_decode()).
 */
#ifndef FS_CONTROL_H
#define FS_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "fs_bus.h"

#define FS_CONTROL_MAX_DATAGRAM ((size_t)256 << 10)

/** The control socket's path for bus @address into @buf: -ENOTSUP for tcp, -ENAMETOOLONG. */
int fs_control_path(const char *address, char *buf, size_t size);
/** Conductor: listen on @address's control socket (replacing a stale one). Returns the fd or -errno. */
int fs_control_listen(const char *address);
/** Conductor: the next connection waiting on @listen_fd (non-blocking), or -EAGAIN. */
int fs_control_accept(int listen_fd);
/** Participant: connect to @address's control socket. Returns the fd or -errno (-ENOENT: none). */
int fs_control_connect(const char *address);
/** Send @env (its header already stamped by fs_bus_publish()) on @topic. Returns 0 or -errno. */
int fs_control_send(int fd, const char *topic, const Fleetsim__V1__Envelope *env);
/** @env framed as one datagram (caller frees), or NULL (logged) if over the size limit. */
uint8_t *fs_control_pack(const char *topic, const Fleetsim__V1__Envelope *env, size_t *ret_size);
/** Send a framed datagram, to several peers without packing it again. Returns 0 or -errno. */
int fs_control_send_datagram(int fd, const uint8_t *data, size_t size);
/**
 * Receive one datagram from @fd (non-blocking) and validate it with @bus's
 * rules and counters. Returns 1 with *ret set, 0 if it was bad (counted and
 * dropped), -EAGAIN if nothing is waiting, -EPIPE if the peer closed.
 */
int fs_control_recv(int fd, struct fs_bus *bus, struct fs_bus_message **ret);

#endif
