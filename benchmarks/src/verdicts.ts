/** The bars issues 7 and 8 set for defrost, judged on medians. Pure: the unit tests feed numbers in. */
import type { Verdict } from './model.js';

export interface VerdictInputs {
  readonly coldTtfrMs?: number;
  readonly defrostTtfrMs?: number;
  readonly floorTtfrMs?: number;
  readonly defrostFirst100P99Ms?: number;
  readonly defrostThroughput1sRps?: number;
  readonly steadyStateP99Ms?: number;
  readonly steadyStateRps?: number;
}

const fmt = (n: number): string =>
  Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);

/** measured <= threshold (or >= for 'atLeast'); null when an input is missing. */
function judge(
  base: Omit<Verdict, 'pass' | 'measured' | 'threshold' | 'detail'>,
  measured: number | undefined,
  threshold: number | undefined,
  describe: (m: number, t: number) => string,
  direction: 'atMost' | 'atLeast' = 'atMost',
): Verdict {
  if (
    measured === undefined ||
    threshold === undefined ||
    !Number.isFinite(measured) ||
    !Number.isFinite(threshold)
  ) {
    return {
      ...base,
      pass: null,
      measured: measured ?? null,
      threshold: threshold ?? null,
      detail: 'not measured',
    };
  }
  const pass = direction === 'atMost' ? measured <= threshold : measured >= threshold;
  return { ...base, pass, measured, threshold, detail: describe(measured, threshold) };
}

export function computeVerdicts(v: VerdictInputs): Verdict[] {
  const cold = v.coldTtfrMs;
  const defrost = v.defrostTtfrMs;
  return [
    judge(
      { id: 'ttfr-10x', issue: 7, claim: 'defrost median time to first response <= cold/10' },
      defrost,
      cold === undefined ? undefined : cold / 10,
      (m, t) =>
        `defrost ${fmt(m)} ms vs cold/10 = ${fmt(t)} ms (cold ${fmt(cold!)} ms, ${fmt(cold! / m)}x faster)`,
    ),
    judge(
      {
        id: 'first100-p99-1.5x-steady',
        issue: 7,
        claim: 'restored first-100 p99 within 1.5x of steady state',
      },
      v.defrostFirst100P99Ms,
      v.steadyStateP99Ms === undefined ? undefined : v.steadyStateP99Ms * 1.5,
      (m, t) =>
        `first-100 p99 ${fmt(m)} ms vs 1.5 x steady p99 ${fmt(v.steadyStateP99Ms!)} ms = ${fmt(t)} ms (${fmt(m / v.steadyStateP99Ms!)}x)`,
    ),
    judge(
      { id: 'ttfr-15x', issue: 8, claim: 'defrost median time to first response <= cold/15' },
      defrost,
      cold === undefined ? undefined : cold / 15,
      (m, t) => `defrost ${fmt(m)} ms vs cold/15 = ${fmt(t)} ms`,
    ),
    judge(
      {
        id: 'ttfr-3x-floor',
        issue: 8,
        claim: 'defrost median time to first response within 3x of the floor',
      },
      defrost,
      v.floorTtfrMs === undefined ? undefined : v.floorTtfrMs * 3,
      (m, t) =>
        `defrost ${fmt(m)} ms vs 3 x floor ${fmt(v.floorTtfrMs!)} ms = ${fmt(t)} ms (${fmt(m / v.floorTtfrMs!)}x floor)`,
    ),
    judge(
      {
        id: 'throughput-1s-70pct',
        issue: 8,
        claim: 'defrost first-second throughput >= 70% of steady state',
      },
      v.defrostThroughput1sRps,
      v.steadyStateRps === undefined ? undefined : v.steadyStateRps * 0.7,
      (m, t) =>
        `first second ${fmt(m)} req/s vs 70% of steady ${fmt(v.steadyStateRps!)} req/s = ${fmt(t)} req/s (${fmt((100 * m) / v.steadyStateRps!)}%)`,
      'atLeast',
    ),
  ];
}
