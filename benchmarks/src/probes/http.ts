/**
 * What an HTTP client sees of a starting server: the first 200, a first visit, the latency of the
 * first requests. Everything on loopback with undici; every time is performance.now() of this process.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Pool } from 'undici';

export class ProbeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProbeError';
  }
}

export interface FirstResponse {
  /** performance.now() when the body of the first 200 had been read. */
  readonly atMs: number;
  readonly body: string;
  readonly attempts: number;
}

export interface FirstResponseOptions {
  /** Give up after this long (from the call). */
  readonly timeoutMs: number;
  /** Pause between a failed attempt and the next (default 2 ms). */
  readonly intervalMs?: number;
  /** Returns why the server cannot answer any more (it exited), or undefined while it may. */
  readonly failed?: () => string | undefined;
}

/**
 * Polls `origin + path` until it answers 200, one attempt at a time, each on a fresh connection.
 * A refused connection is retried 2 ms later. The connect timeout is short (250 ms: a SYN that gets
 * no answer on loopback means nothing listens); the response timeout is not (5 s): a restored
 * server's listening socket accepts connections into its backlog before the process runs again, and
 * that first connection is exactly the user who waits for the restore, so it must not be dropped.
 * Only one attempt is in flight so that a backlog of probes does not delay the server's first answer.
 */
export async function waitForFirstResponse(
  origin: string,
  path: string,
  options: FirstResponseOptions,
): Promise<FirstResponse> {
  const deadline = performance.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 2;
  let attempts = 0;
  let lastError = 'no attempt made';
  for (;;) {
    const why = options.failed?.();
    if (why)
      throw new ProbeError(
        `the server ended before answering ${path} with 200: ${why} (last attempt: ${lastError})`,
      );
    if (performance.now() > deadline) {
      throw new ProbeError(
        `no HTTP 200 on ${origin}${path} within ${options.timeoutMs} ms (${attempts} attempts; last: ${lastError})`,
      );
    }
    attempts++;
    const client = new Client(origin, {
      connectTimeout: 250,
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
      pipelining: 1,
    });
    try {
      const res = await client.request({ path, method: 'GET' });
      const body = await res.body.text();
      if (res.statusCode === 200) {
        const atMs = performance.now();
        void client.close().catch(() => undefined);
        return { atMs, body, attempts };
      }
      lastError = `HTTP ${res.statusCode}`;
    } catch (error) {
      lastError = (error as { code?: string }).code ?? (error as Error).message;
    }
    void client.destroy().catch(() => undefined);
    await sleep(interval);
  }
}

/**
 * The sub-resources a first visit fetches after the page: stylesheets, scripts and the first
 * RSS/Atom feed linked from the page's HTML, same-origin paths only, in document order.
 */
export function firstVisitResources(html: string): string[] {
  const out: string[] = [];
  const attr = (tag: string, name: string): string | undefined =>
    new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i')
      .exec(tag)
      ?.slice(1)
      .find((v) => v !== undefined);
  let feed: string | undefined;
  for (const [tag] of html.matchAll(/<(?:link|script)\b[^>]*>/gi)) {
    const isScript = /^<script/i.test(tag);
    const href = isScript ? attr(tag, 'src') : attr(tag, 'href');
    if (!href || !href.startsWith('/') || href.startsWith('//')) continue;
    const rel = (attr(tag, 'rel') ?? '').toLowerCase().split(/\s+/);
    const type = (attr(tag, 'type') ?? '').toLowerCase();
    if (isScript || rel.includes('stylesheet')) {
      if (!out.includes(href)) out.push(href);
    } else if (!feed && rel.includes('alternate') && /^application\/(rss|atom)\+xml$/.test(type)) {
      feed = href;
    }
  }
  if (feed) out.push(feed);
  return out;
}

/**
 * A first visit after the page arrived: its sub-resources fetched at once over a few connections
 * (as a browser does, 6 per origin). Resolves with performance.now() when every one was a 200.
 */
export async function fetchAll(origin: string, paths: readonly string[]): Promise<number> {
  if (paths.length === 0) return performance.now();
  const pool = new Pool(origin, {
    connections: 6,
    connectTimeout: 1_000,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  try {
    await Promise.all(
      paths.map(async (path) => {
        const res = await pool.request({ path, method: 'GET' });
        await res.body.arrayBuffer();
        if (res.statusCode !== 200)
          throw new ProbeError(`first visit: ${path} answered HTTP ${res.statusCode}`);
      }),
    );
    return performance.now();
  } finally {
    await pool.close().catch(() => undefined);
  }
}

/**
 * `count` sequential GETs over one keep-alive connection; the latency of each (request sent to the
 * last byte of the body read), in ms. Anything but a 200 fails the run.
 */
export async function sequentialLatencies(origin: string, path: string, count: number): Promise<number[]> {
  const client = new Client(origin, {
    connectTimeout: 1_000,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
    pipelining: 1,
    keepAliveTimeout: 30_000,
  });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const res = await client.request({ path, method: 'GET' });
      await res.body.arrayBuffer();
      latencies.push(performance.now() - started);
      if (res.statusCode !== 200)
        throw new ProbeError(`request ${i + 1} of ${count} to ${path} answered HTTP ${res.statusCode}`);
    }
  } finally {
    await client.close().catch(() => undefined);
  }
  return latencies;
}

/** True when something accepts connections on the origin right now. */
export async function isListening(origin: string): Promise<boolean> {
  const client = new Client(origin, { connectTimeout: 250, headersTimeout: 1_000, bodyTimeout: 1_000 });
  try {
    const res = await client.request({ path: '/', method: 'HEAD' });
    await res.body.dump();
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    return !(code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT');
  } finally {
    await client.destroy().catch(() => undefined);
  }
}
