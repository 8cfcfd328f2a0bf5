/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_production_msg.h - the codec of the production message family: vehicles
 * handed to the detailed city, retired and updated over the air
 * (DeliveryBatch, prod.delivery). The only place where that message becomes
 * plain structs and back, with one set of validity rules for every reader
 * (the vehicle nodes, the conductor).
 */
#ifndef FS_PRODUCTION_MSG_H
#define FS_PRODUCTION_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.pb-c.h"

/* A vehicle as production hands it over. Strings are borrowed (from the plan, or the message). */
struct fs_delivery {
	uint32_t vehicle_id;
	const char *programme, *oem, *model, *city; /* programme "" or NULL: the run's vehicle model */
	uint32_t depot;
	uint32_t sw_version;
	uint32_t city_phase;   /* enum fs_city_phase it is commissioned into */
	int32_t build_day;     /* days since 1970-01-01 */
	double battery_kwh;    /* the programme's vehicle; 0 = the run's vehicle model's */
	double kwh_per_km;
	double max_charge_kw;
	uint32_t seats;
};

/* A release that reached a vehicle over the air. */
struct fs_ota_update {
	uint32_t vehicle_id;
	uint32_t sw_version;
};

/* One day's hand-overs to the detailed city. */
struct fs_delivery_batch {
	const struct fs_delivery *deliveries;
	size_t delivery_count;
	const struct fs_delivery *in_service; /* tick 0: what the run's initial vehicles stand for */
	size_t in_service_count;
	const uint32_t *retired;
	size_t retired_count;
	const struct fs_ota_update *updates;
	size_t update_count;
};

/* Encoding buffers; zero-initialise, fs_production_msg_finish() frees. */
struct fs_production_msg {
	Fleetsim__V1__DeliveryBatch batch;
	Fleetsim__V1__Delivery *d;
	Fleetsim__V1__Delivery **dp;
	Fleetsim__V1__SoftwareUpdate *u;
	Fleetsim__V1__SoftwareUpdate **up;
	size_t d_cap, u_cap;
};

/** Fill @m->batch from @b (valid until the next call; strings borrowed from @b). 0 or -ENOMEM. */
int fs_production_msg_encode_deliveries(struct fs_production_msg *m, const struct fs_delivery_batch *b);
void fs_production_msg_finish(struct fs_production_msg *m);

/**
 * @d into @out (strings point into @d). NULL on success, else why it is
 * refused: an unknown city phase, or a battery, consumption, charging limit
 * or seat count no vehicle has.
 */
const char *fs_production_msg_decode_delivery(const Fleetsim__V1__Delivery *d, struct fs_delivery *out);

#endif
