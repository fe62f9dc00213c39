import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';

/**
 * Per-copy uniqueness. Copies restored from one image start with identical memory, so every
 * random generator in it would produce the same sequence in every copy (docs/criu-and-node.md:
 * two copies gave identical randomUUID(), randomBytes() and Math.random()).
 */

/** Node caches entropy for 128 UUIDs; this many calls guarantee a refill from the reseeded RNG. */
const UUID_CACHE_SIZE = 128;

let opensslPoll: (() => number) | undefined;

/**
 * Reseeds OpenSSL's generator (which backs randomBytes, randomUUID, randomInt, getRandomValues,
 * key generation). The node binary exports OpenSSL's symbols; koffi reaches them from the
 * process's own image. RAND_poll() mixes fresh entropy from the kernel into the DRBG.
 */
function reseedOpenSsl(): void {
  if (!opensslPoll) {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as typeof import('koffi');
    const self = koffi.load(null as unknown as string);
    opensslPoll = self.func('int RAND_poll()') as () => number;
  }
  if (opensslPoll() !== 1) throw new Error('RAND_poll() failed: OpenSSL could not gather fresh entropy');
}

/** xoshiro128** seeded from the (reseeded) OpenSSL generator: fast, and different in every copy. */
function seededMathRandom(): () => number {
  const seed = randomBytes(16);
  let a = seed.readUInt32LE(0) | 1;
  let b = seed.readUInt32LE(4);
  let c = seed.readUInt32LE(8);
  let d = seed.readUInt32LE(12);
  return () => {
    const t = b << 9;
    let r = Math.imul(b, 5);
    r = Math.imul((r << 7) | (r >>> 25), 9);
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    return (r >>> 0) / 4294967296;
  };
}

/**
 * Makes this copy's randomness its own: reseed OpenSSL, drain randomUUID's cached entropy, and
 * replace Math.random (V8 offers no way to reseed it in the main context) by a generator seeded
 * per copy. Called after every restore, before any application hook.
 */
export function reseedEntropy(): void {
  reseedOpenSsl();
  for (let i = 0; i < UUID_CACHE_SIZE; i++) randomUUID();
  Math.random = seededMathRandom();
}
