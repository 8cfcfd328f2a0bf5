/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/traffic.h - what a street costs to drive: junction control delays, the
 * city's congestion by hour of the day, and the extra delay the fleet's own
 * vehicles cause (a BPR volume-delay function).
 *
 * The time to drive edge e at local hour h is
 *
 *     (length / free-flow speed + junction_delay(e)) * hour_factor[h][class(e)]
 *         * fleet_factor(cell(e), class(e))
 *
 * - junction_delay(e) is the mean control delay at the junction e enters:
 *   a signal (HCM uniform delay for the approach's share of green), a stop
 *   or give-way sign, or, where OSM says nothing, priority by road class
 *   (a minor road entering a major one stops, equal roads yield). It is
 *   folded into the network's edge travel_time_s once, at load, so routing,
 *   ETAs and driving all use one number (fs_traffic_apply_junctions()).
 * - hour_factor comes from a measured speed-by-hour curve (taxi trip
 *   records: data/demand/NAME_profile.csv) as the quiet-night speed over the
 *   hour's speed: the background traffic of the city. The router is built
 *   with it, so routes and ETAs know the rush hour.
 * - fleet_factor is the BPR function t/t0 = 1 + alpha (v/c)^beta applied to
 *   the background volume (the v/c that gives hour_factor) plus the fleet's
 *   own flow per lane in a grid cell and road family, over its capacity. The background
 *   alone gives exactly hour_factor, so fleet_factor >= 1 and the router's
 *   times stay lower bounds of what the fleet drives.
 *
 * Pure data and functions: no clock, no I/O. Sources in docs/traffic.md.
 */
#ifndef FS_TRAFFIC_H
#define FS_TRAFFIC_H

#include <stdint.h>

#include "fs/error.h"
#include "fs/network.h"

#define FS_TRAFFIC_HOURS 24

struct fs_demand_profile;

struct fs_traffic_params {
	/* junction control (seconds and shares of the signal cycle) */
	double signal_cycle_s;        /* signal cycle length */
	double signal_green_major;    /* effective green / cycle, major approach */
	double signal_green_minor;    /* the same, minor approach */
	double stop_delay_s;          /* stop sign, or a minor road entering a major one */
	double give_way_delay_s;      /* give-way sign */
	double equal_delay_s;         /* unsignalised crossing of roads of one rank */
	/* The speed profile's hour factors are scaled to the city: extra travel
	 * time over free flow of the city over that of the profile's city
	 * (TomTom Traffic Index "congestion level", both from the same edition). */
	double congestion_level;         /* the simulated city's */
	double profile_congestion_level; /* the speed profile's city's; 0 = no scaling */
	/* congestion by local hour and road class (1 = the quiet night) */
	double hour_factor[FS_TRAFFIC_HOURS][FS_ROAD_CLASS_COUNT];
	/* the fleet's own traffic: BPR t/t0 = 1 + alpha (v/c)^beta */
	double bpr_alpha;
	double bpr_beta;
	double capacity_vphpl[FS_ROAD_CLASS_COUNT]; /* vehicles per hour per lane */
	double cell_m;                /* side of the square cells flows are counted in */
	double update_s;              /* how often the fleet's flows are counted and applied */
	double min_speed_kmh;         /* the fleet never slows a slot below this (a crawl) */
};

/** Fill @p with the defaults (sources in docs/traffic.md). hour_factor is all 1. */
void fs_traffic_params_defaults(struct fs_traffic_params *p);

/**
 * Set hour_factor from @profile's speeds by pickup hour (space-mean speed of
 * the taxi trips that start in that hour): the quiet-night speed, the mean of
 * the four hours with the least demand, over each hour's speed, at least 1,
 * the same for every road class. -EINVAL with @err if the profile has no
 * usable speeds. The factors are then scaled to the city:
 * 1 + (f - 1) * congestion_level / profile_congestion_level.
 */
int fs_traffic_hour_factors_from_profile(struct fs_traffic_params *p,
					 const struct fs_demand_profile *profile,
					 struct fs_error *err);

/** NULL if @p is usable, else what is wrong with it. */
const char *fs_traffic_params_invalid(const struct fs_traffic_params *p);

/* What junction control an edge ends in (bits of fs_edge.flags, set by the OSM loader). */
enum fs_junction_control {
	FS_JUNCTION_NONE = 0,
	FS_JUNCTION_SIGNAL,
	FS_JUNCTION_STOP,
	FS_JUNCTION_GIVE_WAY,
	FS_JUNCTION_MINOR,  /* untagged: a minor road entering a major one */
	FS_JUNCTION_EQUAL,  /* untagged: roads of one rank cross */
	FS_JUNCTION_KIND_COUNT,
};

struct fs_junction_stats {
	uint32_t edges[FS_JUNCTION_KIND_COUNT]; /* edges ending in each kind */
	double mean_delay_s;                    /* over all edges */
};

/** The kind of junction @edge of @net enters. */
int fs_traffic_junction_kind(const struct fs_network *net, uint32_t edge);
/** Mean control delay at the junction @edge enters, seconds. */
double fs_traffic_junction_delay_s(const struct fs_network *net, const struct fs_traffic_params *p,
				   uint32_t edge);

/**
 * Add each edge's junction delay to its travel_time_s (once per loaded
 * network; every process of a run does the same, so times agree).
 * @ret_stats may be NULL.
 */
void fs_traffic_apply_junctions(struct fs_network *net, const struct fs_traffic_params *p,
				struct fs_junction_stats *ret_stats);

/* ---- the fleet's own traffic ------------------------------------------------------ */

/*
 * The fleet's flow is counted per slot, a (cell, road family) pair: the
 * vehicles driving on that cell's motorways and trunk roads, its arterials
 * (primary to tertiary), or its local streets. Their density per
 * lane-km times the slot's current speed is a flow per lane (veh/h/lane),
 * the quantity BPR is defined for.
 */
struct fs_traffic;

/** A traffic state over @net (borrowed). NULL with @err on bad params or no memory. */
struct fs_traffic *fs_traffic_create(const struct fs_network *net, const struct fs_traffic_params *p,
				     struct fs_error *err);
void fs_traffic_destroy(struct fs_traffic *t);

/** Number of (cell, class) slots a flow vector has. */
uint32_t fs_traffic_slot_count(const struct fs_traffic *t);
/** The slot @edge counts in. */
uint32_t fs_traffic_slot_of_edge(const struct fs_traffic *t, uint32_t edge);

/**
 * Set the local hour and the fleet's vehicles driving per slot
 * (@vehicles[fs_traffic_slot_count()], NULL = none). Deterministic: the
 * same inputs give the same factors in every process.
 */
void fs_traffic_update(struct fs_traffic *t, uint32_t local_hour, const uint32_t *vehicles);

/** Travel-time multiplier on @edge now (hour factor times fleet factor), >= 1. */
double fs_traffic_edge_factor(const struct fs_traffic *t, uint32_t edge);
/** The fleet's share of it: fleet factor on @edge now, >= 1. */
double fs_traffic_fleet_factor(const struct fs_traffic *t, uint32_t edge);
/** The largest fleet factor over all slots now (for reports). */
double fs_traffic_max_fleet_factor(const struct fs_traffic *t);
/**
 * The fleet's factor over a path of @count @edges: their fleet factors
 * weighted by their travel times (what a time computed without the fleet's
 * traffic is multiplied by to get the time the vehicle drives). 1 if empty.
 */
double fs_traffic_path_fleet_factor(const struct fs_traffic *t, const uint32_t *edges, uint32_t count);

#endif
