/**
 * From the moment a copy resumes until its afterRestore hooks have finished, requests wait and
 * are then served by the fully reopened app: none is answered half-open, none fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { restoreToFile, spawnTracked, stopAllStarted } from '../../src/testing/index.js';

const fixture = fileURLToPath(new URL('../fixtures/slow-reopen-server.mjs', import.meta.url));
const HOOK_MS = 1_000;
let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'defrost-held-'));
  return () => rmSync(work, { recursive: true, force: true });
});
afterEach(stopAllStarted);

interface Answer {
  readonly status: number;
  readonly sentAt: number;
  readonly body: { ready: boolean; readyAt: number; answeredAt: number };
}

/** Sends one request after another until told to stop; a refused connection before the copy's
 * socket exists is not a request (nothing accepted it), anything else that goes wrong is a failure. */
function hammer(port: number) {
  const answers: Answer[] = [];
  const failures: string[] = [];
  let stop = false;
  const done = (async () => {
    while (!stop) {
      const sentAt = Date.now();
      try {
        const res = await request(`http://127.0.0.1:${port}/`, { reset: true, headersTimeout: 10_000 });
        answers.push({ status: res.statusCode, sentAt, body: (await res.body.json()) as Answer['body'] });
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'ECONNREFUSED' && answers.length === 0) await sleep(2);
        else failures.push(`${code ?? ''} ${(error as Error).message}`);
      }
    }
  })();
  return {
    answers,
    failures,
    async stop() {
      stop = true;
      await done;
    },
  };
}

describe('requests during afterRestore hooks (real CRIU)', () => {
  it(`a client hammering from the start of the restore gets no half-open answer and no failure (hook of ${HOOK_MS} ms)`, async () => {
    const imageDir = join(work, 'image');
    const app = await spawnTracked(process.execPath, [fixture, imageDir, String(HOOK_MS)]);
    const { port } = (await app.waitFor((e) => e.event === 'listening')) as { port: number };
    app.child.kill('SIGUSR2');
    await app.waitFor((e) => e.event === 'checkpointed');
    await app.exited;

    const client = hammer(port);
    const copy = await restoreToFile(imageDir, join(work, 'copy.out'));
    await sleep(200);
    await client.stop();

    expect(client.failures).toEqual([]);
    expect(client.answers.length).toBeGreaterThan(0);
    expect(client.answers.filter((a) => a.status !== 200 || !a.body.ready)).toEqual([]);
    // Some requests were sent while the hook ran: they waited for it, they were not refused.
    const readyAt = client.answers[0]!.body.readyAt;
    const heldOnes = client.answers.filter((a) => a.sentAt < readyAt);
    expect(heldOnes.length).toBeGreaterThan(0);
    for (const a of heldOnes) expect(a.body.answeredAt).toBeGreaterThanOrEqual(readyAt);
    expect(copy.hooksMs).toBeGreaterThanOrEqual(HOOK_MS);
    expect(await copy.stop()).toEqual({ status: 0 });
  });
});
