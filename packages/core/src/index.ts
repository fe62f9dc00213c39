export * from './errors.js';
export { type CriuVersion, MIN_CRIU, parseCriuVersion, requireCriuBinary, criuRequirementMessage } from './criu/version.js';
export { type CriuOptions, criuSetterCalls } from './criu/options.js';
export { loadLibcriu, type Libcriu } from './criu/libcriu.js';
export { extractLogExcerpt } from './criu/log.js';
