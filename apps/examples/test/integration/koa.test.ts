/**
 * Koa with @koa/router, no defrost code (koa/server.js): warmed up with --warmup-url, which fills
 * the app's cache of book summaries; every copy comes back with the cache full (filled by the
 * process that was frozen) and serves what a cold start serves.
 */
import { describe, expect, it } from 'vitest';
import { useFrozenApp } from '../helpers/frozen-app.js';
import { get, getJson } from '../helpers/http.js';

interface Cache {
  bootId: string;
  summaries: Record<string, string>;
}

const app = useFrozenApp({
  entry: 'koa/server.js',
  flags: ['--warmup-url', '/books', '--warmup-url', '/books/1/summary', '--warmup-url', '/books/2/summary'],
  sameAsCold: [
    { path: '/' },
    { path: '/books' },
    { path: '/books/3' },
    { path: '/books/1/summary' },
    { path: '/books/3/summary' },
    { path: '/books/9' },
    { path: '/nope' },
  ],
});

describe('Koa + @koa/router, no code change', () => {
  it('checkpoints after a warm-up of the --warmup-url paths', () => {
    expect(app.run.code, app.run.output).toBe(0);
    expect(app.run.stdout).toMatch(/warm-up\s+900 requests in 300 rounds/);
  });

  it("a restored copy has the warm-up's cache and serves what a cold start serves", async () => {
    await app.withCopy(async (port) => {
      const cache = await getJson<Cache>(port, '/cache');
      expect(cache.bootId).toBe(app.bootId);
      // Filled by the frozen process during its warm-up: the copy computed nothing.
      expect(cache.summaries).toEqual({ 1: app.bootId, 2: app.bootId });
      const timed = await get(port, '/books/2/summary');
      expect(timed.status).toBe(200);
      await app.expectSameAsCold();
      expect(Object.keys((await getJson<Cache>(port, '/cache')).summaries)).toEqual(['1', '2', '3']);
    });
  });

  it('a second copy starts from the image again', async () => {
    await app.withCopy(async (port) => {
      expect(Object.keys((await getJson<Cache>(port, '/cache')).summaries)).toEqual(['1', '2']);
      await app.expectSameAsCold();
    });
  });
});
