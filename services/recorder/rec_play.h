/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rec_play.h - a recording played onto a bus, driven like a run (`fleetctl play`).
 *
 * The player republishes the recording's envelopes as they were recorded
 * (senders, sequence numbers, ticks untouched), paced by their simulated time
 * (the MCAP log time), and stands in for the recorded run's conductor: it
 * publishes a Status every 250 ms (the position's tick and simulated time,
 * the pace, running or paused, and that it is a playback with the recording's
 * span) and answers the conductor's commands (ctl.cmd: pause, resume, step,
 * speed, stop) plus SEEK, so a viewer and `fleetctl` drive it as they drive a
 * run. The recorded run's own control traffic (ctl.status, ctl.cmd, ctl.ack)
 * is not republished: the player answers for the playback.
 *
 * The vehicles' state at any position is rebuilt from the keyframes
 * (veh.snapshot) and news (veh.state) up to it, merged by the vehicle codec:
 * after a seek, and once a (wall) second while paused (as a paused run's
 * shards do), the player publishes a keyframe of every shard as of the
 * position, so a viewer shows the fleet as it was at that moment.
 */
#ifndef REC_PLAY_H
#define REC_PLAY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REC_PLAY_SENDER "play" /* the sender name of the player's own messages */

struct rec_play_options {
	const char *path;      /* the recording */
	const char *address;   /* the bus (a broker must be up on it) */
	double speed;          /* x real time; 0 = as fast as possible */
	int64_t from_ms;       /* start here (simulated Unix ms); 0 = the recording's start */
	bool from_offset;      /* ... or from_ms counts from the recording's start */
	char **prefixes;       /* topics to republish (prefixes); none = every envelope topic */
	size_t nprefix;
	bool loop;             /* at the end, from the start again */
	bool hold;             /* at the end, stay on the last position (paused) until stopped */
	bool paused;           /* start paused */
};

/** Play until the end (or a stop command, or *@stop). Returns the exit status: 0 played, 1 failed. */
int rec_play(const struct rec_play_options *o, volatile sig_atomic_t *stop);

#endif
