/**
 * The native fast path of `defrost restore` (native/*.c), with real CRIU: the first
 * restore of an image goes through Node and writes a launch plan; the next ones restore without
 * Node while nothing the plan relied on changed, and behave exactly like the full path (state,
 * --port/--env, signals, exit status, cleanup). A changed image, an untrusted cache or a plan
 * that fails all end in the full path, which restores anyway.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchPlanFile } from '@defrost/core/internal';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  FIXTURES,
  killLeftovers,
  type RunningCli,
  runCli,
  startCli,
  stopAll,
  waitGone,
} from '../helpers/cli.js';
import { freePort, getJson } from '../helpers/http.js';

const APP = join(FIXTURES, 'counter-app.mjs');

let work: string;
let image: string;
let cache: string;
let restoreTmp: string;
let frozenPort: number;
let bootId: string;

const restoredPids = new Set<number>();

/** `defrost restore` through the installed command, with its path choice printed. */
async function restoreViaBin(
  args: readonly string[] = [],
): Promise<{ cli: RunningCli; pid: number; path: string }> {
  const cli = startCli(['restore', image, ...args], {
    viaBin: true,
    env: { DEFROST_DEBUG: '1', DEFROST_CACHE_DIR: cache, TMPDIR: restoreTmp },
  });
  const m = await cli.waitFor(/defrost: restored .* in \d+ ms \(pid (\d+)\)/);
  const pid = Number(m[1]);
  restoredPids.add(pid);
  // The last word on the path taken (a failed fast path is followed by the full path's line).
  const path =
    [...cli.stderr().matchAll(/defrost: debug: ((?:fast|full) path[^\n]*)/g)].at(-1)?.[1] ?? '(none)';
  return { cli, pid, path };
}

async function stopWithSigterm(cli: RunningCli, pid: number): Promise<number | null> {
  cli.child.kill('SIGTERM');
  const end = await cli.exited;
  expect(await waitGone(pid)).toBe(true);
  return end.code;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'defrost-fast-'));
  image = join(work, 'image');
  cache = join(work, 'cache');
  restoreTmp = join(work, 'tmp');
  await mkdir(cache, { mode: 0o700 });
  await mkdir(restoreTmp, { mode: 0o700 });
  const r = await runCli(['checkpoint', '--image', image, '--', process.execPath, APP], { cwd: FIXTURES });
  expect(r.code, r.stderr).toBe(0);
  bootId = /fixture: boot (\S+) listening on (\d+)/.exec(r.stdout)?.[1] ?? '';
  frozenPort = Number(/fixture: boot \S+ listening on (\d+)/.exec(r.stdout)?.[1]);
  expect(frozenPort).toBeGreaterThan(0);
});
afterEach(async () => {
  await stopAll();
  await killLeftovers(restoredPids);
  // Every copy's private directory is removed by its restorer, on either path.
  expect(await readdir(restoreTmp)).toEqual([]);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('defrost restore: the fast path', () => {
  it('the first restore goes through Node and leaves a launch plan (0600) in the cache', async () => {
    const { cli, pid, path } = await restoreViaBin();
    expect(path).toMatch(/^full path: no launch plan/);
    expect((await getJson<{ bootId: string }>(frozenPort, '/boot')).bootId).toBe(bootId);
    expect(await stopWithSigterm(cli, pid)).toBe(42);
    const plan = launchPlanFile(image, cache);
    expect((await stat(plan)).mode & 0o777).toBe(0o600);
    expect(await readFile(plan, 'utf8')).toMatch(/^defrost-launch-plan 1\nimage /);
  });

  it('the next restore runs the plan without Node: state intact, SIGTERM forwarded, status back', async () => {
    const { cli, pid, path } = await restoreViaBin();
    expect(path).toMatch(/^fast path/);
    // No node process between the test and the restored server: the restorer is the native one.
    expect(await readFile(`/proc/${cli.pid}/comm`, 'utf8')).toBe('defrost-fast-re\n');
    const first = await getJson<{ count: number; bootId: string }>(frozenPort, '/count');
    expect(first.bootId).toBe(bootId);
    expect((await getJson<{ count: number }>(frozenPort, '/count')).count).toBe(first.count + 1);
    cli.child.kill('SIGTERM');
    const end = await cli.exited;
    expect(end.code, end.stderr).toBe(42);
    expect(end.stdout).toContain(`fixture: closed gracefully after ${first.count + 1} requests`);
    expect(await waitGone(pid)).toBe(true);
  });

  it('--port and --env reach the restored server (values with quotes, backslashes, newlines, UTF-8)', async () => {
    const port = await freePort();
    const value = 'say "hi"\\ then\nnext line: ünïcødé € 🧊';
    const { cli, pid, path } = await restoreViaBin([
      '--port',
      String(port),
      '--env',
      `GREETING=${value}`,
      '-e',
      'EMPTY=',
    ]);
    expect(path).toMatch(/^fast path/);
    expect((await getJson<{ value: string }>(port, '/env/GREETING')).value).toBe(value);
    expect((await getJson<{ value: string }>(port, '/env/EMPTY')).value).toBe('');
    expect(await stopWithSigterm(cli, pid)).toBe(42);
  });

  it('SIGINT is forwarded too: the server ends by it and the restorer exits 128+2', async () => {
    const { cli, pid, path } = await restoreViaBin();
    expect(path).toMatch(/^fast path/);
    cli.child.kill('SIGINT');
    expect((await cli.exited).code).toBe(130);
    expect(await waitGone(pid)).toBe(true);
  });

  it('a restorer killed with SIGKILL takes its copy down (no unsupervised server is left)', async () => {
    const { cli, pid, path } = await restoreViaBin();
    expect(path).toMatch(/^fast path/);
    cli.child.kill('SIGKILL');
    await cli.exited;
    expect(await waitGone(pid)).toBe(true);
    // What SIGKILL cannot clean up: the copy's private directory (logs only; settings are unlinked).
    for (const left of await readdir(restoreTmp)) {
      expect(await readdir(join(restoreTmp, left))).not.toContain('settings.json');
      await rm(join(restoreTmp, left), { recursive: true, force: true });
    }
  });

  it('--lazy-pages: the plan restores lazily as well', async () => {
    const { cli, pid, path } = await restoreViaBin(['--lazy-pages']);
    expect(path).toMatch(/^fast path/);
    expect((await getJson<{ bootId: string }>(frozenPort, '/boot')).bootId).toBe(bootId);
    expect(await stopWithSigterm(cli, pid)).toBe(42);
  });

  it('an option the plan cannot serve goes to the full path, with the same arguments', async () => {
    const envFile = join(work, 'env');
    await writeFile(envFile, 'GREETING=from-file\n');
    const { cli, pid, path } = await restoreViaBin(['--env-file', envFile]);
    expect(path).toBe('full path: option --env-file');
    expect((await getJson<{ value: string }>(frozenPort, '/env/GREETING')).value).toBe('from-file');
    expect(await stopWithSigterm(cli, pid)).toBe(42);
  });

  it('a changed image file voids the plan: the full path checks it again and writes a new plan', async () => {
    const manifest = join(image, 'defrost.json');
    await chmod(manifest, 0o600); // same mode: only the ctime changes
    const changed = await restoreViaBin();
    expect(changed.path).toBe(`full path: ${manifest} changed since the last full check`);
    expect(await stopWithSigterm(changed.cli, changed.pid)).toBe(42);
    const again = await restoreViaBin();
    expect(again.path).toMatch(/^fast path/);
    expect(await stopWithSigterm(again.cli, again.pid)).toBe(42);
  });

  it('a plan that fails to restore: the copy is stopped and the full path restores instead', async () => {
    const plan = launchPlanFile(image, cache);
    const text = await readFile(plan, 'utf8');
    // The copy's command now fails before CRIU runs; every identity still matches.
    await writeFile(plan, text.replace(/^eager-arg setpriv$/m, 'eager-arg /nonexistent/setpriv'), {
      mode: 0o600,
    });
    const { cli, pid, path } = await restoreViaBin();
    expect(path).toBe('full path: the restore command ended before the server was ready');
    expect(cli.stderr()).toContain('fast path: launch plan');
    expect((await getJson<{ bootId: string }>(frozenPort, '/boot')).bootId).toBe(bootId);
    expect(await stopWithSigterm(cli, pid)).toBe(42);
    // The full path wrote a working plan again.
    const rewritten = await readFile(plan, 'utf8');
    expect(rewritten).toMatch(/^eager-arg setpriv$/m);
    expect(rewritten).not.toContain('/nonexistent/');
  });

  it('a plan holding a NUL byte (a write torn by a crash) is not run: nothing after it went unchecked', async () => {
    const plan = launchPlanFile(image, cache);
    const text = await readFile(plan, 'utf8');
    // Found by fuzzing (native/fuzz): the reader stopped at a NUL at the start of a line and ran
    // the plan without the records after it, so this check of a file that is not there was skipped.
    await writeFile(plan, `${text}\0check 0:0:0:0:0 ${join(image, 'not-there')}\n`, { mode: 0o600 });
    const { cli, pid, path } = await restoreViaBin();
    expect(path).toBe(`full path: launch plan ${plan} holds a NUL byte`);
    expect((await getJson<{ bootId: string }>(frozenPort, '/boot')).bootId).toBe(bootId);
    expect(await stopWithSigterm(cli, pid)).toBe(42);
    // The full path wrote a whole plan again.
    expect(await readFile(plan, 'utf8')).not.toContain('\0');
  });

  it('a cache directory others can write to is not trusted', async () => {
    await chmod(cache, 0o777);
    try {
      const { cli, pid, path } = await restoreViaBin();
      expect(path).toBe(`full path: no trusted cache directory ${cache}`);
      expect(await stopWithSigterm(cli, pid)).toBe(42);
    } finally {
      await chmod(cache, 0o700);
    }
  });
});
