import { randomInt, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type * as Inspector from '../../src/safety/inspector.js';

// A Node built without the inspector: nothing can be reached by name, and nothing may throw.
vi.mock('../../src/safety/inspector.js', async (importOriginal) => {
  const actual = await importOriginal<typeof Inspector>();
  return { ...actual, inspectorUnavailable: () => 'this Node was built without the inspector' };
});

const { prepareEntropy, reseedEntropy } = await import('../../src/safety/entropy.js');
const { closureVariables } = await import('../../src/safety/closure-scope.js');
const { InspectorSession } = await vi.importActual<typeof Inspector>('../../src/safety/inspector.js');

describe('per-copy randomness without the inspector', () => {
  const session = InspectorSession.open();
  afterAll(() => session.close());

  it('warns for what it cannot reach, once across preparations, and never throws', async () => {
    const warnings: string[] = [];
    const onWarning = (message: string) => warnings.push(message);
    const first = await prepareEntropy({ onWarning });
    await prepareEntropy({ onWarning });
    expect(first.warnings.slice(0, 2)).toEqual([
      expect.stringMatching(
        /^crypto\.randomInt: this Node was built without the inspector; each copy drains/,
      ),
      expect.stringMatching(
        /^crypto\.randomUUID.*: this Node was built without the inspector; each copy drains/,
      ),
    ]);
    expect(warnings).toEqual(first.warnings.map((w) => `per-copy randomness: ${w}`));
    expect(first.contexts).toEqual(['installed']);
  });

  it("still gives a copy fresh randomInt and randomUUID values, by draining Node's caches", async () => {
    randomInt(10);
    randomUUID();
    const caches = closureVariables(session, randomInt, ['randomCache', 'uuidData']);
    (caches.get('randomCache') as Uint8Array).fill(0);
    (caches.get('uuidData') as Uint8Array).fill(0);
    const warnings: string[] = [];
    const report = await reseedEntropy({ onWarning: (message) => warnings.push(message) });
    expect(report.contexts).toEqual(['reseeded']);
    // The drains were announced at the preparation; a copy has nothing more to say.
    expect(warnings).toEqual([]);
    expect(randomInt(2 ** 48 - 1)).not.toBe(0);
    expect(randomUUID()).not.toBe('00000000-0000-4000-8000-000000000000');
  });
});
