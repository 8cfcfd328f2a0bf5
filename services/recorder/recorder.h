/* SPDX-License-Identifier: Apache-2.0 */
/*
 * recorder.h - bus messages into an MCAP file (fs-recorder, fleetctl record, bench).
 *
 * One channel per topic ("veh.state", "scn.cmd/apply", ...), message encoding
 * "protobuf", every channel on the one schema fleetsim.v1.Envelope whose data
 * is the FileDescriptorSet of the proto/ files. Each message is the envelope
 * exactly as it travelled, so sender, sequence numbers, tick and simulated
 * time stay with it and `fleetctl play` republishes the same bytes.
 *
 * Times: log_time = the envelope's simulated time in ns (so a viewer's
 * timeline shows the simulated day); publish_time = the recorder's wall
 * clock (CLOCK_REALTIME, ns) when the message arrived. Messages stamped before
 * the run's clock exists (hellos, readies before tick 0: simulated time 0)
 * are held back until the first stamped message and then logged at its time;
 * later unstamped messages (broker counters) get the latest simulated time.
 *
 * Besides the envelopes, the file gets the fleet in Foxglove's own schemas,
 * derived from the vehicle records (rec_fleet.h), so a viewer's Map panel
 * draws it; readers of envelopes skip channels whose schema is not
 * RECORDER_SCHEMA_NAME.
 */
#ifndef RECORDER_H
#define RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/error.h"
#include "fs_mcap.h"

#define RECORDER_SCHEMA_NAME "fleetsim.v1.Envelope"
#define RECORDER_PROFILE "fleetsim"
#define RECORDER_RUN_METADATA "fleetsim.run"

struct recorder_options {
	size_t chunk_bytes;                 /* 0 = 4 MiB */
	enum fs_mcap_compression compression;
	int flush_ms;                       /* write an open chunk at least this often; 0 = 1000 */
	/* Derived Foxglove channels (/fleet/geojson, /fleet/center: rec_fleet.h), sampled every
	 * this many simulated ms: 0 = REC_FLEET_EVERY_MS_DEFAULT, thinned for large fleets;
	 * > 0 = exactly this; < 0 = none. */
	int64_t fleet_every_ms;
};

struct recorder_stats {
	uint64_t messages, bytes;           /* written to the file (envelope bytes) */
	uint64_t gaps;                      /* messages missing from (sender, topic) sequences */
	uint64_t malformed;                 /* not an envelope: counted, not recorded */
	uint64_t channels_full;             /* dropped: more topics than MCAP channel ids */
	uint64_t fleet_samples;             /* of the derived Foxglove channels */
	uint64_t chunks;
	uint64_t file_bytes;
	bool seen_end;                      /* ctl.end went by */
};

struct recorder;

/** Create @path. NULL and @err filled on failure. */
struct recorder *recorder_open(const char *path, const struct recorder_options *opts, struct fs_error *err);
/**
 * Record how the run was started: metadata "fleetsim.run" with argv (JSON
 * array), cwd, host and start wall time, plus @extra pairs; the file of a
 * --scenario argument is embedded as attachment "scenario.yaml" (replay needs
 * it even if the file changes). Returns 0 or -errno.
 */
int recorder_add_run(struct recorder *r, int argc, char **argv, const struct fs_mcap_kv *extra, size_t n_extra);
/** One bus message ([topic][envelope]). @wall_ns = CLOCK_REALTIME at receipt. Returns 0 or -errno (I/O). */
int recorder_write(struct recorder *r, const char *topic, size_t topic_len, const uint8_t *data, size_t size,
		   uint64_t wall_ns);
/** Periodic work (call at least every flush_ms): writes an open chunk that is old enough. */
int recorder_poll(struct recorder *r, int64_t now_ms);
const struct recorder_stats *recorder_get_stats(const struct recorder *r);
/** Write what is held and the fleet's last sample (recorder_close() does it too). Returns 0 or -errno. */
int recorder_finish(struct recorder *r);
/** Write everything held, the summary and the footer; free. Returns 0 or -errno (freed either way). */
int recorder_close(struct recorder *r);
/** CLOCK_REALTIME in ns. */
uint64_t recorder_wall_ns(void);

#endif
