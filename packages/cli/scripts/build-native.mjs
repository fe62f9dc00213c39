// Builds the native fast path of `defrost restore` (native/*.c, one file per phase: see
// native/main.c -> dist/defrost-fast-restore) with the machine's C compiler. Without one,
// `defrost restore` still works, through Node only (slower to start): the build says so instead
// of failing. native/fuzz/ holds the fuzz harness, built by its own script (native/fuzz/run.sh).
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';

const nativeDir = new URL('../native/', import.meta.url).pathname;
const sources = readdirSync(nativeDir)
  .filter((name) => name.endsWith('.c'))
  .sort()
  .map((name) => nativeDir + name);
const output = new URL('../dist/defrost-fast-restore', import.meta.url).pathname;
const compiler = process.env.CC || 'cc';
const flags = [
  '-std=gnu11',
  '-O2',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-D_FORTIFY_SOURCE=2',
  '-o',
  output,
  ...sources,
];
try {
  execFileSync(compiler, flags, { stdio: ['ignore', 'inherit', 'inherit'] });
} catch (error) {
  rmSync(output, { force: true });
  if (error.code === 'ENOENT') {
    console.warn(
      `defrost: warning: no C compiler (${compiler}): \`defrost restore\` will start through Node only; install gcc for the fast path`,
    );
  } else {
    console.error(
      `defrost: building ${nativeDir}*.c failed (${compiler} exited with ${error.status ?? error.message})`,
    );
    process.exit(1);
  }
}
