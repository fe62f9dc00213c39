import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * defrost's machine-local cache (CRIU's kernel-feature cache, what was already verified). Only
 * speed depends on it: deleting it is always safe. It is trusted only when this user owns it and
 * nobody else can write to it, since what it says lets a restore skip work.
 */
export function cacheDir(): string {
  return process.env.DEFROST_CACHE_DIR || '/var/cache/defrost';
}

async function trustedDir(dir: string): Promise<boolean> {
  try {
    const st = await lstat(dir);
    return st.isDirectory() && st.uid === process.geteuid?.() && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** Whether the cache can be used: what `defrost doctor` reports. */
export async function cacheDirState(dir = cacheDir()): Promise<'trusted' | 'missing' | 'untrusted'> {
  if (await trustedDir(dir)) return 'trusted';
  return lstat(dir).then(
    () => 'untrusted' as const,
    () => 'missing' as const,
  );
}

/** Creates the cache directory (0700) when missing; false when it cannot be used. */
export async function ensureCacheDir(dir = cacheDir()): Promise<boolean> {
  await mkdir(dir, { recursive: true, mode: 0o700 }).catch(() => undefined);
  return trustedDir(dir);
}

export async function readCacheJson<T>(name: string, dir = cacheDir()): Promise<T | undefined> {
  if (!(await trustedDir(dir))) return undefined;
  try {
    return JSON.parse(await readFile(join(dir, name), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * Writes a file into the cache atomically (temp file + rename): a reader never sees half of it.
 * False when the cache cannot be used or the write failed: a cache is never worth an error.
 */
export async function writeCacheFile(
  name: string,
  text: string,
  o: { readonly mode?: number; readonly dir?: string } = {},
): Promise<boolean> {
  const dir = o.dir ?? cacheDir();
  if (!(await ensureCacheDir(dir))) return false;
  const temp = join(dir, `.${name}.${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(temp, text, { mode: o.mode ?? 0o600 });
    await rename(temp, join(dir, name));
    return true;
  } catch {
    await rm(temp, { force: true }).catch(() => undefined);
    return false;
  }
}

/**
 * A JSON entry about one file or directory (`about`: an image, a node or criu binary), atomic,
 * 0600, best effort (writeCacheFile). Writing one prunes the entries about paths that no longer
 * exist: a deleted image must not leave its entries behind forever.
 */
export async function writeCacheJson<T extends { readonly about: string }>(
  name: string,
  value: T,
  dir = cacheDir(),
): Promise<void> {
  if (await writeCacheFile(name, JSON.stringify(value), { dir })) await pruneCache(dir);
}

/**
 * Removes what no longer applies: JSON entries about paths that are gone (or that name no path:
 * written by an older defrost), and CRIU kernel-feature caches of earlier boots. Returns how many.
 */
export async function pruneCache(dir = cacheDir()): Promise<number> {
  if (!(await trustedDir(dir))) return 0;
  const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
  let pruned = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const file = join(dir, name);
    let stale = false;
    if (name.endsWith('.json')) {
      const about = await readFile(file, 'utf8')
        .then((text) => (JSON.parse(text) as { about?: unknown }).about)
        .catch(() => undefined);
      stale = typeof about !== 'string' || !(await exists(about));
    } else if (name.endsWith('.kdat')) {
      stale = bootId !== '' && !name.endsWith(`-${bootId}.kdat`);
    }
    if (
      stale &&
      (await rm(file, { force: true }).then(
        () => true,
        () => false,
      ))
    )
      pruned++;
  }
  return pruned;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * What identifies a file's content without reading it: device, inode, size, and modification and
 * change times in nanoseconds. Any write, truncation, chmod or replacement changes the ctime,
 * which only the kernel sets (from the clock); so an unchanged identity means unchanged content.
 */
export async function fileIdentity(path: string): Promise<string> {
  const st = await stat(path, { bigint: true });
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}
