import type { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AuditFinding,
  type AuditPolicy,
  type AuditReport,
  assertAuditClean,
  auditOpenResources,
  formatFinding,
  isIncomingConnection,
  listeningSockets,
} from '../audit/index.js';
import { type DumpOptions, dumpSelf, rehearseDump } from '../dump/dump.js';
import { asCheckpointError, CheckpointError, RestoreError } from '../errors.js';
import type { ImageManifest } from '../image/index.js';
import { prepareEntropy, reseedEntropy } from '../safety/entropy.js';
import { holdRequests, type RequestHold } from './hold-requests.js';
import {
  type CheckpointContext,
  describeFailures,
  type LifecycleRegistry,
  lifecycle,
  type RestoreContext,
} from './registry.js';

export interface CheckpointOptions extends Omit<DumpOptions, 'listening'> {
  /** 'exit' (default): the caller ends the process after the image is sealed; 'continue': keep serving. */
  readonly mode?: 'exit' | 'continue';
  /** Per-kind policy for open resources the audit finds (error | warn | ignore). */
  readonly audit?: AuditPolicy;
  /** Called with warnings the audit accepted by policy, and other notices. */
  readonly onWarning?: (message: string) => void;
  /** Prepares the heap for the freeze (GC etc.); runs after beforeCheckpoint hooks. */
  readonly beforeDump?: () => Promise<void> | void;
  readonly registry?: LifecycleRegistry;
  /**
   * The app's servers (node:http, https, http2): their requests are held from just before the dump
   * until a restored copy's afterRestore hooks have finished, so that no request meets a
   * half-reopened app (lifecycle/hold-requests.ts).
   */
  readonly servers?: readonly EventEmitter[];
}

export type CheckpointResult =
  | {
      readonly restored: false;
      readonly manifest: ImageManifest;
      readonly durationMs: number;
      readonly audit: AuditReport;
    }
  | { readonly restored: true; readonly context: RestoreContext; readonly hooksMs: number };

function reopenAfterFailure(registry: LifecycleRegistry, hold?: () => RequestHold | undefined) {
  return async (error: unknown): Promise<never> => {
    const failures = await registry.runAfterRestore({ reason: 'checkpoint-failed' });
    hold?.()?.release();
    if (failures.length > 0 && error instanceof Error) {
      error.message += `\n  also, reopening after the failure: ${describeFailures(failures)}`;
    }
    throw error;
  };
}

/** How long sockets that are being closed get to go away before the audit refuses them. */
const CLOSING_GRACE_MS = 2_000;

/**
 * Whether a finding may go away on its own a moment after the beforeCheckpoint hooks: a socket
 * being closed, or a connection this process opened (a client's end() often resolves before its
 * FIN is even sent: pg's pool.end() leaves its sockets ESTABLISHED for a few milliseconds, longer
 * on Node 26). Not an incoming connection: that one is a client of the server, which the drain
 * handles (and a lost race with a client is retried at once).
 */
function mayStillClose(f: AuditFinding): boolean {
  if (f.kind === 'tcpClosing') return true;
  return f.kind === 'tcpConnection' && !isIncomingConnection(f);
}

/**
 * The audit, again and again for up to CLOSING_GRACE_MS while the only things in the way are
 * sockets that may still close: a client closed in a beforeCheckpoint hook is gone a few
 * milliseconds later. A connection nobody closes is refused all the same, 2 s later.
 */
async function auditGivingClosingSocketsTime(policy: AuditPolicy | undefined): Promise<AuditReport> {
  const deadline = performance.now() + CLOSING_GRACE_MS;
  for (;;) {
    const audit = await auditOpenResources(policy ? { policy } : {});
    const onlyClosing = audit.errors.length > 0 && audit.errors.every(mayStillClose);
    if (!onlyClosing || performance.now() > deadline) return audit;
    await sleep(20);
  }
}

/**
 * The steps before CRIU: beforeCheckpoint hooks (reverse order), heap preparation, then the
 * audit, which must come out clean. Each step is given `reopen` on failure.
 */
async function closeAndAudit(
  options: CheckpointOptions,
  registry: LifecycleRegistry,
  ctx: CheckpointContext,
  reopen: (error: unknown) => Promise<never>,
): Promise<AuditReport> {
  const closeFailures = await registry.runBeforeCheckpoint(ctx);
  if (closeFailures.length > 0) {
    await reopen(
      new CheckpointError(`checkpoint aborted: ${describeFailures(closeFailures)}`, { step: 'lifecycle' }),
    );
  }
  try {
    await options.beforeDump?.();
    const audit = await auditGivingClosingSocketsTime(options.audit);
    assertAuditClean(audit);
    for (const warning of audit.warnings)
      options.onWarning?.(`accepted by audit policy: ${formatFinding(warning)}`);
    return audit;
  } catch (error) {
    return reopen(asCheckpointError(error, 'checkpoint failed'));
  }
}

/**
 * A freeze without the dump: every hook, the audit and the checkpoint's own preparation run, then
 * everything is reopened (afterRestore hooks with reason 'rehearsal') and nothing is written.
 *
 * Why: the first freeze runs code the server never ran while it warmed up (closing and reopening
 * resources, the audit, starting CRIU). That code gives new shapes to objects that Node's
 * per-request machinery (timers, streams, nextTick) was optimized for, and V8 throws that
 * optimized code away. An image made right after the first freeze holds the discarded code, and
 * every restored copy recompiles it under its first requests. After a rehearsal, those shapes are
 * already known: a short re-warm compiles code that the real freeze leaves intact.
 */
export async function rehearseCheckpoint(
  options: CheckpointOptions,
): Promise<{ readonly durationMs: number }> {
  const registry = options.registry ?? lifecycle;
  const started = performance.now();
  let hold: RequestHold | undefined;
  const reopen = reopenAfterFailure(registry, () => hold);
  const audit = await closeAndAudit(
    options,
    registry,
    { mode: 'continue', imageDir: options.imageDir, rehearsal: true },
    reopen,
  );
  try {
    hold = holdRequests(options.servers ?? []);
    await rehearseDump({ ...options, listening: listeningSockets(audit) });
    // What the checkpoint and every copy do: Math.random gets its reseedable generator here, so
    // that the re-warm optimizes code against it, not against the builtin. Harmless here.
    await prepareEntropy({ onWarning: options.onWarning });
    await reseedEntropy({ onWarning: options.onWarning });
  } catch (error) {
    return reopen(asCheckpointError(error, 'checkpoint failed'));
  }
  const failures = await registry.runAfterRestore({ reason: 'rehearsal' });
  hold.release();
  if (failures.length > 0) {
    throw new CheckpointError(`reopening after the rehearsal failed: ${describeFailures(failures)}`, {
      step: 'lifecycle',
    });
  }
  return { durationMs: performance.now() - started };
}

/**
 * The whole freeze: beforeCheckpoint hooks (reverse order), heap preparation, audit, CRIU dump,
 * then afterRestore hooks (registration order) in the restored copy, or in the original when it
 * keeps serving or when anything failed. A failed freeze always leaves the original running with
 * its resources reopened, and throws one error that says what failed.
 */
export async function checkpoint(options: CheckpointOptions): Promise<CheckpointResult> {
  const registry = options.registry ?? lifecycle;
  const mode = options.mode ?? 'exit';
  let hold: RequestHold | undefined;
  const reopen = reopenAfterFailure(registry, () => hold);
  const audit = await closeAndAudit(
    options,
    registry,
    { mode, imageDir: options.imageDir, rehearsal: false },
    reopen,
  );
  let result: Awaited<ReturnType<typeof dumpSelf>>;
  try {
    await prepareEntropy({ onWarning: options.onWarning });
    // Copies resume with their requests held, until their afterRestore hooks are done.
    hold = holdRequests(options.servers ?? []);
    result = await dumpSelf({ ...options, listening: listeningSockets(audit) });
  } catch (error) {
    return reopen(asCheckpointError(error, 'checkpoint failed'));
  }

  if (!result.restored) {
    if (mode !== 'continue') hold.release();
    if (mode === 'continue') {
      const failures = await registry.runAfterRestore({ reason: 'continued' });
      hold.release();
      if (failures.length > 0) {
        throw new CheckpointError(
          `image written, but reopening resources failed: ${describeFailures(failures)}`,
          {
            step: 'lifecycle',
          },
        );
      }
    }
    return { restored: false, manifest: result.manifest, durationMs: result.durationMs, audit };
  }

  const { session } = result;
  const hooksStarted = performance.now();
  const context: RestoreContext = {
    reason: 'restored',
    settings: session.settings,
    restoreId: session.settings.restoreId,
    imageCreatedAt: session.imageCreatedAt,
    restoreDurationMs: session.resumedAfterMs,
  };
  try {
    await reseedEntropy({ onWarning: options.onWarning });
    Object.assign(process.env, session.settings.env);
  } catch (error) {
    session.fail(`per-copy setup failed: ${(error as Error).message}`);
    throw new RestoreError(`per-copy setup failed: ${(error as Error).message}`, {
      step: 'safety',
      cause: error,
    });
  }
  const failures = await registry.runAfterRestore(context);
  const hooksMs = performance.now() - hooksStarted;
  if (failures.length > 0) {
    // The held requests are not released: this copy must not serve half-reopened.
    const message = `afterRestore hooks failed: ${describeFailures(failures)}`;
    session.fail(message);
    throw new RestoreError(message, { step: 'hooks' });
  }
  hold.release();
  session.ready(hooksMs);
  return { restored: true, context, hooksMs };
}
