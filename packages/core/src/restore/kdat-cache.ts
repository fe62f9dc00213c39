import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir, ensureCacheDir } from '../cache.js';

/**
 * Where CRIU's kernel-feature cache is kept between restores. CRIU itself keeps it in
 * /run/criu.kdat, which lives until reboot, and only on tmpfs (not the case on every machine). The
 * copy here is named after the boot it was made in and the CRIU version that made it, so a reboot
 * (maybe into another kernel) or a CRIU upgrade never reuses a stale one.
 */
export interface KdatCachePaths {
  /** The cache file to load, when it exists. */
  readonly load?: string;
  /** Where to save the cache CRIU builds, when there is none yet. */
  readonly save?: string;
}

export async function kdatCachePaths(criuVersion: string, dir = cacheDir()): Promise<KdatCachePaths> {
  const bootId = (
    await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => 'unknown-boot')
  ).trim();
  const file = join(dir, `criu-${criuVersion}-${bootId}.kdat`);
  const present = await stat(file).then(
    (s) => s.isFile() && s.size > 0,
    () => false,
  );
  if (!(await ensureCacheDir(dir))) return {}; // not ours or not writable: restore as CRIU would
  return present ? { load: file } : { save: file };
}
