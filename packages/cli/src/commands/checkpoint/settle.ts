import { type ChildEnd, statusOf } from '../../child.js';
import { EXIT } from '../../exit-codes.js';
import type { Io } from '../../output.js';
import type { Followed, Outcome } from './follow.js';
import { checkpointFailed, printSummary } from './summary.js';

/** What settling an outcome needs: the run, and the app (when this process started it). */
export interface SettleContext {
  readonly io: Io;
  readonly imageDir: string;
  readonly keepRunning: boolean;
  readonly timeoutS: number;
  readonly signingKey: Buffer | undefined;
  /** The command, as shown to the user. */
  readonly shown: string;
  readonly followed: Followed;
  /** Stops the app if it still runs (SIGTERM, then SIGKILL), and waits for its output. */
  stopApp(): Promise<void>;
  /** Resolves when the app has exited (undefined for an app this process did not start). */
  readonly appEnded: Promise<ChildEnd> | undefined;
  readonly appPid: number | undefined;
}

function summary(ctx: SettleContext) {
  return printSummary(ctx.io, {
    imageDir: ctx.imageDir,
    signingKey: ctx.signingKey,
    event: ctx.followed.checkpointed!,
    warmup: ctx.followed.warmup,
    shown: ctx.shown,
  });
}

async function interrupted(ctx: SettleContext, signal: NodeJS.Signals): Promise<number> {
  await ctx.stopApp();
  const written = ctx.followed.checkpointed
    ? `the image in ${ctx.imageDir} was written before`
    : 'no image written';
  ctx.io.stderr.write(`defrost: checkpoint interrupted by ${signal}; ${written}\n`);
  return statusOf(null, signal);
}

async function timedOut(ctx: SettleContext): Promise<never> {
  await ctx.stopApp();
  if (ctx.followed.checkpointed) {
    throw checkpointFailed(
      `the image was written, but the app did not exit within ${ctx.timeoutS} s`,
      'the app must end after the checkpoint in exit mode (defrost ends it unless it handles the checkpoint itself); or use --keep-running',
    );
  }
  throw checkpointFailed(
    `no checkpoint within ${ctx.timeoutS} s (last step: ${ctx.followed.lastStep})`,
    'a long warm-up needs a larger --timeout',
  );
}

async function exited(ctx: SettleContext, end: ChildEnd): Promise<number> {
  if (end.error) {
    throw checkpointFailed(
      `cannot start ${ctx.shown}: ${end.error.message}`,
      'give the command after --, e.g. `defrost checkpoint --image DIR -- node app.js`',
    );
  }
  if (ctx.followed.failure !== undefined) throw checkpointFailed(ctx.followed.failure);
  const how = end.signal ? `was killed by ${end.signal}` : `exited with status ${end.code}`;
  if (!ctx.followed.checkpointed) {
    throw checkpointFailed(
      `the app ${how} before writing an image`,
      'its own output above says why (defrost checkpoints a Node server once it listens on a TCP port)',
    );
  }
  if (ctx.keepRunning) throw checkpointFailed(`the app ${how} right after writing the image`);
  if (end.status !== 0)
    throw checkpointFailed(`the app ${how} after writing the image`, 'its output above says why');
  await summary(ctx);
  return EXIT.OK;
}

/** --keep-running: the image is there and the app goes on; stay attached, signals forwarded. */
async function keptRunning(ctx: SettleContext): Promise<number> {
  await summary(ctx).catch(async (e: unknown) => {
    await ctx.stopApp();
    throw e;
  });
  if (!ctx.appEnded) return EXIT.OK;
  ctx.io.stderr.write(`defrost: the app keeps running (pid ${ctx.appPid}); Ctrl-C or SIGTERM stops it\n`);
  return (await ctx.appEnded).status;
}

export function settle(ctx: SettleContext, outcome: Outcome): Promise<number> {
  switch (outcome.kind) {
    case 'interrupted':
      return interrupted(ctx, outcome.signal);
    case 'timeout':
      return timedOut(ctx);
    case 'failed':
      return ctx.stopApp().then(() => Promise.reject(checkpointFailed(outcome.message)));
    case 'exited':
      return exited(ctx, outcome.end);
    case 'checkpointed':
      return keptRunning(ctx);
  }
}
