import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { assertImageTarget } from '@defrost/core/internal';
import { sendSignal } from '../../child.js';
import { CliError } from '../../errors.js';
import { EXIT } from '../../exit-codes.js';
import { signingKeyFor } from '../../options.js';
import { colorEnabled, type Io, shellQuote, stylesFor } from '../../output.js';
import { ProgressLine } from '../../progress.js';
import { type AgentFlags, agentConfig } from './agent-options.js';
import { appEnv } from './env.js';
import { followCheckpoint } from './follow.js';
import { checkpointRunning } from './running.js';
import { settle } from './settle.js';
import { startApp } from './start.js';

export interface CheckpointArgs extends AgentFlags {
  readonly image: string;
  readonly keepRunning?: boolean;
  readonly force?: boolean;
  readonly signingKeyFile?: string;
  /** Seconds until the image must be written (and, in exit mode, the app gone). */
  readonly timeout: number;
  /** The command that starts the app; empty with `pid`. */
  readonly command: readonly string[];
  /** `--pid`: checkpoint a server started by `defrost run`, without restarting it. */
  readonly pid?: number;
  /** With `pid`: end the server once the image is written (default: it keeps serving). */
  readonly stop?: boolean;
}

export const DEFAULT_TIMEOUT_S = 300;

/** `defrost checkpoint`: everything before the app runs, then one of the two ways to checkpoint. */
export async function checkpointCommand(args: CheckpointArgs, io: Io): Promise<number> {
  const imageDir = resolve(args.image);
  if (args.pid !== undefined && args.command.length > 0) {
    throw new CliError(
      `--pid checkpoints a running server: give no command (got: ${shellQuote(args.command)})`,
      EXIT.USAGE,
    );
  }
  if (args.pid === undefined && args.command.length === 0) {
    throw new CliError(
      'no command to run: give it after --, e.g. `defrost checkpoint --image DIR -- node app.js`',
      EXIT.USAGE,
    );
  }
  // Before anything starts: an existing image is only replaced with --force (exit 4 otherwise).
  await assertImageTarget(imageDir, { force: args.force ?? false });
  const signingKey = (await signingKeyFor(args.signingKeyFile, io.env))?.key;
  const work = await mkdtemp(join(tmpdir(), 'defrost-checkpoint-'));
  const progressFile = join(work, 'progress.jsonl');
  await writeFile(progressFile, '', { mode: 0o600 });
  const s = stylesFor(colorEnabled(io.stderr, io.env));
  const display = new ProgressLine(io.stderr, s, io.stderr.isTTY === true && io.env.TERM !== 'dumb');
  try {
    if (args.pid !== undefined) {
      return await checkpointRunning(args.pid, { ...args, imageDir, progressFile, signingKey }, io, display);
    }
    return await checkpointStarted(args, { imageDir, progressFile, signingKey }, io, display);
  } finally {
    display.finish();
    await rm(work, { recursive: true, force: true });
  }
}

/** Starts the app, follows its checkpoint, and settles what happened. */
async function checkpointStarted(
  args: CheckpointArgs,
  run: { readonly imageDir: string; readonly progressFile: string; readonly signingKey: Buffer | undefined },
  io: Io,
  display: ProgressLine,
): Promise<number> {
  const shown = shellQuote(args.command);
  const keepRunning = args.keepRunning ?? false;
  const env = appEnv(io.env, {
    checkpoint: { imageDir: run.imageDir, keepRunning, force: args.force ?? false },
    progressFile: run.progressFile,
    agent: await agentConfig(args),
  });
  display.update(`starting ${shown}`, true);
  const app = await startApp(args.command, env, io, display, shown);
  try {
    const followed = await followCheckpoint({
      io,
      display,
      progressFile: run.progressFile,
      timeoutS: args.timeout,
      child: app.child,
      stopAtCheckpoint: keepRunning,
    });
    followed.forwardSignals((signal) => sendSignal(app.pid, signal));
    if (followed.outcome.kind === 'exited') await app.drained();
    display.finish();
    try {
      return await settle(
        {
          io,
          imageDir: run.imageDir,
          keepRunning,
          timeoutS: args.timeout,
          signingKey: run.signingKey,
          shown,
          followed,
          stopApp: () => app.stop(),
          appEnded: app.ended.then(async (end) => {
            await app.drained();
            return end;
          }),
          appPid: app.pid,
        },
        followed.outcome,
      );
    } finally {
      followed.release();
    }
  } finally {
    await app.close();
  }
}
