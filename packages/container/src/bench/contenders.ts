/**
 * The three ways of starting the blog in a container that the side-by-side bench compares, each
 * timed from the command that starts it to the first 200 on / as an HTTP client on another host
 * sees it (the client at 203.0.113.1, the container's port published on its host's address):
 * - `defrost`: `podman run` of the image with the frozen blog baked in; its entrypoint restores it;
 * - `podman restore`: `podman container restore --import` of a checkpoint that Podman (runc,
 *   CRIU) made of the same blog, started cold in the same image and warmed up over HTTP
 *   (`--file-locks` both ways: the blog's SQLite database is open, and locked, in that copy;
 *   defrost's hooks close it before the freeze);
 * - `cold`: `podman run` of the same image with `node dist/server.js` as the command and no
 *   defrost in the way: what a container of the blog does today.
 */

import { restoreRunOptions } from '../capabilities.js';
import { firstResponseMs } from '../http.js';
import type { ContainerTools } from '../podman.js';

export const CONTENDERS = ['defrost', 'podman restore', 'cold'] as const;
export type Contender = (typeof CONTENDERS)[number];

export interface BenchSetup {
  readonly tools: ContainerTools;
  /** The image with the frozen blog baked in (build.sh --checkpoint). */
  readonly bakedImage: string;
  /** podman container checkpoint --export of the warmed blog. */
  readonly podmanCheckpoint: string;
  readonly hostAddress: string;
  readonly clientAddress: string;
  readonly blogEnv: readonly string[];
}

const PORT = 18090;
const NAME = 'bench-start';

/** The cold blog without defrost: catatonit as PID 1, then node (the image's entrypoint skipped). */
export function coldRunOptions(env: readonly string[]): string[] {
  const options = ['--entrypoint', '["/usr/bin/catatonit","--","/usr/local/bin/node","dist/server.js"]'];
  for (const e of env) options.push('--env', e);
  return options;
}

async function startCommand(contender: Contender, s: BenchSetup): Promise<void> {
  const publish = ['--publish', `${s.hostAddress}:${PORT}:8080`];
  if (contender === 'podman restore') {
    await s.tools.podman([
      'container',
      'restore',
      '--import',
      s.podmanCheckpoint,
      '--name',
      NAME,
      ...publish,
    ]);
  } else if (contender === 'defrost') {
    await s.tools.podman([
      'run',
      '--detach',
      '--name',
      NAME,
      ...restoreRunOptions(),
      ...publish,
      s.bakedImage,
    ]);
  } else {
    await s.tools.podman([
      'run',
      '--detach',
      '--name',
      NAME,
      ...coldRunOptions(s.blogEnv),
      ...publish,
      s.bakedImage,
    ]);
  }
}

/** defrost's "restored ... in N ms" line, which conmon may write a moment after the first answer. */
async function restoreMsOf(tools: ContainerTools): Promise<number> {
  let logs = '';
  for (let attempt = 0; attempt < 100; attempt++) {
    const { stdout, stderr } = await tools.podman(['logs', NAME]);
    logs = `${stdout}${stderr}`;
    const restored = /defrost: restored \S+ in (\d+) ms/.exec(logs);
    if (restored) return Number(restored[1]);
    if (/starting cold/.test(logs)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the defrost container answered without restoring:\n${logs}`);
}

export interface Start {
  /** From the podman command to the first 200 on /. */
  readonly firstResponseMs: number;
  /** defrost only: what its own "restored ... in N ms" line says (the rest is podman's). */
  readonly restoreMs?: number;
}

/** One start of one contender; the container is removed afterwards. */
export async function timeStart(contender: Contender, s: BenchSetup): Promise<Start> {
  const started = performance.now();
  try {
    const [, answered] = await Promise.all([
      startCommand(contender, s),
      firstResponseMs(`http://${s.hostAddress}:${PORT}/`, {
        localAddress: s.clientAddress,
        withinMs: 60_000,
      }),
    ]);
    if (contender !== 'defrost') return { firstResponseMs: answered - started };
    return { firstResponseMs: answered - started, restoreMs: await restoreMsOf(s.tools) };
  } finally {
    await s.tools.podman(['rm', '--force', '--time', '5', NAME]).catch(() => undefined);
  }
}
