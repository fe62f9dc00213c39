/**
 * NestJS 11 on the Fastify adapter, CommonJS and TypeScript as `nest new` makes them
 * (nest-fastify/), with @defrost/fastify registered through the adapter and its decorator used
 * from a provider: the prices client closes its own keep-alive pool before the checkpoint and
 * opens a new one after a restore. The app compiles under `module: commonjs` with no `as any`
 * and no dynamic import: that needs the packages' CommonJS builds and types (main/types for
 * TypeScript's node10 resolution), and the decorator's type merged into Fastify's.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLES } from '../helpers/defrost.js';
import { useFrozenApp } from '../helpers/frozen-app.js';
import { get, getJson } from '../helpers/http.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

interface Lifecycle {
  checkpoints: number;
  restores: number;
  views: Record<string, number>;
}

let prices: Upstream;

beforeAll(async () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  await promisify(execFile)(process.execPath, [
    tsc,
    '-p',
    join(EXAMPLES, 'nest-fastify/tsconfig.json'),
  ]).catch((error: { stdout?: string }) => {
    throw new Error(`nest-fastify does not compile (module commonjs):\n${error.stdout ?? String(error)}`);
  });
  prices = await startUpstream((req) => {
    const id = /^\/prices\/(\d+)$/.exec(req.url ?? '')?.[1];
    return id ? { id: Number(id), amount: 10 + Number(id), currency: 'EUR' } : undefined;
  });
}, 120_000);
afterAll(() => prices?.close());

const app = useFrozenApp({
  entry: 'nest-fastify/dist/main.js',
  env: () => ({ PRICES_URL: prices.url }),
  sameAsCold: [
    { path: '/' },
    { path: '/books' },
    { path: '/books/3' },
    { path: '/books/3/price' },
    { path: '/books/x' },
    { path: '/books/9' },
    { path: '/nope' },
  ],
});

describe('NestJS on Fastify (CommonJS) with @defrost/fastify through the adapter', () => {
  it("checkpoints with the plugin's warm-up, the provider's pool closed by its hook", () => {
    expect(app.run.code, app.run.output).toBe(0);
    expect(app.run.stdout).toMatch(/warm-up\s+800 requests in 200 rounds/);
    expect(prices.calls.get('/prices/2')).toBeGreaterThanOrEqual(200);
  });

  it('a restored copy serves what a cold start serves and calls the prices API through a new pool', async () => {
    await app.withCopy(async (port) => {
      const seen = await getJson<Lifecycle>(port, '/books/lifecycle');
      // The rehearsal closed and reopened the pool once, the checkpoint closed it, this copy reopened it.
      expect(seen).toMatchObject({ checkpoints: 2, restores: 2 });
      expect(seen.views['1']).toBeGreaterThanOrEqual(200);
      const before = prices.calls.get('/prices/3') ?? 0;
      await app.expectSameAsCold();
      expect(prices.calls.get('/prices/3')).toBe(before + 1);
    });
  });

  it('a second copy restores too, with its own new pool', async () => {
    await app.withCopy(async (port) => {
      expect(await getJson<Lifecycle>(port, '/books/lifecycle')).toMatchObject({ restores: 2 });
      expect(JSON.parse((await get(port, '/books/1/price')).body)).toEqual({
        id: 1,
        amount: 11,
        currency: 'EUR',
      });
    });
  });
});
