import { resolve } from 'node:path';
import { formatReference, pushImage } from '@defrost/core/internal';
import { type Command, Option } from 'commander';
import { statusOf } from '../child.js';
import { EXIT } from '../exit-codes.js';
import { examples, type Run } from '../help.js';
import { positiveInt } from '../options.js';
import { colorEnabled, formatBytes, formatMs, type Io, printWarning, stylesFor } from '../output.js';
import {
  abortable,
  addRegistryOptions,
  type RegistryArgs,
  referenceArgument,
  registryOptions,
} from '../registry.js';

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
      : `uploaded ${r.uploaded.blobs} blobs (${formatBytes(r.uploaded.bytes)}), ${r.present.blobs} were there already`;
  io.stderr.write(
    `${s.green(`defrost: pushed ${args.dir} to ${formatReference(ref)} in ${formatMs(performance.now() - started)}`)}: ${r.files} files, ${formatBytes(r.imageBytes)} as ${formatBytes(r.blobBytes)} zstd; ${sent}\n`,
  );
  io.stdout.write(`${r.pinned}\n`);
  return EXIT.OK;
}

export function registerPushCommand(program: Command, io: Io, run: Run): void {
  addRegistryOptions(
    program
      .command('push')
      .description('upload an image to an OCI registry (zstd blobs, only those it does not hold yet)')
      .argument('<dir>', 'the image directory')
      .argument('<ref>', 'REGISTRY[:PORT]/NAME[:TAG], e.g. registry.example:5000/team/app:1')
      .addOption(
        new Option('--chunk-size <MiB>', 'upload blobs larger than this in chunks of this size').argParser(
          positiveInt,
        ),
      ),
  )
    .addHelpText(
      'after',
      `${examples([
        '$ defrost push ./images/app registry.example:5000/team/app:1',
        '$ REGISTRY_AUTH_FILE=./auth.json defrost push ./images/app ghcr.io/team/app:1',
        '$ defrost push ./images/app 127.0.0.1:5000/app:1   # plain HTTP: loopback only',
      ])}

Verifies the image first. Prints REF@sha256:DIGEST on stdout (the image pinned, for scripts).
Plain HTTP is only used for loopback registries; anything else is HTTPS (--ca-file to trust a
private CA, --tls-verify=false to skip the checks). Credentials come from REGISTRY_AUTH_FILE,
podman's auth.json or docker's config.json (\`podman login\` writes them); credential helpers
are not run. Exits 4 when the image does not verify, 1 when the registry fails or refuses.`,
    )
    .action((dir: string, ref: string, o: { chunkSize?: number } & RegistryArgs) =>
      run(pushCommand({ ...o, dir, ref }, io)),
    );
}
