import { createRequire } from 'node:module';

/**
 * Reseeds OpenSSL's generators, which back randomBytes, randomFill(Sync), getRandomValues,
 * randomUUID and randomInt refills, key and prime generation, TLS: everything random that does not
 * come from a JavaScript-side cache (byte-caches.ts) or from V8 (math-random.ts). The node binary
 * exports OpenSSL's symbols; koffi reaches them in the process's own image. RAND_poll() reseeds the
 * primary DRBG from the kernel; OpenSSL 3's per-thread DRBGs (every worker and libuv thread) see
 * the primary's reseed counter change and reseed from it before their next output.
 */

let poll: (() => number) | undefined;

/** Loads koffi and finds RAND_poll: done before the freeze, so a copy only makes the call. */
export function bindOpenSsl(): void {
  if (poll) return;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  poll = koffi.load(null as unknown as string).func('int RAND_poll()') as () => number;
}

export function reseedOpenSsl(): void {
  bindOpenSsl();
  if (poll!() !== 1)
    throw new Error('RAND_poll() failed: OpenSSL could not gather fresh entropy from the kernel');
}
