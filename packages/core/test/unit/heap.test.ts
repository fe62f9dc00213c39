import { describe, expect, it } from 'vitest';
import { collectGarbage, findGc } from '../../src/server/heap.js';

describe(`the garbage collector on ${process.version}`, () => {
  it('is found without --expose-gc through the run-time flag, with a warning that says how to do better', () => {
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    const { gc, warning } = findGc();
    expect(typeof gc).toBe('function');
    expect(warning).toMatch(/without --expose-gc: collected garbage through a run-time flag/);
    expect(() => collectGarbage(gc!)).not.toThrow();
  });
});
