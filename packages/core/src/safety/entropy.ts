import { performance } from 'node:perf_hooks';
import { bindOpenSsl, reseedOpenSsl } from './openssl.js';
import { prepareThisThread, reseedThisThread, type ThreadReport } from './thread-entropy.js';

/**
 * Per-copy randomness. Copies restored from one image start with identical memory, so every
 * generator and every cache of random bytes in it would give the same values in every copy
 * (docs/criu-and-node.md, "Randomness in restored copies", has what was found and measured per
 * Node version). `prepareEntropy()` runs before each freeze, `reseedEntropy()` first thing in
 * every copy.
 */

export interface EntropyOptions {
  /** Receives what could not be made per copy (default: process.emitWarning). */
  readonly onWarning?: (message: string) => void;
}

export interface EntropyReport extends ThreadReport {
  /** Wall time of the whole step, worker threads included. */
  readonly durationMs: number;
  /** Of which this thread was busy (the rest is waiting for workers to answer). */
  readonly mainThreadMs: number;
}

/** Warnings of the preparations so far: the rehearsal's and the checkpoint's would repeat. */
const preparationWarnings = new Set<string>();
let lastReport: EntropyReport | undefined;

function warn(warnings: readonly string[], options: EntropyOptions): void {
  const emit =
    options.onWarning ?? ((message: string) => process.emitWarning(message, { code: 'DEFROST_ENTROPY' }));
  for (const warning of warnings) emit(`per-copy randomness: ${warning}`);
}

async function timed(step: () => Promise<ThreadReport>): Promise<EntropyReport> {
  const started = performance.now();
  const busyBefore = performance.eventLoopUtilization().active;
  const report = await step();
  const durationMs = performance.now() - started;
  const mainThreadMs = performance.eventLoopUtilization().active - busyBefore;
  lastReport = { ...report, durationMs, mainThreadMs };
  return lastReport;
}

/**
 * Before a freeze (and its rehearsal): binds OpenSSL's reseed, finds the caches of random bytes in
 * Node's modules, gives every context of every thread a Math.random a copy can reseed. Never
 * throws for what it cannot reach: it warns, and that randomness stays shared by the copies.
 */
export async function prepareEntropy(options: EntropyOptions = {}): Promise<EntropyReport> {
  bindOpenSsl();
  const report = await timed(prepareThisThread);
  warn(
    report.warnings.filter((w) => !preparationWarnings.has(w)),
    options,
  );
  for (const warning of report.warnings) preparationWarnings.add(warning);
  return report;
}

/**
 * In every copy, before any application hook: reseeds OpenSSL, refills every cache found before
 * the freeze, reseeds Math.random in every context of every thread. Throws only when OpenSSL
 * cannot be reseeded (then nothing random in the copy can be trusted to be its own).
 */
export async function reseedEntropy(options: EntropyOptions = {}): Promise<EntropyReport> {
  const report = await timed(() => {
    reseedOpenSsl();
    return reseedThisThread();
  });
  // Every copy says what it could not make its own, in its own log.
  warn(report.warnings, options);
  return report;
}

/** What the last prepareEntropy() or reseedEntropy() of this process did and cost. */
export function lastEntropyReport(): EntropyReport | undefined {
  return lastReport;
}
