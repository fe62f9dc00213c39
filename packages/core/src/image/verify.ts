/**
 * Checking an image before CRIU touches it: the manifest, the signature, the files (presence,
 * type, owner, mode, size, sha256) and the host (node binary, arch, kernel, CRIU). Every refusal
 * is an ImageError with a stable code and says what to do.
 */

import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileIdentity, readCacheJson, writeCacheJson } from '../cache.js';
import { ImageError } from '../errors.js';
import { HASH_CONCURRENCY, hashFile, mapLimit } from './hash.js';
import { checkCompatibility, currentHostFacts, type HostFacts } from './host.js';
import {
  checkSignature,
  type ImageManifest,
  isPermissionError,
  MANIFEST_FILE,
  permissionDenied,
  REBUILD_HINT,
  readManifest,
  statImageDir,
} from './manifest.js';
import { emitProcessWarning, type WarningSink } from './warning.js';

export interface VerifyOptions {
  /** Check the HMAC signature with this key; an unsigned image is then refused. */
  signingKey?: Buffer | string;
  /** Refuse to go on without a signing key (so an unsigned image can never slip through). */
  requireSignature?: boolean;
  /**
   * The machine that will restore. Default: currentHostFacts() (this process's node, arch, kernel;
   * no CRIU version). `false` skips the compatibility check (e.g. `defrost inspect`).
   */
  host?: HostFacts | false;
  /**
   * Skip the sha256 of every file (sizes, types, modes, signature and compatibility are still
   * checked). Only for callers that verify the contents separately: hashing reads the whole image.
   */
  skipHashes?: boolean;
  /** Non-fatal findings (readable image, other kernel, older CRIU); default: process.emitWarning. */
  onWarning?: WarningSink;
}

const PAGES_FILE = /^pages-\d+\.img$/;

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

function list(names: readonly string[], max = 5): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

export async function verifyImage(imageDir: string, o: VerifyOptions = {}): Promise<ImageManifest> {
  const onWarning = o.onWarning ?? emitProcessWarning;
  if (o.requireSignature && o.signingKey === undefined) {
    throw new ImageError(
      'signing-key-missing',
      imageDir,
      'a signed image is required, but no signing key was given',
      {
        hint: 'pass the key the image was signed with (the one given to `defrost checkpoint`)',
      },
    );
  }

  const manifest = await readManifest(imageDir);
  if (o.signingKey !== undefined) checkSignature(manifest, o.signingKey, imageDir);

  const sizes = await checkFiles(imageDir, manifest, onWarning);

  const host = o.host === false ? undefined : (o.host ?? (await currentHostFacts()));
  if (host) {
    const { fatal, warnings } = checkCompatibility(manifest, host);
    if (fatal.length > 0) {
      throw new ImageError(
        'image-incompatible',
        imageDir,
        `cannot be restored here: ${fatal.join('; and ')}`,
        {
          hint: 'an image only restores with the node binary and CPU architecture it was made with; build it on (or for) this machine',
        },
      );
    }
    for (const message of warnings) onWarning({ code: 'image-incompatible', message });
  }

  if (!o.skipHashes && !(await isVerifiedBefore(imageDir, manifest))) {
    await checkHashes(imageDir, manifest, sizes);
    await rememberVerified(imageDir, manifest);
  }
  return manifest;
}

/**
 * Hashing is the price of trust, and a high one: ~400 ms for a 180 MB image here, more than the
 * restore itself. Once every file of an image has been hashed and found right, the identity of
 * each file (see fileIdentity: any change to a file changes its ctime) is kept in defrost's
 * cache, outside the image; while no identity changes, the hashes need not be read again.
 */
function verifiedName(imageDir: string): string {
  return `verified-${createHash('sha256').update(resolve(imageDir)).digest('hex').slice(0, 16)}.json`;
}

async function identities(imageDir: string, manifest: ImageManifest): Promise<Record<string, string>> {
  const names = [MANIFEST_FILE, ...Object.keys(manifest.files)];
  const ids = await Promise.all(names.map((n) => fileIdentity(join(imageDir, n))));
  return Object.fromEntries(names.map((n, i) => [n, ids[i]!]));
}

async function isVerifiedBefore(imageDir: string, manifest: ImageManifest): Promise<boolean> {
  const seen = await readCacheJson<{ imageId?: unknown; identities?: unknown }>(verifiedName(imageDir));
  const recorded = seen?.identities;
  if (seen?.imageId !== manifest.imageId || typeof recorded !== 'object' || recorded === null) return false;
  const now = await identities(imageDir, manifest).catch(() => undefined);
  return now !== undefined && sameIdentities(now, recorded as Record<string, unknown>);
}

/**
 * The same files in the same order, each with the same identity. Entry by entry, not by
 * JSON.stringify: what the cache file holds is parsed from disk, and stringifying a deeply nested
 * value overflows the stack (found by fuzzing: a RangeError out of verifyImage).
 */
function sameIdentities(now: Record<string, string>, seen: Record<string, unknown>): boolean {
  const want = Object.entries(now);
  const got = Object.entries(seen);
  return (
    want.length === got.length && want.every(([name, id], i) => got[i]![0] === name && got[i]![1] === id)
  );
}

/** Records that this image, as it is on disk now, was hashed and found right. */
export async function rememberVerified(imageDir: string, manifest: ImageManifest): Promise<void> {
  // One entry per directory: an image replaced in place replaces its entry.
  await writeCacheJson(verifiedName(imageDir), {
    about: resolve(imageDir),
    imageId: manifest.imageId,
    identities: await identities(imageDir, manifest),
  });
}

/** The directory's entries: every listed file present, no CRIU file that is not listed. */
async function checkInventory(imageDir: string, manifest: ImageManifest): Promise<void> {
  let names: string[];
  try {
    names = await readdir(imageDir);
  } catch (e) {
    if (isPermissionError(e)) throw permissionDenied(imageDir, 'listing the directory', e);
    throw e;
  }
  const present = new Set(names);
  const listed = Object.keys(manifest.files);
  const missing = listed.filter((n) => !present.has(n));
  if (missing.length > 0) {
    throw new ImageError(
      'image-incomplete',
      imageDir,
      `${missing.length} of ${listed.length} files listed in ${MANIFEST_FILE} are missing: ${list(missing)}`,
      { hint: `the image was copied partially or files were deleted; copy it again or ${REBUILD_HINT}` },
    );
  }
  // Extra CRIU files would be read by `criu restore` although nothing vouches for them. Other extra
  // files (restore.log, stats-restore written by CRIU at restore) are not CRIU input: ignored.
  const unexpected = names.filter((n) => n.endsWith('.img') && !Object.hasOwn(manifest.files, n));
  if (unexpected.length > 0) {
    throw new ImageError(
      'image-unexpected-file',
      imageDir,
      `holds CRIU files not listed in ${MANIFEST_FILE}: ${list(unexpected)}; CRIU would read them, nothing vouches for them`,
      { hint: `remove them if you know where they come from; otherwise ${REBUILD_HINT}` },
    );
  }
}

/** stat of the directory, the manifest and every listed file, by name ('.' for the directory). */
async function statImageFiles(imageDir: string, manifest: ImageManifest): Promise<[string, Stats][]> {
  const stats: [string, Stats][] = [];
  try {
    // The directory itself may be reached through a symlink (e.g. a `current` link): stat, not lstat.
    stats.push(['.', await stat(imageDir)], [MANIFEST_FILE, await lstat(join(imageDir, MANIFEST_FILE))]);
    for (const name of Object.keys(manifest.files)) stats.push([name, await lstat(join(imageDir, name))]);
  } catch (e) {
    if (isPermissionError(e)) throw permissionDenied(imageDir, 'reading file attributes', e);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ImageError(
        'image-incomplete',
        imageDir,
        `a file vanished while checking: ${(e as Error).message}`,
        {
          hint: 'something is modifying the image; wait until it is done, or rebuild it',
          cause: e,
        },
      );
    }
    throw e;
  }
  return stats;
}

/**
 * Regular files only, writable by nobody else, owned by this user or root: whoever else could
 * write them could have swapped memory pages. Readable by others is only warned about.
 */
function checkOwnership(imageDir: string, stats: readonly [string, Stats][], onWarning: WarningSink): void {
  const euid = process.geteuid?.();
  const writable: string[] = [];
  const foreign: string[] = [];
  let readable = false;
  for (const [name, st] of stats) {
    const shown = name === '.' ? 'the directory' : name;
    if (name !== '.' && !st.isFile()) {
      throw new ImageError(
        'image-unexpected-file',
        imageDir,
        `${name} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}; image files must be regular files`,
        { hint: REBUILD_HINT },
      );
    }
    if (st.mode & 0o022) writable.push(`${shown} (${octal(st.mode)})`);
    if (st.mode & 0o044) readable = true;
    if (euid !== undefined && st.uid !== euid && st.uid !== 0) foreign.push(`${shown} (uid ${st.uid})`);
  }
  if (writable.length > 0) {
    throw new ImageError(
      'image-permissions',
      imageDir,
      `writable by group or others: ${list(writable)}; someone could have swapped memory pages, so it is not restored`,
      {
        hint: `defrost writes images 0700/0600; ${REBUILD_HINT}, or if you are sure nobody changed it, \`chmod -R go-rwx ${imageDir}\``,
      },
    );
  }
  if (foreign.length > 0) {
    throw new ImageError(
      'image-permissions',
      imageDir,
      `owned by another user: ${list(foreign)}; that user could have changed the memory pages, so it is not restored`,
      {
        hint: `restore as that user, or \`chown -R\` the image to yourself if you trust it, or ${REBUILD_HINT}`,
      },
    );
  }
  if (readable) {
    onWarning({
      code: 'image-permissions',
      message: `image ${imageDir} is readable by group or others, but holds the whole heap of a process (secrets included): \`chmod -R go-rwx ${imageDir}\``,
    });
  }
}

/** Every listed file has the size the manifest says; returns the sizes. */
function checkSizes(
  imageDir: string,
  manifest: ImageManifest,
  stats: readonly [string, Stats][],
): Map<string, number> {
  const sizes = new Map<string, number>();
  const wrongSize: string[] = [];
  for (const [name, st] of stats) {
    if (name === '.' || name === MANIFEST_FILE) continue;
    sizes.set(name, st.size);
    const want = manifest.files[name]!.size;
    if (st.size !== want) wrongSize.push(`${name} is ${st.size} bytes, ${MANIFEST_FILE} says ${want}`);
  }
  if (wrongSize.length > 0) {
    throw new ImageError('image-truncated', imageDir, `files have the wrong size: ${list(wrongSize, 3)}`, {
      hint: `the image was copied partially (disk full?) or modified; copy it again or ${REBUILD_HINT}`,
    });
  }
  return sizes;
}

/** Presence, type, owner, mode and size of every file; returns the sizes on disk. */
async function checkFiles(
  imageDir: string,
  manifest: ImageManifest,
  onWarning: WarningSink,
): Promise<Map<string, number>> {
  await checkInventory(imageDir, manifest);
  const stats = await statImageFiles(imageDir, manifest);
  checkOwnership(imageDir, stats, onWarning);
  return checkSizes(imageDir, manifest, stats);
}

async function checkHashes(
  imageDir: string,
  manifest: ImageManifest,
  sizes: Map<string, number>,
): Promise<void> {
  // Largest first: the big pages files start at once and the small ones fill the gaps.
  const names = Object.keys(manifest.files).sort((a, b) => (sizes.get(b) ?? 0) - (sizes.get(a) ?? 0));
  const corrupt: string[] = [];
  const changed: string[] = [];
  try {
    await mapLimit(names, HASH_CONCURRENCY, async (name) => {
      const want = manifest.files[name]!;
      const got = await hashFile(join(imageDir, name));
      if (got.size !== want.size) changed.push(name);
      else if (got.sha256 !== want.sha256) corrupt.push(name);
    });
  } catch (e) {
    const path = (e as NodeJS.ErrnoException).path ?? 'a file';
    if (isPermissionError(e)) throw permissionDenied(imageDir, `reading ${path}`, e);
    throw new ImageError('image-unreadable', imageDir, `cannot read ${path}: ${(e as Error).message}`, {
      hint: 'something is modifying or removing the image files; wait until it is done, or rebuild it',
      cause: e,
    });
  }
  if (changed.length > 0) {
    throw new ImageError(
      'image-truncated',
      imageDir,
      `files changed size while being checked: ${list(changed)}`,
      {
        hint: 'something is writing into the image; wait until it is done, or rebuild it',
      },
    );
  }
  if (corrupt.length > 0) {
    corrupt.sort();
    throw new ImageError(
      'image-corrupt',
      imageDir,
      `the content of ${list(corrupt)} does not match its sha256 in ${MANIFEST_FILE}; the image is damaged or was modified`,
      { hint: `copy it again from a good source, or ${REBUILD_HINT}` },
    );
  }
}

/** Bytes on disk: every regular file of the directory (defrost.json included) and the pages-*.img part. */
export async function imageSizes(
  imageDir: string,
): Promise<{ totalBytes: number; pagesBytes: number; files: number }> {
  await statImageDir(imageDir);
  let totalBytes = 0;
  let pagesBytes = 0;
  let files = 0;
  try {
    for (const entry of await readdir(imageDir, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const { size } = await lstat(join(imageDir, entry.name));
      totalBytes += size;
      files += 1;
      if (PAGES_FILE.test(entry.name)) pagesBytes += size;
    }
  } catch (e) {
    if (isPermissionError(e)) throw permissionDenied(imageDir, 'listing the directory', e);
    throw e;
  }
  return { totalBytes, pagesBytes, files };
}
