/* The hand-over to the full command line (Node), which every phase falls back to. */
#ifndef DEFROST_HANDOVER_H
#define DEFROST_HANDOVER_H

/* Records what a hand-over needs later (the arguments, the signal mask, where dist/ is) and sets
 * up the process as the full path would. -1 (message printed) when this program cannot find
 * itself: without dist/ there is no full path to hand over to. */
int handover_init(char **argv);

/* DEFROST_DEBUG=1: says which path was taken and why. */
void debug(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Runs `node dist/bin.js` with this program's arguments, unchanged; `format` is the reason, for
 * DEFROST_DEBUG. Never returns. (The fuzz harness links its own, which returns to the harness.) */
_Noreturn void full_path(const char *format, ...) __attribute__((format(printf, 1, 2)));

#endif
