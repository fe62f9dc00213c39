/* What the fuzz harnesses share: the hand-over turned into a jump back to the harness. */
#ifndef DEFROST_FUZZ_H
#define DEFROST_FUZZ_H

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

/* full_path() (handover-stub.c) jumps here with the reason in fuzz_reason: in the launcher it
 * would exec Node, here it means "refused". */
extern jmp_buf fuzz_refused;
extern char fuzz_reason[1024];

/* A property of the code under test does not hold: abort, which libFuzzer reports as a crash
 * and saves the input for. */
#define FUZZ_FAIL(...)                          \
  do {                                          \
    fprintf(stderr, "defrost fuzz: FAILED: "); \
    fprintf(stderr, __VA_ARGS__);               \
    fputc('\n', stderr);                        \
    abort();                                    \
  } while (0)

/* Well-formed UTF-8 as Unicode defines it (Table 3-7): no overlong forms, no surrogates, nothing
 * above U+10FFFF. Written here rather than taken from args.c: it is the oracle args.c is held to. */
int fuzz_utf8_well_formed(const unsigned char *s, size_t n);

#endif
