import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warmupPlan } from '../../src/warmup/plan.js';
import { runWarmup, WarmupError } from '../../src/warmup/runner.js';

const app = Fastify();
let hits = 0;
let origin: string;
app.get('/', async () => {
  hits++;
  return 'ok';
});
app.post('/echo', async (request) => request.body);
app.get('/broken', async (_, reply) => reply.code(500).send('no'));
app.get('/slow', async () => new Promise((resolve) => setTimeout(() => resolve('late'), 3000)));

beforeAll(async () => {
  await app.listen({ port: 0, host: '127.0.0.1' });
  origin = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
afterAll(() => app.close());

describe('warm-up over real HTTP', () => {
  it('sends every request of every round and summarises', async () => {
    hits = 0;
    const summary = await runWarmup(
      origin,
      warmupPlan(
        {
          requests: [{ url: '/' }, { method: 'POST', url: '/echo', body: { a: 1 } }],
          rounds: 10,
          concurrency: 2,
        },
        [],
      ),
    );
    expect(summary).toMatchObject({ requests: 20, rounds: 10 });
    expect(hits).toBe(10);
    expect(summary.firstRoundP50Ms).toBeGreaterThan(0);
    // The pool is closed: the server has no connection left.
    await expect.poll(() => new Promise((r) => app.server.getConnections((_, n) => r(n)))).toBe(0);
  });

  it('stops at the first unexpected status, naming the request', async () => {
    const error = await runWarmup(
      origin,
      warmupPlan({ requests: [{ url: '/' }, { url: '/broken' }], rounds: 3 }, []),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WarmupError);
    expect((error as Error).message).toMatch(
      /warm-up request GET \/broken answered 500 \(expected 2xx\/3xx\)/,
    );
  });

  it('gives up on a request that times out', async () => {
    const error = await runWarmup(
      origin,
      warmupPlan({ requests: [{ url: '/slow' }], rounds: 1, timeoutMs: 500 }, []),
    ).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/warm-up request GET \/slow failed: .*[Tt]imeout/);
  });
});
