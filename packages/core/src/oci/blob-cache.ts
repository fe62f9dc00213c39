/**
 * Which zstd blob a file became the last time it was pushed: file sha256 -> blob digest and size,
 * for this zstd version and level. With it, pushing an image whose files the registry already
 * holds costs a HEAD per file instead of compressing 100+ MB to find out. Kept in defrost's cache,
 * trusted only when private (cache.ts). An entry for another zstd is just not found; a wrong entry
 * could only make the manifest name a blob that `pull` then refuses (it checks every file
 * against defrost.json).
 */
import { join } from 'node:path';
import { cacheDir, readCacheJson, writeCacheFile } from '../cache.js';
import type { Digested } from './codec.js';
import { ZSTD_LEVEL } from './codec.js';

/** Beside the pulled images (image-cache.ts), not among the per-path entries cache.ts prunes. */
const FILE = 'blob-digests.json';
const dir = (): string => join(cacheDir(), 'oci');
/** Entries kept: a few images' worth of files (CRIU writes ~10-40 files per process). */
const MAX_ENTRIES = 4096;

type Entries = Record<string, Digested>;

function keyOf(sha256: string): string {
  return `${sha256}:zstd-${process.versions.zstd ?? process.version}-${ZSTD_LEVEL}`;
}

export class BlobDigestCache {
  private constructor(
    private readonly entries: Entries,
    private changed = false,
  ) {}

  static async load(): Promise<BlobDigestCache> {
    const entries = (await readCacheJson<Entries>(FILE, dir())) ?? {};
    return new BlobDigestCache(typeof entries === 'object' && entries !== null ? entries : {});
  }

  get(sha256: string): Digested | undefined {
    const hit = this.entries[keyOf(sha256)];
    return hit && typeof hit.digest === 'string' && Number.isSafeInteger(hit.size) ? hit : undefined;
  }

  set(sha256: string, blob: Digested): void {
    const key = keyOf(sha256);
    delete this.entries[key]; // re-inserted last: the oldest entries go first when trimming
    this.entries[key] = { digest: blob.digest, size: blob.size };
    this.changed = true;
  }

  async save(): Promise<void> {
    if (!this.changed) return;
    const keys = Object.keys(this.entries);
    for (const key of keys.slice(0, Math.max(0, keys.length - MAX_ENTRIES))) delete this.entries[key];
    await writeCacheFile(FILE, JSON.stringify(this.entries), { dir: dir() });
  }
}
