/* SPDX-License-Identifier: Apache-2.0 */
/*
 * delay_relay - a TCP relay that holds every byte it forwards for a fixed
 * time, each way: added network latency where the kernel has no netem
 * (bench/bench_lockstep_net.sh uses `tc qdisc ... netem delay` when it can).
 *
 *   delay_relay --listen ADDR --to ADDR --ports PORT,N --delay-us D
 *
 * listens on ADDR:PORT..PORT+N-1 and connects each accepted connection to the
 * same port at --to. What is read from one side is written to the other D us
 * after it was read (a timerfd wakes us at the next due time). One thread,
 * epoll; the relay's own cost is what the benchmark measures at D = 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "bench_clock.h"

#define MAX_PORTS 8
#define CHUNK 65536

struct chunk {
	struct chunk *next;
	int64_t due_ns;
	size_t len, off;
	char data[];
};

/* One direction of a relayed connection: read from @in, write to @out later. */
struct flow {
	int in, out;
	struct chunk *head, *tail;
	struct flow *peer;
	bool closed;
};

static int64_t delay_ns;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static int listen_on(const char *addr, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		die("listen");
	}
	return fd;
}

static int connect_to(const char *addr, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* Write what is due; true while the flow has bytes waiting. */
static bool flush(struct flow *f, int64_t now)
{
	while (f->head && f->head->due_ns <= now) {
		struct chunk *c = f->head;
		ssize_t n = write(f->out, c->data + c->off, c->len - c->off);
		if (n < 0) {
			if (errno == EAGAIN) {
				return true; /* the kernel's buffer is full: next wake-up */
			}
			f->closed = true;
			n = (ssize_t)(c->len - c->off);
		}
		c->off += (size_t)n;
		if (c->off < c->len) {
			continue;
		}
		f->head = c->next;
		if (!f->head) {
			f->tail = NULL;
		}
		free(c);
	}
	return f->head != NULL;
}

static int64_t next_due(struct flow **flows, int n)
{
	int64_t due = INT64_MAX;
	for (int i = 0; i < n; i++) {
		if (flows[i] && flows[i]->head && flows[i]->head->due_ns < due) {
			due = flows[i]->head->due_ns;
		}
	}
	return due;
}

static void arm(int timer, int64_t due)
{
	struct itimerspec its = { 0 };
	if (due != INT64_MAX) {
		int64_t wait = due - bench_now_ns();
		wait = wait > 1000 ? wait : 1000;
		its.it_value.tv_sec = wait / 1000000000;
		its.it_value.tv_nsec = wait % 1000000000;
	}
	timerfd_settime(timer, 0, &its, NULL);
}

int main(int argc, char **argv)
{
	const char *listen_addr = NULL, *to_addr = NULL;
	int port = 0, nports = 1;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--listen")) {
			listen_addr = argv[i + 1];
		} else if (!strcmp(argv[i], "--to")) {
			to_addr = argv[i + 1];
		} else if (!strcmp(argv[i], "--ports")) {
			sscanf(argv[i + 1], "%d,%d", &port, &nports);
		} else if (!strcmp(argv[i], "--delay-us")) {
			delay_ns = strtoll(argv[i + 1], NULL, 10) * 1000;
		}
	}
	if (!listen_addr || !to_addr || port <= 0 || nports < 1 || nports > MAX_PORTS || delay_ns < 0) {
		fprintf(stderr, "usage: delay_relay --listen ADDR --to ADDR --ports PORT,N --delay-us D\n");
		return 2;
	}
	int ep = epoll_create1(EPOLL_CLOEXEC), timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	int listeners[MAX_PORTS];
	for (int i = 0; i < nports; i++) {
		listeners[i] = listen_on(listen_addr, port + i);
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)i };
		epoll_ctl(ep, EPOLL_CTL_ADD, listeners[i], &ev);
	}
	struct epoll_event tev = { .events = EPOLLIN, .data.u64 = UINT64_MAX };
	epoll_ctl(ep, EPOLL_CTL_ADD, timer, &tev);
	enum { MAX_FLOWS = 512 };
	struct flow *flows[MAX_FLOWS] = { 0 };
	int nflows = 0;
	char buf[CHUNK];
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, -1);
		if (n < 0 && errno != EINTR) {
			die("epoll_wait");
		}
		int64_t now = bench_now_ns();
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == UINT64_MAX) {
				uint64_t expirations;
				(void)!read(timer, &expirations, sizeof(expirations));
			} else if (tag < (uint64_t)nports) {
				int a = accept4(listeners[tag], NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), one = 1;
				int b = a >= 0 ? connect_to(to_addr, port + (int)tag) : -1;
				if (b < 0 || nflows + 2 > MAX_FLOWS) {
					if (a >= 0) {
						close(a);
					}
					continue;
				}
				setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				struct flow *up = calloc(1, sizeof(*up)), *down = calloc(1, sizeof(*down));
				*up = (struct flow){ .in = a, .out = b, .peer = down };
				*down = (struct flow){ .in = b, .out = a, .peer = up };
				flows[nflows++] = up;
				flows[nflows++] = down;
				struct epoll_event e1 = { .events = EPOLLIN, .data.ptr = up };
				struct epoll_event e2 = { .events = EPOLLIN, .data.ptr = down };
				epoll_ctl(ep, EPOLL_CTL_ADD, a, &e1);
				epoll_ctl(ep, EPOLL_CTL_ADD, b, &e2);
			} else {
				struct flow *f = evs[i].data.ptr;
				ssize_t got = read(f->in, buf, sizeof(buf));
				if (got <= 0) {
					/* one side closed: close both (a vanished peer, as on a real link) */
					if (!f->closed) {
						epoll_ctl(ep, EPOLL_CTL_DEL, f->in, NULL);
						epoll_ctl(ep, EPOLL_CTL_DEL, f->out, NULL);
						close(f->in);
						close(f->out);
						f->closed = f->peer->closed = true;
					}
					continue;
				}
				struct chunk *c = malloc(sizeof(*c) + (size_t)got);
				*c = (struct chunk){ .due_ns = now + delay_ns, .len = (size_t)got };
				memcpy(c->data, buf, (size_t)got);
				if (f->tail) {
					f->tail->next = c;
				} else {
					f->head = c;
				}
				f->tail = c;
			}
		}
		now = bench_now_ns();
		for (int i = 0; i < nflows; i++) {
			if (flows[i] && !flows[i]->closed) {
				flush(flows[i], now);
			}
		}
		arm(timer, next_due(flows, nflows));
	}
}
