/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs/rng.h - seeded, splittable random streams.
 *
 * Every random stream in fleetsim is derived from (run seed, stream kind,
 * entity id), never from a shared generator, so that which process hosts an
 * entity, and in which order entities are visited, cannot change what it draws.
 * Generator: xoshiro256** seeded through splitmix64 (Blackman & Vigna).
 */
#ifndef FS_RNG_H
#define FS_RNG_H

#include <stdint.h>

struct fs_rng {
	uint64_t s[4];
};

/* Well-known stream kinds; keep values stable, they are part of every result. */
enum fs_rng_stream {
	FS_RNG_STREAM_TEST = 0,
	FS_RNG_STREAM_DEMAND = 1,
	FS_RNG_STREAM_VEHICLE_FAULTS = 2,
	FS_RNG_STREAM_VEHICLE_PLACEMENT = 3,
	FS_RNG_STREAM_VEHICLE_OPS = 4,
	FS_RNG_STREAM_DISPATCH = 5,
	FS_RNG_STREAM_PRODUCTION = 6,
	FS_RNG_STREAM_RIDERS = 7,
	FS_RNG_STREAM_SCENARIO = 8,
	FS_RNG_STREAM_RIDER_CHOICES = 9, /* patience, boarding, alighting, no-show (fs/rider.h) */
	FS_RNG_STREAM_DEMAND_PLACE = 10, /* where along the streets a generated rider stands */
};

/** Seed @rng for stream @stream of entity @entity in run @seed. */
void fs_rng_init(struct fs_rng *rng, uint64_t seed, uint32_t stream, uint64_t entity);
/** Next 64 random bits. */
uint64_t fs_rng_next(struct fs_rng *rng);
/** Uniform double in [0, 1). */
double fs_rng_uniform(struct fs_rng *rng);
/** Uniform integer in [0, n); n > 0. Unbiased (Lemire's method). */
uint64_t fs_rng_below(struct fs_rng *rng, uint64_t n);
/** Exponential variate with the given rate (events per unit); rate > 0. */
double fs_rng_exponential(struct fs_rng *rng, double rate);
/** Standard normal variate (Box-Muller, one of the pair). */
double fs_rng_normal(struct fs_rng *rng);
/** Poisson variate with mean @mean (>= 0). */
uint64_t fs_rng_poisson(struct fs_rng *rng, double mean);
/** splitmix64 finaliser: a good 64-bit mix for hashing ids together. */
uint64_t fs_mix64(uint64_t x);

#endif
