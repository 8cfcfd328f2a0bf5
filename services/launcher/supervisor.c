/* SPDX-License-Identifier: Apache-2.0 */
/* supervisor - child processes of a run (see supervisor.h). */
#define _GNU_SOURCE /* memrchr, pipe2 */
#include <errno.h>
#include <fcntl.h>
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
	s->log_fd = s->log_wr = -1;
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

int supervisor_capture_logs(struct supervisor *s)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		return -errno;
	}
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	s->log_fd = fds[0];
	s->log_wr = fds[1];
	return 0;
}

static void write_all(const char *text, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, text, len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return;
		}
		text += n;
		len -= (size_t)n;
	}
}

static void draw_progress(const struct supervisor *s)
{
	if (s->progress[0]) {
		write_all("\r\033[K", 4);
		write_all(s->progress, strlen(s->progress));
	}
}

void supervisor_progress(struct supervisor *s, const char *line)
{
	snprintf(s->progress, sizeof(s->progress), "%s", line);
	draw_progress(s);
}

void supervisor_progress_end(struct supervisor *s, const char *line)
{
	supervisor_progress(s, line);
	write_all("\n", 1);
	s->progress[0] = '\0';
}

void supervisor_relay_logs(struct supervisor *s, bool flush)
{
	if (s->log_fd < 0) {
		return;
	}
	bool wrote = false;
	for (;;) {
		ssize_t n = read(s->log_fd, s->log_buf + s->log_len, sizeof(s->log_buf) - s->log_len);
		if (n > 0) {
			s->log_len += (size_t)n;
		}
		/* complete lines, or everything when flushing or when one line fills the buffer */
		char *end = memrchr(s->log_buf, '\n', s->log_len);
		size_t take = end ? (size_t)(end - s->log_buf) + 1 : 0;
		if (!take && s->log_len && (flush || s->log_len == sizeof(s->log_buf))) {
			take = s->log_len;
		}
		if (take) {
			if (s->progress[0] && !wrote) {
				write_all("\r\033[K", 4); /* the children's lines go above the progress line */
			}
			write_all(s->log_buf, take);
			if (s->log_buf[take - 1] != '\n') {
				write_all("\n", 1);
			}
			memmove(s->log_buf, s->log_buf + take, s->log_len - take);
			s->log_len -= take;
			wrote = true;
		}
		if (n <= 0 && !(n < 0 && errno == EINTR)) {
			break;
		}
	}
	if (wrote) {
		draw_progress(s);
	}
}

void supervisor_finish(struct supervisor *s)
{
	supervisor_relay_logs(s, true);
	if (s->log_fd >= 0) {
		close(s->log_fd);
		close(s->log_wr);
	}
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
		if (s->log_wr >= 0) {
			dup2(s->log_wr, STDERR_FILENO);
		}
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

void supervisor_poll(struct supervisor *s, int timeout_ms)
{
	struct pollfd pfd[2] = { { .fd = s->signal_fd, .events = POLLIN }, { .fd = s->log_fd, .events = POLLIN } };
	poll(pfd, s->log_fd >= 0 ? 2 : 1, timeout_ms);
	drain_signals(s);
	supervisor_relay_logs(s, false);
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
		supervisor_poll(s, left > 50 ? 50 : (int)left);
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
		supervisor_poll(s, 20);
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
