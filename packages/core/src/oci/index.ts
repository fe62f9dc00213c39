/** Images in OCI registries: `defrost push`, `defrost pull`, `defrost restore REF` (docs/architecture.md). */
export {
  ARTIFACT_TYPE,
  type ArtifactManifest,
  buildArtifactManifest,
  FILE_LAYER,
  MANIFEST_LAYER,
  parseArtifactManifest,
} from './artifact.js';
export { authFileCandidates, type CredentialLookup, type Credentials, findCredentials } from './auth-file.js';
export { type Challenge, parseChallenges } from './challenge.js';
export type { ClientOptions } from './client.js';
export { ReferenceSyntaxError, RegistryError } from './errors.js';
export { type CachedImage, cachedPull, KEPT_CACHED_IMAGES } from './image-cache.js';
export { type PullOptions, type PullResult, pullImage } from './pull.js';
export { type PushOptions, type PushResult, pushImage } from './push.js';
export {
  formatReference,
  type ImageReference,
  isLoopbackHost,
  looksLikeReference,
  parseReference,
} from './reference.js';
