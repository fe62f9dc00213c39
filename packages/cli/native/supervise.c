/*
 * Supervision. Signals are read from a signalfd rather than handled: none is lost between two
 * checks and none interrupts a system call. Until the copy reports ready, any failure stops it and
 * goes to the full path, which restores again and explains; after ready, this program only passes
 * stop signals on and waits, as the full path's supervisor does.
 */
#define _GNU_SOURCE
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "handover.h"
#include "spawn.h"

/* The copy's events, one JSON line each; no event of ours is this long. */
struct event_lines {
  char text[8192];
  size_t length;
};

int open_signals(void) {
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGHUP);
  sigaddset(&handled, SIGCHLD);
  sigprocmask(SIG_BLOCK, &handled, NULL);
  return signalfd(-1, &handled, SFD_CLOEXEC);
}

/* A signal before ready: the child's end is a failure, a stop request is kept for later. */
static const char *take_signal(struct supervision *s) {
  struct signalfd_siginfo info;
  if (read(s->signals, &info, sizeof info) != sizeof info) return NULL;
  if (info.ssi_signo != SIGCHLD) {
    s->pending = (int)info.ssi_signo;
    return NULL;
  }
  if (waitpid(s->child, &s->child_status, WNOHANG) != s->child) return NULL;
  s->child_done = 1;
  return "the restore command ended before the server was ready";
}

/* Reads what the copy wrote to the control pipe; sets s->ready on its ready event. NULL unless
 * it reported a failure. Only the event's prefix is matched: its fields are the full path's to read. */
static const char *take_events(struct supervision *s, struct event_lines *lines) {
  const char *failure = NULL;
  ssize_t n = read(s->control, lines->text + lines->length, sizeof lines->text - 1 - lines->length);
  if (n <= 0) {
    close(s->control); /* every writer is gone: the exit follows */
    s->control = -1;
    return NULL;
  }
  lines->length += (size_t)n;
  lines->text[lines->length] = '\0';
  char *newline;
  while ((newline = strchr(lines->text, '\n'))) {
    *newline = '\0';
    if (starts_with(lines->text, "{\"event\":\"ready\"")) s->ready = 1;
    else if (starts_with(lines->text, "{\"event\":\"failed\"")) failure = "the restored server failed while resuming";
    lines->length -= (size_t)(newline + 1 - lines->text);
    memmove(lines->text, newline + 1, lines->length + 1);
  }
  if (lines->length == sizeof lines->text - 1) lines->length = 0; /* not ours: no event is that long */
  return failure;
}

const char *wait_until_ready(struct supervision *s, double deadline) {
  struct event_lines lines = {.length = 0};
  const char *failure = NULL;
  while (!s->ready && !failure) {
    struct pollfd fds[2] = {{.fd = s->signals, .events = POLLIN}, {.fd = s->control, .events = POLLIN}};
    int left = (int)(deadline - monotonic_ms());
    if (left <= 0) return "the restored server did not report ready in time";
    if (poll(fds, s->control >= 0 ? 2 : 1, left) < 0 && errno != EINTR) return "poll failed";
    if (fds[0].revents & POLLIN) failure = take_signal(s);
    if (s->control >= 0 && fds[1].revents & (POLLIN | POLLHUP)) {
      const char *reported = take_events(s, &lines);
      if (reported) failure = reported;
    }
  }
  return failure;
}

/* The PID this process has in its innermost namespace (last NSpid field). */
static long innermost_pid(long pid) {
  char path[64], text[4096];
  snprintf(path, sizeof path, "/proc/%ld/status", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return -1;
  text[n] = '\0';
  char *line = strstr(text, "\nNSpid:");
  if (!line) return -1;
  char *end = strchr(line + 1, '\n');
  if (end) *end = '\0';
  char *last = strrchr(line, '\t');
  if (!last) last = strrchr(line, ' ');
  return last ? atol(last + 1) : -1;
}

/* Breadth first over /proc/PID/task/PID/children: the server is a few levels down (setpriv,
 * unshare, the prelude shell, the reaper). */
long server_pid_below(long launcher, long frozen_pid) {
  long queue[256];
  int head = 0, tail = 0;
  queue[tail++] = launcher;
  while (head < tail) {
    long pid = queue[head++];
    char path[80], text[4096];
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", pid, pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) continue;
    text[n] = '\0';
    for (char *s = text, *end; *s; s = end) {
      long child = strtol(s, &end, 10);
      if (end == s) break;
      if (innermost_pid(child) == frozen_pid) return child;
      if (tail < 256) queue[tail++] = child;
    }
  }
  return -1;
}

int abandon_copy(struct supervision *s, const char *work, const char *failure) {
  if (!s->child_done) {
    kill(s->child, SIGKILL); /* unshare --kill-child takes the copy's namespace with it */
    waitpid(s->child, &s->child_status, 0);
  }
  remove_tree(work);
  if (s->pending) return 128 + s->pending; /* the user asked to stop while it was restoring */
  full_path("%s", failure);
}

/* As the full path's colors: NO_COLOR, FORCE_COLOR, then whether stderr is a terminal. */
static int color_enabled(void) {
  const char *no_color = getenv("NO_COLOR"), *force = getenv("FORCE_COLOR"), *term = getenv("TERM");
  if (no_color && *no_color) return 0;
  if (force && *force && strcmp(force, "0") != 0 && strcmp(force, "false") != 0) return 1;
  return isatty(2) && !(term && strcmp(term, "dumb") == 0);
}

void report_restored(const char *dir, double ms, long server) {
  const char *green = color_enabled() ? "\x1b[32m" : "", *reset = *green ? "\x1b[39m" : "";
  fprintf(stderr, "%sdefrost: restored %s in %.0f ms (pid %ld)%s\n", green, dir, ms, server, reset);
}

static int status_of(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

int supervise_until_exit(struct supervision *s, long server, const char *work) {
  if (s->pending) kill((pid_t)server, s->pending);
  if (s->control >= 0) close(s->control);
  for (;;) {
    struct signalfd_siginfo info;
    if (read(s->signals, &info, sizeof info) != sizeof info) {
      if (errno == EINTR) continue;
      waitpid(s->child, &s->child_status, 0);
      break;
    }
    if (info.ssi_signo != SIGCHLD) kill((pid_t)server, (int)info.ssi_signo);
    else if (waitpid(s->child, &s->child_status, WNOHANG) == s->child) break;
  }
  remove_tree(work);
  return status_of(s->child_status);
}
