/* Supervising the copy: until it reports ready, then until it exits. */
#ifndef DEFROST_SUPERVISE_H
#define DEFROST_SUPERVISE_H

#include <sys/types.h>

#define READY_TIMEOUT_MS 30000

struct supervision {
  int signals; /* signalfd of SIGINT, SIGTERM, SIGHUP and SIGCHLD */
  int control; /* read end of the copy's control pipe; -1 once every writer is gone */
  pid_t child; /* the namespace command */
  int child_status, child_done;
  int ready;   /* the copy sent its ready event */
  int pending; /* a stop signal that came before ready, forwarded once there is a server */
};

/* Blocks the signals the supervisor handles and returns a signalfd for them (-1 on failure). */
int open_signals(void);

/* Waits for the copy's ready event until `deadline` (monotonic ms). NULL once ready, else why not. */
const char *wait_until_ready(struct supervision *s, double deadline);

/* The restored server among the launcher's descendants, by the PID it had when frozen; -1 if gone. */
long server_pid_below(long launcher, long frozen_pid);

/* After a failure before ready: stops the copy, removes `work` and hands over to the full path,
 * or returns 128+N when signal N asked to stop meanwhile (the user wants no restore then). */
int abandon_copy(struct supervision *s, const char *work, const char *failure);

/* Prints the full path's "restored" line (green on a terminal, as the full path does). */
void report_restored(const char *dir, double ms, long server);

/* Once ready: forwards stop signals to `server` until the copy exits, removes `work`, and returns
 * the server's status (128+N for signal N), as the full path does. */
int supervise_until_exit(struct supervision *s, long server, const char *work);

#endif
