import {
  AUDIT_KINDS,
  type AuditPolicy,
  checkBoolean,
  checkKnownKeys,
  checkNonNegativeInt,
  checkObject,
  checkOneOf,
  checkPositiveInt,
  checkWarmupOptions,
  launchRequestFromEnv,
  OptionError,
  processLaunchRequest,
  type WarmupOptions,
} from '@defrost/core/internal';

export type { WarmupOptions, WarmupRequest } from '@defrost/core/internal';

export interface CheckpointRequest {
  /** Where to write the image. */
  readonly imageDir: string;
  /** 'exit' (default): write the image and end the process; 'continue': keep serving. */
  readonly mode?: 'exit' | 'continue';
  /** Replace an existing image. */
  readonly force?: boolean;
}

export interface HeapOptions {
  /** Give memory back to the OS before the checkpoint (V8 critical memory pressure + GC); default
   * true. A smaller image restores faster (~3.4 ms per MB here). */
  readonly shrink?: boolean;
  /** Rounds of warm-up to run again after the shrink and the rehearsal, so that code they threw
   * away is hot again in the image (default: 40% of the warm-up, at least 20 but never more than the
   * warm-up itself; 0 to skip). */
  readonly rewarmRounds?: number;
}

export interface DefrostPluginOptions {
  /** Ask for a checkpoint once the server listens. Default: from DEFROST_CHECKPOINT_* variables
   * (set by `defrost checkpoint`); without either, the plugin does nothing at all. */
  readonly checkpoint?: CheckpointRequest | false;
  readonly warmup?: WarmupOptions | false;
  /** Per-kind policy for open resources found by the pre-checkpoint audit, e.g.
   * `{ tcpConnection: 'warn' }`. */
  readonly audit?: AuditPolicy;
  readonly heap?: HeapOptions;
  /** Rehearse the checkpoint (every hook, the audit and CRIU's preparation, without the dump) and
   * re-warm before the real one, so that the image holds code optimized for what the checkpoint
   * leaves behind; restored copies then spend ~25% less CPU per request in their first second
   * (docs/restore-performance.md). Default true (DEFROST_REHEARSE=0 turns it off). */
  readonly rehearse?: boolean;
  /** How long to wait for in-flight requests to finish before the checkpoint (default 10 s). */
  readonly drainTimeoutMs?: number;
  /** Environment to read DEFROST_* variables from (tests). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface ResolvedOptions {
  readonly checkpoint: Required<CheckpointRequest> | undefined;
  readonly warmup: WarmupOptions | false;
  readonly audit: AuditPolicy | undefined;
  readonly heap: { readonly shrink: boolean; readonly rewarmRounds: number | undefined };
  readonly rehearse: boolean;
  readonly drainTimeoutMs: number;
  readonly progressFile: string | undefined;
}

export class DefrostOptionsError extends Error {
  constructor(message: string) {
    super(`@defrost/fastify: invalid options: ${message}`);
    this.name = 'DefrostOptionsError';
  }
}

const PLUGIN_KEYS = ['checkpoint', 'warmup', 'audit', 'heap', 'rehearse', 'drainTimeoutMs', 'env'];

function checkCheckpoint(value: unknown): void {
  if (value === undefined || value === false) return;
  checkObject(value, 'checkpoint');
  checkKnownKeys(value, ['imageDir', 'mode', 'force'], 'checkpoint');
  if (typeof value.imageDir !== 'string' || value.imageDir === '') {
    throw new OptionError('checkpoint.imageDir must be a non-empty path');
  }
  checkOneOf(value.mode, ['exit', 'continue'], 'checkpoint.mode');
  checkBoolean(value.force, 'checkpoint.force');
}

function checkAudit(value: unknown): void {
  if (value === undefined) return;
  checkObject(value, 'audit');
  checkKnownKeys(value, AUDIT_KINDS, 'audit');
  for (const [kind, action] of Object.entries(value))
    checkOneOf(action, ['error', 'warn', 'ignore'], `audit.${kind}`);
}

function checkHeap(value: unknown): void {
  if (value === undefined) return;
  checkObject(value, 'heap');
  checkKnownKeys(value, ['shrink', 'rewarmRounds'], 'heap');
  checkBoolean(value.shrink, 'heap.shrink');
  checkNonNegativeInt(value.rewarmRounds, 'heap.rewarmRounds');
}

/** Every option as the user typed it; the first problem found is the error. */
function checkOptions(options: DefrostPluginOptions): void {
  checkObject(options, 'the options');
  checkKnownKeys(options, PLUGIN_KEYS, '', { auditPolicy: 'audit', drainTimeout: 'drainTimeoutMs' });
  checkCheckpoint(options.checkpoint);
  if (options.warmup !== undefined && options.warmup !== false) checkWarmupOptions(options.warmup, 'warmup');
  checkAudit(options.audit);
  checkHeap(options.heap);
  checkBoolean(options.rehearse, 'rehearse');
  checkPositiveInt(options.drainTimeoutMs, 'drainTimeoutMs');
}

/** Options win over the environment; the environment is how `defrost checkpoint` asks. */
export function resolveOptions(options: DefrostPluginOptions): ResolvedOptions {
  try {
    checkOptions(options);
  } catch (error) {
    if (error instanceof OptionError) throw new DefrostOptionsError(error.message);
    throw error;
  }
  const launch = options.env ? launchRequestFromEnv(options.env) : processLaunchRequest();
  const fromEnv = launch.checkpoint;
  const requested = options.checkpoint === false ? undefined : (options.checkpoint ?? fromEnv);
  // No signing key here on purpose: a key in this process would be frozen into the image it
  // signs. `defrost checkpoint --signing-key-file` signs the sealed image from outside.
  return {
    checkpoint: requested
      ? {
          imageDir: requested.imageDir,
          mode: requested.mode ?? fromEnv?.mode ?? 'exit',
          force: requested.force ?? fromEnv?.force ?? false,
        }
      : undefined,
    warmup: options.warmup ?? {},
    audit: options.audit,
    heap: { shrink: options.heap?.shrink ?? launch.shrinkHeap, rewarmRounds: options.heap?.rewarmRounds },
    rehearse: options.rehearse ?? launch.rehearse,
    drainTimeoutMs: options.drainTimeoutMs ?? 10_000,
    progressFile: launch.progressFile,
  };
}
