/** Helpers for tests that start real processes: used by every package's integration tests. */
export { type Spawned, spawnTracked, stopAllStarted, type TestLaunch, track } from './processes.js';
export {
  freePort,
  makeTestCertificates,
  REGISTRY_BINARY,
  startRegistry,
  type TestRegistry,
  type TestRegistryOptions,
} from './registry.js';
export { restoreToFile } from './restore.js';
