import { resolve } from 'node:path';
import { formatReference, pushImage } from '@defrost/core/internal';
import { statusOf } from '../child.js';
import { EXIT } from '../exit-codes.js';
import { colorEnabled, formatMB, formatMs, type Io, printWarning, stylesFor } from '../output.js';
import { abortable, type RegistryArgs, referenceArgument, registryOptions } from '../registry.js';

export interface PushArgs extends RegistryArgs {
  readonly dir: string;
  readonly ref: string;
  /** MiB; blobs larger than this go up in chunks of this size. */
  readonly chunkSize?: number;
}

/**
 * `defrost push DIR REF`: the image pinned by digest on stdout (for scripts), what was sent on
 * stderr.
 */
export async function pushCommand(args: PushArgs, io: Io): Promise<number> {
  const ref = referenceArgument(args.ref);
  const started = performance.now();
  const outcome = await abortable((signal) =>
    pushImage(resolve(args.dir), ref, {
      ...registryOptions(args, io, signal),
      ...(args.chunkSize !== undefined ? { chunkSize: args.chunkSize * 1024 * 1024 } : {}),
      onWarning: (w) => printWarning(io, w.message),
    }),
  );
  if ('signal' in outcome) return statusOf(null, outcome.signal);
  const r = outcome.value;
  const s = stylesFor(colorEnabled(io.stderr, io.env));
  const sent =
    r.uploaded.blobs === 0
      ? 'every blob was there already'
      : `uploaded ${r.uploaded.blobs} blobs (${formatMB(r.uploaded.bytes)}), ${r.present.blobs} were there already`;
  io.stderr.write(
    `${s.green(`defrost: pushed ${args.dir} to ${formatReference(ref)} in ${formatMs(performance.now() - started)}`)}: ${r.files} files, ${formatMB(r.imageBytes)} as ${formatMB(r.blobBytes)} zstd; ${sent}\n`,
  );
  io.stdout.write(`${r.pinned}\n`);
  return EXIT.OK;
}
