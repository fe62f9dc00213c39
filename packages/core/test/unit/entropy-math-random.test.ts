import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { installSeededRandom, RESEED_KEY, reseedMathRandom } from '../../src/safety/math-random.js';

/** A fresh context's Math: the test process's own Math.random stays V8's. */
const freshMath = () => vm.runInNewContext('Math') as Math;
const draw = (math: Math, n: number) => Array.from({ length: n }, () => math.random());

describe('the reseedable Math.random', () => {
  it("keeps the builtin's shape: a non-enumerable method named random, not a constructor", () => {
    const math = freshMath();
    const before = Object.getOwnPropertyDescriptor(math, 'random');
    expect(installSeededRandom(math, [1, 2, 3, 4])).toBe('installed');
    const after = Object.getOwnPropertyDescriptor(math, 'random')!;
    expect({ ...after, value: undefined }).toEqual({ ...before, value: undefined });
    expect(math.random.name).toBe('random');
    expect(math.random.length).toBe(0);
    expect('prototype' in math.random).toBe(false);
    expect(() => new (math.random as unknown as new () => object)()).toThrow(TypeError);
    expect(Object.keys(math.random)).toEqual([]);
  });

  it('draws doubles in [0, 1) with all 53 bits random, around a mean of 0.5', () => {
    const math = freshMath();
    installSeededRandom(math, [11, 22, 33, 44]);
    const values = draw(math, 20_000);
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    // A generator of 32-bit doubles would leave the 21 low bits of the mantissa at zero.
    expect(values.some((v) => (v * 2 ** 53) % 2 ** 21 !== 0)).toBe(true);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
    expect(new Set(values).size).toBe(values.length);
  });

  it('gives one sequence per seed, and a reseed starts another', () => {
    const a = freshMath();
    const b = freshMath();
    installSeededRandom(a, [5, 6, 7, 8]);
    installSeededRandom(b, [5, 6, 7, 8]);
    expect(draw(a, 10)).toEqual(draw(b, 10));
    expect(reseedMathRandom(b, [9, 10, 11, 12])).toBe(true);
    expect(draw(a, 10)).not.toEqual(draw(b, 10));
    reseedMathRandom(a, [1, 1, 1, 1]);
    reseedMathRandom(b, [1, 1, 1, 1]);
    expect(draw(a, 10)).toEqual(draw(b, 10));
  });

  it('is installed once per context, and the reseed key is the one reseedMathRandom looks for', () => {
    const math = freshMath();
    installSeededRandom(math, [1, 2, 3, 4]);
    const installed = math.random;
    expect(installSeededRandom(math, [4, 3, 2, 1])).toBe('already');
    expect(math.random).toBe(installed);
    expect(Object.getOwnPropertySymbols(installed)).toEqual([Symbol.for(RESEED_KEY)]);
  });

  it("leaves an app's own Math.random alone, and does not reseed it", () => {
    const math = freshMath();
    const own = () => 0.25;
    math.random = own;
    expect(installSeededRandom(math, [1, 2, 3, 4])).toBe('not-builtin');
    expect(reseedMathRandom(math, [1, 2, 3, 4])).toBe(false);
    expect(math.random).toBe(own);
  });

  it('never sticks at zero, whatever the seed', () => {
    const math = freshMath();
    installSeededRandom(math, [0, 0, 0, 0]);
    expect(new Set(draw(math, 5)).size).toBe(5);
  });
});
