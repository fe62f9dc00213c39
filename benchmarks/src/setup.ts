/** What the bench prepares once: paths, ports, environments, images. */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describeExit, type ProcessControl } from './process/control.js';

export class BenchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchError';
  }
}

/** benchmarks/ (this package), found from the compiled file's location (dist/ or src/). */
export const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(PACKAGE_DIR, '..');

export interface Paths {
  readonly app: string;
  readonly appIsBlog: boolean;
  /** packages/cli/dist/bin.js when built. */
  readonly cli: string | undefined;
  /** The `defrost` command as installed (packages/cli/bin/defrost), when the CLI is built. */
  readonly defrost: string | undefined;
  readonly restoreStandIn: string;
  readonly coreRestorer: string;
  readonly floorServer: string;
}

export function resolvePaths(appArg: string | undefined): Paths {
  const blog = join(REPO_ROOT, 'apps/blog/dist/server.js');
  const app = appArg ? resolve(appArg) : blog;
  if (!existsSync(app)) {
    throw new BenchError(
      appArg
        ? `--app ${appArg}: no such file (${app})`
        : `the blog is not built (${blog} is missing): run \`pnpm --filter @defrost/blog build\` (or \`pnpm bench\`, which builds everything)`,
    );
  }
  const cli = join(REPO_ROOT, 'packages/cli/dist/bin.js');
  const helpers = join(PACKAGE_DIR, 'dist/helpers');
  for (const f of ['restore-once.js', 'core-restorer.js', 'floor-server.js']) {
    if (!existsSync(join(helpers, f)))
      throw new BenchError(
        `${join(helpers, f)} is missing: build the benchmarks (\`pnpm --filter @defrost/benchmarks build\`)`,
      );
  }
  return {
    app,
    appIsBlog: app === blog,
    cli: existsSync(cli) ? cli : undefined,
    defrost: existsSync(cli) ? join(REPO_ROOT, 'packages/cli/bin/defrost') : undefined,
    restoreStandIn: join(helpers, 'restore-once.js'),
    coreRestorer: join(helpers, 'core-restorer.js'),
    floorServer: join(helpers, 'floor-server.js'),
  };
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** The environment every server of the bench gets: the same for cold starts and image builds. */
export function serverEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (
      key.startsWith('npm_') ||
      key.startsWith('PNPM_') ||
      key.startsWith('DEFROST_') ||
      key.startsWith('VITEST') ||
      key === 'NODE_OPTIONS' ||
      key === 'NODE_COMPILE_CACHE' ||
      key === 'INIT_CWD'
    ) {
      delete env[key];
    }
  }
  // io_uring descriptors cannot be checkpointed (CRIU-NOTES); cold starts get the same setting.
  return { ...env, HOST: '127.0.0.1', NODE_ENV: 'production', UV_USE_IO_URING: '0', ...extra };
}

export async function logTail(file: string, lines = 15): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const tail = text.trimEnd().split('\n').slice(-lines);
  return tail.length > 0 && tail[0] !== '' ? `\n    ${tail.join('\n    ')}` : ' (empty)';
}

/** Bytes of the regular files in a directory (an image: CRIU files and defrost.json). */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(join(dir, entry.name))).size;
  }
  return total;
}

export interface ImageBuild {
  readonly wallMs: number;
  readonly bytes: number;
  /** The dump as the manifest recorded it (checkpoint.durationMs). */
  readonly dumpMs: number | undefined;
  readonly command: string;
}

/**
 * Builds an image once: `defrost checkpoint --image DIR -- node ENTRY` when the CLI is built, else
 * what that command asks of the app (DEFROST_CHECKPOINT_IMAGE, node --expose-gc). Fails with the
 * log's tail unless the process exits 0 and leaves a manifest.
 */
export async function buildImage(o: {
  pc: ProcessControl;
  cli: string | undefined;
  entry: string;
  imageDir: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  timeoutMs: number;
  name: string;
  /** Flags of `defrost checkpoint` (the zero-code agent's warm-up); only with the CLI. */
  flags?: readonly string[];
}): Promise<ImageBuild> {
  const viaCli = o.cli !== undefined;
  const flags = o.flags ?? [];
  const args = viaCli
    ? [o.cli!, 'checkpoint', '--image', o.imageDir, ...flags, '--', process.execPath, o.entry]
    : ['--expose-gc', o.entry];
  const env = viaCli
    ? o.env
    : { ...o.env, DEFROST_CHECKPOINT_IMAGE: o.imageDir, DEFROST_CHECKPOINT_MODE: 'exit' };
  const command = viaCli
    ? `node ${relativeToRepo(o.cli!)} checkpoint --image ${o.imageDir} ${flags.map((f) => `${f} `).join('')}-- node ${relativeToRepo(o.entry)}`
    : `DEFROST_CHECKPOINT_IMAGE=${o.imageDir} node --expose-gc ${relativeToRepo(o.entry)}`;
  const started = performance.now();
  const t = o.pc.spawn(`${o.name} checkpoint`, process.execPath, args, { env, logFile: o.logFile });
  const exit = await Promise.race([t.exited, sleep(o.timeoutMs, undefined, { ref: false })]);
  if (!exit) {
    await o.pc.stop(t, 2_000);
    throw new BenchError(
      `building the ${o.name} image did not finish within ${o.timeoutMs / 1000} s: ${command}${await logTail(o.logFile)}`,
    );
  }
  const wallMs = performance.now() - started;
  const manifestFile = join(o.imageDir, 'defrost.json');
  if (exit.code !== 0 || !existsSync(manifestFile)) {
    throw new BenchError(
      `building the ${o.name} image failed (${describeExit(exit)}${existsSync(manifestFile) ? '' : ', no defrost.json'}): ${command}${await logTail(o.logFile)}`,
    );
  }
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as {
    checkpoint?: { durationMs?: number };
  };
  return { wallMs, bytes: await dirBytes(o.imageDir), dumpMs: manifest.checkpoint?.durationMs, command };
}

export function relativeToRepo(path: string): string {
  return path.startsWith(`${REPO_ROOT}/`) ? path.slice(REPO_ROOT.length + 1) : path;
}
