/**
 * `defrost.json`: the manifest of an image directory. Its shape, its validation (a manifest is
 * untrusted input: it may be truncated, hand-edited or forged) and its HMAC signature.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageError } from '../errors.js';

export const IMAGE_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'defrost.json';

/** A manifest larger than this is not one defrost wrote (a few KB is typical). */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
/**
 * Nor one nested deeper than this (defrost's nest a few levels). JSON.parse reads any depth, but the
 * code that reads a manifest next recurses (canonicalJson for the signature, JSON.stringify in
 * messages) and would overflow the stack on a few thousand levels: found by fuzzing.
 */
const MAX_MANIFEST_DEPTH = 64;

export const REBUILD_HINT = 'build the image again: `defrost checkpoint --image DIR -- node app.js`';

export interface ImageManifest {
  formatVersion: 1;
  /** Random UUID, new for every image. */
  imageId: string;
  /** ISO 8601. */
  createdAt: string;
  node: { version: string; execPath: string; binarySha256: string; arch: string; platform: string };
  /** `os.release()` of the machine that made the image. */
  kernel: string;
  /** The CPU features the frozen process may depend on (image/cpu.ts); absent in older images. */
  cpu?: { features: string[] };
  criu: { version: string };
  process: { pid: number; argv: string[]; execArgv: string[]; cwd: string };
  listening: { fd: number; family: string; address: string; port?: number }[];
  /** CRIU `--inherit-fd` keys; opaque here. More keys (more inherited fds) may follow, all strings. */
  stdio: {
    stdoutKey: string;
    stderrKey: string;
    controlInKey: string;
    controlOutKey: string;
    [key: string]: string;
  };
  /** Summary from the Fastify plugin; opaque here. */
  warmup?: unknown;
  checkpoint: { durationMs: number; pages?: number; [k: string]: unknown };
  /** Every file of the image except `defrost.json` itself, by base name. */
  files: Record<string, { size: number; sha256: string }>;
  /** Sum of `files[*].size`. */
  totalBytes: number;
  /** HMAC-SHA256 (hex) over {@link canonicalManifestJson} of the manifest without `signature`. */
  signature?: { algorithm: 'hmac-sha256'; keyId?: string; value: string };
}

/** What the checkpoint side knows; sealImage adds the rest. */
export type ManifestFacts = Omit<
  ImageManifest,
  'formatVersion' | 'files' | 'totalBytes' | 'signature' | 'imageId' | 'createdAt'
>;

// ---------------------------------------------------------------------------------------------
// Canonical form and signature

/**
 * JSON with object keys sorted (UTF-16 order) at every level and no whitespace. Stable across
 * writers, so the signature survives re-formatting of `defrost.json` but not any change of a value.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

/** The bytes the signature covers: the canonical manifest without `signature`. */
export function canonicalManifestJson(manifest: ImageManifest): string {
  const { signature: _ignored, ...unsigned } = manifest;
  return canonicalJson(unsigned);
}

function hmac(manifest: ImageManifest, key: Buffer | string): Buffer {
  return createHmac('sha256', key).update(canonicalManifestJson(manifest), 'utf8').digest();
}

/** An empty key would make every signature trivially forgeable. */
export function checkSigningKey(key: Buffer | string, imageDir: string): void {
  if (key.length === 0) {
    throw new ImageError('signing-key-invalid', imageDir, 'the signing key is empty', {
      hint: 'pass the same non-empty secret that signed the image (e.g. 32 random bytes)',
    });
  }
}

export function signManifest(
  manifest: ImageManifest,
  key: Buffer | string,
  keyId?: string,
): NonNullable<ImageManifest['signature']> {
  return {
    algorithm: 'hmac-sha256',
    ...(keyId !== undefined ? { keyId } : {}),
    value: hmac(manifest, key).toString('hex'),
  };
}

/** Throws `image-unsigned` or `signature-mismatch`; compares in constant time. */
export function checkSignature(manifest: ImageManifest, key: Buffer | string, imageDir: string): void {
  checkSigningKey(key, imageDir);
  const sig = manifest.signature;
  if (!sig) {
    throw new ImageError('image-unsigned', imageDir, 'the image is not signed, but a signing key was given', {
      hint: 'rebuild the image with the signing key (`defrost checkpoint --signing-key ...`), or restore without a key if unsigned images are acceptable here',
    });
  }
  const expected = hmac(manifest, key);
  const actual = Buffer.from(sig.value, 'hex');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    const which = sig.keyId !== undefined ? ` (signed with key id "${sig.keyId}")` : '';
    throw new ImageError(
      'signature-mismatch',
      imageDir,
      `the signature of ${MANIFEST_FILE} does not match${which}: the manifest was modified after signing, or was signed with a different key`,
      {
        hint: `use the key the image was signed with; if the image may have been tampered with, ${REBUILD_HINT}`,
      },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Validation

class ShapeError extends Error {}

type Obj = Record<string, unknown>;

function fail(path: string, what: string, got: unknown): never {
  const shown = got === undefined ? 'missing' : `got ${JSON.stringify(got)?.slice(0, 60) ?? typeof got}`;
  throw new ShapeError(`${path} must be ${what} (${shown})`);
}
function obj(v: unknown, path: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(path, 'an object', v);
  return v as Obj;
}
function str(v: unknown, path: string, nonEmpty = true): string {
  if (typeof v !== 'string' || (nonEmpty && v === ''))
    fail(path, nonEmpty ? 'a non-empty string' : 'a string', v);
  return v;
}
function int(v: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    fail(path, `an integer from ${min} to ${max}`, v);
  }
  return v;
}
function strArray(v: unknown, path: string): string[] {
  if (!Array.isArray(v)) fail(path, 'an array of strings', v);
  for (const [i, s] of v.entries()) str(s, `${path}[${i}]`, false);
  return v as string[];
}
const HEX64 = /^[0-9a-f]{64}$/;
function sha(v: unknown, path: string): string {
  if (typeof v !== 'string' || !HEX64.test(v)) fail(path, 'a sha256 in lowercase hex (64 digits)', v);
  return v;
}

/** A file name in `files`: a plain entry of the image directory, never a path. */
export function isImageFileName(name: string): boolean {
  return (
    name !== '' &&
    name !== '.' &&
    name !== '..' &&
    name !== MANIFEST_FILE &&
    !name.includes('/') &&
    !name.includes('\\') &&
    !name.includes('\0')
  );
}

/** Whether objects and arrays nest deeper than `max` in `value`; iterative, so any depth is measured. */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * Checks the shape of a parsed manifest. Unknown top-level keys are kept (they are covered by the
 * signature); everything defrost reads is checked.
 */
export function validateManifest(value: unknown, imageDir: string): ImageManifest {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ImageError('manifest-invalid', imageDir, `${MANIFEST_FILE} is not a JSON object`, {
      hint: REBUILD_HINT,
    });
  }
  if (nestsDeeperThan(value, MAX_MANIFEST_DEPTH)) {
    throw new ImageError(
      'manifest-invalid',
      imageDir,
      `${MANIFEST_FILE} nests deeper than ${MAX_MANIFEST_DEPTH} levels: not a manifest defrost wrote`,
      { hint: REBUILD_HINT },
    );
  }
  const fv = (value as Obj).formatVersion;
  if (fv !== IMAGE_FORMAT_VERSION) {
    if (fv === undefined) {
      throw new ImageError('manifest-invalid', imageDir, `${MANIFEST_FILE} has no formatVersion`, {
        hint: `this is not a manifest written by defrost; ${REBUILD_HINT}`,
      });
    }
    const newer = typeof fv === 'number' && fv > IMAGE_FORMAT_VERSION;
    throw new ImageError(
      'format-unsupported',
      imageDir,
      `image format ${JSON.stringify(fv).slice(0, 60)} is not supported; this defrost reads format ${IMAGE_FORMAT_VERSION}`,
      {
        hint: newer
          ? `the image was made by a newer defrost: upgrade defrost here, or ${REBUILD_HINT} with this version`
          : REBUILD_HINT,
      },
    );
  }
  const problem = manifestShapeProblem(value as Obj);
  if (problem !== undefined) {
    throw new ImageError('manifest-invalid', imageDir, `${MANIFEST_FILE} is invalid: ${problem}`, {
      hint: REBUILD_HINT,
    });
  }
  return value as ImageManifest;
}

/** The first thing wrong with the shape of a manifest (formatVersion aside), or undefined. */
export function manifestShapeProblem(value: Record<string, unknown>): string | undefined {
  try {
    checkShape(value);
    return undefined;
  } catch (e) {
    if (e instanceof ShapeError) return e.message;
    throw e;
  }
}

function checkShape(m: Obj): void {
  str(m.imageId, 'imageId');
  if (Number.isNaN(Date.parse(str(m.createdAt, 'createdAt')))) fail('createdAt', 'an ISO date', m.createdAt);

  const node = obj(m.node, 'node');
  str(node.version, 'node.version');
  str(node.execPath, 'node.execPath');
  sha(node.binarySha256, 'node.binarySha256');
  str(node.arch, 'node.arch');
  str(node.platform, 'node.platform');
  str(m.kernel, 'kernel');
  if (m.cpu !== undefined) strArray(obj(m.cpu, 'cpu').features, 'cpu.features');
  str(obj(m.criu, 'criu').version, 'criu.version');

  const proc = obj(m.process, 'process');
  int(proc.pid, 'process.pid', 1);
  strArray(proc.argv, 'process.argv');
  strArray(proc.execArgv, 'process.execArgv');
  str(proc.cwd, 'process.cwd');

  if (!Array.isArray(m.listening)) fail('listening', 'an array', m.listening);
  m.listening.forEach((l: unknown, i) => {
    const p = `listening[${i}]`;
    const o = obj(l, p);
    int(o.fd, `${p}.fd`);
    str(o.family, `${p}.family`);
    str(o.address, `${p}.address`, false);
    if (o.port !== undefined) int(o.port, `${p}.port`, 0, 65535);
  });

  const stdio = obj(m.stdio, 'stdio');
  for (const k of ['stdoutKey', 'stderrKey', 'controlInKey', 'controlOutKey']) {
    str(stdio[k], `stdio.${k}`, false);
  }
  for (const [k, v] of Object.entries(stdio)) str(v, `stdio.${k}`, false);

  const cp = obj(m.checkpoint, 'checkpoint');
  if (typeof cp.durationMs !== 'number' || !Number.isFinite(cp.durationMs) || cp.durationMs < 0) {
    fail('checkpoint.durationMs', 'a non-negative number', cp.durationMs);
  }
  if (cp.pages !== undefined) int(cp.pages, 'checkpoint.pages');

  const files = obj(m.files, 'files');
  let sum = 0;
  for (const [name, entry] of Object.entries(files)) {
    const p = `files[${JSON.stringify(name)}]`;
    if (!isImageFileName(name)) fail(p, 'named by a plain file name of the image directory', name);
    const e = obj(entry, p);
    sum += int(e.size, `${p}.size`);
    sha(e.sha256, `${p}.sha256`);
  }
  int(m.totalBytes, 'totalBytes');
  if (m.totalBytes !== sum) fail('totalBytes', `the sum of the file sizes (${sum})`, m.totalBytes);

  if (m.signature !== undefined) {
    const s = obj(m.signature, 'signature');
    if (s.algorithm !== 'hmac-sha256') fail('signature.algorithm', '"hmac-sha256"', s.algorithm);
    if (s.keyId !== undefined) str(s.keyId, 'signature.keyId', false);
    sha(s.value, 'signature.value');
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

export function isPermissionError(e: unknown): boolean {
  const code = errno(e);
  return code === 'EACCES' || code === 'EPERM';
}

export function permissionDenied(imageDir: string, what: string, cause: unknown): ImageError {
  return new ImageError('image-permission-denied', imageDir, `permission denied ${what}`, {
    hint: 'images are private (0700/0600: they hold the whole heap, secrets included); run as the user who made the image, or as root',
    cause,
  });
}

/** The directory exists, is a directory and can be stat'ed; throws the matching ImageError otherwise. */
export async function statImageDir(imageDir: string): Promise<import('node:fs').Stats> {
  let st: import('node:fs').Stats;
  try {
    st = await stat(imageDir);
  } catch (e) {
    if (errno(e) === 'ENOENT') {
      throw new ImageError('image-missing', imageDir, 'no such directory', {
        hint: 'build one with `defrost checkpoint --image DIR -- node app.js`',
        cause: e,
      });
    }
    if (errno(e) === 'ENOTDIR') {
      throw new ImageError('image-not-directory', imageDir, 'a part of the path is not a directory', {
        hint: 'pass the image directory given to `defrost checkpoint --image DIR`',
        cause: e,
      });
    }
    if (isPermissionError(e)) throw permissionDenied(imageDir, 'looking up the directory', e);
    throw new ImageError('image-unreadable', imageDir, `cannot stat the directory: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (!st.isDirectory()) {
    throw new ImageError('image-not-directory', imageDir, 'is not a directory', {
      hint: 'an image is a directory (CRIU files + defrost.json); pass the directory given to `defrost checkpoint --image DIR`',
    });
  }
  return st;
}

/** Parse and shape-validate `defrost.json`; no file hashes, no signature, no host checks. */
export async function readManifest(imageDir: string): Promise<ImageManifest> {
  await statImageDir(imageDir);
  const file = join(imageDir, MANIFEST_FILE);
  let text: string;
  try {
    // O_NOFOLLOW: a symlinked manifest could point anywhere.
    const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const st = await fh.stat();
      if (!st.isFile()) {
        throw new ImageError('manifest-invalid', imageDir, `${MANIFEST_FILE} is not a regular file`, {
          hint: REBUILD_HINT,
        });
      }
      if (st.size > MAX_MANIFEST_BYTES) {
        throw new ImageError(
          'manifest-invalid',
          imageDir,
          `${MANIFEST_FILE} is ${st.size} bytes, too large to be a defrost manifest`,
          { hint: REBUILD_HINT },
        );
      }
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof ImageError) throw e;
    if (errno(e) === 'ENOENT') {
      throw new ImageError(
        'manifest-missing',
        imageDir,
        `no ${MANIFEST_FILE}: not a defrost image, or its checkpoint did not finish (the manifest is written last)`,
        { hint: REBUILD_HINT, cause: e },
      );
    }
    if (errno(e) === 'ELOOP') {
      throw new ImageError('manifest-invalid', imageDir, `${MANIFEST_FILE} is a symbolic link`, {
        hint: `image files must be regular files; ${REBUILD_HINT}`,
        cause: e,
      });
    }
    if (isPermissionError(e)) throw permissionDenied(imageDir, `reading ${MANIFEST_FILE}`, e);
    throw new ImageError(
      'image-unreadable',
      imageDir,
      `cannot read ${MANIFEST_FILE}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  if (text.trim() === '') {
    throw new ImageError('manifest-invalid', imageDir, `${MANIFEST_FILE} is empty (truncated?)`, {
      hint: REBUILD_HINT,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ImageError(
      'manifest-invalid',
      imageDir,
      `${MANIFEST_FILE} is not valid JSON (truncated or edited?): ${(e as Error).message}`,
      { hint: REBUILD_HINT, cause: e },
    );
  }
  return validateManifest(parsed, imageDir);
}
