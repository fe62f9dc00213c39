import { randomFillSync, randomInt, randomUUID } from 'node:crypto';
import { isBuiltinLoaded } from './builtins.js';
import { closureVariables } from './closure-scope.js';
import type { InspectorSession } from './inspector.js';

/**
 * Caches of random bytes that Node's own JavaScript fills once and serves from for many calls.
 * A copy restored from an image holds the same unread bytes as every other copy, so the next
 * values they serve are the same everywhere, whatever OpenSSL does. Each is found by name among
 * the variables one of Node's functions closes over (docs/criu-and-node.md, "Randomness in
 * restored copies", lists them per Node version), and refilled whole in every copy.
 */
interface ByteCache {
  /** What the cache serves, for warnings. */
  readonly api: string;
  /** A function of Node's that closes over the cache; undefined when not loaded in this thread. */
  readonly owner: () => AnyFunction | undefined;
  /**
   * Names of closure variables leading to the cache (all but the last one name functions), one
   * path per layout of Node's source: the first path that leads to a buffer is used.
   */
  readonly paths: readonly (readonly string[])[];
  /** Creates the cache when Node allocates it lazily, so that it exists before the freeze. */
  readonly allocate?: () => void;
  /** Without the inspector, or when the cache is not found: what empties it in a copy instead. */
  readonly drain?: () => void;
}

/** Node 22-26: 6 KiB, 1,024 draws of 6 bytes (lib/internal/crypto/random.js). */
const RANDOM_INT_DRAWS = 1024;
/** Node 22-26: entropy for 128 UUIDs (kBatchSize). */
const UUID_BATCH = 128;

type AnyFunction = (...args: never[]) => unknown;

export const BYTE_CACHES: readonly ByteCache[] = [
  {
    api: 'crypto.randomInt',
    owner: () => randomInt,
    paths: [['randomCache']],
    // randomInt(1) takes exactly one 6-byte draw from the cache (no rejection for a range of 1).
    drain: () => {
      for (let i = 0; i < RANDOM_INT_DRAWS; i++) randomInt(1);
    },
  },
  {
    api: 'crypto.randomUUID, crypto.randomUUIDv7, webcrypto randomUUID',
    owner: () => randomUUID,
    paths: [['uuidData']],
    allocate: () => randomUUID(),
    drain: () => {
      for (let i = 0; i < UUID_BATCH; i++) randomUUID();
    },
  },
  {
    // The WebSocket client built into Node (undici) draws its frame masks from a pool.
    api: 'WebSocket frame masks',
    owner: () =>
      isBuiltinLoaded('internal/deps/undici/undici')
        ? (globalThis.WebSocket as unknown as AnyFunction)
        : undefined,
    // Node 24, 26: WebSocket uses WebsocketFrameSend itself; Node 22 through its SendQueue.
    paths: [
      ['WebsocketFrameSend', 'buffer'],
      ['SendQueue', 'WebsocketFrameSend', 'buffer'],
    ],
  },
];

export interface CapturedCaches {
  readonly buffers: Uint8Array[];
  /** Caches that could not be reached: drained by calls in each copy instead, when they can be. */
  readonly drains: (() => void)[];
  readonly warnings: string[];
}

function follow(session: InspectorSession, owner: AnyFunction, path: readonly string[]): unknown {
  let holder: unknown = owner;
  for (const name of path) {
    if (typeof holder !== 'function') return undefined;
    holder = closureVariables(session, holder as AnyFunction, [name]).get(name);
  }
  return holder;
}

/** The cache, null when Node has not allocated it yet, undefined when no path leads to it. */
function find(
  session: InspectorSession,
  cache: ByteCache,
  owner: AnyFunction,
): Uint8Array | null | undefined {
  for (const path of cache.paths) {
    const found = follow(session, owner, path);
    if (found instanceof Uint8Array || found === null) return found;
  }
  return undefined;
}

/** Finds every cache in this thread (before the freeze). `session` is undefined without inspector. */
export function captureByteCaches(session: InspectorSession | undefined, why?: string): CapturedCaches {
  const captured: CapturedCaches = { buffers: [], drains: [], warnings: [] };
  for (const cache of BYTE_CACHES) {
    const owner = cache.owner();
    if (!owner) continue;
    cache.allocate?.();
    const buffer = session ? find(session, cache, owner) : undefined;
    if (buffer instanceof Uint8Array) {
      captured.buffers.push(buffer);
      continue;
    }
    // A pool not allocated yet is allocated after the restore, from fresh randomness.
    if (buffer === null) continue;
    const reason = session
      ? `Node's ${cache.paths.map((p) => p.join(' -> ')).join(' or ')} was not found`
      : why;
    if (cache.drain) {
      captured.drains.push(cache.drain);
      captured.warnings.push(`${cache.api}: ${reason}; each copy drains the cache by calls instead`);
    } else {
      captured.warnings.push(`${cache.api}: ${reason}; copies may repeat each other's values`);
    }
  }
  return captured;
}

/** In a copy: replaces every unread cached byte with fresh ones. */
export function refillByteCaches(captured: CapturedCaches): void {
  for (const buffer of captured.buffers) randomFillSync(buffer);
  for (const drain of captured.drains) drain();
}
