import { type ClientHeaders, DEFAULT_CLIENT_HEADERS } from './clients.js';
import type { WarmupOptions, WarmupRequest } from './options.js';

export interface KnownRoute {
  readonly method: string | readonly string[];
  readonly url: string;
}

/** Parameterless GET routes: the only ones that can be requested without knowing the app. */
export function defaultRequests(routes: readonly KnownRoute[]): WarmupRequest[] {
  const seen = new Set<string>();
  const requests: WarmupRequest[] = [];
  for (const route of routes) {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes('GET')) continue;
    if (/[:*]/.test(route.url) || seen.has(route.url)) continue;
    seen.add(route.url);
    requests.push({ method: 'GET', url: route.url });
  }
  return requests;
}

export interface WarmupPlan {
  readonly requestsFor: (round: number) => readonly WarmupRequest[];
  readonly rounds: number;
  readonly durationMs: number | undefined;
  readonly concurrency: number;
  readonly expectStatus: readonly number[] | undefined;
  readonly timeoutMs: number;
  /** Rotated over the requests, one set per request (see clients.ts). */
  readonly clientHeaders: readonly ClientHeaders[];
}

export const DEFAULT_ROUNDS = 300;

export function warmupPlan(options: WarmupOptions, routes: readonly KnownRoute[]): WarmupPlan {
  const fixed = options.requests ?? defaultRequests(routes);
  return {
    requestsFor: typeof fixed === 'function' ? fixed : () => fixed,
    rounds: options.durationMs !== undefined ? Number.POSITIVE_INFINITY : (options.rounds ?? DEFAULT_ROUNDS),
    durationMs: options.durationMs,
    concurrency: options.concurrency ?? 8,
    expectStatus: options.expectStatus,
    timeoutMs: options.timeoutMs ?? 10_000,
    clientHeaders: options.clientHeaders ?? DEFAULT_CLIENT_HEADERS,
  };
}

export function isExpectedStatus(status: number, expected: readonly number[] | undefined): boolean {
  return expected ? expected.includes(status) : status >= 200 && status < 400;
}
