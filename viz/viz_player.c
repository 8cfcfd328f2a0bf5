/* SPDX-License-Identifier: Apache-2.0 */
/*
 * viz_player - a recording played into the viewer (see viz_player.h).
 *
 * Messages are fed in file order, which is the recorder's order of arrival
 * (simulated time order for a run's messages); the next message is decoded
 * ahead and held until the position reaches its log time. The MCAP log time
 * of a fleetsim recording is the message's simulated time (docs/recording.md).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_log.h"
#include "fs_mcap.h"
#include "viz_player.h"

#define NS_PER_MS 1000000

struct viz_player {
	struct fs_mcap_reader *reader;
	struct viz_player_sink sink;
	struct viz_player_state st;
	int64_t wall_ms;                 /* of the last advance, INT64_MIN before */
	Fleetsim__V1__Envelope *held;    /* the next message, decoded, waiting for its time */
	char held_topic[128];
	int64_t held_ms;
	bool done;                       /* no message after the held one */
};

static void drop_held(struct viz_player *p)
{
	if (p->held) {
		fleetsim__v1__envelope__free_unpacked(p->held, NULL);
		p->held = NULL;
	}
}

/* Decode the next message into p->held; false at the end of the file. -EIO on damage. */
static int read_next(struct viz_player *p)
{
	drop_held(p);
	struct fs_mcap_message m;
	struct fs_error err = { "" };
	for (;;) {
		int rc = fs_mcap_reader_next(p->reader, &m, &err);
		if (rc == 0) {
			p->done = true;
			return 0;
		}
		if (rc < 0) {
			fs_error("playback stops: %s", err.message);
			p->done = true;
			return -EIO;
		}
		Fleetsim__V1__Envelope *env = fleetsim__v1__envelope__unpack(NULL, m.size, m.data);
		if (!env) {
			continue; /* not an envelope: nothing the viewer shows */
		}
		p->held = env;
		p->held_ms = (int64_t)(m.log_time / NS_PER_MS);
		snprintf(p->held_topic, sizeof(p->held_topic), "%s", m.channel->topic);
		return 1;
	}
}

/* Feed every message up to the position. */
static int feed(struct viz_player *p)
{
	while (!p->done && p->held && p->held_ms <= p->st.position_ms) {
		p->sink.message(p->sink.ctx, p->held_topic, p->held);
		if (read_next(p) < 0) {
			return -EIO;
		}
	}
	return 0;
}

struct viz_player *viz_player_open(const char *path, const struct viz_player_sink *sink)
{
	struct fs_error err = { "" };
	struct fs_mcap_reader *r = fs_mcap_reader_open(path, &err);
	if (!r) {
		fs_error("%s", err.message);
		return NULL;
	}
	struct fs_mcap_stats stats;
	if (fs_mcap_reader_stats(r, !fs_mcap_reader_has_summary(r), &stats, &err) < 0 || !stats.message_count) {
		fs_error("%s: %s", path, err.message[0] ? err.message : "no messages to play");
		fs_mcap_reader_close(r);
		return NULL;
	}
	struct viz_player *p = calloc(1, sizeof(*p));
	if (!p) {
		fs_mcap_reader_close(r);
		return NULL;
	}
	p->reader = r;
	p->sink = *sink;
	p->st = (struct viz_player_state){ .start_ms = (int64_t)(stats.message_start_time / NS_PER_MS),
					   .end_ms = (int64_t)(stats.message_end_time / NS_PER_MS),
					   .rate = VIZ_PLAYER_RATE };
	p->st.position_ms = p->st.start_ms;
	p->wall_ms = INT64_MIN;
	if (read_next(p) < 0 || feed(p) < 0) {
		viz_player_close(p);
		return NULL;
	}
	return p;
}

void viz_player_close(struct viz_player *p)
{
	if (!p) {
		return;
	}
	drop_held(p);
	fs_mcap_reader_close(p->reader);
	free(p);
}

void viz_player_get(const struct viz_player *p, struct viz_player_state *ret)
{
	*ret = p->st;
}

void viz_player_set_paused(struct viz_player *p, bool paused)
{
	if (!paused && p->st.at_end) {
		return; /* nothing left to play: seek back first */
	}
	p->st.paused = paused;
}

void viz_player_set_rate(struct viz_player *p, double rate)
{
	p->st.rate = fmin(fmax(rate, 0.1), 100000);
}

int viz_player_seek(struct viz_player *p, int64_t t_ms)
{
	t_ms = t_ms < p->st.start_ms ? p->st.start_ms : t_ms > p->st.end_ms ? p->st.end_ms : t_ms;
	if (t_ms < p->st.position_ms) {
		/* Back: the viewer's picture at t is what the recording built up to t. */
		p->sink.reset(p->sink.ctx);
		fs_mcap_reader_rewind(p->reader);
		p->done = false;
		if (read_next(p) < 0) {
			return -EIO;
		}
	}
	p->st.position_ms = t_ms;
	p->st.at_end = t_ms >= p->st.end_ms;
	return feed(p);
}

int viz_player_advance(struct viz_player *p, int64_t wall_ms)
{
	int64_t since = p->wall_ms == INT64_MIN ? 0 : wall_ms - p->wall_ms;
	p->wall_ms = wall_ms;
	if (p->st.paused || since <= 0) {
		return 0;
	}
	int64_t t = p->st.position_ms + (int64_t)llround((double)since * p->st.rate);
	if (t >= p->st.end_ms) {
		t = p->st.end_ms;
		p->st.paused = true; /* the recording's end: stay on its last picture */
	}
	p->st.position_ms = t;
	p->st.at_end = t >= p->st.end_ms;
	return feed(p);
}
