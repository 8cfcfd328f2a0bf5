/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_scenario_yaml - read a scenario YAML file with a strict schema into a
 * struct fs_scenario (fs/scenario_load.h; the scenario itself is sim/).
 *
 * libyaml's document API gives a node tree with a start mark per node, so
 * every complaint points at the offending key or value as
 * "file:line:column: reason" (lines and columns 1-based). Sections are read
 * in a fixed order whatever their order in the file, because events are
 * validated against the rest (zones, depots, releases, programmes, tick).
 * A list section (zones, depots, software, programmes, cities) replaces the
 * default list; a mapping section changes only the keys it names.
 *
 * What a file may cost is bounded as it is read (load_document(), the
 * FS_SCN_*_MAX limits in fs/scenario.h): nesting, values, anchors, list and
 * mapping lengths (events, polygon points), zones, an event's keys and list
 * values, each refused at file:line:column.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "fs/alloc.h"
#include "fs/calendar.h"
#include "fs/file_load.h"
#include "fs/geofence.h"
#include "fs/geofence_load.h"
#include "fs/scenario.h"
#include "fs/scenario_load.h"
#include "fs/timezone_load.h"

struct loader {
	const char *name;
	yaml_document_t doc;
	bool have_doc;          /* doc was initialised (yaml_document_delete() it) */
	struct fs_scenario *sc;
	struct fs_error *err;
};

static int fail(struct loader *L, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct loader *L, const yaml_node_t *n, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return fs_error_at(L->err, -EINVAL, L->name, n ? (unsigned)n->start_mark.line + 1 : 0,
			   n ? (unsigned)n->start_mark.column + 1 : 0, "%s", what);
}

/*
 * A service area file is read here too, so a broken one stops the run before
 * anything starts, with the GeoJSON's own file:line:column after this file's.
 */
static int check_geojson(struct loader *L, const yaml_node_t *n, const char *path)
{
	struct fs_geofence *g = fs_geofence_create(NULL);
	if (!g) {
		return -ENOMEM;
	}
	struct fs_error err = { "" };
	int rc = fs_geofence_load_geojson(g, path, &err);
	fs_geofence_destroy(g);
	if (rc == 0) {
		return fail(L, n, "geofence: %s has no polygon", path);
	}
	return rc < 0 ? fail(L, n, "geofence: %s", err.message) : 0;
}

static yaml_node_t *node(struct loader *L, int id)
{
	return yaml_document_get_node(&L->doc, id);
}

static const char *kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

static const char *text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!strcmp(text(n), "") || !strcmp(text(n), "~") || !strcmp(text(n), "null"));
}

/* A mapping whose keys are all scalars from @allowed (space separated), none twice. */
static int check_map(struct loader *L, const yaml_node_t *map, const char *what, const char *allowed)
{
	if (map->type != YAML_MAPPING_NODE) {
		return fail(L, map, "%s: expected a mapping, found %s", what, kind_name(map));
	}
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = node(L, p->key);
		if (k->type != YAML_SCALAR_NODE) {
			return fail(L, k, "%s: keys must be plain names", what);
		}
		if (!fs_scenario_word_in(allowed, text(k))) {
			return fail(L, k, "unknown key '%s' in %s (expected one of: %s)", text(k), what, allowed);
		}
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			if (!strcmp(text(node(L, q->key)), text(k))) {
				return fail(L, k, "key '%s' given twice in %s", text(k), what);
			}
		}
	}
	return 0;
}

static yaml_node_t *find(struct loader *L, const yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = node(L, p->key);
		if (k->type == YAML_SCALAR_NODE && !strcmp(text(k), key)) {
			return node(L, p->value);
		}
	}
	return NULL;
}

static int need_scalar(struct loader *L, const yaml_node_t *n, const char *key, const char *expected)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n)) {
		return fail(L, n, "%s: expected %s, found %s", key, expected, is_null(n) ? "nothing" : kind_name(n));
	}
	return 0;
}

/* The scalar under @key in @map, or NULL: absent (*@rc 0) or not @expected, a scalar (*@rc the error). */
static const yaml_node_t *get_scalar(struct loader *L, const yaml_node_t *map, const char *key, const char *expected,
				     int *rc)
{
	const yaml_node_t *n = find(L, map, key);
	*rc = n ? need_scalar(L, n, key, expected) : 0;
	return *rc == 0 ? n : NULL;
}

static int get_double(struct loader *L, const yaml_node_t *map, const char *key, double lo, double hi, bool lo_open,
		      double *ret)
{
	int rc;
	const yaml_node_t *n = get_scalar(L, map, key, "a number", &rc);
	if (!n) {
		return rc;
	}
	char *end;
	errno = 0;
	double v = strtod(text(n), &end);
	if (end == text(n) || *end || errno || !isfinite(v)) {
		return fail(L, n, "%s: expected a number, found '%s'", key, text(n));
	}
	if ((lo_open ? v <= lo : v < lo) || v > hi) {
		return fail(L, n, "%s: %g is out of range %s%g, %g]", key, v, lo_open ? "(" : "[", lo, hi);
	}
	*ret = v;
	return 0;
}

static int get_u64(struct loader *L, const yaml_node_t *map, const char *key, uint64_t lo, uint64_t hi, uint64_t *ret)
{
	int rc;
	const yaml_node_t *n = get_scalar(L, map, key, "an integer", &rc);
	if (!n) {
		return rc;
	}
	const char *t = text(n);
	char *end;
	errno = 0;
	unsigned long long v = strtoull(t, &end, 10);
	if (*t < '0' || *t > '9' || *end || errno) {
		return fail(L, n, "%s: expected a non-negative integer, found '%s'", key, t);
	}
	if (v < lo || v > hi) {
		return fail(L, n, "%s: %llu is out of range [%" PRIu64 ", %" PRIu64 "]", key, v, lo, hi);
	}
	*ret = v;
	return 0;
}

static int get_u32(struct loader *L, const yaml_node_t *map, const char *key, uint32_t lo, uint32_t hi, uint32_t *ret)
{
	uint64_t v = *ret;
	int rc = get_u64(L, map, key, lo, hi, &v);
	*ret = (uint32_t)v;
	return rc;
}

static int get_string(struct loader *L, const yaml_node_t *map, const char *key, char *buf, size_t size)
{
	int rc;
	const yaml_node_t *n = get_scalar(L, map, key, "a string", &rc);
	if (!n) {
		return rc;
	}
	if (strlen(text(n)) >= size) {
		return fail(L, n, "%s: longer than %zu characters", key, size - 1);
	}
	snprintf(buf, size, "%s", text(n));
	return 0;
}

static int get_duration_ms(struct loader *L, const yaml_node_t *map, const char *key, uint64_t lo, uint64_t hi,
			   uint64_t *ret)
{
	int rc;
	const yaml_node_t *n = get_scalar(L, map, key, "a duration", &rc);
	if (!n) {
		return rc;
	}
	uint64_t v;
	if (!fs_scenario_parse_duration_ms(text(n), &v)) {
		return fail(L, n, "%s: expected a duration such as 90s, 15m, 2h, 1d or 1h30m, found '%s'", key, text(n));
	}
	if (v < lo || v > hi) {
		return fail(L, n, "%s: %s is out of range", key, text(n));
	}
	*ret = v;
	return 0;
}

static int get_date(struct loader *L, const yaml_node_t *map, const char *key, int64_t *ret)
{
	int rc;
	const yaml_node_t *n = get_scalar(L, map, key, "a date", &rc);
	if (!n) {
		return rc;
	}
	if (fs_calendar_parse(text(n), ret) < 0) {
		return fail(L, n, "%s: '%s' is not a date such as 2028-06, 2028-06-01 or 2028-06-01T06:00:00Z", key,
			    text(n));
	}
	return 0;
}

static int get_enum(struct loader *L, const yaml_node_t *map, const char *key, const char *const *names, int count,
		    int *ret)
{
	int rc;
	const yaml_node_t *n = get_scalar(L, map, key, "a name", &rc);
	if (!n) {
		return rc;
	}
	char all[200] = "";
	for (int i = 0; i < count; i++) {
		if (names[i] && !strcmp(names[i], text(n))) {
			*ret = i;
			return 0;
		}
		if (names[i]) {
			size_t len = strlen(all);
			snprintf(all + len, sizeof(all) - len, "%s%s", len ? ", " : "", names[i]);
		}
	}
	return fail(L, n, "%s: '%s' is not one of %s", key, text(n), all);
}

static int need_list(struct loader *L, const yaml_node_t *n, const char *key)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		return fail(L, n, "%s: expected a list, found %s", key, kind_name(n));
	}
	return 0;
}

static size_t list_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static yaml_node_t *list_item(struct loader *L, const yaml_node_t *n, size_t i)
{
	return node(L, n->data.sequence.items.start[i]);
}

/* A written path: relative ones are taken relative to the scenario file, and must be readable. */
static int resolve_path(struct loader *L, const yaml_node_t *n, const char *key, char *value, size_t size)
{
	char buf[FS_SCN_PATH_MAX];
	if (fs_scenario_path(L->sc, value, buf, sizeof(buf)) < 0 || strlen(buf) >= size) {
		return fail(L, n, "%s: path too long", key);
	}
	if (access(buf, R_OK) < 0) {
		return fail(L, n, "%s: cannot read '%s': %s", key, buf, strerror(errno));
	}
	snprintf(value, size, "%s", buf);
	return 0;
}

static bool looks_like_path(const char *s)
{
	return strchr(s, '/') || strchr(s, '.');
}

/* ---- lat/lon ---- */

static int parse_latlon(struct loader *L, const yaml_node_t *n, const char *key, double *lat, double *lon)
{
	if (n->type != YAML_SEQUENCE_NODE || list_len(n) != 2) {
		return fail(L, n, "%s: expected [lat, lon], found %s", key, kind_name(n));
	}
	double v[2];
	for (int i = 0; i < 2; i++) {
		const yaml_node_t *c = list_item(L, n, (size_t)i);
		char *end;
		if (c->type != YAML_SCALAR_NODE) {
			return fail(L, c, "%s: expected a number, found %s", key, kind_name(c));
		}
		errno = 0;
		v[i] = strtod(text(c), &end);
		if (end == text(c) || *end || errno || !isfinite(v[i])) {
			return fail(L, c, "%s: expected a number, found '%s'", key, text(c));
		}
		if (fabs(v[i]) > (i == 0 ? 90.0 : 180.0)) {
			return fail(L, c, "%s: %s %g is out of range", key, i == 0 ? "latitude" : "longitude", v[i]);
		}
	}
	*lat = v[0];
	*lon = v[1];
	return 0;
}

static int parse_polygon(struct loader *L, const yaml_node_t *n, const char *key, double **ret, size_t *ret_count)
{
	int rc = need_list(L, n, key);
	if (rc < 0) {
		return rc;
	}
	size_t count = list_len(n);
	if (count < 3) {
		return fail(L, n, "%s: a polygon needs at least 3 [lat, lon] points", key);
	}
	double *pts = fs_malloc(2 * count * sizeof(double));
	if (!pts) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		if ((rc = parse_latlon(L, list_item(L, n, i), key, &pts[2 * i], &pts[2 * i + 1])) < 0) {
			fs_free(pts);
			return rc;
		}
	}
	*ret = pts;
	*ret_count = count;
	return 0;
}

/* ---- sections ---- */

static int read_zone(struct loader *L, const yaml_node_t *n, struct fs_scenario_zone *z)
{
	int rc = check_map(L, n, "a zone", "name polygon");
	if (rc < 0) {
		return rc;
	}
	const yaml_node_t *name = find(L, n, "name"), *poly = find(L, n, "polygon");
	if (!name || !poly) {
		return fail(L, n, "a zone needs %s", !name ? "a name" : "a polygon");
	}
	if ((rc = get_string(L, n, "name", z->name, sizeof(z->name))) < 0) {
		return rc;
	}
	if (!strcmp(z->name, "all") || !z->name[0]) {
		return fail(L, name, "name: '%s' is reserved (it means the whole city)", z->name);
	}
	return parse_polygon(L, poly, "polygon", &z->latlon, &z->count);
}

static void free_zones(struct fs_scenario *sc)
{
	for (size_t i = 0; i < sc->zone_count; i++) {
		fs_free(sc->zones[i].latlon);
	}
	fs_free(sc->zones);
	sc->zones = NULL;
	sc->zone_count = 0;
}

/*
 * The city's clock: an IANA zone read from the system tz database now, so an
 * unknown name stops the run here with its position, or a fixed offset.
 */
static int read_clock(struct loader *L, const yaml_node_t *city)
{
	struct fs_scenario *sc = L->sc;
	const yaml_node_t *zone = find(L, city, "timezone"), *offset = find(L, city, "utc_offset");
	int rc;
	if (zone && offset) {
		return fail(L, offset, "utc_offset: give city.timezone or city.utc_offset, not both");
	}
	if (zone) {
		char name[FS_SCN_NAME_MAX];
		struct fs_timezone tz;
		struct fs_error err = { "" };
		if ((rc = get_string(L, city, "timezone", name, sizeof(name))) < 0) {
			return rc;
		}
		if ((rc = fs_timezone_load(FS_TZ_DIR, name, &tz, &err)) < 0) {
			return rc == -ENOMEM ? rc : fail(L, zone, "timezone: %s", err.message);
		}
		fs_timezone_finish(&sc->tz);
		sc->tz = tz;
		snprintf(sc->timezone, sizeof(sc->timezone), "%s", name);
		sc->utc_offset_s = 0;
	}
	if (offset) {
		if ((rc = need_scalar(L, offset, "utc_offset", "an offset such as -5h")) < 0) {
			return rc;
		}
		const char *t = text(offset);
		bool neg = *t == '-';
		uint64_t ms;
		if (!fs_scenario_parse_duration_ms(t + (neg || *t == '+'), &ms) || ms > 14 * 3600000ULL || ms % 60000) {
			return fail(L, offset, "utc_offset: '%s' is not an offset such as -5h or +5h30m (within 14 h)", t);
		}
		sc->utc_offset_s = (int32_t)(ms / 1000) * (neg ? -1 : 1);
		sc->timezone[0] = '\0'; /* the fixed offset replaces the default zone */
		fs_timezone_finish(&sc->tz);
		fs_timezone_fixed(&sc->tz, sc->utc_offset_s);
	}
	return 0;
}

/* city.map: a network spec whose files are resolved against the scenario's folder */
static int read_city_map(struct loader *L, const yaml_node_t *n)
{
	struct fs_scenario *sc = L->sc;
	int rc;
	if (!strncmp(sc->map, "csv:", 4)) {
		/* csv:NODES,EDGES: resolve both files */
		char *comma = strchr(sc->map + 4, ',');
		if (!comma) {
			return fail(L, n, "map: expected csv:NODES.csv,EDGES.csv");
		}
		char nodes[FS_SCN_PATH_MAX], edges[FS_SCN_PATH_MAX];
		snprintf(nodes, sizeof(nodes), "%.*s", (int)(comma - sc->map - 4), sc->map + 4);
		snprintf(edges, sizeof(edges), "%s", comma + 1);
		if ((rc = resolve_path(L, n, "map", nodes, sizeof(nodes))) < 0 ||
		    (rc = resolve_path(L, n, "map", edges, sizeof(edges))) < 0) {
			return rc;
		}
		if ((size_t)snprintf(sc->map, sizeof(sc->map), "csv:%s,%s", nodes, edges) >= sizeof(sc->map)) {
			return fail(L, n, "map: path too long");
		}
	} else if (!strncmp(sc->map, "grid:", 5)) {
		/* checked by the network loader */
	} else if (looks_like_path(sc->map) && (rc = resolve_path(L, n, "map", sc->map, sizeof(sc->map))) < 0) {
		return rc;
	} else if (!sc->map[0]) {
		return fail(L, n, "map: empty");
	}
	return 0;
}

/* city.zones: the named polygons events and the geofence refer to */
static int read_city_zones(struct loader *L, const yaml_node_t *n)
{
	struct fs_scenario *sc = L->sc;
	int rc;
	if ((rc = need_list(L, n, "zones")) < 0) {
		return rc;
	}
	free_zones(sc);
	size_t count = list_len(n);
	if (count > FS_SCN_ZONES_MAX) {
		return fail(L, list_item(L, n, FS_SCN_ZONES_MAX), "zones: at most %d", FS_SCN_ZONES_MAX);
	}
	sc->zones = fs_calloc(count ? count : 1, sizeof(*sc->zones));
	if (!sc->zones) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		if ((rc = read_zone(L, list_item(L, n, i), &sc->zones[i])) < 0) {
			return rc;
		}
		sc->zone_count++;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(sc->zones[j].name, sc->zones[i].name)) {
				return fail(L, list_item(L, n, i), "zone '%s' defined twice", sc->zones[i].name);
			}
		}
	}
	return 0;
}

/* city.geofence: a zone, an inline polygon or a GeoJSON file */
static int read_city_geofence(struct loader *L, const yaml_node_t *city, const yaml_node_t *n)
{
	struct fs_scenario *sc = L->sc;
	int rc;
	sc->geofence[0] = sc->geofence_zone[0] = '\0';
	if (n->type == YAML_MAPPING_NODE) {
		if ((rc = check_map(L, n, "geofence", "zone polygon")) < 0) {
			return rc;
		}
		const yaml_node_t *z = find(L, n, "zone"), *p = find(L, n, "polygon");
		if (!!z == !!p) {
			return fail(L, n, "geofence: give either zone or polygon");
		}
		if (z) {
			if ((rc = get_string(L, n, "zone", sc->geofence_zone, sizeof(sc->geofence_zone))) < 0) {
				return rc;
			}
			if (!fs_scenario_zone_find(sc, sc->geofence_zone)) {
				return fail(L, z, "geofence: unknown zone '%s'", sc->geofence_zone);
			}
		} else {
			/* an inline service area becomes the zone "service-area" */
			struct fs_scenario_zone *zs = fs_realloc(sc->zones, (sc->zone_count + 1) * sizeof(*zs));
			if (!zs) {
				return -ENOMEM;
			}
			sc->zones = zs;
			struct fs_scenario_zone *zone = &sc->zones[sc->zone_count];
			memset(zone, 0, sizeof(*zone));
			snprintf(zone->name, sizeof(zone->name), "service-area");
			if (fs_scenario_zone_find(sc, "service-area")) {
				return fail(L, p, "geofence: a zone named service-area exists already");
			}
			if ((rc = parse_polygon(L, p, "polygon", &zone->latlon, &zone->count)) < 0) {
				return rc;
			}
			sc->zone_count++;
			snprintf(sc->geofence_zone, sizeof(sc->geofence_zone), "service-area");
		}
	} else {
		if ((rc = get_string(L, city, "geofence", sc->geofence, sizeof(sc->geofence))) < 0) {
			return rc;
		}
		if (!sc->geofence[0]) {
			return fail(L, n, "geofence: empty (leave it out for the whole map)");
		}
		if (looks_like_path(sc->geofence) &&
		    (rc = resolve_path(L, n, "geofence", sc->geofence, sizeof(sc->geofence))) < 0) {
			return rc;
		}
		if (looks_like_path(sc->geofence) && (rc = check_geojson(L, n, sc->geofence)) < 0) {
			return rc;
		}
	}
	return 0;
}

/* city.depots: where cars charge */
static int read_city_depots(struct loader *L, const yaml_node_t *n)
{
	struct fs_scenario *sc = L->sc;
	int rc;
	if ((rc = need_list(L, n, "depots")) < 0) {
		return rc;
	}
	size_t count = list_len(n);
	if (count < 1 || count > 64) {
		return fail(L, n, "depots: a city needs 1 to 64 depots");
	}
	fs_free(sc->depots);
	sc->depot_count = 0;
	sc->depots = fs_calloc(count, sizeof(*sc->depots));
	if (!sc->depots) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *d = list_item(L, n, i);
		struct fs_scenario_depot *dep = &sc->depots[i];
		snprintf(dep->name, sizeof(dep->name), "depot-%zu", i);
		dep->plugs = 20;
		dep->plug_kw = 150.0;
		if ((rc = check_map(L, d, "a depot", "name at plugs plug_kw")) < 0 ||
		    (rc = get_string(L, d, "name", dep->name, sizeof(dep->name))) < 0 ||
		    (rc = get_u32(L, d, "plugs", 0, 10000, &dep->plugs)) < 0 ||
		    (rc = get_double(L, d, "plug_kw", 0, 1000, true, &dep->plug_kw)) < 0) {
			return rc;
		}
		const yaml_node_t *at = find(L, d, "at");
		if (at) {
			if ((rc = parse_latlon(L, at, "at", &dep->lat, &dep->lon)) < 0) {
				return rc;
			}
			dep->placed = true;
		}
		sc->depot_count++;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(sc->depots[j].name, dep->name)) {
				return fail(L, d, "depot '%s' defined twice", dep->name);
			}
		}
	}
	return 0;
}

static int read_city(struct loader *L, const yaml_node_t *city)
{
	struct fs_scenario *sc = L->sc;
	int rc = check_map(L, city, "city", "name map geofence timezone utc_offset zones depots");
	if (rc < 0) {
		return rc;
	}
	if ((rc = get_string(L, city, "name", sc->city, sizeof(sc->city))) < 0 ||
	    (rc = get_string(L, city, "map", sc->map, sizeof(sc->map))) < 0) {
		return rc;
	}
	const yaml_node_t *n;
	if ((n = find(L, city, "map")) && (rc = read_city_map(L, n)) < 0) {
		return rc;
	}
	if ((rc = read_clock(L, city)) < 0) {
		return rc;
	}
	if ((n = find(L, city, "zones")) && (rc = read_city_zones(L, n)) < 0) {
		return rc;
	}
	if ((n = find(L, city, "geofence")) && (rc = read_city_geofence(L, city, n)) < 0) {
		return rc;
	}
	if ((n = find(L, city, "depots")) && (rc = read_city_depots(L, n)) < 0) {
		return rc;
	}
	return 0;
}

static const char *const odd_names[] = { "no_motorway", "daytime_only", "no_rain", "speed_cap" };

static int read_software(struct loader *L, const yaml_node_t *n)
{
	struct fs_scenario *sc = L->sc;
	int rc = need_list(L, n, "software");
	if (rc < 0) {
		return rc;
	}
	size_t count = list_len(n);
	if (count < 1 || count > FS_SW_VERSIONS_MAX) {
		return fail(L, n, "software: give 1 to %d releases", FS_SW_VERSIONS_MAX);
	}
	memset(sc->sw_share, 0, sizeof(sc->sw_share));
	double total = 0;
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *s = list_item(L, n, i);
		struct fs_sw_version *v = &sc->vehicle.sw[i];
		*v = (struct fs_sw_version){ 0 };
		if ((rc = check_map(L, s, "a software release",
				    "version miles_per_disengagement ra_per_1000km odd share")) < 0) {
			return rc;
		}
		const yaml_node_t *ver = find(L, s, "version"), *mpd = find(L, s, "miles_per_disengagement"),
				  *ra = find(L, s, "ra_per_1000km");
		if (!ver || !mpd || !ra) {
			return fail(L, s, "a software release needs %s",
				    !ver ? "a version" : !mpd ? "miles_per_disengagement" : "ra_per_1000km");
		}
		if ((rc = need_scalar(L, ver, "version", "a release such as 1.2")) < 0) {
			return rc;
		}
		if (!fs_scenario_parse_version(text(ver), &v->version)) {
			return fail(L, ver, "version: '%s' is not a release such as 1.2", text(ver));
		}
		for (size_t j = 0; j < i; j++) {
			if (sc->vehicle.sw[j].version == v->version) {
				return fail(L, ver, "version %s listed twice", text(ver));
			}
		}
		if ((rc = get_double(L, s, "miles_per_disengagement", 0, 1e9, true, &v->miles_per_disengagement)) < 0 ||
		    (rc = get_double(L, s, "ra_per_1000km", 0, 1e6, false, &v->ra_per_1000km)) < 0 ||
		    (rc = get_double(L, s, "share", 0, 1, false, &sc->sw_share[i])) < 0) {
			return rc;
		}
		total += sc->sw_share[i];
		const yaml_node_t *odd = find(L, s, "odd");
		if (odd) {
			if ((rc = need_list(L, odd, "odd")) < 0) {
				return rc;
			}
			for (size_t k = 0; k < list_len(odd); k++) {
				const yaml_node_t *f = list_item(L, odd, k);
				bool found = false;
				for (int b = 0; f->type == YAML_SCALAR_NODE && b < 4; b++) {
					if (!strcmp(text(f), odd_names[b])) {
						v->odd_flags |= (uint16_t)(1u << b);
						found = true;
					}
				}
				if (!found || !strcmp(text(f), "speed_cap")) {
					return fail(L, f, "odd: '%s' is not no_motorway, daytime_only or no_rain",
						    f->type == YAML_SCALAR_NODE ? text(f) : kind_name(f));
				}
			}
		}
	}
	sc->vehicle.sw_count = (uint32_t)count;
	if (fabs(total - 1.0) > 1e-9) {
		return fail(L, n, "software: the shares of the releases add up to %g, not 1", total);
	}
	return 0;
}

static int read_fleet(struct loader *L, const yaml_node_t *fleet)
{
	struct fs_scenario *sc = L->sc;
	int rc = check_map(L, fleet, "fleet", "size shards phase software");
	if (rc < 0) {
		return rc;
	}
	static const char *const phases[] = { "data-collection", "supervised", "driverless" };
	int phase = sc->phase;
	if ((rc = get_u32(L, fleet, "size", 0, 1000000, &sc->fleet_size)) < 0 ||
	    (rc = get_u32(L, fleet, "shards", 1, 1024, &sc->shards)) < 0 ||
	    (rc = get_enum(L, fleet, "phase", phases, 3, &phase)) < 0) {
		return rc;
	}
	sc->phase = (uint8_t)phase;
	const yaml_node_t *sw = find(L, fleet, "software");
	return sw ? read_software(L, sw) : 0;
}

static int read_demand(struct loader *L, const yaml_node_t *d)
{
	struct fs_scenario *sc = L->sc;
	int rc = check_map(L, d, "demand",
			   "city_trips_per_day market_share trips_per_day profile replay zone_weights patience");
	if (rc < 0) {
		return rc;
	}
	uint64_t patience_ms = (uint64_t)(sc->patience_s * 1000.0);
	if ((rc = get_double(L, d, "city_trips_per_day", 0, 1e8, false, &sc->city_trips_per_day)) < 0 ||
	    (rc = get_double(L, d, "market_share", 0, 1, false, &sc->market_share)) < 0) {
		return rc;
	}
	/* the service's demand is its share of the city's, unless the file says it outright */
	sc->trips_per_day = sc->city_trips_per_day * sc->market_share;
	if ((rc = get_double(L, d, "trips_per_day", 0, 1e8, false, &sc->trips_per_day)) < 0 ||
	    (rc = get_string(L, d, "profile", sc->demand_profile, sizeof(sc->demand_profile))) < 0 ||
	    (rc = get_string(L, d, "replay", sc->demand_replay, sizeof(sc->demand_replay))) < 0 ||
	    (rc = get_duration_ms(L, d, "patience", 1000, 86400000, &patience_ms)) < 0) {
		return rc;
	}
	sc->patience_s = (double)patience_ms / 1000.0;
	const yaml_node_t *n;
	if ((n = find(L, d, "profile")) && looks_like_path(sc->demand_profile) &&
	    (rc = resolve_path(L, n, "profile", sc->demand_profile, sizeof(sc->demand_profile))) < 0) {
		return rc;
	}
	if ((n = find(L, d, "replay")) && sc->demand_replay[0] &&
	    (rc = resolve_path(L, n, "replay", sc->demand_replay, sizeof(sc->demand_replay))) < 0) {
		return rc;
	}
	if ((n = find(L, d, "zone_weights"))) {
		if (n->type != YAML_MAPPING_NODE) {
			return fail(L, n, "zone_weights: expected a mapping zone: weight, found %s", kind_name(n));
		}
		size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
		fs_free(sc->zone_weights);
		sc->zone_weight_count = 0;
		sc->zone_weights = fs_calloc(count ? count : 1, sizeof(*sc->zone_weights));
		if (!sc->zone_weights) {
			return -ENOMEM;
		}
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			const yaml_node_t *k = node(L, p->key);
			if (k->type != YAML_SCALAR_NODE || !fs_scenario_zone_find(sc, text(k))) {
				return fail(L, k, "zone_weights: unknown zone '%s'",
					    k->type == YAML_SCALAR_NODE ? text(k) : kind_name(k));
			}
			struct fs_scenario_zone_weight *w = &sc->zone_weights[sc->zone_weight_count];
			for (size_t j = 0; j < sc->zone_weight_count; j++) {
				if (!strcmp(sc->zone_weights[j].zone, text(k))) {
					return fail(L, k, "zone_weights: zone '%s' given twice", text(k));
				}
			}
			snprintf(w->zone, sizeof(w->zone), "%s", text(k));
			/* reuse the scalar reader on a one-pair view */
			yaml_node_t view = *n;
			view.data.mapping.pairs.start = p;
			view.data.mapping.pairs.top = p + 1;
			if ((rc = get_double(L, &view, text(k), 0, 1e6, false, &w->weight)) < 0) {
				return rc;
			}
			sc->zone_weight_count++;
		}
	}
	return 0;
}

static int read_dispatch(struct loader *L, const yaml_node_t *d)
{
	struct fs_scenario *sc = L->sc;
	int rc = check_map(L, d, "dispatch", "matcher batch rebalance charging");
	if (rc < 0) {
		return rc;
	}
	static const char *const matchers[] = { "batch", "greedy" };
	static const char *const yes_no[] = { "false", "true" };
	int m = sc->matcher, charging = sc->charging;
	uint64_t batch_ms = (uint64_t)(sc->batch_s * 1000.0), rebalance_ms = (uint64_t)(sc->rebalance_s * 1000.0);
	if ((rc = get_enum(L, d, "matcher", matchers, 2, &m)) < 0 ||
	    (rc = get_duration_ms(L, d, "batch", 1, 3600000, &batch_ms)) < 0 ||
	    (rc = get_duration_ms(L, d, "rebalance", 0, 86400000, &rebalance_ms)) < 0 ||
	    (rc = get_enum(L, d, "charging", yes_no, 2, &charging)) < 0) {
		return rc;
	}
	sc->matcher = (uint8_t)m;
	sc->batch_s = (double)batch_ms / 1000.0;
	sc->rebalance_s = (double)rebalance_ms / 1000.0;
	sc->charging = charging;
	return 0;
}

/* A log-normal time as {median: D, p95: D}. */
static int read_dwell(struct loader *L, const yaml_node_t *riders, const char *key, double *median_s, double *p95_s)
{
	const yaml_node_t *n = find(L, riders, key);
	if (!n) {
		return 0;
	}
	int rc = check_map(L, n, key, "median p95");
	if (rc < 0) {
		return rc;
	}
	uint64_t median_ms = (uint64_t)(*median_s * 1000.0), p95_ms = (uint64_t)(*p95_s * 1000.0);
	if ((rc = get_duration_ms(L, n, "median", 0, 3600000, &median_ms)) < 0 ||
	    (rc = get_duration_ms(L, n, "p95", 0, 3600000, &p95_ms)) < 0) {
		return rc;
	}
	if (p95_ms < median_ms) {
		return fail(L, n, "%s: p95 is shorter than the median", key);
	}
	*median_s = (double)median_ms / 1000.0;
	*p95_s = (double)p95_ms / 1000.0;
	return 0;
}

static int read_riders(struct loader *L, const yaml_node_t *d)
{
	struct fs_rider_params *p = &L->sc->riders;
	int rc = check_map(L, d, "riders", "patience patience_shape board alight no_show");
	if (rc < 0) {
		return rc;
	}
	uint64_t patience_ms = (uint64_t)(p->patience_median_s * 1000.0);
	if ((rc = get_duration_ms(L, d, "patience", 1000, 86400000, &patience_ms)) < 0 ||
	    (rc = get_double(L, d, "patience_shape", 0.1, 20, false, &p->patience_shape)) < 0 ||
	    (rc = read_dwell(L, d, "board", &p->board_median_s, &p->board_p95_s)) < 0 ||
	    (rc = read_dwell(L, d, "alight", &p->alight_median_s, &p->alight_p95_s)) < 0 ||
	    (rc = get_double(L, d, "no_show", 0, 1, false, &p->no_show_share)) < 0) {
		return rc;
	}
	p->patience_median_s = (double)patience_ms / 1000.0;
	return 0;
}

static int read_traffic_seconds(struct loader *L, const yaml_node_t *d, const char *key, double *ret)
{
	uint64_t ms = (uint64_t)llround(*ret * 1000.0);
	int rc = get_duration_ms(L, d, key, 0, 600000, &ms);
	*ret = (double)ms / 1000.0;
	return rc;
}

static int read_traffic(struct loader *L, const yaml_node_t *d)
{
	struct fs_scenario *sc = L->sc;
	struct fs_traffic_params *t = &sc->traffic;
	int rc = check_map(L, d, "traffic",
			   "speed_profile congestion_level profile_congestion_level signal_cycle signal_green_major signal_green_minor stop_delay "
			   "give_way_delay equal_delay bpr_alpha bpr_beta cell_m update_every min_speed_kmh capacity_vphpl");
	if (rc < 0 ||
	    (rc = get_string(L, d, "speed_profile", sc->speed_profile, sizeof(sc->speed_profile))) < 0 ||
	    (rc = get_double(L, d, "congestion_level", 0, 5, false, &t->congestion_level)) < 0 ||
	    (rc = get_double(L, d, "profile_congestion_level", 0, 5, false, &t->profile_congestion_level)) < 0 ||
	    (rc = read_traffic_seconds(L, d, "signal_cycle", &t->signal_cycle_s)) < 0 ||
	    (rc = get_double(L, d, "signal_green_major", 0, 1, true, &t->signal_green_major)) < 0 ||
	    (rc = get_double(L, d, "signal_green_minor", 0, 1, true, &t->signal_green_minor)) < 0 ||
	    (rc = read_traffic_seconds(L, d, "stop_delay", &t->stop_delay_s)) < 0 ||
	    (rc = read_traffic_seconds(L, d, "give_way_delay", &t->give_way_delay_s)) < 0 ||
	    (rc = read_traffic_seconds(L, d, "equal_delay", &t->equal_delay_s)) < 0 ||
	    (rc = get_double(L, d, "bpr_alpha", 0, 10, false, &t->bpr_alpha)) < 0 ||
	    (rc = get_double(L, d, "bpr_beta", 1, 10, false, &t->bpr_beta)) < 0 ||
	    (rc = get_double(L, d, "cell_m", 100, 100000, false, &t->cell_m)) < 0 ||
	    (rc = get_double(L, d, "min_speed_kmh", 0.5, 100, false, &t->min_speed_kmh)) < 0) {
		return rc;
	}
	uint64_t update_ms = (uint64_t)llround(t->update_s * 1000.0);
	if ((rc = get_duration_ms(L, d, "update_every", 1000, 86400000, &update_ms)) < 0) {
		return rc;
	}
	t->update_s = (double)update_ms / 1000.0;
	const yaml_node_t *n;
	if ((n = find(L, d, "speed_profile")) && looks_like_path(sc->speed_profile) &&
	    (rc = resolve_path(L, n, "speed_profile", sc->speed_profile, sizeof(sc->speed_profile))) < 0) {
		return rc;
	}
	if (!(n = find(L, d, "capacity_vphpl"))) {
		return 0;
	}
	if (n->type != YAML_MAPPING_NODE) {
		return fail(L, n, "capacity_vphpl: expected a mapping road_class: vehicles/h/lane, found %s",
			    kind_name(n));
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = node(L, p->key);
		int cls = k->type == YAML_SCALAR_NODE ? fs_road_class_from_name(text(k)) : -1;
		if (cls < 0) {
			return fail(L, k, "capacity_vphpl: unknown road class '%s'",
				    k->type == YAML_SCALAR_NODE ? text(k) : kind_name(k));
		}
		yaml_node_t view = *n; /* the scalar reader on a one-pair view */
		view.data.mapping.pairs.start = p;
		view.data.mapping.pairs.top = p + 1;
		if ((rc = get_double(L, &view, text(k), 50, 5000, false, &t->capacity_vphpl[cls])) < 0) {
			return rc;
		}
	}
	return 0;
}

/* The vehicle model: keys are the fields of struct fs_vehicle_params. */
struct param_field {
	const char *key;
	size_t offset;
	double lo, hi;
	bool lo_open;
};

#define P(f, lo, hi, open) { #f, offsetof(struct fs_vehicle_params, f), lo, hi, open }
static const struct param_field param_fields[] = {
	P(battery_kwh, 0, 1000, true), P(kwh_per_km, 0, 2, true), P(av_stack_kw, 0, 20, false),
	P(max_charge_kw, 0, 1000, true), P(charge_efficiency, 0, 1, true), P(taper_start_soc, 0, 1, true),
	P(taper_end_fraction, 0, 1, true), P(charge_target_soc, 0, 1, true), P(charge_request_soc, 0, 1, false),
	P(job_reserve_soc, 0, 1, false), P(plan_speed_kmh, 0, 200, true), P(commissioning_h, 0, 10000, false),
	P(commissioning_fail_prob, 0, 1, false), P(rework_h, 0, 10000, false), P(repair_h, 0, 10000, false),
	P(inspection_h, 0, 10000, false), P(max_wait_s, 0, 86400, false), P(ra_response_s, 0, 86400, true),
	P(ra_session_s, 0, 86400, true), P(ra_retry_s, 0, 86400, true), P(tow_h, 0, 1000, true),
	P(cap_one_thor_mps, 0, 60, true), P(cap_no_lidar_mps, 0, 60, true), P(cap_front_camera_mps, 0, 60, true),
	P(log_share, 0, 1, false), P(upload_gbps, 0, 1000, true),
};
#undef P

static const char *const kind_names[FS_DEVICE_KIND_COUNT] = {
	[FS_DEVICE_CAMERA] = "camera", [FS_DEVICE_RADAR] = "radar", [FS_DEVICE_LIDAR] = "lidar",
	[FS_DEVICE_ULTRASONIC] = "ultrasonic", [FS_DEVICE_THOR] = "thor",
};

static int read_vehicle(struct loader *L, const yaml_node_t *v)
{
	struct fs_vehicle_params *p = &L->sc->vehicle;
	char allowed[1024] = "max_rain faults log_gb_per_h";
	for (size_t i = 0; i < sizeof(param_fields) / sizeof(param_fields[0]); i++) {
		size_t len = strlen(allowed);
		snprintf(allowed + len, sizeof(allowed) - len, " %s", param_fields[i].key);
	}
	int rc = check_map(L, v, "vehicle", allowed);
	if (rc < 0) {
		return rc;
	}
	for (size_t i = 0; i < sizeof(param_fields) / sizeof(param_fields[0]); i++) {
		const struct param_field *f = &param_fields[i];
		if ((rc = get_double(L, v, f->key, f->lo, f->hi, f->lo_open, (double *)((char *)p + f->offset))) < 0) {
			return rc;
		}
	}
	static const char *const rains[] = { "none", "light", "heavy", "storm" };
	int rain = p->max_rain;
	if ((rc = get_enum(L, v, "max_rain", rains, 4, &rain)) < 0) {
		return rc;
	}
	p->max_rain = (uint8_t)rain;
	const yaml_node_t *n;
	if ((n = find(L, v, "faults"))) {
		if ((rc = check_map(L, n, "vehicle.faults", "camera radar lidar ultrasonic thor")) < 0) {
			return rc;
		}
		for (int k = 1; k < FS_DEVICE_KIND_COUNT; k++) {
			const yaml_node_t *kn = find(L, n, kind_names[k]);
			if (!kn) {
				continue;
			}
			if ((rc = check_map(L, kn, kind_names[k], "degrade_per_h fail_per_h")) < 0 ||
			    (rc = get_double(L, kn, "degrade_per_h", 0, 1, false, &p->degrade_per_h[k])) < 0 ||
			    (rc = get_double(L, kn, "fail_per_h", 0, 1, false, &p->fail_per_h[k])) < 0) {
				return rc;
			}
		}
	}
	if ((n = find(L, v, "log_gb_per_h"))) {
		if ((rc = check_map(L, n, "vehicle.log_gb_per_h", "camera radar lidar ultrasonic thor")) < 0) {
			return rc;
		}
		for (int k = 1; k < FS_DEVICE_KIND_COUNT; k++) {
			if ((rc = get_double(L, n, kind_names[k], 0, 1000, false, &p->log_gb_per_h[k])) < 0) {
				return rc;
			}
		}
	}
	if (p->charge_request_soc >= p->charge_target_soc || p->job_reserve_soc >= p->charge_target_soc) {
		return fail(L, v, "vehicle: charge_request_soc and job_reserve_soc must be below charge_target_soc");
	}
	return 0;
}

static int get_day(struct loader *L, const yaml_node_t *map, const char *key, int32_t *ret)
{
	int64_t ms = INT64_MIN;
	int rc = get_date(L, map, key, &ms);
	if (rc == 0 && ms != INT64_MIN) {
		*ret = fs_production_day_from_ms(ms);
	}
	return rc;
}

/* A list of up to @max names into @names (each < FS_PROD_NAME_MAX). */
static int get_names(struct loader *L, const yaml_node_t *map, const char *key, char (*names)[FS_PROD_NAME_MAX],
		     uint32_t max, uint32_t *ret_count)
{
	const yaml_node_t *n = find(L, map, key);
	if (!n) {
		return 0;
	}
	int rc = need_list(L, n, key);
	if (rc < 0) {
		return rc;
	}
	if (list_len(n) > max) {
		return fail(L, n, "%s: at most %u names", key, max);
	}
	for (size_t i = 0; i < list_len(n); i++) {
		const yaml_node_t *item = list_item(L, n, i);
		if ((rc = need_scalar(L, item, key, "a name")) < 0) {
			return rc;
		}
		if (strlen(text(item)) >= FS_PROD_NAME_MAX) {
			return fail(L, item, "%s: longer than %d characters", key, FS_PROD_NAME_MAX - 1);
		}
		snprintf(names[i], FS_PROD_NAME_MAX, "%s", text(item));
	}
	*ret_count = (uint32_t)list_len(n);
	return 0;
}

static int read_plant(struct loader *L, const yaml_node_t *pn, struct fs_prod_plant *pl)
{
	static const char *const curves[] = { "smoothstep", "logistic", "linear" };
	int rc = check_map(L, pn, "a plant", "name start_of_production ramp_months rate_per_month curve");
	if (rc < 0) {
		return rc;
	}
	if (!find(L, pn, "name") || !find(L, pn, "start_of_production") || !find(L, pn, "rate_per_month")) {
		return fail(L, pn, "a plant needs name, start_of_production and rate_per_month");
	}
	memset(pl, 0, sizeof(*pl));
	pl->ramp_months = 6;                  /* DOMAIN: S-curve to full rate over 6-12 months */
	pl->curve = FS_PROD_CURVE_SMOOTHSTEP; /* the S-curve of fs_production_params_defaults() */
	int curve = pl->curve;
	if ((rc = get_string(L, pn, "name", pl->name, sizeof(pl->name))) < 0 ||
	    (rc = get_day(L, pn, "start_of_production", &pl->sop_day)) < 0 ||
	    (rc = get_double(L, pn, "ramp_months", 0, 120, false, &pl->ramp_months)) < 0 ||
	    (rc = get_double(L, pn, "rate_per_month", 0, 1e6, true, &pl->rate_per_month)) < 0 ||
	    (rc = get_enum(L, pn, "curve", curves, 3, &curve)) < 0) {
		return rc;
	}
	pl->curve = (uint8_t)curve;
	return 0;
}

/*
 * One programme: what it does not say comes from the same rules as the code
 * defaults (fs_production_programme_defaults() for its plants' full rate), so
 * a programme written out in full, as in examples/default.yaml, is exactly
 * the programme of fs_production_params_defaults().
 */
static int read_programme(struct loader *L, const yaml_node_t *n, struct fs_prod_programme *g)
{
	int rc = check_map(L, n, "a programme",
			   "name oem model target fills_fleet_target integrator regions battery_kwh kwh_per_km "
			   "max_charge_kw seats software plants stages service_life_days attrition_per_year");
	if (rc < 0) {
		return rc;
	}
	static const char *const no_yes[] = { "false", "true" };
	int fills = 0;
	if ((rc = get_enum(L, n, "fills_fleet_target", no_yes, 2, &fills)) < 0) {
		return rc;
	}
	const yaml_node_t *name = find(L, n, "name"), *plants = find(L, n, "plants");
	bool has_target = find(L, n, "target") || fills; /* filling the fleet, it needs no volume of its own */
	if (!name || !plants || !find(L, n, "oem") || !has_target) {
		return fail(L, n, "a programme needs %s",
			    !name ? "a name" : !find(L, n, "oem") ? "an oem" : !has_target ? "a target" : "plants");
	}
	memset(g, 0, sizeof(*g));
	if ((rc = need_list(L, plants, "plants")) < 0) {
		return rc;
	}
	size_t count = list_len(plants);
	if (count < 1 || count > FS_PROD_PLANTS_MAX) {
		return fail(L, plants, "plants: give 1 to %d plants", FS_PROD_PLANTS_MAX);
	}
	double full_rate = 0;
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *pn = list_item(L, plants, i);
		if ((rc = read_plant(L, pn, &g->plants[i])) < 0) {
			return rc;
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(g->plants[j].name, g->plants[i].name)) {
				return fail(L, pn, "plant '%s' listed twice", g->plants[i].name);
			}
		}
		full_rate += g->plants[i].rate_per_month;
		g->plant_count++;
	}
	fs_production_programme_defaults(g, full_rate);
	fs_production_programme_vehicle_defaults(g);
	g->fills_fleet = fills;
	uint64_t target = 0;
	const yaml_node_t *sw = find(L, n, "software"), *integrator = find(L, n, "integrator");
	if (integrator) {
		char site[FS_PROD_NAME_MAX] = "";
		if ((rc = get_string(L, n, "integrator", site, sizeof(site))) < 0) {
			return rc;
		}
		bool known = false;
		for (uint32_t i = 0; i < L->sc->production.integrator_count; i++) {
			known |= !strcmp(L->sc->production.integrators[i].name, site);
		}
		if (!known) {
			return fail(L, integrator, "integrator: '%s' is not one of production.integrators", site);
		}
		fs_production_programme_use_integrator(g, site); /* its stages may still set a cap of its own */
	}
	if ((rc = get_string(L, n, "name", g->name, sizeof(g->name))) < 0 ||
	    (rc = get_string(L, n, "oem", g->oem, sizeof(g->oem))) < 0 ||
	    (rc = get_string(L, n, "model", g->model, sizeof(g->model))) < 0 ||
	    (rc = get_u64(L, n, "target", fills ? 0 : 1, 10000000, &target)) < 0 ||
	    (rc = get_names(L, n, "regions", g->regions, FS_PROD_REGIONS_MAX, &g->region_count)) < 0 ||
	    (rc = get_double(L, n, "battery_kwh", 0, 1000, true, &g->battery_kwh)) < 0 ||
	    (rc = get_double(L, n, "kwh_per_km", 0, 2, true, &g->kwh_per_km)) < 0 ||
	    (rc = get_double(L, n, "max_charge_kw", 0, 1000, true, &g->max_charge_kw)) < 0 ||
	    (rc = get_u32(L, n, "seats", 1, 100, &g->seats)) < 0 ||
	    (rc = get_u32(L, n, "service_life_days", 0, 36500, &g->service_life_days)) < 0 ||
	    (rc = get_double(L, n, "attrition_per_year", 0, 0.99, false, &g->attrition_per_year)) < 0) {
		return rc;
	}
	g->target = (uint32_t)target;
	if (sw) {
		if ((rc = need_scalar(L, sw, "software", "a release such as \"1.0\"")) < 0) {
			return rc;
		}
		if (!fs_scenario_parse_version(text(sw), &g->sw_version) || fs_scenario_sw_find(L->sc, g->sw_version) < 0) {
			return fail(L, sw, "software: '%s' is not a release of fleet.software", text(sw));
		}
	}
	const yaml_node_t *st = find(L, n, "stages");
	if (st && ((rc = check_map(L, st, "a programme's stages",
				   "build_days integration_per_day integration_days calibration_per_day "
				   "calibration_days calibration_fail_share rework_per_day rework_days "
				   "shipping_per_day")) < 0 ||
		   (rc = get_u32(L, st, "build_days", 1, 365, &g->build_days)) < 0 ||
		   (rc = get_u32(L, st, "integration_per_day", 0, 1000000, &g->integration_per_day)) < 0 ||
		   (rc = get_u32(L, st, "integration_days", 1, 365, &g->integration_days)) < 0 ||
		   (rc = get_u32(L, st, "calibration_per_day", 0, 1000000, &g->calibration_per_day)) < 0 ||
		   (rc = get_u32(L, st, "calibration_days", 1, 365, &g->calibration_days)) < 0 ||
		   (rc = get_double(L, st, "calibration_fail_share", 0, 0.99, false, &g->calibration_fail_share)) < 0 ||
		   (rc = get_u32(L, st, "rework_per_day", 0, 1000000, &g->rework_per_day)) < 0 ||
		   (rc = get_u32(L, st, "rework_days", 1, 365, &g->rework_days)) < 0 ||
		   (rc = get_u32(L, st, "shipping_per_day", 0, 1000000, &g->shipping_per_day)) < 0)) {
		return rc;
	}
	return 0;
}

/* One shared integration site: a name and the capacity steps of its lines. */
static int read_integrator(struct loader *L, const yaml_node_t *n, struct fs_prod_integrator *in)
{
	int rc = check_map(L, n, "an integrator", "name lines");
	if (rc < 0) {
		return rc;
	}
	const yaml_node_t *lines = find(L, n, "lines");
	if (!find(L, n, "name") || !lines) {
		return fail(L, n, "an integrator needs a name and lines");
	}
	memset(in, 0, sizeof(*in));
	if ((rc = get_string(L, n, "name", in->name, sizeof(in->name))) < 0 || (rc = need_list(L, lines, "lines")) < 0) {
		return rc;
	}
	if (list_len(lines) > FS_PROD_LINES_MAX) {
		return fail(L, lines, "lines: at most %d", FS_PROD_LINES_MAX);
	}
	for (size_t i = 0; i < list_len(lines); i++) {
		const yaml_node_t *ln = list_item(L, lines, i);
		struct fs_prod_line *line = &in->lines[i];
		if ((rc = check_map(L, ln, "an integrator line", "start per_day")) < 0) {
			return rc;
		}
		if (!find(L, ln, "start") || !find(L, ln, "per_day")) {
			return fail(L, ln, "an integrator line needs start and per_day");
		}
		if ((rc = get_day(L, ln, "start", &line->start_day)) < 0 ||
		    (rc = get_u32(L, ln, "per_day", 0, 1000000, &line->per_day)) < 0) {
			return rc;
		}
		in->line_count++;
	}
	return 0;
}

/* production.integrators (@list) of the production section @section. */
static int read_integrators(struct loader *L, const yaml_node_t *section, const yaml_node_t *list)
{
	struct fs_production_params *p = &L->sc->production;
	int rc = need_list(L, list, "integrators");
	if (rc < 0) {
		return rc;
	}
	if (list_len(list) > FS_PROD_INTEGRATORS_MAX) {
		return fail(L, list, "integrators: at most %d", FS_PROD_INTEGRATORS_MAX);
	}
	p->integrator_count = 0;
	for (size_t i = 0; i < list_len(list); i++) {
		if ((rc = read_integrator(L, list_item(L, list, i), &p->integrators[i])) < 0) {
			return rc;
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(p->integrators[j].name, p->integrators[i].name)) {
				return fail(L, list_item(L, list, i), "integrator '%s' listed twice", p->integrators[i].name);
			}
		}
		p->integrator_count++;
	}
	/* the programmes of the default plan that name a site this list drops */
	for (uint32_t g = 0; g < p->programme_count; g++) {
		bool known = !p->programmes[g].integrator[0];
		for (uint32_t i = 0; i < p->integrator_count; i++) {
			known |= !strcmp(p->integrators[i].name, p->programmes[g].integrator);
		}
		if (!known && !find(L, section, "programmes")) {
			return fail(L, list, "integrators: programme '%s' uses '%s', which this list leaves out",
				    p->programmes[g].name, p->programmes[g].integrator);
		}
	}
	return 0;
}

/* production.flywheel: fleet data -> training -> releases over the air. */
static int read_flywheel(struct loader *L, const yaml_node_t *n)
{
	struct fs_prod_flywheel *fw = &L->sc->production.flywheel;
	int rc = check_map(L, n, "production.flywheel",
			   "km_per_vehicle_day gb_per_km cadence_days train_days ota_days releases");
	if (rc < 0 || (rc = get_double(L, n, "km_per_vehicle_day", 0, 5000, false, &fw->km_per_vehicle_day)) < 0 ||
	    (rc = get_double(L, n, "gb_per_km", 0, 1e6, false, &fw->gb_per_km)) < 0 ||
	    (rc = get_u32(L, n, "cadence_days", 0, 3650, &fw->cadence_days)) < 0 ||
	    (rc = get_u32(L, n, "train_days", 0, 3650, &fw->train_days)) < 0 ||
	    (rc = get_u32(L, n, "ota_days", 1, 3650, &fw->ota_days)) < 0) {
		return rc;
	}
	const yaml_node_t *list = find(L, n, "releases");
	if (!list) {
		return 0;
	}
	if ((rc = need_list(L, list, "releases")) < 0) {
		return rc;
	}
	if (list_len(list) > FS_PROD_RELEASES_MAX) {
		return fail(L, list, "releases: at most %d", FS_PROD_RELEASES_MAX);
	}
	fw->release_count = 0;
	for (size_t i = 0; i < list_len(list); i++) {
		const yaml_node_t *rn = list_item(L, list, i), *version;
		struct fs_prod_release *r = &fw->releases[i];
		if ((rc = check_map(L, rn, "a flywheel release", "version data_pb")) < 0) {
			return rc;
		}
		if (!(version = find(L, rn, "version")) || !find(L, rn, "data_pb")) {
			return fail(L, rn, "a flywheel release needs version and data_pb");
		}
		if ((rc = need_scalar(L, version, "version", "a release such as \"1.1\"")) < 0 ||
		    (rc = get_double(L, rn, "data_pb", 0, 1e9, false, &r->data_pb)) < 0) {
			return rc;
		}
		if (!fs_scenario_parse_version(text(version), &r->version) || fs_scenario_sw_find(L->sc, r->version) < 0) {
			return fail(L, version, "version: '%s' is not a release of fleet.software", text(version));
		}
		if (i && r->version <= fw->releases[i - 1].version) {
			return fail(L, version, "version: releases are trained oldest first; '%s' is not newer than the one "
				    "before", text(version));
		}
		fw->release_count++;
	}
	return 0;
}

static int read_production(struct loader *L, const yaml_node_t *n)
{
	struct fs_production_params *p = &L->sc->production;
	int rc = check_map(L, n, "production", "start target_curve integrators flywheel programmes");
	if (rc < 0) {
		return rc;
	}
	const yaml_node_t *flywheel = find(L, n, "flywheel");
	if (flywheel && (rc = read_flywheel(L, flywheel)) < 0) {
		return rc;
	}
	const yaml_node_t *integrators = find(L, n, "integrators");
	if (integrators && (rc = read_integrators(L, n, integrators)) < 0) { /* before the programmes naming them */
		return rc;
	}
	if ((rc = get_day(L, n, "start", &p->start_day)) < 0) {
		return rc;
	}
	const yaml_node_t *curve = find(L, n, "target_curve");
	if (curve && ((rc = check_map(L, curve, "production.target_curve", "fleet rate_per_year midpoint")) < 0 ||
		      (rc = get_double(L, curve, "fleet", 0, 1e8, false, &p->target_fleet)) < 0 ||
		      (rc = get_double(L, curve, "rate_per_year", 0, 100, true, &p->target_rate_per_year)) < 0 ||
		      (rc = get_day(L, curve, "midpoint", &p->target_mid_day)) < 0)) {
		return rc;
	}
	const yaml_node_t *list = find(L, n, "programmes");
	if (list) {
		if ((rc = need_list(L, list, "programmes")) < 0) {
			return rc;
		}
		size_t count = list_len(list);
		if (count > FS_PROD_PROGRAMMES_MAX) {
			return fail(L, list, "programmes: at most %d", FS_PROD_PROGRAMMES_MAX);
		}
		p->programme_count = 0;
		for (size_t i = 0; i < count; i++) {
			if ((rc = read_programme(L, list_item(L, list, i), &p->programmes[i])) < 0) {
				return rc;
			}
			p->programme_count++;
			if (fs_scenario_programme_find(L->sc, p->programmes[i].name) != (int)i) {
				return fail(L, list_item(L, list, i), "programme '%s' listed twice", p->programmes[i].name);
			}
		}
	}
	/* The model starts empty: before every plant's first vehicle. */
	for (uint32_t i = 0; i < p->programme_count; i++) {
		for (uint32_t k = 0; k < p->programmes[i].plant_count; k++) {
			if (p->programmes[i].plants[k].sop_day < p->start_day) {
				const yaml_node_t *at = find(L, n, "start") ? find(L, n, "start") : list;
				return fail(L, at, "production.start is after the start of production of plant '%s' (%s): "
					    "the model starts before any vehicle is built",
					    p->programmes[i].plants[k].name, p->programmes[i].name);
			}
		}
	}
	return 0;
}

static int read_rollout(struct loader *L, const yaml_node_t *n)
{
	struct fs_production_params *p = &L->sc->production;
	int rc = check_map(L, n, "rollout", "cities");
	if (rc < 0) {
		return rc;
	}
	const yaml_node_t *list = find(L, n, "cities");
	if (!list) {
		return 0;
	}
	if ((rc = need_list(L, list, "cities")) < 0) {
		return rc;
	}
	size_t count = list_len(list);
	if (count > FS_PROD_CITIES_MAX) {
		return fail(L, list, "cities: at most %d", FS_PROD_CITIES_MAX);
	}
	p->city_count = 0;
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *cn = list_item(L, list, i);
		struct fs_prod_city *c = &p->cities[i];
		if ((rc = check_map(L, cn, "a rollout city",
				    "name region launch data_collection_days supervised_days weight priority fleet_cap "
				    "transit_days commissioning_per_day commissioning_days")) < 0) {
			return rc;
		}
		if (!find(L, cn, "name") || !find(L, cn, "region") || !find(L, cn, "launch")) {
			return fail(L, cn, "a rollout city needs a name, a region and a launch date");
		}
		char region[FS_PROD_NAME_MAX];
		if ((rc = get_string(L, cn, "region", region, sizeof(region))) < 0) {
			return rc;
		}
		fs_production_city_defaults(c, region);
		if ((rc = get_string(L, cn, "name", c->name, sizeof(c->name))) < 0 ||
		    (rc = get_day(L, cn, "launch", &c->launch_day)) < 0 ||
		    (rc = get_u32(L, cn, "data_collection_days", 0, 3650, &c->data_collection_days)) < 0 ||
		    (rc = get_u32(L, cn, "supervised_days", 0, 3650, &c->supervised_days)) < 0 ||
		    (rc = get_u32(L, cn, "weight", 0, 1000000, &c->weight)) < 0 ||
		    (rc = get_u32(L, cn, "priority", 0, 1000, &c->priority)) < 0 ||
		    (rc = get_u32(L, cn, "fleet_cap", 0, 10000000, &c->fleet_cap)) < 0 ||
		    (rc = get_u32(L, cn, "transit_days", 1, 365, &c->transit_days)) < 0 ||
		    (rc = get_u32(L, cn, "commissioning_per_day", 0, 1000000, &c->commissioning_per_day)) < 0 ||
		    (rc = get_u32(L, cn, "commissioning_days", 1, 365, &c->commissioning_days)) < 0) {
			return rc;
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(p->cities[j].name, c->name)) {
				return fail(L, cn, "city '%s' listed twice", c->name);
			}
		}
		p->city_count++;
	}
	return 0;
}

/*
 * An event's list value as "a,b,c", the way it travels on the bus: at most
 * FS_SCN_LIST_MAX plain values (the longest list an event takes), in one pass.
 */
static int join_list(struct loader *L, const yaml_node_t *key, const yaml_node_t *val, char **ret)
{
	size_t n = list_len(val), len = 1;
	if (n > FS_SCN_LIST_MAX) {
		return fail(L, list_item(L, val, FS_SCN_LIST_MAX), "%s: at most %d values in a list", text(key),
			    FS_SCN_LIST_MAX);
	}
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *item = list_item(L, val, i);
		if (item->type != YAML_SCALAR_NODE) {
			return fail(L, item, "%s: expected a list of plain values, found %s", text(key), kind_name(item));
		}
		len += item->data.scalar.length + 1;
	}
	char *s = fs_calloc(1, len), *end = s;
	if (!s) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const yaml_node_t *item = list_item(L, val, i);
		if (i) {
			*end++ = ',';
		}
		memcpy(end, text(item), item->data.scalar.length);
		end += item->data.scalar.length;
	}
	*ret = s;
	return 0;
}

/*
 * The key/values of event mapping @n (without "type"), lists joined by ",".
 * Values point into the document or into *@ret_joined (caller frees both
 * arrays and the joined strings: free_event_kv()).
 */
static int event_kv(struct loader *L, const yaml_node_t *n, const yaml_node_t **ret_type,
		    struct fs_scenario_kv **ret_kv, char ***ret_joined, size_t *ret_count)
{
	if (n->type != YAML_MAPPING_NODE) {
		return fail(L, n, "an event: expected a mapping with a type, found %s", kind_name(n));
	}
	const yaml_node_t *type = find(L, n, "type");
	if (!type) {
		return fail(L, n, "an event needs a type");
	}
	int rc = need_scalar(L, type, "type", "an event type");
	if (rc < 0) {
		return rc;
	}
	size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	if (count > FS_SCN_EVENT_KEYS_MAX) {
		return fail(L, node(L, n->data.mapping.pairs.start[FS_SCN_EVENT_KEYS_MAX].key),
			    "an event: more than %d keys", FS_SCN_EVENT_KEYS_MAX);
	}
	struct fs_scenario_kv *kv = fs_calloc(count, sizeof(*kv));
	char **joined = fs_calloc(count, sizeof(*joined));
	size_t k = 0;
	*ret_type = type;
	*ret_kv = kv;
	*ret_joined = joined;
	*ret_count = 0;
	if (!kv || !joined) {
		return -ENOMEM;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const yaml_node_t *key = node(L, p->key), *val = node(L, p->value);
		if (key->type != YAML_SCALAR_NODE) {
			rc = fail(L, key, "an event: keys must be plain names");
			goto out;
		}
		if (!strcmp(text(key), "type")) {
			continue;
		}
		const char *value;
		if (val->type == YAML_SCALAR_NODE) {
			value = text(val);
		} else if (val->type == YAML_SEQUENCE_NODE) {
			if ((rc = join_list(L, key, val, &joined[k])) < 0) {
				goto out;
			}
			value = joined[k];
		} else {
			rc = fail(L, val, "%s: expected a value or a list, found %s", text(key), kind_name(val));
			goto out;
		}
		kv[k] = (struct fs_scenario_kv){
			.key = text(key), .value = value,
			.line = (unsigned)val->start_mark.line + 1, .column = (unsigned)val->start_mark.column + 1,
			.key_line = (unsigned)key->start_mark.line + 1, .key_column = (unsigned)key->start_mark.column + 1,
		};
		k++;
		*ret_count = k;
	}
	rc = 0;
out:
	return rc;
}

static void free_event_kv(struct fs_scenario_kv *kv, char **joined, size_t count)
{
	for (size_t i = 0; joined && i < count; i++) {
		fs_free(joined[i]);
	}
	fs_free(joined);
	fs_free(kv);
}

static int read_event(struct loader *L, const yaml_node_t *n)
{
	const yaml_node_t *type = NULL;
	struct fs_scenario_kv *kv = NULL;
	char **joined = NULL;
	size_t k = 0;
	int rc = event_kv(L, n, &type, &kv, &joined, &k);
	if (rc < 0) {
		goto out;
	}
	struct fs_scenario_event_source src = {
		.origin = L->name, .line = (unsigned)n->start_mark.line + 1, .column = (unsigned)n->start_mark.column + 1,
	};
	struct fs_scenario_event e;
	if (!fs_scenario_event_type_from_name(text(type))) {
		src.line = (unsigned)type->start_mark.line + 1;
		src.column = (unsigned)type->start_mark.column + 1;
	}
	rc = fs_scenario_event_parse(L->sc, text(type), kv, k, &src, &e, L->err);
	if (rc == 0 && e.apply_tick == FS_SCN_NEXT_TICK) {
		rc = fail(L, n, "an event in a file needs a time: at (or from) or tick");
	}
	if (rc == 0 && e.apply_tick >= fs_scenario_ticks(L->sc)) {
		rc = fail(L, n, "the event starts at tick %" PRIu64 ", after the run's last tick %" PRIu64, e.apply_tick,
			  fs_scenario_ticks(L->sc) ? fs_scenario_ticks(L->sc) - 1 : 0);
	}
	if (rc == 0) {
		L->sc->events[L->sc->event_count++] = e; /* room made by read_events(), sorted there */
	}
out:
	free_event_kv(kv, joined, n->type == YAML_MAPPING_NODE ?
			  (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start) : 0);
	return rc;
}

/*
 * Sort events[0..n) by apply_tick, keeping file order within a tick: a merge
 * sort, since inserting each in place costs n^2 moves of a large struct for a
 * file written back to front.
 */
static int sort_events(struct fs_scenario_event *ev, size_t n)
{
	struct fs_scenario_event *tmp = fs_malloc((n ? n : 1) * sizeof(*tmp));
	if (!tmp) {
		return -ENOMEM;
	}
	struct fs_scenario_event *from = ev, *to = tmp;
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t a = lo, b = mid, k = lo;
			while (a < mid && b < hi) {
				to[k++] = from[b].apply_tick < from[a].apply_tick ? from[b++] : from[a++];
			}
			while (a < mid) {
				to[k++] = from[a++];
			}
			while (b < hi) {
				to[k++] = from[b++];
			}
		}
		struct fs_scenario_event *swap = from;
		from = to;
		to = swap;
	}
	if (from != ev) {
		memcpy(ev, from, n * sizeof(*ev));
	}
	fs_free(tmp);
	return 0;
}

/* The file's events, after those already there (none but injected ones), sorted by tick. */
static int read_events(struct loader *L, const yaml_node_t *list)
{
	int rc = need_list(L, list, "events");
	if (rc < 0) {
		return rc;
	}
	struct fs_scenario *sc = L->sc;
	size_t n = list_len(list);
	struct fs_scenario_event *ev = fs_realloc(sc->events, (sc->event_count + n + 1) * sizeof(*ev));
	if (!ev) {
		return -ENOMEM;
	}
	sc->events = ev;
	for (size_t i = 0; i < n; i++) {
		if ((rc = read_event(L, list_item(L, list, i))) < 0) {
			return rc;
		}
	}
	return sort_events(sc->events, sc->event_count);
}

static int read_top(struct loader *L, const yaml_node_t *root)
{
	struct fs_scenario *sc = L->sc;
	int rc = check_map(L, root, "the scenario",
			   "description seed start duration tick city fleet demand riders dispatch vehicle production rollout "
			   "traffic events");
	if (rc < 0) {
		return rc;
	}
	const yaml_node_t *n;
	uint64_t tick_ms = sc->tick_ms;
	if ((n = find(L, root, "description")) && (rc = need_scalar(L, n, "description", "text")) < 0) {
		return rc;
	}
	if ((rc = get_u64(L, root, "seed", 0, UINT64_MAX, &sc->seed)) < 0 ||
	    (rc = get_date(L, root, "start", &sc->start_ms)) < 0 ||
	    (rc = get_duration_ms(L, root, "duration", 1, FS_SCN_DURATION_MAX_MS, &sc->duration_ms)) < 0 ||
	    (rc = get_duration_ms(L, root, "tick", 1, 3600000, &tick_ms)) < 0) {
		return rc;
	}
	sc->tick_ms = (uint32_t)tick_ms;
	static const struct {
		const char *key;
		int (*read)(struct loader *, const yaml_node_t *);
	} sections[] = {
		{ "city", read_city },       { "vehicle", read_vehicle },       { "fleet", read_fleet },
		{ "demand", read_demand },   { "dispatch", read_dispatch },     { "production", read_production },
		{ "rollout", read_rollout }, { "riders", read_riders },   { "traffic", read_traffic },
	};
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		if ((n = find(L, root, sections[i].key)) && (rc = sections[i].read(L, n)) < 0) {
			return rc;
		}
	}
	if (sc->geofence_zone[0] && !fs_scenario_zone_find(sc, sc->geofence_zone)) {
		return fail(L, find(L, root, "city"), "geofence: zone '%s' is not among the city's zones",
			    sc->geofence_zone);
	}
	for (size_t i = 0; i < sc->zone_weight_count; i++) {
		if (!fs_scenario_zone_find(sc, sc->zone_weights[i].zone)) {
			return fail(L, find(L, root, "demand"), "zone_weights: zone '%s' is not among the city's zones",
				    sc->zone_weights[i].zone);
		}
	}
	if ((n = find(L, root, "events")) && !is_null(n)) {
		return read_events(L, n);
	}
	return 0;
}

/* ---- reading the YAML document -------------------------------------------- */

struct open_node {
	int id;       /* a sequence or mapping being filled */
	int key;      /* a mapping's key waiting for its value, 0 = none */
};

struct builder {
	struct loader *L;
	struct open_node stack[FS_SCN_DEPTH_MAX];
	size_t depth;
	size_t nodes;
	struct {
		char *name;
		int id;
	} anchors[FS_SCN_ANCHORS_MAX];
	size_t n_anchors;
	bool document_done;
};

static int fail_at(struct loader *L, yaml_mark_t m, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(struct loader *L, yaml_mark_t m, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return fs_error_at(L->err, -EINVAL, L->name, (unsigned)m.line + 1, (unsigned)m.column + 1, "%s", what);
}

/* The new node @id (from @ev) into its parent, and its anchor. */
static int place(struct builder *b, int id, const yaml_event_t *ev, const yaml_char_t *anchor)
{
	if (!id) {
		return -ENOMEM;
	}
	yaml_node_t *n = node(b->L, id);
	n->start_mark = ev->start_mark;
	n->end_mark = ev->end_mark;
	if (++b->nodes > FS_SCN_NODES_MAX) {
		return fail_at(b->L, ev->start_mark, "more than %d values in the file; a scenario holds far fewer",
			       FS_SCN_NODES_MAX);
	}
	if (anchor) {
		if (b->n_anchors == FS_SCN_ANCHORS_MAX) {
			return fail_at(b->L, ev->start_mark, "more than %d anchors (&name) in the file", FS_SCN_ANCHORS_MAX);
		}
		b->anchors[b->n_anchors].name = fs_strdup((const char *)anchor);
		if (!b->anchors[b->n_anchors].name) {
			return -ENOMEM;
		}
		b->anchors[b->n_anchors++].id = id;
	}
	return 0;
}

/*
 * Attach @id (written at @at: an alias's own place, not its anchor's) to the
 * collection being filled, or make it the root.
 */
static int attach(struct builder *b, int id, yaml_mark_t at)
{
	if (!b->depth) {
		return 0; /* the root: the document's first node */
	}
	struct open_node *top = &b->stack[b->depth - 1];
	yaml_node_t *parent = node(b->L, top->id);
	size_t items = parent->type == YAML_SEQUENCE_NODE
			       ? (size_t)(parent->data.sequence.items.top - parent->data.sequence.items.start)
			       : (size_t)(parent->data.mapping.pairs.top - parent->data.mapping.pairs.start);
	if (items == FS_SCN_ITEMS_MAX && (parent->type == YAML_SEQUENCE_NODE || !top->key)) {
		return fail_at(b->L, at, "more than %d %s in one %s", FS_SCN_ITEMS_MAX,
			       parent->type == YAML_SEQUENCE_NODE ? "values" : "keys",
			       parent->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
	}
	int ok;
	if (parent->type == YAML_SEQUENCE_NODE) {
		ok = yaml_document_append_sequence_item(&b->L->doc, top->id, id);
	} else if (!top->key) {
		top->key = id;
		ok = 1;
	} else {
		ok = yaml_document_append_mapping_pair(&b->L->doc, top->id, top->key, id);
		top->key = 0;
	}
	return ok ? 0 : -ENOMEM;
}

static int alias(struct builder *b, const yaml_event_t *ev)
{
	/* the latest definition of a name wins (YAML 1.1) */
	for (size_t i = b->n_anchors; i-- > 0;) {
		if (!strcmp(b->anchors[i].name, (const char *)ev->data.alias.anchor)) {
			return attach(b, b->anchors[i].id, ev->start_mark);
		}
	}
	return fail_at(b->L, ev->start_mark, "alias *%s names no anchor defined before it", ev->data.alias.anchor);
}

static int open_collection(struct builder *b, const yaml_event_t *ev)
{
	if (b->depth == FS_SCN_DEPTH_MAX) {
		return fail_at(b->L, ev->start_mark, "nested more than %d deep; a scenario needs 6", FS_SCN_DEPTH_MAX);
	}
	bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
	int id = seq ? yaml_document_add_sequence(&b->L->doc, ev->data.sequence_start.tag,
						  ev->data.sequence_start.style)
		     : yaml_document_add_mapping(&b->L->doc, ev->data.mapping_start.tag, ev->data.mapping_start.style);
	int rc = place(b, id, ev, seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor);
	if (rc == 0) {
		rc = attach(b, id, ev->start_mark);
	}
	if (rc == 0) {
		b->stack[b->depth++] = (struct open_node){ .id = id };
	}
	return rc;
}

/* One parser event into the document. Returns 1 at the end of the stream, 0 to go on, or -errno. */
static int build(struct builder *b, const yaml_event_t *ev)
{
	struct loader *L = b->L;
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (b->document_done) {
			return fail_at(L, ev->start_mark, "a second YAML document; a scenario is one document");
		}
		if (!yaml_document_initialize(&L->doc, NULL, NULL, NULL, 1, 1)) {
			return -ENOMEM;
		}
		L->have_doc = true;
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		b->document_done = true;
		return 0;
	case YAML_ALIAS_EVENT:
		return alias(b, ev);
	case YAML_SCALAR_EVENT: {
		if (ev->data.scalar.length > INT_MAX) {
			return fail_at(L, ev->start_mark, "a value too long");
		}
		int id = yaml_document_add_scalar(&L->doc, ev->data.scalar.tag, ev->data.scalar.value,
						  (int)ev->data.scalar.length, ev->data.scalar.style);
		int rc = place(b, id, ev, ev->data.scalar.anchor);
		return rc < 0 ? rc : attach(b, id, ev->start_mark);
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return open_collection(b, ev);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		node(L, b->stack[--b->depth].id)->end_mark = ev->end_mark;
		return 0;
	default:
		return 0; /* stream start */
	}
}

/*
 * The file's one YAML document into L->doc, like yaml_parser_load(), but
 * refusing at once what would cost more than a scenario is worth: libyaml
 * does work proportional to the nesting depth for every token, so 200,000
 * nested '[' took minutes; the depth, the number of values and of anchors
 * are bounded (FS_SCN_*_MAX), and a second document is an error. Nodes keep
 * their start marks for file:line:column messages. Returns 0 or -errno
 * (L->err filled); L->have_doc says whether L->doc must be deleted.
 */
static int load_document(struct loader *L, const char *text_in, size_t len)
{
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		return fs_error_set(L->err, -ENOMEM, "%s: out of memory", L->name);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text_in, len);
	struct builder b = { .L = L };
	int rc = 0;
	while (rc == 0) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = fs_error_at(L->err, -EINVAL, L->name, (unsigned)parser.problem_mark.line + 1,
					 (unsigned)parser.problem_mark.column + 1, "YAML syntax error: %s%s%s",
					 parser.problem ? parser.problem : "malformed", parser.context ? " " : "",
					 parser.context ? parser.context : "");
			break;
		}
		rc = build(&b, &ev);
		yaml_event_delete(&ev);
	}
	if (rc == -ENOMEM) {
		rc = fs_error_set(L->err, -ENOMEM, "%s: out of memory", L->name);
	}
	for (size_t i = 0; i < b.n_anchors; i++) {
		fs_free(b.anchors[i].name);
	}
	yaml_parser_delete(&parser);
	return rc < 0 ? rc : 0;
}

int fs_scenario_defaults(struct fs_scenario *sc)
{
	struct fs_timezone tz;
	int rc = fs_timezone_load(FS_TZ_DIR, FS_SCENARIO_DEFAULT_TIMEZONE, &tz, NULL);
	if (rc < 0) {
		memset(sc, 0, sizeof(*sc));
		return rc;
	}
	rc = fs_scenario_defaults_with_tz(sc, &tz);
	fs_timezone_finish(&tz);
	return rc;
}

int fs_scenario_load_string(const char *text_in, size_t len, const char *name, const char *base_dir,
			    struct fs_scenario *sc, struct fs_error *err)
{
	struct loader L = { .name = name ? name : "scenario", .sc = sc, .err = err };
	int rc = fs_scenario_defaults(sc);
	if (rc == -ENOMEM) {
		return fs_error_set(err, rc, "%s: out of memory", L.name);
	}
	if (rc < 0) {
		return fs_error_set(err, rc, "%s: cannot read the default time zone America/New_York from %s "
					     "(install the tzdata package: scripts/deps)", L.name, FS_TZ_DIR);
	}
	snprintf(sc->source, sizeof(sc->source), "%s", name ? name : "");
	snprintf(sc->base_dir, sizeof(sc->base_dir), "%s", base_dir ? base_dir : ".");
	rc = load_document(&L, text_in, len);
	yaml_node_t *root = rc == 0 && L.have_doc ? yaml_document_get_root_node(&L.doc) : NULL;
	if (rc == 0 && root && !is_null(root)) {
		rc = read_top(&L, root);
	}
	if (L.have_doc) {
		yaml_document_delete(&L.doc);
	}
	if (rc < 0) {
		fs_scenario_finish(sc);
	}
	return rc;
}

int fs_scenario_load(const char *path, struct fs_scenario *sc, struct fs_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	memset(sc, 0, sizeof(*sc));
	int rc = fs_file_load(path, (size_t)64 << 20, &buf, &len, err);
	if (rc == -EFBIG) {
		return fs_error_set(err, -EINVAL, "%s: larger than 64 MiB; not a scenario", path);
	}
	if (rc < 0) {
		return rc == -ENOENT || rc == -ENOMEM ? rc : -EIO; /* the codes fs/scenario_load.h promises */
	}
	char dir[FS_SCN_PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (slash) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash == path ? 1 : slash - path), path);
	} else {
		snprintf(dir, sizeof(dir), ".");
	}
	rc = fs_scenario_load_string(buf, len, path, dir, sc, err);
	fs_free(buf);
	return rc;
}

void fs_scenario_raw_events_finish(struct fs_scenario_raw_events *r)
{
	if (!r) {
		return;
	}
	for (size_t i = 0; i < r->count; i++) {
		struct fs_scenario_raw_event *e = &r->items[i];
		for (size_t k = 0; k < e->count; k++) {
			fs_free((char *)e->kv[k].key);
			fs_free((char *)e->kv[k].value);
		}
		fs_free(e->kv);
		fs_free(e->type);
	}
	fs_free(r->items);
	memset(r, 0, sizeof(*r));
}

static int copy_raw(struct loader *L, const yaml_node_t *n, struct fs_scenario_raw_event *out)
{
	const yaml_node_t *type = NULL;
	struct fs_scenario_kv *kv = NULL;
	char **joined = NULL;
	size_t k = 0;
	int rc = event_kv(L, n, &type, &kv, &joined, &k);
	if (rc == 0) {
		out->type = fs_strdup(text(type));
		out->kv = fs_calloc(k ? k : 1, sizeof(*out->kv));
		out->line = (unsigned)n->start_mark.line + 1;
		out->column = (unsigned)n->start_mark.column + 1;
		rc = out->type && out->kv ? 0 : -ENOMEM;
		for (size_t i = 0; rc == 0 && i < k; i++) {
			out->kv[i] = kv[i];
			out->kv[i].key = fs_strdup(kv[i].key);
			out->kv[i].value = fs_strdup(kv[i].value);
			out->count++;
			rc = out->kv[i].key && out->kv[i].value ? 0 : -ENOMEM;
		}
	}
	free_event_kv(kv, joined, n->type == YAML_MAPPING_NODE ?
			  (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start) : 0);
	return rc;
}

int fs_scenario_read_raw_events(const char *path, struct fs_scenario_raw_events *ret, struct fs_error *err)
{
	memset(ret, 0, sizeof(*ret));
	char *buf = NULL;
	size_t len = 0;
	int rc = fs_file_load(path, (size_t)64 << 20, &buf, &len, err);
	if (rc == -EFBIG) {
		return fs_error_set(err, -EINVAL, "%s: larger than 64 MiB; not a scenario", path);
	}
	if (rc < 0) {
		return rc == -ENOENT || rc == -ENOMEM ? rc : -EIO; /* the codes fs/scenario_load.h promises */
	}
	struct loader L = { .name = path, .err = err };
	rc = load_document(&L, buf, len);
	if (rc < 0) {
		if (L.have_doc) {
			yaml_document_delete(&L.doc);
		}
		fs_free(buf);
		return rc;
	}
	yaml_node_t *root = L.have_doc ? yaml_document_get_root_node(&L.doc) : NULL;
	const yaml_node_t *events = root && root->type == YAML_MAPPING_NODE ? find(&L, root, "events") : NULL;
	if (!events) {
		rc = fs_error_at(err, -EINVAL, path, 1, 1, "no events: list in the file");
	} else if ((rc = need_list(&L, events, "events")) == 0) {
		size_t n = list_len(events);
		ret->items = fs_calloc(n ? n : 1, sizeof(*ret->items));
		rc = ret->items ? 0 : -ENOMEM;
		for (size_t i = 0; rc == 0 && i < n; i++) {
			rc = copy_raw(&L, list_item(&L, events, i), &ret->items[i]);
			ret->count++;
		}
		if (rc == 0 && n == 0) {
			rc = fs_error_at(err, -EINVAL, path, (unsigned)events->start_mark.line + 1,
					 (unsigned)events->start_mark.column + 1, "events: the list is empty");
		}
	}
	if (L.have_doc) {
		yaml_document_delete(&L.doc);
	}
	fs_free(buf);
	if (rc < 0) {
		fs_scenario_raw_events_finish(ret);
	}
	return rc;
}
