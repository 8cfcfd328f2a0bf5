/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>

#include "fs_log.h"
#include "lockstep_stats.h"

#define FINE_BINS 10000   /* 0..9999 us, 1 us wide */
#define COARSE_BINS 99900 /* 10 ms..10 s, 100 us wide */
#define BINS (FINE_BINS + COARSE_BINS)

void lockstep_stats_init(struct lockstep_stats *s)
{
	s->wall = fs_xcalloc(BINS, sizeof(uint32_t));
	s->overhead = fs_xcalloc(BINS, sizeof(uint32_t));
	s->count = 0;
}

void lockstep_stats_finish(struct lockstep_stats *s)
{
	free(s->wall);
	free(s->overhead);
}

static size_t bin_of(uint64_t us)
{
	if (us < FINE_BINS) {
		return (size_t)us;
	}
	uint64_t b = FINE_BINS + (us - FINE_BINS) / 100;
	return b < BINS ? (size_t)b : BINS - 1;
}

static uint64_t value_of(size_t bin)
{
	return bin < FINE_BINS ? bin : FINE_BINS + (uint64_t)(bin - FINE_BINS) * 100;
}

void lockstep_stats_add(struct lockstep_stats *s, uint64_t wall_us, uint64_t overhead_us)
{
	s->wall[bin_of(wall_us)]++;
	s->overhead[bin_of(overhead_us)]++;
	s->count++;
}

uint64_t lockstep_stats_percentile(const struct lockstep_stats *s, double q, bool overhead)
{
	if (!s->count) {
		return 0;
	}
	const uint32_t *h = overhead ? s->overhead : s->wall;
	uint64_t rank = (uint64_t)(q * (double)(s->count - 1)) + 1, seen = 0;
	for (size_t b = 0; b < BINS; b++) {
		seen += h[b];
		if (seen >= rank) {
			return value_of(b);
		}
	}
	return value_of(BINS - 1);
}
