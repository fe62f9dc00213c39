/** The image directory: CRIU's *.img files plus `defrost.json`, written atomically, verified before restore. */
export { HASH_CONCURRENCY, hashFile } from './hash.js';
export { checkCompatibility, currentHostFacts, type HostFacts } from './host.js';
export {
  canonicalManifestJson,
  IMAGE_FORMAT_VERSION,
  type ImageManifest,
  MANIFEST_FILE,
  type ManifestFacts,
  readManifest,
} from './manifest.js';
export {
  assertImageTarget,
  createStagingDir,
  discardStaging,
  installStagedImage,
  type SealOptions,
  sealImage,
} from './seal.js';
export { signImage } from './sign.js';
export {
  HOST_KEY_FILE,
  type HostSigningPolicy,
  hostSigningPolicy,
  KEY_FILE_ENV,
  MIN_KEY_BYTES,
  readSigningKeyFile,
  resolveSigningKey,
  SigningKeyError,
} from './signing-key.js';
export { imageSizes, rememberVerified, type VerifyOptions, verifyImage } from './verify.js';
export type { ImageWarning, WarningSink } from './warning.js';
