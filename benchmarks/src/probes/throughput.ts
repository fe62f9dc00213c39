/**
 * Early throughput: requests/s completed in the first 1 s and the first 5 s after the server became
 * reachable, under a fixed number of concurrent keep-alive connections.
 *
 * autocannon is the load generator. Its own numbers are not used for the windows: its per-second
 * buckets are timer ticks that start when autocannon starts (a little after reachability) and drift
 * with event-loop lag under load, and it stops only at the sampling tick after its duration. So every
 * 'response' event is time-stamped here and counted against windows that start exactly at the
 * moment the first 200 arrived (t0), and the run stops shortly after the last window.
 */
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { ProbeError } from './http.js';

export interface ThroughputResult {
  /** Completed 200s per second in each window, in the order of `windowsMs`. */
  readonly rps: number[];
  /** From t0 to autocannon's start (load generator overhead inside the first window). */
  readonly startDelayMs: number;
  readonly completed: number;
}

export interface ThroughputOptions {
  /** performance.now() at which the windows start. */
  readonly t0: number;
  readonly windowsMs: readonly number[];
  readonly connections: number;
}

export async function measureThroughput(
  origin: string,
  path: string,
  o: ThroughputOptions,
): Promise<ThroughputResult> {
  const end = o.t0 + Math.max(...o.windowsMs);
  const counts = o.windowsMs.map(() => 0);
  let bad = 0;
  let firstBad = '';
  let errors = 0;
  let firstError = '';
  const startedAt = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${origin}${path}`,
        connections: o.connections,
        pipelining: 1,
        // seconds; stops at the first sampling tick after it (sampleInt below)
        duration: Math.max(0.05, (end - performance.now()) / 1000),
        timeout: 10,
        ...({ sampleInt: 50 } as object),
      },
      (error, res) => (error ? reject(error) : resolve(res)),
    );
    instance.on('response', (_client, statusCode) => {
      const at = performance.now();
      if (statusCode !== 200) {
        bad++;
        firstBad ||= `HTTP ${statusCode}`;
        return;
      }
      for (let i = 0; i < counts.length; i++) if (at - o.t0 <= o.windowsMs[i]!) counts[i]!++;
    });
    instance.on('reqError', (error: Error) => {
      errors++;
      firstError ||= (error as { code?: string }).code ?? error.message;
    });
  });
  if (bad > 0 || errors > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new ProbeError(
      `load on ${path}: ${bad} non-200 responses${firstBad ? ` (first: ${firstBad})` : ''}, ${errors || result.errors} errors${firstError ? ` (first: ${firstError})` : ''}, ${result.timeouts} timeouts`,
    );
  }
  return {
    rps: counts.map((n, i) => n / (o.windowsMs[i]! / 1000)),
    startDelayMs: startedAt - o.t0,
    completed: result.requests.total,
  };
}

/** Keeps a server busy for `durationMs` (the steady-state warm-up); fails on any error. */
export async function loadFor(
  origin: string,
  path: string,
  durationMs: number,
  connections: number,
): Promise<number> {
  const result = await autocannon({
    url: `${origin}${path}`,
    connections,
    pipelining: 1,
    duration: durationMs / 1000,
    timeout: 10,
  });
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
    throw new ProbeError(
      `warm-up load on ${path}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`,
    );
  }
  return result.requests.total;
}
