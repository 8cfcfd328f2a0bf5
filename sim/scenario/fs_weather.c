/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_weather - city-wide and zonal weather as per-edge severity and
 * travel-time factor (see fs/weather.h).
 *
 * Which zone holds which edges is worked out once, at creation: a list of
 * edge ids per scenario zone. A change of weather then touches only the
 * edges of the zones involved before and after, not the whole network.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/alloc.h"
#include "fs/geofence.h"
#include "fs/grow.h"
#include "fs/weather.h"

/* One weather event in force, reduced to what the picture depends on. */
struct cell {
	int32_t zone;        /* index into the zones, -1 = the whole city */
	uint8_t rain;
	double speed_factor;
};

struct zone_edges {
	char name[FS_SCN_NAME_MAX];
	uint32_t *edges;
	uint32_t count;
};

struct fs_weather {
	const struct fs_network *net;
	struct zone_edges *zones;
	size_t zone_count;
	uint8_t *edge_rain;      /* per edge, zones only */
	float *edge_factor;      /* per edge, zones only; 0 = clear (1) */
	struct cell *cells;      /* in force now, in event order */
	size_t cell_count, cell_cap;
	struct cell *next;       /* scratch for fs_weather_update() */
	size_t next_cap;
	uint8_t city_rain;
	double city_speed_factor;
	uint32_t edges_affected;
	uint64_t version;
	uint64_t unknown_zones;
};

static int find_zone_edges(struct fs_weather *w, const struct fs_scenario_zone *z, struct zone_edges *out,
			   struct fs_error *err)
{
	const struct fs_network *net = w->net;
	struct fs_geofence *g = fs_geofence_create(&net->proj);
	if (!g) {
		return fs_error_set(err, -ENOMEM, "out of memory");
	}
	struct fs_geofence_ring ring = { z->latlon, z->count };
	struct fs_geofence_polygon poly = { &ring, 1 };
	int rc = fs_geofence_add_zone(g, 0, z->name, FS_GEOFENCE_LATLON, &poly, 1, err);
	if (rc < 0) {
		fs_geofence_destroy(g);
		return rc;
	}
	const struct fs_geofence_zone *gz = fs_geofence_zone(g, 0);
	double x0, y0, x1, y1;
	fs_geofence_zone_bounds(gz, &x0, &y0, &x1, &y1);
	size_t cap = 0;
	for (uint32_t e = 0; e < net->edge_count; e++) {
		const struct fs_node *a = &net->nodes[net->edges[e].from], *b = &net->nodes[net->edges[e].to];
		double mx = 0.5 * (a->x + b->x), my = 0.5 * (a->y + b->y);
		if (mx < x0 || mx > x1 || my < y0 || my > y1 || !fs_geofence_zone_contains(gz, mx, my)) {
			continue;
		}
		if (FS_GROW(out->edges, cap, (size_t)out->count + 1) < 0) {
			fs_geofence_destroy(g);
			return fs_error_set(err, -ENOMEM, "out of memory");
		}
		out->edges[out->count++] = e;
	}
	fs_geofence_destroy(g);
	return 0;
}

struct fs_weather *fs_weather_create(const struct fs_network *net, const struct fs_scenario *sc,
				     struct fs_error *err)
{
	struct fs_weather *w = fs_calloc(1, sizeof(*w));
	if (!w) {
		fs_error_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	w->net = net;
	w->city_speed_factor = 1.0;
	size_t nz = sc ? sc->zone_count : 0;
	w->zones = fs_calloc(nz ? nz : 1, sizeof(*w->zones));
	w->edge_rain = fs_calloc(net->edge_count ? net->edge_count : 1, sizeof(*w->edge_rain));
	w->edge_factor = fs_calloc(net->edge_count ? net->edge_count : 1, sizeof(*w->edge_factor));
	if (!w->zones || !w->edge_rain || !w->edge_factor) {
		fs_error_set(err, -ENOMEM, "out of memory");
		fs_weather_destroy(w);
		return NULL;
	}
	for (size_t i = 0; i < nz; i++) {
		struct zone_edges *ze = &w->zones[w->zone_count++];
		snprintf(ze->name, sizeof(ze->name), "%s", sc->zones[i].name);
		if (find_zone_edges(w, &sc->zones[i], ze, err) < 0) {
			fs_weather_destroy(w);
			return NULL;
		}
	}
	return w;
}

void fs_weather_destroy(struct fs_weather *w)
{
	if (!w) {
		return;
	}
	for (size_t i = 0; i < w->zone_count; i++) {
		fs_free(w->zones[i].edges);
	}
	fs_free(w->zones);
	fs_free(w->edge_rain);
	fs_free(w->edge_factor);
	fs_free(w->cells);
	fs_free(w->next);
	fs_free(w);
}

static int32_t zone_index(const struct fs_weather *w, const char *name)
{
	for (size_t i = 0; i < w->zone_count; i++) {
		if (!strcmp(w->zones[i].name, name)) {
			return (int32_t)i;
		}
	}
	return -2;
}

static bool same_cells(const struct cell *a, size_t na, const struct cell *b, size_t nb)
{
	if (na != nb) {
		return false;
	}
	for (size_t i = 0; i < na; i++) {
		if (a[i].zone != b[i].zone || a[i].rain != b[i].rain || a[i].speed_factor != b[i].speed_factor) {
			return false;
		}
	}
	return true;
}

static void clear_zone(struct fs_weather *w, int32_t z)
{
	const struct zone_edges *ze = &w->zones[z];
	for (uint32_t k = 0; k < ze->count; k++) {
		w->edge_rain[ze->edges[k]] = 0;
		w->edge_factor[ze->edges[k]] = 0.0f;
	}
}

int fs_weather_update(struct fs_weather *w, const struct fs_scenario_event *events, size_t n, uint64_t tick)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		const struct fs_scenario_event *e = &events[i];
		if (e->type != FS_SCN_EVENT_WEATHER || !fs_scenario_event_active(e, tick)) {
			continue;
		}
		int32_t z = strcmp(e->zone, "all") ? zone_index(w, e->zone) : -1;
		if (z == -2) {
			w->unknown_zones += fs_scenario_event_starts(e, tick); /* once, when it starts */
			continue;
		}
		if (FS_GROW(w->next, w->next_cap, count + 1) < 0) {
			return -ENOMEM;
		}
		double sf = e->speed_factor > 0.0 && e->speed_factor <= 1.0 ? e->speed_factor : 1.0;
		w->next[count++] = (struct cell){ z, e->severity, sf };
	}
	if (same_cells(w->cells, w->cell_count, w->next, count)) {
		return 0;
	}
	/* Undo the old picture where it was drawn, then draw the new one: the worst wins. */
	for (size_t i = 0; i < w->cell_count; i++) {
		if (w->cells[i].zone >= 0) {
			clear_zone(w, w->cells[i].zone);
		}
	}
	w->city_rain = 0;
	w->city_speed_factor = 1.0;
	for (size_t i = 0; i < count; i++) {
		const struct cell *c = &w->next[i];
		if (c->zone < 0) {
			w->city_rain = c->rain > w->city_rain ? c->rain : w->city_rain;
			w->city_speed_factor = c->speed_factor < w->city_speed_factor ? c->speed_factor
										      : w->city_speed_factor;
			continue;
		}
		const struct zone_edges *ze = &w->zones[c->zone];
		float factor = (float)(1.0 / c->speed_factor);
		for (uint32_t k = 0; k < ze->count; k++) {
			uint32_t e = ze->edges[k];
			w->edge_rain[e] = c->rain > w->edge_rain[e] ? c->rain : w->edge_rain[e];
			w->edge_factor[e] = factor > w->edge_factor[e] ? factor : w->edge_factor[e];
		}
	}
	w->edges_affected = 0;
	for (size_t i = 0; i < count; i++) {
		const struct cell *c = &w->next[i];
		if (c->zone < 0) {
			continue;
		}
		bool seen = false; /* count a zone named by several events once */
		for (size_t j = 0; j < i && !seen; j++) {
			seen = w->next[j].zone == c->zone;
		}
		w->edges_affected += seen ? 0 : w->zones[c->zone].count;
	}
	/* swap the lists: next becomes current */
	struct cell *cells = w->cells;
	size_t cap = w->cell_cap;
	w->cells = w->next;
	w->cell_cap = w->next_cap;
	w->cell_count = count;
	w->next = cells;
	w->next_cap = cap;
	w->version++;
	return 1;
}

uint8_t fs_weather_city_rain(const struct fs_weather *w)
{
	return w->city_rain;
}

double fs_weather_city_speed_factor(const struct fs_weather *w)
{
	return w->city_speed_factor;
}

uint8_t fs_weather_zone_rain(const struct fs_weather *w, uint32_t edge)
{
	return edge < w->net->edge_count ? w->edge_rain[edge] : 0;
}

double fs_weather_zone_time_factor(const struct fs_weather *w, uint32_t edge)
{
	return edge < w->net->edge_count && w->edge_factor[edge] > 0.0f ? (double)w->edge_factor[edge] : 1.0;
}

bool fs_weather_has_zones(const struct fs_weather *w)
{
	return w->edges_affected > 0;
}

uint32_t fs_weather_edges_affected(const struct fs_weather *w)
{
	return w->edges_affected;
}

uint64_t fs_weather_version(const struct fs_weather *w)
{
	return w->version;
}

uint64_t fs_weather_unknown_zones(const struct fs_weather *w)
{
	return w->unknown_zones;
}
