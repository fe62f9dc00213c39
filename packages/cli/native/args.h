/* The command line: the options of `defrost restore` a launch plan can serve. */
#ifndef DEFROST_ARGS_H
#define DEFROST_ARGS_H

#include <stddef.h>

#include "common.h"

/* One --env KEY=VALUE, pointing into argv (nothing is copied). */
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
  const char *signing_key_file; /* --signing-key-file, or NULL */
};

/* Fills `a` from `restore DIR [--port P] [--env K=V]... [--lazy-pages] [--copies 1]
 * [--fallback -- COMMAND]`; anything else, or any value the full path would refuse or read
 * differently, hands the command over (handover.h). */
void parse_args(int argc, char **argv, struct args *a);

#endif
