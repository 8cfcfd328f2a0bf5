/* SPDX-License-Identifier: Apache-2.0 */
/* fs_clock.h - wall clock for services (pacing, timeouts, diagnostics); never for simulated state. */
#ifndef FS_CLOCK_H
#define FS_CLOCK_H

#include <stdint.h>

/** CLOCK_MONOTONIC in microseconds. */
int64_t fs_clock_now_us(void);
static inline int64_t fs_clock_now_ms(void)
{
	return fs_clock_now_us() / 1000;
}

#endif
