import {
  closeSync,
  cpSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCpuFeatures } from '../../src/image/cpu.js';
import { ImageError, restore } from '../../src/index.js';
import { spawnTracked, stopAllStarted } from '../../src/testing/index.js';

const fixture = fileURLToPath(new URL('../fixtures/freeze-server.mjs', import.meta.url));
let work: string;
let image: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'defrost-refusals-'));
  image = join(work, 'good');
  const app = await spawnTracked(process.execPath, [fixture, image]);
  await app.waitFor((e) => e.event === 'listening');
  app.child.kill('SIGUSR2');
  await app.waitFor((e) => e.event === 'checkpointed');
  await app.exited;
});
afterAll(async () => {
  await stopAllStarted();
  rmSync(work, { recursive: true, force: true });
});

function copyOfImage(name: string): string {
  const dir = join(work, name);
  cpSync(image, dir, { recursive: true, preserveTimestamps: true });
  return dir;
}

function biggestPagesFile(dir: string): string {
  const pages = readdirSync(dir).filter((f) => f.startsWith('pages-'));
  return join(dir, pages.sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0]!);
}

async function refusal(dir: string): Promise<ImageError> {
  const error = await restore(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImageError);
  return error as ImageError;
}

describe('images that must not restore (checked before CRIU runs)', () => {
  it('a byte flipped in a pages file', async () => {
    const dir = copyOfImage('flipped');
    const file = biggestPagesFile(dir);
    const fd = openSync(file, 'r+');
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, 4096);
    byte[0] = byte[0]! ^ 0xff;
    writeSync(fd, byte, 0, 1, 4096);
    closeSync(fd);
    const error = await refusal(dir);
    expect(error.code).toBe('image-corrupt');
    expect(error.message).toContain(file.split('/').pop());
  });

  it('a truncated manifest', async () => {
    const dir = copyOfImage('truncated-manifest');
    const manifest = join(dir, 'defrost.json');
    truncateSync(manifest, Math.floor(statSync(manifest).size / 2));
    const error = await refusal(dir);
    expect(error.code).toBe('manifest-invalid');
  });

  it('a missing directory', async () => {
    const error = await refusal(join(work, 'no-such-image'));
    expect(error.code).toBe('image-missing');
    expect(error.message).toMatch(/defrost checkpoint/);
  });

  it('an image made by another node binary', async () => {
    const dir = copyOfImage('foreign-node');
    const manifestFile = join(dir, 'defrost.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    manifest.node.binarySha256 = 'f'.repeat(64);
    manifest.node.version = 'v22.0.0';
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const error = await refusal(dir);
    expect(error.code).toBe('image-incompatible');
    expect(error.message).toMatch(/v22\.0\.0/);
    expect(error.message).toMatch(/rebuild/i);
  });

  it("an image made on a CPU with a feature this one lacks (this machine's real /proc/cpuinfo)", async () => {
    const here = parseCpuFeatures(readFileSync('/proc/cpuinfo', 'utf8'));
    const manifest = JSON.parse(readFileSync(join(image, 'defrost.json'), 'utf8'));
    // The image records what this CPU has...
    expect(manifest.cpu.features).toEqual(here);
    expect(here.length).toBeGreaterThan(0);
    // ...and one made on a CPU with more is refused, by name.
    const dir = copyOfImage('other-cpu');
    const lacking =
      process.arch === 'x64' ? ['avx512_fp16', 'amx_tile'].filter((f) => !here.includes(f)) : ['sve2'];
    manifest.cpu.features = [...here, ...lacking, 'defrost_test_feature'];
    writeFileSync(join(dir, 'defrost.json'), JSON.stringify(manifest));
    const error = await refusal(dir);
    expect(error.code).toBe('image-incompatible');
    expect(error.message).toContain(
      `made on a CPU with ${[...lacking, 'defrost_test_feature'].join(', ')}, which this CPU lacks`,
    );
  });

  it('a truncated pages file', async () => {
    const dir = copyOfImage('truncated-pages');
    const file = biggestPagesFile(dir);
    truncateSync(file, statSync(file).size - 4096);
    expect((await refusal(dir)).code).toBe('image-truncated');
  });
});
