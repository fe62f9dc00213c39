import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';

/** The parts of sonic-boom (pino's file destination) this module uses. */
interface SonicBoomLike {
  readonly file?: string | null;
  readonly fd?: number;
  flushSync(): void;
  reopen(file?: string): void;
  once(event: 'ready', fn: () => void): void;
  once(event: 'error', fn: (error: Error) => void): void;
}

function isSonicBoom(stream: unknown): stream is SonicBoomLike {
  const s = stream as SonicBoomLike | undefined;
  return typeof s?.reopen === 'function' && typeof s.flushSync === 'function';
}

/** The file destination behind a pino logger, when there is one (stdout/stderr are handled by core). */
export function fileDestinationOf(logger: FastifyBaseLogger): (SonicBoomLike & { file: string }) | undefined {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  if (!isSonicBoom(stream) || typeof stream.file !== 'string' || stream.file === '') return undefined;
  return stream as SonicBoomLike & { file: string };
}

function reopenAndWait(stream: SonicBoomLike, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('ready', resolve);
    stream.once('error', reject);
    stream.reopen(file);
  });
}

/**
 * Parks a pino file destination on /dev/null for the freeze and points it back at its file after
 * restore. The log file may grow or be rotated between restores; an open descriptor to it would
 * pin its size in the image, and CRIU refuses to restore a file whose size changed.
 */
export function loggerDestinationResource(logger: FastifyBaseLogger) {
  const stream = fileDestinationOf(logger);
  if (!stream) return undefined;
  const file = stream.file;
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
