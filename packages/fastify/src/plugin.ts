import {
  type CheckpointContext,
  type CheckpointResult,
  checkpointServers,
  claimCheckpoint,
  diagnosticFilesResource,
  drainConnections,
  fetchPoolResource,
  globalAgentsResource,
  type KnownRoute,
  lifecycle,
  progressReporter,
  type Resource,
  type RestoreContext,
  RestoreError,
  relisten,
  type ServerCheckpointOutcome,
  sonicBoomResource,
  warmupPlan,
} from '@defrost/core/internal';
import type { FastifyBaseLogger, FastifyInstance, FastifyPluginAsync } from 'fastify';
import { type DefrostPluginOptions, type ResolvedOptions, resolveOptions } from './options.js';

export type CheckpointHook = (ctx: CheckpointContext) => Promise<void> | void;
export type RestoreHook = (ctx: RestoreContext) => Promise<void> | void;

export interface DefrostDecorator {
  /** Runs before every checkpoint, in reverse registration order: close what cannot be frozen. */
  beforeCheckpoint(fn: CheckpointHook, name?: string): void;
  /** Runs after every restore (and after a failed checkpoint), in registration order: reopen. */
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

/**
 * The destination behind a pino logger: pino keeps it under its `pino.stream` symbol, found by
 * its description (on the logger or, for a child logger, its prototypes) rather than through
 * pino's module, which may be another copy than the one the app's Fastify uses.
 */
function pinoStream(log: FastifyBaseLogger): unknown {
  for (let o: object | null = log; o; o = Object.getPrototypeOf(o)) {
    const symbol = Object.getOwnPropertySymbols(o).find((s) => s.description === 'pino.stream');
    if (symbol) return (log as unknown as Record<symbol, unknown>)[symbol];
  }
  return undefined;
}

/** The pino destination behind Fastify's logger (a sonic-boom), when it writes to a file or fd. */
function loggerResource(log: FastifyBaseLogger): Resource | undefined {
  return sonicBoomResource(pinoStream(log));
}

/**
 * Fastify's own resources, registered first so that they run last before the checkpoint and first
 * after a restore: the server's connections (drained; after a restore, a restore-time port),
 * V8's diagnostic files, the logger's destination, and the pools Node keeps on its own (fetch's
 * global dispatcher, http(s).globalAgent), which the zero-code agent closes too.
 */
function fastifyResources(app: FastifyInstance, options: ResolvedOptions): Resource[] {
  const logger = loggerResource(app.log);
  return [
    {
      name: 'fastify connections',
      beforeCheckpoint: () => drainConnections(app.server, options.drainTimeoutMs),
      afterRestore: async (ctx) => {
        if (ctx.settings?.port !== undefined) await relisten(app.server, ctx.settings.port);
      },
    },
    diagnosticFilesResource((m) => app.log.info(m)),
    ...(logger ? [logger] : []),
    fetchPoolResource,
    globalAgentsResource,
  ];
}

type Settle = (result: CheckpointResult | undefined) => void;

/** What the original does once the image is written: report it, and end in 'exit' mode. */
async function afterCheckpoint(
  app: FastifyInstance,
  options: ResolvedOptions,
  outcome: Extract<ServerCheckpointOutcome, { restored: false }>,
): Promise<void> {
  const request = options.checkpoint!;
  const log = app.log.child({ defrost: true });
  log.info(
    {
      imageDir: request.imageDir,
      totalBytes: outcome.manifest.totalBytes,
      durationMs: Math.round(outcome.durationMs),
    },
    'defrost: checkpoint written',
  );
  progressReporter(options.progressFile)({
    step: 'checkpointed',
    imageDir: request.imageDir,
    durationMs: Math.round(outcome.durationMs),
    totalBytes: outcome.manifest.totalBytes,
    files: Object.keys(outcome.manifest.files).length,
  });
}

/** The checkpoint, once the server listens: the shared sequence of @defrost/core. */
async function runCheckpoint(
  app: FastifyInstance,
  options: ResolvedOptions,
  routes: readonly KnownRoute[],
  settle: Settle,
  markRestored: () => void,
): Promise<void> {
  const request = options.checkpoint!;
  const log = app.log.child({ defrost: true });
  const report = progressReporter(options.progressFile);
  try {
    const outcome = await checkpointServers({
      servers: [app.server],
      imageDir: request.imageDir,
      mode: request.mode,
      force: request.force,
      warmup: options.warmup === false ? undefined : warmupPlan(options.warmup, routes),
      shrinkHeap: options.heap.shrink,
      rewarmRounds: options.heap.rewarmRounds,
      rehearse: options.rehearse,
      drainTimeoutMs: options.drainTimeoutMs,
      audit: options.audit,
      log: { info: (m) => log.info(`defrost: ${m}`), warn: (m) => log.warn(`defrost: ${m}`) },
      report,
    });
    if (outcome.restored) {
      markRestored();
      const { context, hooksMs } = outcome;
      log.info(
        { restoreId: context.restoreId, restoreMs: context.restoreDurationMs, hooksMs: Math.round(hooksMs) },
        `defrost: restored in ${context.restoreDurationMs} ms (image of ${context.imageCreatedAt})`,
      );
      settle(outcome);
      return;
    }
    await afterCheckpoint(app, options, outcome);
    settle(outcome);
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
    } else {
      log.error({ err: error }, `defrost: checkpoint failed: ${(error as Error).message}`);
      report({ step: 'failed', message: (error as Error).message });
    }
    settle(undefined);
  }
}

export const defrostPlugin: FastifyPluginAsync<DefrostPluginOptions> = async (app, rawOptions) => {
  const options = resolveOptions(rawOptions);
  const unregister: (() => void)[] = [];
  const register = (resource: Resource): void => {
    unregister.push(lifecycle.register(resource));
  };
  let restored = false;
  let settle: Settle = () => {};
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

  if (!options.checkpoint) {
    settle(undefined);
    return; // a normal run: nothing else happens
  }
  // This app's checkpoint is the plugin's: the zero-code agent of `defrost checkpoint` stands by.
  claimCheckpoint('@defrost/fastify');
  const routes: KnownRoute[] = [];
  app.addHook('onRoute', (route) => {
    routes.push({ method: route.method, url: route.url });
  });
  for (const resource of fastifyResources(app, options)) register(resource);
  app.addHook('onListen', async () => {
    // After listen() has returned to the app: the warm-up needs the server accepting.
    setImmediate(() => {
      void runCheckpoint(app, options, routes, settle, () => {
        restored = true;
      });
    });
  });
};
