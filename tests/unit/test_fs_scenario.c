/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scenario files: the shipped default equals fs_scenario_defaults(), every
 * example parses, broken files fail with file:line:column and the reason,
 * and events survive the trip through the key/value form the bus carries.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs/alloc.h"
#include "fs/calendar.h"
#include "fs/file_load.h"
#include "fs/production.h"
#include "fs/scenario.h"
#include "fs/scenario_load.h"

static char tmpdir[256];

static const char *src_root(void)
{
	const char *r = getenv("FS_SOURCE_ROOT");
	return r ? r : ".";
}

static int setup_tmp(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fs-scn-test.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] != '.') {
			char p[600];
			snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
			unlink(p);
		}
	}
	if (d) {
		closedir(d);
	}
	rmdir(tmpdir);
	return 0;
}

static const char *write_file(const char *name, const char *text)
{
	static char path[600];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void default_file_equals_defaults(void **state)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/examples/default.yaml", src_root());
	struct fs_scenario file, def;
	struct fs_error err = { "" };
	int rc = fs_scenario_load(path, &file, &err);
	if (rc) {
		fail_msg("%s", err.message);
	}
	assert_int_equal(fs_scenario_defaults(&def), 0);
	const char *field = NULL;
	if (!fs_scenario_equal(&file, &def, &field)) {
		fail_msg("examples/default.yaml and fs_scenario_defaults() differ in %s", field);
	}
	/* The defaults carry the vehicle model's own defaults. */
	struct fs_vehicle_params vp;
	fs_vehicle_params_defaults(&vp);
	assert_true(def.vehicle.battery_kwh == vp.battery_kwh && def.vehicle.sw_count == vp.sw_count);
	assert_int_equal(fs_scenario_ticks(&def), 3600);
	assert_int_equal(def.event_count, 0);
	/* and the comparison is real: one changed value is found */
	def.vehicle.kwh_per_km += 0.01;
	assert_false(fs_scenario_equal(&file, &def, &field));
	assert_string_equal(field, "vehicle.kwh_per_km");
	fs_scenario_finish(&file);
	fs_scenario_finish(&def);
}

static void every_example_parses(void **state)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/examples", src_root());
	DIR *d = opendir(dir);
	assert_non_null(d);
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 6 || strcmp(e->d_name + n - 5, ".yaml")) {
			continue;
		}
		char path[800];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct fs_scenario sc;
		struct fs_error err = { "" };
		if (fs_scenario_load(path, &sc, &err) != 0) {
			fail_msg("%s", err.message);
		}
		if (strcmp(e->d_name, "default.yaml")) {
			/* an example shows an event, a production plan of its own (fleetsim rollout), or
			 * a fleet of another size (scale-100k) */
			struct fs_scenario def;
			assert_int_equal(fs_scenario_defaults(&def), 0);
			assert_true(sc.event_count > 0 || !fs_production_params_equal(&sc.production, &def.production, NULL) ||
				    sc.fleet_size != def.fleet_size);
			fs_scenario_finish(&def);
		}
		for (size_t i = 1; i < sc.event_count; i++) {
			assert_true(sc.events[i - 1].apply_tick <= sc.events[i].apply_tick);
		}
		fs_scenario_finish(&sc);
		count++;
	}
	closedir(d);
	assert_true(count >= 6);
}

/* A broken file must fail with exactly this "file:line:column: reason" prefix and contain @reason. */
static void expect_error(const char *name, const char *yaml, unsigned line, unsigned column, const char *reason)
{
	const char *path = write_file(name, yaml);
	struct fs_scenario sc;
	struct fs_error err = { "" };
	int rc = fs_scenario_load(path, &sc, &err);
	if (rc != -EINVAL) {
		fail_msg("%s: expected -EINVAL, got %d (%s)", name, rc, err.message);
	}
	char where[700];
	snprintf(where, sizeof(where), "%s:%u:%u: ", path, line, column);
	if (strncmp(err.message, where, strlen(where)) || !strstr(err.message, reason)) {
		fail_msg("%s: expected '%s...%s', got '%s'", name, where, reason, err.message);
	}
	assert_null(sc.zones); /* nothing half-loaded */
	assert_int_equal(sc.event_count, 0);
}

static void broken_files_fail_with_position(void **state)
{
	expect_error("syntax.yaml", "seed: 1\ncity:\n  name: [atlanta\n", 4, 1, "YAML syntax error");
	expect_error("syntax2.yaml", "seed: 1\n  bad: indent\n", 2, 6, "YAML syntax error");
	expect_error("unknown_key.yaml", "seed: 1\nfleet:\n  size: 10\n  colour: red\n", 4, 3,
		     "unknown key 'colour' in fleet");
	expect_error("unknown_top.yaml", "sed: 1\n", 1, 1, "unknown key 'sed' in the scenario");
	expect_error("wrong_type.yaml", "seed: 1\nfleet:\n  size: lots\n", 3, 9, "size: expected a non-negative integer");
	expect_error("wrong_type2.yaml", "city: atlanta\n", 1, 7, "city: expected a mapping, found a scalar");
	expect_error("wrong_type3.yaml", "vehicle:\n  battery_kwh: [1, 2]\n", 2, 16, "battery_kwh: expected a number");
	expect_error("range.yaml", "vehicle:\n  battery_kwh: -5\n", 2, 16, "battery_kwh: -5 is out of range");
	expect_error("bad_date.yaml", "start: 2028-02-30T06:00:00Z\n", 1, 8, "start: '2028-02-30T06:00:00Z' is not a date");
	expect_error("bad_date2.yaml", "start: yesterday\n", 1, 8, "is not a date");
	expect_error("unknown_zone.yaml",
		     "events:\n  - type: weather\n    at: 10m\n    zone: buckhead\n    severity: storm\n", 4, 11,
		     "unknown zone 'buckhead'");
	expect_error("unknown_event.yaml", "events:\n  - type: meteor\n    at: 10m\n", 2, 11,
		     "unknown event type 'meteor'");
	expect_error("event_key.yaml",
		     "events:\n  - type: demand_surge\n    at: 10m\n    for: 1h\n    zone: stadium\n    factor: 3\n", 6, 5,
		     "unknown key 'factor' for a demand_surge event");
	/* found by tests/fuzz: an empty key used to send the key lookup round forever */
	expect_error("event_empty_key.yaml", "events:\n  - type: depot_outage\n    at: 2m\n    \"\": depot-1\n", 4, 5,
		     "unknown key '' for a depot_outage event");
	expect_error("event_missing.yaml", "events:\n  - type: demand_surge\n    at: 10m\n    zone: stadium\n", 2, 5,
		     "needs a multiplier");
	expect_error("event_time.yaml", "events:\n  - type: weather\n    zone: all\n    severity: light\n", 2, 5,
		     "needs a time");
	expect_error("event_late.yaml", "duration: 1h\nevents:\n  - {type: weather, at: 2h, zone: all, severity: light}\n",
		     3, 5, "after the run's last tick");
	expect_error("event_bad_value.yaml",
		     "events:\n  - {type: device_fault, at: 5m, share: 1.5, device: lidar}\n", 2, 41,
		     "share: 1.5 is out of range");
	expect_error("event_sw.yaml", "events:\n  - {type: software_update, at: 5m, version: 9.9}\n", 2, 46,
		     "release 9.9 is not among fleet.software");
	expect_error("missing.yaml", "city:\n  zones:\n    - name: a\n", 3, 7, "a zone needs a polygon");
	expect_error("dup.yaml", "seed: 1\nseed: 2\n", 2, 1, "key 'seed' given twice");
	expect_error("shares.yaml",
		     "fleet:\n  software:\n    - {version: '1.0', miles_per_disengagement: 1, ra_per_1000km: 1, share: 0.5}\n",
		     3, 5, "add up to 0.5");
	expect_error("map.yaml", "city:\n  map: nowhere/city.osm.pbf\n", 2, 8, "map: cannot read");
	/* a broken service-area file: its own position after the scenario's */
	write_file("area.geojson", "{\"type\": \"Polygon\", \"coordinates\": [[[1, 2], [3, 4]]");
	expect_error("area.yaml", "city:\n  geofence: area.geojson\n", 2, 13, "area.geojson:1:");
	expect_error("weights.yaml", "demand:\n  zone_weights: {downtown: 2, uptown: 1}\n", 2, 31,
		     "zone_weights: unknown zone 'uptown'");
	expect_error("board.yaml", "riders:\n  board: {median: 2m, p95: 30s}\n", 2, 10,
		     "board: p95 is shorter than the median");
	expect_error("no_show.yaml", "riders:\n  no_show: 2\n", 2, 12, "no_show: 2 is out of range");
	expect_error("charging.yaml", "dispatch:\n  charging: maybe\n", 2, 13,
		     "charging: 'maybe' is not one of false, true");
}

static void overrides_and_paths(void **state)
{
	write_file("nodes.csv", "id,x,y\n");
	write_file("edges.csv", "from,to,length_m,speed_mps,lanes\n");
	const char *path = write_file("small.yaml",
				      "seed: 42\nduration: 2h\ntick: 500ms\n"
				      "city:\n  map: csv:nodes.csv,edges.csv\n  geofence: {zone: downtown}\n"
				      "fleet: {size: 12, phase: supervised}\n"
				      "demand: {zone_weights: {stadium: 3}, patience: 8m}\n"
				      "dispatch: {matcher: greedy, batch: 30s, rebalance: 0, charging: false}\n"
				      "riders: {patience: 4m, board: {median: 20s, p95: 20s}, no_show: 0}\n");
	struct fs_scenario sc;
	struct fs_error err = { "" };
	if (fs_scenario_load(path, &sc, &err)) {
		fail_msg("%s", err.message);
	}
	assert_int_equal(sc.seed, 42);
	assert_int_equal(sc.tick_ms, 500);
	assert_int_equal(fs_scenario_ticks(&sc), 14400);
	assert_int_equal(sc.fleet_size, 12);
	assert_int_equal(sc.phase, FS_CITY_SUPERVISED);
	assert_int_equal(sc.matcher, FS_SCN_MATCHER_GREEDY);
	assert_true(sc.batch_s == 30.0 && sc.patience_s == 480.0);
	assert_true(sc.rebalance_s == 0.0 && !sc.charging);
	assert_true(sc.riders.patience_median_s == 240.0 && sc.riders.board_median_s == 20.0 &&
		    sc.riders.board_p95_s == 20.0 && sc.riders.no_show_share == 0.0);
	assert_true(sc.riders.patience_shape == 2.0 && sc.riders.alight_median_s == 15.0); /* defaults kept */
	assert_string_equal(sc.geofence, "");
	assert_string_equal(sc.geofence_zone, "downtown");
	char expect[700];
	snprintf(expect, sizeof(expect), "csv:%s/nodes.csv,%s/edges.csv", tmpdir, tmpdir);
	assert_string_equal(sc.map, expect);
	assert_int_equal(sc.zone_weight_count, 1);
	assert_string_equal(sc.zone_weights[0].zone, "stadium");
	assert_int_equal(sc.depot_count, 4); /* untouched sections keep their defaults */
	struct fs_scenario copy;
	assert_int_equal(fs_scenario_copy(&copy, &sc), 0);
	assert_true(fs_scenario_equal(&copy, &sc, NULL));
	fs_scenario_finish(&copy);
	fs_scenario_finish(&sc);
}

/* The service's demand is its share of the city's; trips_per_day overrides; the fleet never moves it. */
static void demand_is_the_city_share(void **state)
{
	struct fs_scenario def, sc;
	struct fs_error err = { "" };
	assert_int_equal(fs_scenario_defaults(&def), 0);
	assert_true(def.city_trips_per_day > 0 && def.market_share > 0 && def.market_share <= 1);
	assert_true(def.trips_per_day == def.city_trips_per_day * def.market_share);

	const char *path = write_file("share.yaml", "fleet: {size: 600}\ndemand: {market_share: 0.5}\n");
	if (fs_scenario_load(path, &sc, &err)) {
		fail_msg("%s", err.message);
	}
	assert_true(sc.trips_per_day == def.city_trips_per_day * 0.5); /* twice the fleet: no more riders */
	fs_scenario_finish(&sc);

	path = write_file("city.yaml", "demand: {city_trips_per_day: 10000, market_share: 0.1}\n");
	if (fs_scenario_load(path, &sc, &err)) {
		fail_msg("%s", err.message);
	}
	assert_true(sc.trips_per_day == 1000.0);
	fs_scenario_finish(&sc);

	/* an explicit trips_per_day wins, whichever order the keys come in */
	path = write_file("override.yaml", "demand: {trips_per_day: 1234, market_share: 0.5}\n");
	if (fs_scenario_load(path, &sc, &err)) {
		fail_msg("%s", err.message);
	}
	assert_true(sc.trips_per_day == 1234.0 && sc.market_share == 0.5);
	fs_scenario_finish(&sc);
	fs_scenario_finish(&def);

	expect_error("share_range.yaml", "demand:\n  market_share: 1.5\n", 2, 17, "market_share: 1.5 is out of range");
	expect_error("city_range.yaml", "demand:\n  city_trips_per_day: -1\n", 2, 23,
		     "city_trips_per_day: -1 is out of range");
}

/* The city's clock: a zone from the tz database by default, a fixed offset on request. */
static void city_clock(void **state)
{
	struct fs_scenario sc;
	struct fs_error err = { "" };
	assert_int_equal(fs_scenario_defaults(&sc), 0);
	assert_string_equal(sc.timezone, "America/New_York");
	int64_t june, january;
	assert_int_equal(fs_calendar_parse("2028-06-01T12:00:00Z", &june), 0);
	assert_int_equal(fs_calendar_parse("2028-01-15T12:00:00Z", &january), 0);
	assert_int_equal(fs_timezone_offset_s(&sc.tz, june), -4 * 3600); /* EDT */
	assert_int_equal(fs_timezone_offset_s(&sc.tz, january), -5 * 3600);
	struct fs_scenario copy;
	assert_int_equal(fs_scenario_copy(&copy, &sc), 0);
	assert_true(fs_scenario_equal(&copy, &sc, NULL));
	assert_int_equal(fs_timezone_offset_s(&copy.tz, june), -4 * 3600);
	fs_scenario_finish(&copy);
	fs_scenario_finish(&sc);

	const char *path = write_file("sydney.yaml", "city:\n  timezone: Australia/Sydney\n");
	if (fs_scenario_load(path, &sc, &err)) {
		fail_msg("%s", err.message);
	}
	assert_string_equal(sc.timezone, "Australia/Sydney");
	assert_int_equal(fs_timezone_offset_s(&sc.tz, june), 10 * 3600);
	assert_int_equal(fs_timezone_offset_s(&sc.tz, january), 11 * 3600);
	fs_scenario_finish(&sc);

	/* a fixed offset replaces the default zone: no daylight saving */
	path = write_file("fixed.yaml", "city:\n  utc_offset: -5h\n");
	if (fs_scenario_load(path, &sc, &err)) {
		fail_msg("%s", err.message);
	}
	assert_string_equal(sc.timezone, "");
	assert_int_equal(sc.utc_offset_s, -5 * 3600);
	assert_int_equal(fs_timezone_offset_s(&sc.tz, june), -5 * 3600);
	fs_scenario_finish(&sc);

	expect_error("tz_unknown.yaml", "seed: 2\ncity:\n  name: atlantis\n  timezone: America/Atlantis\n", 4, 13,
		     "timezone: unknown time zone 'America/Atlantis'");
	expect_error("tz_path.yaml", "city:\n  timezone: ../../etc/passwd\n", 2, 13,
		     "is not a time zone name");
	expect_error("tz_both.yaml", "city:\n  timezone: America/Chicago\n  utc_offset: -6h\n", 3, 15,
		     "give city.timezone or city.utc_offset, not both");
	expect_error("tz_list.yaml", "city:\n  timezone: [America/Chicago]\n", 2, 13, "timezone: expected a string");
}

static void parse_kv(const struct fs_scenario *sc, const char *type, const char *const *pairs,
		     struct fs_scenario_event *ret)
{
	struct fs_scenario_kv kv[16];
	size_t n = 0;
	for (; pairs[2 * n]; n++) {
		kv[n] = (struct fs_scenario_kv){ .key = pairs[2 * n], .value = pairs[2 * n + 1] };
	}
	struct fs_error err = { "" };
	struct fs_scenario_event_source src = { .origin = "test" };
	if (fs_scenario_event_parse(sc, type, kv, n, &src, ret, &err)) {
		fail_msg("%s", err.message);
	}
}

/* Event -> canonical key/values -> event: identical, for every type. */
static void event_round_trip(void **state)
{
	struct fs_scenario sc;
	assert_int_equal(fs_scenario_defaults(&sc), 0);
	const char *const *cases[] = {
		(const char *const[]){ "weather", "at", "30m", "until", "1h", "zone", "downtown", "severity", "storm", NULL },
		(const char *const[]){ "weather", "tick", "5", "zone", "all", "severity", "light", "speed_factor", "0.8", NULL },
		(const char *const[]){ "geofence", "at", "2028-06-01T12:10:00Z", "zone", "eastside", "mode", "remove", NULL },
		(const char *const[]){ "demand_surge", "from", "20m", "for", "45m", "zone", "stadium", "multiplier", "4", NULL },
		(const char *const[]){ "road_closure", "at", "1m", "edges", "10, 11,12", NULL },
		(const char *const[]){ "road_closure", "at", "1m", "way", "Peachtree Street NE", "duration", "90s", NULL },
		(const char *const[]){ "device_fault", "at", "0", "vehicles", "3,17,42", "device", "lidar", "health", "failed", NULL },
		(const char *const[]){ "device_fault", "at", "0", "share", "0.25", "device", "camera", "index", "all", "health", "degraded", NULL },
		(const char *const[]){ "software_update", "at", "15m", "version", "1.2", NULL },
		(const char *const[]){ "software_update", "at", "15m", "version", "110", "share", "0.5", NULL },
		(const char *const[]){ "depot_outage", "at", "5m", "for", "2h", "depot", "depot-2", "plugs", "1", NULL },
		(const char *const[]){ "supplier_shortage", "at", "0", "for", "30d", "programme", "stellantis-k0", "plant", "k0-us", "factor", "0.4", NULL },
		(const char *const[]){ "recall", "at", "0", "programme", "lucid-gravity", "built", "2027-03-01,2027-04-15", "share", "0.3", "action", "retire", NULL },
		(const char *const[]){ "calibration_spike", "at", "0", "for", "7d", "factor", "3", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fs_scenario_event e, back;
		parse_kv(&sc, cases[i][0], cases[i] + 1, &e);
		struct fs_scenario_event_text t;
		assert_int_equal(fs_scenario_event_format(&sc, &e, &t), 0);
		struct fs_scenario_kv kv[FS_SCN_FORMAT_MAX];
		for (size_t k = 0; k < t.count; k++) {
			kv[k] = (struct fs_scenario_kv){ .key = t.key[k], .value = t.value[k] };
		}
		struct fs_error err = { "" };
		if (fs_scenario_event_parse(&sc, fs_scenario_event_type_name(e.type), kv, t.count, NULL, &back, &err)) {
			fail_msg("case %zu: %s", i, err.message);
		}
		assert_int_equal(back.apply_tick, FS_SCN_NEXT_TICK); /* the tick travels beside the params */
		back.apply_tick = e.apply_tick;
		if (!fs_scenario_event_equal(&e, &back)) {
			fail_msg("case %zu (%s) does not round-trip", i, cases[i][0]);
		}
	}
	/* Specific values. */
	struct fs_scenario_event e;
	parse_kv(&sc, "weather", (const char *const[]){ "at", "30m", "until", "1h", "zone", "downtown", "severity", "storm", NULL }, &e);
	assert_int_equal(e.apply_tick, 1800);
	assert_int_equal(e.duration_ticks, 1800);
	assert_int_equal(e.severity, FS_RAIN_STORM);
	assert_true(e.speed_factor > 0 && e.speed_factor < 1);
	assert_true(fs_scenario_event_active(&e, 1800) && fs_scenario_event_active(&e, 3599));
	assert_false(fs_scenario_event_active(&e, 1799) || fs_scenario_event_active(&e, 3600));
	parse_kv(&sc, "geofence", (const char *const[]){ "at", "2028-06-01T12:10:00Z", "zone", "eastside", NULL }, &e);
	assert_int_equal(e.apply_tick, 600);
	parse_kv(&sc, "software_update", (const char *const[]){ "version", "1.1", NULL }, &e);
	assert_int_equal(e.apply_tick, FS_SCN_NEXT_TICK); /* injected "next tick" */
	assert_int_equal(e.version, 110);
	assert_true(e.share == 1.0);
	fs_scenario_finish(&sc);
}

static void event_errors_name_the_origin(void **state)
{
	struct fs_scenario sc;
	assert_int_equal(fs_scenario_defaults(&sc), 0);
	struct fs_scenario_kv kv[] = { { .key = "zone", .value = "midtown" }, { .key = "severity", .value = "storm" } };
	struct fs_scenario_event_source src = { .origin = "event 1 of command 7" };
	struct fs_scenario_event e = { .type = 99 };
	struct fs_error err = { "" };
	assert_int_equal(fs_scenario_event_parse(&sc, "weather", kv, 2, &src, &e, &err), -EINVAL);
	assert_int_equal(e.type, 99); /* untouched on error */
	assert_non_null(strstr(err.message, "event 1 of command 7: unknown zone 'midtown'"));
	assert_int_equal(fs_scenario_event_parse(&sc, "hail", kv, 0, &src, &e, &err), -EINVAL);
	assert_non_null(strstr(err.message, "unknown event type 'hail'"));
	struct fs_scenario_kv before[] = { { .key = "at", .value = "2028-05-01T00:00:00Z" }, { .key = "zone", .value = "all" },
					   { .key = "severity", .value = "light" } };
	assert_int_equal(fs_scenario_event_parse(&sc, "weather", before, 3, &src, &e, &err), -EINVAL);
	assert_non_null(strstr(err.message, "before the start of the run"));
	fs_scenario_finish(&sc);
}

static void share_selection_is_deterministic(void **state)
{
	struct fs_scenario sc;
	assert_int_equal(fs_scenario_defaults(&sc), 0);
	struct fs_scenario_event a, b;
	parse_kv(&sc, "device_fault", (const char *const[]){ "at", "60s", "share", "0.2", "device", "lidar", NULL }, &a);
	parse_kv(&sc, "device_fault", (const char *const[]){ "at", "60s", "share", "0.2", "device", "lidar", NULL }, &b);
	int picked = 0, same = 0;
	for (uint32_t id = 0; id < 10000; id++) {
		bool x = fs_scenario_event_selects(&a, 7, id);
		picked += x;
		same += x == fs_scenario_event_selects(&b, 7, id);
	}
	assert_int_equal(same, 10000);
	assert_in_range(picked, 1800, 2200); /* ~20 % */
	struct fs_scenario_event c = a;
	c.apply_tick = 61; /* another event: another draw */
	int differ = 0;
	for (uint32_t id = 0; id < 1000; id++) {
		differ += fs_scenario_event_selects(&a, 7, id) != fs_scenario_event_selects(&c, 7, id);
	}
	assert_true(differ > 100);
	parse_kv(&sc, "device_fault", (const char *const[]){ "at", "0", "vehicles", "4,9", "device", "thor", "index", "1", NULL }, &a);
	for (uint32_t id = 0; id < 20; id++) {
		assert_int_equal(fs_scenario_event_selects(&a, 7, id), id == 4 || id == 9);
	}
	fs_scenario_finish(&sc);
}

static void durations_and_versions(void **state)
{
	uint64_t ms;
	assert_true(fs_scenario_parse_duration_ms("90", &ms) && ms == 90000);
	assert_true(fs_scenario_parse_duration_ms("1h30m", &ms) && ms == 5400000);
	assert_true(fs_scenario_parse_duration_ms("250ms", &ms) && ms == 250);
	assert_true(fs_scenario_parse_duration_ms("2d", &ms) && ms == 172800000);
	assert_false(fs_scenario_parse_duration_ms("1h30", &ms));
	assert_false(fs_scenario_parse_duration_ms("-5m", &ms));
	assert_false(fs_scenario_parse_duration_ms("", &ms));
	assert_false(fs_scenario_parse_duration_ms("99999999999999999999s", &ms));
	uint32_t v;
	assert_true(fs_scenario_parse_version("1.2", &v) && v == 120);
	assert_true(fs_scenario_parse_version("2.15", &v) && v == 215);
	assert_true(fs_scenario_parse_version("110", &v) && v == 110);
	assert_false(fs_scenario_parse_version("1.2.3", &v));
	assert_false(fs_scenario_parse_version("x", &v));
	assert_false(fs_scenario_parse_version("1.", &v));
}

static void string_loader_and_empty(void **state)
{
	struct fs_scenario sc, def;
	struct fs_error err = { "" };
	assert_int_equal(fs_scenario_load_string("", 0, "empty", NULL, &sc, &err), 0);
	assert_int_equal(fs_scenario_defaults(&def), 0);
	assert_true(fs_scenario_equal(&sc, &def, NULL)); /* an empty file is the defaults */
	fs_scenario_finish(&sc);
	assert_int_equal(fs_scenario_load_string("seed: 1\n---\nseed: 2\n", 20, "two", NULL, &sc, &err), -EINVAL);
	assert_non_null(strstr(err.message, "two:2:1: a second YAML document")); /* its "---" */
	assert_int_equal(fs_scenario_load("/nonexistent/x.yaml", &sc, &err), -ENOENT);
	fs_scenario_finish(&def);
	fs_scenario_finish(NULL);
}

/* A YAML text of @n copies of @unit between @head and @tail (caller frees). */
static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1), *p = s;
	assert_non_null(s);
	memcpy(p, head, hl);
	p += hl;
	for (size_t i = 0; i < n; i++, p += ul) {
		memcpy(p, unit, ul);
	}
	memcpy(p, tail, tl + 1);
	return s;
}

static void expect_string_error(const char *yaml, const char *where_reason)
{
	struct fs_scenario sc;
	struct fs_error err = { "" };
	int rc = fs_scenario_load_string(yaml, strlen(yaml), "big", NULL, &sc, &err);
	if (rc != -EINVAL || !strstr(err.message, where_reason)) {
		fail_msg("expected -EINVAL and '%s', got %d '%s'", where_reason, rc, err.message);
	}
}

/*
 * Files that cost more than they are worth are refused where they go over a
 * documented limit (fs/scenario.h FS_SCN_*_MAX, docs/scenario.md "Limits"),
 * without reading the rest: 200,000 nested lists (400 KB) took libyaml
 * minutes, 100,000 events sharing one alias held tick 0 back for minutes.
 */
static void outsized_files_are_refused_at_the_limit(void **state)
{
	char *nest = repeat("seed: 1\nevents: ", "[", 200000, "]\n");
	expect_string_error(nest, "big:2:40: nested more than 32 deep");
	free(nest);
	char *alias = repeat("events:\n  - &e {type: weather, at: 1s, zone: all, severity: light, for: 1m}\n", "  - *e\n",
			     99999, "");
	expect_string_error(alias, "big:10002:5: more than 10000 values in one list");
	free(alias);
	char *ids = repeat("events:\n  - {type: device_fault, at: 5m, device: lidar, vehicles: [", "1, ", 99, "1]}\n");
	expect_string_error(ids, "big:2:252: vehicles: at most 64 values in a list");
	free(ids);
	char *anchors = repeat("city:\n  zones:\n", "    - {name: &a z, polygon: [[0, 0], [0, 1], [1, 1]]}\n", 65, "");
	expect_string_error(anchors, "big:67:14: more than 64 anchors");
	free(anchors);
	expect_string_error("seed: *nothing\n", "big:1:7: alias *nothing names no anchor");
	char *zones = repeat("city:\n  zones:\n", "    - {name: z, polygon: [[0, 0], [0, 1], [1, 1]]}\n", 257, "");
	expect_string_error(zones, "big:259:7: zones: at most 256");
	free(zones);
	char *keys = repeat("events:\n  - {type: weather, at: 5m, zone: all, severity: light", ", x: 1", 40, "}\n");
	expect_string_error(keys, "more than 32 keys");
	free(keys);
}

/* fs_file_load(), what the YAML, GeoJSON and PBF loaders read files with: every byte, or why not. */
static void a_file_loads_whole_or_says_why(void **state)
{
	size_t n = 200000; /* past a few growths of the buffer */
	char *text = malloc(n + 1);
	assert_non_null(text);
	for (size_t i = 0; i < n; i++) {
		text[i] = (char)('a' + i % 26);
	}
	text[n] = '\0';
	const char *path = write_file("whole.txt", text);
	char *got = NULL;
	size_t len = 0;
	struct fs_error err = { "" };
	assert_int_equal(fs_file_load(path, 0, &got, &len, &err), 0);
	assert_int_equal(len, n);
	assert_memory_equal(got, text, n);
	fs_free(got);
	assert_int_equal(fs_file_load(path, n, &got, &len, &err), -EFBIG); /* at the limit: refused */
	assert_non_null(strstr(err.message, "whole.txt: 200000 bytes or larger"));
	assert_int_equal(fs_file_load(path, n + 1, &got, &len, &err), 0); /* below it: whole */
	assert_int_equal(len, n);
	fs_free(got);
	char missing[640];
	snprintf(missing, sizeof(missing), "%s/none.txt", tmpdir);
	assert_int_equal(fs_file_load(missing, 0, &got, &len, &err), -ENOENT);
	assert_non_null(strstr(err.message, "none.txt: cannot open: "));
	free(text);
}

/* At the limit a file loads, fast, its events sorted by tick and in file order within one. */
static void many_events_load_sorted(void **state)
{
	size_t n = 10000;
	char *yaml = malloc(n * 80 + 64), *p = yaml;
	assert_non_null(yaml);
	p += sprintf(p, "duration: 10h\nevents:\n");
	for (size_t i = 0; i < n; i++) {
		/* back to front, two at each time; the second of a pair is a storm */
		p += sprintf(p, "  - {type: weather, at: %zus, zone: all, severity: %s}\n", 10000 - i / 2,
			     i % 2 ? "storm" : "light");
	}
	struct fs_scenario sc;
	struct fs_error err = { "" };
	assert_int_equal(fs_scenario_load_string(yaml, strlen(yaml), "many", NULL, &sc, &err), 0);
	assert_int_equal(sc.event_count, n);
	for (size_t i = 1; i < n; i++) {
		assert_true(sc.events[i - 1].apply_tick <= sc.events[i].apply_tick);
		if (sc.events[i - 1].apply_tick == sc.events[i].apply_tick) {
			assert_true(sc.events[i - 1].severity < sc.events[i].severity); /* file order */
		}
	}
	fs_scenario_finish(&sc);
	free(yaml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_file_equals_defaults),
		cmocka_unit_test(every_example_parses),
		cmocka_unit_test(broken_files_fail_with_position),
		cmocka_unit_test(overrides_and_paths),
		cmocka_unit_test(demand_is_the_city_share),
		cmocka_unit_test(city_clock),
		cmocka_unit_test(event_round_trip),
		cmocka_unit_test(event_errors_name_the_origin),
		cmocka_unit_test(share_selection_is_deterministic),
		cmocka_unit_test(durations_and_versions),
		cmocka_unit_test(string_loader_and_empty),
		cmocka_unit_test(outsized_files_are_refused_at_the_limit),
		cmocka_unit_test(many_events_load_sorted),
		cmocka_unit_test(a_file_loads_whole_or_says_why),
	};
	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
