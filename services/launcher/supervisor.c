/* SPDX-License-Identifier: Apache-2.0 */
/* supervisor - child processes of a run (see supervisor.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs_clock.h"
#include "fs_log.h"
#include "supervisor.h"

static sigset_t handled, saved_mask;

int supervisor_init(struct supervisor *s)
{
	memset(s, 0, sizeof(*s));
	sigemptyset(&handled);
	sigaddset(&handled, SIGCHLD);
	sigaddset(&handled, SIGINT);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &handled, &saved_mask) < 0) {
		return -errno;
	}
	s->signal_fd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
	return s->signal_fd < 0 ? -errno : 0;
}

void supervisor_finish(struct supervisor *s)
{
	if (s->signal_fd >= 0) {
		close(s->signal_fd);
	}
	sigprocmask(SIG_SETMASK, &saved_mask, NULL);
}

struct child *supervisor_spawn(struct supervisor *s, const char *name, enum child_kind kind, char *const argv[])
{
	if (s->count >= SUPERVISOR_MAX_CHILDREN) {
		fs_error("too many processes (limit %d)", SUPERVISOR_MAX_CHILDREN);
		return NULL;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		fs_error("cannot start %s: %s", name, strerror(errno));
		return NULL;
	}
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) {
			_exit(127); /* the launcher died before we set PDEATHSIG */
		}
		sigprocmask(SIG_SETMASK, &saved_mask, NULL);
		execv(argv[0], argv);
		fprintf(stderr, "fleetsim: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid); /* also here, so there is no window where it is in ours */
	struct child *c = &s->children[s->count++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->kind = kind;
	c->pid = pid;
	c->running = true;
	return c;
}

int supervisor_reap(struct supervisor *s, struct child **ret_ended, int max)
{
	int n = 0, status;
	pid_t pid;
	struct rusage usage;
	while ((pid = wait4(-1, &status, WNOHANG, &usage)) > 0) {
		for (int i = 0; i < s->count; i++) {
			struct child *c = &s->children[i];
			if (c->pid == pid && c->running) {
				c->running = false;
				c->status = status;
				c->usage = usage;
				if (ret_ended && n < max) {
					ret_ended[n] = c;
				}
				n++;
			}
		}
	}
	return n;
}

int supervisor_running(const struct supervisor *s, enum child_kind kind)
{
	int n = 0;
	for (int i = 0; i < s->count; i++) {
		n += s->children[i].running && s->children[i].kind == kind;
	}
	return n;
}

static int running_total(const struct supervisor *s)
{
	int n = 0;
	for (int i = 0; i < s->count; i++) {
		n += s->children[i].running;
	}
	return n;
}

/* Read every pending signal: SIGCHLD only wakes us (supervisor_reap() asks), stop signals are counted. */
static void drain_signals(struct supervisor *s)
{
	struct signalfd_siginfo info;
	while (read(s->signal_fd, &info, sizeof(info)) == sizeof(info)) {
		if (info.ssi_signo != SIGCHLD) {
			s->stops++;
		}
	}
}

int supervisor_take_stops(struct supervisor *s)
{
	drain_signals(s);
	int n = s->stops;
	s->stops = 0;
	return n;
}

bool supervisor_wait(struct supervisor *s, struct child *c, int timeout_ms)
{
	int64_t deadline = fs_clock_now_ms() + timeout_ms;
	while (c->running) {
		supervisor_reap(s, NULL, 0);
		if (!c->running) {
			break;
		}
		int64_t left = deadline - fs_clock_now_ms();
		if (left <= 0) {
			return false;
		}
		struct pollfd pfd = { .fd = s->signal_fd, .events = POLLIN };
		poll(&pfd, 1, left > 50 ? 50 : (int)left);
		drain_signals(s);
	}
	return true;
}

void supervisor_stop_all(struct supervisor *s, int grace_ms)
{
	for (int i = 0; i < s->count; i++) {
		if (s->children[i].running) {
			kill(s->children[i].pid, SIGTERM);
			kill(s->children[i].pid, SIGCONT); /* a stopped one (kill -STOP) then ends as asked */
		}
	}
	int64_t deadline = fs_clock_now_ms() + grace_ms;
	while (running_total(s) && fs_clock_now_ms() < deadline) {
		supervisor_reap(s, NULL, 0);
		struct pollfd pfd = { .fd = s->signal_fd, .events = POLLIN };
		poll(&pfd, 1, 20);
		drain_signals(s);
	}
	for (int i = 0; i < s->count; i++) {
		if (s->children[i].running) {
			fs_warn("%s (pid %d) did not stop; killing it", s->children[i].name, (int)s->children[i].pid);
			kill(s->children[i].pid, SIGKILL);
		}
	}
	while (running_total(s)) {
		int status;
		struct rusage usage;
		pid_t pid = wait4(-1, &status, 0, &usage);
		if (pid < 0) {
			break;
		}
		for (int i = 0; i < s->count; i++) {
			if (s->children[i].pid == pid) {
				s->children[i].running = false;
				s->children[i].status = status;
				s->children[i].usage = usage;
			}
		}
	}
}

const char *supervisor_describe(int status, char *buf, size_t size)
{
	if (WIFEXITED(status)) {
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		snprintf(buf, size, "was killed by signal %d (%s)%s", WTERMSIG(status), strsignal(WTERMSIG(status)),
			 WCOREDUMP(status) ? ", core dumped" : "");
	} else {
		snprintf(buf, size, "ended with wait status 0x%x", status);
	}
	return buf;
}
