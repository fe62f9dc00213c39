import { performance } from 'node:perf_hooks';
import type { ClientHeaders } from './clients.js';
import { endWarmupMarker, startWarmupMarker, WARMUP_HEADER } from './marker.js';
import type { WarmupRequest } from './options.js';
import { isExpectedStatus, type WarmupPlan } from './plan.js';

export interface WarmupSummary {
  readonly requests: number;
  readonly rounds: number;
  readonly durationMs: number;
  /** Median latency of the first round and of the last round. */
  readonly firstRoundP50Ms: number;
  readonly lastRoundP50Ms: number;
}

export class WarmupError extends Error {
  readonly request: WarmupRequest;
  constructor(request: WarmupRequest, problem: string) {
    super(`warm-up request ${request.method ?? 'GET'} ${request.url} ${problem}; checkpoint aborted`);
    this.name = 'WarmupError';
    this.request = request;
  }
}

/** What to do when the app refused a warm-up request, by the refusal's status. */
function refusalAdvice(status: number): string {
  if (status === 429)
    return ': a rate limit counted the warm-up. Leave warm-up requests out of it, e.g. `allowList: (req) => isWarmupRequest(req)` for @fastify/rate-limit (isWarmupRequest from @defrost/core)';
  if (status === 401 || status === 403)
    return ': the route needs credentials. Give them in the warm-up request (`headers`), warm up other routes, or let warm-up requests through with isWarmupRequest(req) from @defrost/core';
  return '';
}

const median = (values: number[]): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

function bodyOf(
  request: WarmupRequest,
  client: ClientHeaders | undefined,
  marker: string,
): { body?: string | Buffer; headers: Record<string, string> } {
  const headers = { ...client, ...request.headers, [WARMUP_HEADER]: marker };
  if (request.body === undefined) return { headers };
  if (typeof request.body === 'string' || Buffer.isBuffer(request.body))
    return { body: request.body, headers };
  return { body: JSON.stringify(request.body), headers: { 'content-type': 'application/json', ...headers } };
}

/**
 * Sends the warm-up over real HTTP to the server's own address, so the whole stack (parser,
 * routing, hooks, serializers, templates) runs hot, not just the handlers. The pool is always
 * closed at the end: its keep-alive sockets could not be frozen.
 */
export async function runWarmup(
  origin: string,
  plan: WarmupPlan,
  onProgress: (done: number, round: number) => void = () => {},
): Promise<WarmupSummary> {
  // undici on first use: importing the plumbing (the CLI's hot path, restore) must not load it.
  const { Pool } = await import('undici');
  const pool = new Pool(origin, {
    connections: plan.concurrency,
    pipelining: 1,
    // The server is our own, on loopback: a self-signed certificate is fine here.
    connect: { rejectUnauthorized: false },
  });
  const marker = startWarmupMarker();
  const started = performance.now();
  let requests = 0;
  let sent = 0;
  let round = 0;
  const latencies: number[][] = [];
  try {
    const deadline = plan.durationMs !== undefined ? started + plan.durationMs : Number.POSITIVE_INFINITY;
    for (; round < plan.rounds && performance.now() < deadline; round++) {
      const batch = plan.requestsFor(round);
      if (batch.length === 0)
        throw new Error(
          'the warm-up request list is empty: give warmup.requests or register GET routes without parameters',
        );
      const roundLatencies: number[] = [];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < batch.length) {
          const request = batch[next++]!;
          const { body, headers } = bodyOf(
            request,
            plan.clientHeaders[sent++ % plan.clientHeaders.length],
            marker,
          );
          const t0 = performance.now();
          let status: number;
          try {
            const response = await pool.request({
              method: (request.method ?? 'GET') as 'GET',
              path: request.url,
              headers,
              ...(body !== undefined ? { body } : {}),
              headersTimeout: plan.timeoutMs,
              bodyTimeout: plan.timeoutMs,
            });
            status = response.statusCode;
            await response.body.dump();
          } catch (error) {
            throw new WarmupError(request, `failed: ${(error as Error).message}`);
          }
          roundLatencies.push(performance.now() - t0);
          requests++;
          const expected = request.expectStatus ?? plan.expectStatus;
          if (!isExpectedStatus(status, expected)) {
            throw new WarmupError(
              request,
              `answered ${status} (expected ${expected ? expected.join('/') : '2xx/3xx'})${refusalAdvice(status)}`,
            );
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(plan.concurrency, batch.length) }, worker));
      latencies.push(roundLatencies);
      onProgress(requests, round + 1);
    }
  } finally {
    endWarmupMarker();
    await pool.close();
  }
  return {
    requests,
    rounds: round,
    durationMs: Math.round(performance.now() - started),
    firstRoundP50Ms: Number(median(latencies[0] ?? []).toFixed(3)),
    lastRoundP50Ms: Number(median(latencies.at(-1) ?? []).toFixed(3)),
  };
}
