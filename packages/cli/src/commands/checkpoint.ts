import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  assertImageTarget,
  type ImageManifest,
  imageSizes,
  LaunchError,
  signImage,
  spawnFreezable,
  verifyImage,
} from '@defrost/core/internal';
import { type ChildEnd, childEnd, onSignals, sendSignal, statusOf, stopChild } from '../child.js';
import { CliError, firstLine } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { signingKeyFor } from '../options.js';
import { colorEnabled, formatMB, formatMs, type Io, printWarning, shellQuote, stylesFor } from '../output.js';
import {
  describeEvent,
  type ProgressEvent,
  ProgressLine,
  ProgressTail,
  type WarmupSummaryLike,
  warmupText,
} from '../progress.js';

export interface CheckpointArgs {
  readonly image: string;
  readonly keepRunning?: boolean;
  readonly force?: boolean;
  readonly signingKeyFile?: string;
  /** Seconds until the image must be written (and, in exit mode, the app gone). */
  readonly timeout: number;
  readonly command: readonly string[];
}

export const DEFAULT_TIMEOUT_S = 300;

/** Adds --expose-gc to NODE_OPTIONS unless it is there already. */
export function withExposeGc(nodeOptions: string | undefined): string {
  const current = (nodeOptions ?? '').trim();
  if (/(^|\s)--expose[-_]gc(\s|$)/.test(current)) return current;
  return current ? `${current} --expose-gc` : '--expose-gc';
}

/**
 * The app's environment: what the Fastify plugin reads to checkpoint itself, and --expose-gc. Inherited DEFROST_* variables that this run does not set are removed, so a stray
 * DEFROST_CHECKPOINT_FORCE or signing key in the shell cannot leak into the checkpoint.
 */
export function checkpointEnv(
  base: NodeJS.ProcessEnv,
  o: { imageDir: string; keepRunning: boolean; force: boolean; progressFile: string },
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const key of Object.keys(env)) if (key.startsWith('DEFROST_CHECKPOINT_')) delete env[key];
  delete env.DEFROST_SIGNING_KEY;
  delete env.DEFROST_PROGRESS_FILE;
  env.DEFROST_CHECKPOINT_IMAGE = resolve(o.imageDir);
  env.DEFROST_CHECKPOINT_MODE = o.keepRunning ? 'continue' : 'exit';
  if (o.force) env.DEFROST_CHECKPOINT_FORCE = '1';
  env.DEFROST_PROGRESS_FILE = o.progressFile;
  // Node accepts --expose-gc in NODE_OPTIONS (it is on the allow-list of V8 options; `defrost
  // doctor` checks it), so it reaches node however the command starts
  // it (`node app.js`, `npm start`, a shell script). The plugin collects garbage with it before
  // the freeze, which makes the image smaller.
  env.NODE_OPTIONS = withExposeGc(base.NODE_OPTIONS);
  return env;
}

type Outcome =
  | { readonly kind: 'exited'; readonly end: ChildEnd }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'checkpointed' }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'interrupted'; readonly signal: NodeJS.Signals };

function checkpointFailed(message: string, hint?: string): CliError {
  return new CliError(`checkpoint failed: ${message}`, EXIT.CHECKPOINT_FAILED, hint);
}

export async function checkpointCommand(args: CheckpointArgs, io: Io): Promise<number> {
  const imageDir = resolve(args.image);
  const keepRunning = args.keepRunning ?? false;
  // Before anything starts: an existing image is only replaced with --force (exit 4 otherwise).
  await assertImageTarget(imageDir, { force: args.force ?? false });
  const signingKey = (await signingKeyFor(args.signingKeyFile, io.env))?.key;

  const s = stylesFor(colorEnabled(io.stderr, io.env));
  const work = await mkdtemp(join(tmpdir(), 'defrost-checkpoint-'));
  const progressFile = join(work, 'progress.jsonl');
  await writeFile(progressFile, '', { mode: 0o600 });
  const display = new ProgressLine(io.stderr, s, io.stderr.isTTY === true && io.env.TERM !== 'dumb');
  const shown = shellQuote(args.command);

  let stopCriu = async (): Promise<void> => {};
  try {
    const [file] = args.command;
    if (!file) throw new CliError('no command to run', EXIT.USAGE);
    const env = checkpointEnv(io.env, {
      imageDir,
      keepRunning,
      force: args.force ?? false,
      progressFile,
    });
    display.update(`starting ${shown}`, true);
    // Own session (detached): CRIU dumps the app's process tree, which must not include this CLI
    // or the terminal's job; Ctrl-C here reaches the app only through this process.
    // stdout/stderr are inherited, except on a terminal: there the app gets pipes that this
    // process copies to the terminal. A Node app whose stdout is a TTY has libuv reopen
    // /dev/pts/N on extra descriptors, which the pre-freeze audit rightly refuses (CRIU restores
    // no terminal faithfully); and the copy keeps the app's lines apart from the progress line.
    const relay = io.stdout.isTTY === true || io.stderr.isTTY === true;
    // Under the seccomp filter that keeps io_uring out, with a criu service outside it.
    const app = await spawnFreezable(args.command, {
      env,
      detached: true,
      stdio: ['ignore', relay ? 'pipe' : 'inherit', relay ? 'pipe' : 'inherit'],
    }).catch((error: unknown) => {
      if (error instanceof LaunchError)
        throw checkpointFailed(`cannot start ${shown}: ${firstLine(error)}`, error.hint);
      throw error;
    });
    const { child } = app;
    stopCriu = () => app.criu.stop();
    const ended = childEnd(child);
    const relayed =
      relay && child.stdout && child.stderr
        ? Promise.all([display.relay(child.stdout, io.stdout), display.relay(child.stderr, io.stderr)])
        : Promise.resolve();
    /** All of the app's output is out (bounded: a grandchild may hold the pipes open). */
    const drained = (): Promise<unknown> =>
      Promise.race([relayed, new Promise((r) => setTimeout(r, 2_000).unref())]);
    const pid = child.pid;

    let checkpointed: Extract<ProgressEvent, { step: 'checkpointed' }> | undefined;
    let failure: string | undefined;
    let warmup: WarmupSummaryLike | undefined;
    let lastStep = 'starting the app';
    let wake: (o: Outcome) => void = () => {};
    const tail = new ProgressTail(progressFile, (event) => {
      if (event.step === 'failed') {
        failure = event.message;
        wake({ kind: 'failed', message: event.message });
        return;
      }
      if (event.step === 'warmup-done') warmup = event.summary as WarmupSummaryLike;
      if (event.step === 'checkpointed') {
        checkpointed = event;
        if (keepRunning) wake({ kind: 'checkpointed' });
      }
      const text = describeEvent(event);
      if (text) {
        lastStep = text;
        display.update(text, event.step !== 'warmup');
      }
    });
    tail.start();

    let timer: NodeJS.Timeout | undefined;
    // Until the outcome is known, a signal interrupts the checkpoint; afterwards it is forwarded
    // to the app (--keep-running, or while it is being stopped). One handler throughout: no gap
    // in which a Ctrl-C would kill this process and leave the app running.
    let onSignal = (signal: NodeJS.Signals): void => wake({ kind: 'interrupted', signal });
    const removeSignals = onSignals((signal) => onSignal(signal));
    // The pipe or terminal this reports to went away (`defrost checkpoint ... | head`, a closed
    // ssh session): nobody will see the outcome, and an app left running would be unsupervised.
    const outputClosed = (error: NodeJS.ErrnoException): void => {
      if (error.code === 'EPIPE' || error.code === 'EIO') wake({ kind: 'interrupted', signal: 'SIGPIPE' });
    };
    io.stdout.on('error', outputClosed);
    io.stderr.on('error', outputClosed);
    const outcome = await new Promise<Outcome>((resolveOutcome) => {
      let settled = false;
      wake = (o) => {
        if (!settled) {
          settled = true;
          resolveOutcome(o);
        }
      };
      ended.then((end) => wake({ kind: 'exited', end }));
      timer = setTimeout(() => wake({ kind: 'timeout' }), args.timeout * 1000);
    });
    clearTimeout(timer);
    onSignal = (signal) => {
      sendSignal(pid, signal);
    };
    try {
      return await settle(outcome);
    } finally {
      removeSignals();
    }

    async function settle(outcome: Outcome): Promise<number> {
      await tail.stop();
      if (outcome.kind === 'exited') await drained();
      display.finish();

      const stopApp = async (): Promise<void> => {
        if (child.exitCode === null && child.signalCode === null && pid !== undefined) {
          io.stderr.write(`defrost: stopping the app (pid ${pid})\n`);
          await stopChild(pid, ended, 5_000);
          await drained();
        }
      };

      switch (outcome.kind) {
        case 'interrupted': {
          await stopApp();
          io.stderr.write(
            `defrost: checkpoint interrupted by ${outcome.signal}; ${checkpointed ? `the image in ${imageDir} was written before` : 'no image written'}\n`,
          );
          return statusOf(null, outcome.signal);
        }
        case 'timeout': {
          await stopApp();
          throw checkpointFailed(
            checkpointed
              ? `the image was written, but the app did not exit within ${args.timeout} s`
              : `no checkpoint within ${args.timeout} s (last step: ${lastStep})`,
            checkpointed
              ? 'the app must end after the checkpoint in exit mode (the Fastify plugin does); or use --keep-running'
              : 'is @defrost/fastify registered and does the server listen? A long warm-up needs a larger --timeout',
          );
        }
        case 'failed': {
          await stopApp();
          throw checkpointFailed(outcome.message);
        }
        case 'exited': {
          const { end } = outcome;
          if (end.error) {
            throw checkpointFailed(
              `cannot start ${shown}: ${end.error.message}`,
              'give the command after --, e.g. `defrost checkpoint --image DIR -- node app.js`',
            );
          }
          if (failure !== undefined) throw checkpointFailed(failure);
          const how = end.signal ? `was killed by ${end.signal}` : `exited with status ${end.code}`;
          if (!checkpointed) {
            throw checkpointFailed(
              `the app ${how} before writing an image`,
              'the app must register @defrost/fastify and listen; its own output above says more',
            );
          }
          if (!keepRunning && end.status !== 0) {
            throw checkpointFailed(`the app ${how} after writing the image`, 'its output above says why');
          }
          if (keepRunning) {
            throw checkpointFailed(`the app ${how} right after writing the image`);
          }
          await printSummary(io, imageDir, signingKey, checkpointed, warmup, shown);
          return EXIT.OK;
        }
        case 'checkpointed': {
          // --keep-running: the image is there, the server keeps serving; stay attached to it
          // (signals are forwarded to it from now on).
          await printSummary(io, imageDir, signingKey, checkpointed!, warmup, shown).catch(async (e) => {
            await stopApp();
            throw e;
          });
          io.stderr.write(`defrost: the app keeps running (pid ${pid}); Ctrl-C or SIGTERM stops it\n`);
          const end = await ended;
          await drained();
          return end.status;
        }
      }
    }
  } finally {
    display.finish();
    await stopCriu();
    await rm(work, { recursive: true, force: true });
  }
}

async function printSummary(
  io: Io,
  imageDir: string,
  signingKey: Buffer | undefined,
  event: Extract<ProgressEvent, { step: 'checkpointed' }>,
  warmupEvent: WarmupSummaryLike | undefined,
  shown: string,
): Promise<void> {
  let manifest: ImageManifest;
  const warnings: string[] = [];
  try {
    // The hashes; not the host (the app may have run another node binary). The signature is
    // made here, by this process: the key never enters the memory of the frozen app.
    manifest = await verifyImage(imageDir, { host: false, onWarning: (w) => warnings.push(w.message) });
    if (signingKey !== undefined) manifest = await signImage(imageDir, signingKey);
  } catch (e) {
    throw checkpointFailed(`the app reported an image, but it does not verify: ${firstLine(e)}`);
  }
  for (const w of warnings) printWarning(io, w);
  const sizes = await imageSizes(imageDir);
  const s = stylesFor(colorEnabled(io.stdout, io.env));
  const warmup = warmupText(warmupEvent ?? (manifest.warmup as WarmupSummaryLike | undefined));
  const rows: [string, string][] = [
    ['image', imageDir],
    [
      'size',
      `${formatMB(sizes.totalBytes)} in ${sizes.files} files (memory pages ${formatMB(sizes.pagesBytes)})`,
    ],
    ['warm-up', warmup ?? 'none'],
    ['checkpoint', formatMs(manifest.checkpoint.durationMs ?? event.durationMs)],
    ['signed', manifest.signature ? 'yes (hmac-sha256)' : 'no'],
    ['restore', `defrost restore ${shellQuote([imageDir])}`],
  ];
  io.stdout.write(
    `${s.green(`defrost: checkpoint of \`${shown}\` written`)}\n${rows.map(([k, v]) => `  ${k.padEnd(11)}${v}\n`).join('')}`,
  );
}
