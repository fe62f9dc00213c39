import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LifecycleRegistry } from '../../src/lifecycle/registry.js';

describe('lifecycle registry', () => {
  it('closes in reverse registration order and reopens in registration order', async () => {
    const registry = new LifecycleRegistry();
    const calls: string[] = [];
    for (const name of ['db', 'log', 'cache']) {
      registry.register({
        name,
        beforeCheckpoint: () => void calls.push(`close ${name}`),
        afterRestore: () => void calls.push(`open ${name}`),
      });
    }
    await registry.runBeforeCheckpoint({ mode: 'exit', imageDir: '/img', rehearsal: false });
    await registry.runAfterRestore({ reason: 'restored' });
    expect(calls).toEqual(['close cache', 'close log', 'close db', 'open db', 'open log', 'open cache']);
  });

  it('runs every hook even when some fail, and returns all failures', async () => {
    const registry = new LifecycleRegistry();
    const ran: string[] = [];
    registry.register({ name: 'a', beforeCheckpoint: () => void ran.push('a') });
    registry.register({
      name: 'b',
      beforeCheckpoint: () => {
        throw new Error('b broke');
      },
    });
    registry.register({ name: 'c', beforeCheckpoint: async () => Promise.reject(new Error('c broke')) });
    const failures = await registry.runBeforeCheckpoint({
      mode: 'continue',
      imageDir: '/img',
      rehearsal: false,
    });
    expect(ran).toEqual(['a']);
    expect(failures.map((f) => [f.resource, f.error.message])).toEqual([
      ['c', 'c broke'],
      ['b', 'b broke'],
    ]);
  });

  it('times out a hook that hangs', async () => {
    const registry = new LifecycleRegistry();
    registry.register({ name: 'stuck', timeoutMs: 30, afterRestore: () => new Promise(() => {}) });
    const [failure] = await registry.runAfterRestore({ reason: 'restored' });
    expect(failure?.error.message).toMatch(/timed out after 30 ms/);
  });

  it('unregisters', async () => {
    const registry = new LifecycleRegistry();
    const unregister = registry.register({ name: 'x' });
    expect(registry.size).toBe(1);
    unregister();
    expect(registry.size).toBe(0);
  });

  it('is one registry per process, even with two module instances of core (its ESM and CommonJS builds)', () => {
    // A real second instance: the built ESM and CommonJS files, loaded by one node process.
    const script = `
      const cjs = require(${JSON.stringify(fileURLToPath(new URL('../../dist/internal.cjs', import.meta.url)))});
      import(${JSON.stringify(new URL('../../dist/internal.js', import.meta.url).href)}).then((esm) => {
        cjs.register({ name: 'registered through the CommonJS build' });
        process.stdout.write(JSON.stringify({
          twoInstances: esm.LifecycleRegistry !== cjs.LifecycleRegistry,
          sameRegistry: esm.lifecycle === cjs.lifecycle,
          seenByEsm: esm.lifecycle.size,
        }));
      });`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
    expect(out).toEqual({ twoInstances: true, sameRegistry: true, seenByEsm: 1 });
  });
});
