import fp from 'fastify-plugin';
import { defrostPlugin } from './plugin.js';

export type { CheckpointRequest, DefrostPluginOptions, WarmupOptions, WarmupRequest } from './options.js';
export { DefrostOptionsError } from './options.js';
export type { CheckpointHook, DefrostDecorator, RestoreHook } from './plugin.js';
export { type ClientHeaders, DEFAULT_CLIENT_HEADERS } from './warmup/clients.js';
export type { WarmupSummary } from './warmup/runner.js';
export { WarmupError } from './warmup/runner.js';

/** `await app.register(defrost, options)`: warm up, freeze, and come back warm. */
const defrost = fp(defrostPlugin, { name: '@defrost/fastify', fastify: '5.x' });
export default defrost;
export { defrost };
