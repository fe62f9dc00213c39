import { randomFillSync } from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import vm from 'node:vm';
import { installSeededRandom, RESEED_KEY } from './math-random.js';

/**
 * Math.random in vm contexts. Each vm context has its own Math and so its own V8 state, seeded
 * from the isolate's own generator, which copies share too. vm's context-making functions are
 * wrapped: each context they make gets a reseedable generator, and is remembered (weakly) so that
 * a copy reseeds it.
 *
 * Why not find every context through the inspector, which lists them: it also lists contexts
 * already collected, until a task after the GC removes them, and evaluating in one of those
 * crashes node (SIGSEGV in v8::Context::Enter, measured on 22, 24 and 26). A context made before
 * the wrapping is therefore out of reach (docs/criu-and-node.md, "Randomness in restored copies").
 */

export type SeedOutcome = 'installed' | 'reseeded' | 'already' | 'not-builtin';

export const freshSeed = (): Int32Array => randomFillSync(new Int32Array(4));

interface Tracking {
  /** The contexts made since the wrapping, as long as the app keeps them. */
  readonly tracked: Set<WeakRef<vm.Context>>;
  readonly known: WeakSet<vm.Context>;
  readonly forget: FinalizationRegistry<WeakRef<vm.Context>>;
}

// One per process even when two copies of @defrost/core are loaded (the agent's bundle and the
// app's, or the ES and CommonJS builds): the copy that wrapped vm and the copy that reseeds may
// differ.
const TRACKING = Symbol.for('@defrost/core/entropy-vm-contexts');
const holder = globalThis as { [TRACKING]?: Tracking };
function newTracking(): Tracking {
  const tracked = new Set<WeakRef<vm.Context>>();
  const forget = new FinalizationRegistry<WeakRef<vm.Context>>((ref) => tracked.delete(ref));
  return { tracked, known: new WeakSet<vm.Context>(), forget };
}
const tracking = holder[TRACKING] ?? newTracking();
holder[TRACKING] = tracking;
const { tracked, known, forget } = tracking;

let seeder: vm.Script | undefined;

/** Reseeds a context's generator, or installs one; runs inside the context (`Math` is its own). */
function seedIn(context: vm.Context): SeedOutcome {
  seeder ??= new vm.Script(
    `(function (seed) {
      const reseed = Math.random[Symbol.for(${JSON.stringify(RESEED_KEY)})];
      if (typeof reseed === 'function') { reseed(seed); return 'reseeded'; }
      return (${installSeededRandom.toString()})(Math, seed);
    })`,
    { filename: 'defrost:entropy' },
  );
  return (seeder.runInContext(context) as (seed: Int32Array) => SeedOutcome)(freshSeed());
}

/** Gives a context just made by vm its own seeded Math.random, and remembers it. */
function adopt(context: vm.Context): void {
  try {
    seedIn(context);
  } catch {
    // A context whose globals the caller locked down: it keeps V8's Math.random. Making the
    // caller's createContext fail instead would break the app.
    return;
  }
  // createContext() of an object already contextified returns it again.
  if (known.has(context)) return;
  known.add(context);
  const ref = new WeakRef(context);
  tracked.add(ref);
  forget.register(context, ref);
}

/** Reseeds every remembered context that is still alive; what failed, by message. */
export function seedVmContexts(): { outcomes: SeedOutcome[]; failures: string[] } {
  const outcomes: SeedOutcome[] = [];
  const failures: string[] = [];
  for (const ref of tracked) {
    const context = ref.deref();
    if (!context) continue;
    try {
      outcomes.push(seedIn(context));
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  return { outcomes, failures };
}

const WRAPPED = Symbol.for('defrost.entropy.vm-wrapped');

/**
 * Wraps vm.createContext and vm.Script.prototype.runInNewContext (which vm.runInNewContext also
 * goes through, before any of the caller's code runs in the new context). Idempotent. Code that
 * took its own reference to vm.createContext before this ran keeps the unwrapped one.
 */
export function wrapVmContextCreation(): void {
  const originalCreate = vm.createContext as typeof vm.createContext & { [WRAPPED]?: true };
  if (originalCreate[WRAPPED]) return;
  const createContext = function createContext(this: unknown, ...args: Parameters<typeof vm.createContext>) {
    const context = originalCreate.apply(this, args);
    adopt(context);
    return context;
  } as typeof vm.createContext & { [WRAPPED]?: true };
  Object.defineProperty(createContext, WRAPPED, { value: true });
  Object.defineProperty(createContext, 'length', { value: originalCreate.length });

  const originalRun = vm.Script.prototype.runInNewContext;
  vm.Script.prototype.runInNewContext = function runInNewContext(
    this: vm.Script,
    contextObject?: vm.Context,
    options?: vm.RunningScriptInNewContextOptions,
  ) {
    let context: vm.Context | undefined;
    try {
      context = originalCreate(contextObject, {
        name: options?.contextName,
        origin: options?.contextOrigin,
        codeGeneration: options?.contextCodeGeneration,
        microtaskMode: options?.microtaskMode,
      });
    } catch {
      // Invalid options: let Node's own runInNewContext report them with its own message.
      return originalRun.call(this, contextObject, options);
    }
    adopt(context);
    return originalRun.call(this, context, options);
  };
  (vm as { createContext: typeof vm.createContext }).createContext = createContext;
  // `import { createContext } from 'node:vm'` sees the wrapper too.
  syncBuiltinESMExports();
}
