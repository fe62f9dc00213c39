import { randomInt, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { captureByteCaches, refillByteCaches } from '../../src/safety/byte-caches.js';
import { InspectorSession } from '../../src/safety/inspector.js';

const ZERO_UUID = '00000000-0000-4000-8000-000000000000';

describe("Node's caches of random bytes (randomInt, randomUUID)", () => {
  const session = InspectorSession.open();
  afterAll(() => session.close());
  randomInt(10);

  it('are found by name, as the very buffers randomInt and randomUUID serve from', () => {
    const captured = captureByteCaches(session);
    expect(captured.warnings).toEqual([]);
    const [intCache, uuidCache] = captured.buffers;
    expect(intCache!.length % 6).toBe(0);
    intCache!.fill(0);
    uuidCache!.fill(0);
    expect(randomInt(2 ** 48 - 1)).toBe(0);
    expect(randomUUID()).toBe(ZERO_UUID);
    refillByteCaches(captured);
    expect(randomInt(2 ** 48 - 1)).not.toBe(0);
    expect(randomUUID()).not.toBe(ZERO_UUID);
  });

  it('are drained by calls instead when they cannot be reached, with a warning naming each', () => {
    const reached = captureByteCaches(session);
    const [intCache, uuidCache] = reached.buffers;
    const blind = captureByteCaches(undefined, 'no inspector here');
    expect(blind.buffers).toEqual([]);
    expect(blind.warnings).toEqual([
      expect.stringMatching(/^crypto\.randomInt: no inspector here; each copy drains the cache/),
      expect.stringMatching(/^crypto\.randomUUID.*: no inspector here; each copy drains the cache/),
    ]);
    // Every byte still unread is stale: the drain must use them all up, whatever the offsets.
    intCache!.fill(0);
    uuidCache!.fill(0);
    refillByteCaches(blind);
    expect(randomInt(2 ** 48 - 1)).not.toBe(0);
    expect(randomUUID()).not.toBe(ZERO_UUID);
  });
});
