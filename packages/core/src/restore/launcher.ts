import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ControlEvent, parseControlEvents, type RestoreSettings } from '../checkpoint/control.js';
import { readLogExcerpt } from '../criu/log.js';
import { requireCriuBinary } from '../criu/version.js';
import { DefrostError, RestoreError } from '../errors.js';
import { currentHostFacts, type ImageManifest, verifyImage } from '../image/index.js';
import { signalPid, stopPid, waitForPidGone } from '../process/pid.js';
import { exitStatusOf, restoreCommand } from './criu-restore-command.js';

export interface RestoreOptions {
  /** Environment applied in the restored process before its afterRestore hooks. */
  readonly env?: Readonly<Record<string, string>>;
  /** Port to listen on after restore (the Fastify plugin re-listens there). */
  readonly port?: number;
  /** Index of this copy when several are restored at once. */
  readonly copy?: number;
  /** Key the image must be signed with (HMAC); an unsigned or differently signed image is refused. */
  readonly signingKey?: Buffer | string;
  readonly requireSignature?: boolean;
  /** Descriptors the restored server writes to (default: this process's stdout and stderr). */
  readonly stdout?: number;
  readonly stderr?: number;
  /** How long to wait for the restored server to report ready (default 30 s). */
  readonly readyTimeoutMs?: number;
  readonly logLevel?: number;
  readonly criuBinary?: string;
  /** Skip hash verification (only for callers that verified the image themselves). */
  readonly skipVerify?: boolean;
}

export interface ServerExit {
  /** Exit status as a shell reports it (128+N for signal N). */
  readonly status: number;
}

export interface RestoredServer {
  readonly manifest: ImageManifest;
  readonly restoreId: string;
  /** PID of the restored server as this machine sees it (it has another one inside its namespace). */
  readonly pid: number;
  /** PID of the launcher process (unshare) that holds the copy's namespace. */
  readonly launcherPid: number;
  /** From calling restore() to the server reporting ready (after its afterRestore hooks). */
  readonly readyMs: number;
  /** Time spent by the server's afterRestore hooks, as it reported. */
  readonly hooksMs: number;
  /** Resolves when the server (and its namespace) has ended. */
  readonly exited: Promise<ServerExit>;
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM (graceful), then SIGKILL after graceMs; resolves once everything is gone. */
  stop(graceMs?: number): Promise<ServerExit>;
}

/** The global PIDs of a process's children (Linux >= 3.5 with CONFIG_PROC_CHILDREN). */
async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map((s) => Number(s));
}

/** unshare -> (PID 1 of the namespace: criu, then the reaper) -> the restored server. */
async function serverPidOf(launcherPid: number): Promise<number | undefined> {
  for (const nsInit of await childrenOf(launcherPid)) {
    const [server] = await childrenOf(nsInit);
    if (server) return server;
  }
  return undefined;
}

function collect(stream: Readable | null): () => string {
  let text = '';
  stream?.setEncoding('utf8').on('data', (chunk: string) => {
    text = (text + chunk).slice(-16_384);
  });
  return () => text;
}

/**
 * Restores one copy of an image, supervised: verifies the image first (hashes, signature,
 * compatibility), restores it in a fresh PID namespace with this process's stdout/stderr,
 * hands over restore-time settings, and resolves once the server reports ready.
 */
export async function restore(imageDir: string, options: RestoreOptions = {}): Promise<RestoredServer> {
  const started = performance.now();
  const startedAtEpochMs = Date.now();
  const dir = resolve(imageDir);
  const criu = await requireCriuBinary(options.criuBinary).catch((cause: DefrostError) => {
    throw new RestoreError(cause.message, { step: 'criu', cause, hint: cause.hint });
  });
  const manifest = await verifyImage(dir, {
    ...(options.signingKey !== undefined ? { signingKey: options.signingKey } : {}),
    requireSignature: options.requireSignature ?? false,
    host: { ...(await currentHostFacts()), criuVersion: criu.version.text },
    skipHashes: options.skipVerify ?? false,
  });

  const restoreId = randomUUID();
  const privateDir = await mkdtemp(join(tmpdir(), 'defrost-restore-'));
  const logFile = join(privateDir, 'restore.log');
  const settings: RestoreSettings = {
    restoreId,
    startedAtEpochMs,
    env: options.env ?? {},
    copy: options.copy ?? 0,
    ...(options.port !== undefined ? { port: options.port } : {}),
  };
  // Settings may hold secrets: written 0600 in a 0700 dir, unlinked as soon as CRIU holds the fd.
  const settingsFile = join(privateDir, 'settings.json');
  await writeFile(settingsFile, JSON.stringify(settings), { mode: 0o600 });
  const settingsFd = openSync(settingsFile, 'r');
  const imageDirFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);

  const stdio = manifest.stdio;
  if (!stdio.imagesDirKey) {
    throw new RestoreError(`image ${dir} was made by an older defrost (no imagesDirKey in its manifest); rebuild it`, {
      step: 'verify',
    });
  }
  // Launcher descriptors: 0 none, 1/2 criu's own output (captured), then what the copy inherits.
  const inherit = [
    { fd: 3, key: stdio.stdoutKey },
    { fd: 4, key: stdio.stderrKey },
    { fd: 5, key: stdio.controlInKey },
    { fd: 6, key: stdio.controlOutKey },
    { fd: 7, key: stdio.imagesDirKey },
  ];
  const command = restoreCommand({
    imageDir: dir,
    logFile,
    logLevel: options.logLevel ?? 4,
    serverPid: manifest.process.pid,
    inherit,
    criuBinary: criu.path,
  });
  let child: ChildProcess;
  try {
    child = spawn(command.file, command.args, {
      stdio: ['ignore', 'pipe', 'pipe', options.stdout ?? 1, options.stderr ?? 2, settingsFd, 'pipe', imageDirFd],
    });
  } finally {
    closeSync(settingsFd);
    closeSync(imageDirFd);
    await unlink(settingsFile).catch(() => undefined);
  }
  const criuOutput = collect(child.stdout);
  const criuErrors = collect(child.stderr);

  const exited = new Promise<ServerExit>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({ status: exitStatusOf(code, signal) }));
  });
  const launcherPid = child.pid ?? -1;

  const failWith = async (message: string, step: string): Promise<never> => {
    const log = await readLogExcerpt(logFile);
    if (child.exitCode === null) await stopPid(launcherPid, 1_000);
    await waitForPidGone(launcherPid, 5_000);
    const spoken = `${criuErrors()}${criuOutput()}`.trim();
    throw new RestoreError(`${message}${spoken ? `\n  criu: ${spoken.split('\n').slice(-3).join('\n  criu: ')}` : ''}`, {
      step,
      log: { logFile: log.logFile ? logFile : undefined, lines: log.lines },
    });
  };

  const readyEvent = await new Promise<ControlEvent | { event: 'exit'; status: number } | { event: 'timeout' }>(
    (resolveEvent) => {
      const control = (child.stdio as unknown as Readable[])[6]!;
      let buffered = '';
      control.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        const [first] = parseControlEvents(lines.join('\n'));
        if (first) resolveEvent(first);
      });
      exited.then((exit) => resolveEvent({ event: 'exit', status: exit.status }));
      setTimeout(() => resolveEvent({ event: 'timeout' }), options.readyTimeoutMs ?? 30_000).unref();
    },
  );
  if (readyEvent.event === 'exit') {
    await failWith(`criu restore of ${dir} failed (exit status ${readyEvent.status})`, 'criu');
  }
  if (readyEvent.event === 'timeout') {
    await failWith(`restored server did not report ready within ${options.readyTimeoutMs ?? 30_000} ms`, 'ready');
  }
  if (readyEvent.event === 'failed') {
    await failWith(`the restored server failed while resuming: ${readyEvent.message}`, 'hooks');
  }
  const readyMs = performance.now() - started;
  const hooksMs = readyEvent.event === 'ready' ? readyEvent.hooksMs : 0;
  const pid = (await serverPidOf(launcherPid)) ?? (await failWith('restored server vanished after ready', 'ready'));
  exited.finally(() => rm(privateDir, { recursive: true, force: true }));

  return {
    manifest,
    restoreId,
    pid,
    launcherPid,
    readyMs,
    hooksMs,
    exited,
    signal: (signal) => {
      signalPid(pid, signal);
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        signalPid(pid, 'SIGTERM');
        const done = await Promise.race([exited, sleep(graceMs, undefined, { ref: false })]);
        if (!done) {
          signalPid(pid, 'SIGKILL');
          signalPid(launcherPid, 'SIGKILL');
        }
      }
      const exit = await exited;
      await waitForPidGone(pid, 10_000);
      await waitForPidGone(launcherPid, 10_000);
      return exit;
    },
  };
}
