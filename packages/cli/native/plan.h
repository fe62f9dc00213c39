/* The launch plan (packages/core/src/restore/launch-plan.ts): finding, reading and checking it. */
#ifndef DEFROST_PLAN_H
#define DEFROST_PLAN_H

#include <stddef.h>

#include "common.h"

#define PLAN_FORMAT "defrost-launch-plan 2"
/* Larger than any plan defrost writes; bounds what is read from the cache. */
#define MAX_PLAN_BYTES (1 << 20)

/* A parsed plan. Every string points into the plan's text (unescaped in place). */
struct plan {
  const char *image, *kernel, *criu, *kdat;
  const char *signing_key; /* the key file the signature was checked with, or "-" */
  const char *cpu;         /* fnv1a64 (hex) of /proc/cpuinfo's features line */
  long server_pid;
  const char *eager_args[MAX_LIST], *lazy_args[MAX_LIST], *eager_env[MAX_LIST], *lazy_env[MAX_LIST];
  int eager_arg_count, lazy_arg_count, eager_env_count, lazy_env_count;
};

/* The real path of the image directory `dir` into `image` (PATH_MAX bytes) and its plan's file
 * name in the trusted cache into `plan_file`; hands over when either does not exist. */
void locate_plan(const char *dir, char *image, char *plan_file, size_t plan_file_size);

/* The plan's text (NUL-terminated, malloc'ed), read only from a regular file of this user that
 * nobody else can write; hands over otherwise. */
char *read_plan(const char *path);

/* Parses `text` in place into `p`, checking every file identity as it goes; hands over at the
 * first changed file, unknown record or missing one. */
void parse_plan(char *text, struct plan *p);

/* Hands over unless the plan was written for `image`, this kernel, the criu on PATH, this CPU,
 * and the signing key that applies now (`key_file`: --signing-key-file, or NULL). */
void check_plan_applies(const struct plan *p, const char *image, const char *plan_file, const char *key_file);

#endif
