/** Setup, untimed: the seeded data dir, the images, and what starting a process costs here. */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { formatBytes } from '@defrost/core/internal';
import { readDumpStats } from '../criu-stats.js';
import type { CriuDumpStats } from '../model.js';
import { fetchAll, firstVisitResources, waitForFirstResponse } from '../probes/http.js';
import { describeExit } from '../process/control.js';
import { BenchError, buildImage, type ImageBuild, logTail, serverEnv } from '../setup.js';
import { median } from '../stats.js';
import { type RunContext, startPlain, withServer } from './context.js';
import { progressMs } from './progress.js';

const IMAGE_TIMEOUT_MS = 10 * 60_000;
export const FIRST_RESPONSE_TIMEOUT_MS = 120_000;

export interface Seeding {
  /** What a first visit fetches after `/` (the page's own resources). */
  readonly visit: string[];
  readonly ms: number;
}

/** One untimed cold start, so that no measured start seeds the data dir. */
export async function seedDataDir(ctx: RunContext): Promise<Seeding> {
  ctx.io.progress('setup: seeding the data dir with one untimed cold start');
  const seeding = await withServer(
    ctx,
    () => startPlain(ctx, ctx.paths.app, ctx.appEnv, ctx.logFile('seed')),
    async (h) => {
      const first = await waitForFirstResponse(ctx.origin, '/', { timeoutMs: 10 * 60_000, failed: h.failed });
      const visit = firstVisitResources(first.body);
      await fetchAll(ctx.origin, visit);
      return { visit, ms: first.atMs - h.startedAt };
    },
  );
  const visited = seeding.visit.length ? seeding.visit.join(', ') : 'nothing else';
  ctx.io.progress(`setup: seeded in ${progressMs(seeding.ms)}; a first visit fetches / then ${visited}`);
  return seeding;
}

export interface Images {
  readonly imageDir: string;
  readonly image: ImageBuild;
  readonly dumpStats: CriuDumpStats | undefined;
  /** The floor: a trivial node:http server's image, on a port of its own. */
  readonly floorDir: string;
  readonly floorImage: ImageBuild;
  readonly floorEnv: NodeJS.ProcessEnv;
  readonly floorOrigin: string;
  /** The same app signed with a key of its own (only with the CLI, which signs). */
  readonly signed?: SignedImage;
}

export interface SignedImage {
  readonly imageDir: string;
  /** A 32-byte binary key, as `openssl rand 32` writes it. */
  readonly keyFile: string;
}

/** The app's image and the floor's, built once. */
export async function buildImages(ctx: RunContext): Promise<Images> {
  const { io, paths } = ctx;
  io.progress('setup: building the app image (warm-up + checkpoint)');
  const imageDir = join(ctx.work, 'image');
  const image = await buildImage({
    pc: io.pc,
    cli: paths.cli,
    entry: paths.app,
    imageDir,
    env: ctx.appEnv,
    logFile: ctx.logFile('checkpoint-app'),
    timeoutMs: IMAGE_TIMEOUT_MS,
    name: 'app',
  });
  const dumpStats = await readDumpStats(imageDir);
  const pages = dumpStats?.pagesWritten ? `, ${dumpStats.pagesWritten} pages` : '';
  io.progress(
    `setup: app image ${formatBytes(image.bytes)} in ${progressMs(image.wallMs)} (dump ${image.dumpMs ?? '?'} ms${pages})`,
  );
  io.progress('setup: building the floor image (trivial node:http server)');
  const floorPort = await ctx.anotherPort();
  const floorEnv = serverEnv({ PORT: String(floorPort) });
  const floorDir = join(ctx.work, 'floor-image');
  const floorImage = await buildImage({
    pc: io.pc,
    cli: paths.cli,
    entry: paths.floorServer,
    imageDir: floorDir,
    env: floorEnv,
    logFile: ctx.logFile('checkpoint-floor'),
    timeoutMs: IMAGE_TIMEOUT_MS,
    name: 'floor',
  });
  const signed = paths.cli ? await buildSignedImage(ctx) : undefined;
  return {
    imageDir,
    image,
    dumpStats,
    floorDir,
    floorImage,
    floorEnv,
    floorOrigin: `http://127.0.0.1:${floorPort}`,
    ...(signed ? { signed } : {}),
  };
}

/** The app's image again, signed: what a host that requires signatures restores. */
async function buildSignedImage(ctx: RunContext): Promise<SignedImage> {
  ctx.io.progress('setup: building the signed app image');
  const keyFile = join(ctx.work, 'signing-key');
  await writeFile(keyFile, randomBytes(32), { mode: 0o600 });
  const imageDir = join(ctx.work, 'signed-image');
  await buildImage({
    pc: ctx.io.pc,
    cli: ctx.paths.cli,
    entry: ctx.paths.app,
    imageDir,
    env: ctx.appEnv,
    logFile: ctx.logFile('checkpoint-signed'),
    timeoutMs: IMAGE_TIMEOUT_MS,
    name: 'signed app',
    flags: ['--signing-key-file', keyFile],
  });
  return { imageDir, keyFile };
}

/** Median wall time of `node -e 0` and of `node <cli> --version`, 5 runs each, interleaved. */
export async function processStartCosts(
  ctx: RunContext,
): Promise<{ nodeStartMs: number; cliStartMs?: number }> {
  const { cli } = ctx.paths;
  const log = ctx.logFile('start-costs');
  const node: number[] = [];
  const cliRuns: number[] = [];
  const timed = async (args: string[]): Promise<number> => {
    const started = performance.now();
    const t = ctx.io.pc.spawn('start cost', process.execPath, args, { env: ctx.appEnv, logFile: log });
    const exit = await t.exited;
    if (exit.code !== 0)
      throw new BenchError(`node ${args.join(' ')} failed: ${describeExit(exit)}${await logTail(log)}`);
    return performance.now() - started;
  };
  for (let i = 0; i < 5; i++) {
    node.push(await timed(['-e', '0']));
    if (cli) cliRuns.push(await timed([cli, '--version']));
  }
  return { nodeStartMs: median(node), ...(cli ? { cliStartMs: median(cliRuns) } : {}) };
}
