/*
 * libFuzzer harness: the plan check of the native launcher (plan.c: read_plan, parse_plan,
 * check_plan_applies) on arbitrary bytes, against real files.
 *
 * The input is a plan file in which these tokens stand for the fixture made at start-up, so that
 * a plan can be accepted at all and mutations of a valid one stay close to valid:
 *   @IMAGE@  the image directory (its real path)   @KERNEL@  uname -r   @CRIU@  the criu on PATH
 *   @CPU@  fnv1a64 of /proc/cpuinfo's features line (computed here, independently of plan.c)
 *   @PATHn@ and @IDn@  fixture file n and its current identity (0 the image directory, 1 its
 *   defrost.json, 2 a pages file, 3 criu)
 *
 * What must hold (FUZZ_FAIL aborts, and libFuzzer saves the input):
 *  - no crash, leak or undefined behaviour (ASan, LSan, UBSan), no hang (libFuzzer's -timeout);
 *  - a plan is accepted only when it is whole: the format line first, every line ended by a
 *    newline, every record known, image, kernel, criu, kdat, signing-key, cpu, server-pid, an eager
 *    and a lazy argument present, and every `check` record in the file names the current identity of its
 *    file, computed here from the bytes as written (a NUL byte hides nothing from this check);
 *  - a modified image is never accepted: once a fixture file that an accepted plan checks is
 *    rewritten with the very same bytes (only its mtime and ctime change), the plan is refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../plan.h"
#include "fuzz.h"

enum { FIXTURE_FILES = 4 };

static struct {
  char root[PATH_MAX];
  char image[PATH_MAX];
  char criu[PATH_MAX];
  char plan_file[PATH_MAX];
  char kernel[sizeof ((struct utsname *)0)->release];
  char cpu[32];
  char paths[FIXTURE_FILES][PATH_MAX];
  char ids[FIXTURE_FILES][160];
} fx;

/* The oracle's identity, as fileIdentity() in packages/core/src/cache.ts defines it. */
static int current_identity(const char *path, char *out, size_t size) {
  struct stat st;
  if (stat(path, &st) != 0) return -1;
  snprintf(out, size, "%llu:%llu:%lld:%lld:%lld", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
           (long long)st.st_size, (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
           (long long)st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec);
  return 0;
}

/* The oracle's CPU hash: FNV-1a 64 of the first line of /proc/cpuinfo that starts with "flags" or
 * "Features" followed by blanks and a colon (cpuFeaturesLine() in packages/core/src/image/cpu.ts). */
static void cpu_features_hash(char *out, size_t size) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[8192] = "";
  int found = 0;
  while (f && !found && fgets(line, sizeof line, f)) {
    size_t word = strncmp(line, "flags", 5) == 0 ? 5 : strncmp(line, "Features", 8) == 0 ? 8 : 0;
    size_t blanks = word ? strspn(line + word, " \t") : 0;
    found = word && line[word + blanks] == ':';
  }
  if (f) fclose(f);
  if (!found) line[0] = '\0';
  line[strcspn(line, "\n")] = '\0';
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char *s = line; *s; s++) hash = (hash ^ (unsigned char)*s) * 0x100000001b3ULL;
  snprintf(out, size, "%016llx", (unsigned long long)hash);
}

static void refresh_identities(void) {
  for (int i = 0; i < FIXTURE_FILES; i++)
    if (current_identity(fx.paths[i], fx.ids[i], sizeof fx.ids[i]) != 0) FUZZ_FAIL("fixture %s: %s", fx.paths[i], strerror(errno));
}

static void write_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) FUZZ_FAIL("cannot write %s: %s", path, strerror(errno));
  close(fd);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

/* How far the inputs got, printed at exit: a fuzzer that never reaches an accepted plan would
 * test the refusals only. */
static unsigned long inputs, accepted, rewritten;

static void at_exit(void) {
  fprintf(stderr, "fuzz-plan: %lu inputs, %lu plans accepted, %lu of them refused after a file they check was written to\n",
          inputs, accepted, rewritten);
  nftw(fx.root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* An image directory with a manifest and a pages file, a criu that PATH finds, a private cache. */
static void make_fixture(void) {
  const char *tmp = getenv("TMPDIR");
  char made[PATH_MAX];
  snprintf(made, sizeof made, "%s/defrost-fuzz-plan-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(made) || !realpath(made, fx.root)) FUZZ_FAIL("cannot make a fixture in %s: %s", made, strerror(errno));
  atexit(at_exit);
  snprintf(fx.image, sizeof fx.image, "%s/image", fx.root);
  snprintf(fx.plan_file, sizeof fx.plan_file, "%s/cache", fx.root);
  mkdir(fx.image, 0700);
  mkdir(fx.plan_file, 0700);
  snprintf(fx.plan_file, sizeof fx.plan_file, "%s/cache/launch.plan", fx.root);
  snprintf(fx.criu, sizeof fx.criu, "%s/bin", fx.root);
  mkdir(fx.criu, 0700);
  setenv("PATH", fx.criu, 1);
  snprintf(fx.criu, sizeof fx.criu, "%s/bin/criu", fx.root);
  snprintf(fx.paths[0], PATH_MAX, "%s", fx.image);
  snprintf(fx.paths[1], PATH_MAX, "%s/defrost.json", fx.image);
  snprintf(fx.paths[2], PATH_MAX, "%s/pages-1.img", fx.image);
  snprintf(fx.paths[3], PATH_MAX, "%s", fx.criu);
  write_file(fx.paths[1], "{\"formatVersion\":1}\n", 0600);
  write_file(fx.paths[2], "pages", 0600);
  write_file(fx.paths[3], "#!/bin/sh\nexit 0\n", 0700);
  struct utsname host;
  if (uname(&host) != 0) FUZZ_FAIL("uname: %s", strerror(errno));
  snprintf(fx.kernel, sizeof fx.kernel, "%s", host.release);
  cpu_features_hash(fx.cpu, sizeof fx.cpu);
  /* No signing key applies to the fixture: plans must say "signing-key -". */
  unsetenv("DEFROST_SIGNING_KEY_FILE");
  refresh_identities();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  make_fixture();
  return 0;
}

struct bytes {
  char *data;
  size_t length, capacity;
};

static void put(struct bytes *b, const void *s, size_t n) {
  if (b->length + n > b->capacity) {
    b->capacity = (b->length + n) * 2;
    if (!(b->data = realloc(b->data, b->capacity))) FUZZ_FAIL("out of memory");
  }
  memcpy(b->data + b->length, s, n);
  b->length += n;
}

/* What the token at `at` stands for, and its length; NULL when no token starts there. */
static const char *token_at(const uint8_t *at, size_t left, size_t *length) {
  static const char *const fixed[] = {"@IMAGE@", "@KERNEL@", "@CRIU@", "@CPU@"};
  const char *values[] = {fx.image, fx.kernel, fx.criu, fx.cpu};
  for (int i = 0; i < 4; i++) {
    *length = strlen(fixed[i]);
    if (left >= *length && !memcmp(at, fixed[i], *length)) return values[i];
  }
  for (int n = 0; n < FIXTURE_FILES; n++) {
    char path[16], id[16];
    snprintf(path, sizeof path, "@PATH%d@", n);
    snprintf(id, sizeof id, "@ID%d@", n);
    *length = strlen(path);
    if (left >= *length && !memcmp(at, path, *length)) return fx.paths[n];
    *length = strlen(id);
    if (left >= *length && !memcmp(at, id, *length)) return fx.ids[n];
  }
  return NULL;
}

static struct bytes expand(const uint8_t *data, size_t size) {
  struct bytes out = {0};
  for (size_t i = 0; i < size;) {
    size_t length;
    const char *value = data[i] == '@' ? token_at(data + i, size - i, &length) : NULL;
    if (value) {
      put(&out, value, strlen(value));
      i += length;
    } else {
      put(&out, data + i, 1);
      i++;
    }
  }
  return out;
}

/* 1 when the launcher would run the plan in the cache now, 0 when it would hand over. */
static int accepted_now(void) {
  static struct plan p;
  char *volatile text = NULL;
  if (setjmp(fuzz_refused) != 0) {
    free(text);
    return 0;
  }
  text = read_plan(fx.plan_file);
  parse_plan(text, &p);
  check_plan_applies(&p, fx.image, fx.plan_file, NULL);
  free(text);
  return 1;
}

static int is_key(const char *line, size_t n, const char *key) { return n == strlen(key) && !memcmp(line, key, n); }

/* A `check IDENTITY PATH` record of an accepted plan: the identity must be the file's now. */
static void check_record(const char *value, size_t n, size_t line) {
  const char *space = memchr(value, ' ', n);
  if (!space) FUZZ_FAIL("accepted line %zu: a check without a path", line);
  size_t id_length = (size_t)(space - value), path_length = n - id_length - 1;
  if (memchr(space + 1, '\0', path_length)) FUZZ_FAIL("accepted line %zu: a check whose path holds a NUL byte", line);
  char *path = strndup(space + 1, path_length), now[160];
  if (!path) FUZZ_FAIL("out of memory");
  if (current_identity(path, now, sizeof now) != 0) FUZZ_FAIL("accepted a check of %s, which cannot be stat'ed", path);
  if (strlen(now) != id_length || memcmp(now, value, id_length))
    FUZZ_FAIL("accepted a check of %s naming identity %.*s; the file's is %s", path, (int)id_length, value, now);
  free(path);
}

/* The oracle: what a plan must be to be run, read from the bytes as written. */
static void check_whole(const char *text, size_t length) {
  static const char *const keys[] = {"image",     "kernel",    "criu",     "kdat",      "signing-key", "cpu",
                                     "server-pid", "eager-arg", "lazy-arg", "eager-env", "lazy-env"};
  enum { KEYS = sizeof keys / sizeof *keys, REQUIRED = 9 };
  int seen[KEYS] = {0};
  if (length == 0 || text[length - 1] != '\n') FUZZ_FAIL("accepted a plan whose last line has no newline");
  size_t line = 0;
  for (size_t start = 0; start < length; line++) {
    const char *at = text + start;
    size_t n = (size_t)((const char *)memchr(at, '\n', length - start) - at);
    start += n + 1;
    if (line == 0) {
      if (!is_key(at, n, PLAN_FORMAT)) FUZZ_FAIL("accepted a plan whose first line is not %s", PLAN_FORMAT);
      continue;
    }
    const char *space = memchr(at, ' ', n);
    if (!space) FUZZ_FAIL("accepted line %zu, which has no value", line + 1);
    size_t key_length = (size_t)(space - at);
    if (is_key(at, key_length, "check")) {
      check_record(space + 1, n - key_length - 1, line + 1);
      continue;
    }
    int known = 0;
    for (int k = 0; k < KEYS; k++)
      if (is_key(at, key_length, keys[k])) known = seen[k] = 1;
    if (!known) FUZZ_FAIL("accepted line %zu, an unknown record %.*s", line + 1, (int)key_length, at);
  }
  for (int k = 0; k < REQUIRED; k++)
    if (!seen[k]) FUZZ_FAIL("accepted a plan without a %s record", keys[k]);
}

/* A fixture file the plan checks (chosen by the input's first byte), or -1. A whole line: the
 * same words inside another record's value check nothing. */
static int checked_fixture(const char *text, size_t length, unsigned pick) {
  int checked[FIXTURE_FILES] = {0}, count = 0;
  for (int n = 0; n < FIXTURE_FILES; n++) {
    char record[PATH_MAX + 200];
    int k = snprintf(record, sizeof record, "\ncheck %s %s\n", fx.ids[n], fx.paths[n]);
    if (memmem(text, length, record, (size_t)k)) checked[count++] = n;
  }
  return count ? checked[pick % (unsigned)count] : -1;
}

/* Rewrites the file's first byte with itself (a directory gains and loses an entry): the content
 * is the same, but something wrote to it. */
static void touch_content(int n) {
  if (n == 0) {
    char entry[PATH_MAX + 16];
    snprintf(entry, sizeof entry, "%s/.written", fx.image);
    write_file(entry, "", 0600);
    unlink(entry);
    return;
  }
  int fd = open(fx.paths[n], O_RDWR | O_CLOEXEC);
  char c;
  if (fd < 0 || pread(fd, &c, 1, 0) != 1 || pwrite(fd, &c, 1, 0) != 1) FUZZ_FAIL("cannot rewrite %s", fx.paths[n]);
  close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct bytes plan = expand(data, size);
  int fd = open(fx.plan_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || (plan.length && write(fd, plan.data, plan.length) != (ssize_t)plan.length)) FUZZ_FAIL("cannot write the plan");
  close(fd);
  inputs++;
  if (accepted_now()) {
    accepted++;
    check_whole(plan.data, plan.length);
    int n = checked_fixture(plan.data, plan.length, size ? data[0] : 0);
    if (n >= 0) {
      touch_content(n);
      if (accepted_now()) FUZZ_FAIL("accepted the plan after %s was written to", fx.paths[n]);
      rewritten++;
      refresh_identities();
    }
  }
  free(plan.data);
  return 0;
}
