/**
 * @defrost/core/internal: the plumbing the plugin, the command line and the benchmark share. Not a
 * public API: it changes without notice. Apps use the entry point @defrost/core.
 */
export * from './audit/index.js';
export { type Libcriu, loadLibcriu } from './criu/libcriu.js';
export { extractLogExcerpt } from './criu/log.js';
export { type CriuOptions, criuSetterCalls } from './criu/options.js';
export { CRIU_SERVICE_ENV, type CriuService, startCriuService } from './criu/service.js';
export {
  type CriuVersion,
  criuRequirementMessage,
  MIN_CRIU,
  parseCriuVersion,
  requireCriuBinary,
} from './criu/version.js';
export {
  type CheckStatus,
  type DoctorCheck,
  type DoctorOptions,
  type DoctorReport,
  INSTALL_COMMAND,
  runDoctor,
} from './doctor/index.js';
export type { RestoreSettings } from './dump/control.js';
export { type DumpOptions, type DumpResult, dumpSelf, type RestoreSession } from './dump/dump.js';
export * from './errors.js';
export * from './image/index.js';
export {
  type FreezableApp,
  type FreezableSpawnOptions,
  spawnFreezable,
  spawnWithoutIoUring,
} from './launch/freezable.js';
export { IO_URING_SETUP, ioUringFilterProgram, withoutIoUring } from './launch/io-uring-filter.js';
export {
  type CheckpointOptions,
  type CheckpointResult,
  checkpoint,
  rehearseCheckpoint,
} from './lifecycle/checkpoint.js';
export { holdRequests, type RequestHold } from './lifecycle/hold-requests.js';
export {
  type CheckpointContext,
  describeFailures,
  type HookFailure,
  LifecycleRegistry,
  lifecycle,
  type Resource,
  type RestoreContext,
  register,
} from './lifecycle/registry.js';
export { lineSplitter, parseJsonLine } from './lines.js';
export { reopenInAppendMode, writableNonAppendFiles } from './native/fds.js';
export { type ShrinkResult, shrinkHeap } from './native/v8-heap.js';
export * from './oci/index.js';
export {
  checkBoolean,
  checkKnownKeys,
  checkNonNegativeInt,
  checkObject,
  checkOneOf,
  checkPositiveInt,
  OptionError,
  optionName,
} from './options/validate.js';
export { findOnPath } from './process/find-executable.js';
export { isAlive, signalPid, stopPid, waitForPidGone } from './process/pid.js';
export { childrenOf, commOf, descendantsOf } from './process/tree.js';
export { type ProgressEvent, parseProgressLine, progressReporter } from './progress.js';
export { forgetLaunchPlan, launchPlanFile, writeLaunchPlan } from './restore/launch-plan.js';
export { type RestoredServer, type RestoreOptions, restore, type ServerExit } from './restore/launcher.js';
export {
  type EntropyOptions,
  type EntropyReport,
  lastEntropyReport,
  prepareEntropy,
  reseedEntropy,
} from './safety/entropy.js';
export { drainConnections } from './server/connections.js';
export { diagnosticFilesResource } from './server/diagnostic-files.js';
export { collectGarbage, findGc } from './server/heap.js';
export { fetchPoolResource, globalAgentsResource } from './server/keep-alive-pools.js';
export { originOf } from './server/origin.js';
export { relisten } from './server/relisten.js';
export {
  type CheckpointRequest,
  checkpointDriver,
  claimCheckpoint,
  type LaunchRequest,
  launchRequestFromEnv,
  processLaunchRequest,
} from './server/request.js';
export {
  checkpointServers,
  defaultRewarmRounds,
  type SequenceLog,
  type ServerCheckpointOptions,
  type ServerCheckpointOutcome,
} from './server/sequence.js';
export { isSonicBoom, type SonicBoomLike, sonicBoomResource } from './server/sonic-boom.js';
export { formatBytes, formatMs, formatQuantity, MIB } from './units.js';
export { type ClientHeaders, DEFAULT_CLIENT_HEADERS } from './warmup/clients.js';
export { endWarmupMarker, isWarmupRequest, startWarmupMarker, WARMUP_HEADER } from './warmup/marker.js';
export { checkWarmupOptions, type WarmupOptions, type WarmupRequest } from './warmup/options.js';
export {
  defaultRequests,
  isExpectedStatus,
  type KnownRoute,
  type WarmupPlan,
  warmupPlan,
} from './warmup/plan.js';
export { runWarmup, WarmupError, type WarmupSummary } from './warmup/runner.js';
