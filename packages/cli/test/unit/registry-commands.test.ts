/**
 * push, pull and `restore REF` without a registry: usage errors, a registry that is not there,
 * and how `restore` tells a REF from a directory.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { fakeImage } from '../helpers/fake-image.js';
import { freePort } from '../helpers/http.js';

let work: string;
let env: Record<string, string>;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'defrost-cli-registry-unit-'));
  env = {
    DEFROST_CACHE_DIR: join(work, 'cache'),
    HOME: join(work, 'home'),
    XDG_RUNTIME_DIR: join(work, 'run'),
  };
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('push and pull: usage', () => {
  it.each([
    [['push', 'dir', 'team/app:1'], /"team\/app:1" is not a registry reference: it does not name a registry/],
    [['pull', 'registry.example/Team/app', 'dir'], /lowercase/],
    [['pull', 'registry.example/app@sha256:abc', 'dir'], /digest after @/],
    [['push', 'dir'], /missing required argument 'ref'/],
    [['push', 'dir', 'registry.example/app', '--chunk-size', '0'], /positive whole number/],
    [['pull', 'registry.example/app', 'dir', '--tls-verify=maybe'], /expected true or false/],
  ])('defrost %j: exit 2, and what is wrong', async (args, message) => {
    const r = await runCli(args, { env });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('push of a directory that is not an image: exit 4 before any request', async () => {
    const r = await runCli(['push', join(work, 'none'), '127.0.0.1:9/app:1'], { env });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('no such directory');
  });

  it('a registry that is not there: exit 1, which address, and what to check', async () => {
    const image = join(work, 'image');
    await fakeImage(image);
    const port = await freePort();
    const r = await runCli(['push', image, `127.0.0.1:${port}/app:1`], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `defrost: registry 127.0.0.1:${port}: cannot reach 127.0.0.1:${port}: connection refused`,
    );
    expect(r.stderr).toContain('fix: check the registry address and port');
  });
});

describe('restore: a REF or a directory', () => {
  it('a REF whose registry is gone, with --fallback: says why and starts cold', async () => {
    const port = await freePort();
    const ref = `127.0.0.1:${port}/team/app:1`;
    const r = await runCli(['restore', ref, '--fallback', '--', process.execPath, '-e', 'process.exit(3)'], {
      env,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`defrost: cannot restore ${ref}: registry 127.0.0.1:${port}: cannot reach`);
  });

  it('an existing path that looks like a REF is a directory', async () => {
    const dir = join(work, 'localhost:5000', 'app');
    await mkdir(dir, { recursive: true });
    const r = await runCli(['restore', 'localhost:5000/app'], { env, cwd: work });
    expect(r.code).toBe(4); // an empty directory: not an image (no request was made)
    expect(r.stderr).toContain('no defrost.json');
  });

  it('a missing directory that is not written like a REF stays a missing directory', async () => {
    const r = await runCli(['restore', 'images/app'], { env, cwd: work });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('no such directory');
  });
});
