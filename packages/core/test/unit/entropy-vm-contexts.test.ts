import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { RESEED_KEY } from '../../src/safety/math-random.js';
import { seedVmContexts, wrapVmContextCreation } from '../../src/safety/vm-contexts.js';

const KEY = `Symbol.for(${JSON.stringify(RESEED_KEY)})`;
const isOurs = (context: vm.Context) => vm.runInContext(`typeof Math.random[${KEY}] === 'function'`, context);
const draws = (context: vm.Context) =>
  vm.runInContext('[Math.random(), Math.random(), Math.random()].join()', context) as string;

// Made before vm is wrapped, as a context an app made at start-up: out of reach.
const early = vm.createContext({});

describe('Math.random in vm contexts', () => {
  wrapVmContextCreation();

  it('gives every new context its own generator, whichever function made it', async () => {
    const { createContext } = await import('node:vm');
    const made = [vm.createContext({}), createContext({}), vm.createContext()];
    for (const context of made) expect(isOurs(context)).toBe(true);
    expect(new Set(made.map(draws)).size).toBe(3);
    expect(vm.runInNewContext(`typeof Math.random[${KEY}]`)).toBe('function');
    expect(new vm.Script(`typeof Math.random[${KEY}]`).runInNewContext({ x: 1 })).toBe('function');
    expect(vm.runInNewContext('x + 1', { x: 41 })).toBe(42);
    expect(isOurs(early)).toBe(false);
  });

  it('reseeds the contexts made since, in place, and leaves those made before alone', () => {
    const context = vm.createContext({});
    const generator = vm.runInContext('Math.random', context);
    // Two contexts given the same seed draw the same numbers; a reseed starts a new sequence.
    vm.runInContext(`Math.random[${KEY}]([1, 2, 3, 4])`, context);
    const replay = draws(context);
    vm.runInContext(`Math.random[${KEY}]([1, 2, 3, 4])`, context);
    expect(draws(context)).toBe(replay);
    vm.runInContext(`Math.random[${KEY}]([1, 2, 3, 4])`, context);
    const { outcomes, failures } = seedVmContexts();
    expect(failures).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(0);
    expect(outcomes.every((o) => o === 'reseeded')).toBe(true);
    expect(draws(context)).not.toBe(replay);
    expect(vm.runInContext('Math.random', context)).toBe(generator);
    expect(isOurs(early)).toBe(false);
  });

  it('does not keep contexts alive: a context the app dropped is forgotten', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const before = seedVmContexts().outcomes.length;
    for (let i = 0; i < 50; i++) vm.createContext({});
    // WeakRefs keep their targets until the end of the current job.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(seedVmContexts().outcomes.length).toBeLessThan(before + 50);
  });

  it("keeps vm's own behaviour and messages for the options of runInNewContext", () => {
    expect(() => vm.runInNewContext('1', {}, { contextName: 5 as unknown as string })).toThrow(
      /options\.contextName/,
    );
    const codeGeneration = { strings: false, wasm: false };
    expect(() => vm.runInNewContext('eval("1")', {}, { contextCodeGeneration: codeGeneration })).toThrow(
      /Code generation from strings disallowed/,
    );
    expect(vm.runInNewContext('Math.random() < 1', {}, { microtaskMode: 'afterEvaluate' })).toBe(true);
  });

  it('is wrapped once however often it is asked', () => {
    const wrapped = vm.createContext;
    wrapVmContextCreation();
    expect(vm.createContext).toBe(wrapped);
  });
});
