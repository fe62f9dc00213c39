/**
 * The CLI run for real (node dist/bin.js ...) on everything that needs no CRIU dump: help, usage
 * errors, doctor with fake binaries on PATH, checkpoint's refusals and failure handling with
 * stand-in apps, inspect of crafted images, restore's fallback.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli, stopAll, waitGone } from '../helpers/cli.js';
import { fakeImage } from '../helpers/fake-image.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'defrost-cli-test-'));
});
afterEach(async () => {
  await stopAll();
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** stderr without blank lines. */
const lines = (text: string): string[] => text.split('\n').filter((l) => l.trim() !== '');

describe('help and usage errors', () => {
  it.each([
    [[]],
    [['doctor']],
    [['checkpoint']],
    [['restore']],
    [['inspect']],
    [['push']],
    [['pull']],
  ])('defrost %j --help shows examples and exits 0', async (command) => {
    const r = await runCli([...command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('$ defrost');
    if (command.length === 0) expect(r.stdout).toContain('Exit codes:');
  });

  it('an unknown option: exit 2 and a one-line error', async () => {
    const r = await runCli(['inspect', '/tmp/x', '--bogus']);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^defrost: unknown option '--bogus'.*defrost inspect --help/);
    expect(r.stdout).toBe('');
  });

  it.each([
    [['restore', 'dir', '--copies', 'zero']],
    [['restore', 'dir', '--env', 'NOEQUALS']],
    [['checkpoint', '--image', 'x']],
    [['checkpoint', '--timeout', 'soon', '--image', 'x', '--', 'node']],
    [['frobnicate']],
    [['restore']],
  ])('defrost %j: exit 2 with one line', async (args) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^defrost: /);
  });

  it('defrost alone: usage on stderr, exit 2', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: defrost');
  });

  it('a command after the image without --fallback is a usage error', async () => {
    const r = await runCli(['restore', join(work, 'nothing'), '--', 'node', 'app.js']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--fallback');
  });
});

describe('doctor with fake binaries on PATH', () => {
  let empty: string;
  let old: string;
  beforeAll(async () => {
    empty = join(work, 'path-empty');
    old = join(work, 'path-old');
    await mkdir(empty);
    await mkdir(old);
    await writeFile(join(old, 'criu'), '#!/bin/sh\necho "Version: 3.17.1"\n');
    await chmod(join(old, 'criu'), 0o755);
  });

  it('no criu at all: names "found no CRIU", 4.2, the install command; exit 3', async () => {
    const r = await runCli(['doctor'], { env: { PATH: empty } });
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('found no CRIU');
    expect(r.stdout).toContain('CRIU >= 4.2');
    expect(r.stdout).toContain('kernels >= 6.16');
    expect(r.stdout).toContain('sudo bash scripts/install-criu.sh');
    expect(r.stdout).toMatch(/\[FAIL\] CRIU >= 4\.2/);
    expect(r.stdout).toContain('not ready');
  });

  it('an old criu: names its version; exit 3', async () => {
    const r = await runCli(['doctor'], { env: { PATH: old } });
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('found CRIU 3.17.1');
    expect(r.stdout).toContain('sudo bash scripts/install-criu.sh');
  });

  it('--json gives the report as JSON', async () => {
    const r = await runCli(['doctor', '--json'], { env: { PATH: old } });
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      needsCriuInstall: boolean;
      checks: { id: string; status: string }[];
    };
    expect(report.ok).toBe(false);
    expect(report.needsCriuInstall).toBe(true);
    expect(report.checks.find((c) => c.id === 'criu')?.status).toBe('fail');
  });

  it('--fix runs the installer when CRIU is missing, then checks again', async () => {
    const marker = join(work, 'installer-ran');
    const installer = join(work, 'fake-install-criu.sh');
    await writeFile(installer, `echo "fake installer" >&2\necho ran > '${marker}'\n`);
    const r = await runCli(['doctor', '--fix'], {
      env: { PATH: empty, DEFROST_INSTALL_CRIU_SCRIPT: installer },
    });
    expect(await readFile(marker, 'utf8')).toBe('ran\n');
    expect(r.stderr).toContain('fake installer');
    expect(r.stderr).toContain('checking again');
    expect(r.code).toBe(3); // the fake installed nothing
  });

  it('--fix without an installer prints the manual command', async () => {
    const r = await runCli(['doctor', '--fix'], {
      env: { PATH: empty, DEFROST_INSTALL_CRIU_SCRIPT: join(work, 'no-such-installer.sh') },
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('sudo bash scripts/install-criu.sh');
  });

  it('colour: only when asked for, and never with NO_COLOR', async () => {
    const forced = await runCli(['doctor'], { env: { PATH: empty, NO_COLOR: undefined, FORCE_COLOR: '1' } });
    expect(forced.stdout).toContain('\u001b[');
    const plain = await runCli(['doctor'], { env: { PATH: empty, FORCE_COLOR: '1', NO_COLOR: '1' } });
    expect(plain.stdout).not.toContain('\u001b[');
  });
});

describe('checkpoint without CRIU', () => {
  it('refuses an existing image directory before starting anything: exit 4', async () => {
    const image = join(work, 'existing-image');
    await mkdir(image);
    const marker = join(work, 'should-not-exist');
    const r = await runCli([
      'checkpoint',
      '--image',
      image,
      '--',
      process.execPath,
      '-e',
      `require('fs').writeFileSync(${JSON.stringify(marker)}, 'started')`,
    ]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('already exists');
    expect(r.stderr).toContain('--force');
    await expect(readFile(marker)).rejects.toThrow();
  });

  it('starts the app under the io_uring filter with the DEFROST_* variables, a criu service and --expose-gc', async () => {
    const dump = join(work, 'env.json');
    const image = join(work, 'env-image');
    const key = join(work, 'key');
    await writeFile(key, 'secret-key-of-32-bytes-or-more!!\n');
    const script = `require('fs').writeFileSync(${JSON.stringify(dump)}, JSON.stringify({ env: process.env, gc: typeof gc, ppid: process.ppid, sid: require('fs').readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[3], seccomp: /Seccomp:\\s*(\\d)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1], pid: process.pid })); process.exit(1)`;
    const r = await runCli([
      'checkpoint',
      '--image',
      image,
      '--force',
      '--signing-key-file',
      key,
      '--',
      process.execPath,
      '-e',
      script,
    ]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('exited with status 1 before writing an image');
    const seen = JSON.parse(await readFile(dump, 'utf8')) as {
      env: Record<string, string>;
      gc: string;
      sid: string;
      seccomp: string;
      pid: number;
    };
    expect(seen.env.DEFROST_CHECKPOINT_IMAGE).toBe(image);
    expect(seen.env.DEFROST_CHECKPOINT_MODE).toBe('exit');
    expect(seen.env.DEFROST_CHECKPOINT_FORCE).toBe('1');
    // The key never reaches the app: its memory becomes the image the key signs.
    expect(seen.env.DEFROST_SIGNING_KEY).toBeUndefined();
    expect(Object.values(seen.env).join('\n')).not.toContain('secret-key');
    expect(seen.env.DEFROST_PROGRESS_FILE).toMatch(/progress\.jsonl$/);
    expect(seen.seccomp).toBe('2');
    expect(seen.env.DEFROST_CRIU_SERVICE).toMatch(/criu\.sock$/);
    expect(seen.env.NODE_OPTIONS).toContain('--expose-gc');
    expect(seen.gc).toBe('function');
    // detached: the app leads its own session
    expect(Number(seen.sid)).toBe(seen.pid);
  });

  it('a "failed" progress event: prints the reason, stops the app, exit 5', async () => {
    const pidFile = join(work, 'failing-app.pid');
    const script = `
      const fs = require('fs');
      fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
      fs.appendFileSync(process.env.DEFROST_PROGRESS_FILE, JSON.stringify({ step: 'warmup', requests: 10, rounds: 5 }) + '\\n');
      fs.appendFileSync(process.env.DEFROST_PROGRESS_FILE, JSON.stringify({ step: 'failed', message: 'fd 23 is an established TCP connection to 10.0.0.1:5432' }) + '\\n');
      setInterval(() => {}, 1000);`;
    const r = await runCli([
      'checkpoint',
      '--image',
      join(work, 'failed-image'),
      '--',
      process.execPath,
      '-e',
      script,
    ]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('checkpoint failed: fd 23 is an established TCP connection');
    expect(r.stderr).toContain('stopping the app');
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(await waitGone(pid)).toBe(true);
  });

  it('a timeout: stops the app, exit 5', async () => {
    const pidFile = join(work, 'slow-app.pid');
    const script = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000);`;
    const r = await runCli([
      'checkpoint',
      '--image',
      join(work, 'slow-image'),
      '--timeout',
      '1',
      '--',
      process.execPath,
      '-e',
      script,
    ]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('no checkpoint within 1 s');
    expect(await waitGone(Number(await readFile(pidFile, 'utf8')))).toBe(true);
  });

  it('an app that says "checkpointed" but leaves no image: exit 5', async () => {
    const script = `require('fs').appendFileSync(process.env.DEFROST_PROGRESS_FILE, JSON.stringify({ step: 'checkpointed', imageDir: process.env.DEFROST_CHECKPOINT_IMAGE, durationMs: 5, totalBytes: 1, files: 1 }) + '\\n');`;
    const r = await runCli([
      'checkpoint',
      '--image',
      join(work, 'lying-image'),
      '--',
      process.execPath,
      '-e',
      script,
    ]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('does not verify');
    expect(r.stderr).toContain('no such directory');
  });

  it('a command that does not exist: exit 5', async () => {
    const r = await runCli(['checkpoint', '--image', join(work, 'x-image'), '--', 'defrost-no-such-command']);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('defrost-no-such-command: command not found');
  });
});

describe('inspect', () => {
  it('a missing directory: a specific message, exit 4', async () => {
    const r = await runCli(['inspect', join(work, 'no-image-here')]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('no-image-here: no such directory');
    expect(r.stderr).toContain('defrost checkpoint');
  });

  it('an intact (fake) image: details and JSON', async () => {
    const image = join(work, 'intact-image');
    await fakeImage(image);
    const r = await runCli(['inspect', image]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('127.0.0.1:3000');
    expect(r.stdout).toContain('600 requests in 300 rounds');
    expect(r.stdout).toContain('ok: all 3 files match');
    expect(r.stdout).toContain('restorable here');
    const json = await runCli(['inspect', image, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as {
      integrity: { ok: boolean };
      listening: { port: number }[];
      signature: { present: boolean };
      process: { argv: string[] };
      compatibility: { restorable: boolean };
    };
    expect(report.integrity.ok).toBe(true);
    expect(report.listening[0]?.port).toBe(3000);
    expect(report.signature.present).toBe(false);
    expect(report.process.argv[1]).toBe('/srv/app/server.js');
    expect(report.compatibility.restorable).toBe(true);
  });

  it('a corrupt image: names the file, exit 4', async () => {
    const image = join(work, 'corrupt-image');
    await fakeImage(image);
    const pages = join(image, 'pages-1.img');
    const bytes = await readFile(pages);
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(pages, bytes);
    const r = await runCli(['inspect', image]);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/integrity\s+FAILED: .*pages-1\.img does not match its sha256/);
    const json = await runCli(['inspect', image, '--json']);
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stdout).integrity).toMatchObject({ ok: false, code: 'image-corrupt' });
  });

  it('checks a signature with --signing-key-file', async () => {
    const image = join(work, 'signed-image');
    const rightKey = Buffer.from('a key of at least 32 bytes, with its newline\n');
    await fakeImage(image, { signingKey: rightKey });
    const right = join(work, 'right.key');
    const wrong = join(work, 'wrong.key');
    await writeFile(right, rightKey);
    await writeFile(wrong, 'another key of at least 32 bytes\n');
    const ok = await runCli(['inspect', image, '--json', '--signing-key-file', right]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).signature).toMatchObject({ present: true, verified: true });
    const bad = await runCli(['inspect', image, '--signing-key-file', wrong]);
    expect(bad.code).toBe(4);
    expect(bad.stdout).toContain('DOES NOT VERIFY');
  });
});

describe('restore without an image', () => {
  it('exit 4 and the reason when there is no fallback', async () => {
    const r = await runCli(['restore', join(work, 'missing-image')]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('missing-image: no such directory');
  });

  it('--fallback: says why, runs the command cold, passes its exit code through', async () => {
    const envFile = join(work, 'cold.env');
    await writeFile(envFile, '# comment\nFROM_FILE="from file"\nOVERRIDDEN=file\n');
    const missing = join(work, 'missing-image');
    const r = await runCli([
      'restore',
      missing,
      '--env-file',
      envFile,
      '--env',
      'OVERRIDDEN=flag',
      '--port',
      '4321',
      '--fallback',
      '--',
      process.execPath,
      '-e',
      'console.log("cold start", process.env.FROM_FILE, process.env.OVERRIDDEN, process.env.PORT); process.exit(7)',
    ]);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(`defrost: cannot restore ${missing}: no such directory; starting cold: `);
    expect(r.stdout).toContain('cold start from file flag 4321');
  });

  it('--fallback passes a signal-ended status on', async () => {
    const r = await runCli([
      'restore',
      join(work, 'missing-image'),
      '--fallback',
      '--',
      process.execPath,
      '-e',
      'process.kill(process.pid, "SIGTERM")',
    ]);
    expect(r.code).toBe(143);
  });

  it('--env-file that does not exist: exit 2 (run through the shebang, as `defrost`)', async () => {
    // Plain `node dist/bin.js ... --env-file F` would make Node 20 itself exit 9 on a missing F;
    // the bin's shebang runs `node --`, which stops that.
    const r = await runCli(['restore', join(work, 'missing-image'), '--env-file', join(work, 'nope.env')], {
      viaShebang: true,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nope.env: no such file');
  });
});
