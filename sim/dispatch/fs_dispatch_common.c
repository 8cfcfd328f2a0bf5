/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_dispatch_common - what every part of dispatch uses: the output lists,
 * the local and router hours, the platform's view of a vehicle and its
 * checks (health, energy, ODD, weather, motorways), zones, jobs and
 * requests by id. It calls nothing above it, so fs_dispatch.c, the index,
 * matching and fleet operations can all build on it without calling each
 * other in circles.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/calendar.h"
#include "fs/grow.h"
#include "fs/weather.h"
#include "fs_dispatch_internal.h"

int dispatch_emit(struct fs_dispatch_output *out, const struct fs_dispatch_trip_event *e)
{
	if (FS_GROW(out->events, out->event_cap, out->event_count + 1) < 0) {
		return -ENOMEM;
	}
	out->events[out->event_count++] = *e;
	return 0;
}

int dispatch_emit_job(struct fs_dispatch_output *out, const struct fs_dispatch_job *job)
{
	if (FS_GROW(out->jobs, out->job_cap, out->job_count + 1) < 0) {
		return -ENOMEM;
	}
	out->jobs[out->job_count++] = *job;
	return 0;
}

int dispatch_emit_offer(struct fs_dispatch_output *out, const struct fs_dispatch_offer *o)
{
	if (FS_GROW(out->offers, out->offer_cap, out->offer_count + 1) < 0) {
		return -ENOMEM;
	}
	out->offers[out->offer_count++] = *o;
	return 0;
}

/*
 * The local hour of @t_ms. Asked for every vehicle state (the KPIs by hour), so
 * the UTC span of the last answer's local hour is kept: inside it the answer is
 * the same, as long as no offset change falls in it (checked at both ends; zones
 * do not change their offset twice within an hour).
 */
int dispatch_local_hour(const struct fs_dispatch *cd, int64_t t_ms)
{
	struct fs_dispatch *d = (struct fs_dispatch *)cd; /* the span is a cache, not state */
	if (t_ms >= d->hour_span.from_ms && t_ms < d->hour_span.to_ms) {
		return d->hour_span.hour;
	}
	int64_t local = fs_timezone_local_ms(d->w.tz, t_ms);
	int hour = fs_calendar_second_of_day(local) / 3600;
	int64_t into_hour = local % 3600000;
	into_hour += into_hour < 0 ? 3600000 : 0;
	int32_t off = fs_timezone_offset_s(d->w.tz, t_ms);
	if (t_ms > INT64_MIN / 2 && t_ms < INT64_MAX / 2 && local == t_ms + (int64_t)off * 1000) {
		int64_t from = t_ms - into_hour, to = from + 3600000;
		if (fs_timezone_offset_s(d->w.tz, from) == off && fs_timezone_offset_s(d->w.tz, to - 1) == off) {
			d->hour_span.from_ms = from;
			d->hour_span.to_ms = to;
			d->hour_span.hour = hour;
		}
	}
	return hour;
}

uint32_t dispatch_hour(const struct fs_dispatch *d, int64_t t_ms)
{
	/* the router's hour, as fs-vehicle asks for it (fs_world_hour: the city's clock) */
	return (uint32_t)dispatch_local_hour(d, t_ms);
}

bool dispatch_is_night(const struct fs_dispatch *d, int64_t t_ms)
{
	int h = dispatch_local_hour(d, t_ms); /* the city's clock, as fs-vehicle reads it */
	return h < d->p.night_end_h || h >= d->p.night_start_h;
}

bool dispatch_healthy(const struct vrec *v)
{
	return !(v->s.health_flags & (FS_HEALTH_SUMMARY_MINIMAL_RISK | FS_HEALTH_SUMMARY_NEEDS_DEPOT));
}

const struct fs_dispatch_vehicle_state *dispatch_view(const struct fs_dispatch *d, const struct vrec *v)
{
	/* a cache of what the record says at fleet_ms: filling it in is not a change of v */
	struct vrec *w = (struct vrec *)v;
	int64_t t = d->fleet_ms > v->rec.t_ms ? d->fleet_ms : v->rec.t_ms;
	if (w->view_ms == t) {
		return &w->s;
	}
	w->view_ms = t;
	w->s.soc = fs_vehicle_record_soc_at(&v->rec, t);
	bool moves_on = v->rec.seg_end_ms != FS_NEVER_MS && v->rec.seg_end_ms > v->rec.t_ms &&
			v->rec.seg_to_m != v->rec.seg_from_m;
	if (v->rec.edge != FS_NO_EDGE && moves_on) {
		struct fs_vehicle_snapshot at;
		if (fs_vehicle_record_place(&v->rec, d->w.net, t, &at) == 0) {
			w->s.offset_m = at.offset_m;
			w->s.x = at.x;
			w->s.y = at.y;
		}
	}
	return &w->s;
}

bool dispatch_needs_charge(const struct fs_dispatch *d, const struct vrec *v)
{
	return d->p.charging && (v->charge_requested || dispatch_view(d, v)->soc < d->p.charge_soc);
}

double dispatch_trip_kwh(const struct fs_dispatch *d, double eta_s, const struct fs_dispatch_request *r)
{
	double km = (eta_s * d->p.energy_speed_mps + r->route_m) / 1000.0;
	/* the stack also runs while the car waits for the rider (a no-show: its whole wait) and they get out */
	double wait_s = r->rider_shows ? (double)r->rider_board_s : d->p.max_wait_s;
	double hours = (eta_s + wait_s + r->route_s + (double)r->rider_alight_s) / 3600.0;
	return km * d->p.kwh_per_km + hours * d->p.av_stack_kw;
}

bool dispatch_energy_ok(const struct fs_dispatch *d, const struct vrec *v, double eta_s,
			const struct fs_dispatch_request *r)
{
	double left = dispatch_view(d, v)->soc * d->p.battery_kwh - dispatch_trip_kwh(d, eta_s, r);
	return left >= d->p.job_reserve_soc * d->p.battery_kwh;
}

/* Would @v drive in @rain (fs_vehicle_odd.c's rule, from what the state batches say)? */
static bool rain_ok(const struct fs_dispatch *d, const struct vrec *v, uint8_t rain)
{
	return fs_rain_within_odd(rain, d->p.max_rain, v->s.odd_flags);
}

/* The rain over @edge: the city's, or a zone's where worse. */
static uint8_t rain_at(const struct fs_dispatch *d, uint32_t edge)
{
	uint8_t city = fs_weather_city_rain(d->weather);
	uint8_t zone = edge == FS_NO_EDGE ? 0 : fs_weather_zone_rain(d->weather, edge);
	return zone > city ? zone : city;
}

struct fs_route_query *dispatch_query_for(const struct fs_dispatch *d, const struct vrec *v)
{
	return (v->s.odd_flags & FS_ODD_NO_MOTORWAY) && d->w.surface_query ? d->w.surface_query : d->w.query;
}

bool dispatch_path_weather_ok(const struct fs_dispatch *d, const struct vrec *v, const struct fs_path *path)
{
	if (!d->weather || !fs_weather_has_zones(d->weather)) {
		return true;
	}
	for (uint32_t i = 0; i < path->count; i++) {
		if (!rain_ok(d, v, fs_weather_zone_rain(d->weather, path->edges[i]))) {
			return false;
		}
	}
	return true;
}

uint8_t dispatch_ride_rain(const struct fs_dispatch *d, const struct fs_dispatch_request *r)
{
	if (!d->weather) {
		return 0;
	}
	uint8_t a = rain_at(d, r->pickup_edge), b = rain_at(d, r->dropoff_edge);
	uint8_t m = a > b ? a : b;
	return r->trip_rain > m ? r->trip_rain : m;
}

bool dispatch_odd_ok_at(const struct fs_dispatch *d, const struct vrec *v, const struct fs_dispatch_request *r,
			bool night, uint8_t ride_rain)
{
	if ((v->s.odd_flags & FS_ODD_NO_MOTORWAY) && !r->surface_ok) {
		return false;
	}
	if ((v->s.odd_flags & FS_ODD_DAYTIME_ONLY) && night) {
		return false;
	}
	if (d->weather) {
		/* the vehicle would refuse if it stands in, or the ride starts, ends or passes through,
		 * weather outside its ODD; within-ODD falls as rain grows, so the worst of them decides */
		uint8_t here = rain_at(d, v->s.edge);
		if (!rain_ok(d, v, here > ride_rain ? here : ride_rain)) {
			return false;
		}
	}
	if (r->trip_blocked) {
		return false; /* no way around the closed roads and storm cells now */
	}
	return true;
}

bool dispatch_odd_ok(const struct fs_dispatch *d, const struct vrec *v, const struct fs_dispatch_request *r,
		     int64_t now_ms)
{
	return dispatch_odd_ok_at(d, v, r, dispatch_is_night(d, now_ms), dispatch_ride_rain(d, r));
}

void dispatch_request_changed(struct fs_dispatch *d, const struct fs_dispatch_request *r)
{
	uint8_t *mark = &d->req_mark[r->id - 1];
	if (!(*mark & REQ_CHANGED)) {
		d->changed[d->nchanged++] = r->id; /* (room for every request: grow_request_sides()) */
	}
	*mark = REQ_CHANGED;
}

bool dispatch_path_uses_motorway(const struct fs_network *net, const struct fs_path *path)
{
	for (uint32_t i = 0; i < path->count; i++) {
		if (fs_road_is_motorway(net->edges[path->edges[i]].road_class)) {
			return true;
		}
	}
	return false;
}

bool dispatch_route_in_odd(struct fs_dispatch *d, const struct vrec *v, uint32_t target_edge, int64_t now_ms)
{
	/* fs-vehicle refuses a drive on a motorway its ODD excludes or into a zone's bad weather */
	bool motorways = v->s.odd_flags & FS_ODD_NO_MOTORWAY;
	bool zones = d->weather && fs_weather_has_zones(d->weather);
	if (!motorways && !zones) {
		return true;
	}
	if (zones && !rain_ok(d, v, fs_weather_zone_rain(d->weather, target_edge))) {
		return false;
	}
	const struct fs_dispatch_vehicle_state *at = dispatch_view(d, v);
	struct fs_road_pos from = { at->edge, at->offset_m };
	struct fs_road_pos to = { target_edge, d->w.net->edges[target_edge].length_m };
	double t;
	d->path.count = 0;
	if (fs_route_positions(dispatch_query_for(d, v), dispatch_hour(d, now_ms), from, to, &t, &d->path) < 0) {
		return false;
	}
	return !(motorways && dispatch_path_uses_motorway(d->w.net, &d->path)) &&
	       dispatch_path_weather_ok(d, v, &d->path);
}

struct fs_road_pos dispatch_pickup(const struct fs_dispatch_request *r)
{
	return (struct fs_road_pos){ r->pickup_edge, r->pickup_offset_m };
}

struct fs_point dispatch_edge_end(const struct fs_network *net, uint32_t edge)
{
	const struct fs_node *n = &net->nodes[net->edges[edge].to];
	return (struct fs_point){ n->x, n->y };
}

uint32_t fs_dispatch_zone_count(const struct fs_dispatch *d)
{
	return d->zone_cols * d->zone_rows;
}

uint32_t fs_dispatch_zone_of(const struct fs_dispatch *d, struct fs_point p)
{
	const struct fs_network *net = d->w.net;
	double fx = (p.x - net->min_x) / d->p.cell_m, fy = (p.y - net->min_y) / d->p.cell_m;
	uint32_t c = fx <= 0.0 || !isfinite(fx) ? 0 : fx >= d->zone_cols ? d->zone_cols - 1 : (uint32_t)fx;
	uint32_t r = fy <= 0.0 || !isfinite(fy) ? 0 : fy >= d->zone_rows ? d->zone_rows - 1 : (uint32_t)fy;
	return r * d->zone_cols + c;
}

uint64_t dispatch_new_job(struct fs_dispatch *d, int kind, uint32_t vehicle, uint64_t request)
{
	size_t cap = d->jobs_cap;
	if (FS_GROW(d->jobs, cap, d->njobs + 1) < 0) {
		return 0;
	}
	d->jobs_cap = cap;
	d->jobs[d->njobs++] = (struct jrec){ .request = request, .vehicle = vehicle, .kind = (uint8_t)kind };
	return d->njobs;
}

struct fs_dispatch_request *dispatch_req(struct fs_dispatch *d, uint64_t id)
{
	return id >= 1 && id <= d->nreq ? &d->req[id - 1] : NULL;
}
