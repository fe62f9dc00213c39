// Placeholder until the plugin lands: registering it changes nothing, as in a normal (non-checkpoint) run.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

export interface DefrostRestoreContext {
  readonly restoreId: string;
}
export interface DefrostDecorator {
  onCheckpoint(fn: () => Promise<void> | void): void;
  onRestore(fn: (ctx: DefrostRestoreContext) => Promise<void> | void): void;
}
declare module 'fastify' {
  interface FastifyInstance {
    defrost: DefrostDecorator;
  }
}
export interface DefrostPluginOptions {
  readonly warmup?: unknown;
}
const plugin: FastifyPluginAsync<DefrostPluginOptions> = async (app: FastifyInstance) => {
  app.decorate('defrost', { onCheckpoint() {}, onRestore() {} } satisfies DefrostDecorator);
};
export default fp(plugin, { name: '@defrost/fastify', fastify: '5.x' });
