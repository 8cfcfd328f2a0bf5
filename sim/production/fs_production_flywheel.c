/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_production_flywheel - the data flywheel of the rollout (fs/production.h):
 * the fleet in service drives and uploads what it logs; the uploaded data
 * train the next driving-software release once there are enough of them and
 * the release train's cadence allows (NVIDIA Cosmos / DGX Cloud in the
 * mission); after training and validation the release goes out over the
 * air, reaching the fleet linearly over ota_days.
 *
 * Days are the only step, as in the rest of the model: day D's data count
 * from day D + 1's decisions, so the state after day D does not depend on
 * how the days were grouped into calls.
 */
#include <errno.h>
#include <math.h>

#include "fs_production_internal.h"

#define GB_PER_PB 1e6

void flywheel_init(struct flywheel_state *st)
{
	*st = (struct flywheel_state){ .last_train_day = INT32_MIN };
	for (int k = 0; k < FS_PROD_RELEASES_MAX; k++) {
		st->train_day[k] = st->release_day[k] = INT32_MIN;
	}
}

void flywheel_day(struct flywheel_state *st, const struct fs_prod_flywheel *fw, int32_t day, uint32_t in_service)
{
	/* a release train leaves when the data it needs are in and the cadence allows */
	if (st->next < fw->release_count && st->data_gb >= fw->releases[st->next].data_pb * GB_PER_PB &&
	    (st->last_train_day == INT32_MIN || day - st->last_train_day >= (int32_t)fw->cadence_days)) {
		st->train_day[st->next] = day;
		st->release_day[st->next] = day + (int32_t)fw->train_days;
		st->last_train_day = day;
		st->next++;
	}
	double km = (double)in_service * fw->km_per_vehicle_day;
	st->km += km;
	st->data_gb += km * fw->gb_per_km;
}

double flywheel_share(const struct flywheel_state *st, const struct fs_prod_flywheel *fw, uint32_t k, int32_t day)
{
	if (k >= fw->release_count || st->release_day[k] == INT32_MIN || day < st->release_day[k]) {
		return 0.0;
	}
	double f = (double)(day - st->release_day[k] + 1) / (fw->ota_days ? fw->ota_days : 1);
	return f < 1.0 ? f : 1.0;
}

void flywheel_stats(const struct flywheel_state *st, const struct fs_prod_flywheel *fw, int32_t day,
		    struct fs_prod_flywheel_stats *ret)
{
	ret->fleet_km = st->km;
	ret->data_pb = st->data_gb / GB_PER_PB;
	ret->release_count = fw->release_count;
	ret->latest = 0;
	for (uint32_t k = 0; k < fw->release_count; k++) {
		ret->releases[k].version = fw->releases[k].version;
		ret->releases[k].train_day = st->train_day[k];
		ret->releases[k].release_day = st->release_day[k];
		ret->releases[k].share = flywheel_share(st, fw, k, day);
		if (st->release_day[k] != INT32_MIN && st->release_day[k] <= day) {
			ret->latest = fw->releases[k].version;
		}
	}
}

int flywheel_validate(const struct fs_prod_flywheel *fw, struct fs_error *err)
{
	if (fw->release_count > FS_PROD_RELEASES_MAX) {
		return fs_error_set(err, -EINVAL, "flywheel: at most %d releases", FS_PROD_RELEASES_MAX);
	}
	if (!(fw->km_per_vehicle_day >= 0) || !(fw->gb_per_km >= 0) || !isfinite(fw->km_per_vehicle_day) ||
	    !isfinite(fw->gb_per_km) || (fw->release_count && !fw->ota_days)) {
		return fs_error_set(err, -EINVAL, "flywheel: km_per_vehicle_day and gb_per_km >= 0, ota_days >= 1");
	}
	for (uint32_t k = 0; k < fw->release_count; k++) {
		if (!(fw->releases[k].data_pb >= 0) || !isfinite(fw->releases[k].data_pb)) {
			return fs_error_set(err, -EINVAL, "flywheel: release %u needs data_pb >= 0", fw->releases[k].version);
		}
		/* a staged rollout is nested only if releases are newer in the order they are trained */
		if (k && fw->releases[k].version <= fw->releases[k - 1].version) {
			return fs_error_set(err, -EINVAL, "flywheel: release %u is listed after %u, a newer one",
					    fw->releases[k].version, fw->releases[k - 1].version);
		}
	}
	return 0;
}
