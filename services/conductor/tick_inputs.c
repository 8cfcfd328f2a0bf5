/* SPDX-License-Identifier: Apache-2.0 */
/* tick_inputs - what a Tick tells participants to wait for (see tick_inputs.h). */
#include <stdlib.h>
#include <string.h>

#include "fs_log.h"
#include "tick_inputs.h"

bool tick_inputs_add(struct tick_inputs *t, const char *sender, const char *topic, uint64_t topic_seq)
{
	size_t len = topic ? strlen(topic) : 0;
	if (!len || len >= FS_TOPIC_MAX || !fs_topic_valid(topic, len) || fs_topic_is_control(topic)) {
		return false;
	}
	fs_xgrow(t->items, t->cap, t->len + 1);
	struct tick_input *in = &t->items[t->len++];
	in->sender = sender;
	memcpy(in->topic, topic, len + 1);
	in->topic_seq = topic_seq;
	return true;
}

size_t tick_inputs_view(struct tick_inputs *t, const struct fs_control_watermark **ret)
{
	fs_xgrow(t->marks, t->marks_cap, t->len ? t->len : 1);
	for (size_t i = 0; i < t->len; i++) {
		t->marks[i] = (struct fs_control_watermark){ t->items[i].sender, t->items[i].topic, t->items[i].topic_seq };
	}
	*ret = t->marks;
	return t->len;
}

void tick_inputs_clear(struct tick_inputs *t)
{
	t->len = 0;
}

void tick_inputs_finish(struct tick_inputs *t)
{
	free(t->items);
	free(t->marks);
	*t = (struct tick_inputs){ 0 };
}
