/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_fleet_news - which vehicle records are news (see fs/vehicle.h).
 *
 * A fleet hosts up to 100,000 vehicles; in a tick a few hundred to a few
 * thousand of them enter a new edge or change state. Looking only at the
 * vehicles the fleet touched keeps the cost of publishing proportional to
 * what changed. The one thing that changes without a touch is the charge of
 * a standing or charging car, which the record extrapolates; a sweep once a
 * simulated minute sends the few whose extrapolation has drifted.
 *
 * What a reader knows is kept as the reader computes it (moves merged into
 * the last full record), so "news" means news to the reader.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/grow.h"
#include "fs/vehicle.h"

struct fs_fleet_news {
	struct fs_vehicle_record *sent; /* by fleet index */
	uint8_t *sent_valid;
	size_t sent_cap;
	struct fs_vehicle_record *out;
	size_t nout, out_cap;
	int64_t next_sweep_ms;
	uint64_t full, moves;
};

struct fs_fleet_news *fs_fleet_news_create(void)
{
	struct fs_fleet_news *n = fs_calloc(1, sizeof(*n));
	if (n) {
		n->next_sweep_ms = INT64_MIN;
	}
	return n;
}

void fs_fleet_news_destroy(struct fs_fleet_news *n)
{
	if (!n) {
		return;
	}
	fs_free(n->sent);
	fs_free(n->sent_valid);
	fs_free(n->out);
	fs_free(n);
}

static int reserve(struct fs_fleet_news *n, uint32_t count)
{
	size_t old = n->sent_cap;
	const struct fs_grow_array sent[] = { FS_GROW_ARRAY(n->sent), FS_GROW_ARRAY(n->sent_valid) };
	if (fs_grow_parallel(&n->sent_cap, count, sent, 2) < 0 || FS_GROW(n->out, n->out_cap, count) < 0) {
		return -ENOMEM;
	}
	if (n->sent_cap > old) {
		memset(n->sent_valid + old, 0, n->sent_cap - old); /* nothing sent yet from the new places */
	}
	return 0;
}

/* Queue vehicle @idx's record if it says something readers do not know yet. */
static void consider(struct fs_fleet_news *n, const struct fs_fleet *fleet, const struct fs_network *net,
		     uint32_t idx, int64_t now_ms)
{
	struct fs_vehicle_record r;
	fs_vehicle_record_take_status(fs_fleet_vehicle(fleet, idx), net, now_ms, &r);
	struct fs_vehicle_record *sent = &n->sent[idx];
	bool known = n->sent_valid[idx];
	if (known && !fs_vehicle_record_news(sent, &r)) {
		return;
	}
	r.kind = known && fs_vehicle_record_only_moved(sent, &r) ? FS_VEHICLE_RECORD_MOVE : FS_VEHICLE_RECORD_FULL;
	fs_vehicle_record_locate(&r, net);
	fs_vehicle_record_merge(sent, known, &r);
	n->sent_valid[idx] = 1;
	n->out[n->nout++] = r;
	n->moves += r.kind == FS_VEHICLE_RECORD_MOVE;
	n->full += r.kind == FS_VEHICLE_RECORD_FULL;
}

long fs_fleet_news_take(struct fs_fleet_news *n, struct fs_fleet *fleet, const struct fs_network *net,
			int64_t now_ms, const struct fs_vehicle_record **ret)
{
	uint32_t count = fs_fleet_count(fleet);
	if (reserve(n, count) < 0) {
		return -ENOMEM;
	}
	n->nout = 0;
	uint32_t touched_count;
	const uint32_t *touched = fs_fleet_touched(fleet, &touched_count);
	for (uint32_t k = 0; k < touched_count; k++) {
		consider(n, fleet, net, touched[k], now_ms);
	}
	fs_fleet_clear_touched(fleet);
	if (now_ms >= n->next_sweep_ms) {
		n->next_sweep_ms = now_ms + FS_FLEET_NEWS_SWEEP_MS;
		for (uint32_t i = 0; i < count; i++) {
			double soc = fs_vehicle_soc(fs_fleet_vehicle(fleet, i), now_ms);
			if (!n->sent_valid[i] ||
			    fabs(soc - fs_vehicle_record_soc_at(&n->sent[i], now_ms)) > FS_VEHICLE_RECORD_SOC_STEP) {
				consider(n, fleet, net, i, now_ms);
			}
		}
	}
	*ret = n->out;
	return (long)n->nout;
}

void fs_fleet_news_counts(const struct fs_fleet_news *n, uint64_t *ret_full, uint64_t *ret_moves)
{
	*ret_full = n->full;
	*ret_moves = n->moves;
}
