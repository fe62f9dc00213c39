/**
 * Failures inside sealImage after the manifest is written (the renames), simulated by making
 * `rename` fail: nothing that looks like a finished image may remain, and an old image survives.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ImageError } from '../../src/errors.js';
import {
  createStagingDir,
  MANIFEST_FILE,
  type ManifestFacts,
  sealImage,
  verifyImage,
} from '../../src/image/index.js';

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return { ...actual, rename: vi.fn(actual.rename), open: vi.fn(actual.open) };
});

const facts: ManifestFacts = {
  node: {
    version: 'v20.20.2',
    execPath: '/usr/bin/node',
    binarySha256: 'a'.repeat(64),
    arch: 'x64',
    platform: 'linux',
  },
  kernel: '6.1.0',
  criu: { version: '4.2' },
  process: { pid: 42, argv: ['node', 'app.js'], execArgv: [], cwd: '/' },
  listening: [],
  stdio: { stdoutKey: 'a', stderrKey: 'b', controlInKey: 'c', controlOutKey: 'd' },
  checkpoint: { durationMs: 1 },
};

const eio = () => Object.assign(new Error('EIO: i/o error, rename (simulated)'), { code: 'EIO' });

let root: string;
let imageDir: string;
beforeEach(async () => {
  root = await fsp.mkdtemp(join(tmpdir(), 'defrost-image-fail-'));
  imageDir = join(root, 'img');
});
afterEach(async () => {
  vi.mocked(fsp.rename).mockReset();
  vi.mocked(fsp.open).mockReset();
  await fsp.rm(root, { recursive: true, force: true });
});

async function staged(): Promise<string> {
  const dir = await createStagingDir(imageDir);
  await fsp.writeFile(join(dir, 'inventory.img'), randomBytes(100));
  await fsp.writeFile(join(dir, 'pages-1.img'), randomBytes(10_000));
  return dir;
}

const verify = (dir: string) => verifyImage(dir, { host: false, onWarning: () => {} });

describe('sealImage when a file cannot be read', () => {
  it('installs nothing, writes no manifest, and names the file', async () => {
    const stagingDir = await staged();
    const actual = await vi.importActual<typeof import('node:fs/promises')>('node:fs/promises');
    vi.mocked(fsp.open).mockImplementation(async (path, ...rest) => {
      if (String(path).endsWith('pages-1.img')) {
        throw Object.assign(new Error(`EACCES: permission denied, open '${String(path)}'`), {
          code: 'EACCES',
          path: String(path),
        });
      }
      return actual.open(path, ...rest);
    });
    const e = await sealImage({ stagingDir, imageDir, facts }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ImageError);
    expect((e as ImageError).code).toBe('seal-failed');
    expect((e as ImageError).message).toContain('pages-1.img');
    await expect(fsp.stat(imageDir)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await fsp.readdir(stagingDir)).not.toContain(MANIFEST_FILE);
  });
});

describe('sealImage when the final rename fails', () => {
  it('installs nothing and removes the manifest it wrote', async () => {
    const stagingDir = await staged();
    vi.mocked(fsp.rename).mockRejectedValueOnce(eio());
    const e = await sealImage({ stagingDir, imageDir, facts }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ImageError);
    expect((e as ImageError).code).toBe('seal-failed');
    expect((e as ImageError).message).toMatch(/EIO/);
    await expect(fsp.stat(imageDir)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await fsp.readdir(stagingDir)).sort()).toEqual(['inventory.img', 'pages-1.img']);
  });

  it('with force, puts the old image back when the new one cannot be moved in', async () => {
    const first = await sealImage({ stagingDir: await staged(), imageDir, facts });
    const stagingDir = await staged();
    const actual = await vi.importActual<typeof import('node:fs/promises')>('node:fs/promises');
    let calls = 0;
    vi.mocked(fsp.rename).mockImplementation(async (from, to) => {
      calls += 1;
      if (calls === 2) throw eio(); // 1: old image aside, 2: new image in, 3: old image back
      return actual.rename(from, to);
    });
    await expect(sealImage({ stagingDir, imageDir, facts, force: true })).rejects.toBeInstanceOf(ImageError);
    expect(calls).toBe(3);
    expect((await verify(imageDir)).imageId).toBe(first.imageId);
    expect(await fsp.readdir(stagingDir)).not.toContain(MANIFEST_FILE);
    // only the image and the (manifest-less) staging directory remain: no ".img.old-*"
    expect((await fsp.readdir(root)).filter((n) => n.includes('.old-'))).toEqual([]);
  });
});
