/* SPDX-License-Identifier: Apache-2.0 */
/*
 * viz_player.h - play a recording (fleetsim run --record, MCAP) into the
 * viewer with a timeline: pause, seek and rate, at simulated time.
 *
 * The player reads the recording's messages in order and hands each to a
 * sink (the viewer's intake, as if from the bus) once the playback position
 * reaches its simulated time (the MCAP log time). Seeking forward feeds what
 * lies between; seeking back resets the viewer and feeds the recording again
 * from its start up to the target, so the picture at any position is the one
 * a viewer would have had watching the run live up to there.
 */
#ifndef VIZ_PLAYER_H
#define VIZ_PLAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "envelope.pb-c.h"

struct viz_player_sink {
	/* One recorded message, as received from the bus. Its return value is ignored. */
	int (*message)(void *ctx, const char *topic, const Fleetsim__V1__Envelope *env);
	/* Forget everything fed so far (before a seek back). */
	void (*reset)(void *ctx);
	void *ctx;
};

struct viz_player_state {
	int64_t start_ms, end_ms; /* the recording's span, simulated Unix ms */
	int64_t position_ms;      /* what is shown */
	double rate;              /* simulated seconds per wall second */
	bool paused;
	bool at_end;              /* the position reached the recording's end (then it pauses) */
};

#define VIZ_PLAYER_RATE 60.0 /* the default pace: a simulated minute per second */

struct viz_player;

/** Open @path for playback into @sink (borrowed), playing from its start. Logs and returns NULL on failure. */
struct viz_player *viz_player_open(const char *path, const struct viz_player_sink *sink);
/** NULL is a no-op. */
void viz_player_close(struct viz_player *p);
void viz_player_get(const struct viz_player *p, struct viz_player_state *ret);
void viz_player_set_paused(struct viz_player *p, bool paused);
/** The pace, simulated seconds per wall second (clamped to 0.1 .. 100,000). */
void viz_player_set_rate(struct viz_player *p, double rate);
/** Move to @t_ms (clamped to the recording's span) at once. Returns 0 or -EIO (the file broke: logged). */
int viz_player_seek(struct viz_player *p, int64_t t_ms);
/**
 * A frame at wall time @wall_ms: unless paused, move on by the wall time
 * since the last call times the rate, and feed what the position reached.
 * Returns 0 or -EIO.
 */
int viz_player_advance(struct viz_player *p, int64_t wall_ms);

#endif
