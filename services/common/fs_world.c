/* SPDX-License-Identifier: Apache-2.0 */
/* fs_world - load the shared city model of a run. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/calendar.h"
#include "fs/demand.h"
#include "fs/demand_load.h"
#include "fs/network_load.h"
#include "fs/vehicle.h"
#include "fs/weather.h"
#include "fs_data.h"
#include "fs_log.h"
#include "fs_participant.h"
#include "fs_world.h"

const char *fs_world_cache_dir(char *buf, size_t size)
{
	const char *env = getenv("FLEETSIM_CACHE");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	if (env && *env) {
		snprintf(buf, size, "%s", env);
	} else if (xdg && *xdg) {
		snprintf(buf, size, "%s/fleetsim", xdg);
	} else if (home && *home && access(home, W_OK) == 0) {
		snprintf(buf, size, "%s/.cache/fleetsim", home);
	} else {
		snprintf(buf, size, "/tmp/fleetsim-cache-%u", (unsigned)getuid());
	}
	return buf;
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	return mkdir(tmp, 0755) == 0 || errno == EEXIST ? 0 : -errno;
}

static bool is_osm(const char *spec)
{
	size_t n = strlen(spec);
	return (n > 4 && !strcmp(spec + n - 4, ".pbf")) || (n > 4 && !strcmp(spec + n - 4, ".osm"));
}

uint32_t fs_world_hour(const struct fs_world *w, int64_t sim_time_ms)
{
	int64_t local = w->tz ? fs_timezone_local_ms(w->tz, sim_time_ms) : sim_time_ms;
	return (uint32_t)(fs_calendar_second_of_day(local) / 3600);
}

int fs_world_traffic_params(const struct fs_scenario *sc, const char *data_dir,
			    const char *demand_profile, struct fs_traffic_params *ret)
{
	*ret = sc->traffic;
	const char *name = sc->speed_profile;
	if (!strcmp(name, "none")) {
		return 0;
	}
	if (!strcmp(name, "demand")) {
		name = demand_profile ? demand_profile : sc->demand_profile;
	}
	char path[PATH_MAX];
	if (strchr(name, '/')) {
		snprintf(path, sizeof(path), "%s", name);
	} else {
		snprintf(path, sizeof(path), "%s/demand/%s_profile.csv", data_dir ? data_dir : fs_data_dir(), name);
	}
	struct fs_error err = { "" };
	struct fs_demand_profile *profile = fs_xcalloc(1, sizeof(*profile));
	int rc = fs_demand_profile_load(path, profile, &err);
	if (rc == 0) {
		rc = fs_traffic_hour_factors_from_profile(ret, profile, &err);
	}
	free(profile);
	if (rc < 0) {
		fs_error("traffic.speed_profile: %s", err.message);
	}
	return rc;
}

uint32_t fs_world_nearest_depot(const struct fs_world *w, uint32_t node)
{
	uint32_t best = 0;
	double best_d = INFINITY;
	const struct fs_node *n = &w->net->nodes[node];
	for (uint32_t d = 0; d < w->depot_count; d++) {
		const struct fs_node *m = &w->net->nodes[w->depot_nodes[d]];
		double dd = (n->x - m->x) * (n->x - m->x) + (n->y - m->y) * (n->y - m->y);
		if (dd < best_d) {
			best_d = dd;
			best = d;
		}
	}
	return best;
}

/* Depots on a regular pattern over the service area, each at the nearest
 * service node: deterministic, and spread so no part of the city is far. */
static void place_depots(struct fs_world *w, uint32_t count)
{
	const struct fs_network *net = w->net;
	uint32_t cols = (uint32_t)ceil(sqrt((double)count));
	uint32_t rows = (count + cols - 1) / cols;
	for (uint32_t k = 0; k < count; k++) {
		double fx = ((double)(k % cols) + 0.5) / cols, fy = ((double)(k / cols) + 0.5) / rows;
		double x = net->min_x + fx * (net->max_x - net->min_x);
		double y = net->min_y + fy * (net->max_y - net->min_y);
		uint32_t best = 0;
		double best_d = INFINITY;
		for (uint32_t v = 0; v < net->node_count; v++) {
			if (!w->in_scc[v]) {
				continue;
			}
			double d = (net->nodes[v].x - x) * (net->nodes[v].x - x) + (net->nodes[v].y - y) * (net->nodes[v].y - y);
			if (d < best_d) {
				best_d = d;
				best = v;
			}
		}
		w->depot_nodes[w->depot_count++] = best;
	}
}

struct fs_world *fs_world_load(const char *spec, uint32_t depots)
{
	return fs_world_load_traffic(spec, depots, NULL, NULL);
}

struct fs_world *fs_world_load_traffic(const char *spec, uint32_t depots,
				       const struct fs_traffic_params *traffic, const struct fs_timezone *tz)
{
	struct fs_error err = { "" };
	struct fs_world *w = fs_xcalloc(1, sizeof(*w));
	if (is_osm(spec)) {
		char cache[PATH_MAX];
		fs_world_cache_dir(cache, sizeof(cache));
		int status = 0;
		if (mkdir_p(cache) < 0) {
			fs_warn("cannot create the network cache %s: %s", cache, strerror(errno));
		}
		w->net = fs_network_load_cached(spec, cache, &status, &err);
		if (w->net && status < 0) {
			fs_warn("could not write the network cache in %s: %s", cache, strerror(-status));
		}
	} else {
		w->net = fs_network_load(spec, &err);
	}
	if (!w->net) {
		fs_error("%s", err.message[0] ? err.message : "cannot load the road network");
		goto fail;
	}
	w->in_scc = fs_xcalloc(w->net->node_count ? w->net->node_count : 1, 1);
	if (fs_network_largest_scc(w->net, w->in_scc) <= 0) {
		fs_error("%s: the road network has no strongly connected component to serve", spec);
		goto fail;
	}
	w->service_edges = fs_xcalloc(w->net->edge_count ? w->net->edge_count : 1, sizeof(uint32_t));
	for (uint32_t e = 0; e < w->net->edge_count; e++) {
		if (w->in_scc[w->net->edges[e].from] && w->in_scc[w->net->edges[e].to]) {
			w->service_edges[w->service_edge_count++] = e;
		}
	}
	if (!w->service_edge_count) {
		/* e.g. a network of one-way roads that never lead back: no depot, no ride, no return */
		fs_error("%s: no road leads from any node and back to it (the largest part where every node "
			 "reaches every other has no road); are all roads one-way?",
			 spec);
		goto fail;
	}
	w->tz = tz;
	struct fs_router_options ropts;
	fs_router_options_defaults(&ropts);
	if (traffic) {
		const char *why = fs_traffic_params_invalid(traffic);
		if (why) {
			fs_error("traffic: %s", why);
			goto fail;
		}
		w->traffic_params = *traffic;
		fs_traffic_apply_junctions(w->net, traffic, &w->junctions);
		const uint32_t *k = w->junctions.edges;
		fs_debug("junction delays: %u edges end at signals, %u at stop signs, %u give way, %u minor roads "
			 "entering major ones, %u crossings of equal roads, %u no junction; mean %.1f s",
			 k[FS_JUNCTION_SIGNAL], k[FS_JUNCTION_STOP], k[FS_JUNCTION_GIVE_WAY], k[FS_JUNCTION_MINOR],
			 k[FS_JUNCTION_EQUAL], k[FS_JUNCTION_NONE], w->junctions.mean_delay_s);
		memcpy(ropts.time_factor, traffic->hour_factor, sizeof(ropts.time_factor));
		w->traffic = fs_traffic_create(w->net, traffic, &err);
		if (!w->traffic) {
			fs_error("%s", err.message);
			goto fail;
		}
	}
	w->router = fs_router_create(w->net, &ropts, &err);
	if (!w->router) {
		fs_error("routing for %s: %s", spec, err.message);
		goto fail;
	}
	bool motorways = false;
	for (uint32_t e = 0; e < w->net->edge_count && !motorways; e++) {
		motorways = fs_road_is_motorway(w->net->edges[e].road_class);
	}
	w->surface_router = w->router;
	if (motorways) {
		ropts.surface_only = true;
		w->surface_router = fs_router_create(w->net, &ropts, &err);
		if (!w->surface_router) {
			fs_error("routing on surface roads for %s: %s", spec, err.message);
			goto fail;
		}
	}
	w->query = fs_route_query_create(w->router);
	w->surface_query = fs_route_query_create(w->surface_router);
	w->index = fs_network_index_create(w->net, true);
	if (!w->query || !w->surface_query || !w->index) {
		fs_error("out of memory building the world for %s", spec);
		goto fail;
	}
	if (depots < 1 || depots > FS_WORLD_MAX_DEPOTS) {
		fs_error("depot count %u is not in 1..%d", depots, FS_WORLD_MAX_DEPOTS);
		goto fail;
	}
	place_depots(w, depots);
	w->impassable = fs_xcalloc(w->net->edge_count ? w->net->edge_count : 1, 1);
	w->surface_avoid = fs_xcalloc(w->net->edge_count ? w->net->edge_count : 1, 1);
	fs_world_update_roads(w, NULL, FS_RAIN_STORM, NULL);
	/* riders are not picked up on a motorway: snap them to the surface roads (all roads if
	 * the network has nothing else, e.g. a test grid of one class) */
	uint8_t *surface = fs_xcalloc(w->net->edge_count ? w->net->edge_count : 1, 1);
	uint32_t nsurface = 0;
	for (uint32_t e = 0; e < w->net->edge_count; e++) {
		surface[e] = !fs_road_is_motorway(w->net->edges[e].road_class);
		nsurface += surface[e];
	}
	w->stop_index = fs_network_index_create_for(w->net, true, nsurface ? surface : NULL);
	free(surface);
	if (!w->stop_index) {
		fs_error("out of memory building the world for %s", spec);
		goto fail;
	}
	return w;
fail:
	fs_world_destroy(w);
	return NULL;
}

struct fs_world *fs_world_load_scenario(const char *spec, uint32_t depots, const struct fs_scenario *sc,
					const char *data_dir, const char *demand_profile)
{
	struct fs_traffic_params traffic;
	if (fs_world_traffic_params(sc, data_dir, demand_profile, &traffic) < 0) {
		return NULL;
	}
	return fs_world_load_traffic(spec, depots, &traffic, &sc->tz);
}

void fs_world_add_route_results(const struct fs_world *w, struct fs_participant *p)
{
	struct fs_route_stats rs = fs_route_query_stats(w->query), ss = fs_route_query_stats(w->surface_query);
	fs_participant_add_result(p, "routes", (double)rs.routes);
	fs_participant_add_result(p, "route_turn_searches", (double)rs.fallbacks);
	fs_participant_add_result(p, "surface_routes", (double)ss.routes);
	fs_participant_add_result(p, "surface_route_turn_searches", (double)ss.fallbacks);
}

void fs_world_update_roads(struct fs_world *w, const struct fs_weather *weather, uint8_t max_rain,
			   const uint8_t *closed)
{
	bool zones = weather && fs_weather_has_zones(weather);
	uint32_t n = 0;
	for (uint32_t e = 0; e < w->net->edge_count; e++) {
		w->impassable[e] = (closed && closed[e]) || (zones && fs_weather_zone_rain(weather, e) > max_rain);
		w->surface_avoid[e] = w->impassable[e] || fs_road_is_motorway(w->net->edges[e].road_class);
		n += w->impassable[e];
	}
	fs_route_query_avoid(w->query, n ? w->impassable : NULL);
	fs_route_query_avoid(w->surface_query, w->surface_avoid);
}

void fs_world_destroy(struct fs_world *w)
{
	if (!w) {
		return;
	}
	fs_network_index_destroy(w->index);
	fs_network_index_destroy(w->stop_index);
	fs_route_query_destroy(w->query);
	fs_route_query_destroy(w->surface_query);
	free(w->impassable);
	free(w->surface_avoid);
	if (w->surface_router != w->router) {
		fs_router_destroy(w->surface_router);
	}
	fs_router_destroy(w->router);
	fs_traffic_destroy(w->traffic);
	free(w->service_edges);
	free(w->in_scc);
	fs_network_destroy(w->net);
	free(w);
}
