/*
 * What both harnesses link instead of handover.c: full_path() records why and jumps back to the
 * harness instead of exec'ing Node, so that one process can try millions of inputs. Everything
 * else the launcher's phases call is the real code. And the UTF-8 oracle.
 */
#include <stdarg.h>
#include <stdio.h>

#include "../handover.h"
#include "fuzz.h"

jmp_buf fuzz_refused;
char fuzz_reason[1024];

void debug(const char *format, ...) { (void)format; }

_Noreturn void full_path(const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  vsnprintf(fuzz_reason, sizeof fuzz_reason, format, ap);
  va_end(ap);
  longjmp(fuzz_refused, 1);
}

int fuzz_utf8_well_formed(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    size_t extra = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 9;
    if (extra == 9 || extra > n - i - 1) return 0; /* not a lead byte, or a truncated sequence */
    /* The second byte's range depends on the first (Table 3-7); later ones are 80..BF. */
    unsigned char low = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    unsigned char high = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    for (size_t k = 1; k <= extra; k++) {
      unsigned char b = s[i + k];
      if (k == 1 ? b < low || b > high : (b & 0xc0) != 0x80) return 0;
    }
    i += extra + 1;
  }
  return 1;
}
