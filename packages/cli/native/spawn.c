/*
 * Spawning the copy: the same namespace command (setpriv, unshare, the prelude, criu restore) the
 * full path runs, taken from the plan, with the same descriptor layout. Nothing here decides what
 * to run; the plan holds the full path's restoreCommand() output, with @WORK@ for the private
 * directory that only exists now.
 */
#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handover.h"
#include "settings.h"

#define WORK_PLACEHOLDER "@WORK@"

extern char **environ;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

void remove_tree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* `s` with every @WORK@ replaced by the private directory (malloc'ed). */
static char *replace_work(const char *s, const char *work) {
  size_t count = 0;
  for (const char *at = s; (at = strstr(at, WORK_PLACEHOLDER)); at += strlen(WORK_PLACEHOLDER)) count++;
  size_t length = strlen(s) + count * strlen(work) + 1;
  char *out = malloc(length), *o = out;
  if (!out) full_path("out of memory");
  for (const char *at; (at = strstr(s, WORK_PLACEHOLDER)); s = at + strlen(WORK_PLACEHOLDER)) {
    memcpy(o, s, (size_t)(at - s));
    o += at - s;
    o += sprintf(o, "%s", work);
  }
  strcpy(o, s);
  return out;
}

/* environ, with the plan's variables set (replacing any of the same name). */
static char **child_environment(const char **extra, int extra_count) {
  int n = 0;
  while (environ[n]) n++;
  char **env = calloc((size_t)(n + extra_count + 1), sizeof *env);
  if (!env) full_path("out of memory");
  int count = 0;
  for (int i = 0; i < n; i++) {
    size_t name = strcspn(environ[i], "=");
    int replaced = 0;
    for (int j = 0; j < extra_count && !replaced; j++)
      replaced = strncmp(extra[j], environ[i], name) == 0 && extra[j][name] == '=';
    if (!replaced) env[count++] = environ[i];
  }
  for (int j = 0; j < extra_count; j++) env[count++] = (char *)extra[j];
  return env;
}

/* Under TMPDIR, as the full path's (os.tmpdir()); mkdtemp makes it 0700. */
static void make_private_dir(struct copy *c) {
  const char *tmp = getenv("TMPDIR");
  snprintf(c->work, sizeof c->work, "%s/defrost-restore-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(c->work)) full_path("cannot create a directory in %s: %s", tmp && *tmp ? tmp : "/tmp", strerror(errno));
}

/* The settings file is written, closed and opened again read-only: the copy reads it through
 * descriptor 5 with positional reads, and must not be able to change it. */
static void open_descriptors(struct copy *c, const char *image, const char *settings) {
  char output_file[PATH_MAX + 32];
  snprintf(c->settings_file, sizeof c->settings_file, "%s/settings.json", c->work);
  snprintf(output_file, sizeof output_file, "%s/criu-output.log", c->work);
  c->settings_fd = open(c->settings_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  c->control[0] = c->control[1] = -1;
  c->image_fd = open(image, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  c->null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  c->output_fd = open(output_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int ok = c->settings_fd >= 0 && write(c->settings_fd, settings, strlen(settings)) == (ssize_t)strlen(settings);
  if (c->settings_fd >= 0) close(c->settings_fd);
  c->settings_fd = open(c->settings_file, O_RDONLY | O_CLOEXEC);
  if (!ok || c->settings_fd < 0 || c->image_fd < 0 || c->null_fd < 0 || c->output_fd < 0 ||
      pipe2(c->control, O_CLOEXEC) != 0 || pipe2(c->janitor, O_CLOEXEC) != 0) {
    int saved = errno;
    remove_tree(c->work);
    full_path("cannot prepare the restore in %s: %s", c->work, strerror(saved));
  }
}

static void build_command(struct copy *c, const struct args *a, const struct plan *p) {
  const char *const *plan_args = a->lazy_pages ? p->lazy_args : p->eager_args;
  int plan_arg_count = a->lazy_pages ? p->lazy_arg_count : p->eager_arg_count;
  const char *const *plan_env = a->lazy_pages ? p->lazy_env : p->eager_env;
  int plan_env_count = a->lazy_pages ? p->lazy_env_count : p->eager_env_count;
  c->command = calloc((size_t)plan_arg_count + 1, sizeof *c->command);
  const char *extra_env[MAX_LIST + 1];
  if (!c->command) full_path("out of memory");
  for (int i = 0; i < plan_arg_count; i++) c->command[i] = replace_work(plan_args[i], c->work);
  for (int i = 0; i < plan_env_count; i++) extra_env[i] = replace_work(plan_env[i], c->work);
  /* CRIU's kernel-feature cache: loaded when there is one, else saved by the action script. */
  struct stat kdat;
  int have_kdat = stat(p->kdat, &kdat) == 0 && S_ISREG(kdat.st_mode) && kdat.st_size > 0;
  snprintf(c->kdat_env, sizeof c->kdat_env, "%s=%s", have_kdat ? "DEFROST_KDAT_LOAD" : "DEFROST_KDAT_SAVE", p->kdat);
  extra_env[plan_env_count] = c->kdat_env;
  c->env = child_environment(extra_env, plan_env_count + 1);
}

void prepare_copy(struct copy *c, const struct args *a, const struct plan *p, long long started_epoch_ms) {
  make_private_dir(c);
  char *settings = settings_json(a, started_epoch_ms);
  open_descriptors(c, p->image, settings);
  free(settings);
  build_command(c, a, p);
}

/* In the child: descriptors 0-7 as the restore command expects them, nothing else open. Parked
 * above 64 first, so that no dup2 overwrites a source a later one still needs. */
static void arrange_descriptors(const int sources[FD_COUNT]) {
  int parked[FD_COUNT];
  for (int i = 0; i < FD_COUNT; i++)
    if ((parked[i] = fcntl(sources[i], F_DUPFD, 64)) < 0) _exit(126);
  for (int i = 0; i < FD_COUNT; i++)
    if (dup2(parked[i], i) < 0) _exit(126);
  if (close_range(FD_COUNT, ~0U, 0) != 0)
    for (int fd = FD_COUNT; fd < 1024; fd++) close(fd);
}

void spawn_copy(struct copy *c) {
  c->pid = fork();
  if (c->pid == 0) {
    /* The supervisor's blocked signals and ignored SIGPIPE are not the copy's. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    const int sources[FD_COUNT] = {c->null_fd,      c->output_fd,  c->output_fd, 1, 2, c->settings_fd,
                                   c->control[1], c->image_fd, c->janitor[0]};
    arrange_descriptors(sources);
    execvpe(c->command[0], c->command, c->env);
    _exit(127);
  }
  int saved_errno = errno;
  close(c->settings_fd);
  close(c->control[1]);
  close(c->janitor[0]);
  close(c->image_fd);
  close(c->null_fd);
  close(c->output_fd);
  /* The child holds it open; unlinked now, the secrets in it leave no file behind, even on SIGKILL. */
  unlink(c->settings_file);
  if (c->pid < 0) {
    remove_tree(c->work);
    full_path("fork: %s", strerror(saved_errno));
  }
}
