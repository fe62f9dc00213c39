/**
 * A real image through a real registry, with the CLI as a user runs it: `defrost checkpoint` of
 * the Fastify fixture, `defrost push` to Debian's docker-registry (started here on loopback),
 * `defrost pull` (byte-identical, inspect verifies it; a damaged blob is refused with exit 4 and
 * leaves nothing), and `defrost restore REF`: pulled into the cache, restored, serving with its
 * frozen state; the second restore uses the cache (no blob fetched, and by digest no registry).
 */
import { lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, stopAllStarted, type TestRegistry } from '@defrost/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, FIXTURES, killLeftovers, runCli, startCli, stopAll, waitGone } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';

const APP = join(FIXTURES, 'counter-app.mjs');
const restoredPids = new Set<number>();

let work: string;
let image: string;
let registry: TestRegistry;
let env: Record<string, string>;
let bootId: string;
let port: number;

const blobGets = (lines: string[]): string[] =>
  lines.filter((l) => /"GET \/v2\/[^"]*\/blobs\/sha256:/.test(l));

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'defrost-cli-registry-'));
  image = join(work, 'image');
  // The test's own cache and (empty) auth file locations: nothing of this machine leaks in.
  env = {
    DEFROST_CACHE_DIR: join(work, 'cache'),
    HOME: join(work, 'home'),
    XDG_RUNTIME_DIR: join(work, 'run'),
  };
  registry = await startRegistry({ dir: join(work, 'registry') });
  const r = await runCli(['checkpoint', '--image', image, '--', process.execPath, APP], { cwd: FIXTURES });
  expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
  bootId = /fixture: boot (\S+)/.exec(r.stdout)?.[1] ?? '';
  const report = JSON.parse((await runCli(['inspect', image, '--json'])).stdout) as {
    listening: { port?: number }[];
  };
  port = report.listening[0]?.port ?? 0;
  expect(port).toBeGreaterThan(0);
}, 180_000);
afterEach(async () => {
  await stopAll();
  await killLeftovers(restoredPids);
});
afterAll(async () => {
  await registry?.stop();
  await stopAllStarted();
  await rm(work, { recursive: true, force: true });
});

describe('defrost push / pull with a real image', () => {
  const ref = (): string => `${registry.host}/team/counter:1`;
  let pinned: string;

  it('push: the pinned REF on stdout; again: nothing uploaded', async () => {
    const started = performance.now();
    const r = await runCli(['push', image, ref()], { env });
    const ms = performance.now() - started;
    expect(r.code, r.stderr).toBe(0);
    pinned = r.stdout.trim();
    expect(pinned).toMatch(new RegExp(`^${registry.host}/team/counter@sha256:[a-f0-9]{64}$`));
    expect(r.stderr).toMatch(
      /defrost: pushed .* in \d+ ms: \d+ files, [\d.]+ MiB as [\d.]+ MiB zstd; uploaded \d+ blobs/,
    );
    console.log(
      `push of a ${/files, ([\d.]+ MiB)/.exec(r.stderr)?.[1]} image: ${Math.round(ms)} ms (CLI, loopback)`,
    );

    const again = await runCli(['push', image, ref()], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).toBe(pinned);
    expect(again.stderr).toContain('every blob was there already');
  });

  it('pull: byte-identical, and `defrost inspect` verifies it', async () => {
    const target = join(work, 'pulled');
    const started = performance.now();
    const r = await runCli(['pull', ref(), target], { env });
    const ms = performance.now() - started;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(pinned);
    expect(r.stderr).toContain(`defrost: pulled ${pinned} into ${target}`);
    console.log(`pull: ${Math.round(ms)} ms (CLI, loopback)`);
    const names = (await readdir(image)).sort();
    expect((await readdir(target)).sort()).toEqual(names);
    for (const name of names) {
      expect((await readFile(join(image, name))).equals(await readFile(join(target, name))), name).toBe(true);
    }
    const inspect = await runCli(['inspect', target, '--json']);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect((JSON.parse(inspect.stdout) as { integrity: { ok: boolean } }).integrity.ok).toBe(true);
  });

  it('usage: a REF without a registry is exit 2; a missing tag exit 4; an existing DIR exit 4', async () => {
    const bad = await runCli(['pull', 'team/counter:1', join(work, 'x')], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/does not name a registry\n {2}fix: put the registry first/);
    const missing = await runCli(['pull', `${registry.host}/team/counter:nope`, join(work, 'x')], { env });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('the registry has no tag nope');
    const exists = await runCli(['pull', ref(), join(work, 'pulled')], { env });
    expect(exists.code).toBe(4);
    expect(exists.stderr).toContain('already exists');
  });

  it('a damaged blob in the registry: exit 4, a clear message, nothing at DIR', async () => {
    const damagedRef = `${registry.host}/team/damaged:1`;
    const pushed = await runCli(['push', image, damagedRef], { env });
    expect(pushed.code, pushed.stderr).toBe(0);
    const digest = pushed.stdout.trim().split('@')[1]!;
    const manifest = JSON.parse(await readFile(registry.blobFile(digest), 'utf8')) as {
      layers: { digest: string; size: number }[];
    };
    // The registry stores a blob once for all repositories: the one damaged here is team/counter's
    // too, and is put back afterwards.
    const largest = [...manifest.layers].sort((a, b) => b.size - a.size)[0]!;
    const file = registry.blobFile(largest.digest);
    const original = await readFile(file);
    const bytes = Buffer.from(original);
    bytes[bytes.length >> 1]! ^= 0x40;
    await writeFile(file, bytes);
    try {
      const target = join(work, 'from-damaged');
      const r = await runCli(['pull', damagedRef, target], { env });
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(
        /defrost: image .*: the blob of \S+ (does not match its digest|is not valid zstd)/,
      );
      expect(r.stderr).toContain('fix: push the image again');
      await expect(lstat(target)).rejects.toMatchObject({ code: 'ENOENT' });
      expect((await readdir(work)).filter((n) => n.includes('.partial-'))).toEqual([]);
    } finally {
      await writeFile(file, original); // the blob is shared with team/counter
    }
  });
});

describe('defrost restore REF', () => {
  it('pulls into the cache, restores, serves the frozen state; the second restore uses the cache', async () => {
    const ref = `${registry.host}/team/counter:1`;
    const cli = startCli(['restore', ref], { env, viaBin: true });
    await cli.waitFor(/defrost: restored .* in \d+ ms \(pid (\d+)\)/);
    const pid = Number(/\(pid (\d+)\)/.exec(cli.stderr())![1]);
    restoredPids.add(pid);
    expect(cli.stderr()).toMatch(
      new RegExp(`defrost: pulled ${registry.host}/team/counter@sha256:[a-f0-9]{64} in \\d+ ms`),
    );
    expect(cli.stderr()).toContain(`defrost: restored ${ref} in `);
    expect((await getJson<{ bootId: string }>(port, '/boot')).bootId).toBe(bootId);
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(42);
    expect(await waitGone(pid)).toBe(true);

    const mark = registry.requests().length;
    const second = startCli(['restore', ref], { env: { ...env, DEFROST_DEBUG: '1' }, viaBin: true });
    await second.waitFor(/defrost: restored .* in \d+ ms \(pid (\d+)\)/);
    restoredPids.add(Number(/\(pid (\d+)\)/.exec(second.stderr())![1]));
    expect(second.stderr()).not.toContain('defrost: pulled');
    expect(second.stderr()).toMatch(/defrost: debug: .* from the cache: /);
    expect(blobGets(registry.requests().slice(mark))).toEqual([]);
    expect((await getJson<{ bootId: string }>(port, '/boot')).bootId).toBe(bootId);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(42);
  });

  it('by digest, from the cache with the registry gone; with --fallback, a registry that is gone starts cold', async () => {
    const pinned = (await runCli(['push', image, `${registry.host}/team/counter:1`], { env })).stdout.trim();
    const tagged = `${registry.host}/team/counter:1`;
    await registry.stop();

    const cli = startCli(['restore', pinned], { env, viaBin: true });
    await cli.waitFor(/defrost: restored .* in \d+ ms \(pid (\d+)\)/);
    restoredPids.add(Number(/\(pid (\d+)\)/.exec(cli.stderr())![1]));
    expect((await getJson<{ bootId: string }>(port, '/boot')).bootId).toBe(bootId);
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(42);

    // A tag needs the registry to say which digest it is now.
    const cold = await runCli(
      ['restore', tagged, '--fallback', '--', process.execPath, '-e', 'process.exit(7)'],
      {
        env,
      },
    );
    expect(cold.code).toBe(7);
    expect(cold.stderr).toMatch(
      /defrost: cannot restore .*: registry .* cannot reach .* connection refused; starting cold/,
    );
  });

  it('the installed command sends a REF to the full path (the native launcher takes directories)', async () => {
    const r = await runCli(['restore', '127.0.0.1:9/none/such:1'], {
      env: { ...env, DEFROST_DEBUG: '1' },
      viaBin: true,
    });
    expect(BIN).toContain('bin/defrost');
    expect(r.stderr).toMatch(/full path: 127.0.0.1:9\/none\/such:1: No such file or directory/);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach 127.0.0.1:9/);
  });
});
