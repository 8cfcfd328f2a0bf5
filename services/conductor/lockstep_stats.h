/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lockstep_stats.h - per-tick wall-time distribution of the barrier.
 *
 * A fixed histogram (1 us bins to 10 ms, 100 us bins to 10 s) gives exact
 * enough percentiles for runs of any length in constant memory.
 */
#ifndef LOCKSTEP_STATS_H
#define LOCKSTEP_STATS_H

#include <stdbool.h>
#include <stdint.h>

struct lockstep_stats {
	uint32_t *wall;     /* whole tick: start sent -> last done received */
	uint32_t *overhead; /* the same minus the slowest participant's own work */
	uint64_t count;
};

void lockstep_stats_init(struct lockstep_stats *s);
void lockstep_stats_finish(struct lockstep_stats *s);
void lockstep_stats_add(struct lockstep_stats *s, uint64_t wall_us, uint64_t overhead_us);
uint64_t lockstep_stats_percentile(const struct lockstep_stats *s, double q, bool overhead);

#endif
