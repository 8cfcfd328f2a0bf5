/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_dispatch_index - the platform's vehicle indexes, so that a step at
 * 100,000 vehicles does not walk the whole fleet every simulated second.
 *
 * Every change to a vehicle's platform decisions goes through
 * dispatch_touch(), every new state of the vehicle through
 * dispatch_note_state(), which note the vehicle:
 *   - dirty: its term of the state hash is recomputed at the next hash, so the
 *     hash costs in proportion to the vehicles that changed (plus those whose
 *     cooldown ends, kept in `cooling`: a term holds the cooldown only while it
 *     runs, so time alone changes it);
 *   - watch: the vehicles the per-step charging and command timeouts consider
 *     (a charge or reposition command, a queue place, on a charger, in need of
 *     one), pruned and put back in id order when asked for.
 * The sums and the id order are those of a scan over every vehicle, so the
 * results are the same (the run digests are unchanged).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "fs/alloc.h"
#include "fs/grow.h"
#include "fs_dispatch_internal.h"

/* Room in the index's lists for every vehicle the table has room for. */
static bool grow_lists(struct fs_dispatch *d)
{
	const struct fs_grow_array lists[] = { FS_GROW_ARRAY(d->dirty), FS_GROW_ARRAY(d->cooling),
					       FS_GROW_ARRAY(d->watch), FS_GROW_ARRAY(d->watch_tmp) };
	if (fs_grow_parallel(&d->index_cap, d->veh_cap > d->nveh ? d->veh_cap : d->nveh, lists, 4) < 0) {
		d->index_oom = true;
		return false;
	}
	return true;
}

static bool watch_needed(const struct fs_dispatch *d, const struct vrec *v)
{
	return v->known && (v->claim == CLAIM_CHARGE || v->claim == CLAIM_REPOSITION || v->queued_ms != NO_TIME ||
			    v->s.state == FS_VEHICLE_CHARGING || dispatch_needs_charge(d, v));
}

static uint8_t hashed_flags(const struct vrec *v)
{
	return (uint8_t)(v->confirmed | v->charge_requested << 1);
}

static void note(struct fs_dispatch *d, struct vrec *v, bool changed_decision)
{
	if (d->index_cap < d->nveh && !grow_lists(d)) {
		return;
	}
	uint32_t id = (uint32_t)(v - d->veh);
	if (!v->hash_dirty && (changed_decision || hashed_flags(v) != v->hash_flags)) {
		v->hash_dirty = true;
		d->dirty[d->ndirty++] = id;
	}
	if (!v->watched && watch_needed(d, v)) {
		v->watched = true;
		d->watch[d->nwatch++] = id;
	}
}

void dispatch_touch(struct fs_dispatch *d, struct vrec *v)
{
	note(d, v, true);
}

void dispatch_note_state(struct fs_dispatch *d, struct vrec *v)
{
	note(d, v, false);
}

static int compare_ids(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

const uint32_t *dispatch_watch_list(struct fs_dispatch *d, uint32_t *ret_count)
{
	if (!d->watch) {
		*ret_count = 0;
		return NULL;
	}
	/* the ids added since the last call, sorted, merged into the sorted rest; the unneeded leave */
	qsort(d->watch + d->watch_sorted, d->nwatch - d->watch_sorted, sizeof(*d->watch), compare_ids);
	uint32_t i = 0, j = d->watch_sorted, n = 0;
	while (i < d->watch_sorted || j < d->nwatch) {
		bool left = j >= d->nwatch || (i < d->watch_sorted && d->watch[i] < d->watch[j]);
		uint32_t id = left ? d->watch[i++] : d->watch[j++];
		struct vrec *v = &d->veh[id];
		if (watch_needed(d, v)) {
			d->watch_tmp[n++] = id;
		} else {
			v->watched = false;
		}
	}
	uint32_t *t = d->watch;
	d->watch = d->watch_tmp;
	d->watch_tmp = t;
	d->nwatch = d->watch_sorted = n;
	*ret_count = n;
	return d->watch;
}

/* The vehicle's term: one XXH3 over its platform decisions, 0 when it holds none. */
static uint64_t vehicle_term(const struct fs_dispatch *d, uint32_t id)
{
	const struct vrec *v = &d->veh[id];
	if (!v->known || (v->claim == CLAIM_NONE && v->queued_ms == NO_TIME && !v->charge_requested &&
			  v->cooldown_until_ms <= d->now_ms)) {
		return 0;
	}
	uint64_t f[8] = { id, v->claim, v->target, v->job_id, v->request, (uint64_t)v->claim_ms,
			  (uint64_t)v->queued_ms,
			  (uint64_t)v->confirmed | (uint64_t)v->charge_requested << 1 |
				  (v->cooldown_until_ms > d->now_ms ? (uint64_t)v->cooldown_until_ms << 2 : 0) };
	return XXH3_64bits(f, sizeof(f));
}

uint64_t dispatch_vehicles_hash(struct fs_dispatch *d)
{
	uint32_t keep = 0;
	for (uint32_t k = 0; k < d->ncooling; k++) {
		struct vrec *v = &d->veh[d->cooling[k]];
		if (v->cooldown_until_ms > d->now_ms) {
			d->cooling[keep++] = d->cooling[k];
		} else {
			v->cooling = false;
			dispatch_touch(d, v);
		}
	}
	d->ncooling = keep;
	for (uint32_t k = 0; k < d->ndirty; k++) {
		uint32_t id = d->dirty[k];
		struct vrec *v = &d->veh[id];
		uint64_t term = vehicle_term(d, id);
		d->veh_hash_sum += term - v->hash_term; /* wraps: sum mod 2^64 */
		v->hash_term = term;
		v->hash_flags = hashed_flags(v);
		v->hash_dirty = false;
		if (v->cooldown_until_ms > d->now_ms && !v->cooling) {
			v->cooling = true;
			d->cooling[d->ncooling++] = id;
		}
	}
	d->ndirty = 0;
	return d->veh_hash_sum;
}

void dispatch_index_free(struct fs_dispatch *d)
{
	fs_free(d->dirty);
	fs_free(d->cooling);
	fs_free(d->watch);
	fs_free(d->watch_tmp);
}

/* ---- claims: a vehicle's claim changes what the index must look at ---- */

void dispatch_set_claim(struct fs_dispatch *d, struct vrec *v, int claim, uint32_t target, uint64_t job,
			uint64_t request, int64_t now_ms)
{
	if (v->claim == CLAIM_CHARGE && d->plugs_in_use[v->target] > 0) {
		d->plugs_in_use[v->target]--;
	}
	v->claim = (uint8_t)claim;
	v->target = target;
	v->job_id = job;
	v->request = request;
	v->claim_ms = now_ms;
	v->cmd_ms = now_ms;
	v->confirmed = false;
	if (claim == CLAIM_CHARGE) {
		d->plugs_in_use[target]++;
	}
	dispatch_touch(d, v);
}

void dispatch_release(struct fs_dispatch *d, struct vrec *v)
{
	if (v->claim == CLAIM_CHARGE && d->plugs_in_use[v->target] > 0) {
		d->plugs_in_use[v->target]--;
	}
	v->claim = CLAIM_NONE;
	v->target = 0;
	v->job_id = 0;
	v->request = 0;
	v->confirmed = false;
	dispatch_touch(d, v);
}
