import { resolve } from 'node:path';
import { pullImage } from '@defrost/core/internal';
import type { Command } from 'commander';
import { statusOf } from '../child.js';
import { EXIT } from '../exit-codes.js';
import { examples, type Run } from '../help.js';
import { signingKeyFor } from '../options.js';
import { colorEnabled, formatBytes, formatMs, type Io, printWarning, stylesFor } from '../output.js';
import {
  abortable,
  addRegistryOptions,
  type RegistryArgs,
  referenceArgument,
  registryOptions,
} from '../registry.js';

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
    `${s.green(`defrost: pulled ${r.pinned} into ${args.dir} in ${formatMs(performance.now() - started)}`)}: ${r.files} files, ${formatBytes(r.imageBytes)} (${formatBytes(r.blobBytes)} zstd), every digest verified${signed}\n`,
  );
  io.stdout.write(`${r.pinned}\n`);
  return EXIT.OK;
}

export function registerPullCommand(program: Command, io: Io, run: Run): void {
  addRegistryOptions(
    program
      .command('pull')
      .description('download an image from an OCI registry into a directory, verified before it appears')
      .argument('<ref>', 'REGISTRY[:PORT]/NAME[:TAG] or REGISTRY[:PORT]/NAME@sha256:DIGEST')
      .argument('<dir>', 'the image directory to write (absent or empty, unless --force)')
      .option(
        '-f, --force',
        'replace an existing image (the old one stays valid until the new one is complete)',
      )
      .option('--signing-key-file <file>', 'refuse the image unless it is signed with the key in this file'),
  )
    .addHelpText(
      'after',
      `${examples([
        '$ defrost pull registry.example:5000/team/app:1 ./images/app',
        '$ defrost pull registry.example:5000/team/app@sha256:... ./images/app --signing-key-file ./key',
      ])}

Checks the manifest against its digest, every blob against its digest and every file against
its sha256 in defrost.json (and the signature with --signing-key-file) before anything appears
at DIR. Prints REF@sha256:DIGEST on stdout. Exits 4 when the image is refused (damaged,
tampered with, not a defrost image, DIR exists), 1 when the registry fails or refuses.`,
    )
    .action((ref: string, dir: string, o: { force?: boolean; signingKeyFile?: string } & RegistryArgs) =>
      run(pullCommand({ ...o, ref, dir }, io)),
    );
}
