/** The artifact manifest (built and checked), zstd blobs and their digest checks, without a registry. */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { zstdCompressSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageError } from '../../src/errors.js';
import type { ImageManifest } from '../../src/image/manifest.js';
import {
  ARTIFACT_TYPE,
  buildArtifactManifest,
  EMPTY_CONFIG,
  EMPTY_CONFIG_BYTES,
  FILE_LAYER,
  MANIFEST_LAYER,
  parseArtifactManifest,
} from '../../src/oci/artifact.js';
import { BlobMismatch, compressFile, expandBlob } from '../../src/oci/codec.js';
import { forEachSettled } from '../../src/oci/concurrency.js';
import { DigestTap, sha256Digest } from '../../src/oci/digest.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const image = {
  createdAt: '2026-01-02T03:04:05.000Z',
  imageId: 'c0ffee',
  node: { version: 'v24.22.3', arch: 'x64' },
} as unknown as ImageManifest;

describe('the artifact manifest', () => {
  const files = new Map([
    ['pages-1.img', { digest: d('1'), size: 100 }],
    ['core-7.img', { digest: d('2'), size: 10 }],
  ]);

  it('OCI 1.1: artifactType, the empty config, defrost.json first, then the files by name', () => {
    const { manifest, bytes } = buildArtifactManifest(image, { digest: d('3'), size: 5 }, files);
    expect(sha256Digest(EMPTY_CONFIG_BYTES)).toBe(EMPTY_CONFIG.digest);
    expect(JSON.parse(bytes.toString())).toEqual(manifest);
    expect(manifest).toMatchObject({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: ARTIFACT_TYPE,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', size: 2, data: 'e30=' },
      annotations: { 'org.opencontainers.image.created': image.createdAt, 'dev.defrost.image.id': 'c0ffee' },
    });
    expect(
      manifest.layers.map((l) => [l.mediaType, l.annotations?.['org.opencontainers.image.title']]),
    ).toEqual([
      [MANIFEST_LAYER, 'defrost.json'],
      [FILE_LAYER, 'core-7.img'],
      [FILE_LAYER, 'pages-1.img'],
    ]);
    // The same image and blobs: the same bytes, so the same manifest digest.
    expect(
      buildArtifactManifest(image, { digest: d('3'), size: 5 }, new Map([...files].reverse())).bytes,
    ).toEqual(bytes);
  });

  it('parses back into the defrost.json layer and one layer per file', () => {
    const { bytes } = buildArtifactManifest(image, { digest: d('3'), size: 5 }, files);
    const layout = parseArtifactManifest(bytes, 'r/x:1');
    expect(layout.manifestLayer.digest).toBe(d('3'));
    expect([...layout.files.keys()].sort()).toEqual(['core-7.img', 'pages-1.img']);
  });

  const refusal = (manifest: unknown): string => {
    try {
      parseArtifactManifest(
        Buffer.from(typeof manifest === 'string' ? manifest : JSON.stringify(manifest)),
        'r/x:1',
      );
    } catch (e) {
      expect(e).toBeInstanceOf(ImageError);
      return (e as Error).message;
    }
    throw new Error('accepted');
  };

  it('refuses what is not a defrost image, naming what it is', () => {
    const good = buildArtifactManifest(image, { digest: d('3'), size: 5 }, files).manifest;
    expect(refusal('{not json')).toMatch(/not JSON/);
    expect(
      refusal({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }),
    ).toMatch(/image index/);
    expect(
      refusal({
        ...good,
        artifactType: undefined,
        config: { ...good.config, mediaType: 'application/vnd.oci.image.config.v1+json' },
      }),
    ).toMatch(/not a defrost image \(config "application\/vnd.oci.image.config.v1\+json"/);
    expect(refusal({ ...good, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' })).toMatch(
      /not an OCI image manifest/,
    );
  });

  it('refuses layers that do not make an image: no defrost.json, a duplicate, a path as name, bad digests', () => {
    const good = buildArtifactManifest(image, { digest: d('3'), size: 5 }, files).manifest;
    const [json, ...rest] = good.layers;
    expect(refusal({ ...good, layers: rest })).toMatch(/no defrost.json layer/);
    expect(refusal({ ...good, layers: [json, rest[0], rest[0]] })).toMatch(/lists core-7.img twice/);
    const path = { ...rest[0], annotations: { 'org.opencontainers.image.title': '../etc/passwd' } };
    expect(refusal({ ...good, layers: [json, path] })).toMatch(/neither defrost.json nor a file/);
    expect(refusal({ ...good, layers: [json, { ...rest[0], digest: 'sha256:abc' }] })).toMatch(
      /no sha256 digest/,
    );
    expect(refusal({ ...good, layers: [json, { ...rest[0], size: -1 }] })).toMatch(/no valid size/);
    expect(refusal({ ...good, layers: [] })).toMatch(/1 to 10000 layers/);
  });
});

describe('zstd blobs and their digests', () => {
  let work: string;
  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'defrost-blob-'));
  });
  afterEach(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const content = Buffer.concat([randomBytes(200_000), Buffer.alloc(800_000, 9)]);

  it('compressFile then expandBlob gives the file back; both digests and sizes are reported', async () => {
    await writeFile(join(work, 'in'), content);
    const packed = await compressFile(join(work, 'in'), join(work, 'blob'));
    expect(packed.file).toEqual({ digest: sha256Digest(content), size: content.length });
    const blob = await readFile(join(work, 'blob'));
    expect(packed.blob).toEqual({ digest: sha256Digest(blob), size: blob.length });
    expect(blob.length).toBeLessThan(content.length / 3);
    expect((await stat(join(work, 'blob'))).mode & 0o777).toBe(0o600);

    const got = await expandBlob(Readable.from([blob]), join(work, 'out'), {
      blobSize: blob.length,
      fileSize: content.length,
    });
    expect(got).toEqual(packed);
    // Buffer.equals: vitest's deep equality walks a 1 MB buffer byte by byte (seconds).
    expect((await readFile(join(work, 'out'))).equals(content)).toBe(true);
    expect((await stat(join(work, 'out'))).mode & 0o777).toBe(0o600);
  });

  it('a flipped byte changes a digest (zstd alone does not notice: raw blocks have no checksum)', async () => {
    const blob = zstdCompressSync(randomBytes(300_000));
    const good = await expandBlob(Readable.from([blob]), join(work, 'a'), {
      blobSize: blob.length,
      fileSize: 300_000,
    });
    blob[blob.length >> 1]! ^= 1;
    const bad = await expandBlob(Readable.from([blob]), join(work, 'b'), {
      blobSize: blob.length,
      fileSize: 300_000,
    });
    expect(bad.blob.digest).not.toBe(good.blob.digest);
    expect(bad.file.digest).not.toBe(good.file.digest);
  });

  it('stops at once when the blob or what it expands to is longer than announced (no disk filling)', async () => {
    const blob = zstdCompressSync(Buffer.alloc(5_000_000));
    const tooLongBlob = expandBlob(Readable.from([blob]), join(work, 'x'), {
      blobSize: blob.length - 1,
      fileSize: 5_000_000,
    });
    await expect(tooLongBlob).rejects.toEqual(new BlobMismatch({ kind: 'blob-too-long' }));
    const bomb = expandBlob(Readable.from([blob]), join(work, 'y'), {
      blobSize: blob.length,
      fileSize: 1_000,
    });
    await expect(bomb).rejects.toMatchObject({ problem: { kind: 'file-too-long' } });
    expect((await stat(join(work, 'y'))).size).toBeLessThanOrEqual(1_000);
  });

  it('data that is not zstd is undecodable', async () => {
    const notZstd = expandBlob(Readable.from([Buffer.from('hello, not zstd')]), join(work, 'n'), {
      blobSize: 100,
      fileSize: 100,
    });
    await expect(notZstd).rejects.toMatchObject({ problem: { kind: 'undecodable' } });
  });

  it('a cut-off blob: zlib says so (Node 24+), or it ends short (Node 22 ends quietly), which pull refuses', async () => {
    const blob = zstdCompressSync(randomBytes(100_000));
    const cut = await expandBlob(Readable.from([blob.subarray(0, 1000)]), join(work, 'c'), {
      blobSize: blob.length,
      fileSize: 100_000,
    }).catch((e: unknown) => e);
    if (cut instanceof BlobMismatch) {
      expect(cut.problem.kind).toBe('undecodable');
    } else {
      // pullFile compares these with the manifest's sizes and digests.
      expect(cut).toMatchObject({ blob: { size: 1000 } });
      expect((cut as { file: { size: number } }).file.size).toBeLessThan(100_000);
    }
  });

  it('never writes over an existing file', async () => {
    await writeFile(join(work, 'exists'), 'x');
    await expect(compressFile(join(work, 'exists'), join(work, 'exists'))).rejects.toMatchObject({
      code: 'EEXIST',
    });
  });

  it('DigestTap counts and hashes what passes, and fails past its limit', async () => {
    const tap = new DigestTap(10, () => new Error('too long'));
    const chunks: Buffer[] = [];
    for await (const c of Readable.from([Buffer.from('hello')]).pipe(tap)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello');
    expect(tap.bytes).toBe(5);
    expect(tap.digest()).toBe(sha256Digest('hello'));
    const small = new DigestTap(3, () => new Error('too long'));
    await expect(
      (async () => {
        for await (const _ of Readable.from([Buffer.from('hello')]).pipe(small)) {
          // drain
        }
      })(),
    ).rejects.toThrow('too long');
  });
});

describe('forEachSettled', () => {
  it('aborts the others on the first failure, and throws only once all have settled', async () => {
    const settled: number[] = [];
    const run = forEachSettled([1, 2, 3, 4, 5], 3, undefined, async (n, signal) => {
      if (n === 2) throw new Error('two failed');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2_000);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        });
      });
      settled.push(n);
    });
    await expect(run).rejects.toThrow('two failed');
    expect(settled.sort()).toEqual([1, 3]); // in flight when 2 failed; 4 and 5 never started
  });
});
