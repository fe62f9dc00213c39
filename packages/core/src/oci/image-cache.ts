/**
 * Images that `defrost restore REF` pulled, kept in defrost's cache: one directory per manifest
 * digest, `${cacheDir}/oci/sha256-<hex>`. A digest names one manifest, which names one defrost.json
 * and through it every file, so a directory found there is the image (and restore verifies it
 * anyway). A REF by digest that is cached needs no request at all; by tag, one manifest request
 * tells the digest. Only a cache this user owns and nobody else can write to is used (cache.ts).
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir, ensureCacheDir } from '../cache.js';
import { DefrostError, ImageError } from '../errors.js';
import { MANIFEST_FILE } from '../image/manifest.js';
import { RegistryClient } from './client.js';
import { digestHex } from './digest.js';
import { fetchManifest } from './manifests.js';
import { type PullOptions, type PullResult, pullManifest } from './pull.js';
import { formatReference, type ImageReference, parseReference } from './reference.js';

/** Images kept besides the one just used: enough for a rollback, bounded on disk (50-200 MB each). */
export const KEPT_CACHED_IMAGES = 3;
const ENTRY = /^sha256-[a-f0-9]{64}$/;
const STAGING = /^\.sha256-[a-f0-9]{64}\.partial-/;
const STALE_STAGING_MS = 60 * 60 * 1000;

export interface CachedImage {
  readonly imageDir: string;
  readonly digest: string;
  readonly pinned: string;
  /** Null when the image was in the cache already. */
  readonly pulled: PullResult | null;
}

async function imageCacheRoot(): Promise<string> {
  const root = join(cacheDir(), 'oci');
  if ((await ensureCacheDir(cacheDir())) && (await ensureCacheDir(root))) return root;
  throw new DefrostError(
    'cache-untrusted',
    `cannot keep images pulled from registries in ${root}: it must be a directory owned by this user (uid ${process.geteuid?.()}) that nobody else can write to`,
    {
      hint: `fix its owner and mode (chown, chmod 0700), set DEFROST_CACHE_DIR to such a directory, or pull into a directory first: \`defrost pull REF DIR\``,
    },
  );
}

async function isCached(imageDir: string): Promise<boolean> {
  try {
    return (await lstat(imageDir)).isDirectory() && (await lstat(join(imageDir, MANIFEST_FILE))).isFile();
  } catch {
    return false;
  }
}

/**
 * Removes all but the newest KEPT_CACHED_IMAGES images (and never `current`), and staging
 * directories an hour old (a pull that was killed); best effort.
 */
async function prune(root: string, current: string): Promise<void> {
  const all = await readdir(root).catch(() => [] as string[]);
  for (const name of all.filter((n) => STAGING.test(n))) {
    const st = await lstat(join(root, name)).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > STALE_STAGING_MS) {
      await rm(join(root, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }
  const names = all.filter((n) => ENTRY.test(n) && join(root, n) !== current);
  const dated = await Promise.all(
    names.map(async (n) => ({
      path: join(root, n),
      mtime: (await lstat(join(root, n)).catch(() => undefined))?.mtimeMs ?? 0,
    })),
  );
  dated.sort((a, b) => b.mtime - a.mtime);
  for (const old of dated.slice(KEPT_CACHED_IMAGES))
    await rm(old.path, { recursive: true, force: true }).catch(() => undefined);
}

/** The image directory for a REF: from the cache, or pulled (verified) into it. */
export async function cachedPull(
  reference: string | ImageReference,
  o: PullOptions = {},
): Promise<CachedImage> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const root = await imageCacheRoot();
  const dirFor = (digest: string): string => join(root, `sha256-${digestHex(digest)}`);
  if (ref.digest !== undefined && (await isCached(dirFor(ref.digest)))) {
    return { imageDir: dirFor(ref.digest), digest: ref.digest, pinned: formatReference(ref), pulled: null };
  }
  const client = await RegistryClient.connect(ref, 'pull', o);
  try {
    const fetched = await fetchManifest(client);
    const imageDir = dirFor(fetched.digest);
    const pinned = formatReference(ref, fetched.digest);
    if (await isCached(imageDir)) return { imageDir, digest: fetched.digest, pinned, pulled: null };
    let pulled: PullResult | null;
    try {
      pulled = await pullManifest(client, fetched, imageDir, { ...o, force: false });
    } catch (e) {
      // Another restore of the same digest installed it first: that is the same image.
      if (!(e instanceof ImageError && e.code === 'image-exists' && (await isCached(imageDir)))) throw e;
      pulled = null;
    }
    await prune(root, imageDir);
    return { imageDir, digest: fetched.digest, pinned, pulled };
  } finally {
    await client.close();
  }
}
