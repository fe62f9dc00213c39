/**
 * @defrost/core: freeze a warmed-up Node.js process with CRIU and restore it in milliseconds.
 *
 * The whole public surface, as small as org.crac's: resources that close before a checkpoint and
 * reopen after a restore (`register`), the checkpoint itself, the restore, the errors, the
 * audit's policy, and how to tell defrost's warm-up requests from real clients. Everything else is plumbing (@defrost/core/internal).
 */
export type { AuditAction, AuditKind, AuditPolicy } from './audit/types.js';
export type { RestoreSettings } from './dump/control.js';
export {
  CheckpointError,
  CriuUnavailableError,
  DefrostError,
  ImageError,
  LaunchError,
  RestoreError,
} from './errors.js';
export { SigningKeyError } from './image/signing-key.js';
export { type CheckpointOptions, type CheckpointResult, checkpoint } from './lifecycle/checkpoint.js';
export {
  type CheckpointContext,
  type Resource,
  type RestoreContext,
  register,
} from './lifecycle/registry.js';
export { type RestoredServer, type RestoreOptions, restore, type ServerExit } from './restore/launcher.js';
export { isWarmupRequest, WARMUP_HEADER } from './warmup/marker.js';
