import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import {
  currentHostFacts,
  forgetLaunchPlan,
  LaunchError,
  type RestoredServer,
  type RestoreOptions,
  requireCriuBinary,
  restore,
  type ServerExit,
  spawnWithoutIoUring,
  verifyImage,
} from '@defrost/core/internal';
import { type Command, Option } from 'commander';
import { childEnd, onSignals, sendSignal, statusOf } from '../child.js';
import { exitCodeFor, firstLine, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { examples, type Run } from '../help.js';
import { envPair, port, positiveInt, restoreEnv, signingKeyFor } from '../options.js';
import { colorEnabled, type Io, printError, printWarning, shellQuote, stylesFor } from '../output.js';
import { addRegistryOptions, imageFromRegistry, isRegistryArgument, type RegistryArgs } from '../registry.js';

export interface RestoreArgs extends RegistryArgs {
  /** An image directory, or a registry REF (pulled into defrost's cache first). */
  readonly dir: string;
  readonly copies: number;
  readonly port?: number;
  readonly env: readonly [string, string][];
  readonly envFile?: string;
  readonly signingKeyFile?: string;
  readonly fallback?: boolean;
  readonly lazyPages?: boolean;
  readonly command: readonly string[];
}

/** The status to exit with: the first copy that failed (non-zero), else 0. */
export function combinedStatus(statuses: readonly number[]): number {
  return statuses.find((s) => s !== 0) ?? 0;
}

/** "image /x: no such directory" -> "no such directory" when the path is already in the sentence. */
function reasonFor(error: unknown, dir: string, absDir: string): string {
  const line = firstLine(error);
  for (const prefix of [`image ${absDir}: `, `image ${dir}: `]) {
    if (line.startsWith(prefix)) return line.slice(prefix.length);
  }
  return line;
}

async function runCold(command: readonly string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  let child: ChildProcess;
  try {
    // Own process group, so that signals reach it once: from here, forwarded. Without io_uring,
    // like the copies it stands in for.
    ({ child } = await spawnWithoutIoUring(command, { env, detached: true, stdio: 'inherit' }));
  } catch (error) {
    if (!(error instanceof LaunchError)) throw error;
    printError(io, new Error(`cannot start the fallback command ${shellQuote(command)}: ${error.message}`));
    return EXIT.FAILURE;
  }
  const ended = childEnd(child);
  const removeSignals = onSignals((signal) => {
    sendSignal(child.pid, signal);
  });
  try {
    const end = await ended;
    if (end.error) {
      printError(
        io,
        new Error(`cannot start the fallback command ${shellQuote(command)}: ${end.error.message}`),
      );
      return EXIT.FAILURE;
    }
    return end.status;
  } finally {
    removeSignals();
  }
}

function checkCommandArgs(args: RestoreArgs): void {
  if (args.command.length > 0 && !args.fallback) {
    throw new UsageError(
      `a command after the image directory is only run with --fallback (got: ${shellQuote(args.command)})`,
      'defrost restore DIR --fallback -- node app.js',
    );
  }
  if (args.fallback && args.command.length === 0) {
    throw new UsageError(
      '--fallback needs the cold-start command after --',
      'defrost restore DIR --fallback -- node app.js',
    );
  }
}

/** Signals that arrive while restoring stop a pull and are passed on once the copies run. */
interface SignalRelay {
  pending: NodeJS.Signals | undefined;
  readonly servers: RestoredServer[];
  readonly abortPull: AbortController;
  remove(): void;
}

function relaySignals(): SignalRelay {
  const relay: SignalRelay = {
    pending: undefined,
    servers: [],
    abortPull: new AbortController(),
    remove: () => undefined,
  };
  relay.remove = onSignals((signal) => {
    relay.pending = signal;
    relay.abortPull.abort();
    for (const server of relay.servers) server.signal(signal);
  });
  return relay;
}

export async function restoreCommand(args: RestoreArgs, io: Io): Promise<number> {
  checkCommandArgs(args);
  const env = await restoreEnv(args.envFile, args.env);
  // The key given, else the host's: either way a signature is then required.
  const key = await signingKeyFor(args.signingKeyFile, io.env);
  const relay = relaySignals();
  try {
    const options: RestoreOptions = {
      env,
      ...(args.port !== undefined ? { port: args.port } : {}),
      // As a file, so that the launch plan can record which key it was checked with.
      ...(key ? { signingKeyFile: key.keyFile, requireSignature: true } : {}),
      ...(args.lazyPages
        ? { lazyPages: true, onWarning: (message: string) => printWarning(io, message) }
        : {}),
    };
    const { imageDir, attempts } = await restoreCopies(args, options, key?.key, relay, io);
    const failed = attempts.find((a): a is PromiseRejectedResult => a.status === 'rejected');
    for (const a of attempts) if (a.status === 'fulfilled') relay.servers.push(a.value);
    if (failed) return await afterFailure(args, imageDir, failed.reason, env, relay, io);
    return await supervise(args, relay, io);
  } finally {
    relay.remove();
  }
}

/** Pulls a REF, then restores every copy; failures come back as rejected attempts. */
async function restoreCopies(
  args: RestoreArgs,
  options: RestoreOptions,
  signingKey: Buffer | undefined,
  relay: SignalRelay,
  io: Io,
): Promise<{ imageDir: string; attempts: PromiseSettledResult<RestoredServer>[] }> {
  let imageDir = resolve(args.dir);
  try {
    const fromRegistry = await isRegistryArgument(args.dir);
    if (fromRegistry) imageDir = await imageFromRegistry(args, signingKey, relay.abortPull.signal, io);
    // Several copies: hash the image once here instead of once per copy.
    const skipVerify = args.copies > 1;
    if (skipVerify) {
      const criu = await requireCriuBinary();
      await verifyImage(imageDir, {
        ...(signingKey !== undefined ? { signingKey, requireSignature: true } : {}),
        host: { ...(await currentHostFacts()), criuVersion: criu.version.text },
        onWarning: (w) => printWarning(io, w.message),
      });
    }
    // One copy restored with the defaults leaves a launch plan: the next start skips Node.
    // Not for a REF: the native launcher only takes directories.
    const recordLaunchPlan = args.copies === 1 && !fromRegistry;
    const attempts = await Promise.allSettled(
      Array.from({ length: args.copies }, (_, copy) =>
        restore(imageDir, { ...options, copy, skipVerify, recordLaunchPlan }),
      ),
    );
    return { imageDir, attempts };
  } catch (error) {
    return { imageDir, attempts: [{ status: 'rejected', reason: error }] };
  }
}

/** All or nothing: copies that did come up are stopped, then the error, or the cold start. */
async function afterFailure(
  args: RestoreArgs,
  imageDir: string,
  reason: unknown,
  env: NodeJS.ProcessEnv,
  relay: SignalRelay,
  io: Io,
): Promise<number> {
  // The next start must not try a plan that no longer works before coming here.
  await forgetLaunchPlan(imageDir);
  await Promise.all(relay.servers.map((server) => server.stop(5_000)));
  relay.servers.length = 0;
  if (relay.pending) return statusOf(null, relay.pending);
  if (!args.fallback) throw reason;
  const s = stylesFor(colorEnabled(io.stderr, io.env));
  const why = reasonFor(reason, args.dir, resolve(args.dir));
  io.stderr.write(
    `${s.bold(s.yellow(`defrost: cannot restore ${args.dir}: ${why}; starting cold: ${shellQuote(args.command)}`))}\n`,
  );
  if (exitCodeFor(reason) !== EXIT.IMAGE_REFUSED && io.env.DEFROST_DEBUG === '1') printError(io, reason);
  relay.remove();
  const coldEnv: NodeJS.ProcessEnv = { ...io.env, ...env };
  if (args.port !== undefined) coldEnv.PORT = String(args.port);
  return runCold(args.command, coldEnv, io);
}

/** Says each copy is up, passes on a signal that came meanwhile, and waits for them all. */
async function supervise(args: RestoreArgs, relay: SignalRelay, io: Io): Promise<number> {
  const s = stylesFor(colorEnabled(io.stderr, io.env));
  const { servers } = relay;
  servers.forEach((server, copy) => {
    const which = servers.length > 1 ? ` [copy ${copy}]` : '';
    io.stderr.write(
      `${s.green(`defrost: restored ${args.dir} in ${Math.round(server.readyMs)} ms (pid ${server.pid})${which}`)}\n`,
    );
    if (relay.pending) server.signal(relay.pending);
  });
  const exits: ServerExit[] = await Promise.all(servers.map((server) => server.exited));
  return combinedStatus(exits.map((e) => e.status));
}

export function registerRestoreCommand(program: Command, io: Io, run: Run): void {
  const restore = program
    .command('restore')
    .description(
      'restore a server from an image (verified first), supervised: signals forwarded, exit status passed on',
    )
    .argument('<dir>', "the image directory, or a registry REF (pulled into defrost's cache, verified)")
    .argument('[command...]', 'with --fallback: the cold-start command, after --')
    .addOption(
      new Option('-n, --copies <n>', 'restore this many copies at once').argParser(positiveInt).default(1),
    )
    .addOption(new Option('-p, --port <port>', 'port the restored server listens on').argParser(port))
    .option('-e, --env <KEY=VALUE>', 'environment for the restored server (repeatable)', envPair, [])
    .option('--env-file <file>', 'environment from a dotenv file (--env wins)')
    .option('--signing-key-file <file>', 'refuse the image unless it is signed with the key in this file')
    .option('--fallback', 'when the image cannot be restored, say why and run the command after -- instead')
    .option(
      '--lazy-pages',
      'page memory in on demand (userfaultfd); falls back to an eager restore on failure',
    )
    .addHelpText(
      'after',
      `${examples([
        '$ defrost restore ./images/app',
        '$ defrost restore ./images/app --port 8080 --env-file .env.production --env LOG_LEVEL=warn',
        '$ defrost restore ./images/app --copies 3',
        '$ defrost restore ./images/app --fallback -- node app.js',
        '$ defrost restore registry.example:5000/team/app:1 --ca-file ./registry-ca.crt',
      ])}

A REF (REGISTRY[:PORT]/NAME[:TAG|@sha256:DIGEST], when no such path exists) is pulled into
defrost's cache, one directory per manifest digest, verified, and restored from there; a
second restore of the same digest downloads nothing.
Prints "defrost: restored DIR in N ms (pid P)" on stderr for each copy. SIGINT/SIGTERM/SIGHUP
are forwarded to every copy; exits with the first non-zero status of the copies (else 0).
Without --fallback: exits 4 when the image is refused, 3 when CRIU is not usable, 1 when the
restore itself fails.`,
    )
    .action(
      (
        dir: string,
        command: string[],
        o: {
          copies: number;
          port?: number;
          env: [string, string][];
          envFile?: string;
          signingKeyFile?: string;
          fallback?: boolean;
          lazyPages?: boolean;
        } & RegistryArgs,
      ) => run(restoreCommand({ ...o, dir, command }, io)),
    );
  addRegistryOptions(restore);
}
