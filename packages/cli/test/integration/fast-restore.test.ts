/**
 * The native fast path of `defrost restore` (native/*.c), with real CRIU: the first
 * restore of an image goes through Node and writes a launch plan; the next ones restore without
 * Node while nothing the plan relied on changed, and behave exactly like the full path (state,
 * --port/--env, signals, exit status, cleanup). A changed image, an untrusted cache or a plan
 * that fails all end in the full path, which restores anyway.
 */
import { randomBytes } from 'node:crypto';
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
  o: { readonly image?: string; readonly env?: Record<string, string> } = {},
): Promise<{ cli: RunningCli; pid: number; path: string }> {
  const cli = startCli(['restore', o.image ?? image, ...args], {
    viaBin: true,
    env: { DEFROST_DEBUG: '1', DEFROST_CACHE_DIR: cache, TMPDIR: restoreTmp, ...o.env },
  });
  const m = await cli.waitFor(/defrost: restored .* in \d+ ms \(pid (\d+)\)/);
  const pid = Number(m[1]);
  restoredPids.add(pid);
  // The last word on the path taken (a failed fast path is followed by the full path's line).
  const path =
    [...cli.stderr().matchAll(/defrost: debug: ((?:fast|full) path[^\n]*)/g)].at(-1)?.[1] ?? '(none)';
  return { cli, pid, path };
}

/** Polls `check` for up to 5 s. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (const deadline = Date.now() + 5_000; Date.now() < deadline; ) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
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
    expect(await readFile(plan, 'utf8')).toMatch(/^defrost-launch-plan 2\nimage /);
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
    // Nothing of the restorer ran after SIGKILL: its janitor removed the copy's private directory.
    expect(await eventually(async () => (await readdir(restoreTmp)).length === 0)).toBe(true);
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

  it('a signed image takes the fast path while the key that applies is the one it was checked with', async () => {
    const signed = join(work, 'signed');
    const key = join(work, 'host.key');
    await writeFile(key, randomBytes(32), { mode: 0o600 });
    const env = { DEFROST_SIGNING_KEY_FILE: key };
    const made = await runCli(['checkpoint', '--image', signed, '--', process.execPath, APP], {
      cwd: FIXTURES,
      env,
    });
    expect(made.code, made.stderr).toBe(0);
    const first = await restoreViaBin([], { image: signed, env });
    expect(first.path).toMatch(/^full path: no launch plan/);
    expect(await stopWithSigterm(first.cli, first.pid)).toBe(42);
    const plan = await readFile(launchPlanFile(signed, cache), 'utf8');
    expect(plan).toContain(`\nsigning-key ${key}\n`);
    const second = await restoreViaBin([], { image: signed, env });
    expect(second.path).toMatch(/^fast path/);
    expect(await stopWithSigterm(second.cli, second.pid)).toBe(42);
    // Without the key the host policy is gone: the full path decides (and accepts: no key, no policy).
    const without = await restoreViaBin([], { image: signed });
    expect(without.path).toBe(`full path: the signing key is -, the plan's is ${key}`);
    expect(await stopWithSigterm(without.cli, without.pid)).toBe(42);
  });

  it('a host that starts requiring signatures never restores an unsigned image through an old plan', async () => {
    const warm = await restoreViaBin();
    expect(await stopWithSigterm(warm.cli, warm.pid)).toBe(42);
    expect(await readFile(launchPlanFile(image, cache), 'utf8')).toContain('\nsigning-key -\n');
    const key = join(work, 'new-host.key');
    await writeFile(key, randomBytes(32), { mode: 0o600 });
    const refused = await runCli(['restore', image], {
      viaBin: true,
      env: {
        DEFROST_DEBUG: '1',
        DEFROST_CACHE_DIR: cache,
        TMPDIR: restoreTmp,
        DEFROST_SIGNING_KEY_FILE: key,
      },
    });
    expect(refused.stderr).toContain(`full path: the signing key is ${key}, the plan's is -`);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('not signed');
  });

  it('a plan checked on another CPU goes to the full path', async () => {
    const warm = await restoreViaBin();
    expect(await stopWithSigterm(warm.cli, warm.pid)).toBe(42);
    const planFile = launchPlanFile(image, cache);
    const plan = await readFile(planFile, 'utf8');
    await writeFile(planFile, plan.replace(/\ncpu [0-9a-f]{16}\n/, '\ncpu 0000000000000000\n'), {
      mode: 0o600,
    });
    const other = await restoreViaBin();
    expect(other.path).toBe('full path: the CPU is not the one the plan was checked on');
    expect(await stopWithSigterm(other.cli, other.pid)).toBe(42);
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
