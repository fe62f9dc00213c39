/*
 * Arguments: only the options the full path accepts that a plan can serve. The rule is to accept
 * less, never more: an option or a value this file is unsure of goes to the full path, which
 * either serves it or explains the refusal, so both paths answer the same command the same way.
 */
#define _GNU_SOURCE
#include "args.h"

#include <stdlib.h>
#include <string.h>

#include "handover.h"

/* The settings file carries --env values to the copy as JSON strings, which must be UTF-8; a
 * value that is not is left for Node to decode (and the full path to pass on). Well-formed as
 * Unicode defines it (Table 3-7): no overlong forms (C0 80 for NUL), no surrogates, nothing above
 * U+10FFFF. Each lead byte bounds its second byte; the later ones are 80..BF. */
static int valid_utf8(const unsigned char *s) {
  while (*s) {
    unsigned char c = *s++;
    if (c < 0x80) continue;
    int extra = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    unsigned char low = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80, high = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    if (extra == 0 || *s < low || *s > high) return 0;
    for (int i = 1; i < extra; i++)
      if ((s[i] & 0xc0) != 0x80) return 0;
    s += extra;
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

/* One option at argv[*i]; moves *i past a value it takes. 0 when it is not one of ours. */
static int take_option(struct args *a, int argc, char **argv, int *i, int *fallback) {
  const char *arg = argv[*i];
  const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;
  if (strcmp(arg, "--lazy-pages") == 0) {
    a->lazy_pages = 1;
  } else if (strcmp(arg, "--fallback") == 0) {
    *fallback = 1; /* only acted on by the full path, which every failure goes to */
  } else if ((strcmp(arg, "-p") == 0 || strcmp(arg, "--port") == 0) && next) {
    set_port(a, next);
    (*i)++;
  } else if (starts_with(arg, "--port=")) {
    set_port(a, arg + 7);
  } else if ((strcmp(arg, "-e") == 0 || strcmp(arg, "--env") == 0) && next) {
    add_env(a, next);
    (*i)++;
  } else if (starts_with(arg, "--env=")) {
    add_env(a, arg + 6);
  } else if ((strcmp(arg, "-n") == 0 || strcmp(arg, "--copies") == 0) && next && strcmp(next, "1") == 0) {
    (*i)++;
  } else if (strcmp(arg, "--signing-key-file") == 0 && next) {
    a->signing_key_file = next;
    (*i)++;
  } else if (starts_with(arg, "--signing-key-file=")) {
    a->signing_key_file = arg + 19;
  } else if (strcmp(arg, "--copies=1") == 0) {
    /* one copy: the default */
  } else {
    return 0;
  }
  return 1;
}

void parse_args(int argc, char **argv, struct args *a) {
  a->dir = NULL;
  a->port = -1;
  a->env_count = 0;
  a->lazy_pages = 0;
  a->signing_key_file = NULL;
  int fallback = 0, command = 0;
  if (argc < 2 || strcmp(argv[1], "restore") != 0) full_path("not a restore");
  for (int i = 2; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--") == 0) {
      command = argc - i - 1;
      break;
    } else if (take_option(a, argc, argv, &i, &fallback)) {
      continue;
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
