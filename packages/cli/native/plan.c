/*
 * The plan check. A plan is trusted for two reasons only: it sits in a cache directory nobody but
 * this user can write (so only the full path wrote it, after a full verification), and every file
 * it relied on still has the identity it had then (device, inode, size, mtime and ctime: any
 * write, truncation, chmod or replacement changes the ctime, which only the kernel sets).
 */
#define _GNU_SOURCE
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "handover.h"

/* FNV-1a, 64 bits, as fnv1a64() in launch-plan.ts: names a plan after its image's real path. */
static uint64_t fnv1a64(const char *s) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (; *s; s++) hash = (hash ^ (unsigned char)*s) * 0x100000001b3ULL;
  return hash;
}

/* As fileIdentity() in packages/core/src/cache.ts: dev:ino:size:mtimeNs:ctimeNs. -1 (errno set)
 * when `path` cannot be stat'ed. */
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

void locate_plan(const char *dir, char *image, char *plan_file, size_t plan_file_size) {
  if (!realpath(dir, image)) full_path("%s: %s", dir, strerror(errno));
  const char *cache = trusted_cache_dir();
  snprintf(plan_file, plan_file_size, "%s/launch-%016llx.plan", cache, (unsigned long long)fnv1a64(image));
}

char *read_plan(const char *path) {
  /* O_NOFOLLOW: a symlink in the cache could point at a file someone else controls. */
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
  /* Freed before handing over: the fuzz harness (native/fuzz) comes back from full_path. */
  if (!text || length != (size_t)st.st_size) {
    free(text);
    full_path("cannot read launch plan %s", path);
  }
  /* The parser reads C strings: records after a NUL byte would go unread, their checks unmade.
   * A plan holds none unless damaged (a write torn by a crash can leave zeros), so refuse it. */
  if (memchr(text, '\0', length)) {
    free(text);
    full_path("launch plan %s holds a NUL byte", path);
  }
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

/* `check IDENTITY PATH`: the file must be the very one the full path checked. */
static void check_identity(char *value, int line_number) {
  char *path = strchr(value, ' ');
  if (!path) full_path("launch plan line %d: check without a path", line_number);
  *path++ = '\0';
  char now[160];
  if (identity_of(path, now, sizeof now) != 0) full_path("%s: %s", path, strerror(errno));
  if (strcmp(now, value) != 0) full_path("%s changed since the last full check", path);
}

/* One `KEY VALUE` record (the line is already cut at its end). */
static void take_record(char *line, int line_number, struct plan *p) {
  char *value = strchr(line, ' ');
  if (!value) full_path("launch plan line %d has no value", line_number);
  *value++ = '\0';
  if (strcmp(line, "image") == 0) p->image = value;
  else if (strcmp(line, "kernel") == 0) p->kernel = value;
  else if (strcmp(line, "criu") == 0) p->criu = value;
  else if (strcmp(line, "kdat") == 0) p->kdat = value;
  else if (strcmp(line, "signing-key") == 0) p->signing_key = value;
  else if (strcmp(line, "cpu") == 0) p->cpu = value;
  else if (strcmp(line, "server-pid") == 0) p->server_pid = atol(value);
  else if (strcmp(line, "eager-arg") == 0) push(p->eager_args, &p->eager_arg_count, value);
  else if (strcmp(line, "lazy-arg") == 0) push(p->lazy_args, &p->lazy_arg_count, value);
  else if (strcmp(line, "eager-env") == 0) push(p->eager_env, &p->eager_env_count, value);
  else if (strcmp(line, "lazy-env") == 0) push(p->lazy_env, &p->lazy_env_count, value);
  else if (strcmp(line, "check") == 0) check_identity(value, line_number);
  else full_path("launch plan line %d: unknown record %s", line_number, line);
}

/* Checks every identity as it goes: the first changed file sends the command to the full path. */
void parse_plan(char *text, struct plan *p) {
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
    take_record(line, line_number, p);
  }
  if (!p->image || !p->kernel || !p->criu || !p->kdat || !p->signing_key || !p->cpu || p->server_pid <= 0 || p->eager_arg_count == 0 ||
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

/*
 * The signing key that applies now, as the full path finds it (image/signing-key.ts): the one on
 * the command line, else DEFROST_SIGNING_KEY_FILE, else /etc/defrost/signing-key when it exists
 * (the full path checks its owner and mode); "-" for none. A host that added a key since the plan
 * was written must not restore an unsigned image through it.
 */
static const char *signing_key_now(const char *key_file) {
  if (key_file) return key_file;
  const char *env = getenv("DEFROST_SIGNING_KEY_FILE");
  if (env && *env) return env;
  struct stat st;
  return lstat("/etc/defrost/signing-key", &st) == 0 ? "/etc/defrost/signing-key" : "-";
}

/* fnv1a64 of the first processor's features line of /proc/cpuinfo, as cpuFeaturesLine() reads it. */
static int cpu_hash(char *out, size_t size) {
  FILE *f = fopen("/proc/cpuinfo", "re");
  if (!f) return -1;
  char line[8192];
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    if (strncmp(line, "flags", 5) != 0 && strncmp(line, "Features", 8) != 0) continue;
    const char *after = line + strcspn(line, " \t:");
    if (*(after + strspn(after, " \t")) != ':') continue;
    line[strcspn(line, "\n")] = '\0';
    found = 1;
  }
  fclose(f);
  snprintf(out, size, "%016llx", (unsigned long long)fnv1a64(found ? line : ""));
  return 0;
}

void check_plan_applies(const struct plan *p, const char *image, const char *plan_file, const char *key_file) {
  if (strcmp(p->image, image) != 0) full_path("launch plan %s is for %s", plan_file, p->image);
  /* A reboot into another kernel may change what CRIU can restore: the full path re-checks it. */
  struct utsname host;
  if (uname(&host) != 0 || strcmp(host.release, p->kernel) != 0) full_path("the kernel is not %s", p->kernel);
  char criu[PATH_MAX];
  if (criu_on_path(criu, sizeof criu) != 0 || strcmp(criu, p->criu) != 0) full_path("criu on PATH is not %s", p->criu);
  /* The key file's identity is one of the plan's checks: here, only which key applies. */
  const char *key = signing_key_now(key_file);
  if (strcmp(key, p->signing_key) != 0) full_path("the signing key is %s, the plan's is %s", key, p->signing_key);
  char cpu[32];
  if (cpu_hash(cpu, sizeof cpu) != 0 || strcmp(cpu, p->cpu) != 0) full_path("the CPU is not the one the plan was checked on");
}
