import { resolve } from 'node:path';
import {
  checkCompatibility,
  currentHostFacts,
  type HostFacts,
  ImageError,
  type ImageManifest,
  imageSizes,
  readManifest,
  requireCriuBinary,
  verifyImage,
} from '@defrost/core/internal';
import type { Command } from 'commander';
import { firstLine } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { examples, type Run } from '../help.js';
import { signingKeyFor } from '../options.js';
import { colorEnabled, formatBytes, formatMs, type Io, shellQuote, stylesFor } from '../output.js';
import { type WarmupSummaryLike, warmupText } from '../progress.js';

export interface InspectArgs {
  readonly dir: string;
  readonly json?: boolean;
  readonly signingKeyFile?: string;
}

const PAGE_SIZE = 4096;

export interface InspectReport {
  readonly imageDir: string;
  readonly imageId: string;
  readonly formatVersion: number;
  readonly createdAt: string;
  readonly node: ImageManifest['node'];
  readonly kernel: string;
  /** The CPU features the frozen process may use; a CPU without one of them cannot restore it. */
  readonly cpuFeatures: readonly string[] | undefined;
  readonly criu: ImageManifest['criu'];
  readonly process: ImageManifest['process'];
  readonly sizes: { totalBytes: number; pagesBytes: number; pages: number; files: number };
  readonly listening: ImageManifest['listening'];
  /** CRIU --inherit-fd keys: descriptors the restorer hands to the restored process. */
  readonly reattached: Record<string, string>;
  readonly warmup: unknown;
  readonly checkpoint: ImageManifest['checkpoint'];
  readonly signature: { present: boolean; algorithm?: string; keyId?: string; verified?: boolean };
  readonly integrity: { ok: boolean; files: number; code?: string; message?: string };
  readonly compatibility: {
    restorable: boolean;
    fatal: string[];
    warnings: string[];
    host: { nodeVersion: string; arch: string; kernel: string; criuVersion?: string; execPath?: string };
  };
  readonly warnings: string[];
}

export async function buildInspectReport(
  dir: string,
  signingKey: Buffer | undefined,
): Promise<InspectReport> {
  const imageDir = resolve(dir);
  // A missing directory or an unreadable manifest: nothing to show; the ImageError says why (exit 4).
  const manifest = await readManifest(imageDir);
  const sizes = await imageSizes(imageDir);
  const warnings: string[] = [];

  const files = Object.keys(manifest.files).length;
  let integrity: InspectReport['integrity'] = { ok: true, files };
  try {
    await verifyImage(imageDir, {
      host: false,
      ...(signingKey !== undefined ? { signingKey } : {}),
      onWarning: (w) => warnings.push(w.message),
    });
  } catch (e) {
    if (!(e instanceof ImageError)) throw e;
    integrity = { ok: false, files, code: e.code, message: e.message };
  }

  const host: HostFacts = await currentHostFacts();
  const criu = await requireCriuBinary().catch((e: Error) => {
    warnings.push(`cannot check the CRIU version here: ${firstLine(e)}`);
    return undefined;
  });
  const { fatal, warnings: compatWarnings } = checkCompatibility(manifest, {
    ...host,
    ...(criu ? { criuVersion: criu.version.text } : {}),
  });

  const signatureFailed =
    integrity.code === 'signature-mismatch' || integrity.code === 'image-unsigned' ? false : undefined;
  const { stdoutKey, stderrKey, controlInKey, controlOutKey, ...others } = manifest.stdio;
  return {
    imageDir,
    imageId: manifest.imageId,
    formatVersion: manifest.formatVersion,
    createdAt: manifest.createdAt,
    node: manifest.node,
    kernel: manifest.kernel,
    cpuFeatures: manifest.cpu?.features,
    criu: manifest.criu,
    process: manifest.process,
    sizes: { ...sizes, pages: manifest.checkpoint.pages ?? Math.round(sizes.pagesBytes / PAGE_SIZE) },
    listening: manifest.listening,
    reattached: {
      stdout: stdoutKey,
      stderr: stderrKey,
      controlIn: controlInKey,
      controlOut: controlOutKey,
      ...others,
    },
    warmup: manifest.warmup ?? null,
    checkpoint: manifest.checkpoint,
    signature: {
      present: manifest.signature !== undefined,
      ...(manifest.signature ? { algorithm: manifest.signature.algorithm } : {}),
      ...(manifest.signature?.keyId !== undefined ? { keyId: manifest.signature.keyId } : {}),
      ...(signingKey !== undefined ? { verified: signatureFailed ?? integrity.ok } : {}),
    },
    integrity,
    compatibility: {
      restorable: fatal.length === 0,
      fatal,
      warnings: compatWarnings,
      host: {
        nodeVersion: host.nodeVersion,
        arch: host.arch,
        kernel: host.kernel,
        ...(criu ? { criuVersion: criu.version.text } : {}),
        ...(host.execPath ? { execPath: host.execPath } : {}),
      },
    },
    warnings,
  };
}

function ago(iso: string): string {
  const ms = Date.now() - Date.parse(iso);
  if (!Number.isFinite(ms) || ms < 0) return '';
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return ' (just now)';
  if (minutes < 120) return ` (${minutes} min ago)`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? ` (${hours} h ago)` : ` (${Math.round(hours / 24)} days ago)`;
}

function listeningText(l: ImageManifest['listening'][number]): string {
  const host = l.family.includes('6') && l.address.includes(':') ? `[${l.address}]` : l.address;
  return `${host}${l.port !== undefined ? `:${l.port}` : ''} (${l.family}, fd ${l.fd})`;
}

export function formatInspect(r: InspectReport, colour: boolean): string {
  const s = stylesFor(colour);
  const rows: [string, string][] = [
    ['created', `${r.createdAt}${ago(r.createdAt)}`],
    [
      'node',
      `${r.node.version} ${r.node.platform}/${r.node.arch} at ${r.node.execPath} (sha256 ${r.node.binarySha256.slice(0, 12)}…); restores only with this exact node binary`,
    ],
    ['kernel', `Linux ${r.kernel}`],
    [
      'cpu',
      r.cpuFeatures
        ? `${r.cpuFeatures.length} features the copy may use (${r.cpuFeatures.join(' ')}); a CPU without one of them is refused`
        : 'not recorded (an image made before defrost recorded CPU features)',
    ],
    ['criu', r.criu.version],
    ['argv', shellQuote(r.process.argv)],
    ...(r.process.execArgv.length > 0
      ? [['node flags', shellQuote(r.process.execArgv)] as [string, string]]
      : []),
    ['cwd', r.process.cwd],
    ['pid', `${r.process.pid} (inside its own PID namespace at restore)`],
    [
      'size',
      `${formatBytes(r.sizes.totalBytes)} in ${r.sizes.files} files; memory pages ${formatBytes(r.sizes.pagesBytes)} (${r.sizes.pages} pages)`,
    ],
    ['listening', r.listening.length > 0 ? r.listening.map(listeningText).join(', ') : 'nothing'],
    [
      're-attached',
      Object.entries(r.reattached)
        .map(([k, v]) => `${k} ${v}`)
        .join('; '),
    ],
    ['warm-up', warmupText(r.warmup as WarmupSummaryLike | undefined) ?? 'none'],
    ['checkpoint', formatMs(r.checkpoint.durationMs)],
    [
      'signature',
      r.signature.present
        ? `${r.signature.algorithm}${r.signature.keyId ? ` (key id ${r.signature.keyId})` : ''}${
            r.signature.verified === undefined
              ? ''
              : r.signature.verified
                ? ', verified'
                : ', DOES NOT VERIFY'
          }`
        : 'none',
    ],
    [
      'integrity',
      r.integrity.ok
        ? s.green(`ok: all ${r.integrity.files} files match their sha256 in defrost.json`)
        : s.red(`FAILED: ${r.integrity.message?.split('\n')[0]}`),
    ],
    [
      'this machine',
      r.compatibility.restorable
        ? s.green(
            `restorable here (node ${r.compatibility.host.nodeVersion}, Linux ${r.compatibility.host.kernel}${r.compatibility.host.criuVersion ? `, CRIU ${r.compatibility.host.criuVersion}` : ''})`,
          )
        : s.red(`NOT restorable here: ${r.compatibility.fatal.join('; ')}`),
    ],
  ];
  const notes = [...r.compatibility.warnings, ...r.warnings]
    .map((w) => `  ${s.yellow('note:')} ${w}\n`)
    .join('');
  const fix =
    r.integrity.ok || !r.integrity.message?.includes('\n')
      ? ''
      : `${r.integrity.message
          .split('\n')
          .slice(1)
          .map((l) => `  ${l.trim()}\n`)
          .join('')}`;
  return `${s.bold(`image ${r.imageDir}`)}\n${rows.map(([k, v]) => `  ${k.padEnd(13)}${v}\n`).join('')}${fix}${notes}`;
}

export async function inspectCommand(args: InspectArgs, io: Io): Promise<number> {
  const signingKey = (await signingKeyFor(args.signingKeyFile, io.env))?.key;
  let report: InspectReport;
  try {
    report = await buildInspectReport(args.dir, signingKey);
  } catch (e) {
    // --json callers get JSON on stdout in every case; the message still goes to stderr.
    if (args.json && e instanceof ImageError) {
      io.stdout.write(
        `${JSON.stringify({ imageDir: resolve(args.dir), error: { code: e.code, message: e.message } }, null, 2)}\n`,
      );
    }
    throw e;
  }
  io.stdout.write(
    args.json
      ? `${JSON.stringify(report, null, 2)}\n`
      : formatInspect(report, colorEnabled(io.stdout, io.env)),
  );
  // Exit 4 when this image would be refused here: damaged, wrongly signed, or for another node.
  return report.integrity.ok && report.compatibility.restorable ? EXIT.OK : EXIT.IMAGE_REFUSED;
}

export function registerInspectCommand(program: Command, io: Io, run: Run): void {
  program
    .command('inspect')
    .description('show what an image holds and whether it can be restored on this machine')
    .argument('<dir>', 'the image directory')
    .option('--json', 'print the report as JSON')
    .option('--signing-key-file <file>', 'also check the signature with the key in this file')
    .addHelpText(
      'after',
      `${examples(['$ defrost inspect ./images/app', '$ defrost inspect ./images/app --json | jq .sizes'])}

Verifies the sha256 of every file. Exits 4 when the image is damaged, wrongly signed or
cannot be restored here (other node binary or CPU), 0 otherwise.`,
    )
    .action((dir: string, o: { json?: boolean; signingKeyFile?: string }) =>
      run(inspectCommand({ ...o, dir }, io)),
    );
}
