/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_vehicle_record - what a vehicle tells the world, and placing it from that.
 *
 * A vehicle moves in segments (fs_vehicle_motion.c): on one edge its offset
 * goes linearly from seg_from_m to seg_to_m between two instants. A record
 * carries that segment as the vehicle holds it, so whoever keeps the last
 * record of each vehicle (dispatch, the viewer, an export) computes the
 * position at any later time with the vehicle's own arithmetic, bit for bit,
 * until the next record: the bus carries a record when a vehicle enters a new
 * segment or changes state, not a position every second.
 *
 * The charge is the exception: it changes continuously (the AV stack drains a
 * standing car, a plug fills it along a tapering curve). A record carries the
 * level and its rate at t_ms; the vehicle sends a new record once the
 * extrapolation is off by FS_VEHICLE_RECORD_SOC_STEP, so an observer's charge
 * is never further off than that.
 */
#include <errno.h>
#include <math.h>

#include "fs/vehicle.h"
#include "fs_vehicle_internal.h"

/* The charge rate is the change over the next minute: exact for the linear drain, the
 * secant of the charging curve's taper. */
#define SOC_RATE_WINDOW_MS 60000

int fs_vehicle_record_take(const struct fs_vehicle *v, const struct fs_network *net, int64_t now_ms,
			   struct fs_vehicle_record *ret)
{
	fs_vehicle_record_take_status(v, net, now_ms, ret);
	fs_vehicle_record_locate(ret, net);
	return 0;
}

void fs_vehicle_record_take_status(const struct fs_vehicle *v, const struct fs_network *net, int64_t now_ms,
				   struct fs_vehicle_record *ret)
{
	double soc = fs_vehicle_soc(v, now_ms);
	double later = fs_vehicle_soc(v, now_ms + SOC_RATE_WINDOW_MS);
	bool on_road = v->edge != FS_NO_EDGE && v->edge < net->edge_count;
	*ret = (struct fs_vehicle_record){
		.t_ms = now_ms,
		.soc_ms = now_ms,
		.seg_start_ms = v->seg_start_ms,
		.seg_end_ms = v->seg_end_ms,
		.odometer_m = v->odometer_m,
		.job_id = v->job_id,
		.id = v->id,
		.edge = on_road ? v->edge : FS_NO_EDGE,
		.health_flags = vehicle_health_summary(v),
		.sw_version = v->params->sw[v->sw].version,
		.seg_from_m = v->seg_from_m,
		.seg_to_m = v->seg_to_m,
		.soc = (float)soc,
		.soc_per_h = (float)((later - soc) * (MS_PER_H / SOC_RATE_WINDOW_MS)),
		.odd_flags = v->odd_flags,
		.state = v->state,
	};
}

void fs_vehicle_record_locate(struct fs_vehicle_record *r, const struct fs_network *net)
{
	r->x = r->y = 0.0f;
	if (r->edge == FS_NO_EDGE || r->edge >= net->edge_count) {
		return;
	}
	double x, y, heading;
	vehicle_shape_point(net, r->edge, fs_vehicle_record_offset_at(r, r->t_ms), &x, &y, &heading);
	r->x = (float)x;
	r->y = (float)y;
}

struct fs_vehicle_record fs_vehicle_record_standing(uint32_t id, int state, uint32_t edge, double offset_m, double x,
						    double y, double soc, int64_t t_ms)
{
	return (struct fs_vehicle_record){
		.t_ms = t_ms, .soc_ms = t_ms, .seg_start_ms = t_ms, .seg_end_ms = FS_NEVER_MS, .id = id, .edge = edge,
		.seg_from_m = (float)offset_m, .seg_to_m = (float)offset_m, .soc = (float)soc, .x = (float)x,
		.y = (float)y, .state = (uint8_t)state, .kind = FS_VEHICLE_RECORD_FULL,
	};
}

double fs_vehicle_record_offset_at(const struct fs_vehicle_record *r, int64_t t_ms)
{
	return vehicle_segment_offset_at(r->seg_from_m, r->seg_to_m, r->seg_start_ms, r->seg_end_ms, t_ms);
}

double fs_vehicle_record_soc_at(const struct fs_vehicle_record *r, int64_t t_ms)
{
	double soc = r->soc + r->soc_per_h * (double)(t_ms - r->soc_ms) / MS_PER_H;
	return fmin(1.0, fmax(0.0, soc));
}

bool fs_vehicle_record_moving(const struct fs_vehicle_record *r, int64_t t_ms)
{
	return r->seg_end_ms != FS_NEVER_MS && t_ms >= r->seg_start_ms && t_ms < r->seg_end_ms &&
	       r->seg_to_m != r->seg_from_m;
}

int fs_vehicle_record_place(const struct fs_vehicle_record *r, const struct fs_network *net, int64_t t_ms,
			    struct fs_vehicle_snapshot *ret)
{
	*ret = (struct fs_vehicle_snapshot){ .edge = r->edge, .soc = fs_vehicle_record_soc_at(r, t_ms),
					      .health_flags = r->health_flags };
	if (r->edge == FS_NO_EDGE || r->edge >= net->edge_count) {
		ret->edge = FS_NO_EDGE;
		return -ENOENT;
	}
	ret->offset_m = fs_vehicle_record_offset_at(r, t_ms);
	vehicle_shape_point(net, r->edge, ret->offset_m, &ret->x, &ret->y, &ret->heading_rad);
	if (fs_vehicle_record_moving(r, t_ms)) {
		ret->speed_mps = (r->seg_to_m - r->seg_from_m) / ((double)(r->seg_end_ms - r->seg_start_ms) / MS_PER_S);
	}
	return 0;
}

static bool same_segment(const struct fs_vehicle_record *a, const struct fs_vehicle_record *b)
{
	return a->edge == b->edge && a->seg_start_ms == b->seg_start_ms && a->seg_end_ms == b->seg_end_ms &&
	       a->seg_from_m == b->seg_from_m && a->seg_to_m == b->seg_to_m;
}

/* All but the motion and the charge. */
static bool same_status(const struct fs_vehicle_record *a, const struct fs_vehicle_record *b)
{
	return a->id == b->id && a->state == b->state && a->job_id == b->job_id && a->odd_flags == b->odd_flags &&
	       a->health_flags == b->health_flags && a->sw_version == b->sw_version;
}

static bool charge_holds(const struct fs_vehicle_record *sent, const struct fs_vehicle_record *now)
{
	return fabs(fs_vehicle_record_soc_at(sent, now->t_ms) - now->soc) <= FS_VEHICLE_RECORD_SOC_STEP;
}

bool fs_vehicle_record_news(const struct fs_vehicle_record *sent, const struct fs_vehicle_record *now)
{
	return !same_status(sent, now) || !same_segment(sent, now) || !charge_holds(sent, now);
}

bool fs_vehicle_record_only_moved(const struct fs_vehicle_record *sent, const struct fs_vehicle_record *now)
{
	return same_status(sent, now) && charge_holds(sent, now) && !same_segment(sent, now);
}

int fs_vehicle_record_merge(struct fs_vehicle_record *known, bool have, const struct fs_vehicle_record *in)
{
	if (in->kind != FS_VEHICLE_RECORD_MOVE) {
		*known = *in;
		return 0;
	}
	if (!have || known->id != in->id) {
		return -ENOENT;
	}
	known->t_ms = in->t_ms;
	known->edge = in->edge;
	known->seg_start_ms = in->seg_start_ms;
	known->seg_end_ms = in->seg_end_ms;
	known->seg_from_m = in->seg_from_m;
	known->seg_to_m = in->seg_to_m;
	known->odometer_m = in->odometer_m;
	known->x = in->x;
	known->y = in->y;
	return 0;
}
