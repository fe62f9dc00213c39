/**
 * Express 5, with no defrost code (express5/index.js, in the spirit of Express's
 * examples/web-service): `defrost checkpoint` warms it up from a --warmup file (the API needs an
 * api key, so GET / would not do), and every restored copy serves what a cold start serves, with
 * the warm-up's usage counts in place.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useFrozenApp } from '../helpers/frozen-app.js';
import { getJson } from '../helpers/http.js';

interface Usage {
  bootId: string;
  usage: Record<string, number>;
}

const app = useFrozenApp({
  entry: 'express5/index.js',
  flags: () => {
    const file = join(app.work, 'warmup.json');
    const urls = ['/api/users', '/api/repos', '/api/user/tobi/repos'];
    writeFileSync(file, JSON.stringify({ requests: urls.map((url) => ({ url: `${url}?api-key=foo` })) }));
    return ['--warmup', file];
  },
  sameAsCold: [
    { path: '/api/users?api-key=foo' },
    { path: '/api/repos?api-key=bar' },
    { path: '/api/user/loki/repos?api-key=baz' },
    { path: '/api/user/nobody/repos?api-key=foo' },
    { path: '/api/users' },
    { path: '/api/users?api-key=wrong' },
    { path: '/nope' },
  ],
});

describe('Express 5 (web-service), no code change', () => {
  it('checkpoints after a warm-up from a --warmup file', () => {
    expect(app.run.code, app.run.output).toBe(0);
    expect(app.run.stdout).toMatch(/warm-up\s+\d+ requests in 300 rounds/);
    expect(app.bootId).toBeDefined();
  });

  it('a restored copy serves what a cold start serves, with the warm-up counted', async () => {
    await app.withCopy(async (port) => {
      await app.expectSameAsCold();
      const seen = await getJson<Usage>(port, '/api/usage?api-key=bar');
      expect(seen.bootId).toBe(app.bootId);
      // The warm-up (and its re-warm) used key foo; this copy's own requests used foo once more.
      expect(seen.usage.foo).toBeGreaterThan(app.run.warmupRequests);
      expect(seen.usage.bar).toBe(2);
    });
  });

  it('a second copy starts from the image again, not from the first copy', async () => {
    await app.withCopy(async (port) => {
      const seen = await getJson<Usage>(port, '/api/usage?api-key=bar');
      expect(seen.bootId).toBe(app.bootId);
      expect(seen.usage.bar).toBe(1);
      await app.expectSameAsCold();
    });
  });
});
