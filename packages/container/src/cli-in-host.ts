import { join } from 'node:path';
import { REPO_ROOT } from './images.js';
import type { NetHost } from './network.js';

/** The CLI the tests and measurements run: this checkout's build. */
export const CLI = join(REPO_ROOT, 'packages/cli/dist/bin.js');

/** `node CLI ARGS` inside `host` (its network namespace): the program to start and its arguments. */
export function cliCommandIn(host: NetHost, args: readonly string[]): [file: string, args: string[]] {
  const [exec, ...prefix] = host.exec;
  return [exec!, [...prefix, process.execPath, CLI, ...args]];
}
