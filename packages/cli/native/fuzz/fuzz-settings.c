/*
 * libFuzzer harness: the native launcher's command line (args.c) and the restore-time settings
 * it writes for the copy (settings.c), on arbitrary arguments.
 *
 * The input is the arguments after `restore`, separated by NUL bytes.
 *
 * What must hold (FUZZ_FAIL aborts, and libFuzzer saves the input):
 *  - no crash, leak or undefined behaviour (ASan, LSan, UBSan), no hang (libFuzzer's -timeout);
 *  - what parse_args accepts, the full path would read the same way: an image directory, every
 *    --env name as ENV_NAME in packages/cli/src/options.ts, every value well-formed UTF-8 (JSON
 *    text must be, and Node would replace anything else), a port from 0 to 65535;
 *  - settings_json writes exactly the RestoreSettings shape of packages/core/src/dump/
 *    control.ts as strict JSON (no raw control character, valid UTF-8): a UUID v4 restoreId, the
 *    start time, an env object that decodes, byte for byte, to the last value given for each
 *    name, copy 0, and the port when one was given.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>

#include "../args.h"
#include "../settings.h"
#include "fuzz.h"

enum { MAX_ARGS = 2048 };
static const long long STARTED = 1767225600123LL;

/* How far the inputs got, printed at exit (see fuzz-plan.c). */
static unsigned long inputs, accepted;

static void at_exit(void) { fprintf(stderr, "fuzz-settings: %lu inputs, %lu argument lists accepted and their settings checked\n", inputs, accepted); }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  atexit(at_exit);
  return 0;
}

/* parse_args on argv; 1 when the fast path would go on, 0 when it would hand over. */
static int accepted_by_parse_args(int argc, char **argv, struct args *a) {
  if (setjmp(fuzz_refused) != 0) return 0;
  parse_args(argc, argv, a);
  return 1;
}

static char *settings_of(const struct args *a) {
  if (setjmp(fuzz_refused) != 0) FUZZ_FAIL("settings_json handed over: %s", fuzz_reason);
  return settings_json(a, STARTED);
}

static int env_name(const char *s, size_t n) {
  if (n == 0 || (s[0] >= '0' && s[0] <= '9')) return 0;
  for (size_t i = 0; i < n; i++)
    if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9'))) return 0;
  return 1;
}

static void check_args(const struct args *a) {
  if (!a->dir) FUZZ_FAIL("accepted arguments without an image directory");
  if (a->port < -1 || a->port > 65535) FUZZ_FAIL("accepted port %ld", a->port);
  for (int i = 0; i < a->env_count; i++) {
    const struct env_pair *e = &a->env[i];
    if (!env_name(e->key, e->key_length)) FUZZ_FAIL("accepted --env name %.*s", (int)e->key_length, e->key);
    if (!fuzz_utf8_well_formed((const unsigned char *)e->value, strlen(e->value)))
      FUZZ_FAIL("accepted --env %.*s whose value is not well-formed UTF-8", (int)e->key_length, e->key);
  }
}

/* A strict reader of exactly the JSON settings_json may write. */
struct reader {
  const char *s;
  size_t i;
};

static void expect(struct reader *r, const char *literal) {
  size_t n = strlen(literal);
  if (strncmp(r->s + r->i, literal, n) != 0) FUZZ_FAIL("settings: expected %s at %zu in %s", literal, r->i, r->s);
  r->i += n;
}

static long long number(struct reader *r) {
  long long v = 0;
  size_t start = r->i;
  while (r->s[r->i] >= '0' && r->s[r->i] <= '9') v = v * 10 + (r->s[r->i++] - '0');
  if (r->i == start || r->i - start > 15) FUZZ_FAIL("settings: no number at %zu in %s", start, r->s);
  return v;
}

static int hex(char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; }

/* A JSON string, decoded (malloc'ed, NUL-terminated; *length without the NUL). */
static char *string(struct reader *r, size_t *length) {
  expect(r, "\"");
  char *out = malloc(strlen(r->s + r->i) + 1);
  size_t n = 0;
  if (!out) FUZZ_FAIL("out of memory");
  for (;;) {
    unsigned char c = (unsigned char)r->s[r->i++];
    if (c == '"') break;
    if (c < 0x20) FUZZ_FAIL("settings: raw control character 0x%02x (or the end) in a string: %s", c, r->s);
    if (c != '\\') {
      out[n++] = (char)c;
      continue;
    }
    char e = r->s[r->i++];
    const char *simple = strchr("\"\\/bfnrt", e);
    if (e && simple) out[n++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
    else if (e == 'u' && hex(r->s[r->i]) == 0 && hex(r->s[r->i + 1]) == 0 && hex(r->s[r->i + 2]) >= 0 && hex(r->s[r->i + 3]) >= 0) {
      out[n++] = (char)(hex(r->s[r->i + 2]) * 16 + hex(r->s[r->i + 3])); /* settings.c only escapes below 0x20 */
      r->i += 4;
    } else FUZZ_FAIL("settings: bad escape \\%c in %s", e, r->s);
  }
  out[n] = '\0';
  *length = n;
  return out;
}

static void check_restore_id(struct reader *r) {
  size_t n;
  char *id = string(r, &n);
  int ok = n == 36 && id[14] == '4' && strchr("89ab", id[19]);
  for (size_t i = 0; ok && i < n; i++) ok = (i == 8 || i == 13 || i == 18 || i == 23) ? id[i] == '-' : hex(id[i]) >= 0 && !(id[i] >= 'A' && id[i] <= 'F');
  if (!ok) FUZZ_FAIL("settings: restoreId %s is not a UUID v4", id);
  free(id);
}

/* The value the full path would give `key`: the last --env of that name. */
static const char *last_value(const struct args *a, const char *key, size_t n) {
  for (int i = a->env_count - 1; i >= 0; i--)
    if (a->env[i].key_length == n && !memcmp(a->env[i].key, key, n)) return a->env[i].value;
  return NULL;
}

static int distinct_names(const struct args *a) {
  int count = 0;
  for (int i = 0; i < a->env_count; i++) count += last_value(a, a->env[i].key, a->env[i].key_length) == a->env[i].value;
  return count;
}

static void check_env(struct reader *r, const struct args *a) {
  expect(r, "{");
  int pairs = 0;
  while (r->s[r->i] != '}') {
    if (pairs > 0) expect(r, ",");
    size_t key_length, value_length;
    char *key = string(r, &key_length);
    expect(r, ":");
    char *value = string(r, &value_length);
    const char *want = last_value(a, key, key_length);
    if (!want || strlen(want) != value_length || memcmp(want, value, value_length))
      FUZZ_FAIL("settings: env %s is %s, the arguments gave %s", key, value, want ? want : "nothing");
    free(key);
    free(value);
    pairs++;
  }
  expect(r, "}");
  if (pairs != distinct_names(a)) FUZZ_FAIL("settings: %d env pairs for %d names", pairs, distinct_names(a));
}

static void check_settings(const char *json, const struct args *a) {
  if (!fuzz_utf8_well_formed((const unsigned char *)json, strlen(json))) FUZZ_FAIL("settings are not UTF-8: %s", json);
  struct reader r = {json, 0};
  expect(&r, "{\"restoreId\":");
  check_restore_id(&r);
  expect(&r, ",\"startedAtEpochMs\":");
  if (number(&r) != STARTED) FUZZ_FAIL("settings: wrong startedAtEpochMs in %s", json);
  expect(&r, ",\"env\":");
  check_env(&r, a);
  expect(&r, ",\"copy\":0");
  if (a->port >= 0) {
    expect(&r, ",\"port\":");
    if (number(&r) != a->port) FUZZ_FAIL("settings: wrong port in %s", json);
  }
  expect(&r, "}");
  if (json[r.i] != '\0') FUZZ_FAIL("settings: text after the object in %s", json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1), **argv = calloc(MAX_ARGS + 3, sizeof *argv);
  if (!text || !argv) FUZZ_FAIL("out of memory");
  memcpy(text, data, size);
  text[size] = '\0';
  int argc = 0;
  argv[argc++] = "defrost-fast-restore";
  argv[argc++] = "restore";
  for (size_t i = 0; i <= size && argc < MAX_ARGS + 2; i += strlen(text + i) + 1) argv[argc++] = text + i;
  static struct args a;
  inputs++;
  if (accepted_by_parse_args(argc, argv, &a)) {
    accepted++;
    check_args(&a);
    char *json = settings_of(&a);
    check_settings(json, &a);
    free(json);
  }
  free(argv);
  free(text);
  return 0;
}
