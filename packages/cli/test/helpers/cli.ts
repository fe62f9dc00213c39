/** Runs the built CLI (dist/bin.js) as a real child process, as a user would. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { signalPid, waitForPidGone } from '@defrost/core/internal';

export const CLI = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
/** The installed `defrost` command (a sh script: the native fast path for restore, else dist/bin.js). */
export const BIN = fileURLToPath(new URL('../../bin/defrost', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Added to the environment (undefined removes a variable). */
  readonly env?: Record<string, string | undefined>;
  /** Replaces the environment entirely (NO_COLOR is still added unless given). */
  readonly cleanEnv?: boolean;
  readonly cwd?: string;
  readonly timeoutMs?: number;
  /** Execute dist/bin.js itself (its shebang line) instead of `node dist/bin.js`. */
  readonly viaShebang?: boolean;
  /** Run the installed command, bin/defrost (with its native fast path for restore). */
  readonly viaBin?: boolean;
  /** Run this `defrost` command instead (e.g. node_modules/.bin/defrost of a project that installed it). */
  readonly command?: string;
}

function envFor(o: RunOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = o.cleanEnv ? {} : { ...process.env };
  delete env.FORCE_COLOR;
  env.NO_COLOR = '1';
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface RunningCli {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the match once `pattern` appears on the stream (stderr by default). */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr', timeoutMs?: number): Promise<RegExpMatchArray>;
  readonly exited: Promise<CliResult>;
}

/** PIDs of CLIs started by tests and not yet seen exiting (for cleanup). */
export const running = new Set<RunningCli>();

export function startCli(args: readonly string[], o: RunOptions = {}): RunningCli {
  const [file, argv] = o.command
    ? [o.command, [...args]]
    : o.viaBin
      ? [BIN, [...args]]
      : o.viaShebang
        ? [CLI, [...args]]
        : [process.execPath, [CLI, ...args]];
  const child = spawn(file, argv, {
    env: envFor(o),
    cwd: o.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('could not start the CLI');
  let out = '';
  let err = '';
  const waiters: { pattern: RegExp; stream: 'stdout' | 'stderr'; resolve: (m: RegExpMatchArray) => void }[] =
    [];
  const check = (): void => {
    for (const w of [...waiters]) {
      const m = (w.stream === 'stdout' ? out : err).match(w.pattern);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    check();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    check();
  });
  const exited = new Promise<CliResult>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
  });
  const handle: RunningCli = {
    child,
    pid: child.pid,
    stdout: () => out,
    stderr: () => err,
    waitFor(pattern, stream = 'stderr', timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`timed out waiting for ${pattern} on ${stream}; stdout:\n${out}\nstderr:\n${err}`),
            ),
          timeoutMs,
        );
        waiters.push({
          pattern,
          stream,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
        check();
        exited.then(() => {
          setTimeout(() => {
            clearTimeout(timer);
            reject(
              new Error(
                `the CLI exited before ${pattern} appeared on ${stream}; stdout:\n${out}\nstderr:\n${err}`,
              ),
            );
          }, 50);
        });
      });
    },
    exited,
  };
  running.add(handle);
  exited.then(() => running.delete(handle));
  return handle;
}

export async function runCli(args: readonly string[], o: RunOptions = {}): Promise<CliResult> {
  const cli = startCli(args, o);
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
  try {
    return await cli.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Stops CLIs a failed test left running: SIGTERM (forwarded to their servers), then SIGKILL. */
export async function stopAll(graceMs = 10_000): Promise<void> {
  await Promise.all(
    [...running].map(async (cli) => {
      cli.child.kill('SIGTERM');
      const done = await Promise.race([cli.exited, new Promise((r) => setTimeout(r, graceMs))]);
      if (!done) cli.child.kill('SIGKILL');
      await cli.exited;
    }),
  );
}

/** Until the PID is gone from /proc (reaped), as defrost itself waits (core's process/pid.ts). */
export function waitGone(pid: number, timeoutMs = 10_000): Promise<boolean> {
  return waitForPidGone(pid, timeoutMs);
}

/** SIGKILLs restored servers a failed test left running (by PID), waits until gone, forgets them. */
export async function killLeftovers(pids: Set<number>): Promise<void> {
  for (const pid of pids) {
    signalPid(pid, 'SIGKILL');
    await waitGone(pid);
  }
  pids.clear();
}
