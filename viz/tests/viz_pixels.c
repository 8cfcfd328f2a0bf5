/* SPDX-License-Identifier: Apache-2.0 */
/*
 * viz-pixels - count the pixels of a colour in a PNG (test helper).
 *
 *   viz-pixels --png FILE --color R,G,B [--rect X,Y,W,H]
 *
 * Prints the number of pixels of exactly that colour inside the rectangle
 * (default: the whole image), so shell tests can ask whether a banner, a
 * legend or a layer is on screen.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <SDL.h>
#include <SDL_image.h>

#include "viz_testlib.h"

int main(int argc, char **argv)
{
	const char *png = NULL;
	int r = -1, g = -1, b = -1, x = 0, y = 0, w = -1, h = -1;
	static const struct option options[] = {
		{ "png", required_argument, NULL, 'p' },
		{ "color", required_argument, NULL, 'c' },
		{ "rect", required_argument, NULL, 'r' },
		{ 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 'p') {
			png = optarg;
		} else if (opt == 'c' && sscanf(optarg, "%d,%d,%d", &r, &g, &b) == 3) {
			continue;
		} else if (opt == 'r' && sscanf(optarg, "%d,%d,%d,%d", &x, &y, &w, &h) == 4) {
			continue;
		} else if (opt != 'p') {
			return 2;
		}
	}
	if (!png || r < 0 || g < 0 || b < 0) {
		fprintf(stderr, "Usage: viz-pixels --png FILE --color R,G,B [--rect X,Y,W,H]\n");
		return 2;
	}
	SDL_Surface *img = vt_load_png(png);
	if (!img) {
		fprintf(stderr, "viz-pixels: cannot load %s: %s\n", png, IMG_GetError());
		return 1;
	}
	w = w < 0 ? img->w : w;
	h = h < 0 ? img->h : h;
	struct viz_color c = { (uint8_t)r, (uint8_t)g, (uint8_t)b, 255 };
	long n = 0;
	for (int j = y; j < y + h; j++) {
		for (int i = x; i < x + w; i++) {
			n += vt_pixel(img, i, j) != 0 && vt_is_color(vt_pixel(img, i, j), c);
		}
	}
	printf("%ld\n", n);
	SDL_FreeSurface(img);
	return 0;
}
