// RSS and Atom feeds of the latest posts, cached per origin.
import type { FastifyInstance } from 'fastify';
import type { BlogContext } from '../context.js';
import { buildFeed, FEED_CONTENT_TYPES, FEED_PATHS, type FeedFormat } from '../feeds/index.js';
import { SITE, siteOrigin } from '../site.js';
import { sendCached } from './respond.js';

export function registerFeedRoutes(app: FastifyInstance, ctx: BlogContext): void {
  for (const format of Object.keys(FEED_PATHS) as FeedFormat[]) {
    app.get(FEED_PATHS[format], (request, reply) => {
      const origin = siteOrigin(ctx.siteUrl, request);
      return sendCached(ctx, reply, `feed:${format}:${origin}`, async () => ({
        body: buildFeed(format, ctx.queries.recentPosts(SITE.feedSize), origin, ctx.markdown),
        contentType: FEED_CONTENT_TYPES[format],
        statusCode: 200,
      }));
    });
  }
}
