import { createRequire } from 'node:module';

/**
 * Asks V8 to give back as much memory as it can, as it does when the OS reports critical memory
 * pressure: it shrinks the new space, compacts, and releases pooled pages. Node exports V8's C++
 * API from its binary, so koffi reaches the symbols in the process's own image. This roughly
 * halved a heavy Fastify app's image (142 -> 81 MB, shared/CRIU-NOTES.md); every MB not in the
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
let bound: { isolate: unknown; notify: AsyncFn } | undefined;

function bind(): { isolate: unknown; notify: AsyncFn } {
  if (bound) return bound;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const self = koffi.load(null as unknown as string);
  const getCurrent = self.func(`void *${GET_CURRENT}()`) as () => unknown;
  const notify = self.func(`void ${MEMORY_PRESSURE}(void *isolate, int level)`) as unknown as AsyncFn;
  bound = { isolate: getCurrent(), notify };
  return bound;
}

function notifyLevel(level: number): Promise<void> {
  const { isolate, notify } = bind();
  return new Promise<void>((resolve, reject) =>
    notify.async(isolate, level, (error: unknown) => (error ? reject(error) : resolve())),
  );
}

/**
 * Critical memory-pressure notification, then the given full GC, then the pressure is lifted.
 * Resolves when all are done.
 *
 * V8 keeps the last level it was told, and while it is not kNone it optimizes for memory: it grows
 * the heap conservatively and collects more often. Left at kCritical, the frozen server (and every
 * copy restored from it) would stay in that mode for good; Node never lifts it by itself.
 */
export async function shrinkHeap(gc?: () => void): Promise<void> {
  await notifyLevel(CRITICAL);
  // Let the interrupt V8 queued run on this thread before collecting the rest.
  await new Promise((resolve) => setImmediate(resolve));
  gc?.();
  await notifyLevel(NONE);
}
