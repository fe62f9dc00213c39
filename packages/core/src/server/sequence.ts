import type { Server } from 'node:net';
import { type AuditFinding, type AuditPolicy, isIncomingConnection } from '../audit/index.js';
import { CheckpointError } from '../errors.js';
import {
  type CheckpointOptions,
  type CheckpointResult,
  checkpoint,
  rehearseCheckpoint,
} from '../lifecycle/checkpoint.js';
import { shrinkHeap } from '../native/v8-heap.js';
import type { ProgressEvent } from '../progress.js';
import { formatBytes } from '../units.js';
import type { WarmupPlan } from '../warmup/plan.js';
import { runWarmup, type WarmupSummary } from '../warmup/runner.js';
import { drainConnections } from './connections.js';
import { collectGarbage, findGc } from './heap.js';
import { originOf } from './origin.js';

/**
 * The checkpoint of a running HTTP server, as the Fastify plugin and the zero-code agent both run
 * it: warm up over real HTTP, shrink the heap, rehearse the checkpoint, warm up again, drain, then
 * checkpoint (docs/architecture.md, "Checkpoint"). One implementation: whoever drives it only says
 * which servers, which warm-up, and where messages go.
 */
export interface ServerCheckpointOptions {
  /** The app's listening servers: drained and held around the dump. The first is warmed up. */
  readonly servers: readonly Server[];
  /** Whether the first server speaks TLS (warmed up over https). */
  readonly secure?: boolean;
  readonly imageDir: string;
  readonly mode: 'exit' | 'continue';
  readonly force: boolean;
  /** Undefined: no warm-up (and no re-warm). */
  readonly warmup: WarmupPlan | undefined;
  readonly shrinkHeap: boolean;
  /** Re-warm rounds after the shrink and the rehearsal (default: defaultRewarmRounds). */
  readonly rewarmRounds?: number | undefined;
  readonly rehearse: boolean;
  readonly drainTimeoutMs: number;
  readonly audit?: AuditPolicy | undefined;
  /** How the driver's user names options in messages (plugin: drainTimeoutMs; CLI: --drain-timeout). */
  readonly optionNames?: { readonly drainTimeout: string };
  readonly log: SequenceLog;
  readonly report: (event: ProgressEvent) => void;
}

export interface SequenceLog {
  info(message: string): void;
  warn(message: string): void;
}

export type ServerCheckpointOutcome = CheckpointResult & { readonly warmup?: WarmupSummary };

const RACE_ATTEMPTS = 3;

/**
 * Re-warm rounds after the shrink and the rehearsal: 40% of the warm-up, at least 20, never more
 * than the warm-up itself. V8 optimizes a function again only after ~1,000 calls, so a short
 * re-warm leaves the hot path unoptimized in the image; but whatever the re-warm allocates stays
 * in the image too. On the blog (300 rounds), 120 rounds against 30: 25-35% less CPU per request
 * in a copy's first second, for 14 MB more image (docs/restore-performance.md).
 */
export function defaultRewarmRounds(warmupRounds: number): number {
  return Math.min(warmupRounds, Math.max(20, Math.round(warmupRounds * 0.4)));
}

/** True when the only thing that stopped the checkpoint is a client that connected after the drain. */
function lostRaceWithClient(error: unknown): boolean {
  if (!(error instanceof CheckpointError) || error.step !== 'audit' || !Array.isArray(error.details))
    return false;
  return (error.details as AuditFinding[]).every(isIncomingConnection);
}

/**
 * Node cannot pause accepting connections, so a client may connect between the drain and the
 * dump; the audit then refuses (a connected socket cannot be frozen) and everything is reopened.
 * That is a lost race, not a fault: drain and try again a few times.
 */
async function retryingRaces<T>(
  what: string,
  o: ServerCheckpointOptions,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      await drainAll(o);
      return await attempt();
    } catch (error) {
      if (n >= RACE_ATTEMPTS || !lostRaceWithClient(error)) throw error;
      o.log.warn(`a client connected during the ${what} (attempt ${n} of ${RACE_ATTEMPTS}); draining again`);
    }
  }
}

async function drainAll(o: ServerCheckpointOptions): Promise<void> {
  const option = o.optionNames?.drainTimeout ?? 'drainTimeoutMs';
  await Promise.all(o.servers.map((server) => drainConnections(server, o.drainTimeoutMs, option)));
}

async function warmUp(o: ServerCheckpointOptions, plan: WarmupPlan): Promise<WarmupSummary> {
  const rounds = Number.isFinite(plan.rounds) ? plan.rounds : undefined;
  o.log.info(`warming up (${rounds !== undefined ? `${rounds} rounds` : `${plan.durationMs} ms`})`);
  const summary = await runWarmup(originOf(o.servers[0]!, o.secure), plan, (requests, done) => {
    if (done % 25 === 0)
      o.report({ step: 'warmup', requests, rounds: done, ...(rounds ? { totalRounds: rounds } : {}) });
  });
  o.log.info(
    `warm-up done: ${summary.requests} requests in ${summary.durationMs} ms (p50 ${summary.firstRoundP50Ms} ms -> ${summary.lastRoundP50Ms} ms)`,
  );
  o.report({ step: 'warmup-done', summary });
  return summary;
}

async function shrink(o: ServerCheckpointOptions, gc: (() => void) | undefined): Promise<void> {
  const before = process.memoryUsage().rss;
  const result = await shrinkHeap(gc);
  if (result.warning) o.log.warn(result.warning);
  else o.log.info(`heap shrunk, RSS ${formatBytes(before)} -> ${formatBytes(process.memoryUsage().rss)}`);
}

async function rewarm(o: ServerCheckpointOptions, plan: WarmupPlan, warmup: WarmupSummary): Promise<void> {
  const rounds = o.rewarmRounds ?? defaultRewarmRounds(warmup.rounds);
  if (rounds <= 0) return;
  const again = await runWarmup(originOf(o.servers[0]!, o.secure), {
    ...plan,
    rounds,
    durationMs: undefined,
  });
  o.log.info(
    `re-warmed: ${again.requests} requests (p50 ${again.firstRoundP50Ms} -> ${again.lastRoundP50Ms} ms)`,
  );
}

/**
 * Warnings raised between the first beforeCheckpoint hook and the last afterRestore hook, when
 * the log may be parked on /dev/null (a pino destination is a resource): said once the hooks have
 * reopened it, in whichever process goes on. In 'exit' mode that is every restored copy, whose
 * heap holds the warnings of the checkpoint it came from.
 */
function deferredWarnings(log: SequenceLog): {
  add(message: string): void;
  after<T>(step: Promise<T>): Promise<T>;
} {
  const queue: string[] = [];
  return {
    add: (message) => {
      queue.push(message);
    },
    async after(step) {
      try {
        return await step;
      } finally {
        for (const message of queue.splice(0)) log.warn(message);
      }
    },
  };
}

/**
 * Runs the whole sequence and resolves with the checkpoint's result: in the original once the
 * image is sealed (the driver then ends the process in 'exit' mode), in every restored copy once
 * its afterRestore hooks are done. Any failure leaves the server running and serving.
 */
export async function checkpointServers(o: ServerCheckpointOptions): Promise<ServerCheckpointOutcome> {
  const warmup = o.warmup ? await warmUp(o, o.warmup) : undefined;
  const { gc, warning } = findGc();
  if (warning) o.log.warn(warning);
  const warnings = deferredWarnings(o.log);
  const options: CheckpointOptions = {
    imageDir: o.imageDir,
    mode: o.mode,
    force: o.force,
    ...(o.audit ? { audit: o.audit } : {}),
    onWarning: warnings.add,
    servers: o.servers,
  };
  // Shrink, then rehearse, then re-warm, then checkpoint: the shrink's collection keeps no shape
  // that has no live object (V8 retains no maps when reducing memory), so after a rehearsal it
  // would forget the shapes the rehearsal showed, and the real checkpoint would throw away the
  // re-warm's code again (measured with --trace-deopt).
  if (o.shrinkHeap) await shrink(o, gc);
  if (o.rehearse) {
    o.report({ step: 'rehearsing' });
    const rehearsal = await warnings.after(retryingRaces('rehearsal', o, () => rehearseCheckpoint(options)));
    o.log.info(`rehearsed the checkpoint in ${Math.round(rehearsal.durationMs)} ms`);
  }
  if (o.warmup && warmup && (o.shrinkHeap || o.rehearse)) await rewarm(o, o.warmup, warmup);
  o.report({ step: 'freezing' });
  // In-flight requests finish while the app's resources (database...) are still open; the drain
  // registered as a resource runs again after the app's hooks, for late arrivals.
  const result = await warnings.after(
    retryingRaces('checkpoint', o, () =>
      checkpoint({
        ...options,
        ...(warmup ? { warmup } : {}),
        beforeDump: () => {
          // After a shrink and re-warm, a full collection here would flush some of what the
          // re-warm compiled; without a shrink, collect the warm-up's garbage.
          if (gc && !o.shrinkHeap) collectGarbage(gc);
        },
      }),
    ),
  );
  return { ...result, ...(warmup ? { warmup } : {}) };
}
