// Full-text search page over the in-memory index.
import type { FastifyInstance } from 'fastify';
import type { BlogContext } from '../context.js';
import { MAX_QUERY_LENGTH } from '../search/index.js';
import { renderPage, sendCached } from './respond.js';

const RESULTS_PER_PAGE = 30;

export function registerSearchRoutes(app: FastifyInstance, ctx: BlogContext): void {
  app.get<{ Querystring: { q?: string | string[] } }>('/search', (request, reply) => {
    const raw = request.query.q;
    const query = (Array.isArray(raw) ? (raw[0] ?? '') : (raw ?? '')).trim().replace(/\s+/g, ' ');
    const q = query.slice(0, MAX_QUERY_LENGTH);
    return sendCached(ctx, reply, `search:${q.toLowerCase()}`, () => {
      const { total, hits } = ctx.search.search(q, RESULTS_PER_PAGE);
      return renderPage(app, 'search', { title: q ? `Search: ${q}` : 'Search', query: q, total, hits });
    });
  });
}
