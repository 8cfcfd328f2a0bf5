/* SPDX-License-Identifier: Apache-2.0 */
/* Vehicle records: a reader that keeps only the news places every car where the
 * car is, bit for bit, and knows its charge within a step; news are what changed. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fs/network.h"
#include "fs/vehicle.h"
#include "vehicle_test_util.h"

#define COLS 10
#define CARS 40

struct world {
	struct fs_network *net;
	struct fs_fleet *fleet;
	struct fs_fleet_news *news;
	struct fs_vehicle_events ev;
	struct fs_vehicle_params p;
	struct fs_vehicle_record mirror[CARS]; /* what a reader of the news knows, by id */
	bool known[CARS];
	size_t records, moves;
};

static void world_up(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->net = fs_network_grid(COLS, COLS, 100.0, 10.0, NULL);
	assert_non_null(w->net);
	w->p = vt_quiet_params();
	w->fleet = fs_fleet_create(w->net, &w->p, 1);
	w->news = fs_fleet_news_create();
	assert_non_null(w->fleet);
	assert_non_null(w->news);
	assert_int_equal(fs_fleet_add_depot(w->fleet, 0, 4, 150.0), 0);
	for (uint32_t id = 0; id < CARS; id++) {
		struct fs_vehicle_init init = { .id = id, .state = FS_VEHICLE_AVAILABLE, .phase = FS_CITY_DRIVERLESS,
						.sw = 2, .home_depot = 0, .soc = 0.3 + 0.01 * id, .edge = id * 3,
						.offset_m = 50.0 };
		assert_true(fs_fleet_add(w->fleet, &init, 0) >= 0);
	}
}

static void world_down(struct world *w)
{
	fs_fleet_news_destroy(w->news);
	fs_fleet_destroy(w->fleet);
	fs_network_destroy(w->net);
	fs_vehicle_events_finish(&w->ev);
}

/* One tick: the fleet advances to @t, the reader merges the news; returns how many. */
static long tick(struct world *w, int64_t t)
{
	fs_fleet_advance(w->fleet, t, &w->ev);
	const struct fs_vehicle_record *news;
	long n = fs_fleet_news_take(w->news, w->fleet, w->net, t, &news);
	assert_true(n >= 0);
	for (long i = 0; i < n; i++) {
		assert_true(news[i].id < CARS);
		assert_int_equal(fs_vehicle_record_merge(&w->mirror[news[i].id], w->known[news[i].id], &news[i]), 0);
		w->known[news[i].id] = true;
		w->moves += news[i].kind == FS_VEHICLE_RECORD_MOVE;
	}
	w->records += (size_t)n;
	return n;
}

/* Every car where the reader would place it, exactly, and its charge within a step. */
static void reader_agrees(struct world *w, int64_t t)
{
	for (uint32_t id = 0; id < CARS; id++) {
		const struct fs_vehicle *v = fs_fleet_vehicle(w->fleet, (uint32_t)fs_fleet_find(w->fleet, id));
		struct fs_vehicle_snapshot truth, seen;
		assert_true(w->known[id]);
		assert_int_equal(fs_vehicle_snapshot(v, w->net, t, &truth), 0);
		assert_int_equal(fs_vehicle_record_place(&w->mirror[id], w->net, t, &seen), 0);
		assert_int_equal(seen.edge, truth.edge);
		assert_true(seen.offset_m == truth.offset_m);
		assert_true(seen.x == truth.x && seen.y == truth.y);
		assert_int_equal(w->mirror[id].state, v->state);
		assert_true(fabs(seen.soc - truth.soc) <= FS_VEHICLE_RECORD_SOC_STEP + 1e-6);
	}
}

static void a_reader_of_the_news_places_every_car_exactly(void **state)
{
	struct world w;
	world_up(&w);
	assert_int_equal(tick(&w, 1000), CARS); /* everything is news once */
	uint32_t r[32];
	for (uint32_t id = 0; id < 4; id++) { /* four cars drive across town */
		uint32_t from = w.net->edges[fs_fleet_vehicle(w.fleet, id)->edge].to;
		uint32_t n = vt_route(w.net, COLS, from, COLS * COLS - 1 - id, r);
		assert_int_equal(fs_fleet_reposition(w.fleet, id, r, n, 1000, &w.ev), 0);
	}
	for (int64_t t = 2000; t <= 400000; t += 1000) {
		tick(&w, t);
		reader_agrees(&w, t);
		/* and between ticks, where a viewer draws it */
		reader_agrees(&w, t + 500);
	}
	/* the news are the four drives: a move per edge entered, not a record per car per second */
	assert_true(w.moves >= 4 * 8);
	assert_true(w.records - CARS < 4 * 40);
	world_down(&w);
}

static void a_standing_car_is_news_only_when_its_charge_drifts(void **state)
{
	struct world w;
	world_up(&w);
	tick(&w, 1000);
	size_t before = w.records;
	/* four hours standing: the AV stack drains every car */
	for (int64_t t = 2000; t <= 4 * 3600000; t += 1000) {
		tick(&w, t);
		if (t % 600000 == 0) {
			reader_agrees(&w, t);
		}
	}
	/* the extrapolated drain holds: no car needed another record */
	assert_true(w.records - before < CARS);
	world_down(&w);
}

static void a_move_needs_a_full_record(void **state)
{
	struct fs_vehicle_record known = fs_vehicle_record_standing(7, FS_VEHICLE_AVAILABLE, 3, 10.0, 1.0, 2.0, 0.5, 0);
	struct fs_vehicle_record move = known;
	move.kind = FS_VEHICLE_RECORD_MOVE;
	move.t_ms = 5000;
	move.edge = 4;
	move.state = FS_VEHICLE_IN_TRIP; /* not meant in a move: ignored */
	assert_int_equal(fs_vehicle_record_merge(&known, false, &move), -ENOENT);
	assert_int_equal(fs_vehicle_record_merge(&known, true, &move), 0);
	assert_int_equal(known.edge, 4);
	assert_int_equal(known.state, FS_VEHICLE_AVAILABLE);
	assert_int_equal(known.soc_ms, 0); /* the charge is still the full record's */
	move.id = 8;
	assert_int_equal(fs_vehicle_record_merge(&known, true, &move), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_reader_of_the_news_places_every_car_exactly),
		cmocka_unit_test(a_standing_car_is_news_only_when_its_charge_drifts),
		cmocka_unit_test(a_move_needs_a_full_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
