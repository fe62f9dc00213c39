/** The zero-code benchmark's results and their table (pure: unit-tested). */
import { formatBytes } from '@defrost/core/internal';
import type { MachineFacts } from '../model.js';
import { type Summary, summarize } from '../stats.js';

export interface AppMeasurement {
  readonly name: string;
  readonly stack: string;
  readonly probe: string;
  /** Time to first response of each measured run, ms. */
  readonly coldMs: readonly number[];
  readonly restoreMs: readonly number[];
  /** Measured restores that took the native fast path of `defrost restore`. */
  readonly fastPathRestores: number;
  readonly imageBytes: number;
  readonly checkpointWallMs: number;
  readonly checkpointCommand: string;
}

export interface AppResult extends AppMeasurement {
  readonly cold: Summary;
  readonly restore: Summary;
  /** cold median / restore median: how many times sooner a restored copy answers. */
  readonly ratio: number;
}

export interface ZeroCodeDocument {
  readonly startedAt: string;
  readonly runs: number;
  readonly machine: MachineFacts;
  readonly apps: readonly AppResult[];
}

export function resultOf(m: AppMeasurement): AppResult {
  const cold = summarize(m.coldMs);
  const restore = summarize(m.restoreMs);
  return { ...m, cold, restore, ratio: cold.median / restore.median };
}

const ms = (n: number): string =>
  n >= 100 ? `${Math.round(n).toLocaleString('en-US')} ms` : `${n.toFixed(1)} ms`;
const range = (s: Summary): string => `${ms(s.median)} (${ms(s.min)}-${ms(s.max)})`;

/** A Markdown table (docs/zero-code.md takes it as it is), then the machine. */
export function renderZeroCodeReport(doc: ZeroCodeDocument): string {
  const rows = doc.apps.map(
    (a) =>
      `| ${a.stack} | \`GET ${a.probe}\` | ${range(a.cold)} | ${range(a.restore)} | ${a.ratio.toFixed(1)}x sooner | ${formatBytes(a.imageBytes)} | ${a.fastPathRestores}/${a.restoreMs.length} |`,
  );
  const m = doc.machine;
  return [
    `time to first response, median (min-max) of ${doc.runs} interleaved runs per app:`,
    '',
    '| app | probed | cold start | `defrost restore` | ratio | image | native fast path |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGb} GB; Linux ${m.kernel}; Node ${m.node}; CRIU ${m.criu}; THP ${m.thp}; images on ${m.imageFilesystem.type}; load average ${m.loadAverage.atStart.toFixed(2)} at start, ${m.loadAverage.atEnd.toFixed(2)} at end`,
    '',
  ].join('\n');
}
