/*
 * defrost-fast-restore: `defrost restore` without starting Node, when a launch plan allows it.
 *
 * Why C and not the TypeScript command line: a restore is on the critical path of every start,
 * and on small machines starting Node and loading the command line costs ~75 ms (~165 ms when
 * NODE_EXTRA_CA_CERTS is set: Node 20 parses the bundle before running any code), more than
 * CRIU's own restore of a warmed-up Fastify server. This program starts in about a millisecond.
 *
 * It is deliberately small. It never decides anything the full path has not decided before:
 * it runs the launch plan (packages/core/src/restore/launch-plan.ts) that the full path wrote
 * after it verified the image and restored it, and only while every file the plan relied on is
 * unchanged (device, inode, size, mtime and ctime). Everything else goes to the full command line
 * (`node dist/bin.js restore ...`, same arguments): another option, a changed image, a missing or
 * foreign plan, and any failure before the server reported ready (the full path then restores
 * again, explains what went wrong, and runs --fallback if asked).
 *
 * Once the server is ready it behaves like the full path: it prints "defrost: restored DIR in N ms
 * (pid P)", forwards SIGINT/SIGTERM/SIGHUP to the server, and exits with the server's status
 * (128+N for signal N) once the copy's private directory is removed.
 *
 * One file per phase: args.c (the command line), plan.c (the plan check), settings.c (the
 * restore-time settings), spawn.c (the copy's directory, descriptors and command), supervise.c
 * (ready, signals, exit status), handover.c (the hand-over to the full path). This file only
 * runs them in order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "common.h"
#include "handover.h"
#include "plan.h"
#include "spawn.h"
#include "supervise.h"

/* The wall-clock start, for the copy's startedAtEpochMs (it measures its own resume from it). */
static long long epoch_ms(void) {
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  return (long long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
  double started = monotonic_ms();
  long long started_epoch_ms = epoch_ms();
  if (handover_init(argv) != 0) return 1;
  struct args a;
  parse_args(argc, argv, &a);

  char image[PATH_MAX], plan_file[PATH_MAX + 64];
  struct plan p;
  locate_plan(a.dir, image, plan_file, sizeof plan_file);
  parse_plan(read_plan(plan_file), &p);
  check_plan_applies(&p, image, plan_file, a.signing_key_file);

  struct copy copy;
  prepare_copy(&copy, &a, &p, started_epoch_ms);
  struct supervision s = {.signals = open_signals(), .control = -1};
  if (s.signals < 0) {
    remove_tree(copy.work);
    full_path("signalfd: %s", strerror(errno));
  }
  debug("fast path: launch plan %s", plan_file);
  double spawned = monotonic_ms();
  spawn_copy(&copy);
  s.child = copy.pid;
  s.control = copy.control[0];

  const char *failure = wait_until_ready(&s, started + READY_TIMEOUT_MS);
  long server = s.ready ? server_pid_below(s.child, p.server_pid) : -1;
  if (s.ready && server < 0) failure = "the restored server vanished right after reporting ready";
  if (failure) return abandon_copy(&s, copy.work, failure);

  double ready_at = monotonic_ms();
  debug("fast path: %.1f ms to check the plan and prepare, %.1f ms from launch to ready", spawned - started,
        ready_at - spawned);
  report_restored(a.dir, ready_at - started, server);
  return supervise_until_exit(&s, server, copy.work);
}
