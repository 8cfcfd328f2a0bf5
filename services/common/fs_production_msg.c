/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_production_msg - the production message family's codec (see
 * fs_production_msg.h). Deliveries and updates are built in buffers that grow
 * with the largest day and are reused.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/vehicle.h"
#include "fs/grow.h"
#include "fs_production_msg.h"

static int reserve(struct fs_production_msg *m, size_t deliveries, size_t updates)
{
	const struct fs_grow_array d[] = { FS_GROW_ARRAY(m->d), FS_GROW_ARRAY(m->dp) };
	const struct fs_grow_array u[] = { FS_GROW_ARRAY(m->u), FS_GROW_ARRAY(m->up) };
	if (fs_grow_parallel(&m->d_cap, deliveries, d, 2) < 0 || fs_grow_parallel(&m->u_cap, updates, u, 2) < 0) {
		return -ENOMEM;
	}
	return 0;
}

static void put(Fleetsim__V1__Delivery *w, const struct fs_delivery *d)
{
	fleetsim__v1__delivery__init(w);
	w->vehicle_id = d->vehicle_id;
	w->programme = (char *)(d->programme ? d->programme : "");
	w->oem = (char *)(d->oem ? d->oem : "");
	w->model = (char *)(d->model ? d->model : "");
	w->city = (char *)(d->city ? d->city : "");
	w->depot = d->depot;
	w->sw_version = d->sw_version;
	w->battery_kwh = (float)d->battery_kwh;
	w->city_phase = d->city_phase;
	w->build_day = d->build_day;
	w->kwh_per_km = (float)d->kwh_per_km;
	w->max_charge_kw = (float)d->max_charge_kw;
	w->seats = d->seats;
}

int fs_production_msg_encode_deliveries(struct fs_production_msg *m, const struct fs_delivery_batch *b)
{
	size_t nd = b->delivery_count + b->in_service_count;
	if (reserve(m, nd, b->update_count) < 0) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < nd; i++) {
		put(&m->d[i], i < b->delivery_count ? &b->deliveries[i] : &b->in_service[i - b->delivery_count]);
		m->dp[i] = &m->d[i];
	}
	for (size_t i = 0; i < b->update_count; i++) {
		fleetsim__v1__software_update__init(&m->u[i]);
		m->u[i].vehicle_id = b->updates[i].vehicle_id;
		m->u[i].sw_version = b->updates[i].sw_version;
		m->up[i] = &m->u[i];
	}
	Fleetsim__V1__DeliveryBatch *w = &m->batch;
	fleetsim__v1__delivery_batch__init(w);
	w->n_deliveries = b->delivery_count;
	w->deliveries = m->dp;
	w->n_in_service = b->in_service_count;
	w->in_service = m->dp + b->delivery_count;
	w->n_retired_vehicle_ids = b->retired_count;
	w->retired_vehicle_ids = (uint32_t *)b->retired;
	w->n_software_updates = b->update_count;
	w->software_updates = m->up;
	return 0;
}

void fs_production_msg_finish(struct fs_production_msg *m)
{
	free(m->d);
	free(m->dp);
	free(m->u);
	free(m->up);
	memset(m, 0, sizeof(*m));
}

const char *fs_production_msg_decode_delivery(const Fleetsim__V1__Delivery *d, struct fs_delivery *out)
{
	if (d->city_phase > FS_CITY_DRIVERLESS) {
		return "a delivery into an unknown city phase";
	}
	/* 0 means the run's vehicle model's; anything else must be a vehicle that exists */
	if (!(d->battery_kwh >= 0 && d->battery_kwh < 10000) || !(d->kwh_per_km >= 0 && d->kwh_per_km < 10) ||
	    !(d->max_charge_kw >= 0 && d->max_charge_kw < 10000) || d->seats > 100) {
		return "a delivery of a vehicle no programme builds (battery, consumption, charging or seats)";
	}
	*out = (struct fs_delivery){
		.vehicle_id = d->vehicle_id, .programme = d->programme ? d->programme : "", .oem = d->oem,
		.model = d->model, .city = d->city, .depot = d->depot, .sw_version = d->sw_version,
		.city_phase = d->city_phase, .build_day = d->build_day, .battery_kwh = d->battery_kwh,
		.kwh_per_km = d->kwh_per_km, .max_charge_kw = d->max_charge_kw, .seats = d->seats,
	};
	return NULL;
}
