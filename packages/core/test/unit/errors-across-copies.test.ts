/**
 * An app may load two copies of @defrost/core (its CommonJS and its ES module build, or two
 * versions in nested node_modules): `instanceof` must hold across them. Two copies of the module
 * here: vite loads a module once per distinct URL. (The real builds are checked the same way on
 * the packed packages: packages/cli/test/integration/install.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import * as one from '../../src/errors.js';

const other = (await import(/* @vite-ignore */ `../../src/errors.js?copy=${Date.now()}`)) as typeof one;

describe('defrost errors across two copies of the module', () => {
  it('are two copies', () => {
    expect(other.CheckpointError).not.toBe(one.CheckpointError);
  });

  it('instanceof holds for the same class and its bases, either way round', () => {
    const fromOther = new other.CheckpointError('checkpoint aborted', { step: 'audit' });
    expect(fromOther instanceof one.CheckpointError).toBe(true);
    expect(fromOther instanceof one.DefrostError).toBe(true);
    expect(fromOther instanceof Error).toBe(true);
    const fromOne = new one.ImageError('image-missing', '/images/app', 'no such directory');
    expect(fromOne instanceof other.ImageError).toBe(true);
    expect(fromOne instanceof other.DefrostError).toBe(true);
  });

  it('and does not for other classes or other errors', () => {
    const fromOther = new other.CheckpointError('checkpoint aborted', { step: 'audit' });
    expect(fromOther instanceof one.RestoreError).toBe(false);
    expect(fromOther instanceof one.ImageError).toBe(false);
    expect(new Error('plain') instanceof one.DefrostError).toBe(false);
    const lookalike = new (class CheckpointError extends Error {})('not ours');
    expect(lookalike instanceof one.CheckpointError).toBe(false);
    for (const value of [null, undefined, 'CheckpointError', 42] as unknown[])
      expect(one.DefrostError[Symbol.hasInstance](value)).toBe(false);
  });
});
