/**
 * The whole life of an image through the CLI, with real CRIU: `defrost checkpoint` of a Fastify
 * app that registers @defrost/fastify, `defrost inspect`, `defrost restore` serving with its state
 * intact, SIGTERM through the CLI to a graceful shutdown whose exit code comes back.
 */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, killLeftovers, runCli, startCli, stopAll, waitGone } from '../helpers/cli.js';
import { fakeImage } from '../helpers/fake-image.js';
import { freePort, getJson } from '../helpers/http.js';

const APP = join(FIXTURES, 'counter-app.mjs');

interface Count {
  count: number;
  bootId: string;
  pid: number;
}

/** PIDs of restored servers seen in "restored ... (pid P)" lines: killed after a failed test. */
const restoredPids = new Set<number>();
function noteRestored(stderr: string): number[] {
  const pids = [...stderr.matchAll(/defrost: restored .* in \d+ ms \(pid (\d+)\)/g)].map((m) => Number(m[1]));
  for (const pid of pids) restoredPids.add(pid);
  return pids;
}

let work: string;
let image: string;
let bootId: string;
let frozenPort: number;
let warmupRequests: number;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'defrost-cli-e2e-'));
  image = join(work, 'image');
});
afterEach(async () => {
  await stopAll();
  await killLeftovers(restoredPids);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('defrost checkpoint -> inspect -> restore', () => {
  it('checkpoint: exit 0 and a summary', async () => {
    const r = await runCli(['checkpoint', '--image', image, '--', process.execPath, APP], { cwd: FIXTURES });
    expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
    bootId = /fixture: boot (\S+)/.exec(r.stdout)?.[1] ?? '';
    expect(bootId).not.toBe('');
    expect(r.stdout).toContain('defrost: checkpoint of');
    expect(r.stdout).toMatch(new RegExp(`image\\s+${image}`));
    expect(r.stdout).toMatch(/size\s+\d+\.\d MiB in \d+ files/);
    expect(r.stdout).toMatch(/warm-up\s+\d+ requests in 40 rounds/);
    expect(r.stdout).toMatch(/checkpoint\s+\d+ ms/);
    expect(r.stderr).toContain('warmed up');
    expect(r.stderr).toContain('freezing');
  });

  it('inspect --json: a valid report of the image', async () => {
    const r = await runCli(['inspect', image, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as {
      integrity: { ok: boolean };
      compatibility: { restorable: boolean };
      listening: { port?: number; address: string }[];
      process: { argv: string[] };
      warmup: { requests: number; rounds: number };
      sizes: { totalBytes: number; pages: number };
      node: { version: string };
    };
    expect(report.integrity.ok).toBe(true);
    expect(report.compatibility.restorable).toBe(true);
    expect(report.node.version).toBe(process.version);
    expect(report.process.argv).toContain(APP);
    expect(report.sizes.totalBytes).toBeGreaterThan(1_000_000);
    expect(report.warmup.rounds).toBe(40);
    frozenPort = report.listening[0]?.port ?? 0;
    warmupRequests = report.warmup.requests;
    expect(frozenPort).toBeGreaterThan(0);
    const human = await runCli(['inspect', image]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`127.0.0.1:${frozenPort}`);
    expect(human.stdout).toContain(`${process.version} linux/${process.arch} at ${process.execPath}`);
    expect(human.stdout).toContain('restores only with this exact node binary');
    expect(human.stdout).toMatch(
      /cpu\s+\d+ features the copy may use \(.*\); a CPU without one of them is refused/,
    );
  });

  it('restore: serves with its state intact; SIGTERM -> graceful shutdown, exit code back', async () => {
    const cli = startCli(['restore', image]);
    await cli.waitFor(/defrost: restored .* in \d+ ms \(pid \d+\)/);
    const [serverPid] = noteRestored(cli.stderr());
    expect(cli.stderr()).toContain(`defrost: restored ${image} in `);

    const boot = await getJson<{ bootId: string }>(frozenPort, '/boot');
    expect(boot.bootId).toBe(bootId);
    // The warm-up hit /count and /boot alternately (the plugin may add a short re-warm-up after
    // shrinking the heap): the counter kept at least the warm-up's hits through the freeze.
    const first = await getJson<Count>(frozenPort, '/count');
    expect(first.count).toBeGreaterThan(warmupRequests / 2);
    expect((await getJson<Count>(frozenPort, '/count')).count).toBe(first.count + 1);

    cli.child.kill('SIGTERM');
    const end = await cli.exited;
    expect(end.code, `stdout:\n${end.stdout}\nstderr:\n${end.stderr}`).toBe(42);
    expect(end.stdout).toContain(`fixture: closed gracefully after ${first.count + 1} requests`);
    expect(await waitGone(serverPid!)).toBe(true);
  });

  it('restore --copies 2: two copies of one image at once, SIGINT reaches both', async () => {
    const cli = startCli(['restore', image, '--copies', '2']);
    await cli.waitFor(/restored[^\n]*\[copy 1\]/);
    const pids = noteRestored(cli.stderr());
    expect(new Set(pids).size).toBe(2);
    const seen = await getJson<Count>(frozenPort, '/count');
    expect(seen.bootId).toBe(bootId);
    cli.child.kill('SIGINT');
    const end = await cli.exited;
    // The fixture handles SIGTERM only: SIGINT ends each copy by signal, 128+2.
    expect(end.code, end.stderr).toBe(130);
    for (const pid of pids) expect(await waitGone(pid)).toBe(true);
  });

  it('restore --port P --env K=V: listens on the new port', async () => {
    const port = await freePort();
    const cli = startCli(['restore', image, '--port', String(port), '--env', 'GREETING=hi']);
    await cli.waitFor(/defrost: restored/);
    noteRestored(cli.stderr());
    const seen = await getJson<Count>(port, '/count');
    expect(seen.bootId).toBe(bootId);
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(42);
  });

  it('restore --lazy-pages: serves, memory paged in by a daemon that ends with the copy', async () => {
    const cli = startCli(['restore', image, '--lazy-pages']);
    await cli.waitFor(/defrost: restored/);
    const [serverPid] = noteRestored(cli.stderr());
    expect(cli.stderr()).not.toMatch(/restoring eagerly instead/);
    expect((await getJson<Count>(frozenPort, '/count')).bootId).toBe(bootId);
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(42);
    expect(await waitGone(serverPid!)).toBe(true);
  });

  it('restore --signing-key-file refuses an unsigned image: exit 4', async () => {
    const key = join(work, 'key');
    await writeFile(key, randomBytes(32));
    const r = await runCli(['restore', image, '--signing-key-file', key]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('not signed');
  });

  it('restore without setpriv, unshare or perl on PATH: exit 3, naming them and the fix', async () => {
    const bin = join(work, 'bare-bin');
    await mkdir(bin);
    for (const tool of ['node', 'criu']) {
      const real = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      await symlink(real, join(bin, tool));
    }
    const r = await runCli(['restore', image], { env: { PATH: bin } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('setpriv, unshare, perl missing on PATH');
    expect(r.stderr).toContain('fix: install them (Debian and Ubuntu: apt-get install util-linux perl-base)');
  });

  it('checkpoint into the same directory again: exit 4 without --force', async () => {
    const r = await runCli(['checkpoint', '--image', image, '--', process.execPath, APP]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('already exists');
  });
});

describe('more checkpoint modes', () => {
  it('--keep-running: the server keeps serving; SIGTERM is forwarded and its code comes back', async () => {
    const kept = join(work, 'kept-image');
    const cli = startCli(['checkpoint', '--image', kept, '--keep-running', '--', process.execPath, APP]);
    await cli.waitFor(/the app keeps running \(pid (\d+)\)/);
    const port = Number(/listening on (\d+)/.exec(cli.stdout())?.[1]);
    const before = await getJson<Count>(port, '/count');
    expect(before.count).toBeGreaterThan(1);
    expect(cli.stdout()).toContain('defrost: checkpoint of');
    cli.child.kill('SIGTERM');
    const end = await cli.exited;
    expect(end.code, end.stderr).toBe(42);
    expect(end.stdout).toContain('closed gracefully');
    const inspect = await runCli(['inspect', kept, '--json']);
    expect(inspect.code).toBe(0);
  });

  it('a signed image (binary key) restores with the key and is refused with another one', async () => {
    const signed = join(work, 'signed-image');
    const key = join(work, 'signing.key');
    const other = join(work, 'other.key');
    // What `openssl rand 32 > key` writes: bytes, NULs and newlines included.
    await writeFile(key, Buffer.concat([Buffer.from([0, 10, 255]), randomBytes(32)]));
    await writeFile(other, randomBytes(32));
    const made = await runCli([
      'checkpoint',
      '--image',
      signed,
      '--signing-key-file',
      key,
      '--',
      process.execPath,
      APP,
    ]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/signed\s+yes/);
    const inspected = await runCli(['inspect', signed, '--json', '--signing-key-file', key]);
    expect(JSON.parse(inspected.stdout).signature).toMatchObject({ present: true, verified: true });
    const wrong = await runCli(['restore', signed, '--signing-key-file', other]);
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toContain('signature');
    const cli = startCli(['restore', signed, '--signing-key-file', key]);
    await cli.waitFor(/defrost: restored/);
    noteRestored(cli.stderr());
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(42);
  });

  it('a host that requires signatures (DEFROST_SIGNING_KEY_FILE) signs every checkpoint and refuses unsigned or stripped images without being told', async () => {
    const hostKey = join(work, 'host.key');
    await writeFile(hostKey, randomBytes(48), { mode: 0o600 });
    const env = { DEFROST_SIGNING_KEY_FILE: hostKey };
    const signed = join(work, 'host-signed');
    const made = await runCli(['checkpoint', '--image', signed, '--', process.execPath, APP], { env });
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/signed\s+yes/);

    const unsigned = await runCli(['restore', image], { env });
    expect(unsigned.code).toBe(4);
    expect(unsigned.stderr).toMatch(/image .*: the image is not signed/);

    const stripped = join(work, 'host-stripped');
    await cp(signed, stripped, { recursive: true });
    const manifestFile = join(stripped, 'defrost.json');
    const { signature: _dropped, ...rest } = JSON.parse(await readFile(manifestFile, 'utf8'));
    await writeFile(manifestFile, JSON.stringify(rest, null, 2));
    const refused = await runCli(['restore', stripped], { env });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('not signed');

    const cli = startCli(['restore', signed], { env });
    await cli.waitFor(/defrost: restored/);
    noteRestored(cli.stderr());
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(42);
  });

  it('a key file shorter than 32 bytes is refused on every command, naming the option', async () => {
    const short = join(work, 'short.key');
    await writeFile(short, 'too short\n');
    for (const args of [
      ['restore', image, '--signing-key-file', short],
      ['inspect', image, '--signing-key-file', short],
      [
        'checkpoint',
        '--image',
        join(work, 'never'),
        '--signing-key-file',
        short,
        '--',
        process.execPath,
        APP,
      ],
    ]) {
      const r = await runCli(args);
      expect(r.code, args[0]).toBe(2);
      expect(r.stderr).toMatch(
        /--signing-key-file: signing key .*short\.key: 10 bytes; a key needs at least 32/,
      );
      expect(r.stderr).toContain('openssl rand 32 > KEYFILE');
    }
  });

  it('a checkpoint whose output pipe closes stops the app it started', async () => {
    const cli = startCli(['checkpoint', '--image', join(work, 'orphaned'), '--', process.execPath, APP], {
      env: { FIXTURE_WARMUP_MS: '60000' },
    });
    const [, port] = await cli.waitFor(/listening on (\d+)/, 'stdout');
    const { pid: appPid } = await getJson<Count>(Number(port), '/count');
    await cli.waitFor(/warming up/);
    // Whoever read the output is gone: `defrost checkpoint ... | head -1`, then head exits.
    cli.child.stdout!.destroy();
    cli.child.stderr!.destroy();
    try {
      const end = await cli.exited;
      expect(end.code).toBe(141); // 128 + SIGPIPE
      expect(await waitGone(appPid)).toBe(true);
    } finally {
      if (!(await waitGone(appPid, 100))) {
        process.kill(appPid, 'SIGKILL');
        await waitGone(appPid);
      }
    }
  });

  it('restore --fallback when CRIU cannot restore the files: says why and starts cold', async () => {
    const fake = join(work, 'fake-image');
    await fakeImage(fake);
    const r = await runCli([
      'restore',
      fake,
      '--fallback',
      '--',
      process.execPath,
      '-e',
      'console.log("cold"); process.exit(3)',
    ]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('cold');
    expect(r.stderr).toMatch(new RegExp(`defrost: cannot restore ${fake}: .+; starting cold: `));
  });
});
