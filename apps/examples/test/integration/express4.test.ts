/**
 * Express 4, with no defrost code (express4/index.js, in the spirit of Express's
 * examples/content-negotiation and examples/params): the default warm-up (GET /), and copies that
 * negotiate content as a cold start does, with the warm-up's visits counted.
 */
import { describe, expect, it } from 'vitest';
import { useFrozenApp } from '../helpers/frozen-app.js';
import { getJson } from '../helpers/http.js';

interface Visits {
  bootId: string;
  visits: { home: number; users: Record<string, number> };
}

const json = { accept: 'application/json' };
const text = { accept: 'text/plain' };
const html = { accept: 'text/html' };

const app = useFrozenApp({
  entry: 'express4/index.js',
  sameAsCold: [
    { path: '/', headers: html },
    { path: '/', headers: text },
    { path: '/', headers: json },
    { path: '/users/1', headers: json },
    { path: '/users/2', headers: html },
    { path: '/users/0', headers: { accept: 'image/png' } },
    { path: '/users/7', headers: json },
    { path: '/users/x', headers: html },
  ],
});

describe('Express 4 (content negotiation), no code change', () => {
  it('checkpoints after the default warm-up, GET /', () => {
    expect(app.run.code, app.run.output).toBe(0);
    expect(app.run.stdout).toMatch(/warm-up\s+\d+ requests in 300 rounds/);
  });

  it('a restored copy serves what a cold start serves, with the warm-up counted', async () => {
    await app.withCopy(async (port) => {
      const before = await getJson<Visits>(port, '/visits');
      expect(before.bootId).toBe(app.bootId);
      expect(before.visits.home).toBeGreaterThan(app.run.warmupRequests);
      expect(before.visits.users).toEqual({});
      await app.expectSameAsCold();
      const after = await getJson<Visits>(port, '/visits');
      expect(after.visits.home).toBe(before.visits.home + 3);
      expect(after.visits.users).toEqual({ 1: 1, 2: 1, 0: 1 });
    });
  });

  it('a second copy starts from the image again', async () => {
    await app.withCopy(async (port) => {
      const seen = await getJson<Visits>(port, '/visits');
      expect(seen.bootId).toBe(app.bootId);
      expect(seen.visits.users).toEqual({});
      await app.expectSameAsCold();
    });
  });
});
