import type { ChildProcess } from 'node:child_process';
import { LaunchError, spawnFreezable } from '@defrost/core/internal';
import { type ChildEnd, childEnd, stopChild } from '../../child.js';
import { firstLine } from '../../errors.js';
import type { Io } from '../../output.js';
import type { ProgressLine } from '../../progress.js';
import { checkpointFailed } from './summary.js';

/** An app started by `defrost checkpoint` or `defrost run`, and what it takes to stop it. */
export interface StartedApp {
  readonly child: ChildProcess;
  readonly pid: number | undefined;
  readonly ended: Promise<ChildEnd>;
  /** All of the app's output is out (bounded: a grandchild may hold the pipes open). */
  drained(): Promise<unknown>;
  /** SIGTERM, then SIGKILL after 5 s, if it still runs; says so on stderr. */
  stop(): Promise<void>;
  /** Stops the criu service its checkpoint went through. */
  close(): Promise<void>;
}

/**
 * Starts the app the way every app defrost freezes is started (spawnFreezable: without io_uring,
 * with a criu service outside the filter), in its own session: CRIU dumps the app's process tree,
 * which must not include this CLI or the terminal's job; Ctrl-C here reaches the app only through
 * this process. stdout/stderr are inherited, except on a terminal: there the app gets pipes that
 * this process copies to the terminal. A Node app whose stdout is a TTY has libuv reopen
 * /dev/pts/N on extra descriptors, which the audit rightly refuses (CRIU restores no terminal
 * faithfully); and the copy keeps the app's lines apart from the progress line.
 */
export async function startApp(
  command: readonly string[],
  env: NodeJS.ProcessEnv,
  io: Io,
  display: ProgressLine,
  shown: string,
): Promise<StartedApp> {
  const relay = io.stdout.isTTY === true || io.stderr.isTTY === true;
  const app = await spawnFreezable(command, {
    env,
    detached: true,
    stdio: ['ignore', relay ? 'pipe' : 'inherit', relay ? 'pipe' : 'inherit'],
  }).catch((error: unknown) => {
    if (error instanceof LaunchError)
      throw checkpointFailed(`cannot start ${shown}: ${firstLine(error)}`, error.hint);
    throw error;
  });
  const { child } = app;
  const ended = childEnd(child);
  const relayed =
    relay && child.stdout && child.stderr
      ? Promise.all([display.relay(child.stdout, io.stdout), display.relay(child.stderr, io.stderr)])
      : Promise.resolve();
  const drained = (): Promise<unknown> =>
    Promise.race([relayed, new Promise((r) => setTimeout(r, 2_000).unref())]);
  return {
    child,
    pid: child.pid,
    ended,
    drained,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      io.stderr.write(`defrost: stopping the app (pid ${child.pid})\n`);
      await stopChild(child.pid, ended, 5_000);
      await drained();
    },
    close: () => app.criu.stop(),
  };
}
