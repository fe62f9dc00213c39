/**
 * One attempt at restoring one copy: its private directory, the namespace command with CRIU in
 * it (criu-restore-command.ts), and the wait for the copy's ready event.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { readLogExcerpt } from '../criu/log.js';
import { type ControlEvent, parseControlEvent, type RestoreSettings } from '../dump/control.js';
import { RestoreError } from '../errors.js';
import { lineSplitter } from '../lines.js';
import { stopPid, waitForPidGone } from '../process/pid.js';
import {
  ACTION_SCRIPT,
  exitStatusOf,
  JANITOR_FD,
  LAZY_DAEMON_FAILED,
  restoreCommand,
} from './criu-restore-command.js';
import type { KdatCachePaths } from './kdat-cache.js';

/** What a copy's launch needs from restore(). */
export interface CopyInput {
  readonly dir: string;
  readonly inherit: readonly { fd: number; key: string }[];
  readonly serverPid: number;
  readonly criuPath: string;
  readonly kdat: KdatCachePaths | undefined;
  readonly lazyPages: boolean;
  readonly startedAtEpochMs: number;
  readonly env: Readonly<Record<string, string>>;
  readonly port: number | undefined;
  readonly copy: number;
  readonly stdout: number;
  readonly stderr: number;
  readonly logLevel: number;
  readonly readyTimeoutMs: number;
  readonly lazyPagesDaemon: string | undefined;
}

export interface LaunchedCopy {
  readonly child: ChildProcess;
  /** Settles once the copy has exited and its private directory is gone. */
  readonly exited: Promise<{ readonly status: number }>;
  readonly launcherPid: number;
  readonly restoreId: string;
  readonly hooksMs: number;
  readonly launchToReadyMs: number;
  /** CRIU's own time from its start to "Restore finished successfully" (its log). */
  readonly criuMs: number | undefined;
  readonly lazyPages: boolean;
}

/** CRIU stamps log lines with seconds since its start: "(00.081329) Restore finished successfully". */
export function criuRestoreMsFromLog(log: string): number | undefined {
  const m = /^\((\d+)\.(\d+)\) Restore finished successfully/m.exec(log);
  return m ? Number(m[1]) * 1000 + Number(`0.${m[2]}`) * 1000 : undefined;
}

interface CopyDir {
  readonly dir: string;
  readonly logFile: string;
  readonly actionScript: string;
  readonly settingsFile: string;
}

/**
 * The copy's private directory (0700): CRIU's log and work files, the action script, and the
 * restore-time settings (0600: they may hold secrets; unlinked as soon as CRIU holds them).
 */
async function makeCopyDir(input: CopyInput, restoreId: string): Promise<CopyDir> {
  const dir = await mkdtemp(join(tmpdir(), 'defrost-restore-'));
  const paths = {
    dir,
    logFile: join(dir, 'restore.log'),
    actionScript: join(dir, 'action.sh'),
    settingsFile: join(dir, 'settings.json'),
  };
  const settings: RestoreSettings = {
    restoreId,
    startedAtEpochMs: input.startedAtEpochMs,
    env: input.env,
    copy: input.copy,
    ...(input.port !== undefined ? { port: input.port } : {}),
  };
  await writeFile(paths.actionScript, ACTION_SCRIPT, { mode: 0o700 });
  await writeFile(paths.settingsFile, JSON.stringify(settings), { mode: 0o600 });
  return paths;
}

/**
 * Starts the namespace command with the descriptor layout it expects (inheritedDescriptors() in
 * criu-restore-command.ts; 8: the janitor's, whose other end this process holds until the copy's
 * directory is gone).
 */
async function spawnCopy(input: CopyInput, copyDir: CopyDir): Promise<ChildProcess> {
  const command = restoreCommand({
    imageDir: input.dir,
    workDir: copyDir.dir,
    actionScript: copyDir.actionScript,
    logLevel: input.logLevel,
    serverPid: input.serverPid,
    inherit: input.inherit,
    criuBinary: input.criuPath,
    ...(input.kdat ? { kdat: input.kdat } : {}),
    lazyPages: input.lazyPages,
  });
  const settingsFd = openSync(copyDir.settingsFile, 'r');
  const imageDirFd = openSync(input.dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    return spawn(command.file, command.args, {
      env: {
        ...process.env,
        ...command.env,
        ...(input.lazyPagesDaemon ? { DEFROST_LAZY_DAEMON: input.lazyPagesDaemon } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe', input.stdout, input.stderr, settingsFd, 'pipe', imageDirFd, 'pipe'],
    });
  } finally {
    closeSync(settingsFd);
    closeSync(imageDirFd);
    await unlink(copyDir.settingsFile).catch(() => undefined);
  }
}

function collect(stream: Readable | null): () => string {
  let text = '';
  stream?.setEncoding('utf8').on('data', (chunk: string) => {
    text = (text + chunk).slice(-16_384);
  });
  return () => text;
}

/**
 * Settles once the copy has exited and its private directory (logs, sockets) is gone: a restorer
 * that exits right after its server must not leave it behind. Then the janitor is let go.
 */
function exitOf(child: ChildProcess, dir: string): Promise<{ readonly status: number }> {
  const janitor = (child.stdio as unknown as (Readable | null)[])[JANITOR_FD];
  return new Promise((resolveExit) => {
    child.once('exit', (code, signal) => {
      const exit = { status: exitStatusOf(code, signal) };
      rm(dir, { recursive: true, force: true })
        .catch(() => undefined)
        .then(() => {
          janitor?.destroy();
          resolveExit(exit);
        });
    });
  });
}

type CopyEvent = ControlEvent | { event: 'exit'; status: number } | { event: 'timeout' };

/** The copy's first event on its control pipe, its exit, or the timeout, whichever comes first. */
function firstEvent(
  child: ChildProcess,
  exited: Promise<{ status: number }>,
  timeoutMs: number,
): Promise<CopyEvent> {
  return new Promise((resolveEvent) => {
    const control = (child.stdio as unknown as Readable[])[6]!;
    const onChunk = lineSplitter((line) => {
      const event = parseControlEvent(line);
      if (event) resolveEvent(event);
    });
    control.setEncoding('utf8').on('data', onChunk);
    exited.then((exit) => resolveEvent({ event: 'exit', status: exit.status }));
    setTimeout(() => resolveEvent({ event: 'timeout' }), timeoutMs).unref();
  });
}

/** Why an event other than 'ready' means the copy did not come up, and the failure's step. */
function failureOf(event: Exclude<CopyEvent, { event: 'ready' }>, input: CopyInput): [string, string] {
  if (event.event === 'exit') {
    const why =
      event.status === LAZY_DAEMON_FAILED
        ? 'the lazy-pages daemon did not start'
        : `criu restore failed (exit status ${event.status})`;
    return [`cannot restore ${input.dir}: ${why}`, input.lazyPages ? 'lazy-pages' : 'criu'];
  }
  if (event.event === 'timeout')
    return [`restored server did not report ready within ${input.readyTimeoutMs} ms`, 'ready'];
  return [`the restored server failed while resuming: ${event.message}`, 'hooks'];
}

/** One attempt: spawn the namespace with CRIU in it and wait for the copy to report ready. */
export async function launchCopy(input: CopyInput): Promise<LaunchedCopy> {
  const launched = performance.now();
  const restoreId = randomUUID();
  const copyDir = await makeCopyDir(input, restoreId);
  const child = await spawnCopy(input, copyDir);
  const criuOutput = collect(child.stdout);
  const criuErrors = collect(child.stderr);
  const exited = exitOf(child, copyDir.dir);
  const launcherPid = child.pid ?? -1;
  const event = await firstEvent(child, exited, input.readyTimeoutMs);
  if (event.event !== 'ready') {
    const [message, step] = failureOf(event, input);
    const log = await readLogExcerpt(copyDir.logFile);
    if (child.exitCode === null) await stopPid(launcherPid, 1_000);
    await exited;
    await waitForPidGone(launcherPid, 5_000);
    const spoken = `${criuErrors()}${criuOutput()}`.trim();
    throw new RestoreError(
      `${message}${spoken ? `\n  criu: ${spoken.split('\n').slice(-3).join('\n  criu: ')}` : ''}`,
      {
        step,
        log: { logFile: undefined, lines: log.lines },
      },
    );
  }
  return {
    child,
    exited,
    launcherPid,
    restoreId,
    hooksMs: event.hooksMs,
    launchToReadyMs: performance.now() - launched,
    criuMs: criuRestoreMsFromLog(await readFile(copyDir.logFile, 'utf8').catch(() => '')),
    lazyPages: input.lazyPages,
  };
}
