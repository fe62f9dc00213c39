/**
 * bin/defrost, the command as installed: every command but restore goes to Node; restore goes to
 * the native fast path first, which hands anything it cannot serve to Node with the same
 * arguments, so answers and exit codes are the full path's. (Restores it serves itself are
 * tested against real CRIU in test/integration/fast-restore.test.ts.)
 */
import { execFile } from 'node:child_process';
import { access, constants, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';

let work: string;
let cache: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'defrost-bin-test-'));
  cache = join(work, 'cache');
  await mkdir(cache, { mode: 0o700 });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const debugEnv = () => ({ DEFROST_DEBUG: '1', DEFROST_CACHE_DIR: cache });

describe('the installed defrost command', () => {
  it('is built with the native fast path of restore', async () => {
    await expect(
      access(join(BIN, '../../dist/defrost-fast-restore'), constants.X_OK),
    ).resolves.toBeUndefined();
  });

  it('doctor reports the fast path as built', async () => {
    const r = await runCli(['doctor', '--json'], { viaBin: true, env: { DEFROST_CACHE_DIR: cache } });
    const report = JSON.parse(r.stdout) as { checks: { id: string; status: string; detail: string }[] };
    const fast = report.checks.find((c) => c.id === 'fast-restore');
    expect(fast?.status, fast?.detail).toBe('pass');
    expect(fast?.detail).toContain('dist/defrost-fast-restore');
  });

  it('runs other commands in Node, also through a symlink (as npm installs it)', async () => {
    const link = join(work, 'defrost');
    await symlink(BIN, link);
    const r = await runCli(['--version'], { viaBin: true });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const viaLink = await new Promise<string>((resolve, reject) =>
      execFile(link, ['--version'], (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
    expect(viaLink.trim()).toBe(r.stdout.trim());
  });

  it.each([
    [['restore', '/nonexistent/image'], 'full path: /nonexistent/image: No such file or directory', 4],
    [['restore', '--copies', 'zero', 'x'], 'full path: option --copies', 2],
    [['restore', 'x', '--port', '70000'], 'full path: --port 70000 is not a port', 2],
    [['restore', 'x', '--env', '1BAD=x'], 'full path: --env 1BAD=x is not KEY=VALUE', 2],
    [['restore', 'x', '--', 'node', 'app.js'], 'full path: a command without --fallback', 2],
    [['restore', 'x', '--fallback'], 'full path: --fallback without a command', 2],
    [['restore', '--help'], 'full path: option --help', 0],
  ])('restore %j: the full path answers (%s), exit %i', async (args, reason, code) => {
    const r = await runCli(args, { viaBin: true, env: debugEnv() });
    expect(r.stderr).toContain(`defrost: debug: ${reason}`);
    expect(r.code, r.stderr).toBe(code);
  });

  it.each([
    ['an overlong form', '\\300\\270'],
    ['a surrogate', '\\355\\240\\200'],
    ['a code point above U+10FFFF', '\\364\\220\\200\\200'],
  ])('restore --env with %s (ill-formed UTF-8) goes to the full path', async (_what, octal) => {
    // Found by fuzzing (native/fuzz): these reached the settings file, which must be UTF-8 JSON.
    // Raw bytes cannot be spawn() arguments (strings are UTF-8 encoded), so printf makes them.
    const r = await new Promise<{ stderr: string }>((resolve) =>
      execFile(
        '/bin/sh',
        ['-c', `exec "$0" restore /nonexistent/image --env "$(printf 'A=${octal}')"`, BIN],
        { env: { ...process.env, ...debugEnv() } },
        (_error, _stdout, stderr) => resolve({ stderr }),
      ),
    );
    expect(r.stderr).toContain('defrost: debug: full path: --env A: the value is not UTF-8');
  });

  it('an image without a launch plan goes to the full path, which explains the refusal', async () => {
    const image = join(work, 'not-an-image');
    await mkdir(image);
    const r = await runCli(['restore', image], { viaBin: true, env: debugEnv() });
    expect(r.stderr).toMatch(/defrost: debug: full path: no launch plan .*launch-[0-9a-f]{16}\.plan/);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('defrost.json');
  });

  it('--fallback still runs the cold command when the image cannot be restored', async () => {
    const r = await runCli(
      ['restore', '/nonexistent/image', '--fallback', '--', process.execPath, '-e', 'process.exit(7)'],
      { viaBin: true, env: debugEnv() },
    );
    expect(r.stderr).toContain('starting cold');
    expect(r.code).toBe(7);
  });
});
