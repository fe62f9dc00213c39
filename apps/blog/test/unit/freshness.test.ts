// After a restore, cached pages that the database has outgrown (comments written since the image) are evicted;
// the rest of the cache stays warm.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evictPagesStaleSince, markComments } from '../../src/freshness.js';
import { buildTestApp, makeTempDir, removeDir } from '../helpers/app.js';

describe('cached pages after a restore', () => {
  let app: FastifyInstance;
  let dataDir: string;
  let posts: { id: number; slug: string }[];

  beforeAll(async () => {
    dataDir = makeTempDir();
    app = await buildTestApp({ dataDir, postCount: 30 });
    posts = app.blog.ctx.queries.latestPosts(3);
  });
  afterAll(async () => {
    await app.close();
    removeDir(dataDir);
  });

  const cacheState = async (slug: string): Promise<string | undefined> => {
    const res = await app.inject(`/posts/${slug}`);
    return res.headers['x-cache'] as string | undefined;
  };
  const warm = async (): Promise<void> => {
    for (const p of posts) await app.inject(`/posts/${p.slug}`);
    await app.inject('/');
  };

  it('evicts only the pages of posts commented on since the mark', async () => {
    const { ctx } = app.blog;
    await warm();
    const mark = markComments(ctx);
    // Written by another copy of the same image: this process's cache never heard of it.
    ctx.queries.addComment(posts[0]!.id, 'Other copy', 'Written while this copy was frozen', new Date());
    ctx.queries.addComment(posts[0]!.id, 'Other copy', 'And another one', new Date());
    expect((await app.inject(`/posts/${posts[0]!.slug}`)).body).toContain('No comments yet'); // stale
    expect(evictPagesStaleSince(ctx, mark)).toEqual({ posts: [posts[0]!.slug], allPosts: false });
    const page = await app.inject(`/posts/${posts[0]!.slug}`);
    expect(page.headers['x-cache']).toBe('miss');
    expect(page.body).toContain('Written while this copy was frozen');
    expect(page.body).toContain('2 comments');
    expect(await cacheState(posts[1]!.slug)).toBe('hit');
    expect((await app.inject('/')).headers['x-cache']).toBe('hit');
  });

  it('evicts nothing when nothing was written', async () => {
    const { ctx } = app.blog;
    await warm();
    expect(evictPagesStaleSince(ctx, markComments(ctx))).toEqual({ posts: [], allPosts: false });
    for (const p of posts) expect(await cacheState(p.slug)).toBe('hit');
  });

  it('evicts every post page when comments from before the mark were deleted', async () => {
    const { ctx } = app.blog;
    await warm();
    const mark = markComments(ctx);
    ctx.db.connection.prepare('DELETE FROM comments WHERE id = (SELECT MIN(id) FROM comments)').run();
    expect(evictPagesStaleSince(ctx, mark)).toEqual({ posts: [], allPosts: true });
    for (const p of posts) expect(await cacheState(p.slug)).toBe('miss');
    expect((await app.inject('/')).headers['x-cache']).toBe('hit');
  });
});
