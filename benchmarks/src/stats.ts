/** Order statistics of samples. Pure functions: the unit tests pin their exact definitions. */

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Every sample, in the order it was taken (its length is the number of runs). */
  readonly runs: readonly number[];
}

function sortedCopy(values: readonly number[]): number[] {
  for (const v of values) {
    if (!Number.isFinite(v)) throw new RangeError(`not a finite sample: ${v}`);
  }
  return [...values].sort((a, b) => a - b);
}

/** The median; the mean of the two middle values for an even count. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no samples');
  const s = sortedCopy(values);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Nearest-rank percentile: the smallest sample such that at least p% of the samples are <= it.
 * p99 of 100 samples is the 99th smallest, of 1,000 the 990th: always a latency that really
 * happened, never an interpolation between two.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of no samples');
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const s = sortedCopy(values);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length, Math.max(1, rank)) - 1]!;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError('summary of no samples');
  const s = sortedCopy(values);
  return { median: median(s), min: s[0]!, max: s[s.length - 1]!, runs: [...values] };
}

/**
 * Element-wise median of equally long series (e.g. the latency of request i over every run), so
 * one chart line stands for all runs of a contender. Shorter series only count where they reach.
 */
export function elementwiseMedian(series: readonly (readonly number[])[]): number[] {
  const length = Math.max(0, ...series.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < length; i++) {
    const column = series.filter((s) => i < s.length).map((s) => s[i]!);
    out.push(median(column));
  }
  return out;
}

/** a / b, or undefined when it would be meaningless (b zero or either missing). */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0)
    return undefined;
  return a / b;
}
