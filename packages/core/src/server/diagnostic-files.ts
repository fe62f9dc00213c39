import { reopenInAppendMode, writableNonAppendFiles } from '../native/fds.js';

/**
 * Files V8 and Node write to for the whole life of the process when asked by a flag. They are
 * opened for plain writing, so CRIU would pin their size in the image and refuse every restore
 * once they grew. They are only ever appended to, so they are re-attached in append mode.
 */
const DIAGNOSTIC_FILES: readonly { pattern: RegExp; origin: string }[] = [
  { pattern: /\/perf-\d+\.map$/, origin: '--perf-basic-prof / --perf-prof map file' },
  { pattern: /\/isolate-0x[0-9a-f]+-\d+-v8(-\d+)?\.log$|\/v8\.log$/, origin: '--prof log' },
];

export function diagnosticFilesResource(log: (message: string) => void) {
  return {
    name: 'V8 diagnostic files',
    beforeCheckpoint() {
      for (const { fd, path } of writableNonAppendFiles()) {
        const match = DIAGNOSTIC_FILES.find((d) => d.pattern.test(path));
        if (!match) continue;
        reopenInAppendMode(fd);
        log(`re-attached ${match.origin} ${path} (fd ${fd}) in append mode for the freeze`);
      }
    },
  };
}
