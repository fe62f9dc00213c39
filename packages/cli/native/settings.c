/*
 * The restore-time settings: the same values the full path writes (launchCopy() in
 * packages/core/src/restore/launcher.ts), so that a copy cannot tell which path restored it.
 * Hand-written JSON: the shape is fixed and small, and a JSON library would be this program's
 * only dependency.
 */
#define _GNU_SOURCE
#include "settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "handover.h"

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

/* A JSON string: quotes and backslashes escaped, control characters as \u00XX (JSON allows no
 * raw ones); UTF-8 passes through (args.c only accepts values that are UTF-8). */
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

/* restoreId: a random UUID v4, as crypto.randomUUID() gives the full path. */
static void append_head(struct buffer *b, long long started_epoch_ms) {
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
  append(b, head, strlen(head));
}

/* Later --env of the same name wins, as in the full path. */
static int overridden_later(const struct args *a, int i) {
  for (int j = i + 1; j < a->env_count; j++)
    if (a->env[j].key_length == a->env[i].key_length && !memcmp(a->env[j].key, a->env[i].key, a->env[i].key_length))
      return 1;
  return 0;
}

char *settings_json(const struct args *a, long long started_epoch_ms) {
  struct buffer b = {0};
  append_head(&b, started_epoch_ms);
  int written = 0;
  for (int i = 0; i < a->env_count; i++) {
    if (overridden_later(a, i)) continue;
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
