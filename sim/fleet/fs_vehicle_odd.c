/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_vehicle_odd - the operating design domain: may this vehicle drive here,
 * now, and may it take this job?
 *
 * A vehicle's restrictions (odd_flags) are the union of its software
 * release's, its city's and those its platform faults impose (rules table).
 * In the data-collection phase a human drives, so only the geofence applies.
 */
#include <stddef.h>

#include "fs/traffic.h"
#include "fs/vehicle.h"
#include "fs/weather.h"
#include "fs_vehicle_internal.h"

const char vehicle_reason_energy[] = "not enough energy for the job";

double fs_conditions_time_factor(const struct fs_conditions *cond, uint32_t edge)
{
	double city = cond && cond->travel_time_factor > 0.0 ? cond->travel_time_factor : 1.0;
	double traffic = cond && cond->traffic ? fs_traffic_edge_factor(cond->traffic, edge) : 1.0;
	if (!cond || !cond->weather || !fs_weather_has_zones(cond->weather)) {
		return city * traffic;
	}
	double zone = fs_weather_zone_time_factor(cond->weather, edge);
	return (zone > city ? zone : city) * traffic;
}

uint8_t fs_conditions_rain(const struct fs_conditions *cond, uint32_t edge)
{
	if (!cond) {
		return FS_RAIN_NONE;
	}
	uint8_t zone = cond->weather ? fs_weather_zone_rain(cond->weather, edge) : 0;
	return zone > cond->rain ? zone : cond->rain;
}

bool fs_rain_within_odd(uint8_t rain, uint8_t max_rain, uint16_t odd_flags)
{
	return rain <= max_rain && !(rain >= FS_RAIN_LIGHT && (odd_flags & FS_ODD_NO_RAIN));
}

/* @rain against the vehicle's ODD; @route: on its way (a zone ahead) rather than where it is. */
static const char *rain_refusal(const struct fs_vehicle *v, uint8_t rain, bool route)
{
	if (fs_rain_within_odd(rain, v->params->max_rain, v->odd_flags)) {
		return NULL;
	}
	if (rain > v->params->max_rain) {
		return route ? "route enters weather outside every ODD" : "weather outside every ODD";
	}
	return route ? "route enters rain outside the vehicle's ODD" : "rain outside the vehicle's ODD";
}

const char *fs_vehicle_odd_refusal(const struct fs_vehicle *v, const struct fs_conditions *cond)
{
	if (!cond || v->phase == FS_CITY_DATA_COLLECTION) {
		return NULL;
	}
	const char *why = rain_refusal(v, cond->rain, false);
	if (why) {
		return why;
	}
	if (cond->night && (v->odd_flags & FS_ODD_DAYTIME_ONLY)) {
		return "night outside the vehicle's ODD";
	}
	return NULL;
}

const char *fs_vehicle_here_refusal(const struct fs_vehicle *v, const struct fs_conditions *cond)
{
	const char *why = fs_vehicle_odd_refusal(v, cond);
	if (why || !cond->weather || v->edge == FS_NO_EDGE || v->phase == FS_CITY_DATA_COLLECTION) {
		return why;
	}
	return rain_refusal(v, fs_conditions_rain(cond, v->edge), false);
}

const char *fs_vehicle_edge_refusal(const struct fs_vehicle *v, const struct fs_network *net,
				    const struct fs_zone *zone, const struct fs_conditions *cond, uint32_t edge)
{
	if (edge >= net->edge_count) {
		return "no such edge";
	}
	if (zone) {
		bool inside = zone->edge_in_zone ? zone->edge_in_zone[edge] != 0
			      : zone->contains ? zone->contains(zone->ctx, edge)
					       : true;
		if (!inside) {
			return "route leaves the geofence";
		}
	}
	if (v->phase != FS_CITY_DATA_COLLECTION && (v->odd_flags & FS_ODD_NO_MOTORWAY) &&
	    fs_road_is_motorway(net->edges[edge].road_class)) {
		return "route uses a motorway outside the vehicle's ODD";
	}
	if (cond && cond->closed && cond->closed[edge] && edge != v->edge) {
		return "route uses a closed road";
	}
	if (v->phase != FS_CITY_DATA_COLLECTION && cond && cond->weather) {
		return rain_refusal(v, fs_weather_zone_rain(cond->weather, edge), true);
	}
	return NULL;
}

static const char *route_refusal(const struct fs_vehicle *v, const struct fs_network *net,
				 const struct fs_zone *zone, const struct fs_conditions *cond,
				 const uint32_t *edges, uint32_t n, double *km, double *seconds)
{
	for (uint32_t i = 0; i < n; i++) {
		const char *why = fs_vehicle_edge_refusal(v, net, zone, cond, edges[i]);
		if (why) {
			return why;
		}
		*km += net->edges[edges[i]].length_m / 1000.0;
		*seconds += (double)vehicle_edge_ms(v, net, edges[i], fs_conditions_time_factor(cond, edges[i])) /
			    MS_PER_S;
	}
	return NULL;
}

bool fs_vehicle_accepts_job(const struct fs_vehicle *v, const struct fs_network *net,
			    const struct fs_job *job, const struct fs_conditions *cond,
			    const struct fs_zone *zone, int64_t now_ms, const char **ret_reason)
{
	const char *why = NULL;
	struct fs_platform_assessment a;
	fs_platform_assess(&v->platform, v->params, &a);
	double km = 0.0, seconds = 0.0;

	if (v->state != FS_VEHICLE_AVAILABLE && v->state != FS_VEHICLE_REPOSITIONING) {
		why = "not available";
	} else if (!job || !job->id) {
		why = "no job";
	} else if (v->phase == FS_CITY_DATA_COLLECTION) {
		why = "no riders in the data-collection phase";
	} else if (a.needs_depot) {
		why = "failed hardware: depot visit first";
	} else if (a.minimal_risk && v->phase == FS_CITY_DRIVERLESS) {
		why = "device faults force a minimal-risk stop";
	} else if (cond && (why = fs_vehicle_here_refusal(v, cond))) {
		/* why set: stopped in weather outside the ODD, it waits there until it clears */
	} else if ((why = route_refusal(v, net, zone, cond, job->to_pickup, job->to_pickup_len, &km,
					&seconds)) ||
		   (why = route_refusal(v, net, zone, cond, job->trip, job->trip_len, &km, &seconds))) {
		/* why set */
	} else {
		/* the stack also runs while the vehicle waits for the rider and while they get out */
		seconds += job->board_dwell_s >= 0 ? job->board_dwell_s : v->params->max_wait_s;
		seconds += job->alight_dwell_s > 0 ? job->alight_dwell_s : 0;
		if (!fs_vehicle_can_complete(v, now_ms, km, seconds, v->params->job_reserve_soc)) {
			why = vehicle_reason_energy;
		}
	}
	if (why && ret_reason) {
		*ret_reason = why;
	}
	return !why;
}
