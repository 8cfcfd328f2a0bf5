/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_scenario_event - timed scenario events: one parser for the file and for
 * live injection, the canonical key/value form, and vehicle selection.
 *
 * Events arrive as key/value strings whichever way they come (the YAML
 * loader flattens a list such as `vehicles: [3, 17]` to "3,17"), so exactly
 * one function validates them: an event from a file and the same event sent
 * by `fleetctl inject` are the same struct or the same error.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/calendar.h"
#include "fs/rng.h"
#include "fs/scenario.h"

static const char *const type_names[FS_SCN_EVENT_TYPE_COUNT] = {
	[FS_SCN_EVENT_WEATHER] = "weather",
	[FS_SCN_EVENT_GEOFENCE] = "geofence",
	[FS_SCN_EVENT_DEMAND_SURGE] = "demand_surge",
	[FS_SCN_EVENT_ROAD_CLOSURE] = "road_closure",
	[FS_SCN_EVENT_DEVICE_FAULT] = "device_fault",
	[FS_SCN_EVENT_SOFTWARE_UPDATE] = "software_update",
	[FS_SCN_EVENT_DEPOT_OUTAGE] = "depot_outage",
	[FS_SCN_EVENT_SUPPLIER_SHORTAGE] = "supplier_shortage",
	[FS_SCN_EVENT_RECALL] = "recall",
	[FS_SCN_EVENT_CALIBRATION_SPIKE] = "calibration_spike",
};

static const char *const severity_names[] = { "none", "light", "heavy", "storm" };
/* Link speed factor per severity when the event gives none [est]: the FHWA
 * road-weather literature reports arterial speed drops of a few % in light
 * rain, 10-25 % in heavy rain and more in storms; docs/scenario.md. */
static const double severity_speed[] = { 1.0, 0.95, 0.85, 0.7 };
static const char *const device_names[FS_DEVICE_KIND_COUNT] = {
	[FS_DEVICE_CAMERA] = "camera", [FS_DEVICE_RADAR] = "radar", [FS_DEVICE_LIDAR] = "lidar",
	[FS_DEVICE_ULTRASONIC] = "ultrasonic", [FS_DEVICE_THOR] = "thor",
};
static const char *const health_names[] = { "ok", "degraded", "failed" };
static const char *const mode_names[] = { "set", "add", "remove" };

const char *fs_scenario_event_type_name(int type)
{
	return type > FS_SCN_EVENT_NONE && type < FS_SCN_EVENT_TYPE_COUNT ? type_names[type] : NULL;
}

int fs_scenario_event_type_from_name(const char *name)
{
	for (int t = 1; name && t < FS_SCN_EVENT_TYPE_COUNT; t++) {
		if (!strcmp(name, type_names[t])) {
			return t;
		}
	}
	return FS_SCN_EVENT_NONE;
}

bool fs_scenario_parse_version(const char *text, uint32_t *ret)
{
	if (!text || !*text) {
		return false;
	}
	char *end;
	errno = 0;
	unsigned long major = strtoul(text, &end, 10);
	if (end == text || errno || text[0] == '-' || text[0] == '+') {
		return false;
	}
	if (*end == '\0') {
		if (major == 0 || major > 99999) {
			return false;
		}
		*ret = (uint32_t)major; /* already a version number: 120 */
		return true;
	}
	if (*end != '.' || end[1] < '0' || end[1] > '9') {
		return false;
	}
	const char *m = end + 1;
	unsigned long minor = strtoul(m, &end, 10);
	if (*end || end - m > 2 || minor > 99 || major > 999 || (major == 0 && minor == 0)) {
		return false;
	}
	/* "1.2" is 120 and "1.15" is 115, as fs_vehicle_params numbers releases */
	*ret = (uint32_t)(major * 100 + (end - m == 1 ? minor * 10 : minor));
	return true;
}

bool fs_scenario_parse_duration_ms(const char *text, uint64_t *ret)
{
	if (!text || !*text) {
		return false;
	}
	const char *p = text;
	uint64_t total = 0;
	bool bare = true;
	while (*p) {
		if (*p < '0' || *p > '9') {
			return false;
		}
		uint64_t v = 0;
		while (*p >= '0' && *p <= '9') {
			if (v > UINT64_MAX / 10 - 10) {
				return false;
			}
			v = v * 10 + (uint64_t)(*p++ - '0');
		}
		uint64_t unit;
		if (!*p) {
			if (!bare) {
				return false; /* "1h30" is ambiguous */
			}
			unit = 1000;
		} else if (p[0] == 'm' && p[1] == 's') {
			unit = 1;
			p += 2;
		} else if (*p == 's' || *p == 'm' || *p == 'h' || *p == 'd') {
			unit = *p == 's' ? 1000 : *p == 'm' ? 60000 : *p == 'h' ? 3600000 : 86400000;
			p++;
		} else {
			return false;
		}
		bare = false;
		if (v && unit > UINT64_MAX / v) {
			return false;
		}
		if (total > UINT64_MAX - v * unit) {
			return false;
		}
		total += v * unit;
	}
	*ret = total;
	return true;
}

/* ---- helpers ---- */

struct ctx {
	const struct fs_scenario *sc;
	const struct fs_scenario_event_source *src;
	struct fs_error *err;
};

static int fail_kv(const struct ctx *c, const struct fs_scenario_kv *kv, bool at_key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail_kv(const struct ctx *c, const struct fs_scenario_kv *kv, bool at_key, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	unsigned line = c->src ? c->src->line : 0, col = c->src ? c->src->column : 0;
	if (kv && (at_key ? kv->key_line : kv->line)) {
		line = at_key ? kv->key_line : kv->line;
		col = at_key ? kv->key_column : kv->column;
	}
	return fs_error_at(c->err, -EINVAL, c->src && c->src->origin ? c->src->origin : "event", line, col, "%s",
			   what);
}

static int name_index(const char *const *names, size_t count, const char *value)
{
	for (size_t i = 0; i < count; i++) {
		if (names[i] && !strcmp(names[i], value)) {
			return (int)i;
		}
	}
	return -1;
}

/* @kv's value, one of the @count @names, as its index into *@ret: 0, or an error saying it is not @what. */
static int parse_name(const struct ctx *c, const struct fs_scenario_kv *kv, const char *const *names, size_t count,
		      const char *what, uint8_t *ret)
{
	int i = name_index(names, count, kv->value);
	if (i < 0) {
		return fail_kv(c, kv, false, "%s: '%s' is not %s", kv->key, kv->value, what);
	}
	*ret = (uint8_t)i;
	return 0;
}

static bool parse_double(const char *text, double *ret)
{
	char *end;
	if (!text || !*text) {
		return false;
	}
	errno = 0;
	double v = strtod(text, &end);
	if (*end || errno || !isfinite(v)) {
		return false;
	}
	*ret = v;
	return true;
}

static bool parse_u64(const char *text, uint64_t *ret)
{
	if (!text || *text < '0' || *text > '9') {
		return false;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (*end || errno) {
		return false;
	}
	*ret = v;
	return true;
}

/* "3,17,42" (spaces allowed) into @ret (at most FS_SCN_LIST_MAX). */
static int parse_id_list(const struct ctx *c, const struct fs_scenario_kv *kv, uint32_t *ret, uint32_t *ret_count)
{
	char buf[FS_SCN_FORMAT_VALUE_MAX];
	if (strlen(kv->value) >= sizeof(buf)) {
		return fail_kv(c, kv, false, "%s: list too long", kv->key);
	}
	snprintf(buf, sizeof(buf), "%s", kv->value);
	uint32_t n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		uint64_t v;
		if (!parse_u64(tok, &v) || v >= UINT32_MAX) {
			return fail_kv(c, kv, false, "%s: '%s' is not an id (a non-negative integer)", kv->key, tok);
		}
		if (n == FS_SCN_LIST_MAX) {
			return fail_kv(c, kv, false, "%s: more than %d ids (use share for a fleet-wide event)", kv->key,
				       FS_SCN_LIST_MAX);
		}
		for (uint32_t i = 0; i < n; i++) {
			if (ret[i] == v) {
				return fail_kv(c, kv, false, "%s: id %" PRIu64 " listed twice", kv->key, v);
			}
		}
		ret[n++] = (uint32_t)v;
	}
	if (n == 0) {
		return fail_kv(c, kv, false, "%s: empty list", kv->key);
	}
	*ret_count = n;
	return 0;
}

static int parse_range(const struct ctx *c, const struct fs_scenario_kv *kv, double lo, double hi, bool lo_open,
		       bool hi_open, double *ret)
{
	double v;
	if (!parse_double(kv->value, &v)) {
		return fail_kv(c, kv, false, "%s: '%s' is not a number", kv->key, kv->value);
	}
	if ((lo_open ? v <= lo : v < lo) || (hi_open ? v >= hi : v > hi)) {
		return fail_kv(c, kv, false, "%s: %g is out of range %s%g, %g%s", kv->key, v, lo_open ? "(" : "[", lo, hi,
			       hi_open ? ")" : "]");
	}
	*ret = v;
	return 0;
}

static int copy_name(const struct ctx *c, const struct fs_scenario_kv *kv, char *dst)
{
	size_t n = strlen(kv->value);
	if (n == 0 || n >= FS_SCN_NAME_MAX) {
		return fail_kv(c, kv, false, "%s: a name of 1 to %d characters is needed", kv->key, FS_SCN_NAME_MAX - 1);
	}
	memcpy(dst, kv->value, n + 1);
	return 0;
}

static int check_zone(const struct ctx *c, const struct fs_scenario_kv *kv, bool allow_all)
{
	if (allow_all && !strcmp(kv->value, "all")) {
		return 0;
	}
	if (c->sc && fs_scenario_zone_find(c->sc, kv->value)) {
		return 0;
	}
	char known[300] = "";
	for (size_t i = 0; c->sc && i < c->sc->zone_count; i++) {
		size_t len = strlen(known);
		snprintf(known + len, sizeof(known) - len, "%s%s", len ? ", " : "", c->sc->zones[i].name);
	}
	return fail_kv(c, kv, false, "unknown zone '%s' (zones: %s%s%s)", kv->value, allow_all ? "all" : "",
		       allow_all && known[0] ? ", " : "", known[0] ? known : (allow_all ? "" : "none defined"));
}

/* recall: "2028-03-01,2028-04-15", whole days. */
static int parse_built(const struct ctx *c, const struct fs_scenario_kv *kv, int64_t *ret_from, int64_t *ret_to)
{
	char buf[64];
	const char *comma = strchr(kv->value, ',');
	if (!comma || strlen(kv->value) >= sizeof(buf)) {
		return fail_kv(c, kv, false, "built: give [first day, last day] such as [2028-03-01, 2028-04-15]");
	}
	snprintf(buf, sizeof(buf), "%.*s", (int)(comma - kv->value), kv->value);
	const char *to = comma + 1;
	while (*to == ' ') {
		to++;
	}
	int64_t a, b;
	if (strlen(buf) != 10 || strlen(to) != 10 || fs_calendar_parse(buf, &a) < 0 || fs_calendar_parse(to, &b) < 0) {
		return fail_kv(c, kv, false, "built: '%s' is not two dates YYYY-MM-DD", kv->value);
	}
	if (b < a) {
		return fail_kv(c, kv, false, "built: the last day is before the first");
	}
	*ret_from = a;
	*ret_to = b;
	return 0;
}

/* A point in time: an offset ("2h", "0") from the source's base (the start, or now) or a date-time. */
static int parse_time(const struct ctx *c, const struct fs_scenario_kv *kv, uint64_t *ret_offset_ms)
{
	const char *v = kv->value;
	size_t digits = strspn(v, "0123456789");
	if (digits == 4 && v[4] == '-') {
		int64_t ms;
		if (fs_calendar_parse(v, &ms) < 0) {
			return fail_kv(c, kv, false, "%s: '%s' is not a date-time such as 2028-06-01T08:00:00Z", kv->key, v);
		}
		if (ms < c->sc->start_ms) {
			return fail_kv(c, kv, false, "%s: %s is before the start of the run", kv->key, v);
		}
		*ret_offset_ms = (uint64_t)(ms - c->sc->start_ms);
		return 0;
	}
	uint64_t offset_ms;
	if (!fs_scenario_parse_duration_ms(v, &offset_ms)) {
		return fail_kv(c, kv, false,
			       "%s: '%s' is neither a time since the start (90s, 15m, 2h, 1h30m) nor a date-time",
			       kv->key, v);
	}
	uint64_t base_ms = c->src ? c->src->offset_base_ms : 0;
	if (offset_ms > UINT64_MAX / 2 - base_ms) {
		return fail_kv(c, kv, false, "%s: '%s' is too far ahead", kv->key, v);
	}
	*ret_offset_ms = base_ms + offset_ms; /* "in 20 minutes" of a live command: from its base */
	return 0;
}

static uint64_t ticks_up(uint64_t ms, uint32_t tick_ms)
{
	return ms / tick_ms + (ms % tick_ms != 0);
}

/* ---- the keys of an event ---- */

enum key {
	K_AT, K_TICK, K_UNTIL, K_DUR, K_VEHICLES, K_SHARE, K_EDGES, K_WAY, K_ZONE, K_SEVERITY, K_SPEED,
	K_MULTIPLIER, K_VERSION, K_DEVICE, K_INDEX, K_HEALTH, K_DEPOT, K_PLUGS, K_PROGRAMME, K_PLANT,
	K_FACTOR, K_BUILT, K_ACTION, K_MODE, K_COUNT,
};

/* Key names and where they go: "from" is "at", "duration" is "for". */
static const struct {
	const char *name;
	enum key key;
} key_names[] = {
	{ "at", K_AT }, { "from", K_AT }, { "tick", K_TICK }, { "until", K_UNTIL }, { "for", K_DUR },
	{ "duration", K_DUR }, { "vehicles", K_VEHICLES }, { "share", K_SHARE }, { "edges", K_EDGES },
	{ "way", K_WAY }, { "zone", K_ZONE }, { "severity", K_SEVERITY }, { "speed_factor", K_SPEED },
	{ "multiplier", K_MULTIPLIER }, { "version", K_VERSION }, { "device", K_DEVICE },
	{ "index", K_INDEX }, { "health", K_HEALTH }, { "depot", K_DEPOT }, { "plugs", K_PLUGS },
	{ "programme", K_PROGRAMME }, { "plant", K_PLANT }, { "factor", K_FACTOR }, { "built", K_BUILT },
	{ "action", K_ACTION }, { "mode", K_MODE },
};

/* An event's keys by meaning (NULL: not given), and its window (until or for, may be NULL). */
struct keys {
	const struct fs_scenario_kv *k[K_COUNT];
	const struct fs_scenario_kv *window;
};

/* ---- what each type of event says ---- */

static int parse_weather(const struct ctx *c, const struct keys *k, struct fs_scenario_event *e)
{
	const struct fs_scenario_kv *zone = k->k[K_ZONE], *severity = k->k[K_SEVERITY], *speed = k->k[K_SPEED];
	int rc;
	if (!zone || !severity) {
		return fail_kv(c, NULL, false, "a weather event needs %s", !zone ? "a zone" : "a severity");
	}
	if ((rc = check_zone(c, zone, true)) < 0 || (rc = copy_name(c, zone, e->zone)) < 0) {
		return rc;
	}
	if ((rc = parse_name(c, severity, severity_names, 4, "none, light, heavy or storm", &e->severity)) < 0) {
		return rc;
	}
	e->speed_factor = severity_speed[e->severity];
	if (speed && (rc = parse_range(c, speed, 0, 1, true, false, &e->speed_factor)) < 0) {
		return rc;
	}
	return 0;
}

static int parse_geofence(const struct ctx *c, const struct keys *k, struct fs_scenario_event *e)
{
	const struct fs_scenario_kv *zone = k->k[K_ZONE], *mode = k->k[K_MODE];
	int rc;
	if (!zone) {
		return fail_kv(c, NULL, false, "a geofence event needs a zone");
	}
	if ((rc = check_zone(c, zone, false)) < 0 || (rc = copy_name(c, zone, e->zone)) < 0) {
		return rc;
	}
	if (mode && (rc = parse_name(c, mode, mode_names, 3, "set, add or remove", &e->geofence_mode)) < 0) {
		return rc;
	}
	return 0;
}

static int parse_demand_surge(const struct ctx *c, const struct keys *k, struct fs_scenario_event *e)
{
	const struct fs_scenario_kv *zone = k->k[K_ZONE], *multiplier = k->k[K_MULTIPLIER];
	int rc;
	if (!zone || !multiplier) {
		return fail_kv(c, NULL, false, "a demand_surge event needs %s", !zone ? "a zone" : "a multiplier");
	}
	if (!k->window) {
		return fail_kv(c, NULL, false, "a demand_surge event needs a window (until or for)");
	}
	if ((rc = check_zone(c, zone, true)) < 0 || (rc = copy_name(c, zone, e->zone)) < 0 ||
	    (rc = parse_range(c, multiplier, 0, 100, true, false, &e->multiplier)) < 0) {
		return rc;
	}
	return 0;
}

static int parse_road_closure(const struct ctx *c, const struct keys *k, struct fs_scenario_event *e)
{
	const struct fs_scenario_kv *edges = k->k[K_EDGES], *way = k->k[K_WAY];
	int rc;
	if (!!edges == !!way) {
		return fail_kv(c, edges, true, "a road_closure event needs either edges or way");
	}
	if (edges && (rc = parse_id_list(c, edges, e->edges, &e->edge_count)) < 0) {
		return rc;
	}
	if (way && (rc = copy_name(c, way, e->way)) < 0) {
		return rc;
	}
	return 0;
}

/* Which vehicles a device fault or a software update reaches: a list or a share of the fleet. */
static int parse_vehicles(const struct ctx *c, const struct keys *k, struct fs_scenario_event *e)
{
	const struct fs_scenario_kv *vehicles = k->k[K_VEHICLES], *share = k->k[K_SHARE];
	int rc;
	if (vehicles && share) {
		return fail_kv(c, share, true, "give either vehicles or share, not both");
	}
	if (vehicles && (rc = parse_id_list(c, vehicles, e->vehicles, &e->vehicle_count)) < 0) {
		return rc;
	}
	if (share && (rc = parse_range(c, share, 0, 1, true, false, &e->share)) < 0) {
		return rc;
	}
	return 0;
}

static int parse_device_fault(const struct ctx *c, const struct keys *k, struct fs_scenario_event *e)
{
	const struct fs_scenario_kv *device = k->k[K_DEVICE], *index = k->k[K_INDEX], *health = k->k[K_HEALTH];
	int rc = parse_vehicles(c, k, e);
	if (rc < 0) {
		return rc;
	}
	if (!k->k[K_VEHICLES] && !k->k[K_SHARE]) {
		return fail_kv(c, NULL, false, "a device_fault event needs vehicles or a share");
	}
	if (!device) {
		return fail_kv(c, NULL, false, "a device_fault event needs a device");
	}
	if ((rc = parse_name(c, device, device_names, FS_DEVICE_KIND_COUNT, "camera, radar, lidar, ultrasonic or thor",
			     &e->device)) < 0) {
		return rc;
	}
	e->device_index = 0;
	if (index && !strcmp(index->value, "all")) {
		e->device_index = -1;
	} else if (index) {
		uint64_t v;
		if (!parse_u64(index->value, &v) || v >= fs_platform_kind_size(e->device)) {
			return fail_kv(c, index, false, "index: '%s' is not 'all' or 0..%u for a %s", index->value,
				       fs_platform_kind_size(e->device) - 1, device->value);
		}
		e->device_index = (int16_t)v;
	}
	e->health = FS_HEALTH_FAILED;
	if (health && (rc = parse_name(c, health, health_names, 3, "ok, degraded or failed", &e->health)) < 0) {
		return rc;
	}
	return 0;
}

static int parse_software_update(const struct ctx *c, const struct keys *k, struct fs_scenario_event *e)
{
	const struct fs_scenario_kv *version = k->k[K_VERSION];
	int rc = parse_vehicles(c, k, e);
	if (rc < 0) {
		return rc;
	}
	if (!version) {
		return fail_kv(c, NULL, false, "a software_update event needs a version");
	}
	if (!fs_scenario_parse_version(version->value, &e->version)) {
		return fail_kv(c, version, false, "version: '%s' is not a release such as 1.2", version->value);
	}
	if (fs_scenario_sw_find(c->sc, e->version) < 0) {
		return fail_kv(c, version, false, "version: release %s is not among fleet.software (add it there first)",
			       version->value);
	}
	if (!k->k[K_VEHICLES] && !k->k[K_SHARE]) {
		e->share = 1.0;
	}
	return 0;
}

static int parse_depot_outage(const struct ctx *c, const struct keys *k, struct fs_scenario_event *e)
{
	const struct fs_scenario *sc = c->sc;
	const struct fs_scenario_kv *depot = k->k[K_DEPOT], *plugs = k->k[K_PLUGS];
	if (!depot) {
		return fail_kv(c, NULL, false, "a depot_outage event needs a depot (name or index)");
	}
	uint64_t d;
	if (parse_u64(depot->value, &d)) {
		if (d >= sc->depot_count) {
			return fail_kv(c, depot, false, "depot: index %" PRIu64 " but the city has %zu depot(s)", d,
				       sc->depot_count);
		}
		e->depot = (int32_t)d;
	} else {
		for (size_t i = 0; i < sc->depot_count; i++) {
			if (!strcmp(sc->depots[i].name, depot->value)) {
				e->depot = (int32_t)i;
			}
		}
		if (e->depot < 0) {
			return fail_kv(c, depot, false, "depot: no depot named '%s'", depot->value);
		}
	}
	if (plugs) {
		uint64_t p;
		if (!parse_u64(plugs->value, &p) || p > sc->depots[e->depot].plugs) {
			return fail_kv(c, plugs, false, "plugs: '%s' is not 0 (all) .. %u", plugs->value,
				       sc->depots[e->depot].plugs);
		}
		e->plugs = (uint32_t)p;
	}
	return 0;
}

/* The programme and plant a production event names (a calibration spike may name none). */
static int parse_programme(const struct ctx *c, const struct keys *k, struct fs_scenario_event *e)
{
	const struct fs_scenario_kv *programme = k->k[K_PROGRAMME], *plant = k->k[K_PLANT];
	if (!programme && e->type != FS_SCN_EVENT_CALIBRATION_SPIKE) {
		return fail_kv(c, NULL, false, "a %s event needs a programme", type_names[e->type]);
	}
	int pi = -1;
	if (programme) {
		pi = fs_scenario_programme_find(c->sc, programme->value);
		if (pi < 0) {
			return fail_kv(c, programme, false, "unknown programme '%s' (see production.programmes)",
				       programme->value);
		}
		copy_name(c, programme, e->programme);
	}
	if (plant) {
		if (pi < 0) {
			return fail_kv(c, plant, true, "plant needs a programme");
		}
		bool found = false;
		const struct fs_prod_programme *g = &c->sc->production.programmes[pi];
		for (uint32_t i = 0; i < g->plant_count; i++) {
			found |= !strcmp(g->plants[i].name, plant->value);
		}
		if (!found) {
			return fail_kv(c, plant, false, "programme '%s' has no plant '%s'", e->programme, plant->value);
		}
		copy_name(c, plant, e->plant);
	}
	return 0;
}

/* A production event that scales a rate by a factor in [lo, hi] over a window. */
static int parse_factor_event(const struct ctx *c, const struct keys *k, struct fs_scenario_event *e,
			      const char *factor_means, double lo, double hi, bool lo_open, bool hi_open)
{
	int rc = parse_programme(c, k, e);
	if (rc < 0) {
		return rc;
	}
	if (!k->k[K_FACTOR]) {
		return fail_kv(c, NULL, false, "a %s event needs a factor (%s)", type_names[e->type], factor_means);
	}
	if (!k->window) {
		return fail_kv(c, NULL, false, "a %s event needs a window (until or for)", type_names[e->type]);
	}
	return parse_range(c, k->k[K_FACTOR], lo, hi, lo_open, hi_open, &e->factor);
}

static int parse_supplier_shortage(const struct ctx *c, const struct keys *k, struct fs_scenario_event *e)
{
	return parse_factor_event(c, k, e, "plant rate x factor", 0, 1, false, true);
}

static int parse_calibration_spike(const struct ctx *c, const struct keys *k, struct fs_scenario_event *e)
{
	return parse_factor_event(c, k, e, "failure share x factor", 1, 100, true, false);
}

static int parse_recall(const struct ctx *c, const struct keys *k, struct fs_scenario_event *e)
{
	const struct fs_scenario_kv *built = k->k[K_BUILT], *share = k->k[K_SHARE], *action = k->k[K_ACTION];
	int rc = parse_programme(c, k, e);
	if (rc < 0) {
		return rc;
	}
	if (!built) {
		return fail_kv(c, NULL, false, "a recall event needs built: [first day, last day]");
	}
	if ((rc = parse_built(c, built, &e->built_from_ms, &e->built_to_ms)) < 0) {
		return rc;
	}
	e->share = 1.0;
	if (share && (rc = parse_range(c, share, 0, 1, true, false, &e->share)) < 0) {
		return rc;
	}
	if (action) {
		static const char *const actions[] = { "rework", "retire" };
		if ((rc = parse_name(c, action, actions, 2, "rework or retire", &e->recall_action)) < 0) {
			return rc;
		}
	}
	return 0;
}

/* Each type: the keys it accepts besides the time keys, and what reads them. */
static const struct {
	const char *keys;
	int (*parse)(const struct ctx *c, const struct keys *k, struct fs_scenario_event *e);
} kinds[FS_SCN_EVENT_TYPE_COUNT] = {
	[FS_SCN_EVENT_WEATHER] = { "zone severity speed_factor", parse_weather },
	[FS_SCN_EVENT_GEOFENCE] = { "zone mode", parse_geofence },
	[FS_SCN_EVENT_DEMAND_SURGE] = { "zone multiplier", parse_demand_surge },
	[FS_SCN_EVENT_ROAD_CLOSURE] = { "edges way", parse_road_closure },
	[FS_SCN_EVENT_DEVICE_FAULT] = { "vehicles share device index health", parse_device_fault },
	[FS_SCN_EVENT_SOFTWARE_UPDATE] = { "vehicles share version", parse_software_update },
	[FS_SCN_EVENT_DEPOT_OUTAGE] = { "depot plugs", parse_depot_outage },
	[FS_SCN_EVENT_SUPPLIER_SHORTAGE] = { "programme plant factor", parse_supplier_shortage },
	[FS_SCN_EVENT_RECALL] = { "programme built share action", parse_recall },
	[FS_SCN_EVENT_CALIBRATION_SPIKE] = { "programme factor", parse_calibration_spike },
};

static const char *const time_keys = "at from tick until for duration";

/* ---- reading an event ---- */

static int unknown_type(const struct ctx *c, const char *type_name)
{
	char all[256] = "";
	for (int t = 1; t < FS_SCN_EVENT_TYPE_COUNT; t++) {
		size_t len = strlen(all);
		snprintf(all + len, sizeof(all) - len, "%s%s", t > 1 ? ", " : "", type_names[t]);
	}
	return fail_kv(c, NULL, false, "unknown event type '%s' (known: %s)", type_name ? type_name : "", all);
}

/* Sort @kv into @ret by meaning; an unknown or repeated key is an error. */
static int sort_keys(const struct ctx *c, int type, const struct fs_scenario_kv *kv, size_t n, struct keys *ret)
{
	for (size_t i = 0; i < n; i++) {
		const struct fs_scenario_kv *k = &kv[i];
		if (!fs_scenario_word_in(kinds[type].keys, k->key) && !fs_scenario_word_in(time_keys, k->key)) {
			return fail_kv(c, k, true, "unknown key '%s' for a %s event (expected: %s, %s)", k->key,
				       type_names[type], kinds[type].keys, time_keys);
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(kv[j].key, k->key)) {
				return fail_kv(c, k, true, "key '%s' given twice", k->key);
			}
		}
		for (size_t j = 0; j < sizeof(key_names) / sizeof(key_names[0]); j++) {
			if (!strcmp(k->key, key_names[j].name)) {
				ret->k[key_names[j].key] = k; /* "at" then "from": the later one counts */
				break;
			}
		}
	}
	ret->window = ret->k[K_UNTIL] ? ret->k[K_UNTIL] : ret->k[K_DUR];
	return 0;
}

/* When: the apply tick from at/from or tick, the length from until or for. */
static int parse_when(const struct ctx *c, const struct keys *k, struct fs_scenario_event *e)
{
	const struct fs_scenario_kv *at = k->k[K_AT], *tick = k->k[K_TICK], *until = k->k[K_UNTIL], *dur = k->k[K_DUR];
	uint32_t tick_ms = c->sc->tick_ms;
	uint64_t from_ms = 0;
	int rc;
	if (at && tick) {
		return fail_kv(c, tick, true, "give either a time (%s) or a tick, not both", at->key);
	}
	if (at) {
		if ((rc = parse_time(c, at, &from_ms)) < 0) {
			return rc;
		}
		e->apply_tick = ticks_up(from_ms, tick_ms);
	} else if (tick) {
		uint64_t t;
		if (!parse_u64(tick->value, &t) || t == FS_SCN_NEXT_TICK) {
			return fail_kv(c, tick, false, "tick: '%s' is not a tick number", tick->value);
		}
		e->apply_tick = t;
		from_ms = t * tick_ms;
	}
	if (until && dur) {
		return fail_kv(c, dur, true, "give either until or %s, not both", dur->key);
	}
	if (until) {
		uint64_t until_ms;
		if (!at && !tick) {
			return fail_kv(c, until, true, "until needs a start (at/from or tick)");
		}
		if ((rc = parse_time(c, until, &until_ms)) < 0) {
			return rc;
		}
		if (until_ms <= from_ms) {
			return fail_kv(c, until, false, "until must be after the start of the event");
		}
		e->duration_ticks = ticks_up(until_ms - from_ms, tick_ms);
	} else if (dur) {
		uint64_t ms;
		if (!fs_scenario_parse_duration_ms(dur->value, &ms) || ms == 0) {
			return fail_kv(c, dur, false, "%s: '%s' is not a positive duration such as 90s, 15m, 2h", dur->key,
				       dur->value);
		}
		e->duration_ticks = ticks_up(ms, tick_ms);
	}
	return 0;
}

int fs_scenario_event_parse(const struct fs_scenario *sc, const char *type_name, const struct fs_scenario_kv *kv,
			    size_t n, const struct fs_scenario_event_source *src, struct fs_scenario_event *ret,
			    struct fs_error *err)
{
	struct ctx c = { .sc = sc, .src = src, .err = err };
	struct fs_scenario_event e = { .apply_tick = FS_SCN_NEXT_TICK, .depot = -1 };
	if (!sc || sc->tick_ms == 0) {
		return fs_error_set(err, -EINVAL, "event: no scenario to validate against");
	}
	e.type = (uint8_t)fs_scenario_event_type_from_name(type_name);
	if (e.type == FS_SCN_EVENT_NONE) {
		return unknown_type(&c, type_name);
	}
	struct keys k = { { 0 } };
	int rc = sort_keys(&c, e.type, kv, n, &k);
	if (rc < 0 || (rc = parse_when(&c, &k, &e)) < 0 || (rc = kinds[e.type].parse(&c, &k, &e)) < 0) {
		return rc;
	}
	*ret = e;
	return 0;
}

/* ---- canonical text ---- */

static void put(struct fs_scenario_event_text *t, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void put(struct fs_scenario_event_text *t, const char *key, const char *fmt, ...)
{
	if (t->count >= FS_SCN_FORMAT_MAX) {
		return;
	}
	snprintf(t->key[t->count], sizeof(t->key[0]), "%s", key);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->value[t->count], sizeof(t->value[0]), fmt, ap);
	va_end(ap);
	t->count++;
}

static void put_list(struct fs_scenario_event_text *t, const char *key, const uint32_t *ids, uint32_t n)
{
	char buf[FS_SCN_FORMAT_VALUE_MAX] = "";
	size_t len = 0;
	for (uint32_t i = 0; i < n && len < sizeof(buf); i++) {
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%" PRIu32, i ? "," : "", ids[i]);
	}
	put(t, key, "%s", buf);
}

int fs_scenario_event_format(const struct fs_scenario *sc, const struct fs_scenario_event *e,
			     struct fs_scenario_event_text *ret)
{
	if (!fs_scenario_event_type_name(e->type) || !sc || !sc->tick_ms) {
		return -EINVAL;
	}
	struct fs_scenario_event_text *t = ret;
	t->count = 0;
	/* %.17g round-trips every double exactly. */
	switch (e->type) {
	case FS_SCN_EVENT_WEATHER:
		put(t, "zone", "%s", e->zone);
		put(t, "severity", "%s", severity_names[e->severity < 4 ? e->severity : 0]);
		put(t, "speed_factor", "%.17g", e->speed_factor);
		break;
	case FS_SCN_EVENT_GEOFENCE:
		put(t, "zone", "%s", e->zone);
		put(t, "mode", "%s", mode_names[e->geofence_mode < 3 ? e->geofence_mode : 0]);
		break;
	case FS_SCN_EVENT_DEMAND_SURGE:
		put(t, "zone", "%s", e->zone);
		put(t, "multiplier", "%.17g", e->multiplier);
		break;
	case FS_SCN_EVENT_ROAD_CLOSURE:
		if (e->edge_count) {
			put_list(t, "edges", e->edges, e->edge_count);
		} else {
			put(t, "way", "%s", e->way);
		}
		break;
	case FS_SCN_EVENT_DEVICE_FAULT:
	case FS_SCN_EVENT_SOFTWARE_UPDATE:
		if (e->vehicle_count) {
			put_list(t, "vehicles", e->vehicles, e->vehicle_count);
		} else {
			put(t, "share", "%.17g", e->share);
		}
		if (e->type == FS_SCN_EVENT_DEVICE_FAULT) {
			put(t, "device", "%s", e->device < FS_DEVICE_KIND_COUNT && device_names[e->device] ?
						 device_names[e->device] : "?");
			if (e->device_index < 0) {
				put(t, "index", "all");
			} else {
				put(t, "index", "%d", e->device_index);
			}
			put(t, "health", "%s", health_names[e->health < 3 ? e->health : 0]);
		} else {
			if (e->version % 10 == 0) {
				put(t, "version", "%" PRIu32 ".%" PRIu32, e->version / 100, e->version % 100 / 10);
			} else {
				put(t, "version", "%" PRIu32 ".%02" PRIu32, e->version / 100, e->version % 100);
			}
		}
		break;
	case FS_SCN_EVENT_DEPOT_OUTAGE:
		put(t, "depot", "%" PRId32, e->depot);
		put(t, "plugs", "%" PRIu32, e->plugs);
		break;
	case FS_SCN_EVENT_SUPPLIER_SHORTAGE:
	case FS_SCN_EVENT_RECALL:
	case FS_SCN_EVENT_CALIBRATION_SPIKE:
		if (e->programme[0]) {
			put(t, "programme", "%s", e->programme);
		}
		if (e->plant[0]) {
			put(t, "plant", "%s", e->plant);
		}
		if (e->type == FS_SCN_EVENT_RECALL) {
			char from[32], to[32];
			fs_calendar_format(e->built_from_ms, from, sizeof(from));
			fs_calendar_format(e->built_to_ms, to, sizeof(to));
			put(t, "built", "%.10s,%.10s", from, to);
			put(t, "share", "%.17g", e->share);
			put(t, "action", "%s", e->recall_action ? "retire" : "rework");
		} else {
			put(t, "factor", "%.17g", e->factor);
		}
		break;
	default:
		return -EINVAL;
	}
	if (e->duration_ticks) {
		put(t, "duration", "%" PRIu64 "ms", e->duration_ticks * sc->tick_ms);
	}
	return 0;
}

static uint64_t hash_str(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h = fs_mix64(h ^ (uint8_t)*s);
	}
	return h;
}

static uint64_t dbits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof(u));
	return u;
}

bool fs_scenario_event_selects(const struct fs_scenario_event *e, uint64_t seed, uint32_t id)
{
	if (e->vehicle_count) {
		for (uint32_t i = 0; i < e->vehicle_count; i++) {
			if (e->vehicles[i] == id) {
				return true;
			}
		}
		return false;
	}
	if (e->share >= 1.0) {
		return true;
	}
	/* Salt: what the event is, so two different events draw independently. */
	uint64_t salt = fs_mix64(e->apply_tick ^ ((uint64_t)e->type << 56));
	salt = fs_mix64(salt ^ dbits(e->share));
	salt = fs_mix64(salt ^ ((uint64_t)e->device << 40) ^ ((uint64_t)(uint16_t)e->device_index << 24) ^
			((uint64_t)e->health << 16) ^ e->version);
	salt = hash_str(salt, e->zone);
	struct fs_rng rng;
	fs_rng_init(&rng, seed ^ salt, FS_RNG_STREAM_SCENARIO, id);
	return fs_rng_uniform(&rng) < e->share;
}

bool fs_scenario_event_starts(const struct fs_scenario_event *e, uint64_t tick)
{
	return e->apply_tick != FS_SCN_NEXT_TICK && e->apply_tick == tick;
}

bool fs_scenario_event_ends(const struct fs_scenario_event *e, uint64_t tick)
{
	return e->apply_tick != FS_SCN_NEXT_TICK && e->duration_ticks && e->apply_tick + e->duration_ticks == tick;
}

bool fs_scenario_event_active(const struct fs_scenario_event *e, uint64_t tick)
{
	if (e->apply_tick == FS_SCN_NEXT_TICK || tick < e->apply_tick) {
		return false;
	}
	return e->duration_ticks == 0 || tick - e->apply_tick < e->duration_ticks;
}
