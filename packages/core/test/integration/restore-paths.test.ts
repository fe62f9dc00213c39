import {
  chmodSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RestoredServer, restore } from '../../src/index.js';
import { isAlive, waitForPidGone } from '../../src/internal.js';
import { spawnTracked, stopAllStarted, track } from '../../src/testing/index.js';

const fixture = fileURLToPath(new URL('../fixtures/freeze-server.mjs', import.meta.url));
let work: string;
let image: string;
let port: number;
const savedCacheDir = process.env.DEFROST_CACHE_DIR;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'defrost-paths-'));
  image = join(work, 'image');
  const app = await spawnTracked(process.execPath, [fixture, image]);
  port = ((await app.waitFor((e) => e.event === 'listening')) as { port: number }).port;
  app.child.kill('SIGUSR2');
  await app.waitFor((e) => e.event === 'checkpointed');
  await app.exited;
});
afterEach(async () => {
  await stopAllStarted();
  if (savedCacheDir === undefined) delete process.env.DEFROST_CACHE_DIR;
  else process.env.DEFROST_CACHE_DIR = savedCacheDir;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function restoreAndCheck(options: Parameters<typeof restore>[1]): Promise<RestoredServer> {
  const out = openSync(join(work, 'out.log'), 'a');
  try {
    const copy = await restore(image, { ...options, stdout: out, stderr: out });
    track(copy.pid);
    track(copy.launcherPid);
    const res = await request(`http://127.0.0.1:${port}/`, { reset: true });
    expect(res.statusCode).toBe(200);
    expect(((await res.body.json()) as { restoreId: string }).restoreId).toBe(copy.restoreId);
    return copy;
  } finally {
    closeSync(out);
  }
}

describe('restore paths (real CRIU)', () => {
  it('eager: all memory restored before the copy resumes', async () => {
    const copy = await restoreAndCheck({});
    expect(copy.timings.lazyPages).toBe(false);
    expect(copy.timings.criuMs).toBeGreaterThan(0);
    await copy.stop();
  });

  it('lazy: memory paged in through userfaultfd by a daemon that dies with the copy', async () => {
    const warnings: string[] = [];
    const copy = await restoreAndCheck({ lazyPages: true, onWarning: (m) => warnings.push(m) });
    expect(copy.timings.lazyPages, warnings.join('\n')).toBe(true);
    expect((await copy.stop()).status).toBe(0);
  });

  it('lazy with a daemon that fails to start: falls back to eager and says so', async () => {
    const fakeDaemon = join(work, 'broken-criu');
    writeFileSync(fakeDaemon, '#!/bin/sh\necho "lazy-pages: cannot start" >&2\nexit 1\n');
    chmodSync(fakeDaemon, 0o755);
    const warnings: string[] = [];
    const copy = await restoreAndCheck({
      lazyPages: true,
      lazyPagesDaemon: fakeDaemon,
      onWarning: (m) => warnings.push(m),
    });
    expect(copy.timings.lazyPages).toBe(false);
    expect(warnings.join('\n')).toMatch(
      /lazy-pages restore failed, restoring eagerly instead: .*lazy-pages daemon did not start/,
    );
    await copy.stop();
  });

  it('keeps CRIU kernel-feature cache: builds it when missing, uses it after, never touches the host /run', async () => {
    const cache = join(work, 'cache');
    process.env.DEFROST_CACHE_DIR = cache;
    const hostRunBefore = readdirSync('/run').sort();
    const first = await restoreAndCheck({});
    await first.stop();
    const saved = readdirSync(cache).filter((f) => f.endsWith('.kdat'));
    expect(saved).toHaveLength(1);
    const second = await restoreAndCheck({});
    await second.stop();
    expect(readdirSync(cache).filter((f) => f.endsWith('.kdat'))).toEqual(saved);
    expect(readdirSync('/run').sort()).toEqual(hostRunBefore);
  });

  it('a killed restorer takes its restored server down with it', async () => {
    const restorer = await spawnTracked(
      process.execPath,
      [fileURLToPath(new URL('../fixtures/restorer.mjs', import.meta.url)), image],
      {},
      { launch: 'plain' },
    );
    const { pid, launcherPid } = (await restorer.waitFor((e) => e.event === 'restored')) as {
      pid: number;
      launcherPid: number;
    };
    track(pid);
    track(launcherPid);
    expect(await isAlive(pid)).toBe(true);
    restorer.child.kill('SIGKILL');
    await restorer.exited;
    expect(await waitForPidGone(pid, 5_000)).toBe(true);
    expect(await waitForPidGone(launcherPid, 5_000)).toBe(true);
  });

  it('restores without any cache when asked to', async () => {
    const copy = await restoreAndCheck({ kdatCache: false });
    await copy.stop();
    expect(existsSync(image)).toBe(true);
  });
});
