// Liveness for scripts and benchmarks: answers only when the database is reachable.
import type { FastifyInstance } from 'fastify';
import type { BlogContext } from '../context.js';

export function registerHealthRoutes(app: FastifyInstance, ctx: BlogContext): void {
  app.get('/healthz', async () => ({
    status: 'ok',
    posts: ctx.queries.countPosts(),
    indexed: ctx.search.documentCount,
    cache: ctx.cache.stats(),
    dbOpens: ctx.db.opens,
  }));
}
