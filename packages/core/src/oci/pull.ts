/**
 * `defrost pull REF DIR`. Everything is checked before anything appears at DIR: the manifest
 * against its digest, defrost.json against its blob digest (and the signature, when a key is
 * given, before any large download), every blob against its digest and every file it expands to
 * against its sha256 in defrost.json, then the image as a whole (verifyImage). The files are
 * written into a private staging sibling of DIR and renamed into place; any refusal removes it.
 */
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageError } from '../errors.js';
import { checkSignature, type ImageManifest, MANIFEST_FILE, validateManifest } from '../image/manifest.js';
import { assertImageTarget, createStagingDir, discardStaging, installStagedImage } from '../image/seal.js';
import { resolveSigningKey } from '../image/signing-key.js';
import { rememberVerified, verifyImage } from '../image/verify.js';
import { emitProcessWarning, type WarningSink } from '../image/warning.js';
import { type ArtifactLayout, type Descriptor, parseArtifactManifest } from './artifact.js';
import { fetchBlob } from './blobs.js';
import { type ClientOptions, RegistryClient, readLimited } from './client.js';
import { BlobMismatch, expandBlob } from './codec.js';
import { forEachSettled } from './concurrency.js';
import { sha256Digest } from './digest.js';
import { type FetchedManifest, fetchManifest } from './manifests.js';
import { formatReference, type ImageReference, parseReference } from './reference.js';

const CONCURRENCY = 3;
/** As readManifest's limit: a defrost.json is a few KB. */
const MAX_DEFROST_JSON = 16 * 1024 * 1024;

export interface PullOptions extends ClientOptions {
  /**
   * Refuse the image unless it is signed with this key (HMAC, as `restore --signing-key-file`).
   * Default: the host's key, as for restore (image/signing-key.ts), which then is required.
   */
  readonly signingKey?: Buffer | string;
  readonly requireSignature?: boolean;
  /** Replace an image already at DIR (it stays in place until the new one is complete). */
  readonly force?: boolean;
  readonly onWarning?: WarningSink;
  readonly onBlob?: (event: { name: string; size: number }) => void;
}

export interface PullResult {
  readonly pinned: string;
  readonly digest: string;
  readonly imageDir: string;
  readonly manifest: ImageManifest;
  readonly files: number;
  readonly imageBytes: number;
  readonly blobBytes: number;
}

function corrupt(shown: string, imageDir: string, message: string): ImageError {
  return new ImageError(
    'blob-corrupt',
    shown,
    `${message}; it was damaged in the registry or on the way, nothing was written to ${imageDir}`,
    {
      hint: 'push the image again from a good copy; if this repeats, check who can write to the registry and its storage',
    },
  );
}

/** Whether DIR gets replaced: absent (no), an empty directory (yes), an image with --force (yes). */
async function checkTarget(imageDir: string, force: boolean | undefined): Promise<boolean> {
  try {
    const st = await lstat(imageDir);
    if (st.isDirectory() && (await readdir(imageDir)).length === 0) return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
  }
  try {
    return (await assertImageTarget(imageDir, { force })) === 'replace';
  } catch (e) {
    if (e instanceof ImageError && e.code === 'image-exists' && !force) {
      throw new ImageError('image-exists', imageDir, 'already exists', {
        hint: 'pass --force to replace it (the old image stays valid until the new one is complete), or pull into another directory',
      });
    }
    throw e;
  }
}

/** defrost.json from its blob, checked against the layer's digest and size, then validated. */
async function fetchDefrostJson(
  client: RegistryClient,
  layer: Descriptor,
  shown: string,
  imageDir: string,
): Promise<[ImageManifest, Buffer]> {
  if (layer.size > MAX_DEFROST_JSON) {
    throw new ImageError(
      'artifact-invalid',
      shown,
      `its ${MANIFEST_FILE} layer is ${layer.size} bytes, too large to be one`,
    );
  }
  const body = await fetchBlob(client, layer.digest, MANIFEST_FILE);
  const bytes = await readLimited(body, layer.size).catch(() => {
    throw corrupt(
      shown,
      imageDir,
      `the blob of ${MANIFEST_FILE} is longer than the ${layer.size} bytes its manifest says`,
    );
  });
  const digest = sha256Digest(bytes);
  if (digest !== layer.digest || bytes.length !== layer.size) {
    throw corrupt(
      shown,
      imageDir,
      `the blob of ${MANIFEST_FILE} does not match its digest ${layer.digest} (it is ${digest}, ${bytes.length} bytes)`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new ImageError(
      'manifest-invalid',
      shown,
      `its ${MANIFEST_FILE} is not valid JSON: ${(e as Error).message}`,
    );
  }
  return [validateManifest(parsed, shown), bytes];
}

function checkSameFiles(layout: ArtifactLayout, manifest: ImageManifest, shown: string): void {
  const listed = Object.keys(manifest.files).sort();
  const layers = [...layout.files.keys()].sort();
  if (listed.join('\0') !== layers.join('\0')) {
    const missing = listed.filter((n) => !layout.files.has(n));
    const extra = layers.filter((n) => !Object.hasOwn(manifest.files, n));
    throw new ImageError(
      'artifact-invalid',
      shown,
      `its layers do not match ${MANIFEST_FILE}: ${[
        missing.length > 0 ? `no layer for ${missing.join(', ')}` : '',
        extra.length > 0 ? `layers not in ${MANIFEST_FILE}: ${extra.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ')}`,
    );
  }
}

async function pullFile(
  client: RegistryClient,
  staging: string,
  name: string,
  layer: Descriptor,
  entry: ImageManifest['files'][string],
  where: { shown: string; imageDir: string; signal: AbortSignal },
): Promise<void> {
  const body = await fetchBlob(client, layer.digest, name);
  let got: Awaited<ReturnType<typeof expandBlob>>;
  try {
    got = await expandBlob(
      body,
      join(staging, name),
      { blobSize: layer.size, fileSize: entry.size },
      where.signal,
    );
  } catch (e) {
    if (!(e instanceof BlobMismatch)) throw e;
    const p = e.problem;
    const why =
      p.kind === 'blob-too-long'
        ? `is longer than the ${layer.size} bytes its manifest says`
        : p.kind === 'file-too-long'
          ? `expands to more than the ${entry.size} bytes ${MANIFEST_FILE} says`
          : `is not valid zstd (${p.message})`;
    throw corrupt(where.shown, where.imageDir, `the blob of ${name} ${why}`);
  }
  if (got.blob.digest !== layer.digest || got.blob.size !== layer.size) {
    throw corrupt(
      where.shown,
      where.imageDir,
      `the blob of ${name} does not match its digest ${layer.digest} (it is ${got.blob.digest})`,
    );
  }
  if (got.file.digest !== `sha256:${entry.sha256}` || got.file.size !== entry.size) {
    throw corrupt(where.shown, where.imageDir, `${name} does not match its sha256 in ${MANIFEST_FILE}`);
  }
}

async function writeFileSynced(path: string, bytes: Buffer): Promise<void> {
  const fh = await open(path, 'wx', 0o600);
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Downloads, checks and installs the image a fetched manifest describes. */
export async function pullManifest(
  client: RegistryClient,
  fetched: FetchedManifest,
  imageDir: string,
  o: PullOptions = {},
): Promise<PullResult> {
  const shown = formatReference(client.ref, fetched.digest);
  const replace = await checkTarget(imageDir, o.force);
  const layout = parseArtifactManifest(fetched.bytes, shown);
  // As restore(): without a key given, the host's key (if it has one) is required.
  const hostKey =
    o.signingKey === undefined ? await resolveSigningKey(undefined, o.env ?? process.env) : undefined;
  if (hostKey) o = { ...o, signingKey: hostKey.key, requireSignature: true };
  if (o.requireSignature && o.signingKey === undefined) {
    throw new ImageError(
      'signing-key-missing',
      shown,
      'a signed image is required, but no signing key was given',
      {
        hint: 'pass the key the image was signed with (the one given to `defrost checkpoint`)',
      },
    );
  }
  const staging = await createStagingDir(imageDir);
  try {
    const [manifest, manifestBytes] = await fetchDefrostJson(client, layout.manifestLayer, shown, imageDir);
    // Before the large downloads: a wrongly signed image is refused at once.
    if (o.signingKey !== undefined) checkSignature(manifest, o.signingKey, shown);
    checkSameFiles(layout, manifest, shown);
    const names = Object.keys(manifest.files).sort(
      (a, b) => manifest.files[b]!.size - manifest.files[a]!.size,
    );
    await forEachSettled(names, CONCURRENCY, o.signal, async (name, signal) => {
      const where = { shown, imageDir, signal };
      await pullFile(client, staging, name, layout.files.get(name)!, manifest.files[name]!, where);
      o.onBlob?.({ name, size: layout.files.get(name)!.size });
    });
    await writeFileSynced(join(staging, MANIFEST_FILE), manifestBytes);
    // The contents were hashed as they were written; this checks the rest (modes, the file set).
    await verifyImage(staging, {
      host: false,
      skipHashes: true,
      ...(o.signingKey !== undefined ? { signingKey: o.signingKey } : {}),
      onWarning: o.onWarning ?? emitProcessWarning,
    });
    await installStagedImage(staging, imageDir, { force: replace, onWarning: o.onWarning });
    await rememberVerified(imageDir, manifest);
    return {
      pinned: shown,
      digest: fetched.digest,
      imageDir,
      manifest,
      files: names.length,
      imageBytes: manifest.totalBytes,
      blobBytes: names.reduce((sum, n) => sum + layout.files.get(n)!.size, 0),
    };
  } catch (e) {
    await discardStaging(staging).catch(() => undefined);
    throw e;
  }
}

export async function pullImage(
  reference: string | ImageReference,
  imageDir: string,
  o: PullOptions = {},
): Promise<PullResult> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  await checkTarget(imageDir, o.force);
  const client = await RegistryClient.connect(ref, 'pull', o);
  try {
    return await pullManifest(client, await fetchManifest(client), imageDir, o);
  } finally {
    await client.close();
  }
}
