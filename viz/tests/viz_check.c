/* SPDX-License-Identifier: Apache-2.0 */
/*
 * viz-check - is a fleet-viz screenshot right? (test helper)
 *
 * Takes the PNG and the --screenshot-meta file fleet-viz wrote, and a
 * recording viz-probe made of the same run. The meta file names the view and,
 * per shard, the simulated time of the batch on screen; the vehicles'
 * positions and states come from the probe's copy of those batches, not from
 * the viewer. Exit 0 when every isolated vehicle shows its state colour where
 * its position says, nothing else is state-coloured, roads and HUD are drawn.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <SDL.h>
#include <SDL_image.h>

#include "fs_args.h"
#include "fs_log.h"
#include "fs_world.h"
#include "viz_testlib.h"

#define MAX_SHARDS 64

struct meta {
	struct viz_view view;
	uint32_t shards, vehicles;
	int64_t shard_ms[MAX_SHARDS];
};

static int read_meta(const char *path, struct meta *m)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		return -errno;
	}
	char line[512];
	memset(m, 0, sizeof(*m));
	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '=');
		if (!eq) {
			continue;
		}
		*eq = '\0';
		const char *k = line, *v = eq + 1;
		unsigned s;
		if (!strcmp(k, "width")) {
			m->view.width = atoi(v);
		} else if (!strcmp(k, "height")) {
			m->view.height = atoi(v);
		} else if (!strcmp(k, "cx")) {
			m->view.cx = strtod(v, NULL);
		} else if (!strcmp(k, "cy")) {
			m->view.cy = strtod(v, NULL);
		} else if (!strcmp(k, "scale")) {
			m->view.scale = strtod(v, NULL);
		} else if (!strcmp(k, "area_x")) {
			m->view.area.x = strtof(v, NULL);
		} else if (!strcmp(k, "area_y")) {
			m->view.area.y = strtof(v, NULL);
		} else if (!strcmp(k, "area_w")) {
			m->view.area.w = strtof(v, NULL);
		} else if (!strcmp(k, "area_h")) {
			m->view.area.h = strtof(v, NULL);
		} else if (!strcmp(k, "shards")) {
			m->shards = (uint32_t)strtoul(v, NULL, 10);
		} else if (!strcmp(k, "vehicles")) {
			m->vehicles = (uint32_t)strtoul(v, NULL, 10);
		} else if (sscanf(k, "shard.%u.time_ms", &s) == 1 && s < MAX_SHARDS) {
			m->shard_ms[s] = strtoll(v, NULL, 10);
		}
	}
	fclose(f);
	return m->view.scale > 0 && m->shards > 0 && m->shards <= MAX_SHARDS ? 0 : -EINVAL;
}

struct collect {
	const struct meta *meta;
	struct vt_vehicle *v;
	size_t n, cap;
	bool found[MAX_SHARDS];
};

static int on_message(void *ctx, const char *topic, const Fleetsim__V1__Envelope *env)
{
	struct collect *c = ctx;
	if (env->payload_case != FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_STATES) {
		return 0;
	}
	const Fleetsim__V1__VehicleStateBatch *b = env->vehicle_states;
	if (b->shard >= c->meta->shards || env->sim_time_ms != c->meta->shard_ms[b->shard] || c->found[b->shard]) {
		return 0;
	}
	c->found[b->shard] = true;
	for (size_t i = 0; i < b->n_vehicle_id; i++) {
		if (c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 1024;
			c->v = realloc(c->v, c->cap * sizeof(*c->v));
			if (!c->v) {
				return 1;
			}
		}
		c->v[c->n++] = (struct vt_vehicle){ b->vehicle_id[i], (uint32_t)b->state[i], b->x_m[i], b->y_m[i] };
	}
	return 0;
}

int main(int argc, char **argv)
{
	fs_log_init("viz-check", FS_LOG_WARNING);
	const char *png = NULL, *meta_path = NULL, *record = NULL, *network = NULL;
	uint64_t depots = 4, min_checked = 30;
	static const struct option options[] = {
		{ "png", required_argument, NULL, 'p' },
		{ "meta", required_argument, NULL, 'm' },
		{ "record", required_argument, NULL, 'r' },
		{ "network", required_argument, NULL, 'n' },
		{ "depots", required_argument, NULL, 'd' },
		{ "min-checked", required_argument, NULL, 'c' },
		{ 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'p':
			png = optarg;
			break;
		case 'm':
			meta_path = optarg;
			break;
		case 'r':
			record = optarg;
			break;
		case 'n':
			network = optarg;
			break;
		case 'd':
			fs_args_u64(optarg, &depots);
			break;
		case 'c':
			fs_args_u64(optarg, &min_checked);
			break;
		default:
			return 2;
		}
	}
	if (!png || !meta_path || !record || !network) {
		fprintf(stderr, "Usage: viz-check --png F --meta F --record F --network SPEC [--depots N] [--min-checked N]\n");
		return 2;
	}
	struct meta meta;
	if (read_meta(meta_path, &meta) < 0) {
		fs_error("%s: not a fleet-viz screenshot meta file", meta_path);
		return 1;
	}
	struct collect c = { .meta = &meta };
	int rc = vt_rec_read(record, on_message, &c);
	if (rc < 0) {
		fs_error("%s: %s", record, strerror(-rc));
		return 1;
	}
	for (uint32_t s = 0; s < meta.shards; s++) {
		if (!c.found[s]) {
			fs_error("shard %u: the probe never saw the batch of %" PRId64 " the viewer showed", s, meta.shard_ms[s]);
			return 1;
		}
	}
	if (c.n != meta.vehicles) {
		fs_error("the viewer showed %u vehicles, the probe's batches hold %zu", meta.vehicles, c.n);
		return 1;
	}
	struct fs_world *world = fs_world_load(network, (uint32_t)depots);
	if (!world) {
		return 1;
	}
	struct viz_fpoint dep[FS_WORLD_MAX_DEPOTS];
	for (uint32_t d = 0; d < world->depot_count; d++) {
		dep[d] = (struct viz_fpoint){ (float)world->net->nodes[world->depot_nodes[d]].x,
					      (float)world->net->nodes[world->depot_nodes[d]].y };
	}
	SDL_Surface *img = vt_load_png(png);
	if (!img) {
		fs_error("cannot load %s: %s", png, IMG_GetError());
		return 1;
	}
	if (img->w != meta.view.width || img->h != meta.view.height) {
		fs_error("%s is %dx%d, the meta file says %dx%d", png, img->w, img->h, meta.view.width, meta.view.height);
		return 1;
	}
	struct vt_report r;
	vt_check_frame(img, &meta.view, world->net, c.v, c.n, dep, world->depot_count, NULL, &r);
	vt_report_print(stdout, &r);
	bool ok = vt_report_ok(&r, (int)min_checked);
	SDL_FreeSurface(img);
	fs_world_destroy(world);
	free(c.v);
	return ok ? 0 : 1;
}
