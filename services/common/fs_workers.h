/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_workers.h - run independent pieces of one computation on several threads.
 *
 * The simulation core stays single-threaded and free of threads: where it has
 * work that splits into independent items (the dispatcher's candidate searches
 * for the riders of a matching round), it asks for a parallel loop through a
 * callback in its world (struct fs_dispatch_world.parallel_for), and merges the
 * items' results in item order, so what it computes does not depend on how many
 * workers there are or which one ran what. This is that callback: fork-join on
 * POSIX threads, the calling thread working too.
 */
#ifndef FS_WORKERS_H
#define FS_WORKERS_H

#include <stddef.h>

/* The most workers a pool has (the calling thread included). */
#define FS_WORKERS_MAX 16

struct fs_workers;

/** A pool of @count workers (1..FS_WORKERS_MAX, the calling thread included); NULL on no memory. */
struct fs_workers *fs_workers_create(unsigned count);
/** NULL is a no-op. */
void fs_workers_destroy(struct fs_workers *w);
/** How many workers @w has. */
unsigned fs_workers_count(const struct fs_workers *w);
/**
 * Call @fn(@arg, i, worker) once for every i in [0, @n), spread over the
 * workers (worker 0 is the calling thread), and return when all are done.
 * Items are handed out one at a time in increasing order; each worker runs
 * its items in that order. With one worker (or if a thread cannot start) the
 * calling thread runs them all.
 */
void fs_workers_for(void *w, size_t n, void (*fn)(void *arg, size_t i, unsigned worker), void *arg);
/**
 * How many workers to use by default: the processors this process may run on
 * (its affinity: `taskset -c 0` gives 1), at most FS_WORKERS_MAX.
 */
unsigned fs_workers_default_count(void);

#endif
