import { randomFillSync } from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import vm from 'node:vm';
import type { InspectorSession } from './inspector.js';
import { installSeededRandom, RESEED_KEY } from './math-random.js';

/**
 * Math.random in vm contexts. Each vm context has its own Math and so its own V8 state: those
 * that exist at the freeze are reached through the inspector (it lists every live context of the
 * isolate); those made later are seeded from the isolate's own generator, which copies share too,
 * so vm's context-making functions are wrapped to give each new context a generator of its own.
 */

export type SeedOutcome = 'installed' | 'reseeded' | 'already' | 'not-builtin';

export const freshSeed = (): Int32Array => randomFillSync(new Int32Array(4));

/** Installs a generator in the target context, with `this` = that context's Math. */
const INSTALL_IN_CONTEXT = `function (seed) { return (${installSeededRandom.toString()})(this, seed); }`;

/** Reseeds the target context's generator; short, so that one per context costs little to compile. */
const reseedExpression = (seed: Int32Array) =>
  `(reseed => typeof reseed === 'function' && (reseed(${JSON.stringify(Array.from(seed))}), true))` +
  `(Math.random[Symbol.for(${JSON.stringify(RESEED_KEY)})])`;

function seedOneContext(session: InspectorSession, uniqueId: string): SeedOutcome {
  if (session.evaluate(reseedExpression(freshSeed()), uniqueId).value === true) return 'reseeded';
  const math = session.evaluate('Math', uniqueId);
  const answer = session.post<{ result: { value: SeedOutcome } }>('Runtime.callFunctionOn', {
    objectId: math.objectId,
    functionDeclaration: INSTALL_IN_CONTEXT,
    arguments: [{ value: Array.from(freshSeed()) }],
    returnByValue: true,
    silent: true,
  });
  return answer.result.value;
}

/** Seeds (or gives a generator to) every vm context of this isolate; the main one is not touched. */
export function seedVmContexts(session: InspectorSession): { outcomes: SeedOutcome[]; failures: string[] } {
  const outcomes: SeedOutcome[] = [];
  const failures: string[] = [];
  for (const context of session.contexts()) {
    if (context.isDefault) continue;
    try {
      outcomes.push(seedOneContext(session, context.uniqueId));
    } catch (error) {
      // A context collected meanwhile, or one whose Math the app made unusable.
      failures.push(`${context.name}: ${(error as Error).message}`);
    }
  }
  return { outcomes, failures };
}

let installer: vm.Script | undefined;

/** Gives a context just made by vm its own seeded Math.random (its V8 seed is the copies' shared one). */
function seedNewContext(context: vm.Context): void {
  try {
    installer ??= new vm.Script(
      `(function (seed) { return (${installSeededRandom.toString()})(Math, seed); })`,
      {
        filename: 'defrost:entropy',
      },
    );
    (installer.runInContext(context) as (seed: Int32Array) => SeedOutcome)(freshSeed());
  } catch {
    // A context whose globals the caller locked down: it keeps V8's Math.random. Making the
    // caller's createContext fail instead would break the app.
  }
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
    seedNewContext(context);
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
    seedNewContext(context);
    return originalRun.call(this, context, options);
  };
  (vm as { createContext: typeof vm.createContext }).createContext = createContext;
  // `import { createContext } from 'node:vm'` sees the wrapper too.
  syncBuiltinESMExports();
}
