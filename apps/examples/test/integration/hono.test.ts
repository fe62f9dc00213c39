/**
 * Hono on @hono/node-server, no defrost code (hono/server.js): the default warm-up plus the API
 * from a --warmup file with rounds of its own; copies answer as a cold start does (ETags
 * included: the bodies are the same), with the warm-up's view counts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { useFrozenApp } from '../helpers/frozen-app.js';
import { get, getJson } from '../helpers/http.js';

interface Views {
  bootId: string;
  views: Record<string, number>;
}

const ROUNDS = 200;

const app = useFrozenApp({
  entry: 'hono/server.js',
  flags: () => {
    const file = join(app.work, 'warmup.json');
    const requests = [{ url: '/' }, { url: '/api/posts' }, { url: '/api/posts/1' }];
    writeFileSync(file, JSON.stringify({ requests, rounds: ROUNDS, concurrency: 2 }));
    return ['--warmup', file];
  },
  sameAsCold: [
    { path: '/' },
    { path: '/api/posts' },
    { path: '/api/posts/2' },
    { path: '/api/posts/9' },
    { path: '/nope' },
  ],
});

describe('Hono (node-server), no code change', () => {
  it('checkpoints after the warm-up of a --warmup file', () => {
    expect(app.run.code, app.run.output).toBe(0);
    expect(app.run.stdout).toMatch(new RegExp(`warm-up\\s+${3 * ROUNDS} requests in ${ROUNDS} rounds`));
  });

  it('a restored copy serves what a cold start serves, with the same ETags and the warm-up counted', async () => {
    await app.withCopy(async (port) => {
      const seen = await getJson<Views>(port, '/api/views');
      expect(seen.bootId).toBe(app.bootId);
      expect(seen.views['1']).toBeGreaterThanOrEqual(ROUNDS);
      await app.expectSameAsCold();
      const first = await get(port, '/api/posts');
      const etag = (await request(`http://127.0.0.1:${port}/api/posts`, { reset: true })).headers.etag;
      expect(typeof etag).toBe('string');
      const again = await request(`http://127.0.0.1:${port}/api/posts`, {
        reset: true,
        headers: { 'if-none-match': String(etag) },
      });
      await again.body.dump();
      expect(first.status).toBe(200);
      expect(again.statusCode).toBe(304);
    });
  });

  it('a second copy starts from the image again', async () => {
    await app.withCopy(async (port) => {
      const seen = await getJson<Views>(port, '/api/views');
      expect(seen.bootId).toBe(app.bootId);
      expect(seen.views['2']).toBeUndefined();
      await app.expectSameAsCold();
    });
  });
});
