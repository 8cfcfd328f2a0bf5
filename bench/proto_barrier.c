/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proto_barrier - a feasibility prototype for issue 2's lockstep aim
 * (docs/lockstep-transport.md): what a barrier of 1 coordinator and N participant
 * processes costs per tick on this machine, when Tick/TickDone go through an
 * XSUB/XPUB proxy process (fleetsim's topology today) or straight between
 * coordinator and participants. Raw ZeroMQ (or raw sockets), 10-byte
 * messages, no protobuf, no fleetsim code: the transport's share alone.
 *
 * Modes (run one after the other, alternating, in every round):
 *   proxy    everyone's PUB -> proxy XSUB; proxy XPUB (NODROP, no HWM) ->
 *            everyone's SUB: Tick and TickDone both cross the proxy
 *   router   coordinator ROUTER bound on ipc, participants DEALER
 *   pubpull  coordinator PUB + PULL bound, participants SUB + PUSH
 *   uds      no ZeroMQ on the control path: a SOCK_SEQPACKET Unix socket per
 *            participant, polled with zmq_poll next to a ZeroMQ SUB
 * Suffixes: +poll participants wait in zmq_poll on the control socket and
 * an idle ZeroMQ SUB (as a real participant, which also reads data from the
 * broker); +imm ZMQ_IMMEDIATE; +obs the coordinator also publishes each
 * Tick to a proxy (an observers' copy, off the barrier); +pin every process
 * (application and I/O thread) on one core.
 *
 * Per tick: p50/p99 wall time in the coordinator from sending Tick(k) to the
 * last TickDone(k); CPU time and context switches of all processes.
 *
 * Usage: proto_barrier [--ticks N] [--parts N] [--rounds N] [MODE...]
 */
#define _GNU_SOURCE /* sched_setaffinity */
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_clock.h"

#define MAX_PARTS 64

static char dir[] = "/tmp/fsbarrier.XXXXXX";

struct mode {
	const char *name;
	bool proxy, router, uds, poll, imm, obs, pin;
};

/* one control message; 'T' tick, 'D' done, 'R' ready, 'E' end */
struct msg {
	uint8_t kind;
	uint8_t id;
	uint64_t tick;
} __attribute__((packed));

static void die(const char *what)
{
	perror(what);
	_exit(1);
}

static void set_int(void *s, int opt, int v)
{
	zmq_setsockopt(s, opt, &v, sizeof(v));
}

/* a lossless socket (no HWM, no linger) bound or connected to DIR/name;
 * @sub: for SUB sockets, the subscription prefix (may be NULL) */
static void *open_sock(void *ctx, int type, const char *name, bool bind, const char *sub, bool imm)
{
	char e[256];
	snprintf(e, sizeof(e), "ipc://%s/%s", dir, name);
	void *s = zmq_socket(ctx, type);
	set_int(s, ZMQ_SNDHWM, 0);
	set_int(s, ZMQ_RCVHWM, 0);
	set_int(s, ZMQ_LINGER, 0);
	if (type == ZMQ_XPUB) {
		set_int(s, ZMQ_XPUB_NODROP, 1);
	}
	if (type == ZMQ_ROUTER) {
		set_int(s, ZMQ_ROUTER_MANDATORY, 1);
	}
	if (imm) {
		set_int(s, ZMQ_IMMEDIATE, 1);
	}
	if (sub) {
		zmq_setsockopt(s, ZMQ_SUBSCRIBE, sub, strlen(sub));
	}
	if ((bind ? zmq_bind(s, e) : zmq_connect(s, e)) < 0) {
		die(e);
	}
	return s;
}

/* a context whose I/O thread, like the calling process, runs on @cpu only */
static void *context(const struct mode *m, int cpu)
{
	void *ctx = zmq_ctx_new();
	if (m->pin) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
		zmq_ctx_set(ctx, ZMQ_THREAD_AFFINITY_CPU_ADD, cpu);
	}
	return ctx;
}

static void uds_addr(struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof(a->sun_path), "%s/ctl.sock", dir);
}

static void proxy_main(void)
{
	void *ctx = zmq_ctx_new();
	void *xsub = open_sock(ctx, ZMQ_XSUB, "pub", true, NULL, false);
	void *xpub = open_sock(ctx, ZMQ_XPUB, "sub", true, NULL, false);
	zmq_proxy(xsub, xpub, NULL);
	_exit(0);
}

/* the participant's control path: receive one message, send one */
struct ctl {
	void *in, *out; /* ZeroMQ sockets (the same one for DEALER) */
	int fd;         /* or a Unix socket, -1 if none */
	void *idle;     /* a SUB that never receives, may be NULL */
};

/* 1: a message in @t; 0: nothing yet; -1: the coordinator is gone */
static int ctl_recv(const struct mode *m, struct ctl *c, struct msg *t)
{
	if (m->poll) {
		zmq_pollitem_t items[2] = {
			{ .socket = c->fd < 0 ? c->in : NULL, .fd = c->fd, .events = ZMQ_POLLIN },
			{ .socket = c->idle, .events = ZMQ_POLLIN },
		};
		if (zmq_poll(items, c->idle ? 2 : 1, -1) < 0 || !(items[0].revents & ZMQ_POLLIN)) {
			return 0;
		}
	}
	if (c->fd >= 0) {
		ssize_t n = read(c->fd, t, sizeof(*t));
		return n == (ssize_t)sizeof(*t) ? 1 : n == 0 ? -1 : 0;
	}
	return zmq_recv(c->in, t, sizeof(*t), 0) == (int)sizeof(*t);
}

static void ctl_send(struct ctl *c, const struct msg *d)
{
	if (c->fd >= 0 ? write(c->fd, d, sizeof(*d)) < 0 : zmq_send(c->out, d, sizeof(*d), 0) < 0) {
		die("send");
	}
}

static void participant_main(const struct mode *m, int id)
{
	void *ctx = context(m, id % 2);
	struct ctl c = { .fd = -1 };
	if (m->proxy) {
		c.in = open_sock(ctx, ZMQ_SUB, "sub", false, "T", false);
		zmq_setsockopt(c.in, ZMQ_SUBSCRIBE, "E", 1);
		c.out = open_sock(ctx, ZMQ_PUB, "pub", false, NULL, false);
	} else if (m->router) {
		c.in = c.out = open_sock(ctx, ZMQ_DEALER, "ctl", false, NULL, m->imm);
	} else if (m->uds) {
		struct sockaddr_un a;
		uds_addr(&a);
		c.fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		while (connect(c.fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			usleep(1000);
		}
	} else {
		c.in = open_sock(ctx, ZMQ_SUB, "ctl", false, "", false);
		c.out = open_sock(ctx, ZMQ_PUSH, "done", false, NULL, m->imm);
	}
	if (m->poll && !m->proxy) {
		c.idle = open_sock(ctx, ZMQ_SUB, "idle", false, "x", false);
	}
	if (m->router || m->uds) {
		ctl_send(&c, &(struct msg){ 'R', (uint8_t)id, 0 });
	}
	for (;;) {
		struct msg t;
		int rc = ctl_recv(m, &c, &t);
		if (rc < 0 || (rc > 0 && t.kind == 'E')) {
			break;
		}
		if (rc > 0 && t.kind == 'T') {
			ctl_send(&c, &(struct msg){ 'D', (uint8_t)id, t.tick });
		}
	}
	_exit(0); /* no linger: nothing left to deliver */
}

/* the coordinator's side of the barrier */
struct coord {
	const struct mode *m;
	int nparts;
	void *out, *in, *obs;
	zmq_pollitem_t fds[MAX_PARTS]; /* uds: one per participant */
	uint8_t ids[MAX_PARTS][16];    /* router: the participants' identities */
	size_t id_len[MAX_PARTS];
};

static void coord_send(struct coord *c, const struct msg *t)
{
	for (int i = 0; i < c->nparts && (c->m->router || c->m->uds); i++) {
		if (c->m->uds) {
			if (write(c->fds[i].fd, t, sizeof(*t)) < 0) {
				die("write");
			}
		} else {
			zmq_send(c->out, c->ids[i], c->id_len[i], ZMQ_SNDMORE);
			zmq_send(c->out, t, sizeof(*t), 0);
		}
	}
	if (!c->m->router && !c->m->uds) {
		zmq_send(c->out, t, sizeof(*t), 0);
	}
	if (c->obs) {
		zmq_send(c->obs, t, sizeof(*t), 0);
	}
}

/* waits for the next TickDone (or Ready) and returns how many arrived */
static int coord_recv(struct coord *c, uint64_t tick)
{
	if (c->m->uds) {
		zmq_poll(c->fds, c->nparts, -1);
		int got = 0;
		for (int i = 0; i < c->nparts; i++) {
			struct msg d;
			if ((c->fds[i].revents & ZMQ_POLLIN) && read(c->fds[i].fd, &d, sizeof(d)) == (ssize_t)sizeof(d) &&
			    d.kind == 'D' && d.tick == tick) {
				got++;
			}
		}
		return got;
	}
	if (c->m->router) {
		uint8_t id[16];
		zmq_recv(c->in, id, sizeof(id), 0);
	}
	if (c->m->poll) {
		zmq_pollitem_t it = { .socket = c->in, .events = ZMQ_POLLIN };
		zmq_poll(&it, 1, -1);
	}
	struct msg d;
	return zmq_recv(c->in, &d, sizeof(d), 0) == (int)sizeof(d) && d.kind == 'D' && d.tick == tick;
}

/* until every participant is connected and hears the coordinator */
static void coord_join(struct coord *c)
{
	if (c->m->uds) {
		struct sockaddr_un a;
		uds_addr(&a);
		int ls = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, MAX_PARTS) < 0) {
			die("bind");
		}
		for (int i = 0; i < c->nparts; i++) {
			struct msg r;
			c->fds[i] = (zmq_pollitem_t){ .fd = accept(ls, NULL, NULL), .events = ZMQ_POLLIN };
			if (c->fds[i].fd < 0 || read(c->fds[i].fd, &r, sizeof(r)) < 0) {
				die("accept");
			}
		}
		close(ls);
		return;
	}
	if (c->m->router) {
		for (int i = 0; i < c->nparts; i++) {
			struct msg r;
			int n = zmq_recv(c->in, c->ids[i], sizeof(c->ids[i]), 0);
			c->id_len[i] = n > 0 ? (size_t)n : 0;
			zmq_recv(c->in, &r, sizeof(r), 0);
		}
		return;
	}
	/* PUB/SUB (slow joiners): Tick 0 until every participant answered it */
	bool seen[MAX_PARTS] = { 0 };
	int got = 0;
	while (got < c->nparts) {
		zmq_send(c->out, &(struct msg){ 'T', 0, 0 }, sizeof(struct msg), 0);
		zmq_pollitem_t it = { .socket = c->in, .events = ZMQ_POLLIN };
		for (int64_t until = bench_now_ns() + 20000000; got < c->nparts && bench_now_ns() < until;) {
			struct msg d;
			if (zmq_poll(&it, 1, 5) > 0 && zmq_recv(c->in, &d, sizeof(d), 0) == (int)sizeof(d) &&
			    d.id < MAX_PARTS && !seen[d.id]) {
				seen[d.id] = true;
				got++;
			}
		}
	}
	usleep(20000);
	struct msg d;
	while (zmq_recv(c->in, &d, sizeof(d), ZMQ_DONTWAIT) > 0) {
	}
}

static int compare_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* runs the barrier and writes "p50_ns p99_ns" to @report */
static void coordinator_main(const struct mode *m, int nparts, uint64_t ticks, int report)
{
	void *ctx = context(m, 0);
	struct coord c = { .m = m, .nparts = nparts };
	if (m->proxy) {
		c.out = open_sock(ctx, ZMQ_PUB, "pub", false, NULL, false);
		c.in = open_sock(ctx, ZMQ_SUB, "sub", false, "D", false);
	} else if (m->router) {
		c.in = c.out = open_sock(ctx, ZMQ_ROUTER, "ctl", true, NULL, false);
	} else if (!m->uds) {
		c.out = open_sock(ctx, ZMQ_PUB, "ctl", true, NULL, false);
		c.in = open_sock(ctx, ZMQ_PULL, "done", true, NULL, false);
	}
	if (m->obs) {
		c.obs = open_sock(ctx, ZMQ_PUB, "pub", false, NULL, false);
	}
	if (m->poll && !m->proxy) {
		open_sock(ctx, ZMQ_PUB, "idle", true, NULL, false);
	}
	coord_join(&c);
	int64_t *lat = malloc(ticks * sizeof(*lat));
	if (!lat) {
		die("malloc");
	}
	for (uint64_t k = 1; k <= ticks; k++) {
		int64_t t0 = bench_now_ns();
		coord_send(&c, &(struct msg){ 'T', 0, k });
		for (int got = 0; got < nparts;) {
			got += coord_recv(&c, k);
		}
		lat[k - 1] = bench_now_ns() - t0;
	}
	/* PUB/SUB has no delivery guarantee to a participant that is slow to
	 * read: repeat End */
	for (int i = 0; i < (m->router || m->uds ? 1 : 5); i++) {
		coord_send(&c, &(struct msg){ 'E', 0, 0 });
		usleep(10000);
	}
	qsort(lat, ticks, sizeof(*lat), compare_i64);
	dprintf(report, "%" PRId64 " %" PRId64 "\n", lat[ticks / 2], lat[ticks * 99 / 100]);
	usleep(50000);
	_exit(0);
}

static pid_t fork_or_die(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		die("fork");
	}
	return pid;
}

struct result {
	double p50_us, p99_us, cpu_us, switches;
};

static struct result run(const struct mode *m, int nparts, uint64_t ticks)
{
	struct rusage ru0, ru1;
	getrusage(RUSAGE_CHILDREN, &ru0);
	pid_t proxy = -1, pids[MAX_PARTS];
	if (m->proxy || m->obs) {
		if ((proxy = fork_or_die()) == 0) {
			proxy_main();
		}
		usleep(50000);
	}
	int fds[2];
	if (pipe(fds) < 0) {
		die("pipe");
	}
	/* a child, so that its CPU time counts with the others' */
	pid_t coord = fork_or_die();
	if (coord == 0) {
		coordinator_main(m, nparts, ticks, fds[1]);
	}
	close(fds[1]);
	usleep(30000);
	for (int i = 0; i < nparts; i++) {
		if ((pids[i] = fork_or_die()) == 0) {
			participant_main(m, i);
		}
	}
	int status;
	waitpid(coord, &status, 0);
	for (int i = 0; i < nparts; i++) {
		waitpid(pids[i], &status, 0);
	}
	if (proxy > 0) {
		kill(proxy, SIGKILL);
		waitpid(proxy, &status, 0);
	}
	getrusage(RUSAGE_CHILDREN, &ru1);
	char buf[128] = { 0 };
	long long p50 = 0, p99 = 0;
	if (read(fds[0], buf, sizeof(buf) - 1) > 0) {
		sscanf(buf, "%lld %lld", &p50, &p99);
	}
	close(fds[0]);
	double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e6 +
		     (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec);
	double switches = (double)(ru1.ru_nvcsw - ru0.ru_nvcsw + ru1.ru_nivcsw - ru0.ru_nivcsw);
	return (struct result){ (double)p50 / 1e3, (double)p99 / 1e3, cpu / (double)ticks, switches / (double)ticks };
}

int main(int argc, char **argv)
{
	static const struct mode all[] = {
		{ "proxy", .proxy = true },
		{ "proxy+poll", .proxy = true, .poll = true },
		{ "router", .router = true },
		{ "router+poll", .router = true, .poll = true },
		{ "router+poll+pin", .router = true, .poll = true, .pin = true },
		{ "router+poll+obs", .router = true, .poll = true, .obs = true },
		{ "router+imm", .router = true, .imm = true },
		{ "pubpull", .poll = false },
		{ "pubpull+poll", .poll = true },
		{ "pubpull+imm", .imm = true },
		{ "uds+poll", .uds = true, .poll = true },
	};
	const size_t nall = sizeof(all) / sizeof(all[0]);
	uint64_t ticks = 20000;
	int nparts = 6, rounds = 3;
	const struct mode *sel[32];
	size_t nsel = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--ticks") && i + 1 < argc) {
			ticks = strtoull(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--parts") && i + 1 < argc) {
			nparts = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			rounds = atoi(argv[++i]);
		} else {
			size_t j = 0;
			while (j < nall && strcmp(argv[i], all[j].name)) {
				j++;
			}
			if (j == nall || nsel == sizeof(sel) / sizeof(sel[0])) {
				fprintf(stderr, "usage: proto_barrier [--ticks N] [--parts N] [--rounds N] [MODE...]\n");
				return 2;
			}
			sel[nsel++] = &all[j];
		}
	}
	if (ticks < 1 || nparts < 1 || nparts > MAX_PARTS) {
		fprintf(stderr, "proto_barrier: --ticks >= 1, --parts 1..%d\n", MAX_PARTS);
		return 2;
	}
	if (nsel == 0) {
		for (nsel = 0; nsel < nall; nsel++) {
			sel[nsel] = &all[nsel];
		}
	}
	if (!mkdtemp(dir)) {
		die("mkdtemp");
	}
	double la[3];
	getloadavg(la, 3);
	printf("proto_barrier: %d participants, %" PRIu64 " ticks, %d rounds, load average %.2f\n", nparts, ticks,
	       rounds, la[0]);
	for (int r = 0; r < rounds; r++) {
		for (size_t s = 0; s < nsel; s++) {
			struct result res = run(sel[s], nparts, ticks);
			getloadavg(la, 3);
			printf("round %d %-16s p50 %6.1f us  p99 %7.1f us  cpu/tick %6.1f us  switches/tick %5.1f  load %.2f\n",
			       r, sel[s]->name, res.p50_us, res.p99_us, res.cpu_us, res.switches, la[0]);
			fflush(stdout);
		}
	}
	char path[sizeof(dir) + 16];
	snprintf(path, sizeof(path), "%s/ctl.sock", dir);
	unlink(path);
	const char *names[] = { "pub", "sub", "ctl", "done", "idle" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}
