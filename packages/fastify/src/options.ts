import type { AuditPolicy } from '@defrost/core/internal';
import type { ClientHeaders } from './warmup/clients.js';

export interface WarmupRequest {
  readonly method?: string;
  /** Path (and query) on this server, e.g. "/posts/hello?ref=warmup". */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer | Readonly<Record<string, unknown>>;
  /** Statuses that count as success for this request (default: the plan's `expectStatus`). */
  readonly expectStatus?: readonly number[];
}

export interface WarmupOptions {
  /** Requests per round, or a function of the round number producing them. Default: every
   * parameterless GET route Fastify knows. */
  readonly requests?: readonly WarmupRequest[] | ((round: number) => readonly WarmupRequest[]);
  /** Rounds over the request list (default 300), unless `durationMs` is given. */
  readonly rounds?: number;
  /** Time budget instead of a number of rounds. */
  readonly durationMs?: number;
  /** Requests in flight at once (default 8). */
  readonly concurrency?: number;
  /** Statuses that count as success (default: 200-399). */
  readonly expectStatus?: readonly number[];
  /** Per-request timeout (default 10 s). */
  readonly timeoutMs?: number;
  /** Header sets of the clients to imitate, one per request in turn; a request's own headers win.
   * Default: a few common ones (a browser, curl, an API client, a crawler...; see
   * `DEFAULT_CLIENT_HEADERS`), so that request handling is not optimized for one client's headers
   * only. `[{}]` sends undici's own headers alone. */
  readonly clientHeaders?: readonly ClientHeaders[];
}

export interface CheckpointRequest {
  /** Where to write the image. */
  readonly imageDir: string;
  /** 'exit' (default): write the image and end the process; 'continue': keep serving. */
  readonly mode?: 'exit' | 'continue';
  /** Replace an existing image. */
  readonly force?: boolean;
}

export interface HeapOptions {
  /** Give memory back to the OS before the freeze (V8 critical memory pressure + GC); default
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
  /** Per-kind policy for open resources found by the pre-freeze audit. */
  readonly audit?: AuditPolicy;
  readonly heap?: HeapOptions;
  /** Rehearse the freeze (every hook, the audit and CRIU's preparation, without the dump) and
   * re-warm before the real one, so that the image holds code optimized for what the freeze
   * leaves behind; restored copies then spend ~25% less CPU per request in their first second
   * (docs/restore-performance.md). Default true (DEFROST_REHEARSE=0 turns it off). */
  readonly rehearse?: boolean;
  /** How long to wait for in-flight requests to finish before the freeze (default 10 s). */
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

const positiveInt = (value: unknown, name: string): void => {
  if (value !== undefined && (!Number.isInteger(value) || (value as number) <= 0)) {
    throw new DefrostOptionsError(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
};

function validateWarmup(warmup: WarmupOptions): void {
  positiveInt(warmup.rounds, 'warmup.rounds');
  positiveInt(warmup.durationMs, 'warmup.durationMs');
  positiveInt(warmup.concurrency, 'warmup.concurrency');
  positiveInt(warmup.timeoutMs, 'warmup.timeoutMs');
  if (warmup.requests !== undefined && typeof warmup.requests !== 'function') {
    if (!Array.isArray(warmup.requests))
      throw new DefrostOptionsError('warmup.requests must be an array or a function');
    warmup.requests.forEach((r: WarmupRequest, i: number) => {
      if (!r || typeof r.url !== 'string' || !r.url.startsWith('/')) {
        throw new DefrostOptionsError(
          `warmup.requests[${i}].url must be a path starting with "/", got ${JSON.stringify(r?.url)}`,
        );
      }
    });
  }
  if (warmup.clientHeaders !== undefined) {
    const valid =
      Array.isArray(warmup.clientHeaders) &&
      warmup.clientHeaders.length > 0 &&
      warmup.clientHeaders.every(
        (set) =>
          set !== null &&
          typeof set === 'object' &&
          !Array.isArray(set) &&
          Object.values(set).every((value) => typeof value === 'string'),
      );
    if (!valid)
      throw new DefrostOptionsError(
        'warmup.clientHeaders must be a non-empty array of header objects with string values (e.g. [{}])',
      );
  }
  if (
    warmup.expectStatus !== undefined &&
    (!Array.isArray(warmup.expectStatus) || warmup.expectStatus.length === 0)
  ) {
    throw new DefrostOptionsError('warmup.expectStatus must be a non-empty array of HTTP statuses');
  }
}

/** Options win over the environment; the environment is how `defrost checkpoint` asks. */
export function resolveOptions(options: DefrostPluginOptions): ResolvedOptions {
  const env = options.env ?? process.env;
  if (options.warmup !== undefined && options.warmup !== false) {
    if (typeof options.warmup !== 'object')
      throw new DefrostOptionsError('warmup must be an object or false');
    validateWarmup(options.warmup);
  }
  positiveInt(options.drainTimeoutMs, 'drainTimeoutMs');
  if (options.rehearse !== undefined && typeof options.rehearse !== 'boolean') {
    throw new DefrostOptionsError(`rehearse must be true or false, got ${JSON.stringify(options.rehearse)}`);
  }
  if (
    options.heap?.rewarmRounds !== undefined &&
    (!Number.isInteger(options.heap.rewarmRounds) || options.heap.rewarmRounds < 0)
  ) {
    throw new DefrostOptionsError(
      `heap.rewarmRounds must be an integer >= 0, got ${JSON.stringify(options.heap.rewarmRounds)}`,
    );
  }

  let checkpoint: ResolvedOptions['checkpoint'];
  const requested =
    options.checkpoint ??
    (env.DEFROST_CHECKPOINT_IMAGE ? { imageDir: env.DEFROST_CHECKPOINT_IMAGE } : undefined);
  if (requested) {
    if (typeof requested.imageDir !== 'string' || requested.imageDir === '') {
      throw new DefrostOptionsError('checkpoint.imageDir must be a non-empty path');
    }
    const mode = requested.mode ?? (env.DEFROST_CHECKPOINT_MODE as 'exit' | 'continue' | undefined) ?? 'exit';
    if (mode !== 'exit' && mode !== 'continue') {
      throw new DefrostOptionsError(
        `checkpoint.mode must be "exit" or "continue", got ${JSON.stringify(mode)}`,
      );
    }
    // No signing key here on purpose: a key in this process would be frozen into the image it
    // signs. `defrost checkpoint --signing-key-file` signs the sealed image from outside.
    checkpoint = {
      imageDir: requested.imageDir,
      mode,
      force: requested.force ?? env.DEFROST_CHECKPOINT_FORCE === '1',
    };
  }
  return {
    checkpoint,
    warmup: options.warmup ?? {},
    audit: options.audit,
    heap: {
      shrink: options.heap?.shrink ?? env.DEFROST_SHRINK_HEAP !== '0',
      rewarmRounds: options.heap?.rewarmRounds,
    },
    rehearse: options.rehearse ?? env.DEFROST_REHEARSE !== '0',
    drainTimeoutMs: options.drainTimeoutMs ?? 10_000,
    progressFile: env.DEFROST_PROGRESS_FILE || undefined,
  };
}
