import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { restoreToFile, spawnTracked, stopAllStarted } from '../../src/testing/index.js';

const fixture = fileURLToPath(new URL('../fixtures/freeze-server.mjs', import.meta.url));
let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'defrost-copies-'));
  return () => rmSync(work, { recursive: true, force: true });
});
afterEach(stopAllStarted);

interface Answer {
  restoreId: string;
  uuid: string;
  bytes: string;
  random: number;
  secret: string | null;
}

async function ask(port: number, path = '/'): Promise<Answer> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { reset: true });
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as Answer;
}

async function freezeFixture(name: string, mode: 'exit' | 'continue' = 'exit') {
  const imageDir = join(work, name);
  const app = await spawnTracked(process.execPath, [fixture, imageDir, mode]);
  const { port } = (await app.waitFor((e) => e.event === 'listening')) as { port: number };
  return { app, port, imageDir };
}

describe('many copies of one image (real CRIU)', () => {
  it('restores three copies at once; all serve on the shared port, each with its own randomness', async () => {
    const { app, port, imageDir } = await freezeFixture('three');
    await ask(port);
    app.child.kill('SIGUSR2');
    await app.waitFor((e) => e.event === 'checkpointed');
    await app.exited;

    const outs = [0, 1, 2].map((i) => join(work, `copy-${i}.out`));
    const copies = await Promise.all(
      outs.map((out, copy) => restoreToFile(imageDir, out, { copy, env: { SECRET: `s-${copy}` } })),
    );
    expect(new Set(copies.map((c) => c.pid)).size).toBe(3);

    // Each copy says, right after its restore, what its generators give.
    const seeded = outs.map((out) => {
      const line = readFileSync(out, 'utf8')
        .split('\n')
        .find((l) => l.includes('"after-restore"'));
      return JSON.parse(line!) as Answer & { copy: number };
    });
    expect(seeded.map((s) => s.copy).sort()).toEqual([0, 1, 2]);
    for (const key of ['uuid', 'bytes', 'random', 'restoreId'] as const) {
      expect(new Set(seeded.map((s) => s[key])).size, key).toBe(3);
    }

    // SO_REUSEPORT was set before the freeze: the kernel spreads new connections over the copies.
    const answers: Answer[] = [];
    for (let i = 0; i < 60; i++) answers.push(await ask(port));
    const served = new Set(answers.map((a) => a.restoreId));
    expect(served).toEqual(new Set(copies.map((c) => c.restoreId)));
    expect(new Set(answers.map((a) => a.uuid)).size).toBe(60);
    expect(new Set(answers.map((a) => a.random)).size).toBe(60);
    // Restore-time environment reached each copy before its hooks.
    for (const answer of answers) {
      const copy = copies.findIndex((c) => c.restoreId === answer.restoreId);
      expect(answer.secret).toBe(`s-${copy}`);
    }
    const exits = await Promise.all(copies.map((c) => c.stop()));
    expect(exits.map((e) => e.status)).toEqual([0, 0, 0]);
  });

  it('refuses a checkpoint when the audit finds a plain-write file, naming it, and keeps serving', async () => {
    const { app, port, imageDir } = await freezeFixture('audit');
    const held = join(work, 'held-open.txt');
    await ask(port, `/open-file?path=${encodeURIComponent(held)}`);
    app.child.kill('SIGUSR2');
    const failed = (await app.waitFor((e) => e.event === 'checkpoint-failed')) as {
      step: string;
      message: string;
    };
    expect(failed.step).toBe('audit');
    expect(failed.message).toContain(held);
    expect((await ask(port)).restoreId).toBe('original');
    // The lifecycle reopened what it had closed.
    await app.waitFor((e) => e.event === 'after-restore' && e.reason === 'checkpoint-failed');
    await expect(import('node:fs').then((fs) => fs.existsSync(imageDir))).resolves.toBe(false);
  });
});
