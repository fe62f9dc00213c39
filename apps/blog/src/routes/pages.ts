// Listing pages: home (paginated), tags, one tag (paginated), archive, one month of the archive.
import type { FastifyInstance } from 'fastify';
import type { BlogContext } from '../context.js';
import { SITE } from '../site.js';
import { paginate, parsePage, renderPage, sendCached } from './respond.js';

export function registerPageRoutes(app: FastifyInstance, ctx: BlogContext): void {
  const home = async (pageParam: string | undefined) => {
    const page = parsePage(pageParam);
    const pagination = page && paginate('', page, ctx.meta.totalPosts, SITE.pageSize);
    if (!page || !pagination) return null;
    const posts = ctx.queries.latestPosts(SITE.pageSize, (page - 1) * SITE.pageSize);
    return renderPage(app, 'home', { title: page === 1 ? '' : `Page ${page}`, posts, pagination });
  };

  app.get('/', (_request, reply) => sendCached(ctx, reply, 'home:1', () => home(undefined)));

  app.get<{ Params: { n: string } }>('/page/:n', async (request, reply) => {
    if (request.params.n === '1') return reply.redirect('/', 301);
    return sendCached(ctx, reply, `home:${request.params.n}`, () => home(request.params.n));
  });

  app.get('/tags', (_request, reply) =>
    sendCached(ctx, reply, 'tags', () =>
      renderPage(app, 'tags', { title: 'Tags', tags: ctx.meta.tags.filter((t) => t.count > 0) }),
    ),
  );

  const tagPage = async (slug: string, pageParam: string | undefined) => {
    const tag = ctx.meta.tags.find((t) => t.slug === slug);
    const page = parsePage(pageParam);
    if (!tag || !page) return null;
    const pagination = paginate(`/tags/${tag.slug}`, page, tag.count, SITE.pageSize);
    if (!pagination) return null;
    const posts = ctx.queries.postsByTag(tag.id, SITE.pageSize, (page - 1) * SITE.pageSize);
    return renderPage(app, 'tag', {
      title: page === 1 ? `Tagged ${tag.name}` : `Tagged ${tag.name}, page ${page}`,
      tag,
      total: tag.count,
      posts,
      pagination,
    });
  };

  app.get<{ Params: { tag: string } }>('/tags/:tag', (request, reply) =>
    sendCached(ctx, reply, `tag:${request.params.tag}:1`, () => tagPage(request.params.tag, undefined)),
  );

  app.get<{ Params: { tag: string; n: string } }>('/tags/:tag/page/:n', async (request, reply) => {
    const { tag, n } = request.params;
    if (n === '1') return reply.redirect(`/tags/${encodeURIComponent(tag)}`, 301);
    return sendCached(ctx, reply, `tag:${tag}:${n}`, () => tagPage(tag, n));
  });

  app.get('/archive', (_request, reply) =>
    sendCached(ctx, reply, 'archive', async () => {
      const years: { year: number; count: number; months: (typeof ctx.meta.archive)[number][] }[] = [];
      for (const m of ctx.meta.archive) {
        let year = years.at(-1);
        if (!year || year.year !== m.year) {
          year = { year: m.year, count: 0, months: [] };
          years.push(year);
        }
        year.count += m.count;
        year.months.push(m);
      }
      return renderPage(app, 'archive', {
        title: 'Archive',
        years,
        total: ctx.meta.totalPosts,
        firstYear: years.at(-1)?.year ?? '',
      });
    }),
  );

  app.get<{ Params: { year: string; month: string } }>('/archive/:year/:month', (request, reply) => {
    const { year, month } = request.params;
    return sendCached(ctx, reply, `archive:${year}-${month}`, async () => {
      if (!/^\d{4}$/.test(year) || !/^\d{2}$/.test(month)) return null;
      const y = Number(year);
      const m = Number(month);
      if (!ctx.meta.archive.some((a) => a.year === y && a.month === m)) return null;
      const posts = ctx.queries.postsInMonth(y, m);
      return renderPage(app, 'archive-month', {
        title: `Archive ${year}-${month}`,
        year: y,
        month: m,
        posts,
      });
    });
  });
}
