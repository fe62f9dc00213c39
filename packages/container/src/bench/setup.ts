/**
 * What the side-by-side bench needs before it measures anything (untimed, except the builds,
 * which are reported): one host as a network namespace for podman, the blog's container images
 * (build.sh: base, and the blog frozen by defrost and baked in), and Podman's own checkpoint of
 * the same blog, started cold in the same image under Podman's defaults and warmed up over HTTP.
 */
import { execFileSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { getJson, waitForJson } from '../http.js';
import { type AppImages, buildAppImages, REPO_ROOT } from '../images.js';
import { createTestNetwork, type NetHost, type TestNetwork } from '../network.js';
import { type ContainerTools, containerTools } from '../podman.js';
import { coldRunOptions } from './contenders.js';

/** The blog inside the container: all interfaces, port 8080, its database baked in with it. */
export const BLOG_ENV = ['HOST=0.0.0.0', 'PORT=8080', 'BLOG_DATA_DIR=/var/lib/blog'] as const;
/** What the Podman peer's warm-up fetches, round after round (the blog's pages of every kind). */
const WARMUP_PATHS = [
  '/',
  '/page/2',
  '/tags',
  '/archive',
  '/rss.xml',
  '/atom.xml',
  '/search?q=sqlite',
  '/static/style.css',
];

export interface Prepared {
  readonly net: TestNetwork;
  readonly host: NetHost;
  readonly tools: ContainerTools;
  readonly images: AppImages;
  readonly podmanCheckpoint: string;
  readonly facts: {
    readonly imageBuildMs: number;
    readonly defrostImageBytes: number;
    readonly podmanCheckpointMs: number;
    readonly podmanCheckpointBytes: number;
  };
}

async function directoryBytes(dir: string): Promise<number> {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

/** A failed `podman container checkpoint` names CRIU's log: its errors go into the message. */
async function withCriuLog(error: unknown): Promise<never> {
  const logFile = /log file: (\S+?dump\.log)/.exec(String((error as Error).message))?.[1];
  const log = logFile ? await readFile(logFile, 'utf8').catch(() => '') : '';
  const errors = log
    .split('\n')
    .filter((l) => /Error|fail/i.test(l))
    .slice(-8);
  throw new Error(`${(error as Error).message}${errors.length ? `\nCRIU's log:\n${errors.join('\n')}` : ''}`);
}

/** Starts the blog cold under Podman's defaults, warms it up, and exports Podman's checkpoint of it. */
async function podmanCheckpointOf(
  tools: ContainerTools,
  host: NetHost,
  client: string,
  image: string,
  file: string,
) {
  const name = 'bench-warm';
  await tools.podman([
    'run',
    '--detach',
    '--name',
    name,
    ...coldRunOptions(BLOG_ENV),
    '--publish',
    `${host.address}:18099:8080`,
    image,
  ]);
  try {
    const origin = `http://${host.address}:18099`;
    await waitForJson(`${origin}/healthz`, { localAddress: client, withinMs: 120_000 }).catch(
      () => undefined,
    );
    for (let round = 0; round < 150; round++) {
      for (const path of WARMUP_PATHS)
        await getJson(`${origin}${path}`, { localAddress: client }).catch(() => undefined);
    }
    const started = performance.now();
    await tools
      .podman(['container', 'checkpoint', '--file-locks', '--export', file, name], { timeoutMs: 300_000 })
      .catch(withCriuLog);
    return { ms: performance.now() - started, bytes: (await stat(file)).size };
  } finally {
    await tools.podman(['rm', '--force', '--time', '5', name]).catch(() => undefined);
  }
}

export async function prepare(work: string, log: (line: string) => void): Promise<Prepared> {
  const net = await createTestNetwork(`dfb${process.pid % 100000}`, ['H']);
  try {
    const host = net.hosts.H!;
    const tools = await containerTools(join(work, 'podman'), { nsenter: host.nsenter });
    const node24 = `${execFileSync('bash', [join(REPO_ROOT, 'scripts/node-bin.sh'), '24'], { encoding: 'utf8' }).trim()}/node`;
    log('building the blog container images and freezing the blog in a build container');
    const images = await buildAppImages({
      tools,
      workspacePackage: '@defrost/blog',
      packageDir: join(REPO_ROOT, 'apps/blog'),
      builtDirs: ['dist'],
      command: ['node', 'dist/server.js'],
      name: 'localhost/defrost-bench-blog',
      workDir: join(work, 'build'),
      nodeBinary: node24,
      env: BLOG_ENV,
    });
    log(`podman: starting the blog cold, warming it up, checkpointing it (--export)`);
    const podmanCheckpoint = join(work, 'podman-checkpoint.tar.zst');
    const cp = await podmanCheckpointOf(tools, host, net.clientAddress, images.baked, podmanCheckpoint);
    return {
      net,
      host,
      tools,
      images,
      podmanCheckpoint,
      facts: {
        imageBuildMs: images.buildMs,
        defrostImageBytes: await directoryBytes(images.imageDir),
        podmanCheckpointMs: cp.ms,
        podmanCheckpointBytes: cp.bytes,
      },
    };
  } catch (error) {
    await net.remove();
    throw error;
  }
}
