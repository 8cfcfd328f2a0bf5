/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a Tick tells participants to wait for (services/conductor/tick_inputs.h):
 * every valid data topic is kept with its sender and sequence number, in the
 * order added; control topics and invalid names are refused (a participant
 * would otherwise wait for messages that never come); clearing starts over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tick_inputs.h"

static void inputs_keep_sender_topic_and_sequence(void **state)
{
	struct tick_inputs t = { 0 };
	const struct fs_control_watermark *w;
	assert_int_equal(tick_inputs_view(&t, &w), 0);
	assert_true(tick_inputs_add(&t, "vehicle-0", "veh.state", 41));
	assert_true(tick_inputs_add(&t, "dispatch", "ride.job/0/", 7));
	assert_true(tick_inputs_add(&t, "conductor", "scn.cmd/apply", 2));
	assert_int_equal(tick_inputs_view(&t, &w), 3);
	assert_string_equal(w[0].sender, "vehicle-0");
	assert_string_equal(w[0].topic, "veh.state");
	assert_int_equal(w[0].topic_seq, 41);
	assert_string_equal(w[1].topic, "ride.job/0/");
	assert_string_equal(w[2].sender, "conductor");
	tick_inputs_clear(&t);
	assert_int_equal(tick_inputs_view(&t, &w), 0);
	/* grows past its first allocation */
	for (uint64_t i = 0; i < 1000; i++) {
		assert_true(tick_inputs_add(&t, "vehicle-1", "veh.event", i + 1));
	}
	assert_int_equal(tick_inputs_view(&t, &w), 1000);
	assert_int_equal(w[999].topic_seq, 1000);
	tick_inputs_finish(&t);
}

static void control_topics_and_bad_names_are_refused(void **state)
{
	struct tick_inputs t = { 0 };
	const struct fs_control_watermark *w;
	assert_false(tick_inputs_add(&t, "vehicle-0", "ctl.done", 3));  /* no one waits for control */
	assert_false(tick_inputs_add(&t, "vehicle-0", "ctl.heartbeat", 9));
	assert_false(tick_inputs_add(&t, "vehicle-0", "", 1));
	assert_false(tick_inputs_add(&t, "vehicle-0", NULL, 1));
	assert_false(tick_inputs_add(&t, "vehicle-0", "veh state", 1)); /* a space */
	assert_false(tick_inputs_add(&t, "vehicle-0", "veh.\x1b[2J", 1));
	char long_topic[FS_TOPIC_MAX + 8];
	memset(long_topic, 'v', sizeof(long_topic) - 1);
	long_topic[sizeof(long_topic) - 1] = '\0';
	assert_false(tick_inputs_add(&t, "vehicle-0", long_topic, 1));
	assert_int_equal(tick_inputs_view(&t, &w), 0);
	tick_inputs_finish(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(inputs_keep_sender_topic_and_sequence),
		cmocka_unit_test(control_topics_and_bad_names_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
