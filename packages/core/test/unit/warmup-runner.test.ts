import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_HEADERS } from '../../src/warmup/clients.js';
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
const userAgentsSeen: string[] = [];
app.get('/who', async (request) => {
  userAgentsSeen.push(String(request.headers['user-agent'] ?? 'none'));
  return 'ok';
});
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

  it("imitates several clients in turn; a request's own headers win", async () => {
    userAgentsSeen.length = 0;
    const clients: Record<string, string>[] = [
      {},
      { 'user-agent': 'browser/1' },
      { 'user-agent': 'curl/1', accept: '*/*' },
    ];
    await runWarmup(
      origin,
      warmupPlan({ requests: [{ url: '/who' }], rounds: 6, concurrency: 1, clientHeaders: clients }, []),
    );
    expect(userAgentsSeen).toEqual(['none', 'browser/1', 'curl/1', 'none', 'browser/1', 'curl/1']);

    userAgentsSeen.length = 0;
    await runWarmup(
      origin,
      warmupPlan(
        {
          requests: [{ url: '/who', headers: { 'user-agent': 'mine' } }],
          rounds: 3,
          clientHeaders: clients,
        },
        [],
      ),
    );
    expect(userAgentsSeen).toEqual(['mine', 'mine', 'mine']);
  });

  it('imitates a browser, curl, an API client and a crawler unless told otherwise', async () => {
    userAgentsSeen.length = 0;
    const plan = warmupPlan({ requests: [{ url: '/who' }], rounds: DEFAULT_CLIENT_HEADERS.length }, []);
    await runWarmup(origin, plan);
    expect(new Set(userAgentsSeen).size).toBe(DEFAULT_CLIENT_HEADERS.length);
    expect(userAgentsSeen.some((ua) => ua.startsWith('curl/'))).toBe(true);
    expect(userAgentsSeen.some((ua) => ua.includes('Chrome/'))).toBe(true);
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
