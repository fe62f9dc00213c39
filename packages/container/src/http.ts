/**
 * HTTP from the test process to servers inside the test's network namespaces. Every connection
 * binds to the test's own address on the private switch (network.ts), so a request can only ever
 * go over that switch: were the namespaces gone, binding would fail instead of the packet leaving
 * through the machine's default route.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';

export interface JsonGet {
  readonly localAddress?: string;
  readonly timeoutMs?: number;
}

/** One GET on a fresh connection; the status must be 200 and the body JSON. */
export async function getJson<T>(url: string, o: JsonGet = {}): Promise<T> {
  const agent = new Agent({
    connect: { timeout: 1_000, ...(o.localAddress ? { localAddress: o.localAddress } : {}) },
    headersTimeout: o.timeoutMs ?? 10_000,
    bodyTimeout: o.timeoutMs ?? 10_000,
  });
  try {
    const res = await request(url, { dispatcher: agent });
    const body = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`GET ${url}: HTTP ${res.statusCode}: ${body.slice(0, 200)}`);
    return JSON.parse(body) as T;
  } finally {
    await agent.close();
  }
}

/**
 * Polls until the URL answers 200 (a container or a restore that is still starting refuses or
 * resets connections). `failed` says why to stop early (the process ended), or undefined.
 */
export async function waitForJson<T>(
  url: string,
  o: JsonGet & { readonly withinMs: number; readonly failed?: () => string | undefined },
): Promise<T> {
  const deadline = Date.now() + o.withinMs;
  let last = 'no attempt';
  for (;;) {
    const why = o.failed?.();
    if (why) throw new Error(`${url} will not answer: ${why} (last attempt: ${last})`);
    try {
      return await getJson<T>(url, o);
    } catch (error) {
      last = (error as { code?: string }).code ?? (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${o.withinMs} ms: ${last}`);
    await sleep(20);
  }
}

/**
 * performance.now() when the URL first answered 200 (body read), polling every 2 ms with one
 * attempt at a time, each on a fresh connection: the benchmarks' way of measuring a start as a
 * client sees it (benchmarks/src/probes/http.ts), bound to the client's address.
 */
export async function firstResponseMs(
  url: string,
  o: JsonGet & { readonly withinMs: number },
): Promise<number> {
  const deadline = performance.now() + o.withinMs;
  let last = 'no attempt';
  for (;;) {
    const agent = new Agent({
      connect: { timeout: 250, ...(o.localAddress ? { localAddress: o.localAddress } : {}) },
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    try {
      const res = await request(url, { dispatcher: agent });
      await res.body.arrayBuffer();
      if (res.statusCode === 200) return performance.now();
      last = `HTTP ${res.statusCode}`;
    } catch (error) {
      last = (error as { code?: string }).code ?? (error as Error).message;
    } finally {
      void agent.destroy().catch(() => undefined);
    }
    if (performance.now() > deadline)
      throw new Error(`${url} did not answer 200 within ${o.withinMs} ms: ${last}`);
    await sleep(2);
  }
}
