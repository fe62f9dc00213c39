import fp from 'fastify-plugin';
import { defrostPlugin } from './plugin.js';

export {
  type ClientHeaders,
  DEFAULT_CLIENT_HEADERS,
  isWarmupRequest,
  WARMUP_HEADER,
  WarmupError,
  type WarmupSummary,
} from '@defrost/core/internal';
export type {
  CheckpointRequest,
  DefrostPluginOptions,
  HeapOptions,
  WarmupOptions,
  WarmupRequest,
} from './options.js';
export { DefrostOptionsError } from './options.js';
export type { CheckpointHook, DefrostDecorator, RestoreHook } from './plugin.js';

/** `await app.register(defrost, options)`: warm up, checkpoint, and come back warm. */
const defrost = fp(defrostPlugin, { name: '@defrost/fastify', fastify: '5.x' });
export default defrost;
export { defrost };
