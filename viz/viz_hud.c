/* SPDX-License-Identifier: Apache-2.0 */
/* viz_hud - panel, legend, charts, inspector, scale bar, banners, help (see viz_hud.h). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fs/calendar.h"
#include "fs/vehicle.h"
#include "viz_hud.h"

#define PAD 12
#define INSPECTOR_W 290

static const struct viz_color white = { 232, 234, 240, 255 };
static const struct viz_color grey = { 150, 156, 168, 255 };
static const struct viz_color dim = { 96, 101, 112, 255 };
static const struct viz_color accent = { 120, 200, 255, 255 };
static const struct viz_color panel_bg = { 14, 16, 22, 228 };
static const struct viz_color box_bg = { 10, 12, 16, 236 };
static const struct viz_color edge_line = { 60, 66, 80, 255 };
static const struct viz_color ok_green = { 60, 208, 112, 255 };
static const struct viz_color warn_amber = { 255, 200, 60, 255 };
static const struct viz_color bad_red = { 255, 60, 60, 255 };

/* The legend's order: the states a rider cares about first. */
static const uint8_t legend_order[] = { 3, 4, 5, 6, 7, 8, 9, 12, 10, 11, 1, 2 };

void viz_hud_format_time(int64_t ms, const struct fs_timezone *tz, char *buf, size_t size)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	struct fs_civil_time t;
	fs_calendar_from_ms(fs_timezone_local_ms(tz, ms), &t);
	snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d %s", t.year, t.month, t.day, t.hour, t.minute, t.second,
		 days[t.weekday % 7]);
}

void viz_hud_format_duration(double s, char *buf, size_t size)
{
	if (isnan(s) || s < 0) {
		snprintf(buf, size, "-");
		return;
	}
	long n = lround(s);
	if (n >= 3600) {
		snprintf(buf, size, "%ld:%02ld:%02ld", n / 3600, n / 60 % 60, n % 60);
	} else {
		snprintf(buf, size, "%ld:%02ld", n / 60, n % 60);
	}
}

void viz_hud_format_version(uint32_t v, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u", v / 100, v % 100);
}

/* 12,345 */
static void format_count(uint64_t n, char *buf, size_t size)
{
	char raw[32];
	int len = snprintf(raw, sizeof(raw), "%" PRIu64, n);
	size_t o = 0;
	for (int i = 0; i < len && o + 2 < size; i++) {
		if (i && (len - i) % 3 == 0) {
			buf[o++] = ',';
		}
		buf[o++] = raw[i];
	}
	buf[o] = '\0';
}

static void format_speed(double x, char *buf, size_t size)
{
	if (x >= 100) {
		snprintf(buf, size, "%.0fx", x);
	} else {
		snprintf(buf, size, "%.1fx", x);
	}
}

static int text_right(struct viz_sdl *g, enum viz_font f, float right, float y, struct viz_color c, const char *s)
{
	int w, h;
	viz_sdl_text_size(g, f, s, &w, &h);
	return viz_sdl_text(g, f, right - (float)w, y, c, s);
}

int viz_hud_time_ticks(int64_t t0_ms, int64_t t1_ms, const struct fs_timezone *tz, int max, int64_t *ret)
{
	int64_t first, step = fs_timezone_axis_step(tz, t0_ms, t1_ms, 5 * 60000, max, &first);
	int64_t local1 = fs_timezone_local_ms(tz, t1_ms);
	int n = 0;
	for (int64_t t = first; t <= local1 && n < max; t += step) {
		ret[n++] = fs_timezone_utc_ms(tz, t);
	}
	return n;
}

static void format_value(enum viz_series_kind kind, double v, char *buf, size_t size)
{
	if (kind == VIZ_SERIES_WAIT_P50) {
		viz_hud_format_duration(v, buf, size);
	} else if (kind == VIZ_SERIES_UTILISATION) {
		snprintf(buf, size, "%.0f %%", 100 * v);
	} else {
		format_count((uint64_t)llround(v), buf, size);
	}
}

/* The value range a chart shows: 0..1 for shares; else the data's own range, padded, so change shows. */
static void chart_range(const struct viz_series *se, enum viz_series_kind kind, double *ret_lo, double *ret_hi)
{
	double lo = INFINITY, hi = -INFINITY;
	for (uint32_t i = 0; i < se->count; i++) {
		float v = se->values[(se->first + i) % VIZ_SERIES_LEN];
		if (!isnan(v)) {
			lo = fmin(lo, v);
			hi = fmax(hi, v);
		}
	}
	if (kind == VIZ_SERIES_UTILISATION) {
		lo = 0;
		hi = fmax(hi, 1);
	} else if (hi >= lo) {
		double pad = fmax((hi - lo) * 0.1, fmax(fabs(hi) * 0.02, 1));
		lo = fmax(0, lo - pad);
		hi += pad;
	}
	*ret_lo = lo;
	*ret_hi = hi;
}

/* A chart over simulated time (at least the last hour) with its value range and local-time ticks. */
static void draw_chart(struct viz_sdl *g, const struct viz_hud_input *in, float x, float y, float w, float h,
		       enum viz_series_kind kind, const char *label, const char *value)
{
	const struct viz_series *se = viz_scene_series(in->scene, kind);
	viz_sdl_text(g, VIZ_FONT_SMALL, x, y, grey, label);
	text_right(g, VIZ_FONT_SMALL, x + w, y, white, value);
	y += (float)viz_sdl_line_height(g, VIZ_FONT_SMALL);
	viz_sdl_fill_rect(g, x, y, w, h, (struct viz_color){ 28, 31, 40, 255 });
	double lo, hi;
	chart_range(se, kind, &lo, &hi);
	if (se->count < 2 || !(hi > lo)) {
		viz_sdl_text(g, VIZ_FONT_SMALL, x + 6, y + h / 2 - 7, dim, se->count < 2 ? "collecting..." : "no data");
		return;
	}
	int64_t t0 = se->times_ms[se->first], t1 = se->times_ms[(se->first + se->count - 1) % VIZ_SERIES_LEN];
	t1 = t1 - t0 < 3600000 ? t0 + 3600000 : t1; /* the window widens from an hour to the full history */
	struct viz_fpoint pts[VIZ_SERIES_LEN];
	size_t n = 0;
	for (uint32_t i = 0; i < se->count; i++) {
		uint32_t at = (se->first + i) % VIZ_SERIES_LEN;
		float v = se->values[at];
		if (isnan(v)) {
			if (n > 1) {
				viz_sdl_lines(g, pts, n, accent);
			}
			n = 0;
			continue;
		}
		float px = x + 1 + (w - 2) * (float)((double)(se->times_ms[at] - t0) / (double)(t1 - t0));
		float py = y + h - 2 - (h - 4) * (float)((v - lo) / (hi - lo));
		pts[n++] = (struct viz_fpoint){ px, py };
	}
	if (n > 1) {
		viz_sdl_lines(g, pts, n, accent);
	}
	char a[32], b[32];
	format_value(kind, hi, a, sizeof(a));
	format_value(kind, lo, b, sizeof(b));
	int sh = viz_sdl_line_height(g, VIZ_FONT_SMALL);
	text_right(g, VIZ_FONT_SMALL, x + w - 3, y + 1, dim, a);
	text_right(g, VIZ_FONT_SMALL, x + w - 3, y + h - (float)sh, dim, b);
	/* Time axis: ticks at round local times, labelled below. */
	int64_t ticks[4];
	int nt = viz_hud_time_ticks(t0, t1, in->tz, 4, ticks);
	for (int k = 0; k < nt; k++) {
		float tx = x + 1 + (w - 2) * (float)((double)(ticks[k] - t0) / (double)(t1 - t0));
		struct fs_civil_time c;
		fs_calendar_from_ms(fs_timezone_local_ms(in->tz, ticks[k]), &c);
		snprintf(a, sizeof(a), "%02d:%02d", c.hour, c.minute);
		int tw, th;
		viz_sdl_text_size(g, VIZ_FONT_SMALL, a, &tw, &th);
		viz_sdl_line(g, tx, y + h, tx, y + h + 3, grey);
		float lx = fminf(fmaxf(tx - (float)tw / 2, x), x + w - (float)tw);
		viz_sdl_text(g, VIZ_FONT_SMALL, lx, y + h + 2, dim, a);
	}
}

/* The run's state and pace, and its progress through the ticks, from @y; returns the y below. */
static float draw_run_state(struct viz_sdl *g, const struct viz_hud_input *in, float x, float w, float y)
{
	const struct viz_run *run = viz_scene_run(in->scene);
	int lh = viz_sdl_line_height(g, VIZ_FONT_NORMAL), sh = viz_sdl_line_height(g, VIZ_FONT_SMALL);
	char a[40], b[40], c[200];
	/* Run state and pace. */
	const char *word = "NO STATUS";
	struct viz_color wc = dim;
	switch (run->state) {
	case VIZ_RUN_RUNNING:
		word = "RUNNING";
		wc = ok_green;
		break;
	case VIZ_RUN_PAUSED:
		word = "PAUSED";
		wc = warn_amber;
		break;
	case VIZ_RUN_WAITING:
		word = "STARTING";
		wc = grey;
		break;
	case VIZ_RUN_ENDING:
	case VIZ_RUN_ENDED:
		word = "ENDED";
		wc = grey;
		break;
	default:
		break;
	}
	if (in->play) {
		word = in->play->at_end ? "END OF RECORDING" : in->play->paused ? "PLAYBACK PAUSED" : "PLAYBACK";
		wc = in->play->paused ? warn_amber : accent;
	}
	float tx = x + (float)viz_sdl_text(g, VIZ_FONT_NORMAL, x, y, wc, word);
	if (in->play && !in->play_on_bus) {
		format_speed(in->play->rate, a, sizeof(a));
		snprintf(c, sizeof(c), "   %s", a);
		viz_sdl_text(g, VIZ_FONT_NORMAL, tx, y, white, c);
	} else if (run->have_status) {
		if (run->speed > 0) {
			format_speed(run->speed, a, sizeof(a));
		} else {
			snprintf(a, sizeof(a), "max");
		}
		format_speed(run->sim_real_ratio, b, sizeof(b));
		snprintf(c, sizeof(c), "   %s  \xc2\xb7  %s real", a, b);
		viz_sdl_text(g, VIZ_FONT_NORMAL, tx, y, white, c);
	}
	y += (float)lh;
	if (run->have_status && run->duration_ticks) {
		format_count(run->tick, a, sizeof(a));
		format_count(run->duration_ticks, b, sizeof(b));
		snprintf(c, sizeof(c), "tick %s / %s", a, b);
		viz_sdl_text(g, VIZ_FONT_SMALL, x, y, grey, c);
		y += (float)sh + 1;
		double frac = fmin(1.0, (double)run->tick / (double)run->duration_ticks);
		viz_sdl_fill_rect(g, x, y, w, 4, (struct viz_color){ 40, 44, 56, 255 });
		viz_sdl_fill_rect(g, x, y, (float)(w * frac), 4, accent);
		y += 8;
	} else {
		y += (float)sh + 9;
	}

	return y;
}

/* Footer: where we listen and how we are doing. */
static void draw_footer(struct viz_sdl *g, const struct viz_hud_input *in, float x, int height)
{
	int sh = viz_sdl_line_height(g, VIZ_FONT_SMALL);
	char a[40], c[200];
	float fy = (float)height - 2 * (float)sh - 8;
	if (in->play && !in->play_on_bus) {
		viz_sdl_text(g, VIZ_FONT_SMALL, x, fy, dim, "playing a recording");
	} else if (in->bus_address) {
		format_count(in->gaps, a, sizeof(a));
		snprintf(c, sizeof(c), "%s  \xc2\xb7  %s lost", in->bus_address, a);
		viz_sdl_text(g, VIZ_FONT_SMALL, x, fy, in->gaps ? warn_amber : dim, c);
	} else {
		viz_sdl_text(g, VIZ_FONT_SMALL, x, fy, dim, "no bus");
	}
	snprintf(c, sizeof(c), "%s  \xc2\xb7  %.1f ms/frame  \xc2\xb7  h: help",
		 in->play && !in->play_on_bus ? "keys drive the timeline"
		 : in->control_ready	      ? (in->play ? "keys drive the playback" : "control ready")
					      : "control not connected",
		 in->frame_ms);
	viz_sdl_text(g, VIZ_FONT_SMALL, x, fy + (float)sh + 2, dim, c);
}

static void draw_panel(struct viz_sdl *g, const struct viz_hud_input *in, int height)
{
	struct viz_stats st;
	viz_scene_stats(in->scene, &st);
	char a[40], b[40], c[200];
	float x = PAD, right = VIZ_HUD_PANEL_W - PAD, w = right - x, y = 10;
	int lh = viz_sdl_line_height(g, VIZ_FONT_NORMAL), sh = viz_sdl_line_height(g, VIZ_FONT_SMALL);

	viz_sdl_fill_rect(g, 0, 0, VIZ_HUD_PANEL_W, (float)height, panel_bg);
	viz_sdl_line(g, VIZ_HUD_PANEL_W, 0, VIZ_HUD_PANEL_W, (float)height, edge_line);

	float tx = x + (float)viz_sdl_text(g, VIZ_FONT_NORMAL, x, y, accent, "fleetsim");
	if (in->city && in->city[0]) {
		snprintf(c, sizeof(c), "  %s", in->city);
		viz_sdl_text(g, VIZ_FONT_NORMAL, tx, y, grey, c);
	}
	y += (float)lh + 2;
	int64_t now = viz_hud_clock(in);
	if (now) {
		viz_hud_format_time(now, in->tz, c, sizeof(c));
		viz_sdl_text(g, VIZ_FONT_LARGE, x, y, white, c);
		y += (float)viz_sdl_line_height(g, VIZ_FONT_LARGE);
		fs_timezone_describe(in->tz, now, c, sizeof(c));
		viz_sdl_text(g, VIZ_FONT_SMALL, x, y, grey, c); /* whose clock: the city's local time */
		y += (float)sh + 2;
	} else {
		viz_sdl_text(g, VIZ_FONT_LARGE, x, y, dim, "waiting for the run");
		y += (float)viz_sdl_line_height(g, VIZ_FONT_LARGE) + (float)sh + 4;
	}

	y = draw_run_state(g, in, x, w, y);

	/* Fleet and the legend, which doubles as vehicles by state. */
	y += 4;
	format_count(st.fleet, a, sizeof(a));
	snprintf(c, sizeof(c), "%s vehicles", a);
	tx = x + (float)viz_sdl_text(g, VIZ_FONT_NORMAL, x, y, white, c);
	if (!isnan(st.fleet_target)) {
		format_count((uint64_t)llround(st.fleet_target), b, sizeof(b));
		snprintf(c, sizeof(c), "  of %s target", b);
		viz_sdl_text(g, VIZ_FONT_NORMAL, tx, y, grey, c);
	}
	if (st.shard_count) {
		snprintf(c, sizeof(c), "%u/%u shards", st.shards_seen, st.shard_count);
		text_right(g, VIZ_FONT_SMALL, right, y + 2, st.shards_seen < st.shard_count ? warn_amber : dim, c);
	}
	y += (float)lh + 2;
	for (size_t i = 0; i < sizeof(legend_order); i++) {
		uint8_t state = legend_order[i];
		uint32_t n = st.by_state[state];
		struct viz_color tc = n ? white : dim;
		viz_sdl_fill_rect(g, x + 2, y + 3, 10, 10, viz_state_color(state));
		viz_sdl_text(g, VIZ_FONT_SMALL, x + 20, y, tc, viz_state_name(state));
		format_count(n, a, sizeof(a));
		text_right(g, VIZ_FONT_SMALL, right - 52, y, tc, a);
		if (st.fleet) {
			snprintf(b, sizeof(b), "%.1f %%", 100.0 * n / st.fleet);
			text_right(g, VIZ_FONT_SMALL, right, y, n ? grey : dim, b);
		}
		y += (float)sh + 2;
	}

	/* Riders. */
	y += 6;
	format_count(st.waiting_riders, a, sizeof(a));
	snprintf(c, sizeof(c), "%s riders waiting", a);
	viz_sdl_fill_rect(g, x + 2, y + 6, 9, 1, viz_rider_color());
	viz_sdl_fill_rect(g, x + 6, y + 2, 1, 9, viz_rider_color());
	viz_sdl_text(g, VIZ_FONT_NORMAL, x + 20, y, white, c);
	y += (float)lh;
	if (isnan(st.served_share)) {
		snprintf(a, sizeof(a), "-");
	} else {
		snprintf(a, sizeof(a), "%.1f %%", 100 * st.served_share);
	}
	viz_hud_format_duration(st.wait_p50_s, b, sizeof(b));
	char p95[32];
	viz_hud_format_duration(st.wait_p95_s, p95, sizeof(p95));
	snprintf(c, sizeof(c), "served %s   wait p50 %s  p95 %s", a, b, p95);
	viz_sdl_text(g, VIZ_FONT_SMALL, x, y, grey, c);
	y += (float)sh + 8;

	/* Charts: a sample per simulated minute, over local time. */
	const float ch = 30;
	format_count(st.fleet, a, sizeof(a));
	draw_chart(g, in, x, y, w, ch, VIZ_SERIES_FLEET, "fleet size", a);
	y += 2 * (float)sh + ch + 6;
	viz_hud_format_duration(st.wait_p50_s, b, sizeof(b));
	draw_chart(g, in, x, y, w, ch, VIZ_SERIES_WAIT_P50, "wait p50", b);
	y += 2 * (float)sh + ch + 6;
	if (isnan(st.utilisation)) {
		snprintf(a, sizeof(a), "-");
	} else {
		snprintf(a, sizeof(a), "%.1f %%", 100 * st.utilisation);
	}
	draw_chart(g, in, x, y, w, ch, VIZ_SERIES_UTILISATION, "utilisation (rider jobs)", a);

	draw_footer(g, in, x, height);
}

static void draw_scale_bar(struct viz_sdl *g, const struct viz_view *v)
{
	double m, px;
	char label[32];
	viz_view_scale_bar(v, 160, &m, &px, label, sizeof(label));
	float x1 = (float)v->width - 20, x0 = x1 - (float)px, y = (float)v->height - 18;
	int tw, th;
	viz_sdl_text_size(g, VIZ_FONT_SMALL, label, &tw, &th);
	viz_sdl_fill_rect(g, x0 - 6, y - (float)th - 6, (float)px + 12, (float)th + 14, (struct viz_color){ 14, 16, 22, 200 });
	viz_sdl_line(g, x0, y, x1, y, white);
	viz_sdl_line(g, x0, y - 4, x0, y + 3, white);
	viz_sdl_line(g, x1, y - 4, x1, y + 3, white);
	viz_sdl_text(g, VIZ_FONT_SMALL, x0 + ((float)px - (float)tw) / 2, y - (float)th - 3, white, label);
}

int64_t viz_hud_clock(const struct viz_hud_input *in)
{
	int64_t shown = viz_scene_display_time(in->scene);
	return shown ? shown : viz_scene_time(in->scene);
}

bool viz_hud_inspector_rect(const struct viz_hud_input *in, struct viz_rect *ret)
{
	if (in->layers->selected == VIZ_NO_VEHICLE) {
		return false;
	}
	*ret = (struct viz_rect){ (float)in->view->width - INSPECTOR_W - 10, 10, INSPECTOR_W, 330 };
	return true;
}

static void odd_text(uint32_t flags, char *buf, size_t size)
{
	buf[0] = '\0';
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{ FS_ODD_NO_MOTORWAY, "no motorways" },
		{ FS_ODD_DAYTIME_ONLY, "daytime only" },
		{ FS_ODD_NO_RAIN, "no rain" },
		{ FS_ODD_SPEED_CAP, "speed cap" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (flags & names[i].bit) {
			size_t n = strlen(buf);
			snprintf(buf + n, size - n, "%s%s", n ? ", " : "", names[i].name);
		}
	}
	if (!buf[0]) {
		snprintf(buf, size, "unrestricted");
	}
}

static struct viz_color health_color(uint8_t h)
{
	return h == 0 ? ok_green : h == 1 ? warn_amber : bad_red;
}

static void draw_inspector(struct viz_sdl *g, const struct viz_hud_input *in)
{
	struct viz_rect r;
	if (!viz_hud_inspector_rect(in, &r)) {
		return;
	}
	const struct viz_scene *s = in->scene;
	uint32_t id = in->layers->selected;
	const struct viz_vehicle *v = viz_scene_find(s, id);
	char a[96], c[200];
	int lh = viz_sdl_line_height(g, VIZ_FONT_NORMAL), sh = viz_sdl_line_height(g, VIZ_FONT_SMALL);
	float x = r.x + PAD, y = r.y + 10, right = r.x + r.w - PAD;
	viz_sdl_fill_rect(g, r.x, r.y, r.w, r.h, box_bg);
	viz_sdl_rect(g, r.x, r.y, r.w, r.h, edge_line);
	snprintf(c, sizeof(c), "vehicle %u", id);
	viz_sdl_text(g, VIZ_FONT_LARGE, x, y, white, c);
	y += (float)viz_sdl_line_height(g, VIZ_FONT_LARGE) + 2;
	if (!v) {
		viz_sdl_text(g, VIZ_FONT_NORMAL, x, y, grey, "not in the fleet now");
		return;
	}
	viz_sdl_fill_rect(g, x, y + 3, 11, 11, viz_state_color(v->state));
	viz_sdl_text(g, VIZ_FONT_NORMAL, x + 18, y, white, viz_state_name(v->state));
	y += (float)lh + 2;
	/* Battery with a bar. */
	if (isnan(v->soc)) {
		snprintf(c, sizeof(c), "battery -");
	} else {
		snprintf(c, sizeof(c), "battery %.0f %%", 100 * v->soc);
	}
	viz_sdl_text(g, VIZ_FONT_NORMAL, x, y, white, c);
	if (!isnan(v->soc)) {
		float bw = 110, bx = right - bw;
		struct viz_color bc = v->soc < 0.2f ? bad_red : v->soc < 0.4f ? warn_amber : ok_green;
		viz_sdl_rect(g, bx, y + 4, bw, 10, grey);
		viz_sdl_fill_rect(g, bx + 1, y + 5, (bw - 2) * fminf(1, fmaxf(0, v->soc)), 8, bc);
	}
	y += (float)lh;
	double deg = fmod(90.0 - v->heading_rad * 180.0 / M_PI + 720.0, 360.0); /* compass: 0 = north */
	snprintf(c, sizeof(c), "speed %.0f km/h  \xc2\xb7  heading %.0f\xc2\xb0", v->speed_mps * 3.6, deg);
	viz_sdl_text(g, VIZ_FONT_SMALL, x, y, grey, c);
	y += (float)sh + 2;
	if (v->job_id) {
		snprintf(c, sizeof(c), "job %" PRIu64, v->job_id);
	} else {
		snprintf(c, sizeof(c), "no job");
	}
	viz_sdl_text(g, VIZ_FONT_NORMAL, x, y, white, c);
	viz_hud_format_version(v->sw_version, a, sizeof(a));
	snprintf(c, sizeof(c), "software %s", a);
	text_right(g, VIZ_FONT_NORMAL, right, y, white, c);
	y += (float)lh;
	const struct fs_network *net = viz_scene_network(s);
	if (v->edge < net->edge_count) {
		const char *name = fs_network_edge_name(net, v->edge);
		snprintf(c, sizeof(c), "on %s", name[0] ? name : "an unnamed road");
		viz_sdl_text(g, VIZ_FONT_SMALL, x, y, grey, c);
		y += (float)sh + 2;
	}
	odd_text(v->odd_flags, a, sizeof(a));
	snprintf(c, sizeof(c), "ODD: %s", a);
	viz_sdl_text(g, VIZ_FONT_SMALL, x, y, grey, c);
	y += (float)sh + 6;

	/* Hyperion 10 devices. */
	uint32_t hf = v->health_flags;
	const char *summary = "all devices OK";
	struct viz_color sc = ok_green;
	if (hf & FS_HEALTH_SUMMARY_FAILED) {
		summary = hf & FS_HEALTH_SUMMARY_NEEDS_DEPOT ? "device failed: needs a depot" : "device failed";
		sc = bad_red;
	} else if (hf & FS_HEALTH_SUMMARY_DEGRADED) {
		summary = "device degraded";
		sc = warn_amber;
	}
	if (hf & FS_HEALTH_SUMMARY_MINIMAL_RISK) {
		summary = "faults force a minimal-risk stop";
		sc = bad_red;
	}
	viz_sdl_text(g, VIZ_FONT_NORMAL, x, y, sc, summary);
	y += (float)lh + 2;
	uint8_t health[VIZ_DEVICE_COUNT];
	bool known = viz_scene_device_health(s, id, health);
	/* Without events, the batch's summary still vouches for "all OK". */
	bool all_ok = !(hf & (FS_HEALTH_SUMMARY_DEGRADED | FS_HEALTH_SUMMARY_FAILED));
	static const struct {
		const char *name;
		int kind, count;
	} groups[] = { { "cameras", 1, 14 }, { "radars", 2, 9 }, { "lidar", 3, 1 }, { "ultrasonics", 4, 12 },
		       { "DRIVE Thor", 5, 2 } };
	for (size_t k = 0; k < sizeof(groups) / sizeof(groups[0]); k++) {
		viz_sdl_text(g, VIZ_FONT_SMALL, x, y, grey, groups[k].name);
		for (int d = 0; d < groups[k].count; d++) {
			int flat = viz_device_flat_index(groups[k].kind, (uint32_t)d);
			struct viz_color dc = known    ? health_color(health[flat])
					      : all_ok ? ok_green
						       : (struct viz_color){ 70, 74, 84, 255 };
			float bx = x + 84 + (float)d * 12;
			viz_sdl_fill_rect(g, bx, y + 3, 9, 9, dc);
		}
		y += (float)sh + 1;
	}
	viz_sdl_text(g, VIZ_FONT_SMALL, x, y + 2, dim,
		     known    ? "per device: health events since attaching"
		     : all_ok ? "per device: OK by the state summary"
			      : "per device: unknown (no event since attaching)");
	y += (float)sh + 4;
	viz_sdl_text(g, VIZ_FONT_SMALL, x, y, in->following ? accent : dim,
		     in->following ? "following  (f: stop, Esc: close)" : "f: follow  \xc2\xb7  Esc: close");
}

static void draw_banner(struct viz_sdl *g, const struct viz_view *v, float y, struct viz_color bg, const char *text)
{
	int w, h;
	viz_sdl_text_size(g, VIZ_FONT_NORMAL, text, &w, &h);
	float cx = v->area.x + v->area.w / 2, x = cx - (float)w / 2;
	viz_sdl_fill_rect(g, x - 10, y, (float)w + 20, (float)h + 10, bg);
	viz_sdl_text(g, VIZ_FONT_NORMAL, x, y + 5, white, text);
}

static void draw_help(struct viz_sdl *g, const struct viz_view *v)
{
	static const char *const keys[][2] = {
		{ "drag", "pan the map" },
		{ "wheel", "zoom at the pointer" },
		{ "PgUp / PgDn, z / x", "zoom in / out" },
		{ "arrows", "pan" },
		{ "c, Home", "fit the city" },
		{ "click", "inspect a vehicle" },
		{ "f", "follow the inspected vehicle" },
		{ "Esc", "close help / inspector" },
		{ "space", "pause / resume the run" },
		{ ".", "step one tick (when paused)" },
		{ "+ / -", "run faster / slower" },
		{ "[ / ]", "playback: a minute back / on" },
		{ "d", "demand heatmap" },
		{ "t", "vehicle trails" },
		{ "r", "waiting riders" },
		{ "s", "screenshot (PNG)" },
		{ "h", "this help" },
		{ "q", "quit the viewer (the run goes on)" },
	};
	size_t n = sizeof(keys) / sizeof(keys[0]);
	int lh = viz_sdl_line_height(g, VIZ_FONT_NORMAL);
	float w = 440, h = (float)(n * (size_t)lh) + 56;
	float x = v->area.x + (v->area.w - w) / 2, y = (float)(v->height - h) / 2;
	viz_sdl_fill_rect(g, x, y, w, h, (struct viz_color){ 10, 12, 16, 240 });
	viz_sdl_rect(g, x, y, w, h, accent);
	viz_sdl_text(g, VIZ_FONT_LARGE, x + 16, y + 10, white, "fleet-viz keys");
	float ty = y + 44;
	for (size_t i = 0; i < n; i++) {
		viz_sdl_text(g, VIZ_FONT_NORMAL, x + 16, ty, accent, keys[i][0]);
		viz_sdl_text(g, VIZ_FONT_NORMAL, x + 170, ty, white, keys[i][1]);
		ty += (float)lh;
	}
}

void viz_hud_heat_legend_rect(const struct viz_view *v, bool playing, struct viz_rect *ret)
{
	*ret = (struct viz_rect){ v->area.x + 12, (float)v->height - 84 - (playing ? 44 : 0), 12 + VIZ_HEAT_LEVELS * 24, 62 };
}

void viz_hud_timeline_rect(const struct viz_view *v, struct viz_rect *ret)
{
	*ret = (struct viz_rect){ v->area.x + 16, (float)v->height - 38, (float)v->width - v->area.x - 16 - 200, 10 };
}

/* The recording's span, what has been played, where the picture is; start and end in local time. */
static void draw_timeline(struct viz_sdl *g, const struct viz_hud_input *in)
{
	const struct viz_player_state *p = in->play;
	struct viz_rect r;
	viz_hud_timeline_rect(in->view, &r);
	double span = (double)(p->end_ms - p->start_ms);
	float at = span > 0 ? (float)((double)(p->position_ms - p->start_ms) / span) : 0;
	viz_sdl_fill_rect(g, r.x - 6, r.y - 6, r.w + 12, r.h + 28, (struct viz_color){ 14, 16, 22, 220 });
	viz_sdl_fill_rect(g, r.x, r.y, r.w, r.h, (struct viz_color){ 40, 44, 56, 255 });
	viz_sdl_fill_rect(g, r.x, r.y, r.w * at, r.h, accent);
	viz_sdl_fill_rect(g, r.x + r.w * at - 2, r.y - 3, 4, r.h + 6, white);
	char a[64], c[96];
	struct fs_civil_time t;
	fs_calendar_from_ms(fs_timezone_local_ms(in->tz, p->start_ms), &t);
	snprintf(a, sizeof(a), "%02d:%02d:%02d", t.hour, t.minute, t.second);
	viz_sdl_text(g, VIZ_FONT_SMALL, r.x, r.y + r.h + 2, dim, a);
	fs_calendar_from_ms(fs_timezone_local_ms(in->tz, p->end_ms), &t);
	snprintf(a, sizeof(a), "%02d:%02d:%02d", t.hour, t.minute, t.second);
	text_right(g, VIZ_FONT_SMALL, r.x + r.w, r.y + r.h + 2, dim, a);
	snprintf(c, sizeof(c), "%s  \xc2\xb7  space pause  +/- pace  [ ] a minute  click: seek",
		 p->at_end ? "end of the recording" : p->paused ? "paused" : "playing");
	int w, h;
	viz_sdl_text_size(g, VIZ_FONT_SMALL, c, &w, &h);
	viz_sdl_text(g, VIZ_FONT_SMALL, r.x + (r.w - (float)w) / 2, r.y + r.h + 2, grey, c);
}

/* What the heatmap's colours mean: its scale, from faint demand to the busiest place. */
static void draw_heat_legend(struct viz_sdl *g, const struct viz_hud_input *in)
{
	const struct viz_view *v = in->view;
	struct viz_rect r;
	viz_hud_heat_legend_rect(v, in->play != NULL, &r);
	int sh = viz_sdl_line_height(g, VIZ_FONT_SMALL);
	viz_sdl_fill_rect(g, r.x, r.y, r.w, r.h, viz_background_color());
	viz_sdl_rect(g, r.x, r.y, r.w, r.h, edge_line);
	viz_sdl_text(g, VIZ_FONT_SMALL, r.x + 6, r.y + 3, grey, "ride requests, 20 min half-life");
	float sy = r.y + 5 + (float)sh;
	for (int lv = 0; lv < VIZ_HEAT_LEVELS; lv++) {
		/* Blended over the map's background, as on the map. */
		viz_sdl_fill_rect(g, r.x + 6 + (float)lv * 24, sy, 24, 14, viz_heat_color(lv));
	}
	viz_sdl_text(g, VIZ_FONT_SMALL, r.x + 6, sy + 15, dim, "few");
	text_right(g, VIZ_FONT_SMALL, r.x + r.w - 6, sy + 15, dim, "busiest place");
}

void viz_hud_draw(struct viz_sdl *g, const struct viz_hud_input *in)
{
	const struct viz_view *v = in->view;
	draw_scale_bar(g, v);
	if (in->layers->heatmap) {
		draw_heat_legend(g, in);
	}
	if (in->play) {
		draw_timeline(g, in);
	}
	draw_panel(g, in, v->height);
	draw_inspector(g, in);
	float by = 10;
	if (!in->connected) {
		char c[400];
		snprintf(c, sizeof(c), "waiting for a simulation on %s", in->bus_address ? in->bus_address : "(no bus)");
		draw_banner(g, v, by, (struct viz_color){ 40, 44, 60, 230 }, c);
		by += 34;
	}
	if (viz_scene_origin_mismatch(in->scene)) {
		double lat, lon;
		char c[300];
		viz_scene_run_origin(in->scene, &lat, &lon);
		snprintf(c, sizeof(c), "NOT THIS RUN'S NETWORK: the run is on another map (origin %.4f, %.4f), not %s",
			 lat, lon, in->city);
		draw_banner(g, v, by, viz_refusal_color(), c);
		by += 34;
		draw_banner(g, v, by, viz_refusal_color(),
			    "none of its vehicles are shown: start fleet-viz with the run's --network");
		by += 34;
	}
	const struct viz_run *run = viz_scene_run(in->scene);
	if (run->state == VIZ_RUN_ENDED || run->state == VIZ_RUN_ENDING) {
		draw_banner(g, v, by, (struct viz_color){ 40, 44, 60, 230 },
			    run->playback ? "the playback has ended: its last picture  \xc2\xb7  q closes the viewer"
					  : "the run has ended: its final state  \xc2\xb7  q closes the viewer");
	}
	if (in->toast && in->toast[0]) {
		int w, h;
		viz_sdl_text_size(g, VIZ_FONT_NORMAL, in->toast, &w, &h);
		float x = v->area.x + (v->area.w - (float)w) / 2, y = (float)v->height - 60 - (in->play ? 44 : 0);
		viz_sdl_fill_rect(g, x - 12, y - 6, (float)w + 24, (float)h + 12, (struct viz_color){ 10, 12, 16, 230 });
		viz_sdl_text(g, VIZ_FONT_NORMAL, x, y, white, in->toast);
	}
	if (in->help) {
		draw_help(g, v);
	}
}
