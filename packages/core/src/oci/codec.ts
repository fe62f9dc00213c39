/**
 * zstd, streamed (images are 50-200 MB; nothing is held in memory whole), with Node's own zlib
 * (createZstdCompress: Node 22.15+, every Node defrost supports), so no native module is needed.
 */
import { constants, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createZstdCompress, createZstdDecompress, constants as zlib } from 'node:zlib';
import { DigestTap } from './digest.js';

/**
 * zstd's default level: ~3x smaller page files at several hundred MB/s per core; higher levels
 * cost far more time than they save on a registry's network (docs/architecture.md).
 */
export const ZSTD_LEVEL = 3;
/** 1 MiB reads, as the image hashing uses (image/hash.ts). */
const CHUNK = 1024 * 1024;

export interface Digested {
  readonly digest: string;
  readonly size: number;
}

/**
 * Compresses `source` into a new file `target` (0600, must not exist). Returns the digest of the
 * file read (so the caller can check it is still the file defrost.json vouches for) and of the blob.
 */
export async function compressFile(source: string, target: string, signal?: AbortSignal): Promise<Digests> {
  const fileTap = new DigestTap(Number.MAX_SAFE_INTEGER, () => new Error('unreachable'));
  const blobTap = new DigestTap(Number.MAX_SAFE_INTEGER, () => new Error('unreachable'));
  // O_NOFOLLOW, as everywhere an image file is read (an image never holds symlinks).
  const input = await open(source, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    await pipeline(
      [
        input.createReadStream({ highWaterMark: CHUNK, autoClose: false }),
        fileTap,
        createZstdCompress({ params: { [zlib.ZSTD_c_compressionLevel]: ZSTD_LEVEL } }),
        blobTap,
        createWriteStream(target, { flags: 'wx', mode: 0o600 }),
      ],
      { signal },
    );
  } finally {
    await input.close();
  }
  return {
    file: { digest: fileTap.digest(), size: fileTap.bytes },
    blob: { digest: blobTap.digest(), size: blobTap.bytes },
  };
}

export type BlobProblem =
  | { readonly kind: 'blob-too-long' }
  | { readonly kind: 'file-too-long' }
  | { readonly kind: 'undecodable'; readonly message: string };

/** Thrown by expandBlob when the blob is not what the manifest says; `problem` says how. */
export class BlobMismatch extends Error {
  constructor(readonly problem: BlobProblem) {
    super(problem.kind);
  }
}

export interface Digests {
  /** The blob: compressed, as sent or received. */
  readonly blob: Digested;
  /** The file: as read or written. */
  readonly file: Digested;
}

/**
 * Writes a downloaded blob into a new file `target` (0600, must not exist, fsynced), hashing what
 * arrives and what is written. Stops as soon as either is longer than expected; the caller
 * compares the digests (and removes the file when they differ).
 */
export async function expandBlob(
  body: Readable,
  target: string,
  expected: { readonly blobSize: number; readonly fileSize: number },
  signal?: AbortSignal,
): Promise<Digests> {
  const blobTap = new DigestTap(expected.blobSize, () => new BlobMismatch({ kind: 'blob-too-long' }));
  const fileTap = new DigestTap(expected.fileSize, () => new BlobMismatch({ kind: 'file-too-long' }));
  try {
    // flush: fsync before close, so an installed image never outlives its data on disk.
    await pipeline(
      [
        body,
        blobTap,
        createZstdDecompress(),
        fileTap,
        createWriteStream(target, { flags: 'wx', mode: 0o600, flush: true }),
      ],
      { signal },
    );
  } catch (e) {
    // zlib's errors (ZSTD_error_*, Z_BUF_ERROR for a cut-off frame on Node 24+; Node 22 ends a
    // cut-off frame quietly, which the caller's size check catches) mean the data is not zstd.
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('ZSTD_') || code.startsWith('Z_')) {
      throw new BlobMismatch({ kind: 'undecodable', message: (e as Error).message });
    }
    throw e;
  }
  return {
    blob: { digest: blobTap.digest(), size: blobTap.bytes },
    file: { digest: fileTap.digest(), size: fileTap.bytes },
  };
}
