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
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PLAN_FORMAT "defrost-launch-plan 1"
#define WORK_PLACEHOLDER "@WORK@"
#define MAX_PLAN_BYTES (1 << 20)
#define MAX_LIST 512
#define READY_TIMEOUT_MS 30000
/* Descriptor layout of the restore command (see launch-plan.ts). */
enum { FD_STDOUT = 3, FD_STDERR = 4, FD_SETTINGS = 5, FD_CONTROL = 6, FD_IMAGES = 7, FD_COUNT = 8 };

static char **original_argv;
static int debug_enabled;
static sigset_t original_mask;
static char self_dir[PATH_MAX];

static void debug(const char *format, ...) {
  if (!debug_enabled) return;
  va_list ap;
  va_start(ap, format);
  fputs("defrost: debug: ", stderr);
  vfprintf(stderr, format, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* Hands the command, unchanged, to the full command line. */
static _Noreturn void full_path(const char *format, ...) {
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

static double monotonic_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* ---------------------------------------------------------------------------------------------
 * Arguments: the options the full path accepts that a plan can serve; anything else goes there. */

struct env_pair {
  const char *key;
  size_t key_length;
  const char *value;
};

struct args {
  const char *dir;
  long port; /* -1: none */
  struct env_pair env[MAX_LIST];
  int env_count;
  int lazy_pages;
};

static int valid_utf8(const unsigned char *s) {
  while (*s) {
    int extra = *s < 0x80 ? 0 : (*s >> 5) == 0x6 ? 1 : (*s >> 4) == 0xe ? 2 : (*s >> 3) == 0x1e ? 3 : -1;
    if (extra < 0) return 0;
    s++;
    for (int i = 0; i < extra; i++, s++)
      if ((*s & 0xc0) != 0x80) return 0;
  }
  return 1;
}

static int is_name_start(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* As ENV_NAME in src/options.ts: letters, digits and _, not starting with a digit. */
static int env_name_ok(const char *s, size_t n) {
  if (n == 0 || !is_name_start(s[0])) return 0;
  for (size_t i = 1; i < n; i++)
    if (!is_name_start(s[i]) && !(s[i] >= '0' && s[i] <= '9')) return 0;
  return 1;
}

static void add_env(struct args *a, const char *pair) {
  const char *eq = strchr(pair, '=');
  if (!eq || !env_name_ok(pair, (size_t)(eq - pair))) full_path("--env %s is not KEY=VALUE", pair);
  if (!valid_utf8((const unsigned char *)eq + 1)) full_path("--env %.*s: the value is not UTF-8", (int)(eq - pair), pair);
  if (a->env_count == MAX_LIST) full_path("more than %d --env options", MAX_LIST);
  a->env[a->env_count++] = (struct env_pair){pair, (size_t)(eq - pair), eq + 1};
}

static void set_port(struct args *a, const char *value) {
  size_t n = strlen(value);
  if (n == 0 || n > 5 || strspn(value, "0123456789") != n || atol(value) > 65535)
    full_path("--port %s is not a port", value);
  a->port = atol(value);
}

static void parse_args(int argc, char **argv, struct args *a) {
  a->dir = NULL;
  a->port = -1;
  a->env_count = 0;
  a->lazy_pages = 0;
  int fallback = 0, command = 0;
  if (argc < 2 || strcmp(argv[1], "restore") != 0) full_path("not a restore");
  for (int i = 2; i < argc; i++) {
    const char *arg = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(arg, "--") == 0) {
      command = argc - i - 1;
      break;
    } else if (strcmp(arg, "--lazy-pages") == 0) {
      a->lazy_pages = 1;
    } else if (strcmp(arg, "--fallback") == 0) {
      fallback = 1; /* only acted on by the full path, which every failure goes to */
    } else if ((strcmp(arg, "-p") == 0 || strcmp(arg, "--port") == 0) && next) {
      set_port(a, next);
      i++;
    } else if (starts_with(arg, "--port=")) {
      set_port(a, arg + 7);
    } else if ((strcmp(arg, "-e") == 0 || strcmp(arg, "--env") == 0) && next) {
      add_env(a, next);
      i++;
    } else if (starts_with(arg, "--env=")) {
      add_env(a, arg + 6);
    } else if ((strcmp(arg, "-n") == 0 || strcmp(arg, "--copies") == 0) && next && strcmp(next, "1") == 0) {
      i++;
    } else if (strcmp(arg, "--copies=1") == 0) {
      /* one copy: the default */
    } else if (arg[0] == '-' && arg[1] != '\0') {
      full_path("option %s", arg);
    } else if (a->dir) {
      full_path("more than one argument before --");
    } else {
      a->dir = arg;
    }
  }
  if (!a->dir) full_path("no image directory");
  if (command > 0 && !fallback) full_path("a command without --fallback");
  if (fallback && command == 0) full_path("--fallback without a command");
}

/* ---------------------------------------------------------------------------------------------
 * The plan */

struct plan {
  const char *image, *kernel, *criu, *kdat;
  long server_pid;
  const char *eager_args[MAX_LIST], *lazy_args[MAX_LIST], *eager_env[MAX_LIST], *lazy_env[MAX_LIST];
  int eager_arg_count, lazy_arg_count, eager_env_count, lazy_env_count;
};

static uint64_t fnv1a64(const char *s) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (; *s; s++) hash = (hash ^ (unsigned char)*s) * 0x100000001b3ULL;
  return hash;
}

/* As fileIdentity() in packages/core/src/cache.ts: dev:ino:size:mtimeNs:ctimeNs. */
static int identity_of(const char *path, char *out, size_t size) {
  struct stat st;
  if (stat(path, &st) != 0) return -1;
  snprintf(out, size, "%llu:%llu:%lld:%lld:%lld", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
           (long long)st.st_size, (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
           (long long)st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec);
  return 0;
}

/* Only a directory this user owns and nobody else can write to is trusted (as cache.ts). */
static const char *trusted_cache_dir(void) {
  const char *dir = getenv("DEFROST_CACHE_DIR");
  if (!dir || !*dir) dir = "/var/cache/defrost";
  struct stat st;
  if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) != 0)
    full_path("no trusted cache directory %s", dir);
  return dir;
}

static char *read_plan(const char *path) {
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) full_path("no launch plan %s (%s)", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) != 0 ||
      st.st_size <= 0 || st.st_size > MAX_PLAN_BYTES)
    full_path("launch plan %s is not a plan of this user", path);
  char *text = malloc((size_t)st.st_size + 1);
  size_t length = 0;
  while (text && length < (size_t)st.st_size) {
    ssize_t n = read(fd, text + length, (size_t)st.st_size - length);
    if (n <= 0) break;
    length += (size_t)n;
  }
  close(fd);
  if (!text || length != (size_t)st.st_size) full_path("cannot read launch plan %s", path);
  text[length] = '\0';
  return text;
}

/* Arguments and variables are escaped in a plan (\\ and \n); undone in place. */
static char *unescape(char *value) {
  char *out = value;
  for (const char *in = value; *in; in++) {
    if (*in == '\\' && (in[1] == '\\' || in[1] == 'n')) *out++ = *++in == 'n' ? '\n' : '\\';
    else *out++ = *in;
  }
  *out = '\0';
  return value;
}

static void push(const char **list, int *count, char *value) {
  if (*count == MAX_LIST) full_path("launch plan too long");
  list[(*count)++] = unescape(value);
}

/* Checks every identity as it goes: the first changed file sends the command to the full path. */
static void parse_plan(char *text, struct plan *p) {
  memset(p, 0, sizeof *p);
  p->server_pid = -1;
  int line_number = 0;
  for (char *line = text, *end; *line; line = end + 1) {
    end = strchr(line, '\n');
    if (!end) full_path("launch plan truncated");
    *end = '\0';
    if (line_number++ == 0) {
      if (strcmp(line, PLAN_FORMAT) != 0) full_path("launch plan of another format (%s)", line);
      continue;
    }
    char *value = strchr(line, ' ');
    if (!value) full_path("launch plan line %d has no value", line_number);
    *value++ = '\0';
    if (strcmp(line, "image") == 0) p->image = value;
    else if (strcmp(line, "kernel") == 0) p->kernel = value;
    else if (strcmp(line, "criu") == 0) p->criu = value;
    else if (strcmp(line, "kdat") == 0) p->kdat = value;
    else if (strcmp(line, "server-pid") == 0) p->server_pid = atol(value);
    else if (strcmp(line, "eager-arg") == 0) push(p->eager_args, &p->eager_arg_count, value);
    else if (strcmp(line, "lazy-arg") == 0) push(p->lazy_args, &p->lazy_arg_count, value);
    else if (strcmp(line, "eager-env") == 0) push(p->eager_env, &p->eager_env_count, value);
    else if (strcmp(line, "lazy-env") == 0) push(p->lazy_env, &p->lazy_env_count, value);
    else if (strcmp(line, "check") == 0) {
      char *path = strchr(value, ' ');
      if (!path) full_path("launch plan line %d: check without a path", line_number);
      *path++ = '\0';
      char now[160];
      if (identity_of(path, now, sizeof now) != 0) full_path("%s: %s", path, strerror(errno));
      if (strcmp(now, value) != 0) full_path("%s changed since the last full check", path);
    } else full_path("launch plan line %d: unknown record %s", line_number, line);
  }
  if (!p->image || !p->kernel || !p->criu || !p->kdat || p->server_pid <= 0 || p->eager_arg_count == 0 ||
      p->lazy_arg_count == 0)
    full_path("launch plan incomplete");
}

/* What `criu` resolves to on PATH, joined as node's path.join would for absolute entries. */
static int criu_on_path(char *out, size_t size) {
  const char *path = getenv("PATH");
  if (!path) return -1;
  for (const char *entry = path; *entry;) {
    size_t n = strcspn(entry, ":");
    if (n > 0) {
      snprintf(out, size, "%.*s%scriu", (int)n, entry, entry[n - 1] == '/' ? "" : "/");
      if (access(out, X_OK) == 0) return 0;
    }
    entry += n + (entry[n] == ':');
  }
  return -1;
}

/* ---------------------------------------------------------------------------------------------
 * The copy's private directory and settings */

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

struct buffer {
  char *data;
  size_t length, capacity;
};

static void append(struct buffer *b, const char *s, size_t n) {
  if (b->length + n + 1 > b->capacity) {
    b->capacity = (b->length + n + 1) * 2;
    b->data = realloc(b->data, b->capacity);
    if (!b->data) full_path("out of memory");
  }
  memcpy(b->data + b->length, s, n);
  b->length += n;
  b->data[b->length] = '\0';
}

static void append_json_string(struct buffer *b, const char *s, size_t n) {
  append(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char escaped[8];
    if (c == '"' || c == '\\') {
      escaped[0] = '\\';
      escaped[1] = (char)c;
      append(b, escaped, 2);
    } else if (c < 0x20) {
      snprintf(escaped, sizeof escaped, "\\u%04x", c);
      append(b, escaped, 6);
    } else {
      append(b, (const char *)&c, 1);
    }
  }
  append(b, "\"", 1);
}

/* The RestoreSettings of packages/core/src/checkpoint/control.ts. */
static char *settings_json(const struct args *a, long long started_epoch_ms) {
  unsigned char r[16];
  if (getrandom(r, sizeof r, 0) != sizeof r) full_path("getrandom: %s", strerror(errno));
  r[6] = (r[6] & 0x0f) | 0x40; /* UUID version 4 */
  r[8] = (r[8] & 0x3f) | 0x80;
  char head[160];
  snprintf(head, sizeof head,
           "{\"restoreId\":\"%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\","
           "\"startedAtEpochMs\":%lld,\"env\":{",
           r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15],
           started_epoch_ms);
  struct buffer b = {0};
  append(&b, head, strlen(head));
  int written = 0;
  for (int i = 0; i < a->env_count; i++) {
    /* Later --env of the same name wins, as in the full path. */
    int overridden = 0;
    for (int j = i + 1; j < a->env_count; j++)
      if (a->env[j].key_length == a->env[i].key_length && !memcmp(a->env[j].key, a->env[i].key, a->env[i].key_length))
        overridden = 1;
    if (overridden) continue;
    if (written++) append(&b, ",", 1);
    append_json_string(&b, a->env[i].key, a->env[i].key_length);
    append(&b, ":", 1);
    append_json_string(&b, a->env[i].value, strlen(a->env[i].value));
  }
  char tail[64];
  if (a->port >= 0) snprintf(tail, sizeof tail, "},\"copy\":0,\"port\":%ld}", a->port);
  else snprintf(tail, sizeof tail, "},\"copy\":0}");
  append(&b, tail, strlen(tail));
  return b.data;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

static void remove_tree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* ---------------------------------------------------------------------------------------------
 * The copy */

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

/* In the child: descriptors 0-7 as the restore command expects them, nothing else open. */
static void arrange_descriptors(const int sources[FD_COUNT]) {
  int parked[FD_COUNT];
  for (int i = 0; i < FD_COUNT; i++)
    if ((parked[i] = fcntl(sources[i], F_DUPFD, 64)) < 0) _exit(126);
  for (int i = 0; i < FD_COUNT; i++)
    if (dup2(parked[i], i) < 0) _exit(126);
  if (close_range(FD_COUNT, ~0U, 0) != 0)
    for (int fd = FD_COUNT; fd < 1024; fd++) close(fd);
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

/* The restored server among the launcher's descendants, by the PID it had when frozen. */
static long server_pid_below(long launcher, long frozen_pid) {
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

static int color_enabled(void) {
  const char *no_color = getenv("NO_COLOR"), *force = getenv("FORCE_COLOR"), *term = getenv("TERM");
  if (no_color && *no_color) return 0;
  if (force && *force && strcmp(force, "0") != 0 && strcmp(force, "false") != 0) return 1;
  return isatty(2) && !(term && strcmp(term, "dumb") == 0);
}

static int status_of(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

int main(int argc, char **argv) {
  double started = monotonic_ms();
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  long long started_epoch_ms = (long long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
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
    return 1;
  }
  self_dir[self] = '\0';
  *strrchr(self_dir, '/') = '\0';

  struct args a;
  parse_args(argc, argv, &a);

  char image[PATH_MAX];
  if (!realpath(a.dir, image)) full_path("%s: %s", a.dir, strerror(errno));
  const char *cache = trusted_cache_dir();
  char plan_file[PATH_MAX + 64];
  snprintf(plan_file, sizeof plan_file, "%s/launch-%016llx.plan", cache, (unsigned long long)fnv1a64(image));
  struct plan p;
  parse_plan(read_plan(plan_file), &p);
  if (strcmp(p.image, image) != 0) full_path("launch plan %s is for %s", plan_file, p.image);
  struct utsname host;
  if (uname(&host) != 0 || strcmp(host.release, p.kernel) != 0) full_path("the kernel is not %s", p.kernel);
  char criu[PATH_MAX];
  if (criu_on_path(criu, sizeof criu) != 0 || strcmp(criu, p.criu) != 0) full_path("criu on PATH is not %s", p.criu);

  /* The copy's private directory, its settings (0600: they may hold secrets) and descriptors. */
  const char *tmp = getenv("TMPDIR");
  char work[PATH_MAX];
  snprintf(work, sizeof work, "%s/defrost-restore-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(work)) full_path("cannot create a directory in %s: %s", tmp && *tmp ? tmp : "/tmp", strerror(errno));
  char settings_file[PATH_MAX + 32], output_file[PATH_MAX + 32];
  snprintf(settings_file, sizeof settings_file, "%s/settings.json", work);
  snprintf(output_file, sizeof output_file, "%s/criu-output.log", work);
  char *settings = settings_json(&a, started_epoch_ms);
  int settings_fd = open(settings_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  int control[2] = {-1, -1};
  int image_fd = open(p.image, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int output_fd = open(output_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int ok = settings_fd >= 0 && write(settings_fd, settings, strlen(settings)) == (ssize_t)strlen(settings);
  if (settings_fd >= 0) close(settings_fd);
  settings_fd = open(settings_file, O_RDONLY | O_CLOEXEC);
  if (!ok || settings_fd < 0 || image_fd < 0 || null_fd < 0 || output_fd < 0 || pipe2(control, O_CLOEXEC) != 0) {
    int saved = errno;
    remove_tree(work);
    full_path("cannot prepare the restore in %s: %s", work, strerror(saved));
  }

  const char **plan_args = a.lazy_pages ? p.lazy_args : p.eager_args;
  int plan_arg_count = a.lazy_pages ? p.lazy_arg_count : p.eager_arg_count;
  const char **plan_env = a.lazy_pages ? p.lazy_env : p.eager_env;
  int plan_env_count = a.lazy_pages ? p.lazy_env_count : p.eager_env_count;
  char **command = calloc((size_t)plan_arg_count + 1, sizeof *command);
  const char *extra_env[MAX_LIST + 1];
  if (!command) full_path("out of memory");
  for (int i = 0; i < plan_arg_count; i++) command[i] = replace_work(plan_args[i], work);
  for (int i = 0; i < plan_env_count; i++) extra_env[i] = replace_work(plan_env[i], work);
  /* CRIU's kernel-feature cache: loaded when there is one, else saved by the action script. */
  struct stat kdat;
  int have_kdat = stat(p.kdat, &kdat) == 0 && S_ISREG(kdat.st_mode) && kdat.st_size > 0;
  char kdat_env[PATH_MAX + 32];
  snprintf(kdat_env, sizeof kdat_env, "%s=%s", have_kdat ? "DEFROST_KDAT_LOAD" : "DEFROST_KDAT_SAVE", p.kdat);
  extra_env[plan_env_count] = kdat_env;
  char **env = child_environment(extra_env, plan_env_count + 1);

  /* Signals are read from a signalfd: none is lost between checks, none interrupts a system call. */
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGHUP);
  sigaddset(&handled, SIGCHLD);
  sigprocmask(SIG_BLOCK, &handled, NULL);
  int signals = signalfd(-1, &handled, SFD_CLOEXEC);
  if (signals < 0) {
    remove_tree(work);
    full_path("signalfd: %s", strerror(errno));
  }
  debug("fast path: launch plan %s", plan_file);

  double spawned = monotonic_ms();
  pid_t child = fork();
  if (child == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    const int sources[FD_COUNT] = {null_fd, output_fd, output_fd, 1, 2, settings_fd, control[1], image_fd};
    arrange_descriptors(sources);
    execvpe(command[0], command, env);
    _exit(127);
  }
  int saved_errno = errno;
  close(settings_fd);
  close(control[1]);
  close(image_fd);
  close(null_fd);
  close(output_fd);
  unlink(settings_file);
  if (child < 0) {
    remove_tree(work);
    full_path("fork: %s", strerror(saved_errno));
  }

  /* Until the server reports ready: any failure stops the copy and goes to the full path. */
  int pending = 0, child_status = 0, child_done = 0, ready = 0;
  const char *failure = NULL;
  char line[8192];
  size_t line_length = 0;
  double deadline = started + READY_TIMEOUT_MS;
  while (!ready && !failure) {
    struct pollfd fds[2] = {{.fd = signals, .events = POLLIN}, {.fd = control[0], .events = POLLIN}};
    int left = (int)(deadline - monotonic_ms());
    if (left <= 0) {
      failure = "the restored server did not report ready in time";
      break;
    }
    if (poll(fds, control[0] >= 0 ? 2 : 1, left) < 0 && errno != EINTR) {
      failure = "poll failed";
      break;
    }
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo info;
      if (read(signals, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGCHLD) {
          if (waitpid(child, &child_status, WNOHANG) == child) {
            child_done = 1;
            failure = "the restore command ended before the server was ready";
          }
        } else {
          pending = (int)info.ssi_signo;
        }
      }
    }
    if (control[0] >= 0 && fds[1].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(control[0], line + line_length, sizeof line - 1 - line_length);
      if (n <= 0) {
        close(control[0]); /* every writer is gone: the exit follows */
        control[0] = -1;
        continue;
      }
      line_length += (size_t)n;
      line[line_length] = '\0';
      char *newline;
      while ((newline = strchr(line, '\n'))) {
        *newline = '\0';
        if (starts_with(line, "{\"event\":\"ready\"")) ready = 1;
        else if (starts_with(line, "{\"event\":\"failed\"")) failure = "the restored server failed while resuming";
        line_length -= (size_t)(newline + 1 - line);
        memmove(line, newline + 1, line_length + 1);
      }
      if (line_length == sizeof line - 1) line_length = 0; /* not ours: no event is that long */
    }
  }
  long server = ready ? server_pid_below(child, p.server_pid) : -1;
  if (ready && server < 0) failure = "the restored server vanished right after reporting ready";
  if (failure) {
    if (!child_done) {
      kill(child, SIGKILL); /* unshare --kill-child takes the copy's namespace with it */
      waitpid(child, &child_status, 0);
    }
    remove_tree(work);
    if (pending) return 128 + pending; /* the user asked to stop while it was restoring */
    full_path("%s", failure);
  }

  double ready_at = monotonic_ms();
  debug("fast path: %.1f ms to check the plan and prepare, %.1f ms from launch to ready", spawned - started,
        ready_at - spawned);
  const char *green = color_enabled() ? "\x1b[32m" : "", *reset = *green ? "\x1b[39m" : "";
  fprintf(stderr, "%sdefrost: restored %s in %.0f ms (pid %ld)%s\n", green, a.dir, ready_at - started, server,
          reset);
  if (pending) kill((pid_t)server, pending);
  if (control[0] >= 0) close(control[0]);

  for (;;) {
    struct signalfd_siginfo info;
    if (read(signals, &info, sizeof info) != sizeof info) {
      if (errno == EINTR) continue;
      waitpid(child, &child_status, 0);
      break;
    }
    if (info.ssi_signo != SIGCHLD) kill((pid_t)server, (int)info.ssi_signo);
    else if (waitpid(child, &child_status, WNOHANG) == child) break;
  }
  remove_tree(work);
  return status_of(child_status);
}
