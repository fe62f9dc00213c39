import {
  type AuditFinding,
  type CheckpointContext,
  CheckpointError,
  type CheckpointOptions,
  type CheckpointResult,
  checkpoint,
  lifecycle,
  progressReporter,
  type RestoreContext,
  RestoreError,
  rehearseCheckpoint,
  shrinkHeap,
} from '@defrost/core/internal';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { drainConnections } from './freeze/connections.js';
import { diagnosticFilesResource } from './freeze/diagnostics.js';
import { collectGarbage, findGc } from './freeze/heap.js';
import { loggerDestinationResource } from './freeze/logger.js';
import { type DefrostPluginOptions, type ResolvedOptions, resolveOptions } from './options.js';

import type { KnownRoute } from './warmup/plan.js';
import { warmupPlan } from './warmup/plan.js';
import { runWarmup, type WarmupSummary } from './warmup/runner.js';

export type CheckpointHook = (ctx: CheckpointContext) => Promise<void> | void;
export type RestoreHook = (ctx: RestoreContext) => Promise<void> | void;

export interface DefrostDecorator {
  /** Runs before every freeze, in reverse registration order: close what cannot be frozen. */
  beforeCheckpoint(fn: CheckpointHook, name?: string): void;
  /** Runs after every restore (and after a failed freeze), in registration order: reopen. */
  afterRestore(fn: RestoreHook, name?: string): void;
  /** True in a process restored from an image. */
  readonly restored: boolean;
  /** Settles when a requested checkpoint finished (in the original) or a restore completed. */
  readonly done: Promise<CheckpointResult | undefined>;
}

declare module 'fastify' {
  interface FastifyInstance {
    defrost: DefrostDecorator;
  }
}

const mb = (bytes: number): number => Math.round(bytes / 1e6);

const RACE_ATTEMPTS = 3;

/**
 * Re-warm rounds after the shrink and the rehearsal: 40% of the warm-up, at least 20, never more
 * than the warm-up itself. V8 optimizes a function again only after ~1,000 calls, so a short
 * re-warm leaves the hot path unoptimized in the image; but whatever the re-warm allocates stays
 * in the image too. On the blog (300 rounds), 120 rounds against 30: 25-35% less CPU per request
 * in a copy's first second, for 14 MB more image (docs/restore-performance.md).
 */
function defaultRewarmRounds(warmupRounds: number): number {
  return Math.min(warmupRounds, Math.max(20, Math.round(warmupRounds * 0.4)));
}

/** True when the only thing that stopped the freeze is a client that connected after the drain. */
function lostRaceWithClient(error: unknown): boolean {
  if (!(error instanceof CheckpointError) || error.step !== 'audit' || !Array.isArray(error.details))
    return false;
  return (error.details as AuditFinding[]).every((f) => f.origin?.startsWith('an incoming connection'));
}

/**
 * Node cannot pause accepting connections, so a client may connect between the drain and the
 * dump; the audit then refuses the freeze (a connected socket cannot be frozen) and everything is
 * reopened. That is a lost race, not a fault: drain and try again a few times.
 */
async function retryingRaces<T>(
  what: 'freeze' | 'rehearsal',
  attemptOnce: () => Promise<T>,
  warn: (message: string) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptOnce();
    } catch (error) {
      if (attempt >= RACE_ATTEMPTS || !lostRaceWithClient(error)) throw error;
      warn(`a client connected during the ${what} (attempt ${attempt} of ${RACE_ATTEMPTS}); draining again`);
    }
  }
}

function serverOrigin(app: FastifyInstance): string {
  const address = app.server.address();
  if (!address || typeof address === 'string')
    throw new Error('defrost warms up over TCP; the server listens on a unix socket');
  const host =
    address.family === 'IPv6'
      ? `[${address.address === '::' ? '::1' : address.address}]`
      : address.address === '0.0.0.0'
        ? '127.0.0.1'
        : address.address;
  return `http://${host}:${address.port}`;
}

/**
 * After a restore with a restore-time port: listen there instead of the frozen port. The new
 * socket has SO_REUSEPORT, like the frozen one, so several copies can move to the same port.
 */
async function relisten(app: FastifyInstance, port: number): Promise<void> {
  const address = app.server.address();
  if (!address || typeof address === 'string' || address.port === port) return;
  await new Promise<void>((resolve) => app.server.close(() => resolve()));
  await new Promise<void>((resolve, reject) => {
    app.server.once('error', reject);
    app.server.listen({ host: address.address, port, reusePort: true }, () => {
      app.server.off('error', reject);
      resolve();
    });
  });
}

export const defrostPlugin: FastifyPluginAsync<DefrostPluginOptions> = async (app, rawOptions) => {
  const options: ResolvedOptions = resolveOptions(rawOptions);
  const unregister: (() => void)[] = [];
  const register = (resource: Parameters<typeof lifecycle.register>[0]): void => {
    unregister.push(lifecycle.register(resource));
  };
  let restored = false;
  let settle: (result: CheckpointResult | undefined) => void = () => {};
  const done = new Promise<CheckpointResult | undefined>((resolve) => {
    settle = resolve;
  });

  app.decorate('defrost', {
    beforeCheckpoint(fn: CheckpointHook, name = 'app beforeCheckpoint hook') {
      register({ name, beforeCheckpoint: (ctx) => fn(ctx) });
    },
    afterRestore(fn: RestoreHook, name = 'app afterRestore hook') {
      register({ name, afterRestore: (ctx) => fn(ctx) });
    },
    get restored() {
      return restored;
    },
    done,
  } satisfies DefrostDecorator);
  app.addHook('onClose', async () => {
    for (const fn of unregister) fn();
  });

  const request = options.checkpoint;
  if (!request) {
    settle(undefined);
    return; // a normal run: nothing else happens
  }

  const routes: KnownRoute[] = [];
  app.addHook('onRoute', (route) => {
    routes.push({ method: route.method, url: route.url });
  });
  const report = progressReporter(options.progressFile);

  // Registered first so that they run last before the freeze and first after a restore.
  register({
    name: 'fastify connections',
    beforeCheckpoint: () => drainConnections(app.server, options.drainTimeoutMs),
    afterRestore: async (ctx) => {
      if (ctx.settings?.port !== undefined) await relisten(app, ctx.settings.port);
    },
  });
  register(diagnosticFilesResource((m) => app.log.info(m)));
  const loggerResource = loggerDestinationResource(app.log);
  if (loggerResource) register(loggerResource);

  const run = async (): Promise<void> => {
    const log = app.log.child({ defrost: true });
    try {
      let warmup: WarmupSummary | undefined;
      if (options.warmup !== false) {
        const plan = warmupPlan(options.warmup, routes);
        log.info(
          { rounds: Number.isFinite(plan.rounds) ? plan.rounds : undefined, durationMs: plan.durationMs },
          'defrost: warming up',
        );
        warmup = await runWarmup(serverOrigin(app), plan, (requests, rounds) => {
          if (rounds % 25 === 0)
            report({
              step: 'warmup',
              requests,
              rounds,
              ...(Number.isFinite(plan.rounds) ? { totalRounds: plan.rounds } : {}),
            });
        });
        log.info(
          { warmup },
          `defrost: warm-up done: ${warmup.requests} requests in ${warmup.durationMs} ms (p50 ${warmup.firstRoundP50Ms} ms -> ${warmup.lastRoundP50Ms} ms)`,
        );
        report({ step: 'warmup-done', summary: warmup });
      }
      const warn = (m: string): void => log.warn(`defrost: ${m}`);
      const freezeOptions: CheckpointOptions = {
        imageDir: request.imageDir,
        mode: request.mode,
        force: request.force,
        ...(options.audit ? { auditPolicy: options.audit } : {}),
        onWarning: warn,
        servers: [app.server],
      };
      const { gc, warning } = findGc();
      if (warning) warn(warning);
      // Shrink, then rehearse, then re-warm, then freeze: the shrink's collection keeps no shape
      // that has no live object (V8 retains no maps when reducing memory), so after a rehearsal
      // it would forget the shapes the rehearsal showed, and the real freeze would throw away
      // the re-warm's code again (measured with --trace-deopt).
      if (options.heap.shrink) {
        const before = process.memoryUsage().rss;
        const shrink = await shrinkHeap(gc);
        if (shrink.warning) warn(shrink.warning);
        else log.info(`defrost: heap shrunk, RSS ${mb(before)} -> ${mb(process.memoryUsage().rss)} MB`);
      }
      if (options.rehearse) {
        report({ step: 'rehearsing' });
        await drainConnections(app.server, options.drainTimeoutMs);
        const rehearsal = await retryingRaces('rehearsal', () => rehearseCheckpoint(freezeOptions), warn);
        log.info(`defrost: rehearsed the freeze in ${Math.round(rehearsal.durationMs)} ms`);
      }
      if (warmup && (options.heap.shrink || options.rehearse)) {
        const plan = warmupPlan(options.warmup || {}, routes);
        const rounds = options.heap.rewarmRounds ?? defaultRewarmRounds(warmup.rounds);
        if (rounds > 0) {
          const rewarm = await runWarmup(serverOrigin(app), { ...plan, rounds, durationMs: undefined });
          log.info(
            `defrost: re-warmed: ${rewarm.requests} requests (p50 ${rewarm.firstRoundP50Ms} -> ${rewarm.lastRoundP50Ms} ms)`,
          );
        }
      }
      report({ step: 'freezing' });
      // In-flight requests finish while the app's resources (database...) are still open; the
      // drain registered as a resource runs again after the app's hooks, for late arrivals.
      await drainConnections(app.server, options.drainTimeoutMs);
      const result = await retryingRaces(
        'freeze',
        () =>
          checkpoint({
            ...freezeOptions,
            ...(warmup ? { warmup } : {}),
            beforeDump: () => {
              // After a shrink and re-warm, a full collection here would flush some of what the
              // re-warm compiled; without a shrink, collect the warm-up's garbage.
              if (gc && !options.heap.shrink) collectGarbage(gc);
            },
          }),
        warn,
      );
      if (result.restored) {
        restored = true;
        log.info(
          {
            restoreId: result.context.restoreId,
            restoreMs: result.context.restoreDurationMs,
            hooksMs: Math.round(result.hooksMs),
          },
          `defrost: restored in ${result.context.restoreDurationMs} ms (image of ${result.context.imageCreatedAt})`,
        );
        settle(result);
        return;
      }
      log.info(
        {
          imageDir: request.imageDir,
          totalBytes: result.manifest.totalBytes,
          durationMs: Math.round(result.durationMs),
        },
        'defrost: checkpoint written',
      );
      report({
        step: 'checkpointed',
        imageDir: request.imageDir,
        durationMs: Math.round(result.durationMs),
        totalBytes: result.manifest.totalBytes,
        files: Object.keys(result.manifest.files).length,
      });
      settle(result);
      if (request.mode === 'exit') {
        await app.close();
        // The image is written; this process was started only to build it.
        process.exit(0);
      }
    } catch (error) {
      if (error instanceof RestoreError) {
        // A restored copy whose restore hooks failed: the restorer has been told and ends this
        // copy; it must not serve half-reopened.
        log.error({ err: error }, `defrost: restore failed: ${error.message}`);
        process.exitCode = 1;
        settle(undefined);
        return;
      }
      log.error({ err: error }, `defrost: checkpoint failed: ${(error as Error).message}`);
      report({ step: 'failed', message: (error as Error).message });
      settle(undefined);
    }
  };
  app.addHook('onListen', async () => {
    // After listen() has returned to the app: the warm-up needs the server accepting.
    setImmediate(() => void run());
  });
};
