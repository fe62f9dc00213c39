/**
 * What `defrost checkpoint` asks of the app it starts, through the environment: the plugin and the
 * zero-code agent read the same variables, so both answer the same request the same way.
 */
export interface CheckpointRequest {
  /** Where to write the image. */
  readonly imageDir: string;
  /** 'exit' (default): write the image and end the process; 'continue': keep serving. */
  readonly mode: 'exit' | 'continue';
  /** Replace an existing image. */
  readonly force: boolean;
}

/** The checkpoint asked for, or undefined when none was (a normal run: nothing happens). */
export function checkpointRequestFromEnv(env: NodeJS.ProcessEnv): CheckpointRequest | undefined {
  const imageDir = env.DEFROST_CHECKPOINT_IMAGE;
  if (!imageDir) return undefined;
  return {
    imageDir,
    mode: env.DEFROST_CHECKPOINT_MODE === 'continue' ? 'continue' : 'exit',
    force: env.DEFROST_CHECKPOINT_FORCE === '1',
  };
}

/** The switches `defrost checkpoint` passes for the steps around the dump (defaults: all on). */
export function sequenceSwitchesFromEnv(env: NodeJS.ProcessEnv): {
  readonly shrinkHeap: boolean;
  readonly rehearse: boolean;
  readonly progressFile: string | undefined;
} {
  return {
    shrinkHeap: env.DEFROST_SHRINK_HEAP !== '0',
    rehearse: env.DEFROST_REHEARSE !== '0',
    progressFile: env.DEFROST_PROGRESS_FILE || undefined,
  };
}

// Who drives the checkpoint of this process: a framework integration (the Fastify plugin) claims
// it when it is registered, and the zero-code agent then stays out of the way. On globalThis: one
// claim per process, whichever build of @defrost/core the claimant loaded.
const DRIVER = Symbol.for('@defrost/core/checkpoint-driver');
const holder = globalThis as { [DRIVER]?: string };

export function claimCheckpoint(driver: string): void {
  holder[DRIVER] ??= driver;
}

export function checkpointDriver(): string | undefined {
  return holder[DRIVER];
}
