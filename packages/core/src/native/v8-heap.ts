import { createRequire } from 'node:module';

/**
 * Asks V8 to give back as much memory as it can, as it does when the OS reports critical memory
 * pressure: it shrinks the new space, compacts, and releases pooled pages. Node exports V8's C++
 * API from its binary, so koffi reaches the symbols in the process's own image. This roughly
 * halved a heavy Fastify app's image (142 -> 81 MB, docs/restore-performance.md); every MB not in the
 * image is ~3.4 ms less to restore.
 *
 * Called through koffi's `.async` (a worker thread): V8 then schedules the collection on the main
 * thread as an interrupt, which the awaiting event loop services; a direct call from the main
 * thread inside a JS frame crashed in experiments (node::LowMemoryNotification did).
 */
const GET_CURRENT = '_ZN2v87Isolate10GetCurrentEv';
const MEMORY_PRESSURE = '_ZN2v87Isolate26MemoryPressureNotificationENS_19MemoryPressureLevelE';
const NONE = 0;
const CRITICAL = 2;

type AsyncFn = { async: (...args: unknown[]) => void };
interface Bound {
  readonly isolate: unknown;
  readonly notify: AsyncFn;
}

/** The two V8 entry points, or why they cannot be reached in this node binary. */
export function bindMemoryPressure(
  symbols: { readonly getCurrent: string; readonly memoryPressure: string } = {
    getCurrent: GET_CURRENT,
    memoryPressure: MEMORY_PRESSURE,
  },
): Bound | { readonly missing: string } {
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const self = koffi.load(null as unknown as string);
  try {
    const getCurrent = self.func(`void *${symbols.getCurrent}()`) as () => unknown;
    const notify = self.func(
      `void ${symbols.memoryPressure}(void *isolate, int level)`,
    ) as unknown as AsyncFn;
    return { isolate: getCurrent(), notify };
  } catch (error) {
    return { missing: (error as Error).message };
  }
}

let bound: ReturnType<typeof bindMemoryPressure> | undefined;
function boundMemoryPressure(): ReturnType<typeof bindMemoryPressure> {
  bound ??= bindMemoryPressure();
  return bound;
}

function notifyLevel({ isolate, notify }: Bound, level: number): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    notify.async(isolate, level, (error: unknown) => (error ? reject(error) : resolve())),
  );
}

export interface ShrinkResult {
  /** False when V8's entry points are missing from this node binary: only `gc` ran. */
  readonly shrunk: boolean;
  /** Why it did not shrink, for a warning: the image is then bigger, nothing else changes. */
  readonly warning?: string;
}

/**
 * Critical memory-pressure notification, then the given full GC, then the pressure is lifted.
 * Resolves when all are done.
 *
 * V8 keeps the last level it was told, and while it is not kNone it optimizes for memory: it grows
 * the heap conservatively and collects more often. Left at kCritical, the frozen server (and every
 * copy restored from it) would stay in that mode for good; Node never lifts it by itself.
 */
export async function shrinkHeap(
  gc?: () => void,
  v8: ReturnType<typeof bindMemoryPressure> = boundMemoryPressure(),
): Promise<ShrinkResult> {
  if ('missing' in v8) {
    gc?.();
    return {
      shrunk: false,
      warning: `this node binary does not export V8's memory-pressure call (${v8.missing}): the heap was only collected, and the image is bigger than it could be`,
    };
  }
  await notifyLevel(v8, CRITICAL);
  // Let the interrupt V8 queued run on this thread before collecting the rest.
  await new Promise((resolve) => setImmediate(resolve));
  gc?.();
  await notifyLevel(v8, NONE);
  return { shrunk: true };
}
