export * from './errors.js';
export { type CriuVersion, MIN_CRIU, parseCriuVersion, requireCriuBinary, criuRequirementMessage } from './criu/version.js';
export { type CriuOptions, criuSetterCalls } from './criu/options.js';
export { loadLibcriu, type Libcriu } from './criu/libcriu.js';
export { extractLogExcerpt } from './criu/log.js';
export { checkpoint, type CheckpointOptions, type CheckpointResult, type RestoreSession } from './checkpoint/checkpoint.js';
export type { RestoreSettings } from './checkpoint/control.js';
export { restore, type RestoreOptions, type RestoredServer, type ServerExit } from './restore/launcher.js';
export * from './image/index.js';
export { reopenInAppendMode, writableNonAppendFiles } from './native/fds.js';
export { isAlive, stopPid, waitForPidGone } from './process/pid.js';
export * from './audit/index.js';
export { freeze, type FreezeOptions, type FreezeResult } from './lifecycle/freeze.js';
export {
  type CheckpointContext,
  describeFailures,
  type HookFailure,
  LifecycleRegistry,
  lifecycle,
  type Resource,
  type RestoreContext,
} from './lifecycle/registry.js';
export { reseedEntropy } from './safety/entropy.js';
export {
  type CheckStatus,
  type DoctorCheck,
  type DoctorOptions,
  type DoctorReport,
  INSTALL_COMMAND,
  runDoctor,
} from './doctor/index.js';
export { shrinkHeap } from './native/v8-heap.js';
export { reusePortListener } from './native/reuseport-listener.js';
