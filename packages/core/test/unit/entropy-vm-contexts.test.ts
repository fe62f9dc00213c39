import vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { InspectorSession } from '../../src/safety/inspector.js';
import { RESEED_KEY } from '../../src/safety/math-random.js';
import { seedVmContexts, wrapVmContextCreation } from '../../src/safety/vm-contexts.js';

const KEY = `Symbol.for(${JSON.stringify(RESEED_KEY)})`;
const isOurs = (context: vm.Context) => vm.runInContext(`typeof Math.random[${KEY}] === 'function'`, context);
const draws = (context: vm.Context) =>
  vm.runInContext('[Math.random(), Math.random(), Math.random()]', context);

// Made before vm is wrapped: V8's own Math.random, as in a context an app made at start-up.
const early = vm.createContext({});
draws(early);

describe('Math.random in vm contexts', () => {
  const session = InspectorSession.open();
  afterAll(() => session.close());

  it('is given a generator in a context that exists already, then reseeded there', () => {
    expect(isOurs(early)).toBe(false);
    const first = seedVmContexts(session);
    expect(first.failures).toEqual([]);
    expect(first.outcomes).toContain('installed');
    expect(isOurs(early)).toBe(true);
    const generator = vm.runInContext('Math.random', early);
    const before = vm.runInContext('Math.random[Symbol.for("defrost.entropy.reseed")]', early);
    expect(typeof before).toBe('function');
    expect(seedVmContexts(session).outcomes).toContain('reseeded');
    expect(vm.runInContext('Math.random', early)).toBe(generator);
  });

  describe('once vm is wrapped', () => {
    wrapVmContextCreation();

    it('gives every new context its own generator, whichever function made it', async () => {
      const { createContext } = await import('node:vm');
      const made = [vm.createContext({}), createContext({}), vm.createContext()];
      for (const context of made) expect(isOurs(context)).toBe(true);
      expect(new Set(made.map((c) => draws(c).join()))).toHaveProperty('size', 3);
      expect(vm.runInNewContext(`typeof Math.random[${KEY}]`)).toBe('function');
      expect(new vm.Script(`typeof Math.random[${KEY}]`).runInNewContext({ x: 1 })).toBe('function');
      expect(vm.runInNewContext('x + 1', { x: 41 })).toBe(42);
    });

    it("keeps vm's own behaviour and messages for the options of runInNewContext", () => {
      expect(() => vm.runInNewContext('1', {}, { contextName: 5 as unknown as string })).toThrow(
        /options\.contextName/,
      );
      expect(vm.runInNewContext('this.constructor.name', {}, { contextName: 'named' })).toBe('Object');
      const codeGeneration = { strings: false, wasm: false };
      expect(() => vm.runInNewContext('eval("1")', {}, { contextCodeGeneration: codeGeneration })).toThrow(
        /Code generation from strings disallowed/,
      );
      const named = session.contexts().map((c) => c.name);
      vm.runInNewContext('Math.random()', {}, { contextName: 'defrost-test-context' });
      expect(session.contexts().map((c) => c.name)).toContain('defrost-test-context');
      expect(named).not.toContain('defrost-test-context');
    });

    it('is wrapped once however often it is asked', () => {
      const wrapped = vm.createContext;
      wrapVmContextCreation();
      expect(vm.createContext).toBe(wrapped);
    });
  });
});
