/* SPDX-License-Identifier: Apache-2.0 */
/* The rollout chart's axes (services/production/rollout_chart.c): what a reader of rollout.png sees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../services/production/rollout.h"

/* A served share never exceeds 100 %: its axis ends there, even when every request was served. */
static void a_share_axis_spans_zero_to_one_hundred(void **state)
{
	double step = 0;
	assert_true(rollout_chart_axis(100.0, 100.0, 4, &step) == 100.0);
	assert_true(step == 25.0);
	assert_true(rollout_chart_axis(37.5, 100.0, 4, &step) == 100.0);
	assert_true(rollout_chart_axis(0.0, 100.0, 4, &step) == 100.0);
}

/* Counts keep a "nice" axis just above their largest value. */
static void a_count_axis_follows_the_data(void **state)
{
	double step = 0;
	assert_true(rollout_chart_axis(930.0, 0, 4, &step) == 1500.0); /* 1023 over ~4 ticks: steps of 500 */
	assert_true(step == 500.0);
	assert_true(rollout_chart_axis(8.0, 0, 4, &step) == 10.0);
	assert_true(rollout_chart_axis(0.0, 0, 4, &step) > 0); /* an empty panel still has an axis */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_share_axis_spans_zero_to_one_hundred),
		cmocka_unit_test(a_count_axis_follows_the_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
