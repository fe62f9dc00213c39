/**
 * Exit codes of `defrost` (documented in README.md). `restore` and `checkpoint --keep-running`
 * pass the server's own status through instead once it runs (128+N when ended by signal N).
 */
export const EXIT = {
  /** Done. */
  OK: 0,
  /** Something else failed (a restore CRIU could not do, a bug); the message says what. */
  FAILURE: 1,
  /** The command line is wrong: unknown option, missing argument, bad value. */
  USAGE: 2,
  /** The machine is not ready: a `defrost doctor` check failed (CRIU missing or too old, ...). */
  ENV_NOT_READY: 3,
  /** The image was refused: missing, corrupt, unsigned, incompatible, or already exists. */
  IMAGE_REFUSED: 4,
  /** The checkpoint failed: the app exited early, reported a failure, or timed out. */
  CHECKPOINT_FAILED: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
