/* What every phase of the fast path shares: list limits and two tiny helpers. */
#ifndef DEFROST_COMMON_H
#define DEFROST_COMMON_H

#include <string.h>
#include <time.h>

/* One bound for every list (--env options, plan arguments, plan variables): a plan or a command
 * line longer than this is not one defrost wrote, so it goes to the full path. */
#define MAX_LIST 512

/* Monotonic, so a clock step during a restore cannot shorten or stretch the ready timeout. */
static inline double monotonic_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static inline int starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

#endif
