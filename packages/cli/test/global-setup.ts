/**
 * The tests run the CLI as it ships: the esbuild bundle dist/bin.js with the zero-code agent
 * dist/agent.js next to it, and bin/defrost with the native fast path, all made by the package's
 * own build (turbo runs it before every test task: turbo.json). Nothing is rebuilt here, so what
 * is tested is what `pnpm pack` would ship; a missing or unbundled build is an error that says so.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const dist = fileURLToPath(new URL('../dist/', import.meta.url));
  const read = (name: string): string => {
    try {
      return readFileSync(`${dist}${name}`, 'utf8');
    } catch {
      throw new Error(`${dist}${name} is missing: build the CLI first (pnpm --filter defrost build)`);
    }
  };
  // The bundle inlines the commands; tsc's output of bin.ts only imports ./main.js.
  if (/from ['"]\.\/main\.js['"]/.test(read('bin.js'))) {
    throw new Error(
      `${dist}bin.js is tsc's output, not the bundle that ships: run pnpm --filter defrost build`,
    );
  }
  read('agent.js');
}
