/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tick_inputs.h - what a Tick (or End) tells participants to wait for.
 *
 * The conductor collects the watermarks of every TickDone of tick n, and of
 * its own output since the last Tick, and sends them with Tick n+1: a
 * participant applies tick n's output only once it holds all of it, so the
 * Tick may overtake the data (on the control socket) without breaking the
 * lockstep's ordering (docs/bus.md "Why lockstep ordering holds").
 */
#ifndef TICK_INPUTS_H
#define TICK_INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "fs_control_msg.h"
#include "fs_topic.h"

struct tick_input {
	const char *sender; /* borrowed: a participant's name, or the conductor's */
	char topic[FS_TOPIC_MAX];
	uint64_t topic_seq;
};

struct tick_inputs {
	struct tick_input *items;
	size_t len, cap;
	struct fs_control_watermark *marks; /* tick_inputs_view()'s */
	size_t marks_cap;
};

/**
 * Add what @sender published on @topic up to @topic_seq. Returns false (and
 * adds nothing) for a topic that is not valid or is a control topic.
 */
bool tick_inputs_add(struct tick_inputs *t, const char *sender, const char *topic, uint64_t topic_seq);
/** The collected inputs as a Tick's watermarks, valid until the next clear or add. */
size_t tick_inputs_view(struct tick_inputs *t, const struct fs_control_watermark **ret);
void tick_inputs_clear(struct tick_inputs *t);
void tick_inputs_finish(struct tick_inputs *t);

#endif
