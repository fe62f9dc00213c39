import type { Resource } from '../lifecycle/registry.js';

/** The parts of sonic-boom (pino's destination) used here. */
export interface SonicBoomLike {
  readonly file?: string | null;
  readonly fd?: number;
  flushSync(): void;
  reopen(file?: string): void;
  once(event: 'ready', fn: () => void): void;
  once(event: 'error', fn: (error: Error) => void): void;
}

export function isSonicBoom(stream: unknown): stream is SonicBoomLike {
  const s = stream as SonicBoomLike | undefined;
  return typeof s?.reopen === 'function' && typeof s.flushSync === 'function';
}

function reopenAndWait(stream: SonicBoomLike, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('ready', resolve);
    stream.once('error', reject);
    stream.reopen(file);
  });
}

/**
 * Parks a sonic-boom file destination on /dev/null for the checkpoint and points it back at its
 * file after a restore. The log file may grow or be rotated between restores; an open descriptor
 * to it would pin its size in the image, and CRIU refuses to restore a file whose size changed.
 * A destination that writes to a descriptor (stdout) is only flushed: stdio is re-attached by the
 * dump itself. Undefined for anything that is not a sonic-boom.
 */
export function sonicBoomResource(stream: unknown): Resource | undefined {
  if (!isSonicBoom(stream)) return undefined;
  const file = typeof stream.file === 'string' && stream.file !== '' ? stream.file : undefined;
  if (!file) return { name: 'pino destination (stdio)', beforeCheckpoint: () => stream.flushSync() };
  return {
    name: `pino destination ${file}`,
    async beforeCheckpoint() {
      stream.flushSync();
      await reopenAndWait(stream, '/dev/null');
    },
    async afterRestore() {
      await reopenAndWait(stream, file);
    },
  };
}
