/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The string map of the services: fs_strmap (the bus's and the recorder's
 * sender/topic counters, built on fs_idmap, whose own test is in
 * test_fs_containers.c) tells apart keys that differ only after a NUL byte
 * and refuses new keys past its cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fs_strmap.h"

static void strmap_keys_differ_past_a_nul(void **state)
{
	(void)state;
	struct fs_strmap m;
	fs_strmap_init(&m, 1000);
	const char a[] = "vehicle-1\0veh.event", b[] = "vehicle-1\0veh.state";
	*fs_strmap_get(&m, a, sizeof(a) - 1) = 11;
	*fs_strmap_get(&m, b, sizeof(b) - 1) = 22;
	assert_int_equal(*fs_strmap_find(&m, a, sizeof(a) - 1), 11);
	assert_int_equal(*fs_strmap_find(&m, b, sizeof(b) - 1), 22);
	assert_null(fs_strmap_find(&m, "vehicle-1", 9));
	for (int i = 0; i < 900; i++) {
		char key[32];
		int n = snprintf(key, sizeof(key), "topic.%d", i);
		*fs_strmap_get(&m, key, (size_t)n) = (uint64_t)i;
	}
	for (int i = 0; i < 900; i++) {
		char key[32];
		int n = snprintf(key, sizeof(key), "topic.%d", i);
		assert_int_equal(*fs_strmap_find(&m, key, (size_t)n), i);
	}
	assert_int_equal(m.count, 902);
	fs_strmap_finish(&m);
}

static void strmap_refuses_new_keys_past_its_cap(void **state)
{
	(void)state;
	struct fs_strmap m;
	fs_strmap_init(&m, 2);
	assert_non_null(fs_strmap_get(&m, "a", 1));
	assert_non_null(fs_strmap_get(&m, "b", 1));
	assert_null(fs_strmap_get(&m, "c", 1));
	assert_non_null(fs_strmap_get(&m, "a", 1)); /* a known key still answers */
	assert_null(fs_strmap_find(&m, "c", 1));
	fs_strmap_finish(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(strmap_keys_differ_past_a_nul),
		cmocka_unit_test(strmap_refuses_new_keys_past_its_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
