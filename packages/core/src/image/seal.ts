/**
 * Writing an image: CRIU dumps into a private staging directory next to the target; sealImage
 * hashes every file, writes `defrost.json` last and renames the directory into place. A reader
 * therefore sees either no image, the previous image, or the complete new one.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Stats } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { ImageError } from '../errors.js';
import { HASH_CONCURRENCY, hashFile, mapLimit } from './hash.js';
import {
  checkSigningKey,
  IMAGE_FORMAT_VERSION,
  type ImageManifest,
  isImageFileName,
  isPermissionError,
  MANIFEST_FILE,
  type ManifestFacts,
  manifestShapeProblem,
  permissionDenied,
  signManifest,
} from './manifest.js';
import { emitProcessWarning, type WarningSink } from './warning.js';

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
const STAGING_NAME = /^\..+\.partial-[A-Za-z0-9]+$/;

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function targetPath(imageDir: string): string {
  const target = resolve(imageDir);
  const base = basename(target);
  if (base === '' || base === '.' || base === '..' || dirname(target) === target) {
    throw new ImageError('image-path-invalid', imageDir, 'cannot be used as an image directory', {
      hint: 'pass a directory path such as ./images/app',
    });
  }
  return target;
}

/**
 * A fresh, private (0700) directory for CRIU to dump into: `${dirname}/.${basename}.partial-XXXXXX`,
 * a sibling of the image directory, so the final rename stays on one file system and is atomic.
 * Creates the parent directory if needed.
 */
export async function createStagingDir(imageDir: string): Promise<string> {
  const target = targetPath(imageDir);
  try {
    await mkdir(dirname(target), { recursive: true });
    const dir = await mkdtemp(join(dirname(target), `.${basename(target)}.partial-`));
    await chmod(dir, DIR_MODE);
    return dir;
  } catch (e) {
    if (isPermissionError(e))
      throw permissionDenied(imageDir, `creating a staging directory in ${dirname(target)}`, e);
    throw new ImageError(
      'seal-failed',
      imageDir,
      `cannot create a staging directory in ${dirname(target)}: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/** After a failed dump or seal: removes a staging directory and everything in it (it may hold secrets). */
export async function discardStaging(stagingDir: string): Promise<void> {
  const dir = resolve(stagingDir);
  // Guard against deleting the wrong tree: only names createStagingDir makes are removed.
  if (!STAGING_NAME.test(basename(dir))) {
    throw new ImageError(
      'staging-invalid',
      dir,
      'is not a staging directory made by createStagingDir (.NAME.partial-XXXXXX); refusing to delete it',
    );
  }
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Whether `imageDir` may receive a new image: absent, or (with `force`) an existing defrost image
 * or empty directory. Call it before a dump to fail early; sealImage calls it again.
 */
export async function assertImageTarget(
  imageDir: string,
  o: { force?: boolean } = {},
): Promise<'absent' | 'replace'> {
  const target = targetPath(imageDir);
  let st: Stats;
  try {
    st = await lstat(target);
  } catch (e) {
    if (errno(e) === 'ENOENT') return 'absent';
    if (isPermissionError(e)) throw permissionDenied(imageDir, 'looking up the directory', e);
    throw e;
  }
  if (!o.force) {
    throw new ImageError('image-exists', imageDir, 'already exists', {
      hint: 'use --force to replace it (the old image stays valid until the new one is complete), or choose another --image directory',
    });
  }
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new ImageError(
      'image-exists',
      imageDir,
      `exists and is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}; refusing to replace it, even with --force`,
      {
        hint: 'remove it yourself, or choose another --image directory',
      },
    );
  }
  let names: string[];
  try {
    names = await readdir(target);
  } catch (e) {
    if (isPermissionError(e)) throw permissionDenied(imageDir, 'listing the directory', e);
    throw e;
  }
  if (names.length > 0 && !names.includes(MANIFEST_FILE)) {
    throw new ImageError(
      'image-exists',
      imageDir,
      `exists and is not a defrost image (no ${MANIFEST_FILE}); --force only replaces images`,
      { hint: 'remove it yourself if it should go, or choose another --image directory' },
    );
  }
  return 'replace';
}

export interface SealOptions {
  /** From createStagingDir, filled by CRIU. */
  stagingDir: string;
  imageDir: string;
  facts: ManifestFacts;
  /** HMAC-SHA256 key; the manifest (which holds every file's hash) gets a signature. */
  signingKey?: Buffer | string;
  keyId?: string;
  /** Replace an existing image. */
  force?: boolean;
  /** Non-fatal problems (e.g. the replaced image could not be removed); default: process.emitWarning. */
  onWarning?: WarningSink;
}

function sealFailed(imageDir: string, message: string, cause?: unknown): ImageError {
  return new ImageError('seal-failed', imageDir, message, {
    hint: 'the image was not written; fix the cause and checkpoint again',
    cause,
  });
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Where the image goes; refuses a staging directory inside it and an existing target. */
async function checkTarget(o: SealOptions): Promise<{ readonly target: string; readonly staging: string }> {
  const target = targetPath(o.imageDir);
  const staging = resolve(o.stagingDir);
  if (o.signingKey !== undefined) checkSigningKey(o.signingKey, o.imageDir);
  const rel = relative(target, staging);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw sealFailed(o.imageDir, `the staging directory ${staging} is inside the image directory`);
  }
  await assertImageTarget(target, { force: o.force });
  return { target, staging };
}

/** The staging directory's files, sorted: regular files only, at least one CRIU image, no manifest yet. */
async function stagedFiles(o: SealOptions, staging: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    if (!(await lstat(staging)).isDirectory()) throw sealFailed(o.imageDir, `${staging} is not a directory`);
    entries = await readdir(staging, { withFileTypes: true });
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw sealFailed(o.imageDir, `cannot read the staging directory ${staging}: ${(e as Error).message}`, e);
  }
  const names: string[] = [];
  for (const entry of entries) {
    if (entry.name === MANIFEST_FILE) {
      throw sealFailed(o.imageDir, `the staging directory ${staging} already holds a ${MANIFEST_FILE}`);
    }
    if (!entry.isFile() || !isImageFileName(entry.name)) {
      throw sealFailed(
        o.imageDir,
        `the staging directory holds ${entry.name}, which is not a regular file; an image holds only regular files`,
      );
    }
    names.push(entry.name);
  }
  if (!names.some((n) => n.endsWith('.img'))) {
    throw sealFailed(o.imageDir, `the staging directory ${staging} holds no CRIU image (*.img) files`);
  }
  return names.sort();
}

/** Modes first, so the files are private before anyone could read their hashes; then hash + fsync. */
async function hashStaged(
  o: SealOptions,
  staging: string,
  names: readonly string[],
): Promise<ImageManifest['files']> {
  try {
    await chmod(staging, DIR_MODE);
    for (const name of names) await chmod(join(staging, name), FILE_MODE);
    const digests = await mapLimit([...names], HASH_CONCURRENCY, (name) =>
      hashFile(join(staging, name), { sync: true }),
    );
    return Object.fromEntries(names.map((n, i) => [n, digests[i]!]));
  } catch (e) {
    const path = (e as NodeJS.ErrnoException).path;
    throw sealFailed(o.imageDir, `cannot hash ${path ?? 'the image files'}: ${(e as Error).message}`, e);
  }
}

/**
 * The manifest: facts + what only the sealer knows, checked, signed when asked. A JSON round trip,
 * so that the signed object is exactly what a reader will parse (no undefined, Dates as strings).
 */
function buildManifest(o: SealOptions, files: ImageManifest['files']): ImageManifest {
  const totalBytes = Object.values(files).reduce((sum, d) => sum + d.size, 0);
  const own = {
    formatVersion: IMAGE_FORMAT_VERSION,
    imageId: randomUUID(),
    createdAt: new Date().toISOString(),
  };
  const draft: Record<string, unknown> = { ...own, ...o.facts, ...own, files, totalBytes };
  delete draft.signature;
  let manifest: ImageManifest;
  try {
    manifest = JSON.parse(JSON.stringify(draft)) as ImageManifest;
  } catch (e) {
    throw new ImageError(
      'manifest-invalid',
      o.imageDir,
      `the manifest facts are not JSON: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  const problem = manifestShapeProblem(manifest as unknown as Record<string, unknown>);
  if (problem !== undefined) {
    throw new ImageError(
      'manifest-invalid',
      o.imageDir,
      `refusing to write an invalid ${MANIFEST_FILE}: ${problem}`,
      {
        hint: 'this is a bug in the caller of sealImage',
      },
    );
  }
  if (o.signingKey !== undefined) manifest.signature = signManifest(manifest, o.signingKey, o.keyId);
  return manifest;
}

/** defrost.json written last (fsynced), then the staging directory renamed into place. */
async function writeAndInstall(
  o: SealOptions,
  manifest: ImageManifest,
  where: { readonly target: string; readonly staging: string },
): Promise<void> {
  const manifestPath = join(where.staging, MANIFEST_FILE);
  try {
    const fh = await open(manifestPath, 'wx', FILE_MODE);
    try {
      await fh.writeFile(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
      await fh.chmod(FILE_MODE);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsyncDir(where.staging);
    await install(where.staging, where.target, o, o.onWarning ?? emitProcessWarning);
  } catch (e) {
    // Whatever failed, the staging directory must not look like a finished image.
    await rm(manifestPath, { force: true }).catch(() => {});
    if (e instanceof ImageError) throw e;
    throw sealFailed(o.imageDir, `cannot write the image: ${(e as Error).message}`, e);
  }
}

/**
 * Hashes every file of the staging directory (fsyncing it), sets modes 0700/0600, writes and
 * fsyncs `defrost.json` last, then renames the staging directory to `imageDir`. On failure nothing
 * is installed and the staging directory holds no manifest; removing it is up to the caller
 * (discardStaging), who may want CRIU's log from it first.
 */
export async function sealImage(o: SealOptions): Promise<ImageManifest> {
  const where = await checkTarget(o);
  const names = await stagedFiles(o, where.staging);
  const manifest = buildManifest(o, await hashStaged(o, where.staging, names));
  await writeAndInstall(o, manifest, where);
  return manifest;
}

/**
 * Renames a complete staging directory (createStagingDir) into place as sealImage does: `pull`
 * writes an image the same way. With `force`, an existing image or empty directory is replaced.
 */
export async function installStagedImage(
  stagingDir: string,
  imageDir: string,
  o: { readonly force?: boolean; readonly onWarning?: WarningSink } = {},
): Promise<void> {
  const target = targetPath(imageDir);
  await install(resolve(stagingDir), target, { imageDir, force: o.force }, o.onWarning ?? emitProcessWarning);
}

async function install(
  staging: string,
  target: string,
  o: Pick<SealOptions, 'imageDir' | 'force'>,
  onWarning: WarningSink,
): Promise<void> {
  const parent = dirname(target);
  const mode = await assertImageTarget(target, { force: o.force });
  if (mode === 'absent') {
    try {
      await rename(staging, target);
    } catch (e) {
      const code = errno(e);
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        throw new ImageError('image-exists', o.imageDir, 'was created by someone else while sealing', {
          hint: 'use --force to replace it, or choose another --image directory',
          cause: e,
        });
      }
      if (code === 'EXDEV') {
        throw sealFailed(o.imageDir, `the staging directory ${staging} is on another file system`, e);
      }
      throw e;
    }
  } else {
    // rename(2) cannot swap two directories; this is the next best: the old image stays complete
    // until the new one is complete, and the gap between the two renames has no half image.
    const aside = join(parent, `.${basename(target)}.old-${randomBytes(6).toString('hex')}`);
    await rename(target, aside);
    try {
      await rename(staging, target);
    } catch (e) {
      await rename(aside, target).catch((back) => {
        onWarning({
          code: 'image-cleanup',
          message: `the previous image could not be moved back from ${aside} to ${target}: ${(back as Error).message}`,
        });
      });
      throw e;
    }
    try {
      await rm(aside, { recursive: true, force: true, maxRetries: 3 });
    } catch (e) {
      onWarning({
        code: 'image-cleanup',
        message: `the previous image was replaced but ${aside} could not be removed (it holds a process heap, secrets included): ${(e as Error).message}; remove it by hand`,
      });
    }
  }
  try {
    await fsyncDir(parent);
  } catch {
    // Durability of the rename only; the image itself is complete and fsync'd.
  }
}
