/** What push, pull and `restore REF` share: the REF, the registry options, Ctrl-C during a transfer. */
import { stat } from 'node:fs/promises';
import {
  type ClientOptions,
  cachedPull,
  type ImageReference,
  looksLikeReference,
  parseReference,
  ReferenceSyntaxError,
} from '@defrost/core/internal';
import { type Command, InvalidArgumentError } from 'commander';
import { onSignals } from './child.js';
import { UsageError } from './errors.js';
import { formatBytes, formatMs, type Io, isDebug, printWarning } from './output.js';

export interface RegistryArgs {
  readonly caFile?: string;
  readonly tlsVerify?: boolean;
}

/** podman's spelling: `--tls-verify=false`; `--tls-verify` alone means true. */
export function booleanValue(value: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new InvalidArgumentError('expected true or false');
}

export function addRegistryOptions(command: Command): Command {
  return command
    .option('--ca-file <file>', "trust the CA certificates in this PEM file for the registry's TLS")
    .option(
      '--tls-verify [bool]',
      '--tls-verify=false: skip certificate checks, and use plain HTTP if the registry does not speak TLS',
      booleanValue,
    );
}

export function registryOptions(args: RegistryArgs, io: Io, signal?: AbortSignal): ClientOptions {
  return {
    ...(args.caFile !== undefined ? { caFile: args.caFile } : {}),
    ...(args.tlsVerify === false ? { tlsVerify: false } : {}),
    env: io.env,
    ...(signal ? { signal } : {}),
  };
}

/** The REF argument, or a usage error (exit 2) that shows how one is written. */
export function referenceArgument(text: string): ImageReference {
  try {
    return parseReference(text);
  } catch (e) {
    if (!(e instanceof ReferenceSyntaxError)) throw e;
    throw new UsageError(e.message.split('\n')[0]!, e.hint);
  }
}

/**
 * Whether `restore`'s argument is a registry REF: written like one (the registry named) and not
 * an existing path. A path always wins, so a directory called `localhost:5000/x` stays a directory.
 */
export async function isRegistryArgument(text: string): Promise<boolean> {
  if (!looksLikeReference(text)) return false;
  return stat(text).then(
    () => false,
    () => true,
  );
}

/**
 * Runs a transfer that Ctrl-C (SIGINT, SIGTERM, SIGHUP) aborts: the transfer cleans up (staging
 * directory, temporary blobs) and the command exits 128+N like a process ended by that signal.
 */
export async function abortable<T>(
  run: (signal: AbortSignal) => Promise<T>,
): Promise<{ value: T } | { signal: NodeJS.Signals }> {
  const abort = new AbortController();
  let received: NodeJS.Signals | undefined;
  const remove = onSignals((signal) => {
    received ??= signal;
    abort.abort();
  });
  try {
    return { value: await run(abort.signal) };
  } catch (e) {
    if (received) return { signal: received };
    throw e;
  } finally {
    remove();
  }
}

/**
 * `restore REF`: the image directory in defrost's cache, pulled and verified first if needed
 * (with a signing key, a wrongly signed image is refused before its large blobs are fetched).
 */
export async function imageFromRegistry(
  args: RegistryArgs & { readonly dir: string },
  signingKey: Buffer | undefined,
  signal: AbortSignal,
  io: Io,
): Promise<string> {
  const started = performance.now();
  const cached = await cachedPull(referenceArgument(args.dir), {
    ...registryOptions(args, io, signal),
    ...(signingKey !== undefined ? { signingKey, requireSignature: true } : {}),
    onWarning: (w) => printWarning(io, w.message),
  });
  if (cached.pulled) {
    io.stderr.write(
      `defrost: pulled ${cached.pinned} in ${formatMs(performance.now() - started)} (${formatBytes(cached.pulled.blobBytes)} zstd), every digest verified\n`,
    );
  } else if (isDebug(io.env)) {
    io.stderr.write(`defrost: debug: ${cached.pinned} from the cache: ${cached.imageDir}\n`);
  }
  return cached.imageDir;
}
