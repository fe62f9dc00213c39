import { closeSync, openSync } from 'node:fs';
import { type RestoredServer, type RestoreOptions, restore } from '../restore/launcher.js';
import { track } from './processes.js';

/**
 * Restores one copy with its stdout/stderr appended to `outFile`, and registers its PIDs so that
 * stopAllStarted() stops it after the test.
 */
export async function restoreToFile(
  imageDir: string,
  outFile: string,
  options: RestoreOptions = {},
): Promise<RestoredServer> {
  const out = openSync(outFile, 'a');
  try {
    const copy = await restore(imageDir, { ...options, stdout: out, stderr: out });
    track(copy.pid);
    track(copy.launcherPid);
    return copy;
  } finally {
    closeSync(out);
  }
}
