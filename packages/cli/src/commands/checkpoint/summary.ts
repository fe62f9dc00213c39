import { type ImageManifest, imageSizes, signImage, verifyImage } from '@defrost/core/internal';
import { CliError, firstLine } from '../../errors.js';
import { EXIT } from '../../exit-codes.js';
import {
  colorEnabled,
  formatBytes,
  formatMs,
  type Io,
  printWarning,
  shellQuote,
  stylesFor,
} from '../../output.js';
import type { ProgressEvent, WarmupSummaryLike } from '../../progress.js';
import { warmupText } from '../../progress.js';

export function checkpointFailed(message: string, hint?: string): CliError {
  return new CliError(`checkpoint failed: ${message}`, EXIT.CHECKPOINT_FAILED, hint);
}

/**
 * Verifies the image the app reported (the hashes; not the host: the app may have run another
 * node binary), signs it here when a key applies (the key never enters the memory of the frozen
 * app), and prints what was written.
 */
export async function printSummary(
  io: Io,
  o: {
    readonly imageDir: string;
    readonly signingKey: Buffer | undefined;
    readonly event: Extract<ProgressEvent, { step: 'checkpointed' }>;
    readonly warmup: WarmupSummaryLike | undefined;
    readonly shown: string;
  },
): Promise<void> {
  let manifest: ImageManifest;
  const warnings: string[] = [];
  try {
    manifest = await verifyImage(o.imageDir, { host: false, onWarning: (w) => warnings.push(w.message) });
    if (o.signingKey !== undefined) manifest = await signImage(o.imageDir, o.signingKey);
  } catch (e) {
    throw checkpointFailed(`the app reported an image, but it does not verify: ${firstLine(e)}`);
  }
  for (const w of warnings) printWarning(io, w);
  const sizes = await imageSizes(o.imageDir);
  const s = stylesFor(colorEnabled(io.stdout, io.env));
  const warmup = warmupText(o.warmup ?? (manifest.warmup as WarmupSummaryLike | undefined));
  const rows: [string, string][] = [
    ['image', o.imageDir],
    [
      'size',
      `${formatBytes(sizes.totalBytes)} in ${sizes.files} files (memory pages ${formatBytes(sizes.pagesBytes)})`,
    ],
    ['warm-up', warmup ?? 'none'],
    ['checkpoint', formatMs(manifest.checkpoint.durationMs ?? o.event.durationMs)],
    ['signed', manifest.signature ? 'yes (hmac-sha256)' : 'no'],
    ['restore', `defrost restore ${shellQuote([o.imageDir])}`],
  ];
  io.stdout.write(
    `${s.green(`defrost: checkpoint of \`${o.shown}\` written`)}\n${rows.map(([k, v]) => `  ${k.padEnd(11)}${v}\n`).join('')}`,
  );
}
