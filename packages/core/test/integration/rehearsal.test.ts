import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { restoreToFile, spawnTracked, stopAllStarted } from '../../src/testing/index.js';

const fixture = fileURLToPath(new URL('../fixtures/freeze-server.mjs', import.meta.url));
let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'defrost-rehearsal-'));
  return () => rmSync(work, { recursive: true, force: true });
});
afterEach(stopAllStarted);

async function restoreIdAt(port: number, path = '/'): Promise<string> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { reset: true });
  expect(res.statusCode).toBe(200);
  return ((await res.body.json()) as { restoreId: string }).restoreId;
}

async function startFixture(name: string) {
  const dir = join(work, name);
  const imageDir = join(dir, 'image');
  const app = await spawnTracked(process.execPath, [fixture, imageDir, 'exit']);
  const { port } = (await app.waitFor((e) => e.event === 'listening')) as { port: number };
  return { app, port, dir, imageDir };
}

describe('rehearsing the freeze (real CRIU service, real audit)', () => {
  it('runs the hooks as a freeze does, writes nothing, keeps serving; the real freeze after it restores', async () => {
    const { app, port, dir, imageDir } = await startFixture('then-freeze');
    await restoreIdAt(port);
    app.child.kill('SIGHUP');
    const before = await app.waitFor((e) => e.event === 'before-checkpoint');
    expect(before).toMatchObject({ rehearsal: true, mode: 'continue' });
    await app.waitFor((e) => e.event === 'after-restore' && e.reason === 'rehearsal');
    const rehearsed = await app.waitFor((e) => e.event === 'rehearsed');
    // The copies' own setup ran too: Math.random is already replaced, as it will be in every copy.
    expect(rehearsed).toMatchObject({ mathRandomIsBuiltin: false });
    // Nothing on disk: no image and no staging directory next to where it would go.
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    // Still serving, with its stdio back (it printed after the rehearsal).
    expect(await restoreIdAt(port)).toBe('original');

    app.child.kill('SIGUSR2');
    const real = await app.waitFor((e) => e.event === 'before-checkpoint' && e.rehearsal === false);
    expect(real).toMatchObject({ mode: 'exit' });
    await app.waitFor((e) => e.event === 'checkpointed');
    await app.exited;
    const out = join(work, 'then-freeze.out');
    const copy = await restoreToFile(imageDir, out);
    expect(await restoreIdAt(port)).toBe(copy.restoreId);
    // The copy's hooks saw a restore, not a rehearsal.
    expect(readFileSync(out, 'utf8')).toMatch(/"reason":"restored"/);
    expect((await copy.stop()).status).toBe(0);
  });

  it('fails like a freeze when the audit refuses, naming the file; everything is reopened', async () => {
    const { app, port, dir } = await startFixture('refused');
    const held = join(work, 'held-by-rehearsal.txt');
    await restoreIdAt(port, `/open-file?path=${encodeURIComponent(held)}`);
    app.child.kill('SIGHUP');
    const failed = (await app.waitFor((e) => e.event === 'rehearsal-failed')) as {
      step: string;
      message: string;
    };
    expect(failed.step).toBe('audit');
    expect(failed.message).toContain(held);
    await app.waitFor((e) => e.event === 'after-restore' && e.reason === 'checkpoint-failed');
    expect(await restoreIdAt(port)).toBe('original');
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });

  describe('a client connection its hook closes', () => {
    let upstream: Server;
    let upstreamPort: number;
    beforeAll(async () => {
      upstream = createServer((socket) => socket.on('error', () => {}));
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      upstreamPort = (upstream.address() as { port: number }).port;
      return () => new Promise<void>((resolve) => upstream.close(() => resolve()));
    });

    it('a moment after the hook returned (as pg pool.end() does) does not stop the freeze', async () => {
      const { app, port } = await startFixture('closed-late');
      await restoreIdAt(port, `/connect?port=${upstreamPort}&closeAfterMs=300`);
      app.child.kill('SIGHUP');
      const outcome = await app.waitFor((e) => e.event === 'rehearsed' || e.event === 'rehearsal-failed');
      expect(outcome, JSON.stringify(outcome)).toMatchObject({ event: 'rehearsed' });
    });

    it('never: refused once the 2 s grace is over, named with its peer', async () => {
      const { app, port } = await startFixture('never-closed');
      await restoreIdAt(port, `/connect?port=${upstreamPort}&closeAfterMs=-1`);
      const started = Date.now();
      app.child.kill('SIGHUP');
      const failed = (await app.waitFor((e) => e.event === 'rehearsal-failed')) as {
        step: string;
        message: string;
      };
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
      expect(failed.step).toBe('audit');
      expect(failed.message).toContain(`-> 127.0.0.1:${upstreamPort}`);
      expect(await restoreIdAt(port)).toBe('original');
    });
  });
});
