/** From samples to the report: per-contender summaries, cold/defrost ratios, verdicts. */
import { type Contender, describeRestorePaths, type RestorePathTally } from '../contenders.js';
import {
  type ContenderId,
  type ContenderInfo,
  type ContenderResult,
  METRICS,
  type MetricKey,
  type Samples,
  type Verdict,
} from '../model.js';
import { elementwiseMedian, ratio, summarize } from '../stats.js';
import { computeVerdicts } from '../verdicts.js';
import type { BenchIo } from './context.js';
import type { SteadySummary } from './steady-state.js';

export interface Summaries {
  readonly results: Partial<Record<ContenderId, ContenderResult>>;
  readonly info: Partial<Record<ContenderId, ContenderInfo>>;
  readonly latencyCurves: Partial<Record<ContenderId, number[]>>;
  readonly ratios: Partial<Record<MetricKey, number>>;
  readonly verdicts: Verdict[];
}

export function summarizeRounds(
  io: BenchIo,
  contenders: readonly Contender[],
  recorded: ReadonlyMap<ContenderId, { samples: Samples; curves: number[][] }>,
  restorePaths: ReadonlyMap<ContenderId, RestorePathTally>,
  steady: SteadySummary,
): Summaries {
  const results: Partial<Record<ContenderId, ContenderResult>> = {};
  const info: Partial<Record<ContenderId, ContenderInfo>> = {};
  const latencyCurves: Partial<Record<ContenderId, number[]>> = {};
  for (const c of contenders) {
    const { samples, curves } = recorded.get(c.id)!;
    results[c.id] = summarizeSamples(samples);
    const paths = restorePaths.get(c.id);
    info[c.id] = paths ? { ...c.info, restorePaths: describeRestorePaths(paths) } : c.info;
    if (paths && paths.full > 0) io.warn(`${c.id}: ${describeRestorePaths(paths)}`);
    latencyCurves[c.id] = elementwiseMedian(curves);
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
    signedTtfrMs: results['defrost (signed image)']?.timeToFirstResponseMs?.median,
    defrostFirst100P99Ms: results.defrost?.first100P99Ms?.median,
    defrostThroughput1sRps: results.defrost?.throughput1sRps?.median,
    steadyStateP99Ms: steady.p99Ms.median,
    steadyStateRps: steady.rps.median,
  });
  return { results, info, latencyCurves, ratios, verdicts };
}

function summarizeSamples(s: Samples): ContenderResult {
  const r: Partial<Record<MetricKey, ReturnType<typeof summarize>>> = {};
  for (const { key } of METRICS) {
    const values = s[key];
    if (values && values.length > 0) r[key] = summarize(values);
  }
  return r;
}
