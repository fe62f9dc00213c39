/**
 * The `defrost` command as a user runs it (packages/cli/bin/defrost: the native fast path of
 * restore, else the CLI in Node), against the example apps. Every process is stopped by PID and
 * waited for; copies are registered with @defrost/core/testing so that stopAllStarted() ends
 * what a failed test left running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopPid, waitForPidGone } from '@defrost/core/internal';
import { track } from '@defrost/core/testing';

export const DEFROST = fileURLToPath(new URL('../../../../packages/cli/bin/defrost', import.meta.url));
export const EXAMPLES = fileURLToPath(new URL('../../', import.meta.url));

/** The environment of the command: this test's node first on PATH (bin/defrost runs `node`). */
export function commandEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  delete env.FORCE_COLOR;
  env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
  return env;
}

interface Output {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: readonly string[], env: NodeJS.ProcessEnv, cwd = EXAMPLES): Output {
  const child = spawn(DEFROST, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${DEFROST}`);
  track(child.pid);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

export interface CheckpointRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Requests of the warm-up, from the summary (0 when none was reported). */
  readonly warmupRequests: number;
  /** `stdout` and `stderr`, for assertion messages. */
  readonly output: string;
}

/** `defrost checkpoint --image IMAGE FLAGS -- COMMAND` to its end. */
export async function checkpoint(o: {
  readonly image: string;
  readonly command: readonly string[];
  readonly flags?: readonly string[];
  readonly env?: Record<string, string>;
}): Promise<CheckpointRun> {
  const args = ['checkpoint', '--image', o.image, '--timeout', '150', ...(o.flags ?? []), '--', ...o.command];
  const { code, stdout, stderr } = await defrost(args, o.env);
  const warmup = /warm-up\s+(\d+) requests in \d+ rounds/.exec(stdout);
  return {
    code,
    stdout,
    stderr,
    warmupRequests: warmup ? Number(warmup[1]) : 0,
    output: `stdout:\n${stdout}\nstderr:\n${stderr}`,
  };
}

/** Waits until `pattern` shows in what the command wrote on stderr; resolves with the match. */
function stderrMatch(cli: Output, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within 30 s:\n${cli.stderr()}`)), 30_000);
    const check = (): void => {
      const m = pattern.exec(cli.stderr());
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    cli.child.stderr!.on('data', check);
    cli.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`defrost exited before ${what}:\n${cli.stdout()}\n${cli.stderr()}`));
    });
  });
}

export interface Copy {
  /** The restored server. */
  readonly pid: number;
  /** What `defrost restore` printed so far. */
  stderr(): string;
  /** SIGTERM to the server by PID; resolves once it and the command are gone. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `defrost restore IMAGE`: resolves once the copy is restored (and serving), with its PID. */
export async function restoreCopy(image: string, flags: readonly string[] = []): Promise<Copy> {
  const cli = run(['restore', image, ...flags], commandEnv());
  const pid = Number((await stderrMatch(cli, /defrost: restored .* in \d+ ms \(pid (\d+)\)/, 'restore'))[1]);
  track(pid);
  return {
    pid,
    stderr: cli.stderr,
    async stop() {
      await stopPid(pid, 5_000);
      const end = await cli.exited;
      if (!(await waitForPidGone(pid, 10_000))) throw new Error(`the copy (pid ${pid}) is still there`);
      return end;
    },
  };
}

export interface RunningServer {
  /** The server `defrost run` started. */
  readonly pid: number;
  stderr(): string;
  /** SIGTERM to `defrost run` (forwarded to the server); resolves once both are gone. */
  stop(): Promise<void>;
}

/** `defrost run FLAGS -- COMMAND`: a server that `defrost checkpoint --pid` can freeze later. */
export async function runServer(o: {
  readonly command: readonly string[];
  readonly flags?: readonly string[];
  readonly env?: Record<string, string>;
}): Promise<RunningServer> {
  const cli = run(['run', ...(o.flags ?? []), '--', ...o.command], commandEnv(o.env));
  const pid = Number((await stderrMatch(cli, /defrost: running .* \(pid (\d+)\)/, 'the server'))[1]);
  track(pid);
  return {
    pid,
    stderr: cli.stderr,
    async stop() {
      cli.child.kill('SIGTERM');
      await cli.exited;
      if (!(await waitForPidGone(pid, 10_000))) throw new Error(`the server (pid ${pid}) is still there`);
    },
  };
}

/**
 * Runs `defrost ARGS` to its end. A run that outlasts 160 s gets SIGTERM (a checkpoint then stops
 * its app) and comes back as it ended.
 */
export async function defrost(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = run(args, commandEnv(env));
  const timer = setTimeout(() => cli.child.kill('SIGTERM'), 160_000);
  const { code } = await cli.exited.finally(() => clearTimeout(timer));
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}
