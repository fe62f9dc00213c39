/** The bars defrost must clear, judged on medians. Pure: the unit tests feed numbers in. */
import { formatQuantity } from '@defrost/core/internal';
import type { Verdict } from './model.js';

export interface VerdictInputs {
  readonly coldTtfrMs?: number;
  /** A cold start with Node's compile cache filled: the first thing a Node user would try instead. */
  readonly compileCacheTtfrMs?: number;
  readonly defrostTtfrMs?: number;
  readonly floorTtfrMs?: number;
  /** The same app's image signed, restored where the host requires signatures. */
  readonly signedTtfrMs?: number;
  readonly defrostFirst100P99Ms?: number;
  readonly defrostThroughput1sRps?: number;
  readonly steadyStateP99Ms?: number;
  readonly steadyStateRps?: number;
}

const fmt = formatQuantity;

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
  const cached = v.compileCacheTtfrMs;
  const defrost = v.defrostTtfrMs;
  const sooner = (baseline: number, m: number): string => `${fmt(baseline / m)}x sooner`;
  return [
    judge(
      { id: 'ttfr-15x-cold', claim: 'first response at least 15x sooner than a cold start' },
      defrost,
      cold === undefined ? undefined : cold / 15,
      (m, t) => `defrost ${fmt(m)} ms vs cold ${fmt(cold!)} ms / 15 = ${fmt(t)} ms (${sooner(cold!, m)})`,
    ),
    judge(
      {
        id: 'ttfr-10x-compile-cache',
        claim: "first response at least 10x sooner than a cold start with Node's compile cache",
      },
      defrost,
      cached === undefined ? undefined : cached / 10,
      (m, t) =>
        `defrost ${fmt(m)} ms vs cold+compile-cache ${fmt(cached!)} ms / 10 = ${fmt(t)} ms (${sooner(cached!, m)})`,
    ),
    judge(
      { id: 'ttfr-3x-floor', claim: 'first response within 3x of the floor (a trivial server restored)' },
      defrost,
      v.floorTtfrMs === undefined ? undefined : v.floorTtfrMs * 3,
      (m, t) =>
        `defrost ${fmt(m)} ms vs 3 x floor ${fmt(v.floorTtfrMs!)} ms = ${fmt(t)} ms (${fmt(m / v.floorTtfrMs!)}x floor)`,
    ),
    judge(
      { id: 'ttfr-signed-1.3x', claim: "a signed image's first response within 1.3x of an unsigned one's" },
      v.signedTtfrMs,
      defrost === undefined ? undefined : defrost * 1.3,
      (m, t) =>
        `signed ${fmt(m)} ms vs 1.3 x unsigned ${fmt(defrost!)} ms = ${fmt(t)} ms (${fmt(m / defrost!)}x)`,
    ),
    judge(
      { id: 'first100-p99-1.5x-steady', claim: 'first 100 requests: p99 within 1.5x of steady state' },
      v.defrostFirst100P99Ms,
      v.steadyStateP99Ms === undefined ? undefined : v.steadyStateP99Ms * 1.5,
      (m, t) =>
        `first-100 p99 ${fmt(m)} ms vs 1.5 x steady p99 ${fmt(v.steadyStateP99Ms!)} ms = ${fmt(t)} ms (${fmt(m / v.steadyStateP99Ms!)}x)`,
    ),
    judge(
      { id: 'throughput-1s-70pct', claim: 'first second: at least 70% of steady-state throughput' },
      v.defrostThroughput1sRps,
      v.steadyStateRps === undefined ? undefined : v.steadyStateRps * 0.7,
      (m, t) =>
        `first second ${fmt(m)} req/s vs 70% of steady ${fmt(v.steadyStateRps!)} req/s = ${fmt(t)} req/s (${fmt((100 * m) / v.steadyStateRps!)}%)`,
      'atLeast',
    ),
  ];
}
