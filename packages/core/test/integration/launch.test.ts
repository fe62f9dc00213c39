/**
 * How defrost starts the apps it freezes, for real: under the seccomp filter that keeps libuv's
 * io_uring rings out (launch/io-uring-filter.ts), with a criu service outside the filter. What
 * the filter does must hold for the app's worker threads and child processes, before and after a
 * restore, on every Node version the tests run on.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDetachedCriuService } from '../../src/criu/service.js';
import { runDoctor } from '../../src/doctor/index.js';
import { LaunchError } from '../../src/errors.js';
import { spawnWithoutIoUring } from '../../src/launch/freezable.js';
import { withoutIoUring } from '../../src/launch/io-uring-filter.js';
import { isAlive, waitForPidGone } from '../../src/process/pid.js';
import { restoreToFile, spawnTracked, stopAllStarted } from '../../src/testing/index.js';

const fixture = fileURLToPath(new URL('../fixtures/launch-server.mjs', import.meta.url));
const serviceLauncher = fileURLToPath(new URL('../fixtures/service-launcher.mjs', import.meta.url));
let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'defrost-launch-'));
  return () => rmSync(work, { recursive: true, force: true });
});
afterEach(stopAllStarted);

interface Inspection {
  rings: number;
  seccomp: number;
}
interface Status {
  phase: 'original' | 'restored';
  self: Inspection;
  worker: { n: number; pong: boolean };
  child: { alive: boolean; seccomp: string };
  newChild: Inspection;
}

async function status(port: number): Promise<Status> {
  const res = await request(`http://127.0.0.1:${port}/`, { reset: true });
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as Status;
}

/** Whether this Node's libuv opens io_uring rings on its own (1.51 and later). */
const libuvOpensRings = (() => {
  const [major, minor] = process.versions.uv.split('.').map(Number) as [number, number];
  return major > 1 || (major === 1 && minor >= 51);
})();

function expectFiltered(s: Status, phase: Status['phase']): void {
  expect(s.phase).toBe(phase);
  expect(s.self).toEqual({ rings: 0, seccomp: 2 });
  expect(s.worker).toEqual({ n: 42, pong: true });
  expect(s.child).toEqual({ alive: true, seccomp: '2' });
  expect(s.newChild).toEqual({ rings: 0, seccomp: 2 });
}

describe('apps started without io_uring (real seccomp, real CRIU)', () => {
  it('an app, its worker thread and its children run on epoll under the filter, and keep it after a restore', async () => {
    const imageDir = join(work, 'image');
    const app = await spawnTracked(process.execPath, [fixture, imageDir]);
    const { port } = (await app.waitFor((e) => e.event === 'listening')) as { port: number };
    expectFiltered(await status(port), 'original');

    app.child.kill('SIGUSR2');
    await app.waitFor((e) => e.event === 'checkpointed');
    await app.exited;

    const copy = await restoreToFile(imageDir, join(work, 'copy.out'));
    expectFiltered(await status(port), 'restored');
    expect(await copy.stop()).toEqual({ status: 0 });
  });

  it('a plain start of this Node opens the rings the filter keeps out', async () => {
    const count = `process.stdout.write(String(require('node:fs').readdirSync('/proc/self/fd').filter((fd) => { try { return require('node:fs').readlinkSync('/proc/self/fd/' + fd) === 'anon_inode:[io_uring]'; } catch { return false; } }).length))`;
    const run = (file: string, args: readonly string[]) =>
      new Promise<number>((resolve, reject) => {
        const child = spawn(file, args);
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
        });
        child.once('error', reject);
        child.once('close', () => resolve(Number(out)));
      });
    const filtered = withoutIoUring([process.execPath, '-e', count]);
    expect(await run(filtered.file, filtered.args)).toBe(0);
    const plain = await run(process.execPath, ['-e', count]);
    if (libuvOpensRings) expect(plain).toBeGreaterThan(0);
    else expect(plain).toBe(0);
  });

  it('`defrost doctor` reports what this Node does and what defrost does about it', async () => {
    const report = await runDoctor({
      env: { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH}` },
    });
    const check = report.checks.find((c) => c.id === 'io-uring')!;
    expect(check.status).toBe('pass');
    expect(check.detail).toContain(
      `Node ${process.version} (libuv ${process.versions.uv}, ${process.execPath})`,
    );
    if (libuvOpensRings)
      expect(check.detail).toMatch(/opens \d+ io_uring ring\(s\) at start.*: 0 rings under it/);
  });

  it('an app under the filter that was given no criu service refuses to checkpoint, saying how to start it', async () => {
    const imageDir = join(work, 'refused');
    const app = await spawnTracked(process.execPath, [fixture, imageDir], {}, { launch: 'filter-only' });
    await app.waitFor((e) => e.event === 'listening');
    app.child.kill('SIGUSR2');
    const failed = await app.waitFor((e) => e.event === 'checkpoint-failed');
    expect(failed).toMatchObject({ name: 'CheckpointError', step: 'service' });
    expect(failed.message).toContain('runs under a seccomp filter');
    expect(failed.message).toContain('defrost checkpoint -- COMMAND');
  });

  it('a launcher killed with SIGKILL takes its criu service with it (a detached one outlives it until stopped)', async () => {
    const launcher = await spawnTracked(process.execPath, [serviceLauncher], {}, { launch: 'plain' });
    const { pid, address } = (await launcher.waitFor((e) => e.event === 'service')) as unknown as {
      pid: number;
      address: string;
    };
    expect(await isAlive(pid)).toBe(true);
    expect(statSync(address).isSocket()).toBe(true);
    launcher.child.kill('SIGKILL');
    expect(await waitForPidGone(pid, 5_000, true)).toBe(true);

    const detached = await startDetachedCriuService();
    try {
      expect(await isAlive(detached.pid)).toBe(true);
    } finally {
      await detached.stop();
    }
    expect(await isAlive(detached.pid)).toBe(false);
  });

  it('a self-dump service that cannot start says why at once, not after its pidfile timeout', async () => {
    // `false` exits 1 as a criu that refuses its arguments would; a missing binary cannot spawn.
    await expect(startDetachedCriuService('false', 10_000)).rejects.toThrow(
      /service` did not start \(exit 1\)/,
    );
    await expect(startDetachedCriuService('/no/such/criu', 10_000)).rejects.toThrow(
      /did not start \(cannot start `\/no\/such\/criu`: spawn \/no\/such\/criu ENOENT\)/,
    );
  });

  it('a command that is not on PATH is a LaunchError naming it', async () => {
    await expect(
      spawnWithoutIoUring(['no-such-program-here'], { env: { PATH: '/usr/bin' } }),
    ).rejects.toThrow(LaunchError);
    await expect(
      spawnWithoutIoUring(['no-such-program-here'], { env: { PATH: '/usr/bin' } }),
    ).rejects.toThrow(/no-such-program-here: command not found/);
  });
});
