import { threadId } from 'node:worker_threads';
import { type CapturedCaches, captureByteCaches, refillByteCaches } from './byte-caches.js';
import { renewDefaultResolver } from './dns-resolver.js';
import { InspectorSession, inspectorUnavailable } from './inspector.js';
import { installSeededRandom, reseedMathRandom } from './math-random.js';
import { freshSeed, type SeedOutcome, seedVmContexts, wrapVmContextCreation } from './vm-contexts.js';
import { stepInWorkers, type WorkerStep } from './worker-channel.js';

/**
 * Per-thread half of per-copy randomness, the same in the main thread and in every worker (a
 * worker that loaded early-entropy runs it when the main thread asks: worker-channel.ts). Each
 * thread has its own isolate, so its own copy of Node's caches, its own Math.random states and its
 * own vm contexts; OpenSSL is the one thing threads share (openssl.ts, main thread only). A
 * thread's own step is synchronous: nothing of the app runs in it between its first and last
 * reseed.
 */

export interface ThreadReport {
  readonly threadId: number;
  /** Caches of random bytes found (and, in a copy, refilled in place). */
  caches: number;
  /** The main context's Math.random, then one entry per vm context. */
  readonly contexts: SeedOutcome[];
  /** The workers that answered (those that loaded early-entropy: worker-channel.ts). */
  readonly workers: ThreadReport[];
  readonly warnings: string[];
}

/**
 * How long the main thread waits for its workers: a worker answers on its event loop, so one busy
 * in a long task answers when the task ends; the copy goes on without it after a second (the
 * worker still reseeds when it gets to the message).
 */
const ANSWER_WITHIN_MS: Record<WorkerStep, number> = { prepare: 10_000, reseed: 1_000 };

let captured: CapturedCaches | undefined;

const newReport = (): ThreadReport => ({ threadId, caches: 0, contexts: [], workers: [], warnings: [] });

/** Runs one step; what it cannot do becomes a warning, so that one failure spoils nothing else. */
function attempt(report: ThreadReport, what: string, step: () => void): void {
  try {
    step();
  } catch (error) {
    report.warnings.push(`${what}: ${(error as Error).message}`);
  }
}

/**
 * Finds this thread's caches, through an inspector session opened for this only (a copy that was
 * prepared before the freeze needs none).
 */
function captureCaches(report: ThreadReport): void {
  attempt(report, 'caches of random bytes not searched', () => {
    const missing = inspectorUnavailable();
    const session = missing ? undefined : InspectorSession.open();
    try {
      captured = captureByteCaches(session, missing);
    } finally {
      session?.close();
    }
    report.warnings.push(...captured.warnings);
  });
}

function seedContexts(report: ThreadReport): void {
  attempt(report, 'Math.random not reseeded', () => {
    const seed = freshSeed();
    report.contexts.push(reseedMathRandom(Math, seed) ? 'reseeded' : installSeededRandom(Math, seed));
  });
  attempt(report, 'vm contexts not reseeded', () => {
    const { outcomes, failures } = seedVmContexts();
    report.contexts.push(...outcomes);
    for (const failure of failures) report.warnings.push(`vm context: ${failure}`);
  });
  const foreign = report.contexts.filter((outcome) => outcome === 'not-builtin').length;
  if (foreign > 0) {
    report.warnings.push(
      `Math.random in ${foreign} context(s) is not V8's (the app or a library replaced it): left as it is, its state is the same in every copy`,
    );
  }
}

/** Before the freeze, in this thread: find the caches, give every context a reseedable Math.random. */
function prepareThread(report: ThreadReport): void {
  captureCaches(report);
  report.caches = captured?.buffers.length ?? 0;
  seedContexts(report);
  attempt(report, 'vm not wrapped', wrapVmContextCreation);
}

/** In a copy, in this thread (prepared now if it was not before the freeze, at some cost). */
function reseedThread(report: ThreadReport): void {
  if (!captured) {
    captureCaches(report);
    attempt(report, 'vm not wrapped', wrapVmContextCreation);
  }
  if (captured) attempt(report, 'caches of random bytes not refilled', () => refillByteCaches(captured!));
  report.caches = captured?.buffers.length ?? 0;
  attempt(report, 'dns default resolver not renewed', renewDefaultResolver);
  seedContexts(report);
}

function inThisThread(step: (report: ThreadReport) => void): ThreadReport {
  const report = newReport();
  step(report);
  return report;
}

/** Run in each worker when the main thread's prepareThisThread() asks (worker-channel.ts). */
export const prepareThisWorker = (): ThreadReport => inThisThread(prepareThread);
/** Run in each worker when the main thread's reseedThisThread() asks (worker-channel.ts). */
export const reseedThisWorker = (): ThreadReport => inThisThread(reseedThread);

/** Asks every worker for its step and adds their reports. */
async function inWorkers(step: WorkerStep, report: ThreadReport): Promise<void> {
  for (const answer of await stepInWorkers(step, ANSWER_WITHIN_MS[step])) {
    if (answer.error !== undefined) {
      report.warnings.push(`worker ${answer.threadId}: ${step} failed: ${answer.error}`);
      continue;
    }
    const worker = answer.value as ThreadReport;
    report.workers.push(worker);
    for (const warning of worker.warnings) report.warnings.push(`worker ${worker.threadId}: ${warning}`);
  }
}

/**
 * The workers get their message first: they work in their own threads while this one does its
 * own step. (The main thread has already reseeded OpenSSL, which their new seeds come from.)
 */
async function inThisThreadAndWorkers(
  step: (report: ThreadReport) => void,
  workerStep: WorkerStep,
): Promise<ThreadReport> {
  const workers = newReport();
  const answered = inWorkers(workerStep, workers);
  const report = inThisThread(step);
  await answered;
  report.workers.push(...workers.workers);
  report.warnings.push(...workers.warnings);
  return report;
}

/**
 * Before the freeze, in the main thread and each of its workers: finds the caches of random bytes,
 * gives each context a reseedable Math.random, wraps vm so that later contexts get one.
 */
export const prepareThisThread = (): Promise<ThreadReport> =>
  inThisThreadAndWorkers(prepareThread, 'prepare');

/**
 * In a restored copy, in the main thread and each of its workers: refills the caches, renews the
 * default DNS resolver and reseeds every Math.random. Call after OpenSSL has been reseeded: the
 * new seeds come from it.
 */
export const reseedThisThread = (): Promise<ThreadReport> => inThisThreadAndWorkers(reseedThread, 'reseed');
