/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_traffic - junction delays, congestion by hour, and the fleet's own
 * traffic (fs/traffic.h). Sources of every default: docs/traffic.md.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/demand.h"
#include "fs/traffic.h"

void fs_traffic_params_defaults(struct fs_traffic_params *p)
{
	*p = (struct fs_traffic_params){
		.signal_cycle_s = 90.0,     /* [est] FHWA Signal Timing Manual: urban 60-120 s */
		.signal_green_major = 0.55, /* [est] the major street's share of green */
		.signal_green_minor = 0.35, /* [est] */
		.stop_delay_s = 8.0,        /* [est] HCM two-way stop, LOS A: <= 10 s */
		.give_way_delay_s = 4.0,    /* [est] */
		.equal_delay_s = 4.0,       /* [est] */
		.congestion_level = 0.26,   /* TomTom Traffic Index 2018 (June 2019): Atlanta 26 % */
		.profile_congestion_level = 0.36, /* the same: New York 36 % (the nyc2019 profile) */
		.bpr_alpha = 0.15,          /* Bureau of Public Roads, Traffic Assignment Manual (1964) */
		.bpr_beta = 4.0,
		.cell_m = 1000.0,
		.update_s = 60.0,
		.min_speed_kmh = 5.0,       /* [est] stop-and-go queues: BPR's bound */           /* [est] a minute: flows change slowly next to a trip */
	};
	for (int h = 0; h < FS_TRAFFIC_HOURS; h++) {
		for (int c = 0; c < FS_ROAD_CLASS_COUNT; c++) {
			p->hour_factor[h][c] = 1.0;
		}
	}
	/* [est] HCM: 1,900 pc/h/lane saturation flow at signals times a typical share
	 * of green; basic freeway segments ~2,000; local streets lower. */
	static const double capacity[FS_ROAD_CLASS_COUNT] = {
		[FS_ROAD_MOTORWAY] = 2000, [FS_ROAD_TRUNK] = 1800,
		[FS_ROAD_PRIMARY] = 900,   [FS_ROAD_SECONDARY] = 800,
		[FS_ROAD_TERTIARY] = 700,  [FS_ROAD_UNCLASSIFIED] = 600,
		[FS_ROAD_RESIDENTIAL] = 500, [FS_ROAD_LIVING_STREET] = 300,
		[FS_ROAD_SERVICE] = 300,   [FS_ROAD_MOTORWAY_LINK] = 1500,
		[FS_ROAD_TRUNK_LINK] = 1200, [FS_ROAD_PRIMARY_LINK] = 800,
		[FS_ROAD_SECONDARY_LINK] = 700, [FS_ROAD_TERTIARY_LINK] = 600,
		[FS_ROAD_OTHER] = 600,
	};
	memcpy(p->capacity_vphpl, capacity, sizeof(capacity));
}

int fs_traffic_hour_factors_from_profile(struct fs_traffic_params *p,
					 const struct fs_demand_profile *profile,
					 struct fs_error *err)
{
	/* demand per hour (profiles may have finer slots) */
	double share[FS_TRAFFIC_HOURS] = { 0 };
	uint32_t slots = profile->slots_per_day;
	for (uint32_t s = 0; s < slots; s++) {
		share[(s * FS_TRAFFIC_HOURS) / (slots ? slots : 1)] += profile->slot_share[s];
	}
	for (int h = 0; h < FS_TRAFFIC_HOURS; h++) {
		if (!(profile->hour_speed_mps[h] > 0.0) || !isfinite(profile->hour_speed_mps[h])) {
			fs_error_set(err, -EINVAL, "demand profile %s has no trip speed for hour %d",
				     profile->name, h);
			return -EINVAL;
		}
	}
	/* the quiet night: the four hours with the least demand */
	bool used[FS_TRAFFIC_HOURS] = { false };
	double night = 0.0;
	for (int k = 0; k < 4; k++) {
		int best = -1;
		for (int h = 0; h < FS_TRAFFIC_HOURS; h++) {
			if (!used[h] && (best < 0 || share[h] < share[best])) {
				best = h;
			}
		}
		used[best] = true;
		night += profile->hour_speed_mps[best] / 4.0;
	}
	double scale = p->profile_congestion_level > 0.0 ? p->congestion_level / p->profile_congestion_level : 1.0;
	for (int h = 0; h < FS_TRAFFIC_HOURS; h++) {
		double f = 1.0 + scale * (fmax(1.0, night / profile->hour_speed_mps[h]) - 1.0);
		for (int c = 0; c < FS_ROAD_CLASS_COUNT; c++) {
			p->hour_factor[h][c] = f;
		}
	}
	return 0;
}

const char *fs_traffic_params_invalid(const struct fs_traffic_params *p)
{
	if (!(p->signal_cycle_s >= 0.0 && p->signal_cycle_s <= 600.0)) {
		return "signal cycle must be in 0..600 s";
	}
	if (!(p->signal_green_major > 0.0 && p->signal_green_major <= 1.0) ||
	    !(p->signal_green_minor > 0.0 && p->signal_green_minor <= 1.0)) {
		return "signal green shares must be in (0, 1]";
	}
	if (!(p->stop_delay_s >= 0.0 && p->stop_delay_s <= 600.0) ||
	    !(p->give_way_delay_s >= 0.0 && p->give_way_delay_s <= 600.0) ||
	    !(p->equal_delay_s >= 0.0 && p->equal_delay_s <= 600.0)) {
		return "junction delays must be in 0..600 s";
	}
	for (int h = 0; h < FS_TRAFFIC_HOURS; h++) {
		for (int c = 0; c < FS_ROAD_CLASS_COUNT; c++) {
			if (!(p->hour_factor[h][c] >= 1.0 && p->hour_factor[h][c] <= 20.0)) {
				return "hour factors must be in 1..20";
			}
		}
	}
	if (!(p->congestion_level >= 0.0 && p->congestion_level <= 5.0) ||
	    !(p->profile_congestion_level >= 0.0 && p->profile_congestion_level <= 5.0)) {
		return "congestion levels must be in 0..5";
	}
	if (!(p->bpr_alpha >= 0.0 && p->bpr_alpha <= 10.0) || !(p->bpr_beta >= 1.0 && p->bpr_beta <= 10.0)) {
		return "BPR alpha must be in 0..10 and beta in 1..10";
	}
	for (int c = 0; c < FS_ROAD_CLASS_COUNT; c++) {
		if (!(p->capacity_vphpl[c] >= 50.0 && p->capacity_vphpl[c] <= 5000.0)) {
			return "lane capacities must be in 50..5000 vehicles an hour";
		}
	}
	if (!(p->cell_m >= 100.0 && p->cell_m <= 100000.0)) {
		return "traffic cell must be 100 m..100 km";
	}
	if (!(p->min_speed_kmh >= 0.5 && p->min_speed_kmh <= 100.0)) {
		return "traffic min speed must be 0.5..100 km/h";
	}
	if (!(p->update_s >= 1.0 && p->update_s <= 86400.0)) {
		return "traffic update period must be 1 s..1 day";
	}
	return NULL;
}

/* ---- junctions -------------------------------------------------------------------- */

/* Priority of a road class at a junction without signs: higher wins. */
static int class_rank(uint8_t road_class)
{
	static const int rank[FS_ROAD_CLASS_COUNT] = {
		[FS_ROAD_MOTORWAY] = 10,     [FS_ROAD_TRUNK] = 9,	   [FS_ROAD_PRIMARY] = 8,
		[FS_ROAD_SECONDARY] = 7,     [FS_ROAD_TERTIARY] = 6,	   [FS_ROAD_UNCLASSIFIED] = 5,
		[FS_ROAD_RESIDENTIAL] = 4,   [FS_ROAD_LIVING_STREET] = 3, [FS_ROAD_SERVICE] = 2,
		[FS_ROAD_MOTORWAY_LINK] = 8, [FS_ROAD_TRUNK_LINK] = 7,	   [FS_ROAD_PRIMARY_LINK] = 7,
		[FS_ROAD_SECONDARY_LINK] = 6, [FS_ROAD_TERTIARY_LINK] = 5, [FS_ROAD_OTHER] = 4,
	};
	return road_class < FS_ROAD_CLASS_COUNT ? rank[road_class] : 4;
}

static bool is_grade_separated(uint8_t road_class)
{
	return road_class == FS_ROAD_MOTORWAY || road_class == FS_ROAD_TRUNK ||
	       road_class == FS_ROAD_MOTORWAY_LINK || road_class == FS_ROAD_TRUNK_LINK;
}

/* Distinct neighbours of @v, up to 3 (enough to tell a junction). */
static unsigned junction_degree(const struct fs_network *net, uint32_t v)
{
	uint32_t seen[3];
	unsigned n = 0;
	for (uint32_t i = net->out_first[v]; i < net->out_first[v + 1] && n < 3; i++) {
		uint32_t u = net->edges[i].to;
		bool dup = false;
		for (unsigned k = 0; k < n; k++) {
			dup |= seen[k] == u;
		}
		if (!dup) {
			seen[n++] = u;
		}
	}
	for (uint32_t i = net->in_first[v]; i < net->in_first[v + 1] && n < 3; i++) {
		uint32_t u = net->edges[net->in_edges[i]].from;
		bool dup = false;
		for (unsigned k = 0; k < n; k++) {
			dup |= seen[k] == u;
		}
		if (!dup) {
			seen[n++] = u;
		}
	}
	return n;
}

/* Direction of @edge's last (or, @first, first) shape segment. */
static void edge_heading(const struct fs_network *net, uint32_t edge, bool first, double *dx, double *dy)
{
	const struct fs_edge *e = &net->edges[edge];
	const struct fs_point *pts = net->shape + e->shape_first;
	uint32_t n = e->shape_count;
	struct fs_point a = first ? pts[0] : pts[n - 2], b = first ? pts[1] : pts[n - 1];
	*dx = b.x - a.x;
	*dy = b.y - a.y;
}

/*
 * The highest rank among the roads that cross @edge's road at its end node:
 * every road meeting there except @edge itself and the one that continues
 * it (same class and name, else the same class and straightest on). -1 if
 * nothing crosses (a bend, or a driveway-free pass-through).
 */
static int crossing_rank(const struct fs_network *net, uint32_t edge)
{
	const struct fs_edge *e = &net->edges[edge];
	uint32_t v = e->to;
	double ex, ey;
	edge_heading(net, edge, false, &ex, &ey);
	/* the continuation: an out edge not back to where @edge came from */
	uint32_t cont = UINT32_MAX;
	double cont_score = -INFINITY;
	for (uint32_t i = net->out_first[v]; i < net->out_first[v + 1]; i++) {
		const struct fs_edge *o = &net->edges[i];
		if (o->to == e->from || o->road_class != e->road_class) {
			continue;
		}
		double ox, oy;
		edge_heading(net, i, true, &ox, &oy);
		double norm = hypot(ex, ey) * hypot(ox, oy);
		double score = (norm > 0.0 ? (ex * ox + ey * oy) / norm : 0.0) + (e->name && o->name == e->name ? 2.0 : 0.0);
		if (score > cont_score) {
			cont_score = score;
			cont = o->to;
		}
	}
	int best = -1;
	for (uint32_t i = net->in_first[v]; i < net->in_first[v + 1]; i++) {
		const struct fs_edge *o = &net->edges[net->in_edges[i]];
		if (o->from != e->from && o->from != cont) {
			best = class_rank(o->road_class) > best ? class_rank(o->road_class) : best;
		}
	}
	for (uint32_t i = net->out_first[v]; i < net->out_first[v + 1]; i++) {
		const struct fs_edge *o = &net->edges[i];
		if (o->to != e->from && o->to != cont) {
			best = class_rank(o->road_class) > best ? class_rank(o->road_class) : best;
		}
	}
	return best;
}

static bool enters_roundabout(const struct fs_network *net, uint32_t edge)
{
	const struct fs_edge *e = &net->edges[edge];
	if (e->flags & FS_EDGE_ROUNDABOUT) {
		return false;
	}
	for (uint32_t i = net->out_first[e->to]; i < net->out_first[e->to + 1]; i++) {
		if (net->edges[i].flags & FS_EDGE_ROUNDABOUT) {
			return true;
		}
	}
	return false;
}

int fs_traffic_junction_kind(const struct fs_network *net, uint32_t edge)
{
	const struct fs_edge *e = &net->edges[edge];
	if (e->flags & FS_EDGE_SIGNAL) {
		return FS_JUNCTION_SIGNAL;
	}
	if (e->flags & FS_EDGE_STOP) {
		return FS_JUNCTION_STOP;
	}
	if ((e->flags & FS_EDGE_GIVE_WAY) || enters_roundabout(net, edge)) {
		return FS_JUNCTION_GIVE_WAY;
	}
	if (is_grade_separated(e->road_class) || junction_degree(net, e->to) < 3) {
		return FS_JUNCTION_NONE; /* ramps merge; a bend or dead end is no junction */
	}
	int mine = class_rank(e->road_class), other = crossing_rank(net, edge);
	if (other > mine) {
		return FS_JUNCTION_MINOR;
	}
	return other == mine ? FS_JUNCTION_EQUAL : FS_JUNCTION_NONE;
}

/* HCM uniform control delay at a signal for a share of green @g, volumes low (X -> 0):
 * d = C (1 - g)^2 / 2. Congestion on top of it is the hour factor. */
static double signal_delay_s(const struct fs_traffic_params *p, double g)
{
	return 0.5 * p->signal_cycle_s * (1.0 - g) * (1.0 - g);
}

double fs_traffic_junction_delay_s(const struct fs_network *net, const struct fs_traffic_params *p,
				   uint32_t edge)
{
	switch (fs_traffic_junction_kind(net, edge)) {
	case FS_JUNCTION_SIGNAL: {
		bool major = class_rank(net->edges[edge].road_class) >= crossing_rank(net, edge);
		return signal_delay_s(p, major ? p->signal_green_major : p->signal_green_minor);
	}
	case FS_JUNCTION_STOP:
	case FS_JUNCTION_MINOR:
		return p->stop_delay_s;
	case FS_JUNCTION_GIVE_WAY:
		return p->give_way_delay_s;
	case FS_JUNCTION_EQUAL:
		return p->equal_delay_s;
	default:
		return 0.0;
	}
}

void fs_traffic_apply_junctions(struct fs_network *net, const struct fs_traffic_params *p,
				struct fs_junction_stats *ret_stats)
{
	/* the kind of a junction depends on flags, classes and topology, never on
	 * travel times, so edges can be changed as they are decided */
	struct fs_junction_stats st = { { 0 }, 0.0 };
	for (uint32_t e = 0; e < net->edge_count; e++) {
		double d = fs_traffic_junction_delay_s(net, p, e);
		st.edges[fs_traffic_junction_kind(net, e)]++;
		st.mean_delay_s += d;
		net->edges[e].travel_time_s += (float)d;
	}
	st.mean_delay_s /= net->edge_count ? net->edge_count : 1;
	if (ret_stats) {
		*ret_stats = st;
	}
}

/* ---- the fleet's own traffic -------------------------------------------------------- */

/* Slots group road classes into three families that share a cell's traffic:
 * motorways and trunk roads with their ramps, arterials (primary to
 * tertiary with their links), local streets. Finer slots would hold a few
 * metres of road, where one car makes a jam. */
#define TRAFFIC_GROUPS 3

static uint32_t road_group(uint8_t road_class)
{
	switch (road_class) {
	case FS_ROAD_MOTORWAY:
	case FS_ROAD_MOTORWAY_LINK:
	case FS_ROAD_TRUNK:
	case FS_ROAD_TRUNK_LINK:
		return 0;
	case FS_ROAD_PRIMARY:
	case FS_ROAD_PRIMARY_LINK:
	case FS_ROAD_SECONDARY:
	case FS_ROAD_SECONDARY_LINK:
	case FS_ROAD_TERTIARY:
	case FS_ROAD_TERTIARY_LINK:
		return 1;
	default:
		return 2;
	}
}

struct slot {
	double lane_km;
	double free_kmh;       /* length over travel time (with junction delays) */
	double capacity;       /* lane-km weighted capacity, veh/h/lane */
	double hour_factor[FS_TRAFFIC_HOURS]; /* travel-time weighted */
	double background_vc[FS_TRAFFIC_HOURS]; /* v/c giving hour_factor under BPR */
	double fleet_factor;   /* now */
};

struct fs_traffic {
	const struct fs_network *net;
	struct fs_traffic_params p;
	uint32_t cols, rows, slot_count;
	double cell_w, cell_h;
	uint32_t *edge_slot;   /* edge -> slot */
	struct slot *slots;
	uint32_t hour;
	double max_fleet_factor;
};

/* Sums per slot, then the means they stand for. */
static void build_slots(struct fs_traffic *t)
{
	const struct fs_network *net = t->net;
	const struct fs_traffic_params *p = &t->p;
	for (uint32_t e = 0; e < net->edge_count; e++) {
		const struct fs_edge *ed = &net->edges[e];
		const struct fs_node *a = &net->nodes[ed->from], *b = &net->nodes[ed->to];
		double mx = 0.5 * (a->x + b->x) - net->min_x, my = 0.5 * (a->y + b->y) - net->min_y;
		uint32_t cx = (uint32_t)fmin(t->cols - 1, fmax(0.0, t->cell_w > 0.0 ? floor(mx / t->cell_w) : 0.0));
		uint32_t cy = (uint32_t)fmin(t->rows - 1, fmax(0.0, t->cell_h > 0.0 ? floor(my / t->cell_h) : 0.0));
		uint32_t cls = ed->road_class < FS_ROAD_CLASS_COUNT ? ed->road_class : FS_ROAD_OTHER;
		uint32_t id = (cy * t->cols + cx) * TRAFFIC_GROUPS + road_group((uint8_t)cls);
		struct slot *s = &t->slots[id];
		double lane_km = ed->length_m / 1000.0 * (ed->lanes ? ed->lanes : 1), hours = ed->travel_time_s / 3600.0;
		t->edge_slot[e] = id;
		s->lane_km += lane_km;
		s->capacity += lane_km * p->capacity_vphpl[cls];
		s->free_kmh += ed->length_m / 1000.0; /* km for now, over hours below */
		s->fleet_factor += hours;             /* hours for now */
		for (int h = 0; h < FS_TRAFFIC_HOURS; h++) {
			s->hour_factor[h] += hours * p->hour_factor[h][cls];
		}
	}
	for (uint32_t i = 0; i < t->slot_count; i++) {
		struct slot *s = &t->slots[i];
		double hours = s->fleet_factor;
		s->free_kmh = hours > 0.0 ? s->free_kmh / hours : 0.0;
		s->capacity = s->lane_km > 0.0 ? s->capacity / s->lane_km : 1.0;
		for (int h = 0; h < FS_TRAFFIC_HOURS; h++) {
			double f = hours > 0.0 ? s->hour_factor[h] / hours : 1.0;
			s->hour_factor[h] = f;
			s->background_vc[h] = p->bpr_alpha > 0.0 ? pow((f - 1.0) / p->bpr_alpha, 1.0 / p->bpr_beta) : 0.0;
		}
		s->fleet_factor = 1.0;
	}
}

struct fs_traffic *fs_traffic_create(const struct fs_network *net, const struct fs_traffic_params *p,
				     struct fs_error *err)
{
	const char *why = fs_traffic_params_invalid(p);
	if (why) {
		fs_error_set(err, -EINVAL, "traffic: %s", why);
		return NULL;
	}
	struct fs_traffic *t = fs_calloc(1, sizeof(*t));
	if (!t) {
		goto nomem;
	}
	t->net = net;
	t->p = *p;
	double w = fmax(0.0, net->max_x - net->min_x), h = fmax(0.0, net->max_y - net->min_y);
	/* cells of about cell_m that tile the network's extent exactly, so no
	 * edge cell holds a sliver of road */
	t->cols = (uint32_t)fmax(1.0, round(w / p->cell_m));
	t->rows = (uint32_t)fmax(1.0, round(h / p->cell_m));
	t->cell_w = w / t->cols;
	t->cell_h = h / t->rows;
	if ((uint64_t)t->cols * t->rows * TRAFFIC_GROUPS > (1u << 24)) {
		fs_error_set(err, -EINVAL, "traffic: %u x %u cells of %.0f m are too many; use larger cells",
			     t->cols, t->rows, p->cell_m);
		fs_free(t);
		return NULL;
	}
	t->slot_count = t->cols * t->rows * TRAFFIC_GROUPS;
	t->edge_slot = fs_malloc((net->edge_count ? net->edge_count : 1) * sizeof(*t->edge_slot));
	t->slots = fs_calloc(t->slot_count, sizeof(*t->slots));
	if (!t->edge_slot || !t->slots) {
		fs_traffic_destroy(t);
		goto nomem;
	}
	build_slots(t);
	t->max_fleet_factor = 1.0;
	return t;
nomem:
	fs_error_set(err, -ENOMEM, "traffic: out of memory");
	return NULL;
}

void fs_traffic_destroy(struct fs_traffic *t)
{
	if (!t) {
		return;
	}
	fs_free(t->edge_slot);
	fs_free(t->slots);
	fs_free(t);
}

uint32_t fs_traffic_slot_count(const struct fs_traffic *t)
{
	return t->slot_count;
}

uint32_t fs_traffic_slot_of_edge(const struct fs_traffic *t, uint32_t edge)
{
	return edge < t->net->edge_count ? t->edge_slot[edge] : 0;
}

void fs_traffic_update(struct fs_traffic *t, uint32_t local_hour, const uint32_t *vehicles)
{
	t->hour = local_hour % FS_TRAFFIC_HOURS;
	t->max_fleet_factor = 1.0;
	for (uint32_t i = 0; i < t->slot_count; i++) {
		struct slot *s = &t->slots[i];
		double f = 1.0;
		if (vehicles && vehicles[i] && s->lane_km > 0.0 && t->p.bpr_alpha > 0.0) {
			/* flow per lane = density per lane-km x the slot's speed now */
			double f_hour = s->hour_factor[t->hour];
			double q = vehicles[i] / s->lane_km * (s->free_kmh / f_hour);
			double x = s->background_vc[t->hour] + q / s->capacity;
			f = (1.0 + t->p.bpr_alpha * pow(x, t->p.bpr_beta)) / f_hour;
			/* BPR grows without bound past capacity; traffic does not: it crawls */
			double crawl = s->free_kmh / f_hour / t->p.min_speed_kmh;
			f = fmin(f, fmax(1.0, crawl));
			f = f > 1.0 ? f : 1.0;
		}
		s->fleet_factor = f;
		t->max_fleet_factor = f > t->max_fleet_factor ? f : t->max_fleet_factor;
	}
}

double fs_traffic_fleet_factor(const struct fs_traffic *t, uint32_t edge)
{
	return edge < t->net->edge_count ? t->slots[t->edge_slot[edge]].fleet_factor : 1.0;
}

double fs_traffic_edge_factor(const struct fs_traffic *t, uint32_t edge)
{
	if (edge >= t->net->edge_count) {
		return 1.0;
	}
	uint8_t cls = t->net->edges[edge].road_class;
	return t->p.hour_factor[t->hour][cls < FS_ROAD_CLASS_COUNT ? cls : FS_ROAD_OTHER] *
	       t->slots[t->edge_slot[edge]].fleet_factor;
}

double fs_traffic_max_fleet_factor(const struct fs_traffic *t)
{
	return t->max_fleet_factor;
}

double fs_traffic_path_fleet_factor(const struct fs_traffic *t, const uint32_t *edges, uint32_t count)
{
	double base = 0.0, slowed = 0.0;
	for (uint32_t i = 0; i < count; i++) {
		if (edges[i] < t->net->edge_count) {
			double tt = t->net->edges[edges[i]].travel_time_s;
			base += tt;
			slowed += tt * t->slots[t->edge_slot[edges[i]]].fleet_factor;
		}
	}
	return base > 0.0 ? slowed / base : 1.0;
}
