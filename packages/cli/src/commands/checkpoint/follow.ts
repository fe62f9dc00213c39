import type { ChildProcess } from 'node:child_process';
import { type ChildEnd, childEnd, onSignals } from '../../child.js';
import type { Io } from '../../output.js';
import {
  describeEvent,
  type ProgressEvent,
  type ProgressLine,
  ProgressTail,
  type WarmupSummaryLike,
} from '../../progress.js';

/** How following a checkpoint ended. */
export type Outcome =
  | { readonly kind: 'exited'; readonly end: ChildEnd }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'checkpointed' }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'interrupted'; readonly signal: NodeJS.Signals };

/** What was seen while following: the app's progress events, and how to reach it. */
export interface Followed {
  readonly outcome: Outcome;
  readonly checkpointed: Extract<ProgressEvent, { step: 'checkpointed' }> | undefined;
  readonly failure: string | undefined;
  readonly warmup: WarmupSummaryLike | undefined;
  readonly lastStep: string;
  /** Signals from now on go to the app (--keep-running, or while it is being stopped). */
  forwardSignals(to: (signal: NodeJS.Signals) => void): void;
  /** Stops listening for signals; call last. */
  release(): void;
}

export interface FollowInput {
  readonly io: Io;
  readonly display: ProgressLine;
  readonly progressFile: string;
  readonly timeoutS: number;
  /** The app, when this process started it (undefined: `--pid`, an app started elsewhere). */
  readonly child?: ChildProcess;
  /** `checkpointed` ends the following (the app keeps running) instead of waiting for its exit. */
  readonly stopAtCheckpoint: boolean;
  /** Another way the following may end (an app this process did not start going away). */
  readonly alsoEnd?: Promise<Outcome>;
}

/**
 * Follows a checkpoint until it ends one way or another: the app's progress events (shown as
 * they come), its exit, the timeout, a signal, or the output going away. One signal handler
 * throughout, so that no Ctrl-C can fall between two and leave the app running unsupervised.
 */
export async function followCheckpoint(input: FollowInput): Promise<Followed> {
  const seen = {
    checkpointed: undefined as Followed['checkpointed'],
    failure: undefined as string | undefined,
    warmup: undefined as WarmupSummaryLike | undefined,
    lastStep: 'starting the app',
  };
  let wake: (o: Outcome) => void = () => {};
  const outcome = new Promise<Outcome>((resolve) => {
    let settled = false;
    wake = (o) => {
      if (!settled) {
        settled = true;
        resolve(o);
      }
    };
  });
  const tail = new ProgressTail(input.progressFile, (event) => {
    if (event.step === 'failed') {
      seen.failure = event.message;
      return wake({ kind: 'failed', message: event.message });
    }
    if (event.step === 'warmup-done') seen.warmup = event.summary as WarmupSummaryLike;
    if (event.step === 'checkpointed') {
      seen.checkpointed = event;
      if (input.stopAtCheckpoint) wake({ kind: 'checkpointed' });
    }
    const text = describeEvent(event);
    if (text) {
      seen.lastStep = text;
      input.display.update(text, event.step !== 'warmup' && event.step !== 'waiting');
    }
  });
  tail.start();
  let onSignal = (signal: NodeJS.Signals): void => wake({ kind: 'interrupted', signal });
  const removeSignals = onSignals((signal) => onSignal(signal));
  // The pipe or terminal this reports to went away (`defrost checkpoint ... | head`, a closed
  // ssh session): nobody will see the outcome, and an app left running would be unsupervised.
  // The listeners stay: a later write (the "stopping" line) must not crash the command either.
  const outputClosed = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE' || error.code === 'EIO') wake({ kind: 'interrupted', signal: 'SIGPIPE' });
  };
  input.io.stdout.on('error', outputClosed);
  input.io.stderr.on('error', outputClosed);
  if (input.child) childEnd(input.child).then((end) => wake({ kind: 'exited', end }));
  input.alsoEnd?.then(wake);
  const timer = setTimeout(() => wake({ kind: 'timeout' }), input.timeoutS * 1000);
  const result = await outcome;
  clearTimeout(timer);
  await tail.stop();
  return {
    outcome: result,
    ...seen,
    forwardSignals(to) {
      onSignal = to;
    },
    release: removeSignals,
  };
}
