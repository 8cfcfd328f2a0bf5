/* SPDX-License-Identifier: Apache-2.0 */
/* fs_rng - xoshiro256** streams keyed by (seed, stream, entity). */
#include <math.h>

#include "fs/rng.h"

uint64_t fs_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void fs_rng_init(struct fs_rng *rng, uint64_t seed, uint32_t stream, uint64_t entity)
{
	/* Mix the three keys so neighbouring ids give unrelated streams. */
	uint64_t sm = fs_mix64(fs_mix64(seed) ^ fs_mix64(((uint64_t)stream << 32) ^ 0x5bd1e995u) ^
			       fs_mix64(entity * 0xd6e8feb86659fd93ULL));
	for (int i = 0; i < 4; i++) {
		sm += 0x9e3779b97f4a7c15ULL;
		rng->s[i] = fs_mix64(sm);
	}
	if (!(rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3])) {
		rng->s[0] = 1; /* the all-zero state is a fixed point */
	}
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t fs_rng_next(struct fs_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double fs_rng_uniform(struct fs_rng *rng)
{
	return (double)(fs_rng_next(rng) >> 11) * 0x1.0p-53;
}

uint64_t fs_rng_below(struct fs_rng *rng, uint64_t n)
{
	/* Lemire's nearly-divisionless method, 128-bit multiply. */
	unsigned __int128 m = (unsigned __int128)fs_rng_next(rng) * n;
	uint64_t low = (uint64_t)m;
	if (low < n) {
		uint64_t threshold = -n % n;
		while (low < threshold) {
			m = (unsigned __int128)fs_rng_next(rng) * n;
			low = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

double fs_rng_exponential(struct fs_rng *rng, double rate)
{
	/* 1 - u is in (0, 1], so the log is finite. */
	return -log(1.0 - fs_rng_uniform(rng)) / rate;
}

double fs_rng_normal(struct fs_rng *rng)
{
	double u1 = 1.0 - fs_rng_uniform(rng);
	double u2 = fs_rng_uniform(rng);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t fs_rng_poisson(struct fs_rng *rng, double mean)
{
	if (mean <= 0.0) {
		return 0;
	}
	if (mean < 30.0) {
		/* Knuth: multiply uniforms until below e^-mean. */
		double limit = exp(-mean), p = 1.0;
		uint64_t k = 0;
		for (;;) {
			p *= fs_rng_uniform(rng);
			if (p <= limit) {
				return k;
			}
			k++;
		}
	}
	/* Large means: sum of independent Poisson halves keeps exactness cheap
	 * enough here and avoids a rejection sampler's tuning. */
	double half = mean / 2.0;
	return fs_rng_poisson(rng, half) + fs_rng_poisson(rng, mean - half);
}
