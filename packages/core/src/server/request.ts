/**
 * What `defrost checkpoint` (or `defrost run`) asks of the app it starts, through the
 * environment. The plugin and the zero-code agent answer the same request the same way.
 * Processes the app starts inherit the variables too; the zero-code agent makes sure only one of
 * them answers (agent/ownership.ts).
 */
export interface CheckpointRequest {
  /** Where to write the image. */
  readonly imageDir: string;
  /** 'exit' (default): write the image and end the process; 'continue': keep serving. */
  readonly mode: 'exit' | 'continue';
  /** Replace an existing image. */
  readonly force: boolean;
}

/** Everything the launcher passed, as read from the environment at start. */
export interface LaunchRequest {
  readonly checkpoint: CheckpointRequest | undefined;
  readonly shrinkHeap: boolean;
  readonly rehearse: boolean;
  readonly progressFile: string | undefined;
  /** `defrost run`: where checkpoint requests from outside (`defrost checkpoint --pid`) arrive. */
  readonly runDir: string | undefined;
  /** The zero-code agent's settings (JSON from the CLI's flags), when the launcher gave any. */
  readonly agent: string | undefined;
}

/** Reads a launch request from these variables, without touching the process. */
export function launchRequestFromEnv(env: NodeJS.ProcessEnv): LaunchRequest {
  const imageDir = env.DEFROST_CHECKPOINT_IMAGE;
  return {
    checkpoint: imageDir
      ? {
          imageDir,
          mode: env.DEFROST_CHECKPOINT_MODE === 'continue' ? 'continue' : 'exit',
          force: env.DEFROST_CHECKPOINT_FORCE === '1',
        }
      : undefined,
    shrinkHeap: env.DEFROST_SHRINK_HEAP !== '0',
    rehearse: env.DEFROST_REHEARSE !== '0',
    progressFile: env.DEFROST_PROGRESS_FILE || undefined,
    runDir: env.DEFROST_RUN_DIR || undefined,
    agent: env.DEFROST_AGENT || undefined,
  };
}

const REQUEST = Symbol.for('@defrost/core/launch-request');
const DRIVER = Symbol.for('@defrost/core/checkpoint-driver');
const holder = globalThis as { [REQUEST]?: LaunchRequest; [DRIVER]?: string };

/** This process's launch request, read from process.env the first time (whoever asks first). */
export function processLaunchRequest(): LaunchRequest {
  holder[REQUEST] ??= launchRequestFromEnv(process.env);
  return holder[REQUEST];
}

/**
 * Who drives the checkpoint of this process: a framework integration (the Fastify plugin) claims
 * it when it is registered, and the zero-code agent then stays out of the way.
 */
export function claimCheckpoint(driver: string): void {
  holder[DRIVER] ??= driver;
}

export function checkpointDriver(): string | undefined {
  return holder[DRIVER];
}
