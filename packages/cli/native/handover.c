/*
 * The hand-over to the full command line. The fast path never explains a refusal itself: the
 * full path checks everything again and says what is wrong far better, so anything this program
 * cannot serve is run there with the same arguments.
 */
#define _GNU_SOURCE
#include "handover.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char **original_argv;
static int debug_enabled;
/* The mask this program was started with: the full path must not inherit the signals the
 * supervisor blocked for its signalfd. */
static sigset_t original_mask;
static char self_dir[PATH_MAX];

int handover_init(char **argv) {
  original_argv = argv;
  /* As the full path (Node ignores SIGPIPE): a closed stderr must not kill the supervisor, and
   * with it the copy. The child gets the default back before exec. */
  signal(SIGPIPE, SIG_IGN);
  const char *debug_env = getenv("DEFROST_DEBUG");
  debug_enabled = debug_env && strcmp(debug_env, "1") == 0;
  sigprocmask(SIG_SETMASK, NULL, &original_mask);
  ssize_t self = readlink("/proc/self/exe", self_dir, sizeof self_dir - 1);
  if (self <= 0) {
    fprintf(stderr, "defrost: error: cannot find this program (/proc/self/exe): %s\n", strerror(errno));
    return -1;
  }
  self_dir[self] = '\0';
  *strrchr(self_dir, '/') = '\0';
  return 0;
}

void debug(const char *format, ...) {
  if (!debug_enabled) return;
  va_list ap;
  va_start(ap, format);
  fputs("defrost: debug: ", stderr);
  vfprintf(stderr, format, ap);
  fputc('\n', stderr);
  va_end(ap);
}

_Noreturn void full_path(const char *format, ...) {
  char reason[1024];
  va_list ap;
  va_start(ap, format);
  vsnprintf(reason, sizeof reason, format, ap);
  va_end(ap);
  debug("full path: %s", reason);
  int argc = 0;
  while (original_argv[argc]) argc++;
  char script[PATH_MAX + 16];
  snprintf(script, sizeof script, "%s/bin.js", self_dir);
  char **args = calloc((size_t)argc + 3, sizeof *args);
  if (!args) {
    fputs("defrost: error: out of memory\n", stderr);
    exit(1);
  }
  args[0] = "node";
  args[1] = "--";
  args[2] = script;
  for (int i = 1; i < argc; i++) args[i + 2] = original_argv[i];
  sigprocmask(SIG_SETMASK, &original_mask, NULL);
  signal(SIGPIPE, SIG_DFL);
  execvp("node", args);
  fprintf(stderr, "defrost: error: cannot start node to run %s: %s; is Node.js on PATH?\n", script,
          strerror(errno));
  exit(1);
}
