import type { RestoreSettings } from '../dump/control.js';

/** Given to beforeCheckpoint hooks. */
export interface CheckpointContext {
  /** 'exit': the process ends after the image is written; 'continue': it keeps serving. */
  readonly mode: 'exit' | 'continue';
  readonly imageDir: string;
  /** True for the rehearsal before the real freeze: nothing is dumped, afterRestore follows. */
  readonly rehearsal: boolean;
}

/** Given to afterRestore hooks. */
export interface RestoreContext {
  /**
   * 'restored': this is a copy restored from the image; 'continued': the original, after a
   * successful checkpoint in 'continue' mode; 'checkpoint-failed': the original, after a failed
   * checkpoint: everything closed for the freeze must be reopened; 'rehearsal': the original,
   * after the rehearsal that precedes a freeze (see `rehearseCheckpoint`).
   */
  readonly reason: 'restored' | 'continued' | 'checkpoint-failed' | 'rehearsal';
  /** Restore-time settings, present when reason is 'restored'. */
  readonly settings?: RestoreSettings;
  readonly restoreId?: string;
  /** When the image was made (ISO), for restored copies. */
  readonly imageCreatedAt?: string;
  /** Milliseconds from the restorer starting to this process running again. */
  readonly restoreDurationMs?: number;
}

export interface Resource {
  /** Shown in errors and logs, e.g. "sqlite database", "pino destination". */
  readonly name: string;
  beforeCheckpoint?(ctx: CheckpointContext): Promise<void> | void;
  afterRestore?(ctx: RestoreContext): Promise<void> | void;
  /** Per-hook timeout; default 10 s. */
  readonly timeoutMs?: number;
}

export interface HookFailure {
  readonly resource: string;
  readonly phase: 'beforeCheckpoint' | 'afterRestore';
  readonly error: Error;
}

const DEFAULT_TIMEOUT_MS = 10_000;

async function runHook(
  resource: Resource,
  phase: HookFailure['phase'],
  run: () => Promise<void> | void,
): Promise<HookFailure | undefined> {
  const timeoutMs = resource.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(run),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return undefined;
  } catch (error) {
    return {
      resource: resource.name,
      phase,
      error: error instanceof Error ? error : new Error(String(error)),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resources that must be closed before a freeze and reopened after a restore.
 * Checkpoint runs hooks in reverse registration order, restore in registration order (as CRaC and
 * Lambda SnapStart do): what was opened last is closed first. Every hook runs even when another
 * fails; failures are returned together.
 */
export class LifecycleRegistry {
  readonly #resources: Resource[] = [];

  /** Registers a resource; returns a function that unregisters it. */
  register(resource: Resource): () => void {
    this.#resources.push(resource);
    return () => {
      const index = this.#resources.indexOf(resource);
      if (index >= 0) this.#resources.splice(index, 1);
    };
  }

  get size(): number {
    return this.#resources.length;
  }

  async runBeforeCheckpoint(ctx: CheckpointContext): Promise<HookFailure[]> {
    const failures: HookFailure[] = [];
    for (const resource of [...this.#resources].reverse()) {
      if (!resource.beforeCheckpoint) continue;
      const failure = await runHook(resource, 'beforeCheckpoint', () => resource.beforeCheckpoint?.(ctx));
      if (failure) failures.push(failure);
    }
    return failures;
  }

  async runAfterRestore(ctx: RestoreContext): Promise<HookFailure[]> {
    const failures: HookFailure[] = [];
    for (const resource of [...this.#resources]) {
      if (!resource.afterRestore) continue;
      const failure = await runHook(resource, 'afterRestore', () => resource.afterRestore?.(ctx));
      if (failure) failures.push(failure);
    }
    return failures;
  }
}

export function describeFailures(failures: readonly HookFailure[]): string {
  return failures.map((f) => `${f.phase} of "${f.resource}": ${f.error.message}`).join('; ');
}

// One registry per process even if two copies of @defrost/core end up loaded (e.g. nested
// node_modules): a freeze must see every resource, whoever registered it.
const GLOBAL_KEY = Symbol.for('@defrost/core/lifecycle');
const holder = globalThis as { [GLOBAL_KEY]?: LifecycleRegistry };

/** The process-wide registry. */
export const lifecycle: LifecycleRegistry = holder[GLOBAL_KEY] ?? new LifecycleRegistry();
holder[GLOBAL_KEY] = lifecycle;

/**
 * Registers a resource with the process-wide registry: `beforeCheckpoint` runs before every
 * checkpoint (in reverse registration order), `afterRestore` after every restore, and after a
 * checkpoint that failed or kept the process running (in registration order). Returns a function
 * that unregisters it.
 */
export function register(resource: Resource): () => void {
  return lifecycle.register(resource);
}
