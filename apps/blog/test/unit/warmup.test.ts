// The warm-up list covers what a visitor hits, and every request in it succeeds.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warmupRequests } from '../../src/warmup.js';
import { buildTestApp, makeTempDir, removeDir } from '../helpers/app.js';

describe('warm-up requests', () => {
  let app: FastifyInstance;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = makeTempDir();
    app = await buildTestApp({ dataDir });
  });
  afterAll(async () => {
    await app.close();
    removeDir(dataDir);
  });

  it('covers home, ~50 posts, tags, archive, feeds, searches and the stylesheet, GET only', () => {
    const list = app.blog.warmup;
    expect(list).toEqual(warmupRequests(app.blog.ctx.queries, app.blog.ctx.meta));
    expect(list.every((r) => r.method === 'GET')).toBe(true);
    const urls = list.map((r) => r.url);
    expect(new Set(urls).size).toBe(urls.length);
    expect(urls).toContain('/');
    expect(urls.filter((u) => u.startsWith('/posts/'))).toHaveLength(50);
    expect(urls).toContain('/tags');
    expect(urls.filter((u) => u.startsWith('/tags/')).length).toBeGreaterThanOrEqual(8);
    expect(urls).toContain('/archive');
    expect(urls).toEqual(expect.arrayContaining(['/rss.xml', '/atom.xml', '/static/style.css']));
    expect(urls.filter((u) => u.startsWith('/search?q=')).length).toBeGreaterThanOrEqual(5);
    // The spread reaches the oldest part of the corpus, not only the newest posts.
    const slugs = app.blog.ctx.queries.postSlugs();
    const positions = urls.filter((u) => u.startsWith('/posts/')).map((u) => slugs.indexOf(u.slice(7)));
    expect(Math.max(...positions)).toBeGreaterThan(slugs.length * 0.9);
  });

  it('every warm-up request succeeds and fills the cache', async () => {
    for (const { method, url } of app.blog.warmup) {
      const res = await app.inject({ method, url });
      expect(res.statusCode, url).toBe(200);
    }
    const stats = app.blog.ctx.cache.stats();
    expect(stats.entries).toBeGreaterThanOrEqual(app.blog.warmup.length - 1); // all but the stylesheet
    for (const { url } of app.blog.warmup.filter((r) => r.url !== '/static/style.css')) {
      expect((await app.inject(url)).headers['x-cache'], url).toBe('hit');
    }
  });
});
