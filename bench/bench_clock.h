/* SPDX-License-Identifier: Apache-2.0 */
/* bench_clock - the benchmarks' stopwatch: one monotonic clock, in nanoseconds or seconds. */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in ns: differences time a benchmark, the value itself means nothing. */
static inline int64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The same clock in microseconds (fs_dispatch_step_stats' clock_us). */
static inline double bench_now_us(void)
{
	return (double)bench_now_ns() * 1e-3;
}

/* The same clock in seconds. */
static inline double bench_now_s(void)
{
	return (double)bench_now_ns() * 1e-9;
}

#endif
