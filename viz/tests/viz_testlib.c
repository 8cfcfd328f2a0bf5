/* SPDX-License-Identifier: Apache-2.0 */
/* viz_testlib - recordings and pixel checks for the viewer's tests (see viz_testlib.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <SDL_image.h>

#include "fs_mcap.h"
#include "fs_vehicle_msg.h"
#include "viz_testlib.h"

static int put_u32(FILE *f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	return fwrite(b, 1, 4, f) == 4 ? 0 : -EIO;
}

static int get_u32(FILE *f, uint32_t *ret)
{
	uint8_t b[4];
	size_t n = fread(b, 1, 4, f);
	if (n == 0 && feof(f)) {
		return 1; /* clean end */
	}
	if (n != 4) {
		return -EINVAL;
	}
	*ret = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

int vt_rec_begin(FILE *f)
{
	return fwrite(VT_REC_MAGIC, 1, 8, f) == 8 ? 0 : -EIO;
}

int vt_rec_write(FILE *f, const char *topic, const Fleetsim__V1__Envelope *env)
{
	size_t size = fleetsim__v1__envelope__get_packed_size(env);
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf) {
		return -ENOMEM;
	}
	fleetsim__v1__envelope__pack(env, buf);
	uint32_t tlen = (uint32_t)strlen(topic);
	int rc = put_u32(f, tlen);
	if (!rc && fwrite(topic, 1, tlen, f) != tlen) {
		rc = -EIO;
	}
	if (!rc) {
		rc = put_u32(f, (uint32_t)size);
	}
	if (!rc && fwrite(buf, 1, size, f) != size) {
		rc = -EIO;
	}
	free(buf);
	return rc;
}

int vt_rec_read(const char *path, int (*fn)(void *ctx, const char *topic, const Fleetsim__V1__Envelope *env),
		void *ctx)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		return -errno;
	}
	char magic[8];
	int rc = 0;
	if (fread(magic, 1, 8, f) != 8 || memcmp(magic, VT_REC_MAGIC, 8)) {
		rc = -EINVAL;
		goto out;
	}
	for (;;) {
		uint32_t tlen, blen;
		int r = get_u32(f, &tlen);
		if (r == 1) {
			break;
		}
		char topic[256];
		if (r < 0 || tlen >= sizeof(topic) || fread(topic, 1, tlen, f) != tlen || get_u32(f, &blen) != 0 ||
		    blen > (64u << 20)) {
			rc = -EINVAL;
			break;
		}
		topic[tlen] = '\0';
		uint8_t *buf = malloc(blen ? blen : 1);
		if (!buf) {
			rc = -ENOMEM;
			break;
		}
		if (fread(buf, 1, blen, f) != blen) {
			free(buf);
			rc = -EINVAL;
			break;
		}
		Fleetsim__V1__Envelope *env = fleetsim__v1__envelope__unpack(NULL, blen, buf);
		free(buf);
		if (!env) {
			rc = -EINVAL;
			break;
		}
		int stop = fn(ctx, topic, env);
		fleetsim__v1__envelope__free_unpacked(env, NULL);
		if (stop) {
			break;
		}
	}
out:
	fclose(f);
	return rc;
}

uint32_t vt_pixel(const SDL_Surface *s, int x, int y)
{
	if (x < 0 || y < 0 || x >= s->w || y >= s->h) {
		return 0;
	}
	return ((const uint32_t *)((const uint8_t *)s->pixels + (size_t)y * s->pitch))[x];
}

bool vt_is_color(uint32_t p, struct viz_color c)
{
	return ((p >> 16) & 0xff) == c.r && ((p >> 8) & 0xff) == c.g && (p & 0xff) == c.b;
}

SDL_Surface *vt_load_png(const char *path)
{
	SDL_Surface *raw = IMG_Load(path);
	if (!raw) {
		return NULL;
	}
	SDL_Surface *s = SDL_ConvertSurfaceFormat(raw, SDL_PIXELFORMAT_ARGB8888, 0);
	SDL_FreeSurface(raw);
	return s;
}

static bool is_state_color(uint32_t p)
{
	for (uint32_t st = 0; st < VIZ_STATE_COUNT; st++) {
		if (vt_is_color(p, viz_state_color(st))) {
			return true;
		}
	}
	return false;
}

static bool is_road_color(uint32_t p)
{
	for (uint32_t c = 0; c < FS_ROAD_CLASS_COUNT; c++) {
		if (vt_is_color(p, viz_road_color(c))) {
			return true;
		}
	}
	return false;
}

static void to_screen(const struct viz_view *v, double x, double y, double *sx, double *sy)
{
	/* Written out here rather than calling viz_view_to_screen: the check stands apart from the code under test. */
	*sx = v->area.x + v->area.w / 2.0 + (x - v->cx) * v->scale;
	*sy = v->area.y + v->area.h / 2.0 - (y - v->cy) * v->scale;
}

/* Screen regions the HUD covers: the panel, the bottom band (scale bar, toast), the top band (banners). */
static bool covered(const struct viz_view *v, const struct viz_rect *avoid, double x, double y, double pad)
{
	if (x < v->area.x + pad || x >= v->width - pad || y < 50 + pad || y >= v->height - 75 - pad) {
		return true;
	}
	return avoid && x >= avoid->x - pad && x < avoid->x + avoid->w + pad && y >= avoid->y - pad &&
	       y < avoid->y + avoid->h + pad;
}

/* Whether screen point (@x, @y) is within @clear px of a vehicle (at @sx, @sy) or 12 px of a depot. */
static bool near_drawn(const struct viz_view *v, const double *sx, const double *sy, size_t n,
		       const struct viz_fpoint *depots, size_t ndepots, double x, double y, double clear)
{
	for (size_t i = 0; i < n; i++) {
		if (fabs(sx[i] - x) < clear && fabs(sy[i] - y) < clear) {
			return true;
		}
	}
	for (size_t d = 0; d < ndepots; d++) {
		double dx, dy;
		to_screen(v, depots[d].x, depots[d].y, &dx, &dy);
		if (fabs(dx - x) < 12 && fabs(dy - y) < 12) {
			return true;
		}
	}
	return false;
}

void vt_check_frame(const SDL_Surface *img, const struct viz_view *v, const struct fs_network *net,
		    const struct vt_vehicle *veh, size_t n, const struct viz_fpoint *depots, size_t ndepots,
		    const struct viz_rect *avoid, struct vt_report *r)
{
	memset(r, 0, sizeof(*r));
	r->vehicles = (int)n;
	double marker = viz_marker_size(v);
	double *sx = malloc((n ? n : 1) * sizeof(double)), *sy = malloc((n ? n : 1) * sizeof(double));
	if (!sx || !sy) {
		free(sx);
		free(sy);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		to_screen(v, veh[i].x, veh[i].y, &sx[i], &sy[i]);
	}
	/* Vehicles: an isolated marker shows its state colour at its centre pixel. */
	for (size_t i = 0; i < n; i++) {
		if (covered(v, avoid, sx[i], sy[i], marker + 2)) {
			continue;
		}
		bool isolated = true;
		for (size_t j = 0; j < n && isolated; j++) {
			isolated = j == i || fabs(sx[j] - sx[i]) > marker + 1 || fabs(sy[j] - sy[i]) > marker + 1;
		}
		for (size_t d = 0; d < ndepots && isolated; d++) {
			double dx, dy;
			to_screen(v, depots[d].x, depots[d].y, &dx, &dy);
			isolated = fabs(dx - sx[i]) > marker + 8 || fabs(dy - sy[i]) > marker + 8;
		}
		if (!isolated) {
			continue;
		}
		r->checked++;
		uint32_t p = vt_pixel(img, (int)floor(sx[i]), (int)floor(sy[i]));
		if (vt_is_color(p, viz_state_color(veh[i].state))) {
			r->matched++;
		}
	}
	/* Nothing state-coloured where no vehicle is. */
	double clear = 3 * marker + 4;
	for (int y = 0; y < v->height; y += 7) {
		for (int x = (int)v->area.x; x < v->width; x += 7) {
			if (covered(v, avoid, x, y, 2)) {
				continue;
			}
			if (near_drawn(v, sx, sy, n, depots, ndepots, x, y, clear)) {
				continue;
			}
			r->empty_checked++;
			r->false_colour += is_state_color(vt_pixel(img, x, y));
		}
	}
	/* Roads: the midpoint of every tertiary-or-larger road lies on a road-coloured pixel (+/- 1). */
	for (uint32_t e = 0; net && e < net->edge_count; e++) {
		uint8_t c = net->edges[e].road_class;
		bool major = c <= FS_ROAD_TERTIARY || (c >= FS_ROAD_MOTORWAY_LINK && c <= FS_ROAD_TERTIARY_LINK);
		struct fs_point mid;
		if (!major || fs_network_edge_point_at(net, e, net->edges[e].length_m / 2, &mid) < 0) {
			continue;
		}
		double mx, my;
		to_screen(v, mid.x, mid.y, &mx, &my);
		if (covered(v, avoid, mx, my, 3)) {
			continue;
		}
		if (near_drawn(v, sx, sy, n, depots, ndepots, mx, my, marker + 3)) {
			continue;
		}
		r->roads_checked++;
		bool hit = false;
		for (int dy = -1; dy <= 1 && !hit; dy++) {
			for (int dx = -1; dx <= 1 && !hit; dx++) {
				hit = is_road_color(vt_pixel(img, (int)floor(mx) + dx, (int)floor(my) + dy));
			}
		}
		r->roads_drawn += hit;
	}
	/* HUD: text in the panel and a swatch per legend state. */
	for (int y = 0; y < v->height; y++) {
		for (int x = 0; x < (int)v->area.x; x++) {
			uint32_t p = vt_pixel(img, x, y);
			r->hud_text_pixels += ((p >> 16) & 0xff) > 190 && ((p >> 8) & 0xff) > 190 && (p & 0xff) > 190;
		}
	}
	for (uint32_t st = 1; st < VIZ_STATE_COUNT; st++) {
		int count = 0;
		for (int y = 0; y < v->height && count < 80; y++) {
			for (int x = 0; x < (int)v->area.x; x++) {
				count += vt_is_color(vt_pixel(img, x, y), viz_state_color(st));
			}
		}
		r->legend_swatches += count >= 80;
	}
	free(sx);
	free(sy);
}

void vt_report_print(FILE *out, const struct vt_report *r)
{
	fprintf(out,
		"# vehicles %d: %d isolated checked, %d in their state colour; empty map pixels %d, %d state-coloured; "
		"roads %d checked, %d drawn; panel text pixels %d, legend swatches %d/%d\n",
		r->vehicles, r->checked, r->matched, r->empty_checked, r->false_colour, r->roads_checked, r->roads_drawn,
		r->hud_text_pixels, r->legend_swatches, VIZ_STATE_COUNT - 1);
}

bool vt_report_ok(const struct vt_report *r, int min_checked)
{
	return r->checked >= min_checked && r->matched == r->checked && r->false_colour == 0 && r->roads_checked >= 20 &&
	       r->roads_drawn * 100 >= r->roads_checked * 97 && r->hud_text_pixels >= 400 &&
	       r->legend_swatches == VIZ_STATE_COUNT - 1;
}

/* ---- the mirror ---- */

struct load_ctx {
	struct vt_mirror *m;
	struct fs_vehicle_records decoded;
	int rc;
};

static int load_batch(void *ctx, const char *topic, const Fleetsim__V1__Envelope *env)
{
	(void)topic;
	struct load_ctx *c = ctx;
	if (env->payload_case != FLEETSIM__V1__ENVELOPE__PAYLOAD_VEHICLE_STATES) {
		return 0;
	}
	if (fs_vehicle_msg_decode_records(env->vehicle_states, env->sim_time_ms, &c->decoded) ||
	    c->decoded.info.shard_count > VT_MAX_SHARDS) {
		c->rc = -EINVAL;
		return 1;
	}
	struct vt_mirror *m = c->m;
	struct vt_batch *b = realloc(m->batches, (m->nbatches + 1) * sizeof(*b));
	struct fs_vehicle_record *items = malloc((c->decoded.count ? c->decoded.count : 1) * sizeof(*items));
	if (!b || !items) {
		free(items);
		m->batches = b ? b : m->batches;
		c->rc = -ENOMEM;
		return 1;
	}
	memcpy(items, c->decoded.items, c->decoded.count * sizeof(*items));
	m->batches = b;
	m->batches[m->nbatches++] = (struct vt_batch){ .t_ms = env->sim_time_ms, .shard = c->decoded.info.shard,
						       .shard_count = c->decoded.info.shard_count,
						       .keyframe = c->decoded.info.full, .items = items,
						       .count = c->decoded.count };
	m->shard_count = c->decoded.info.shard_count;
	return 0;
}

static struct vt_mirror_vehicle *mirror_slot(struct vt_mirror *m, uint32_t id)
{
	if (id >= m->cap) {
		size_t cap = (size_t)id + id / 2 + 1024;
		if (cap > (64u << 20)) {
			return NULL;
		}
		struct vt_mirror_vehicle *v = realloc(m->v, cap * sizeof(*v));
		if (!v) {
			return NULL;
		}
		memset(v + m->cap, 0, (cap - m->cap) * sizeof(*v));
		m->v = v;
		m->cap = cap;
	}
	return &m->v[id];
}

/* A fleetsim recording (MCAP): its messages, in file order, as the recorder got them from the bus. */
static int read_mcap(const char *path, int (*fn)(void *ctx, const char *topic, const Fleetsim__V1__Envelope *env),
		     void *ctx)
{
	struct fs_error err = { "" };
	struct fs_mcap_reader *r = fs_mcap_reader_open(path, &err);
	if (!r) {
		return -EINVAL;
	}
	struct fs_mcap_message msg;
	int rc;
	while ((rc = fs_mcap_reader_next(r, &msg, &err)) == 1) {
		Fleetsim__V1__Envelope *env = fleetsim__v1__envelope__unpack(NULL, msg.size, msg.data);
		int stop = env ? fn(ctx, msg.channel->topic, env) : 0;
		if (env) {
			fleetsim__v1__envelope__free_unpacked(env, NULL);
		}
		if (stop) {
			break;
		}
	}
	fs_mcap_reader_close(r);
	return rc < 0 ? -EINVAL : 0;
}

static bool is_mcap(const char *path)
{
	FILE *f = fopen(path, "rb");
	char magic[5] = { 0 };
	bool yes = f && fread(magic, 1, 5, f) == 5 && !memcmp(magic, "\x89MCAP", 5);
	if (f) {
		fclose(f);
	}
	return yes;
}

int vt_mirror_load(struct vt_mirror *m, const struct fs_network *net, const char *path)
{
	memset(m, 0, sizeof(*m));
	m->net = net;
	struct load_ctx c = { .m = m };
	int rc = is_mcap(path) ? read_mcap(path, load_batch, &c) : vt_rec_read(path, load_batch, &c);
	fs_vehicle_records_finish(&c.decoded);
	if (rc < 0 || c.rc < 0) {
		return rc < 0 ? rc : c.rc;
	}
	/* Room for every id now, so m->v (and callers' arrays sized by m->cap) never move. */
	uint32_t max = 0;
	for (size_t i = 0; i < m->nbatches; i++) {
		for (size_t k = 0; k < m->batches[i].count; k++) {
			max = m->batches[i].items[k].id > max ? m->batches[i].items[k].id : max;
		}
	}
	return mirror_slot(m, max) ? 0 : -ENOMEM;
}

void vt_mirror_finish(struct vt_mirror *m)
{
	for (size_t i = 0; i < m->nbatches; i++) {
		free(m->batches[i].items);
	}
	free(m->batches);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

bool vt_mirror_place(const struct vt_mirror *m, uint32_t id, int64_t t_ms, double *ret_x, double *ret_y)
{
	if (id >= m->cap || !m->v[id].have) {
		return false;
	}
	const struct fs_vehicle_record *r = &m->v[id].rec;
	struct fs_vehicle_snapshot s;
	if (fs_vehicle_record_place(r, m->net, t_ms > r->t_ms ? t_ms : r->t_ms, &s) < 0) {
		return false;
	}
	*ret_x = s.x;
	*ret_y = s.y;
	return true;
}

/* A keyframe holds every vehicle of its shard where the vehicle itself put it: compare, then take it. */
static void apply_keyframe(struct vt_mirror *m, const struct vt_batch *b)
{
	for (size_t i = 0; i < b->count && m->keyframed[b->shard]; i++) {
		const struct fs_vehicle_record *r = &b->items[i];
		double x, y;
		if (r->edge == FS_NO_EDGE || r->kind == FS_VEHICLE_RECORD_MOVE) {
			continue;
		}
		m->keyframe_checked++;
		if (!vt_mirror_place(m, r->id, b->t_ms, &x, &y) || fabs(x - r->x) > 0.01 || fabs(y - r->y) > 0.01) {
			m->keyframe_mismatched++;
		}
	}
	for (size_t id = 0; id < m->cap; id++) {
		if (m->v[id].have && m->v[id].shard == b->shard) {
			m->v[id].have = false; /* the keyframe is the shard's whole fleet */
		}
	}
	m->keyframed[b->shard] = true;
}

static void apply_batch(struct vt_mirror *m, const struct vt_batch *b)
{
	if (b->keyframe) {
		apply_keyframe(m, b);
	}
	for (size_t i = 0; i < b->count; i++) {
		const struct fs_vehicle_record *r = &b->items[i];
		struct vt_mirror_vehicle *v = mirror_slot(m, r->id);
		if (!v) {
			continue;
		}
		if (r->kind == FS_VEHICLE_RECORD_MOVE) {
			if (v->have) {
				fs_vehicle_record_merge(&v->rec, true, r);
			}
			continue;
		}
		v->rec = *r;
		v->have = true;
		v->shard = b->shard;
		if (!b->keyframe) {
			v->news_full_ms = b->t_ms;
		}
	}
}

void vt_mirror_advance(struct vt_mirror *m, uint32_t shard, int64_t t_ms)
{
	if (shard >= VT_MAX_SHARDS) {
		return;
	}
	size_t i = m->next[shard];
	for (; i < m->nbatches && (m->batches[i].shard != shard || m->batches[i].t_ms <= t_ms); i++) {
		if (m->batches[i].shard == shard) {
			apply_batch(m, &m->batches[i]);
		}
	}
	m->next[shard] = i;
}
