// A post page, and its comment form: POST writes to SQLite, evicts the cached page and redirects back.
import type { FastifyInstance } from 'fastify';
import type { BlogContext } from '../context.js';
import type { Post } from '../db/queries.js';
import { HTML, renderPage, sendCached } from './respond.js';

export const COMMENT_LIMITS = { name: 80, body: 4000 } as const;

interface CommentForm {
  name?: unknown;
  body?: unknown;
}

export function postCacheKey(slug: string): string {
  return `post:${slug}`;
}

export function registerPostRoutes(app: FastifyInstance, ctx: BlogContext): void {
  const renderPost = (post: Post, extra: { error?: string; form?: { name: string; body: string } } = {}) =>
    renderPage(app, 'post', {
      title: post.title,
      description: post.summary,
      post,
      html: ctx.markdown.render(post.bodyMarkdown),
      neighbours: ctx.queries.neighbours(post),
      comments: ctx.queries.commentsFor(post.id),
      ...extra,
    });

  app.get<{ Params: { slug: string } }>('/posts/:slug', (request, reply) =>
    sendCached(ctx, reply, postCacheKey(request.params.slug), async () => {
      const post = ctx.queries.postBySlug(request.params.slug);
      return post ? renderPost(post) : null;
    }),
  );

  app.post<{ Params: { slug: string }; Body: CommentForm }>(
    '/posts/:slug/comments',
    { bodyLimit: 32 * 1024 },
    async (request, reply) => {
      const post = ctx.queries.postBySlug(request.params.slug);
      if (!post) {
        reply.callNotFound();
        return reply;
      }
      const body = request.body ?? {};
      const name = typeof body.name === 'string' ? body.name.trim() : '';
      const text = typeof body.body === 'string' ? body.body.replace(/\r\n/g, '\n').trim() : '';
      let error: string | undefined;
      if (!name || !text) error = 'Please fill in both your name and a comment.';
      else if (name.length > COMMENT_LIMITS.name)
        error = `Names are at most ${COMMENT_LIMITS.name} characters.`;
      else if (text.length > COMMENT_LIMITS.body)
        error = `Comments are at most ${COMMENT_LIMITS.body} characters.`;
      if (error) {
        const page = await renderPost(post, { error, form: { name, body: text } });
        return reply.code(400).type(HTML).send(page.body);
      }
      const id = ctx.queries.addComment(post.id, name, text, new Date());
      ctx.cache.delete(postCacheKey(post.slug));
      request.log.info({ post: post.slug, comment: id }, 'comment added');
      return reply.redirect(`/posts/${post.slug}#comment-${id}`, 303);
    },
  );
}
