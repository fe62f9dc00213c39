// Response helpers shared by the page routes: render through the template engine, serve from the cache.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { CachedResponse } from '../cache.js';
import type { BlogContext } from '../context.js';

export const HTML = 'text/html; charset=utf-8';

export async function renderPage(
  app: FastifyInstance,
  template: string,
  data: object,
): Promise<CachedResponse> {
  return { body: await app.view(template, data), contentType: HTML, statusCode: 200 };
}

/**
 * Serves `key` from the response cache, or produces it, caches it and serves it. `produce` returns null for
 * "no such page", which becomes the 404 page (never cached: the set of wrong URLs has no bound).
 */
export async function sendCached(
  ctx: BlogContext,
  reply: FastifyReply,
  key: string,
  produce: () => Promise<CachedResponse | null>,
): Promise<string | FastifyReply> {
  let res = ctx.cache.get(key);
  reply.header('x-cache', res ? 'hit' : 'miss');
  if (!res) {
    const produced = await produce();
    if (!produced) {
      reply.callNotFound();
      return reply;
    }
    res = produced;
    if (res.statusCode === 200) ctx.cache.set(key, res);
  }
  reply.code(res.statusCode).type(res.contentType);
  return res.body;
}

export interface Pagination {
  readonly page: number;
  readonly pages: number;
  readonly prev: string | null;
  readonly next: string | null;
}

/** Page links under `base` ("" for home, "/tags/x" for a tag): page 1 is `base || '/'`, page n is `base/page/n`. */
export function paginate(base: string, page: number, total: number, pageSize: number): Pagination | null {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  if (page < 1 || page > pages) return null;
  const href = (n: number): string => (n === 1 ? base || '/' : `${base}/page/${n}`);
  return {
    page,
    pages,
    prev: page > 1 ? href(page - 1) : null,
    next: page < pages ? href(page + 1) : null,
  };
}

/** A positive page number from a route parameter, or null. */
export function parsePage(raw: string | undefined): number | null {
  if (raw === undefined) return 1;
  if (!/^[1-9][0-9]{0,5}$/.test(raw)) return null;
  return Number(raw);
}
