/** The bench: setup once, then interleaved rounds of every contender, then summaries and verdicts. */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireCriuBinary } from '@defrost/core/internal';
import type { BenchArgs } from './args.js';
import {
  type Contender,
  coldContender,
  coreApiContender,
  describeRestorePaths,
  type RestorePath,
  type RestorePathTally,
  restoreCommandContender,
  type ServerHandle,
} from './contenders.js';
import { readDumpStats } from './criu-stats.js';
import { machineFacts } from './machine.js';
import {
  type BenchDocument,
  type ContenderId,
  type ContenderInfo,
  type ContenderResult,
  METRICS,
  type MetricKey,
  type Samples,
} from './model.js';
import {
  fetchAll,
  firstVisitResources,
  isListening,
  sequentialLatencies,
  waitForFirstResponse,
} from './probes/http.js';
import { rssMb } from './probes/rss.js';
import { loadFor, measureThroughput } from './probes/throughput.js';
import { describeExit, type ProcessControl } from './process/control.js';
import {
  BenchError,
  buildImage,
  freePort,
  logTail,
  relativeToRepo,
  resolvePaths,
  serverEnv,
} from './setup.js';
import { elementwiseMedian, median, percentile, ratio, summarize } from './stats.js';
import { computeVerdicts } from './verdicts.js';

export const LATENCY_REQUESTS = 1_000;
export const THROUGHPUT_CONNECTIONS = 10;
const FIRST_RESPONSE_TIMEOUT_MS = 120_000;
const IMAGE_TIMEOUT_MS = 10 * 60_000;

export interface BenchIo {
  readonly pc: ProcessControl;
  /** Told where the work directory is as soon as it exists (to clean it up after a signal). */
  onWorkDir?(dir: string): void;
  progress(message: string): void;
  warn(message: string): void;
}

export interface BenchOutcome {
  readonly document: BenchDocument;
}

const fmtMs = (n: number): string => (n >= 100 ? `${n.toFixed(0)} ms` : `${n.toFixed(1)} ms`);

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
    return { document: await runIn(workDir) };
  } finally {
    if (!args.keep) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }

  async function runIn(work: string): Promise<BenchDocument> {
    const logs = join(work, 'logs');
    const dataDir = join(work, 'data');
    await mkdir(logs);
    let logSeq = 0;
    const logFile = (name: string): string =>
      join(logs, `${String(++logSeq).padStart(4, '0')}-${name.replace(/[^a-z0-9]+/gi, '-')}.log`);
    const machine = await machineFacts(work, criuVersion);
    const appPort = await freePort();
    let floorPort = await freePort();
    while (floorPort === appPort) floorPort = await freePort();
    const origin = `http://127.0.0.1:${appPort}`;
    const floorOrigin = `http://127.0.0.1:${floorPort}`;
    const appEnv = serverEnv({ PORT: String(appPort), BLOG_DATA_DIR: dataDir });
    const floorEnv = serverEnv({ PORT: String(floorPort) });
    const appName = relativeToRepo(paths.app);
    io.progress(
      `app ${appName} on Node ${process.version} (${process.execPath}), work dir ${work} (${machine.imageFilesystem.type}), port ${appPort}`,
    );
    if (!paths.cli) {
      io.warn(
        'packages/cli is not built (packages/cli/dist/bin.js missing): images are built by running the app with DEFROST_CHECKPOINT_IMAGE, and `defrost` runs a stand-in restore command on @defrost/core (same verification, criu restore and hooks; `pnpm --filter defrost build` to measure the real CLI)',
      );
    }

    // --- Seeding: one untimed cold start, so that no measured start seeds the data dir.
    io.progress('setup: seeding the data dir with one untimed cold start');
    const seeding = await withServer(
      () => startPlain(paths.app, appEnv, logFile('seed')),
      async (h) => {
        const first = await waitForFirstResponse(origin, '/', { timeoutMs: 10 * 60_000, failed: h.failed });
        const visit = firstVisitResources(first.body);
        await fetchAll(origin, visit);
        return { visit, ms: first.atMs - h.startedAt };
      },
    );
    io.progress(
      `setup: seeded in ${fmtMs(seeding.ms)}; a first visit fetches / then ${seeding.visit.length ? seeding.visit.join(', ') : 'nothing else'}`,
    );

    // --- Images, built once.
    io.progress('setup: building the app image (warm-up + checkpoint)');
    const imageDir = join(work, 'image');
    const image = await buildImage({
      pc: io.pc,
      cli: paths.cli,
      entry: paths.app,
      imageDir,
      env: appEnv,
      logFile: logFile('checkpoint-app'),
      timeoutMs: IMAGE_TIMEOUT_MS,
      name: 'app',
    });
    const dumpStats = await readDumpStats(imageDir);
    io.progress(
      `setup: app image ${(image.bytes / 2 ** 20).toFixed(1)} MB in ${fmtMs(image.wallMs)} (dump ${image.dumpMs ?? '?'} ms${dumpStats?.pagesWritten ? `, ${dumpStats.pagesWritten} pages` : ''})`,
    );
    io.progress('setup: building the floor image (trivial node:http server)');
    const floorDir = join(work, 'floor-image');
    const floorImage = await buildImage({
      pc: io.pc,
      cli: paths.cli,
      entry: paths.floorServer,
      imageDir: floorDir,
      env: floorEnv,
      logFile: logFile('checkpoint-floor'),
      timeoutMs: IMAGE_TIMEOUT_MS,
      name: 'floor',
    });

    // --- What a Node process and the CLI cost before doing anything (where the time goes).
    const startCosts = await processStartCosts(paths.cli, logFile('start-costs'));

    // --- Contenders.
    // `defrost restore` as a user runs it: the installed command (packages/cli/bin/defrost), which
    // restores without Node when the image has a launch plan. The first restore of an image (the
    // untimed warm-up round) goes through Node and writes the plan. DEFROST_DEBUG=1 makes it say
    // which path each start took, so the report can tell.
    const restoreEnv = { ...appEnv, DEFROST_DEBUG: '1' };
    const restorePaths = new Map<ContenderId, RestorePathTally>();
    const countRestorePath = (id: ContenderId, path: RestorePath | undefined): void => {
      if (!path) return;
      const tally = restorePaths.get(id) ?? { fast: 0, full: 0, reasons: new Set<string>() };
      if (path.fast) tally.fast++;
      else {
        tally.full++;
        tally.reasons.add(path.reason ?? '?');
      }
      restorePaths.set(id, tally);
    };
    const restoreVia = (
      dir: string,
      extra: readonly string[] = [],
    ): { file?: string; args: string[]; command: string } =>
      paths.defrost
        ? {
            file: paths.defrost,
            args: ['restore', dir, ...extra],
            command: ['defrost', 'restore', dir, ...extra].join(' '),
          }
        : {
            args: [paths.restoreStandIn, dir],
            command: `node ${relativeToRepo(paths.restoreStandIn)} ${dir}`,
          };
    const standInNote = paths.cli
      ? undefined
      : 'stand-in for `defrost restore` (packages/cli not built): a fresh node process calling restore() of @defrost/core';
    const contenders: Contender[] = [
      coldContender({
        id: 'cold',
        pc: io.pc,
        entry: paths.app,
        env: appEnv,
        origin,
        command: `node ${appName}`,
      }),
      restoreCommandContender({
        id: 'defrost',
        pc: io.pc,
        ...restoreVia(imageDir),
        imageDir,
        env: restoreEnv,
        origin,
        full: true,
        ...(standInNote ? { note: standInNote } : {}),
      }),
    ];
    if (paths.cli) {
      contenders.push(
        // Memory paged in through userfaultfd instead of before the server resumes.
        restoreCommandContender({
          id: 'defrost (lazy pages)',
          pc: io.pc,
          ...restoreVia(imageDir, ['--lazy-pages']),
          imageDir,
          env: restoreEnv,
          origin,
          full: true,
          note: 'a criu lazy-pages daemon per restore fills memory on demand (userfaultfd)',
        }),
        // The full path every time: what the native launcher saves.
        restoreCommandContender({
          id: 'defrost (node CLI)',
          pc: io.pc,
          args: [paths.cli, 'restore', imageDir],
          imageDir,
          env: appEnv,
          origin,
          command: `node ${relativeToRepo(paths.cli)} restore ${imageDir}`,
          full: false,
          note: 'the full command line in Node on every start (what `defrost restore` does when it has no launch plan)',
        }),
      );
    }
    const core = await coreApiContender({
      pc: io.pc,
      helper: paths.coreRestorer,
      imageDir,
      env: appEnv,
      origin,
      logFile: logFile('core-api-restorer'),
    });
    contenders.push(core.contender);
    const skipped: Partial<Record<ContenderId, string>> = {};
    {
      // What a Node user would try first instead of defrost: the on-disk compile cache.
      const cacheDir = join(work, 'compile-cache');
      const ccEnv = { ...appEnv, NODE_COMPILE_CACHE: cacheDir };
      io.progress('setup: filling the compile cache with one untimed cold start');
      await withServer(
        () => startPlain(paths.app, ccEnv, logFile('compile-cache-fill')),
        (h) => waitForFirstResponse(origin, '/', { timeoutMs: FIRST_RESPONSE_TIMEOUT_MS, failed: h.failed }),
      );
      contenders.push(
        coldContender({
          id: 'cold+compile-cache',
          pc: io.pc,
          entry: paths.app,
          env: ccEnv,
          origin,
          command: `NODE_COMPILE_CACHE=${cacheDir} node ${appName}`,
          note: 'cache filled by one untimed start in setup',
        }),
      );
    }
    const floorVia = restoreVia(floorDir);
    contenders.push(
      restoreCommandContender({
        id: 'floor',
        pc: io.pc,
        ...floorVia,
        imageDir: floorDir,
        env: { ...floorEnv, DEFROST_DEBUG: '1' },
        origin: floorOrigin,
        command: `${floorVia.command} (image of node ${relativeToRepo(paths.floorServer)})`,
        full: false,
      }),
    );

    // --- Steady state: a cold-started server on its own port, loaded for a long time, then measured
    // once per round between the contenders (so it sees the same machine as they do), each time after
    // a short burst of load that keeps it at steady state.
    let steadyPort = await freePort();
    while (steadyPort === appPort || steadyPort === floorPort) steadyPort = await freePort();
    const steadyOrigin = `http://127.0.0.1:${steadyPort}`;
    if (await isListening(steadyOrigin)) throw new BenchError(`something already answers on ${steadyOrigin}`);
    io.progress(
      `steady state: a cold-started server on port ${steadyPort}, loaded for ${args.steadyWarmupMs / 1000} s`,
    );
    const steadyServer = await coldContender({
      id: 'cold',
      pc: io.pc,
      entry: paths.app,
      env: serverEnv({ PORT: String(steadyPort), BLOG_DATA_DIR: dataDir }),
      origin: steadyOrigin,
      command: '',
    }).start(logFile('steady-state'));
    const steadySamples = {
      p50Ms: [] as number[],
      p99Ms: [] as number[],
      rps: [] as number[],
      rssMb: [] as number[],
    };
    const measureSteady = async (): Promise<string> => {
      try {
        await loadFor(steadyOrigin, '/', 1_000, THROUGHPUT_CONNECTIONS);
        await sleep(300);
        const latencies = await sequentialLatencies(steadyOrigin, '/', LATENCY_REQUESTS);
        const load = await measureThroughput(steadyOrigin, '/', {
          t0: performance.now(),
          windowsMs: [5_000],
          connections: THROUGHPUT_CONNECTIONS,
        });
        const rss = await rssMb(await steadyServer.serverPid());
        if (steadyServer.failed()) throw new BenchError(steadyServer.failed()!);
        const [p50, p99, rps] = [percentile(latencies, 50), percentile(latencies, 99), load.rps[0]!];
        steadySamples.p50Ms.push(p50);
        steadySamples.p99Ms.push(p99);
        steadySamples.rps.push(rps);
        steadySamples.rssMb.push(rss);
        return `1,000 sequential p50/p99 ${fmtMs(p50)}/${fmtMs(p99)}, ${rps.toFixed(0)} req/s, rss ${rss.toFixed(0)} MB`;
      } catch (error) {
        if (error instanceof BenchError) throw new BenchError(`steady state: ${error.message}`);
        throw new BenchError(
          `steady state: ${(error as Error).message}\n  server log ${steadyServer.logFile}:${await logTail(steadyServer.logFile)}`,
        );
      }
    };

    try {
      await waitForFirstResponse(steadyOrigin, '/', {
        timeoutMs: FIRST_RESPONSE_TIMEOUT_MS,
        failed: steadyServer.failed,
      });
      await loadFor(steadyOrigin, '/', args.steadyWarmupMs, THROUGHPUT_CONNECTIONS);
      await sequentialLatencies(steadyOrigin, '/', LATENCY_REQUESTS);

      // --- Rounds, interleaved: every contender once per session kind per round.
      const samples = new Map<ContenderId, Samples>(contenders.map((c) => [c.id, {}]));
      const curves = new Map<ContenderId, number[][]>(contenders.map((c) => [c.id, []]));
      const totalRounds = args.warmupRounds + args.runs;
      for (let round = 0; round < totalRounds; round++) {
        const warm = round < args.warmupRounds;
        const tag = warm
          ? `[warm-up round ${round + 1}/${args.warmupRounds}, untimed]`
          : `[round ${round - args.warmupRounds + 1}/${args.runs}]`;
        for (const kind of ['latency', 'load'] as const) {
          for (const c of contenders) {
            if (kind === 'load' && !c.full) continue;
            const s = warm ? {} : samples.get(c.id)!;
            const line = await runSession(c, kind, s, warm ? undefined : curves.get(c.id)!, !warm);
            io.progress(`${tag} ${c.id.padEnd(18)} ${kind.padEnd(7)} ${line}`);
          }
        }
        const line = await measureSteady();
        if (warm) for (const list of Object.values(steadySamples)) list.pop();
        io.progress(`${tag} ${'steady state'.padEnd(18)} ${''.padEnd(7)} ${line}`);
      }
      const steady = {
        p50Ms: summarize(steadySamples.p50Ms),
        p99Ms: summarize(steadySamples.p99Ms),
        rps: summarize(steadySamples.rps),
        rssMb: summarize(steadySamples.rssMb),
      };

      // --- Summaries.
      const results: Partial<Record<ContenderId, ContenderResult>> = {};
      const info: Partial<Record<ContenderId, ContenderInfo>> = {};
      const latencyCurves: Partial<Record<ContenderId, number[]>> = {};
      for (const c of contenders) {
        const r: ContenderResult = {};
        const s = samples.get(c.id)!;
        for (const { key } of METRICS) {
          const values = s[key];
          if (values && values.length > 0) (r as Record<MetricKey, unknown>)[key] = summarize(values);
        }
        results[c.id] = r;
        const paths = restorePaths.get(c.id);
        info[c.id] = paths ? { ...c.info, restorePaths: describeRestorePaths(paths) } : c.info;
        if (paths && paths.full > 0) io.warn(`${c.id}: ${describeRestorePaths(paths)}`);
        latencyCurves[c.id] = elementwiseMedian(curves.get(c.id)!);
      }
      const ratios: Partial<Record<MetricKey, number>> = {};
      for (const { key } of METRICS) {
        const q = ratio(results.cold?.[key]?.median, results.defrost?.[key]?.median);
        if (q !== undefined) ratios[key] = q;
      }
      const verdicts = computeVerdicts({
        coldTtfrMs: results.cold?.timeToFirstResponseMs?.median,
        compileCacheTtfrMs: results['cold+compile-cache']?.timeToFirstResponseMs?.median,
        defrostTtfrMs: results.defrost?.timeToFirstResponseMs?.median,
        floorTtfrMs: results.floor?.timeToFirstResponseMs?.median,
        defrostFirst100P99Ms: results.defrost?.first100P99Ms?.median,
        defrostThroughput1sRps: results.defrost?.throughput1sRps?.median,
        steadyStateP99Ms: steady.p99Ms.median,
        steadyStateRps: steady.rps.median,
      });
      return {
        schemaVersion: 1,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        app: appName,
        runs: args.runs,
        quick: args.quick,
        setup: {
          seeding: `the data dir was seeded once by an untimed cold start (${Math.round(seeding.ms)} ms to first response); every measured start reuses it`,
          firstVisit: ['/', ...seeding.visit],
          throughputConnections: THROUGHPUT_CONNECTIONS,
          steadyWarmupMs: args.steadyWarmupMs,
          imageCommand: image.command,
          ...startCosts,
          ...(dumpStats ? { criuDump: dumpStats } : {}),
        },
        contenders: results,
        contenderInfo: info,
        skipped,
        ratios,
        steadyStateP99Ms: steady.p99Ms.median,
        steadyStateP50Ms: steady.p50Ms.median,
        steadyStateRps: steady.rps.median,
        steadyState: steady,
        imageBytes: image.bytes,
        checkpointMs: image.wallMs,
        dumpMs: image.dumpMs ?? null,
        floorImageBytes: floorImage.bytes,
        floorCheckpointMs: floorImage.wallMs,
        verdicts,
        machine: { ...machine, loadAverage: { ...machine.loadAverage, atEnd: loadavg()[0]! } },
        latencyCurves,
      };
    } finally {
      await steadyServer.stop();
      await core.close();
    }

    /** One server lifetime: start, measure, check it is still healthy, stop. */
    async function runSession(
      c: Contender,
      kind: 'latency' | 'load',
      s: Samples,
      curve: number[][] | undefined,
      measured: boolean,
    ): Promise<string> {
      const push = (key: MetricKey, value: number | undefined): void => {
        if (value === undefined) return;
        const list = s[key] ?? [];
        list.push(value);
        s[key] = list;
      };
      return withServer(
        () => c.start(logFile(`${c.id}-${kind}`)),
        async (h) => {
          const first = await waitForFirstResponse(c.origin, '/', {
            timeoutMs: FIRST_RESPONSE_TIMEOUT_MS,
            failed: h.failed,
          });
          const ttfr = first.atMs - h.startedAt;
          push('timeToFirstResponseMs', ttfr);
          const parts = [`first 200 ${fmtMs(ttfr)}`];
          // Watched while the other probes run: lazy pages keep streaming in after the first 200.
          const resident = kind === 'latency' ? h.pagesResident?.() : undefined;
          if (kind === 'latency') {
            if (c.full) {
              const fully = (await fetchAll(c.origin, seeding.visit)) - h.startedAt;
              push('timeToFullyServedMs', fully);
              parts.push(`fully served ${fmtMs(fully)}`);
            }
            const latencies = await sequentialLatencies(c.origin, '/', LATENCY_REQUESTS);
            const first100 = latencies.slice(0, 100);
            push('first100P50Ms', percentile(first100, 50));
            push('first100P99Ms', percentile(first100, 99));
            push('first1000P50Ms', percentile(latencies, 50));
            push('first1000P99Ms', percentile(latencies, 99));
            curve?.push(latencies);
            const rss = await rssMb(await h.serverPid());
            push('rssMb', rss);
            parts.push(
              `first 100 p50/p99 ${fmtMs(percentile(first100, 50))}/${fmtMs(percentile(first100, 99))}`,
              `rss ${rss.toFixed(0)} MB`,
            );
            const residentAt = await resident;
            if (residentAt !== undefined) {
              push('allPagesResidentMs', residentAt - h.startedAt);
              parts.push(`all pages in memory ${fmtMs(residentAt - h.startedAt)}`);
            }
            const extras = await h.extras();
            push('reportedRestoreMs', extras.reportedRestoreMs);
            push('restoreChecksMs', extras.checksMs);
            push('criuMs', extras.criu?.criuMs);
            push('criuRestoreTimeMs', extras.criu?.restoreTimeMs);
            push('criuForkingTimeMs', extras.criu?.forkingTimeMs);
            push('criuPagesRestored', extras.criu?.pagesRestored);
            if (measured) countRestorePath(c.id, extras.restorePath);
            if (extras.criu?.restoreTimeMs !== undefined)
              parts.push(`criu restore_time ${fmtMs(extras.criu.restoreTimeMs)}`);
          } else {
            const load = await measureThroughput(c.origin, '/', {
              t0: first.atMs,
              windowsMs: [1_000, 5_000],
              connections: THROUGHPUT_CONNECTIONS,
            });
            push('throughput1sRps', load.rps[0]);
            push('throughput5sRps', load.rps[1]);
            const rss = await rssMb(await h.serverPid());
            push('rssAfterLoadMb', rss);
            parts.push(
              `${load.rps[0]!.toFixed(0)} req/s in 1 s, ${load.rps[1]!.toFixed(0)} req/s in 5 s`,
              `rss ${rss.toFixed(0)} MB`,
            );
          }
          if (measured && kind === 'load') countRestorePath(c.id, (await h.extras()).restorePath);
          const failed = h.failed();
          if (failed) throw new BenchError(`${c.id}: the server did not survive the ${kind} run: ${failed}`);
          return parts.join(', ');
        },
        c,
      );
    }

    /** Median wall time of `node -e 0` and of `node <cli> --version`, 5 runs each, interleaved. */
    async function processStartCosts(
      cli: string | undefined,
      log: string,
    ): Promise<{ nodeStartMs: number; cliStartMs?: number }> {
      const node: number[] = [];
      const cliRuns: number[] = [];
      const timed = async (args: string[]): Promise<number> => {
        const started = performance.now();
        const t = io.pc.spawn('start cost', process.execPath, args, { env: appEnv, logFile: log });
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

    async function startPlain(entry: string, env: NodeJS.ProcessEnv, log: string): Promise<ServerHandle> {
      return coldContender({ id: 'cold', pc: io.pc, entry, env, origin, command: '' }).start(log);
    }

    /** Refuses to start over another server, and always stops what it started. */
    async function withServer<T>(
      start: () => Promise<ServerHandle>,
      body: (h: ServerHandle) => Promise<T>,
      c?: Contender,
    ): Promise<T> {
      const where = c?.origin ?? origin;
      if (await isListening(where)) {
        throw new BenchError(
          `something already answers on ${where}: refusing to measure (a leftover server?)`,
        );
      }
      const h = await start();
      try {
        return await body(h);
      } catch (error) {
        if (error instanceof BenchError) throw error;
        throw new BenchError(
          `${c?.id ?? 'setup'}: ${(error as Error).message}\n  server log ${h.logFile}:${await logTail(h.logFile)}`,
        );
      } finally {
        await h.stop();
      }
    }
  }
}
