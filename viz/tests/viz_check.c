/* SPDX-License-Identifier: Apache-2.0 */
/*
 * viz-check - is a fleet-viz screenshot right? (test helper)
 *
 * Takes the PNG and the --screenshot-meta file fleet-viz wrote, and a
 * recording viz-probe made of the same run. The meta file names the view, the
 * display time and, per shard, the time of the newest batch the viewer had;
 * the vehicles' states and positions at the display time come from the
 * probe's records up to those times (vt_mirror), not from the viewer. Exit 0
 * when every isolated vehicle shows its state colour where its records put
 * it, nothing else is state-coloured, roads and HUD are drawn. With
 * --prev-png/--prev-meta (an earlier frame of the same viewer), it also counts
 * the vehicles drawn in their colour where their records put them in both
 * frames whose marker moved by a pixel or more (--min-moved: how many must).
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
	int64_t display_ms;
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
		} else if (!strcmp(k, "display_ms")) {
			m->display_ms = strtoll(v, NULL, 10);
		} else if (sscanf(k, "shard.%u.", &s) == 1 && s < MAX_SHARDS && strstr(k, ".time_ms")) {
			m->shard_ms[s] = strtoll(v, NULL, 10);
		}
	}
	fclose(f);
	return m->view.scale > 0 && m->shards > 0 && m->shards <= MAX_SHARDS ? 0 : -EINVAL;
}

/* The vehicles the records put on the map at the frame @meta describes (the mirror advances to it). */
static struct vt_vehicle *place_all(struct vt_mirror *m, const struct meta *meta, size_t *ret_n, size_t *ret_known)
{
	for (uint32_t s = 0; s < meta->shards; s++) {
		vt_mirror_advance(m, s, meta->shard_ms[s]);
	}
	struct vt_vehicle *veh = malloc((m->cap ? m->cap : 1) * sizeof(*veh));
	size_t n = 0, known = 0;
	for (uint32_t id = 0; veh && id < m->cap; id++) {
		double x, y;
		known += m->v[id].have;
		if (vt_mirror_place(m, id, meta->display_ms, &x, &y)) {
			veh[n++] = (struct vt_vehicle){ id, m->v[id].rec.state, x, y };
		}
	}
	*ret_n = n;
	*ret_known = known;
	return veh;
}

static void screen(const struct viz_view *v, const struct vt_vehicle *e, int *ret_x, int *ret_y)
{
	*ret_x = (int)floor(v->area.x + v->area.w / 2.0 + (e->x - v->cx) * v->scale);
	*ret_y = (int)floor(v->area.y + v->area.h / 2.0 - (e->y - v->cy) * v->scale);
}

/* Drawn in its colour at its place, clear of other vehicles and of the HUD's bands. */
static bool drawn_alone(const SDL_Surface *img, const struct meta *m, const struct vt_vehicle *veh, size_t n, size_t i)
{
	int x, y, ox, oy, marker = (int)viz_marker_size(&m->view);
	screen(&m->view, &veh[i], &x, &y);
	if (x < m->view.area.x + 20 || x >= m->view.width - 20 || y < 60 || y >= m->view.height - 90) {
		return false;
	}
	for (size_t j = 0; j < n; j++) {
		screen(&m->view, &veh[j], &ox, &oy);
		if (j != i && abs(ox - x) <= 2 * marker && abs(oy - y) <= 2 * marker) {
			return false;
		}
	}
	return vt_is_color(vt_pixel(img, x, y), viz_state_color(veh[i].state));
}

/* Vehicles drawn alone and right in both frames whose marker moved by at least a pixel between them. */
static size_t count_moved(const SDL_Surface *a, const struct meta *ma, const struct vt_vehicle *va, size_t na,
			  const SDL_Surface *b, const struct meta *mb, const struct vt_vehicle *vb, size_t nb,
			  size_t *ret_both)
{
	size_t moved = 0, both = 0;
	for (size_t i = 0; i < nb; i++) {
		size_t k = 0;
		while (k < na && va[k].id != vb[i].id) {
			k++;
		}
		if (k == na || !drawn_alone(a, ma, va, na, k) || !drawn_alone(b, mb, vb, nb, i)) {
			continue;
		}
		int x0, y0, x1, y1;
		screen(&ma->view, &va[k], &x0, &y0);
		screen(&mb->view, &vb[i], &x1, &y1);
		both++;
		moved += x0 != x1 || y0 != y1;
	}
	*ret_both = both;
	return moved;
}

int main(int argc, char **argv)
{
	fs_log_init("viz-check", FS_LOG_WARNING);
	const char *png = NULL, *meta_path = NULL, *record = NULL, *network = NULL, *prev_png = NULL, *prev_meta = NULL;
	uint64_t depots = 4, min_checked = 30, min_moved = 0;
	static const struct option options[] = {
		{ "png", required_argument, NULL, 'p' },
		{ "meta", required_argument, NULL, 'm' },
		{ "record", required_argument, NULL, 'r' },
		{ "network", required_argument, NULL, 'n' },
		{ "depots", required_argument, NULL, 'd' },
		{ "min-checked", required_argument, NULL, 'c' },
		{ "prev-png", required_argument, NULL, 'P' },
		{ "prev-meta", required_argument, NULL, 'M' },
		{ "min-moved", required_argument, NULL, 'v' },
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
		case 'P':
			prev_png = optarg;
			break;
		case 'M':
			prev_meta = optarg;
			break;
		case 'v':
			fs_args_u64(optarg, &min_moved);
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
	struct fs_world *world = fs_world_load(network, (uint32_t)depots);
	if (!world) {
		return 1;
	}
	struct vt_mirror mirror;
	int rc = vt_mirror_load(&mirror, world->net, record);
	if (rc < 0) {
		fs_error("%s: %s", record, strerror(-rc));
		return 1;
	}
	struct meta pmeta;
	struct vt_vehicle *pveh = NULL;
	size_t pn = 0, pknown = 0;
	SDL_Surface *pimg = NULL;
	if (prev_png && prev_meta) {
		if (read_meta(prev_meta, &pmeta) < 0 || !(pimg = vt_load_png(prev_png))) {
			fs_error("%s / %s: not a fleet-viz frame", prev_png, prev_meta);
			return 1;
		}
		pveh = place_all(&mirror, &pmeta, &pn, &pknown);
	}
	size_t n, known;
	struct vt_vehicle *veh = place_all(&mirror, &meta, &n, &known);
	for (uint32_t s = 0; s < meta.shards; s++) {
		if (!mirror.keyframed[s]) {
			fs_error("shard %u: the probe saw no keyframe up to %" PRId64, s, meta.shard_ms[s]);
			return 1;
		}
	}
	printf("# display %" PRId64 ": %zu vehicles known, %zu on the map; keyframes checked %" PRIu64
	       " vehicles, %" PRIu64 " off\n", meta.display_ms, known, n, mirror.keyframe_checked,
	       mirror.keyframe_mismatched);
	if (known != meta.vehicles) {
		fs_error("the viewer showed %u vehicles, the probe's records hold %zu", meta.vehicles, known);
		return 1;
	}
	if (mirror.keyframe_mismatched) {
		fs_error("the records placed %" PRIu64 " vehicle(s) away from where a keyframe says", mirror.keyframe_mismatched);
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
	vt_check_frame(img, &meta.view, world->net, veh, n, dep, world->depot_count, NULL, &r);
	vt_report_print(stdout, &r);
	bool ok = vt_report_ok(&r, (int)min_checked);
	if (pimg) {
		size_t both, moved = count_moved(pimg, &pmeta, pveh, pn, img, &meta, veh, n, &both);
		printf("# from display %" PRId64 " to %" PRId64 ": %zu vehicles drawn alone and right in both frames, %zu "
		       "moved a pixel or more\n", pmeta.display_ms, meta.display_ms, both, moved);
		ok = ok && moved >= min_moved;
		SDL_FreeSurface(pimg);
		free(pveh);
	}
	SDL_FreeSurface(img);
	vt_mirror_finish(&mirror);
	fs_world_destroy(world);
	free(veh);
	return ok ? 0 : 1;
}
