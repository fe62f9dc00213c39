/** sha256 digests as OCI writes them (`sha256:<hex>`), and a pass-through stream that computes one. */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The hex part of `sha256:<hex>`. */
export function digestHex(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1);
}

/**
 * Counts and hashes what flows through; fails the stream as soon as more than `limit` bytes
 * arrive, so a registry (or a decompressor) that sends more than announced is cut off early
 * instead of filling the disk.
 */
export class DigestTap extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;

  constructor(
    private readonly limit: number,
    private readonly tooLong: () => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.count += chunk.length;
    if (this.count > this.limit) {
      done(this.tooLong());
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  get bytes(): number {
    return this.count;
  }

  /** `sha256:<hex>`; call once, after the stream ended. */
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}
