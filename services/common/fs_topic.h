/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_topic.h - the bus's topic registry: one topic per payload type.
 *
 * A topic is the payload's base name ("veh.state"), optionally followed by
 * "/" and a sub-topic ("ride.job/3/") that narrows delivery; ZeroMQ matches
 * subscriptions by prefix. The envelope's payload must match the topic's base.
 */
#ifndef FS_TOPIC_H
#define FS_TOPIC_H

#include <stdbool.h>
#include <stddef.h>

#include "envelope.pb-c.h"

#define FS_TOPIC_MAX 128

struct fs_topic_info {
	const char *name;                       /* base topic */
	Fleetsim__V1__Envelope__PayloadCase payload;
	const ProtobufCMessageDescriptor *descriptor;
	const char *summary;
};

/** The registry, terminated by an entry with name == NULL. */
const struct fs_topic_info *fs_topic_all(void);
/** Info for a payload case, or NULL if unknown. */
const struct fs_topic_info *fs_topic_by_payload(Fleetsim__V1__Envelope__PayloadCase payload);
/** Info for a topic (base, or base + "/..."), or NULL if unknown. */
const struct fs_topic_info *fs_topic_lookup(const char *topic, size_t len);
/** True if @topic (not NUL-terminated, @len bytes) is printable ASCII, non-empty, short enough. */
bool fs_topic_valid(const char *topic, size_t len);
/**
 * True for the lockstep's own control topics ("ctl.*"): no participant
 * applies them as simulation input, so they carry no watermark.
 */
bool fs_topic_is_control(const char *topic);

#endif
