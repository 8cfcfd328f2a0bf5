/* SPDX-License-Identifier: Apache-2.0 */
#include <time.h>

#include "fs_clock.h"

int64_t fs_clock_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
