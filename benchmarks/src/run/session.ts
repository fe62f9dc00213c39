/** One server lifetime of one contender: start, measure as a user would see it, check, stop. */
import type { Contender, RestorePath, ServerHandle } from '../contenders.js';
import type { MetricKey, Samples } from '../model.js';
import { fetchAll, sequentialLatencies, waitForFirstResponse } from '../probes/http.js';
import { rssMb } from '../probes/rss.js';
import { measureThroughput } from '../probes/throughput.js';
import { BenchError } from '../setup.js';
import { percentile } from '../stats.js';
import { type RunContext, withServer } from './context.js';
import { FIRST_RESPONSE_TIMEOUT_MS } from './prepare.js';
import { progressMiB, progressMs } from './progress.js';
import { LATENCY_REQUESTS, THROUGHPUT_CONNECTIONS } from './steady-state.js';

export type SessionKind = 'latency' | 'load';

/** Where one session's numbers go; an untimed session records nothing. */
export interface SessionRecord {
  readonly samples: Samples;
  /** Every request's latency, per latency session. */
  readonly curves: number[][];
  countRestorePath(path: RestorePath | undefined): void;
}

interface Measured {
  push(key: MetricKey, value: number | undefined): void;
  readonly parts: string[];
}

/** Runs one session and returns its progress line. `record` undefined: an untimed warm-up. */
export async function runSession(
  ctx: RunContext,
  c: Contender,
  kind: SessionKind,
  firstVisit: readonly string[],
  record: SessionRecord | undefined,
): Promise<string> {
  const samples: Samples = record?.samples ?? {};
  const m: Measured = {
    push(key, value) {
      if (value === undefined) return;
      samples[key] = [...(samples[key] ?? []), value];
    },
    parts: [],
  };
  return withServer(
    ctx,
    () => c.start(ctx.logFile(`${c.id}-${kind}`)),
    async (h) => {
      const first = await waitForFirstResponse(c.origin, '/', {
        timeoutMs: FIRST_RESPONSE_TIMEOUT_MS,
        failed: h.failed,
      });
      const ttfr = first.atMs - h.startedAt;
      m.push('timeToFirstResponseMs', ttfr);
      m.parts.push(`first 200 ${progressMs(ttfr)}`);
      if (kind === 'latency') await measureLatency(c, h, m, firstVisit, record);
      else await measureLoad(c, h, m, first.atMs);
      if (kind === 'load') record?.countRestorePath((await h.extras()).restorePath);
      const failed = h.failed();
      if (failed) throw new BenchError(`${c.id}: the server did not survive the ${kind} run: ${failed}`);
      return m.parts.join(', ');
    },
    c,
  );
}

/** Fully served, the first 1,000 sequential requests, memory, and what the restorer reported. */
async function measureLatency(
  c: Contender,
  h: ServerHandle,
  m: Measured,
  firstVisit: readonly string[],
  record: SessionRecord | undefined,
): Promise<void> {
  // Watched while the other probes run: lazy pages keep streaming in after the first 200.
  const resident = h.pagesResident?.();
  if (c.full) {
    const fully = (await fetchAll(c.origin, firstVisit)) - h.startedAt;
    m.push('timeToFullyServedMs', fully);
    m.parts.push(`fully served ${progressMs(fully)}`);
  }
  const latencies = await sequentialLatencies(c.origin, '/', LATENCY_REQUESTS);
  const first100 = latencies.slice(0, 100);
  m.push('first100P50Ms', percentile(first100, 50));
  m.push('first100P99Ms', percentile(first100, 99));
  m.push('first1000P50Ms', percentile(latencies, 50));
  m.push('first1000P99Ms', percentile(latencies, 99));
  record?.curves.push(latencies);
  const rss = await rssMb(await h.serverPid());
  m.push('rssMb', rss);
  m.parts.push(
    `first 100 p50/p99 ${progressMs(percentile(first100, 50))}/${progressMs(percentile(first100, 99))}`,
    `rss ${progressMiB(rss)}`,
  );
  const residentAt = await resident;
  if (residentAt !== undefined) {
    m.push('allPagesResidentMs', residentAt - h.startedAt);
    m.parts.push(`all pages in memory ${progressMs(residentAt - h.startedAt)}`);
  }
  await recordRestorerFacts(h, m, record);
}

async function recordRestorerFacts(
  h: ServerHandle,
  m: Measured,
  record: SessionRecord | undefined,
): Promise<void> {
  const extras = await h.extras();
  m.push('reportedRestoreMs', extras.reportedRestoreMs);
  m.push('restoreChecksMs', extras.checksMs);
  m.push('criuMs', extras.criu?.criuMs);
  m.push('criuRestoreTimeMs', extras.criu?.restoreTimeMs);
  m.push('criuForkingTimeMs', extras.criu?.forkingTimeMs);
  m.push('criuPagesRestored', extras.criu?.pagesRestored);
  record?.countRestorePath(extras.restorePath);
  if (extras.criu?.restoreTimeMs !== undefined)
    m.parts.push(`criu restore_time ${progressMs(extras.criu.restoreTimeMs)}`);
}

/** Throughput over the first 1 and 5 seconds after the first response, then memory. */
async function measureLoad(c: Contender, h: ServerHandle, m: Measured, firstAtMs: number): Promise<void> {
  const load = await measureThroughput(c.origin, '/', {
    t0: firstAtMs,
    windowsMs: [1_000, 5_000],
    connections: THROUGHPUT_CONNECTIONS,
  });
  m.push('throughput1sRps', load.rps[0]);
  m.push('throughput5sRps', load.rps[1]);
  const rss = await rssMb(await h.serverPid());
  m.push('rssAfterLoadMb', rss);
  m.parts.push(
    `${load.rps[0]!.toFixed(0)} req/s in 1 s, ${load.rps[1]!.toFixed(0)} req/s in 5 s`,
    `rss ${progressMiB(rss)}`,
  );
}
