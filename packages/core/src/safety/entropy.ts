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
  /** Receives what could not be made per copy (each message once per process). */
  readonly onWarning?: (message: string) => void;
}

export interface EntropyReport extends ThreadReport {
  /** Wall time of the whole step, worker threads included. */
  readonly durationMs: number;
  /** Of which this thread was busy (the rest is waiting for workers to answer). */
  readonly mainThreadMs: number;
}

const warned = new Set<string>();
let lastReport: EntropyReport | undefined;

function warnOnce(report: ThreadReport, options: EntropyOptions): void {
  const warn =
    options.onWarning ?? ((message: string) => process.emitWarning(message, { code: 'DEFROST_ENTROPY' }));
  for (const warning of report.warnings) {
    if (warned.has(warning)) continue;
    warned.add(warning);
    warn(`per-copy randomness: ${warning}`);
  }
}

async function timed(step: () => Promise<ThreadReport>, options: EntropyOptions): Promise<EntropyReport> {
  const started = performance.now();
  const busyBefore = performance.eventLoopUtilization().active;
  const report = await step();
  const durationMs = performance.now() - started;
  const mainThreadMs = performance.eventLoopUtilization().active - busyBefore;
  warnOnce(report, options);
  lastReport = { ...report, durationMs, mainThreadMs };
  return lastReport;
}

/**
 * Before a freeze (and its rehearsal): binds OpenSSL's reseed, finds the caches of random bytes in
 * Node's modules, gives every context of every thread a Math.random a copy can reseed. Never
 * throws for what it cannot reach: it warns, and that randomness stays shared by the copies.
 */
export function prepareEntropy(options: EntropyOptions = {}): Promise<EntropyReport> {
  bindOpenSsl();
  return timed(prepareThisThread, options);
}

/**
 * In every copy, before any application hook: reseeds OpenSSL, refills every cache found before
 * the freeze, reseeds Math.random in every context of every thread. Throws only when OpenSSL
 * cannot be reseeded (then nothing random in the copy can be trusted to be its own).
 */
export function reseedEntropy(options: EntropyOptions = {}): Promise<EntropyReport> {
  return timed(() => {
    reseedOpenSsl();
    return reseedThisThread();
  }, options);
}

/** What the last prepareEntropy() or reseedEntropy() of this process did and cost. */
export function lastEntropyReport(): EntropyReport | undefined {
  return lastReport;
}
