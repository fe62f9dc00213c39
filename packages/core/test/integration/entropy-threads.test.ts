import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Worker threads reached through early-entropy's channel (src/safety/worker-channel.ts), with
 * real threads and the built code, no CRIU: whatever the threads do, nothing may crash.
 */
const fixture = fileURLToPath(new URL('../fixtures/entropy-threads.mjs', import.meta.url));
const early = fileURLToPath(new URL('../../dist/safety/early-entropy.js', import.meta.url));

function run(scenario: string): Record<string, unknown> {
  const child = spawnSync(process.execPath, ['--import', early, fixture, scenario], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect({ status: child.status, signal: child.signal, stderr: child.stderr }).toMatchObject({
    status: 0,
    signal: null,
  });
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

describe('worker threads and per-copy randomness', () => {
  it('reaches every worker started from a file, and says nothing of eval workers (no preload)', () => {
    const result = run('reach');
    // The probes' worker uses randomInt, randomUUID and the WebSocket client: 3 caches.
    expect(result.prepared).toEqual([3]);
    expect(result.reseeded).toEqual([expect.arrayContaining(['reseeded'])]);
    expect(result.warnings).toEqual([]);
    expect(result.inline).toBe('builtin');
  });

  it('does not wait for a worker that exited, and waits a second for a busy one, naming it', () => {
    const result = run('absent');
    expect(result.warnings).toEqual([
      expect.stringMatching(/^worker \d+: reseed failed: no answer within 1000 ms$/),
    ]);
    expect(result.tookMs).toBeGreaterThanOrEqual(1000);
    expect(result.tookMs).toBeLessThan(2000);
  });

  it('survives workers and vm contexts that come and go during 60 preparations and reseeds', () => {
    expect(run('churn')).toEqual({ rounds: 60 });
  });
});
