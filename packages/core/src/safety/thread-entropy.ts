import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import { type CapturedCaches, captureByteCaches, refillByteCaches } from './byte-caches.js';
import { renewDefaultResolver } from './dns-resolver.js';
import { InspectorSession, inspectorUnavailable } from './inspector.js';
import { installSeededRandom, reseedMathRandom } from './math-random.js';
import { freshSeed, type SeedOutcome, seedVmContexts, wrapVmContextCreation } from './vm-contexts.js';
import { evaluateInWorkers } from './worker-threads.js';

/**
 * Per-thread half of per-copy randomness, the same in the main thread and in every worker (a
 * worker loads this very file, asked through the inspector). Each thread has its own isolate, so
 * its own copy of Node's caches, its own Math.random states and its own vm contexts; OpenSSL is
 * the one thing threads share (openssl.ts, main thread only). A thread's own step is synchronous:
 * nothing of the app runs in that thread between its first and last reseed.
 */

export interface ThreadReport {
  readonly threadId: number;
  /** Caches of random bytes found (and, in a copy, refilled in place). */
  caches: number;
  /** The main context's Math.random, then one entry per vm context. */
  readonly contexts: SeedOutcome[];
  /** The main thread's workers (a worker's own workers are out of reach: worker-threads.ts). */
  readonly workers: ThreadReport[];
  readonly warnings: string[];
}

type Step = 'prepareThisWorker' | 'reseedThisWorker';

/**
 * How long the main thread waits for its workers: preparing loads this file in each (tens of ms);
 * in a copy, a worker busy in a long task may answer only when the task ends, and the copy goes
 * on without it (the worker still reseeds when it gets to the message).
 */
const WORKER_TIMEOUTS = {
  prepareThisWorker: { answerWithinMs: 10_000, giveUpAfterMs: 10_000 },
  reseedThisWorker: { answerWithinMs: 1_000, giveUpAfterMs: 60_000 },
} as const;
const SELF = fileURLToPath(import.meta.url);

let captured: CapturedCaches | undefined;

const newReport = (): ThreadReport => ({ threadId, caches: 0, contexts: [], workers: [], warnings: [] });

function openSession(report: ThreadReport): InspectorSession | undefined {
  const missing = inspectorUnavailable();
  if (missing) {
    report.warnings.push(`${missing}: vm contexts and worker threads keep the randomness all copies share`);
    return undefined;
  }
  try {
    return InspectorSession.open();
  } catch (error) {
    report.warnings.push(
      `inspector: ${(error as Error).message}; vm contexts and worker threads not reseeded`,
    );
    return undefined;
  }
}

/** Runs one step; what it cannot do becomes a warning, so that one failure spoils nothing else. */
function attempt(report: ThreadReport, what: string, step: () => void): void {
  try {
    step();
  } catch (error) {
    report.warnings.push(`${what}: ${(error as Error).message}`);
  }
}

function captureCaches(session: InspectorSession | undefined, report: ThreadReport): void {
  attempt(report, 'caches of random bytes not searched', () => {
    captured = captureByteCaches(session, inspectorUnavailable());
    report.warnings.push(...captured.warnings);
  });
}

function seedContexts(session: InspectorSession | undefined, report: ThreadReport): void {
  attempt(report, 'Math.random not reseeded', () => {
    const seed = freshSeed();
    report.contexts.push(reseedMathRandom(Math, seed) ? 'reseeded' : installSeededRandom(Math, seed));
  });
  if (!session) return;
  attempt(report, 'vm contexts not reseeded', () => {
    const { outcomes, failures } = seedVmContexts(session);
    report.contexts.push(...outcomes);
    for (const failure of failures) report.warnings.push(`vm context ${failure}`);
  });
  const foreign = report.contexts.filter((outcome) => outcome === 'not-builtin').length;
  if (foreign > 0) {
    report.warnings.push(
      `Math.random in ${foreign} context(s) is not V8's (the app or a library replaced it): left as it is, its state is the same in every copy`,
    );
  }
}

/** Before the freeze, in this thread: find the caches, give every context a reseedable Math.random. */
function prepareThread(session: InspectorSession | undefined, report: ThreadReport): void {
  captureCaches(session, report);
  report.caches = captured?.buffers.length ?? 0;
  seedContexts(session, report);
  attempt(report, 'vm not wrapped', wrapVmContextCreation);
}

/** In a copy, in this thread (prepared now if it was not before the freeze, at some cost). */
function reseedThread(session: InspectorSession | undefined, report: ThreadReport): void {
  if (!captured) {
    captureCaches(session, report);
    attempt(report, 'vm not wrapped', wrapVmContextCreation);
  }
  if (captured) attempt(report, 'caches of random bytes not refilled', () => refillByteCaches(captured!));
  report.caches = captured?.buffers.length ?? 0;
  attempt(report, 'dns default resolver not renewed', renewDefaultResolver);
  seedContexts(session, report);
}

function inThisThread(step: (session: InspectorSession | undefined, report: ThreadReport) => void) {
  const report = newReport();
  const session = openSession(report);
  try {
    step(session, report);
  } finally {
    session?.close();
  }
  return report;
}

/** Called in each worker, through the inspector, by the main thread's prepareThisThread(). */
export const prepareThisWorker = (): ThreadReport => inThisThread(prepareThread);
/** Called in each worker, through the inspector, by the main thread's reseedThisThread(). */
export const reseedThisWorker = (): ThreadReport => inThisThread(reseedThread);

/**
 * Runs `step` of this file in every worker and adds their reports. The session stays open (and
 * is closed here) until late answers came, without making the caller wait for them.
 */
async function inWorkers(session: InspectorSession, step: Step, report: ThreadReport): Promise<void> {
  const load = `process.getBuiltinModule('node:module').createRequire(${JSON.stringify(SELF)})(${JSON.stringify(SELF)})`;
  let settled = Promise.resolve();
  try {
    const round = evaluateInWorkers(session, `${load}.${step}()`, WORKER_TIMEOUTS[step]);
    settled = round.settled;
    for (const answer of await round.answers) {
      if (answer.error !== undefined) {
        report.warnings.push(`worker ${answer.workerId}: ${step} failed: ${answer.error}`);
        continue;
      }
      const worker = answer.value as ThreadReport;
      report.workers.push(worker);
      for (const warning of worker.warnings) report.warnings.push(`worker ${worker.threadId}: ${warning}`);
    }
  } catch (error) {
    report.warnings.push(`worker threads not reached: ${(error as Error).message}`);
  } finally {
    void settled.then(() => session.close());
  }
}

/**
 * The workers get their message first: they work in their own threads while this one does its
 * own step. (The main thread has already reseeded OpenSSL, which their new seeds come from.)
 */
async function inThisThreadAndWorkers(
  step: (session: InspectorSession | undefined, report: ThreadReport) => void,
  workerStep: Step,
): Promise<ThreadReport> {
  const report = newReport();
  const session = openSession(report);
  const workers = session ? inWorkers(session, workerStep, report) : Promise.resolve();
  try {
    step(session, report);
  } finally {
    await workers;
  }
  return report;
}

/**
 * Before the freeze, in the main thread and each of its workers: finds the caches of random bytes,
 * gives each context a reseedable Math.random, wraps vm so that later contexts get one.
 */
export const prepareThisThread = (): Promise<ThreadReport> =>
  inThisThreadAndWorkers(prepareThread, 'prepareThisWorker');

/**
 * In a restored copy, in the main thread and each of its workers: refills the caches, renews the
 * default DNS resolver and reseeds every Math.random. Call after OpenSSL has been reseeded: the
 * new seeds come from it.
 */
export const reseedThisThread = (): Promise<ThreadReport> =>
  inThisThreadAndWorkers(reseedThread, 'reseedThisWorker');
