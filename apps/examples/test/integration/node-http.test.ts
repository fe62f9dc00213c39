/**
 * A plain node:http server that calls an API at start-up (node-http/server.js), with no defrost
 * code: it fetched its settings with fetch() and its rates with http.get, both kept alive, before
 * it listened. The agent closes both pools around the freeze (the upstream below would otherwise
 * hold connections to the frozen process); copies serve what they fetched and can fetch again.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFrozenApp } from '../helpers/frozen-app.js';
import { get, getJson } from '../helpers/http.js';

interface Rates {
  base: string;
  rates: Record<string, number>;
  version: number;
}

/** The API the app calls: its settings, and rates that change with every call (version). */
let upstream: Server;
let upstreamUrl: string;
let rateCalls = 0;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/settings') return res.end(JSON.stringify({ name: 'rates', base: 'EUR' }));
    if (req.url === '/rates') {
      rateCalls++;
      return res.end(JSON.stringify({ base: 'EUR', rates: { USD: 1.08, GBP: 0.85 }, version: rateCalls }));
    }
    res.statusCode = 404;
    res.end('{}');
  });
  upstream.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

const app = useFrozenApp({
  entry: 'node-http/server.js',
  env: () => ({ UPSTREAM_URL: upstreamUrl }),
  flags: ['--warmup-url', '/', '--warmup-url', '/convert?to=USD&amount=10'],
  sameAsCold: [
    { path: '/' },
    { path: '/convert?to=GBP&amount=100' },
    { path: '/convert?to=XYZ' },
    { path: '/nope' },
  ],
});

describe('plain node:http that fetched an API at start-up, no code change', () => {
  it('checkpoints: fetch and http.globalAgent keep-alive connections are closed for the freeze', () => {
    expect(app.run.code, app.run.output).toBe(0);
    expect(app.run.stdout).toMatch(/warm-up\s+600 requests in 300 rounds/);
  });

  it('a restored copy serves what it fetched before the freeze, and fetches again', async () => {
    const callsBefore = rateCalls;
    await app.withCopy(async (port) => {
      const rates = await getJson<Rates>(port, '/rates');
      // Fetched at start-up by the frozen process (the cold start fetched its own afterwards).
      expect(rates.version).toBe(1);
      expect(rateCalls).toBe(callsBefore);
      const stats = await getJson<{ bootId: string; conversions: number }>(port, '/stats');
      expect(stats.bootId).toBe(app.bootId);
      expect(stats.conversions).toBeGreaterThanOrEqual(300);
      await app.expectSameAsCold();
      const fresh = await get(port, '/refresh', { method: 'POST' });
      expect(fresh.status, fresh.body).toBe(200);
      expect((JSON.parse(fresh.body) as Rates).version).toBe(callsBefore + 1);
    });
  });

  it('a second copy starts from the image again, and fetches through a fresh pool', async () => {
    await app.withCopy(async (port) => {
      expect((await getJson<Rates>(port, '/rates')).version).toBe(1);
      const fresh = await get(port, '/refresh', { method: 'POST' });
      expect(fresh.status, fresh.body).toBe(200);
      expect((JSON.parse(fresh.body) as Rates).version).toBe(rateCalls);
    });
  });
});
