/**
 * Steady state: a cold-started server on its own port, loaded for a long time, then measured once
 * per round between the contenders (so it sees the same machine as they do), each time after a
 * short burst of load that keeps it at steady state.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { coldContender, type ServerHandle } from '../contenders.js';
import { isListening, sequentialLatencies, waitForFirstResponse } from '../probes/http.js';
import { rssMb } from '../probes/rss.js';
import { loadFor, measureThroughput } from '../probes/throughput.js';
import { BenchError, logTail, serverEnv } from '../setup.js';
import type { Summary } from '../stats.js';
import { percentile, summarize } from '../stats.js';
import type { RunContext } from './context.js';
import { FIRST_RESPONSE_TIMEOUT_MS } from './prepare.js';
import { progressMiB, progressMs } from './progress.js';

export const LATENCY_REQUESTS = 1_000;
export const THROUGHPUT_CONNECTIONS = 10;

interface SteadySamples {
  readonly p50Ms: number[];
  readonly p99Ms: number[];
  readonly rps: number[];
  readonly rssMb: number[];
}

export type SteadySummary = { readonly [K in keyof SteadySamples]: Summary };

export interface SteadyServer {
  /** One measurement, recorded unless `record` is false; returns the progress line. */
  measure(record: boolean): Promise<string>;
  summary(): SteadySummary;
  stop(): Promise<void>;
}

/** Starts the steady-state server and loads it until it is warm. */
export async function startSteadyServer(ctx: RunContext): Promise<SteadyServer> {
  const port = await ctx.anotherPort();
  const origin = `http://127.0.0.1:${port}`;
  if (await isListening(origin)) throw new BenchError(`something already answers on ${origin}`);
  ctx.io.progress(
    `steady state: a cold-started server on port ${port}, loaded for ${ctx.args.steadyWarmupMs / 1000} s`,
  );
  const server = await coldContender({
    id: 'cold',
    pc: ctx.io.pc,
    entry: ctx.paths.app,
    env: serverEnv({ PORT: String(port), BLOG_DATA_DIR: ctx.dataDir }),
    origin,
    command: '',
  }).start(ctx.logFile('steady-state'));
  try {
    await waitForFirstResponse(origin, '/', { timeoutMs: FIRST_RESPONSE_TIMEOUT_MS, failed: server.failed });
    await loadFor(origin, '/', ctx.args.steadyWarmupMs, THROUGHPUT_CONNECTIONS);
    await sequentialLatencies(origin, '/', LATENCY_REQUESTS);
  } catch (error) {
    await server.stop();
    throw await steadyStateError(error, server);
  }
  return steadyServer(server, origin);
}

function steadyServer(server: ServerHandle, origin: string): SteadyServer {
  const samples: SteadySamples = { p50Ms: [], p99Ms: [], rps: [], rssMb: [] };
  return {
    async measure(record) {
      try {
        const m = await measureOnce(server, origin);
        if (record) {
          samples.p50Ms.push(m.p50Ms);
          samples.p99Ms.push(m.p99Ms);
          samples.rps.push(m.rps);
          samples.rssMb.push(m.rssMb);
        }
        return `${LATENCY_REQUESTS.toLocaleString('en')} sequential p50/p99 ${progressMs(m.p50Ms)}/${progressMs(m.p99Ms)}, ${m.rps.toFixed(0)} req/s, rss ${progressMiB(m.rssMb)}`;
      } catch (error) {
        throw await steadyStateError(error, server);
      }
    },
    summary: () => ({
      p50Ms: summarize(samples.p50Ms),
      p99Ms: summarize(samples.p99Ms),
      rps: summarize(samples.rps),
      rssMb: summarize(samples.rssMb),
    }),
    stop: () => server.stop(),
  };
}

async function measureOnce(
  server: ServerHandle,
  origin: string,
): Promise<{ p50Ms: number; p99Ms: number; rps: number; rssMb: number }> {
  await loadFor(origin, '/', 1_000, THROUGHPUT_CONNECTIONS);
  await sleep(300);
  const latencies = await sequentialLatencies(origin, '/', LATENCY_REQUESTS);
  const load = await measureThroughput(origin, '/', {
    t0: performance.now(),
    windowsMs: [5_000],
    connections: THROUGHPUT_CONNECTIONS,
  });
  const rss = await rssMb(await server.serverPid());
  const failed = server.failed();
  if (failed) throw new BenchError(failed);
  return {
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    rps: load.rps[0]!,
    rssMb: rss,
  };
}

async function steadyStateError(error: unknown, server: ServerHandle): Promise<BenchError> {
  if (error instanceof BenchError) return new BenchError(`steady state: ${error.message}`);
  return new BenchError(
    `steady state: ${(error as Error).message}\n  server log ${server.logFile}:${await logTail(server.logFile)}`,
  );
}
