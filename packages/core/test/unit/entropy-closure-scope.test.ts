import { afterAll, describe, expect, it } from 'vitest';
import { closureVariables } from '../../src/safety/closure-scope.js';
import { InspectorSession } from '../../src/safety/inspector.js';

function makeCounter() {
  const cache = new Uint8Array(8);
  const step = 3;
  let count = 0;
  return () => {
    count += step;
    return cache[count % 8];
  };
}

describe('closure variables through the inspector', () => {
  const session = InspectorSession.open();
  afterAll(() => session.close());

  it('gives the very objects a function closes over, and primitive values by value', () => {
    const counter = makeCounter();
    counter();
    const found = closureVariables(session, counter, ['cache', 'step', 'count']);
    const cache = found.get('cache') as Uint8Array;
    expect(cache).toBeInstanceOf(Uint8Array);
    cache.fill(7);
    expect(counter()).toBe(7);
    expect(found.get('step')).toBe(3);
    expect(found.get('count')).toBe(3);
  });

  it('leaves out names the function does not close over, and globals', () => {
    const found = closureVariables(session, makeCounter(), ['nothing', 'process', 'makeCounter']);
    expect([...found.keys()].filter((k) => k !== 'makeCounter')).toEqual([]);
  });

  it('leaves no trace on globalThis', () => {
    closureVariables(session, makeCounter(), ['cache']);
    expect(Object.getOwnPropertySymbols(globalThis).map(String)).not.toContain(
      'Symbol(defrost.entropy.handoff)',
    );
  });
});
