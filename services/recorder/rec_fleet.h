/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rec_fleet.h - the fleet in Foxglove's well-known schemas, derived while recording.
 *
 * Viewers of MCAP files (Foxglove, Lichtblick) draw maps only from their own
 * schemas, not from fleetsim's envelopes. The recorder keeps a mirror of every
 * vehicle's last record (veh.state news and veh.snapshot keyframes, merged by
 * the vehicle codec) and samples it every few simulated seconds into:
 *
 *   /fleet/geojson  foxglove.GeoJSON: a FeatureCollection, one Point per
 *                   vehicle on the network (WGS84 lon/lat), its id the vehicle's, with state,
 *                   charge and job, a tooltip name and its fleet-viz colour;
 *   /fleet/center   foxglove.LocationFix: the fleet's mean position, with the
 *                   spread of the fleet (east/north variance, m^2) as its
 *                   covariance. A Map panel centres on its first LocationFix.
 *
 * Both use message encoding "json" with the JSON Schema of the type as schema
 * (encoding "jsonschema"), as Foxglove documents for JSON channels. A sample
 * at simulated time T holds every record of T or before that reached the
 * recorder before the first message stamped after T. The recorder only
 * observes: nothing here is published or changes the run.
 */
#ifndef REC_FLEET_H
#define REC_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.pb-c.h"

#define REC_FLEET_GEOJSON_TOPIC "/fleet/geojson"
#define REC_FLEET_CENTER_TOPIC "/fleet/center"
#define REC_FLEET_GEOJSON_SCHEMA "foxglove.GeoJSON"
#define REC_FLEET_LOCATION_SCHEMA "foxglove.LocationFix"
/* One sample every 5 simulated seconds [est]: moves a vehicle ~50 m between
 * map frames at city speeds; smaller makes files larger, larger makes the map jumpier. */
#define REC_FLEET_EVERY_MS_DEFAULT 5000
/* ... but no more than 50 vehicle points per simulated second on average
 * [est]: a point is ~250 bytes of JSON, so ~12 KB/s, ~1 GB for a simulated day
 * at most; a larger fleet is sampled less often (1,000 vehicles every 20 s,
 * 100,000 every 2,000 s). */
#define REC_FLEET_POINTS_PER_S 50

/* JSON Schemas of the two message types (after github.com/foxglove/schemas, MIT). */
extern const char rec_fleet_geojson_schema[];
extern const char rec_fleet_location_schema[];

struct rec_fleet;

/** A sample ready to be written: NUL-terminated JSON documents, valid until the next call. */
struct rec_fleet_sample {
	int64_t t_ms;              /* simulated time of the sample */
	const char *geojson;       /* foxglove.GeoJSON message */
	size_t geojson_len;
	const char *center;        /* foxglove.LocationFix message; NULL when no vehicle is on the network */
	size_t center_len;
	size_t vehicles;           /* points in the GeoJSON */
};

/**
 * @every_ms: sampling interval; @budget: when true the interval grows with
 * the fleet (REC_FLEET_POINTS_PER_S), when false it is @every_ms exactly.
 */
struct rec_fleet *rec_fleet_create(int64_t every_ms, bool budget);
void rec_fleet_destroy(struct rec_fleet *f);
/**
 * The run's clock has reached @t_ms (a message stamped @t_ms is about to be
 * recorded): if a sample is due before it, fill @ret and return 1 (call again
 * until it returns 0: a long gap gives one sample, not one per interval).
 */
int rec_fleet_due(struct rec_fleet *f, int64_t t_ms, struct rec_fleet_sample *ret);
/** A veh.state or veh.snapshot envelope: into the mirror. Refused batches are counted. */
void rec_fleet_apply(struct rec_fleet *f, const Fleetsim__V1__Envelope *env);
/** At the end: a last sample at @t_ms if anything changed since the previous one (1), else 0. */
int rec_fleet_final(struct rec_fleet *f, int64_t t_ms, struct rec_fleet_sample *ret);
/** Batches refused by the vehicle codec so far. */
uint64_t rec_fleet_refused(const struct rec_fleet *f);

#endif
