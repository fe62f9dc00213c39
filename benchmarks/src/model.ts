/** The shapes the bench produces: per-run samples, and the document printed by `--json`. */
import type { Summary } from './stats.js';

export const CONTENDER_IDS = [
  'cold',
  'defrost',
  'defrost (lazy pages)',
  'defrost (signed image)',
  'defrost (node CLI)',
  'defrost (core API)',
  'cold+compile-cache',
  'floor',
] as const;
export type ContenderId = (typeof CONTENDER_IDS)[number];

/** Metrics measured on every run, in table order. */
export const METRICS = [
  { key: 'timeToFirstResponseMs', label: 'time to first response', unit: 'ms', better: 'lower' },
  { key: 'timeToFullyServedMs', label: 'time to fully served (page+CSS+feed)', unit: 'ms', better: 'lower' },
  { key: 'allPagesResidentMs', label: 'time until every page is in memory', unit: 'ms', better: 'lower' },
  { key: 'first100P50Ms', label: 'first 100 requests p50', unit: 'ms', better: 'lower' },
  { key: 'first100P99Ms', label: 'first 100 requests p99', unit: 'ms', better: 'lower' },
  { key: 'first1000P50Ms', label: 'first 1,000 requests p50', unit: 'ms', better: 'lower' },
  { key: 'first1000P99Ms', label: 'first 1,000 requests p99', unit: 'ms', better: 'lower' },
  { key: 'throughput1sRps', label: 'throughput, first 1 s', unit: 'req/s', better: 'higher' },
  { key: 'throughput5sRps', label: 'throughput, first 5 s', unit: 'req/s', better: 'higher' },
  { key: 'rssMb', label: 'RSS after first 1,000 requests', unit: 'MiB', better: 'lower' },
  { key: 'rssAfterLoadMb', label: 'RSS after 5 s of load', unit: 'MiB', better: 'lower' },
  { key: 'reportedRestoreMs', label: 'restore as reported by defrost', unit: 'ms', better: 'lower' },
  {
    key: 'restoreChecksMs',
    label: 'restore(): finding CRIU, verifying the image',
    unit: 'ms',
    better: 'lower',
  },
  { key: 'criuMs', label: 'CRIU restore, start to finish (its log)', unit: 'ms', better: 'lower' },
  { key: 'criuRestoreTimeMs', label: 'CRIU restore_time (stats-restore)', unit: 'ms', better: 'lower' },
  { key: 'criuForkingTimeMs', label: 'CRIU forking_time (stats-restore)', unit: 'ms', better: 'lower' },
  { key: 'criuPagesRestored', label: 'CRIU pages restored', unit: 'pages', better: 'lower' },
] as const;
export type MetricKey = (typeof METRICS)[number]['key'];

/** Samples of one contender, metric by metric, in the order they were taken. */
export type Samples = Partial<Record<MetricKey, number[]>>;

/** Per-request latencies of each run's first 1,000 requests (for the chart). */
export type LatencySeries = number[][];

export type ContenderResult = Partial<Record<MetricKey, Summary>>;

export interface ContenderInfo {
  /** What was started for each run, as a user would type it. */
  readonly command: string;
  readonly note?: string;
  /** Which path `defrost restore` took in the measured starts, e.g. "fast path (no Node) in 5 of 5 measured starts". */
  readonly restorePaths?: string;
}

export interface Verdict {
  readonly id: string;
  readonly claim: string;
  /** null when the bench could not measure what the claim needs. */
  readonly pass: boolean | null;
  readonly measured: number | null;
  readonly threshold: number | null;
  readonly detail: string;
}

export interface MachineFacts {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly kernel: string;
  readonly node: string;
  readonly criu: string;
  readonly imageFilesystem: {
    readonly path: string;
    readonly mountPoint: string;
    readonly type: string;
    readonly device: string;
  };
  readonly thp: string;
  readonly thpDefrag: string;
  /** 1-minute load average when the bench started and when it ended: other work on the machine makes numbers noisy. */
  readonly loadAverage: { readonly atStart: number; readonly atEnd: number };
}

export interface CriuDumpStats {
  readonly freezingTimeMs?: number;
  readonly frozenTimeMs?: number;
  readonly memdumpTimeMs?: number;
  readonly memwriteTimeMs?: number;
  readonly pagesScanned?: number;
  readonly pagesWritten?: number;
}

export interface CriuRestoreStats {
  readonly restoreTimeMs?: number;
  readonly forkingTimeMs?: number;
  readonly pagesRestored?: number;
  readonly pagesCompared?: number;
  readonly pagesSkippedCow?: number;
  /** CRIU's whole restore, from its start to "Restore finished successfully" in its log. */
  readonly criuMs?: number;
}

export interface BenchDocument {
  readonly schemaVersion: 1;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly app: string;
  readonly runs: number;
  readonly quick: boolean;
  readonly setup: {
    readonly seeding: string;
    readonly firstVisit: readonly string[];
    readonly throughputConnections: number;
    readonly steadyWarmupMs: number;
    /** Median wall time of `node -e 0`: what any Node process costs here before it does anything. */
    readonly nodeStartMs: number;
    /** Median wall time of `node packages/cli/dist/bin.js --version` (when the CLI is built). */
    readonly cliStartMs?: number;
    /** How the app image was built. */
    readonly imageCommand: string;
    /** CRIU's stats-dump of the app image. */
    readonly criuDump?: CriuDumpStats;
  };
  readonly contenders: Partial<Record<ContenderId, ContenderResult>>;
  readonly contenderInfo: Partial<Record<ContenderId, ContenderInfo>>;
  readonly ratios: Partial<Record<MetricKey, number>>;
  readonly steadyStateP99Ms: number;
  readonly steadyStateP50Ms: number;
  readonly steadyStateRps: number;
  /** Every steady-state measurement (one per measured round). */
  readonly steadyState: {
    readonly p50Ms: Summary;
    readonly p99Ms: Summary;
    readonly rps: Summary;
    readonly rssMb: Summary;
  };
  readonly imageBytes: number;
  readonly checkpointMs: number;
  readonly dumpMs: number | null;
  readonly floorImageBytes: number;
  readonly floorCheckpointMs: number;
  readonly verdicts: readonly Verdict[];
  readonly machine: MachineFacts;
  /** Median latency of request i over all runs, per contender (what the chart draws). */
  readonly latencyCurves: Partial<Record<ContenderId, number[]>>;
}
