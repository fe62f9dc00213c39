/**
 * The tests run the built CLI (dist/bin.js, and bin/defrost with the native fast path of restore)
 * the way a user does. turbo builds a package's
 * dependencies before its tests, not the package itself, so build it here (incremental: fast
 * when nothing changed).
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  execFileSync('chmod', ['+x', 'dist/bin.js'], { cwd: root });
  execFileSync(process.execPath, ['scripts/build-native.mjs'], { cwd: root, stdio: 'inherit' });
}
