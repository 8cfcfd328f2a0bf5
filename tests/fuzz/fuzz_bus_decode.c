/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_bus_decode - what every client does with a message off the bus or the
 * control socket, from any bytes: fs_bus_decode() hands over a validated
 * envelope, or counts the message (malformed, unknown, rejected) and drops it.
 * The input is the control socket's framing, TOPIC NUL ENVELOPE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs_bus.h"
#include "fuzz_util.h"

/* A bus client with no broker behind it: decoding needs its counters, not a peer. */
static struct fs_bus *bus_for_fuzzing(void)
{
	static struct fs_bus *bus;
	if (!bus) {
		static char address[64];
		snprintf(address, sizeof(address), "ipc:///tmp/fleetsim-fuzz-%d", (int)getpid());
		struct fs_bus_options o = { .address = address, .name = "fuzz", .mode = FS_BUS_PARTICIPANT };
		/* a client connects only through a private bus directory: make one, gone once connected */
		if (fs_bus_dir_check(address, true, NULL) < 0 || !(bus = fs_bus_connect(&o))) {
			abort();
		}
		fs_bus_dir_remove(address, -1);
		fs_bus_set_linger(bus, 0);
	}
	return bus;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fs_bus *bus = bus_for_fuzzing();
	const uint8_t *nul = memchr(data, 0, size);
	size_t topic_len = nul ? (size_t)(nul - data) : size;
	const uint8_t *body = nul ? nul + 1 : data + size;
	size_t body_len = (size_t)(data + size - body);
	const struct fs_bus_stats *st = fs_bus_get_stats(bus);
	uint64_t dropped = st->malformed + st->unknown + st->oversize + st->rejected;
	struct fs_bus_message *msg = NULL;
	int rc = fs_bus_decode(bus, (const char *)data, topic_len, body, body_len, &msg);
	fuzz_report("bus_decode", rc == 1 ? "accepted" : "dropped");
	uint64_t dropped_now = st->malformed + st->unknown + st->oversize + st->rejected;
	if (rc == 1) {
		if (!msg || !msg->env || !msg->info || dropped_now != dropped) {
			abort();
		}
		fs_bus_message_free(msg);
	} else if (rc != 0 || msg || dropped_now != dropped + 1) {
		abort(); /* a message dropped is a message counted, exactly once */
	}
	return 0;
}
