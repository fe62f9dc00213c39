#!/usr/bin/env node
/**
 * The zero-code benchmark: for each example app that holds no defrost code, an image made by
 * `defrost checkpoint` (as it is), then interleaved rounds of a cold start (`node ENTRY`) and a
 * `defrost restore` (the installed command), each timed from spawn to the first 200 on the app's
 * probe route, as pnpm bench measures time to first response (probes/http.ts). Results on stdout
 * (a Markdown table, or --json); progress on stderr. Every process started is stopped by PID.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireCriuBinary } from '@defrost/core/internal';
import { ArgsError } from '../args.js';
import { type Contender, coldContender, parseRestorePath, restoreCommandContender } from '../contenders.js';
import { machineFacts } from '../machine.js';
import { waitForFirstResponse } from '../probes/http.js';
import { ProcessControl } from '../process/control.js';
import { restoreVia } from '../run/line-up.js';
import {
  BenchError,
  buildImage,
  freePort,
  type Paths,
  relativeToRepo,
  resolvePaths,
  serverEnv,
} from '../setup.js';
import { ZERO_CODE_APPS, type ZeroCodeApp } from './apps.js';
import { parseZeroCodeArgs, ZERO_CODE_USAGE } from './args.js';
import { type AppMeasurement, renderZeroCodeReport, resultOf, type ZeroCodeDocument } from './report.js';

const err = (line: string): void => {
  process.stderr.write(`zero-code: ${line}\n`);
};

/** The API node-http calls at start-up: settings and rates, kept alive as real APIs are. */
async function startUpstream(): Promise<Server> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/settings') return res.end('{"name":"rates","base":"EUR"}');
    if (req.url === '/rates') return res.end('{"base":"EUR","rates":{"USD":1.08,"GBP":0.85},"version":1}');
    res.statusCode = 404;
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** One timed start: spawn to the first 200 on the probe; the server is stopped before it returns. */
async function timedStart(
  contender: Contender,
  probe: string,
  logFile: string,
): Promise<{ ms: number; log: string }> {
  const h = await contender.start(logFile);
  try {
    const first = await waitForFirstResponse(contender.origin, probe, {
      timeoutMs: 120_000,
      failed: h.failed,
    });
    return { ms: first.atMs - h.startedAt, log: await readFile(logFile, 'utf8').catch(() => '') };
  } finally {
    await h.stop();
  }
}

async function measureApp(
  app: ZeroCodeApp,
  o: { pc: ProcessControl; paths: Paths; work: string; runs: number; upstreamUrl: string },
): Promise<AppMeasurement> {
  if (!existsSync(app.entry)) {
    throw new BenchError(
      `${relativeToRepo(app.entry)} is missing${app.built ? ': build it with `pnpm --filter @defrost/examples build`' : ''}`,
    );
  }
  const dir = join(o.work, app.name);
  await mkdir(dir);
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const env = serverEnv({
    PORT: String(port),
    ...(app.needsUpstream ? { UPSTREAM_URL: o.upstreamUrl } : {}),
    ...(app.logsToFile ? { LOG_FILE: join(dir, 'app.log') } : {}),
  });
  const imageDir = join(dir, 'image');
  err(`${app.name}: building the image (${app.flags.length > 0 ? app.flags.join(' ') : 'GET /'})`);
  const image = await buildImage({
    pc: o.pc,
    cli: o.paths.cli,
    entry: app.entry,
    imageDir,
    env,
    logFile: join(dir, 'checkpoint.log'),
    timeoutMs: 300_000,
    name: app.name,
    flags: app.flags,
  });
  const cold = coldContender({
    id: 'cold',
    pc: o.pc,
    entry: app.entry,
    env,
    origin,
    command: `node ${app.entry}`,
  });
  const restore = restoreCommandContender({
    id: 'defrost',
    pc: o.pc,
    ...restoreVia(o.paths, imageDir),
    imageDir,
    env: { ...env, DEFROST_DEBUG: '1' },
    origin,
    full: true,
  });
  const coldMs: number[] = [];
  const restoreMs: number[] = [];
  let fastPathRestores = 0;
  // Round 0 is untimed: its restore goes through the full path and leaves the launch plan.
  for (let round = 0; round <= o.runs; round++) {
    const c = await timedStart(cold, app.probe, join(dir, `cold-${round}.log`));
    const r = await timedStart(restore, app.probe, join(dir, `restore-${round}.log`));
    if (round === 0) continue;
    coldMs.push(c.ms);
    restoreMs.push(r.ms);
    if (parseRestorePath(r.log)?.fast) fastPathRestores++;
    err(`${app.name}: round ${round}/${o.runs}: cold ${c.ms.toFixed(1)} ms, restore ${r.ms.toFixed(1)} ms`);
  }
  return {
    name: app.name,
    stack: app.stack,
    probe: app.probe,
    coldMs,
    restoreMs,
    fastPathRestores,
    imageBytes: image.bytes,
    checkpointWallMs: image.wallMs,
    checkpointCommand: image.command,
  };
}

async function run(argv: readonly string[], pc: ProcessControl): Promise<number> {
  const args = parseZeroCodeArgs(argv);
  if (args.help) {
    process.stdout.write(ZERO_CODE_USAGE);
    return 0;
  }
  const criu = (await requireCriuBinary()).version.text;
  const paths = resolvePaths(ZERO_CODE_APPS[0]!.entry);
  const work = await mkdtemp(join(tmpdir(), 'defrost-zero-code-'));
  const upstream = await startUpstream();
  try {
    const machine = await machineFacts(work, criu);
    const startedAt = new Date().toISOString();
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const apps = [];
    for (const name of args.apps) {
      const app = ZERO_CODE_APPS.find((a) => a.name === name)!;
      apps.push(resultOf(await measureApp(app, { pc, paths, work, runs: args.runs, upstreamUrl })));
    }
    const doc: ZeroCodeDocument = {
      startedAt,
      runs: args.runs,
      machine: { ...machine, loadAverage: { atStart: machine.loadAverage.atStart, atEnd: loadavg()[0]! } },
      apps,
    };
    process.stdout.write(args.json ? `${JSON.stringify(doc, null, 2)}\n` : renderZeroCodeReport(doc));
    return 0;
  } finally {
    upstream.closeAllConnections();
    upstream.close();
    await rm(work, { recursive: true, force: true });
  }
}

const pc = new ProcessControl((m) => err(`warning: ${m}`));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    err(`${signal}: stopping every process it started`);
    void pc.stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}
process.on('exit', () => pc.killAllSync());
run(process.argv.slice(2), pc).then(
  (code) => {
    process.exitCode = code;
  },
  async (error: unknown) => {
    await pc.stopAll();
    if (error instanceof ArgsError) err(`${error.message}\n\n${ZERO_CODE_USAGE}`);
    else err(error instanceof BenchError ? error.message : String((error as Error).stack ?? error));
    process.exitCode = error instanceof ArgsError ? 2 : 1;
  },
);
