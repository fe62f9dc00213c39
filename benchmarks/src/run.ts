/** The bench: setup once, then interleaved rounds of every contender, then summaries and verdicts. */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireCriuBinary } from '@defrost/core/internal';
import type { BenchArgs } from './args.js';
import { machineFacts } from './machine.js';
import type { BenchDocument, ContenderId, MachineFacts, Samples } from './model.js';
import { type BenchIo, createContext, type RunContext } from './run/context.js';
import { type LineUp, lineUp } from './run/line-up.js';
import { buildImages, type Images, processStartCosts, type Seeding, seedDataDir } from './run/prepare.js';
import { type Summaries, summarizeRounds } from './run/results.js';
import { runSession } from './run/session.js';
import {
  type SteadyServer,
  type SteadySummary,
  startSteadyServer,
  THROUGHPUT_CONNECTIONS,
} from './run/steady-state.js';
import { BenchError, resolvePaths } from './setup.js';

export interface BenchOutcome {
  readonly document: BenchDocument;
}

export async function runBench(args: BenchArgs, io: BenchIo): Promise<BenchOutcome> {
  const startedAt = new Date();
  let criuVersion: string;
  try {
    criuVersion = (await requireCriuBinary()).version.text;
  } catch (error) {
    // CriuUnavailableError's message already carries the fix ("\n  fix: ...").
    throw new BenchError((error as Error).message);
  }
  const paths = resolvePaths(args.app);
  const workDir = await mkdtemp(join(tmpdir(), 'defrost-bench-'));
  io.onWorkDir?.(workDir);
  try {
    const ctx = await createContext(io, args, paths, workDir);
    const machine = await machineFacts(workDir, criuVersion);
    announce(ctx, machine);
    return { document: await measure(ctx, machine, startedAt) };
  } finally {
    if (!args.keep) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function announce(ctx: RunContext, machine: MachineFacts): void {
  ctx.io.progress(
    `app ${ctx.appName} on Node ${process.version} (${process.execPath}), work dir ${ctx.work} (${machine.imageFilesystem.type}), port ${ctx.appPort}`,
  );
  if (!ctx.paths.cli) {
    ctx.io.warn(
      'packages/cli is not built (packages/cli/dist/bin.js missing): images are built by running the app with DEFROST_CHECKPOINT_IMAGE, and `defrost` runs a stand-in restore command on @defrost/core (same verification, criu restore and hooks; `pnpm --filter defrost build` to measure the real CLI)',
    );
  }
}

async function measure(ctx: RunContext, machine: MachineFacts, startedAt: Date): Promise<BenchDocument> {
  const seeding = await seedDataDir(ctx);
  const images = await buildImages(ctx);
  // What a Node process and the CLI cost before doing anything (where the time goes).
  const startCosts = await processStartCosts(ctx);
  const line = await lineUp(ctx, images);
  let steady: SteadyServer | undefined;
  try {
    steady = await startSteadyServer(ctx);
    const summaries = await runRounds(ctx, line, steady, seeding);
    return benchDocument(ctx, {
      startedAt,
      machine,
      seeding,
      images,
      startCosts,
      summaries,
      steady: steady.summary(),
    });
  } finally {
    await steady?.stop();
    await line.close();
  }
}

/** Interleaved rounds: every contender once per session kind per round, then the steady server. */
async function runRounds(
  ctx: RunContext,
  line: LineUp,
  steady: SteadyServer,
  seeding: Seeding,
): Promise<Summaries> {
  const { args, io } = ctx;
  const recorded = new Map<ContenderId, { samples: Samples; curves: number[][] }>(
    line.contenders.map((c) => [c.id, { samples: {}, curves: [] }]),
  );
  for (let round = 0; round < args.warmupRounds + args.runs; round++) {
    const warm = round < args.warmupRounds;
    const tag = warm
      ? `[warm-up round ${round + 1}/${args.warmupRounds}, untimed]`
      : `[round ${round - args.warmupRounds + 1}/${args.runs}]`;
    for (const kind of ['latency', 'load'] as const) {
      for (const c of line.contenders) {
        if (kind === 'load' && !c.full) continue;
        const record = warm
          ? undefined
          : { ...recorded.get(c.id)!, countRestorePath: line.countRestorePath.bind(undefined, c.id) };
        const progress = await runSession(ctx, c, kind, seeding.visit, record);
        io.progress(`${tag} ${c.id.padEnd(18)} ${kind.padEnd(7)} ${progress}`);
      }
    }
    const progress = await steady.measure(!warm);
    io.progress(`${tag} ${'steady state'.padEnd(18)} ${''.padEnd(7)} ${progress}`);
  }
  return summarizeRounds(io, line.contenders, recorded, line.restorePaths, steady.summary());
}

interface Measurements {
  readonly startedAt: Date;
  readonly machine: MachineFacts;
  readonly seeding: Seeding;
  readonly images: Images;
  readonly startCosts: { nodeStartMs: number; cliStartMs?: number };
  readonly summaries: Summaries;
  readonly steady: SteadySummary;
}

function benchDocument(ctx: RunContext, m: Measurements): BenchDocument {
  const { image, floorImage, dumpStats } = m.images;
  return {
    schemaVersion: 1,
    startedAt: m.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    app: ctx.appName,
    runs: ctx.args.runs,
    quick: ctx.args.quick,
    setup: {
      seeding: `the data dir was seeded once by an untimed cold start (${Math.round(m.seeding.ms)} ms to first response); every measured start reuses it`,
      firstVisit: ['/', ...m.seeding.visit],
      throughputConnections: THROUGHPUT_CONNECTIONS,
      steadyWarmupMs: ctx.args.steadyWarmupMs,
      imageCommand: image.command,
      ...m.startCosts,
      ...(dumpStats ? { criuDump: dumpStats } : {}),
    },
    contenders: m.summaries.results,
    contenderInfo: m.summaries.info,
    ratios: m.summaries.ratios,
    steadyStateP99Ms: m.steady.p99Ms.median,
    steadyStateP50Ms: m.steady.p50Ms.median,
    steadyStateRps: m.steady.rps.median,
    steadyState: m.steady,
    imageBytes: image.bytes,
    checkpointMs: image.wallMs,
    dumpMs: image.dumpMs ?? null,
    floorImageBytes: floorImage.bytes,
    floorCheckpointMs: floorImage.wallMs,
    verdicts: m.summaries.verdicts,
    machine: { ...m.machine, loadAverage: { ...m.machine.loadAverage, atEnd: loadavg()[0]! } },
    latencyCurves: m.summaries.latencyCurves,
  };
}
