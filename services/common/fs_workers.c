/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fs_workers.c - fork-join loops on POSIX threads (fs_workers.h).
 *
 * A loop starts its helper threads and joins them when the items are done.
 * The dispatcher runs a few such loops per matching round, seconds of
 * simulated time apart: tens of microseconds to start a thread are nothing
 * next to a round's routing, and a pool that sleeps between loops needs no
 * shutdown protocol. (GLib's GThreadPool or OpenMP would do the same; neither
 * is worth a dependency for forty lines.)
 */
#define _GNU_SOURCE /* sched_getaffinity(), CPU_COUNT() */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "fs_workers.h"

struct fs_workers {
	unsigned count;
};

struct loop {
	size_t n;
	atomic_size_t next;
	void (*fn)(void *arg, size_t i, unsigned worker);
	void *arg;
};

struct helper {
	struct loop *loop;
	unsigned worker;
	pthread_t thread;
};

static void run_items(struct loop *l, unsigned worker)
{
	for (;;) {
		size_t i = atomic_fetch_add_explicit(&l->next, 1, memory_order_relaxed);
		if (i >= l->n) {
			return;
		}
		l->fn(l->arg, i, worker);
	}
}

static void *helper_main(void *p)
{
	struct helper *h = p;
	run_items(h->loop, h->worker);
	return NULL;
}

struct fs_workers *fs_workers_create(unsigned count)
{
	struct fs_workers *w = malloc(sizeof(*w));
	if (w) {
		w->count = count < 1 ? 1 : count > FS_WORKERS_MAX ? FS_WORKERS_MAX : count;
	}
	return w;
}

void fs_workers_destroy(struct fs_workers *w)
{
	free(w);
}

unsigned fs_workers_count(const struct fs_workers *w)
{
	return w->count;
}

void fs_workers_for(void *pool, size_t n, void (*fn)(void *arg, size_t i, unsigned worker), void *arg)
{
	const struct fs_workers *w = pool;
	struct loop l = { .n = n, .fn = fn, .arg = arg };
	atomic_init(&l.next, 0);
	struct helper helpers[FS_WORKERS_MAX];
	unsigned started = 0;
	for (unsigned k = 1; k < w->count && k < n; k++) {
		helpers[started] = (struct helper){ .loop = &l, .worker = k };
		if (pthread_create(&helpers[started].thread, NULL, helper_main, &helpers[started]) != 0) {
			break; /* fewer workers: the same items, the same results */
		}
		started++;
	}
	run_items(&l, 0);
	for (unsigned k = 0; k < started; k++) {
		pthread_join(helpers[k].thread, NULL);
	}
}

unsigned fs_workers_default_count(void)
{
	/* the processors this process may run on: what taskset, a cgroup cpuset or a
	 * Slurm allocation leaves it, not every processor of the host */
	cpu_set_t set;
	long n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > FS_WORKERS_MAX ? FS_WORKERS_MAX : (unsigned)n;
}
