import { resolve } from 'node:path';
import { pullImage } from '@defrost/core/internal';
import { statusOf } from '../child.js';
import { EXIT } from '../exit-codes.js';
import { signingKeyFor } from '../options.js';
import { colorEnabled, formatMB, formatMs, type Io, printWarning, stylesFor } from '../output.js';
import { abortable, type RegistryArgs, referenceArgument, registryOptions } from '../registry.js';

export interface PullArgs extends RegistryArgs {
  readonly ref: string;
  readonly dir: string;
  readonly force?: boolean;
  readonly signingKeyFile?: string;
}

/** `defrost pull REF DIR`: the image pinned by digest on stdout, what was received on stderr. */
export async function pullCommand(args: PullArgs, io: Io): Promise<number> {
  const ref = referenceArgument(args.ref);
  // --signing-key-file, else the host's key (DEFROST_SIGNING_KEY_FILE, /etc/defrost/signing-key).
  const signingKey = (await signingKeyFor(args.signingKeyFile, io.env))?.key;
  const started = performance.now();
  const outcome = await abortable((signal) =>
    pullImage(ref, resolve(args.dir), {
      ...registryOptions(args, io, signal),
      ...(signingKey !== undefined ? { signingKey, requireSignature: true } : {}),
      ...(args.force ? { force: true } : {}),
      onWarning: (w) => printWarning(io, w.message),
    }),
  );
  if ('signal' in outcome) return statusOf(null, outcome.signal);
  const r = outcome.value;
  const s = stylesFor(colorEnabled(io.stderr, io.env));
  const signed =
    signingKey !== undefined
      ? ', signature checked'
      : r.manifest.signature
        ? ', signed (no key given to check it)'
        : '';
  io.stderr.write(
    `${s.green(`defrost: pulled ${r.pinned} into ${args.dir} in ${formatMs(performance.now() - started)}`)}: ${r.files} files, ${formatMB(r.imageBytes)} (${formatMB(r.blobBytes)} zstd), every digest verified${signed}\n`,
  );
  io.stdout.write(`${r.pinned}\n`);
  return EXIT.OK;
}
