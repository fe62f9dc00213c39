/* The copy: its private directory, its descriptors and the namespace command that restores it. */
#ifndef DEFROST_SPAWN_H
#define DEFROST_SPAWN_H

#include <limits.h>
#include <sys/types.h>

#include "args.h"
#include "plan.h"

/* Descriptor layout of the restore command (inheritedDescriptors() in criu-restore-command.ts). */
enum { FD_STDOUT = 3, FD_STDERR = 4, FD_SETTINGS = 5, FD_CONTROL = 6, FD_IMAGES = 7, FD_JANITOR = 8, FD_COUNT = 9 };

struct copy {
  char work[PATH_MAX]; /* the copy's private directory: CRIU's log, the settings */
  char settings_file[PATH_MAX + 32];
  char kdat_env[PATH_MAX + 32];
  int settings_fd, image_fd, null_fd, output_fd;
  int control[2]; /* the copy writes its events to [1]; the supervisor reads [0] */
  /* The command's janitor reads [0] and removes the private directory at end-of-file, i.e. once
   * this process is gone however it went (SIGKILL included); [1] stays open here until then. */
  int janitor[2];
  char **command, **env;
  pid_t pid;
};

/* Creates the private directory, writes the settings (0600: they may hold secrets), opens every
 * descriptor the command inherits and builds the command of the plan's variant (eager or lazy).
 * Hands over, leaving no directory behind, when any of it fails. */
void prepare_copy(struct copy *c, const struct args *a, const struct plan *p, long long started_epoch_ms);

/* Starts the command with the descriptor layout above; closes and unlinks what only the child
 * needs. Hands over when fork fails. */
void spawn_copy(struct copy *c);

/* Removes the private directory and everything in it (best effort). */
void remove_tree(const char *dir);

#endif
