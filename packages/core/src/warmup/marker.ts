import { randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Warm-up requests carry a marker an app can recognise, to leave them out of what should only
 * count real clients: rate limits, sessions, metrics. The marker is the header `x-defrost-warmup`
 * with a random token that is valid only while a warm-up runs: a client cannot forge it, and no
 * copy restored from an image accepts one (the token is gone before the checkpoint).
 */
export const WARMUP_HEADER = 'x-defrost-warmup';

// On globalThis: one token per process, even with the ESM and CommonJS builds both loaded.
const TOKEN = Symbol.for('@defrost/core/warmup-token');
const holder = globalThis as { [TOKEN]?: Buffer | undefined };

/** A new token for a warm-up that starts now; its requests send it in WARMUP_HEADER. */
export function startWarmupMarker(): string {
  const token = randomBytes(16);
  holder[TOKEN] = token;
  return token.toString('hex');
}

export function endWarmupMarker(): void {
  holder[TOKEN] = undefined;
}

type Headers = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * Whether a request (node:http's, Fastify's, Express's, Koa's ctx: anything with `headers`) is
 * part of defrost's warm-up, e.g. `allowList: (req) => isWarmupRequest(req)` for
 * @fastify/rate-limit.
 */
export function isWarmupRequest(request: { readonly headers?: Headers } | undefined): boolean {
  const token = holder[TOKEN];
  const sent = request?.headers?.[WARMUP_HEADER];
  if (!token || typeof sent !== 'string' || sent.length !== token.length * 2) return false;
  return timingSafeEqual(Buffer.from(sent, 'hex'), token);
}
