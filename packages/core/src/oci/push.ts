/**
 * `defrost push DIR REF`: verifies the image, uploads what the registry does not hold yet (one
 * zstd blob per file, defrost.json as it is, the empty config), then the artifact manifest.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ImageError } from '../errors.js';
import { canonicalJson, type ImageManifest, MANIFEST_FILE, validateManifest } from '../image/manifest.js';
import { verifyImage } from '../image/verify.js';
import { emitProcessWarning, type WarningSink } from '../image/warning.js';
import { buildArtifactManifest, EMPTY_CONFIG, EMPTY_CONFIG_BYTES } from './artifact.js';
import { BlobDigestCache } from './blob-cache.js';
import { type BlobSource, hasBlob, uploadBlob } from './blobs.js';
import { type ClientOptions, RegistryClient } from './client.js';
import { compressFile, type Digested } from './codec.js';
import { forEachSettled } from './concurrency.js';
import { sha256Digest } from './digest.js';
import { RegistryError } from './errors.js';
import { putManifest } from './manifests.js';
import { formatReference, type ImageReference, parseReference } from './reference.js';

/** Files compressed and uploaded at once: keeps both cores and the connection busy. */
const CONCURRENCY = 3;
/**
 * When a registry, or a proxy before it, refuses a request as too large (413): chunk sizes to
 * try, in turn. 1 MiB is nginx's default client_max_body_size; some registries cap at 4 MiB.
 */
const FALLBACK_CHUNKS = [4 * 1024 * 1024, 1024 * 1024, 256 * 1024];

export interface PushOptions extends ClientOptions {
  /** Upload blobs larger than this in chunks of this many bytes (default: one request per blob). */
  readonly chunkSize?: number;
  readonly onWarning?: WarningSink;
  /** Called once per file, when it is known to be in the registry. */
  readonly onBlob?: (event: { name: string; uploaded: boolean; size: number }) => void;
}

export interface PushResult {
  /** The image pinned by digest: `registry/name@sha256:…`. */
  readonly pinned: string;
  readonly digest: string;
  readonly files: number;
  /** Blobs (and their compressed bytes) that were sent; the rest the registry already had. */
  readonly uploaded: { readonly blobs: number; readonly bytes: number };
  readonly present: { readonly blobs: number; readonly bytes: number };
  /** Sum of the file sizes (uncompressed) and of their blobs. */
  readonly imageBytes: number;
  readonly blobBytes: number;
}

interface Context {
  readonly client: RegistryClient;
  readonly o: PushOptions;
  /** The chunk size uploads use; undefined: the whole blob in one request. */
  readonly chunk: { size: number | undefined; readonly warned: Set<number> };
  readonly uploaded: { blobs: number; bytes: number };
  readonly present: { blobs: number; bytes: number };
}

function bufferSource(bytes: Buffer, digest = sha256Digest(bytes)): BlobSource {
  return {
    digest,
    size: bytes.length,
    open: (range) => Readable.from([range ? bytes.subarray(range.start, range.end + 1) : bytes]),
  };
}

function fileSource(path: string, blob: Digested): BlobSource {
  return {
    ...blob,
    open: (range) => createReadStream(path, { highWaterMark: 1024 * 1024, ...(range ?? {}) }),
  };
}

function tooLarge(e: unknown): boolean {
  return e instanceof RegistryError && e.status === 413;
}

/**
 * One request per blob (or --chunk-size chunks). A 413 makes the chunks smaller, for this blob
 * and the ones after it (a proxy's limit holds for every request).
 */
async function uploadShrinking(c: Context, blob: BlobSource): Promise<void> {
  const sizes =
    c.o.chunkSize !== undefined
      ? [c.o.chunkSize]
      : [
          c.chunk.size,
          ...FALLBACK_CHUNKS.filter((size) => c.chunk.size === undefined || size < c.chunk.size),
        ];
  for (const [i, size] of sizes.entries()) {
    try {
      await uploadBlob(c.client, blob, size);
      c.chunk.size = size;
      return;
    } catch (e) {
      const next = sizes[i + 1];
      if (!tooLarge(e) || next === undefined) throw e;
      if (c.chunk.warned.has(next)) continue; // blobs in parallel hit the same limit
      c.chunk.warned.add(next);
      (c.o.onWarning ?? emitProcessWarning)({
        code: 'registry-too-large',
        message: `registry ${c.client.ref.registry} refused a request as too large (413); uploading in ${next / 1024} KiB chunks (--chunk-size sets the size)`,
      });
    }
  }
}

/** Uploads a blob unless the registry has it; counts which it was. */
async function ensureBlob(c: Context, blob: BlobSource): Promise<boolean> {
  if (await hasBlob(c.client, blob.digest)) {
    c.present.blobs++;
    c.present.bytes += blob.size;
    return false;
  }
  await uploadShrinking(c, blob);
  c.uploaded.blobs++;
  c.uploaded.bytes += blob.size;
  return true;
}

/** One file: its blob from the digest cache if the registry has it, else compressed and uploaded. */
async function pushFile(
  c: Context,
  at: { readonly imageDir: string; readonly work: string; readonly signal: AbortSignal },
  name: string,
  entry: ImageManifest['files'][string],
  cache: BlobDigestCache,
): Promise<Digested> {
  const known = cache.get(entry.sha256);
  if (known && (await hasBlob(c.client, known.digest))) {
    c.present.blobs++;
    c.present.bytes += known.size;
    c.o.onBlob?.({ name, uploaded: false, size: known.size });
    return known;
  }
  const temp = join(at.work, name);
  try {
    const { file, blob } = await compressFile(join(at.imageDir, name), temp, at.signal);
    if (file.digest !== `sha256:${entry.sha256}` || file.size !== entry.size) {
      throw new ImageError(
        'image-changed',
        at.imageDir,
        `${name} changed while it was being pushed (it no longer matches ${MANIFEST_FILE})`,
        {
          hint: 'something is writing into the image; push again once it is done',
        },
      );
    }
    cache.set(entry.sha256, blob);
    const uploaded = await ensureBlob(c, fileSource(temp, blob));
    c.o.onBlob?.({ name, uploaded, size: blob.size });
    return blob;
  } finally {
    await rm(temp, { force: true });
  }
}

/** defrost.json exactly as verified: the bytes read after verifying are checked against it. */
async function verifiedManifestBytes(imageDir: string, o: PushOptions): Promise<[ImageManifest, Buffer]> {
  const manifest = await verifyImage(imageDir, { host: false, onWarning: o.onWarning ?? emitProcessWarning });
  const bytes = await readFile(join(imageDir, MANIFEST_FILE));
  const read = validateManifest(JSON.parse(bytes.toString('utf8')), imageDir);
  if (canonicalJson(read) !== canonicalJson(manifest)) {
    throw new ImageError('image-changed', imageDir, `${MANIFEST_FILE} changed while it was being verified`, {
      hint: 'something is writing into the image; push again once it is done',
    });
  }
  return [manifest, bytes];
}

export async function pushImage(
  imageDir: string,
  reference: string | ImageReference,
  o: PushOptions = {},
): Promise<PushResult> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const [manifest, manifestBytes] = await verifiedManifestBytes(imageDir, o);
  const client = await RegistryClient.connect(ref, 'push', o);
  // Compressed blobs wait here for their upload: private (mkdtemp is 0700), removed at the end.
  const work = await mkdtemp(join(tmpdir(), 'defrost-push-'));
  const c: Context = {
    client,
    o,
    chunk: { size: o.chunkSize, warned: new Set() },
    uploaded: { blobs: 0, bytes: 0 },
    present: { blobs: 0, bytes: 0 },
  };
  try {
    const cache = await BlobDigestCache.load();
    await ensureBlob(c, bufferSource(EMPTY_CONFIG_BYTES, EMPTY_CONFIG.digest));
    const manifestBlob = bufferSource(manifestBytes);
    await ensureBlob(c, manifestBlob);
    // Largest first: the page files start at once and the small files fill the gaps.
    const names = Object.keys(manifest.files).sort(
      (a, b) => manifest.files[b]!.size - manifest.files[a]!.size,
    );
    const files = new Map<string, Digested>();
    try {
      await forEachSettled(names, CONCURRENCY, o.signal, async (name, signal) => {
        files.set(name, await pushFile(c, { imageDir, work, signal }, name, manifest.files[name]!, cache));
      });
    } finally {
      await cache.save();
    }
    const { bytes } = buildArtifactManifest(manifest, manifestBlob, files);
    const digest = await putManifest(client, bytes);
    return {
      pinned: formatReference(ref, digest),
      digest,
      files: names.length,
      uploaded: c.uploaded,
      present: c.present,
      imageBytes: manifest.totalBytes,
      blobBytes: [...files.values()].reduce((sum, b) => sum + b.size, 0),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
    await client.close();
  }
}
