/**
 * Faults a checkpoint meets for real, and what must hold after each: no image that looks valid,
 * nothing left behind, and a server that keeps serving.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnTracked, stopAllStarted } from '../../src/testing/index.js';

const fixture = fileURLToPath(new URL('../fixtures/freeze-server.mjs', import.meta.url));
let work: string;
let small: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'defrost-faults-'));
  small = join(work, 'small-disk');
  mkdirSync(small);
  // A 4 MiB file system: far less than any Node process's image.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0755', 'defrost-test-small-disk', small]);
});
afterAll(async () => {
  await stopAllStarted();
  execFileSync('umount', [small]);
  rmSync(work, { recursive: true, force: true });
});

describe('faults during a checkpoint (real CRIU)', () => {
  it('a disk that fills up leaves no image and a serving server', async () => {
    const imageDir = join(small, 'image');
    const app = await spawnTracked(process.execPath, [fixture, imageDir, 'exit']);
    const { port } = (await app.waitFor((e) => e.event === 'listening')) as { port: number };
    app.child.kill('SIGUSR2');
    const failed = await app.waitFor((e) => e.event === 'checkpoint-failed');
    expect(failed).toMatchObject({ name: 'CheckpointError' });
    expect(String(failed.message)).toMatch(
      /^no space left for the image on the file system of .*small-disk \([\d.]+ MiB free of 4\.0 MiB\); nothing was written: free some space/,
    );
    // Nothing that looks like an image, and nothing half-written either.
    expect(readdirSync(small)).toEqual([]);
    const res = await request(`http://127.0.0.1:${port}/`, { reset: true });
    expect(res.statusCode).toBe(200);
    await res.body.json();
    expect(app.child.exitCode).toBeNull();
  });
});
