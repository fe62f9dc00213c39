/**
 * Math.random for copies. V8 keeps Math.random's state per context (a 64-number cache and the
 * xorshift128+ state behind it) and gives JavaScript no way to reseed it; copies restored from one
 * image would all draw the same sequence. So, before the freeze, every context's Math.random is
 * replaced by a generator whose state a copy can reseed: it is installed once and then only
 * reseeded, so code optimized against it before the freeze stays optimized in every copy.
 */

/** Where a context's generator keeps its reseed function: on the generator itself. */
export const RESEED_KEY = 'defrost.entropy.reseed';

/**
 * Installs the generator on `math` (a context's Math) unless it is already there or the app has
 * replaced Math.random with its own. Returns what the context now has. Self-contained: its source
 * is evaluated in other contexts as is (see `installerSource`).
 */
export function installSeededRandom(
  math: Math,
  seed: ArrayLike<number>,
): 'installed' | 'already' | 'not-builtin' {
  const key = Symbol.for('defrost.entropy.reseed');
  const current = math.random as (() => number) & { [key: symbol]: unknown };
  if (typeof current[key] === 'function') return 'already';
  if (!/^function random\(\) \{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(current))) {
    return 'not-builtin';
  }
  // xoshiro128** (Blackman and Vigna): 128 bits of state in four int32 closure variables (no
  // allocation per call); two outputs make one double with all 53 bits of mantissa random.
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  const next = () => {
    const m = Math.imul(b, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    return result;
  };
  const reseed = (s: ArrayLike<number>) => {
    a = s[0]! | 0;
    b = s[1]! | 0;
    c = s[2]! | 0;
    d = s[3]! | 0;
    if ((a | b | c | d) === 0) a = 1;
  };
  // A method keeps the builtin's shape: a function named "random", no prototype, not a constructor.
  const random = {
    random() {
      return ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
    },
  }.random;
  reseed(seed);
  Object.defineProperty(random, key, { value: reseed });
  Object.defineProperty(math, 'random', {
    ...Object.getOwnPropertyDescriptor(math, 'random'),
    value: random,
  });
  return 'installed';
}

/** Reseeds `math.random` when it is our generator; false when it is not (not installed there). */
export function reseedMathRandom(math: Math, seed: ArrayLike<number>): boolean {
  const reseed = (math.random as unknown as Record<symbol, unknown>)[Symbol.for(RESEED_KEY)];
  if (typeof reseed !== 'function') return false;
  reseed(seed);
  return true;
}
