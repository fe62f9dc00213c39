import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CheckpointError } from '../errors.js';
import { signalPid, waitForPidGone } from '../process/pid.js';
import { readLogExcerpt } from './log.js';

/**
 * A private, short-lived `criu service` daemon for one checkpoint.
 *
 * libcriu's default mode forks a `criu swrk` child of the dumping process; that child ends up in
 * the image as a zombie whose PID must be free at every restore. A service outside the dumped
 * tree has no such side effect (docs/criu-and-node.md), and it works when the server is PID 1 of
 * its own namespace, where swrk refuses ("criu itself is within dumped tree").
 *
 * Who starts it: the launcher that started the app (`defrost checkpoint`, `defrost run`), which
 * passes its address in DEFROST_CRIU_SERVICE; the app then uses that one. A process under a
 * seccomp filter (the one that keeps io_uring out, see launch/io-uring-filter.ts) cannot start
 * its own: the criu it would start inherits the filter, and the kernel refuses a tracer under
 * seccomp what CRIU needs ("suspending seccomp failed: Operation not permitted").
 */
export interface CriuService {
  readonly address: string;
  readonly pid: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

/**
 * The launcher's service: a child of this process that dies with it (`setpriv --pdeathsig KILL`),
 * so a launcher killed by SIGKILL leaves no root daemon behind. The launcher is not part of the
 * tree it dumps, so its children are not either.
 */
export async function startCriuService(criuBinary = 'criu', timeoutMs = 10_000): Promise<CriuService> {
  return startService(criuBinary, timeoutMs, 'child');
}

/**
 * A service for a process that dumps itself without a launcher: a daemon (`criu service -d`),
 * because a child of the dumping process would be dumped with it. It cannot be tied to this
 * process's life; stop() ends it after the dump, and only a SIGKILL during the dump outlives it.
 */
export async function startDetachedCriuService(
  criuBinary = 'criu',
  timeoutMs = 10_000,
): Promise<CriuService> {
  return startService(criuBinary, timeoutMs, 'daemon');
}

interface ServiceFiles {
  readonly dir: string;
  readonly address: string;
  readonly pidFile: string;
  readonly logFile: string;
}

async function startService(
  criuBinary: string,
  timeoutMs: number,
  lifetime: 'child' | 'daemon',
): Promise<CriuService> {
  const dir = await mkdtemp(join(tmpdir(), 'defrost-criu-service-'));
  const files = {
    dir,
    address: join(dir, 'criu.sock'),
    pidFile: join(dir, 'criu.pid'),
    logFile: join(dir, 'service.log'),
  };
  const serviceArgs = [
    'service',
    '--address',
    files.address,
    '--pidfile',
    files.pidFile,
    '-o',
    files.logFile,
    '-v2',
  ];
  const [file, args] =
    lifetime === 'daemon'
      ? [criuBinary, [...serviceArgs, '-d']]
      : ['setpriv', ['--pdeathsig', 'KILL', '--', criuBinary, ...serviceArgs]];
  const child = spawn(file, args, { stdio: 'ignore' });
  // The launcher stops its service explicitly; a forgotten one must not keep the loop alive.
  child.unref();
  const failed = new Promise<string>((resolve) => {
    child.once('error', (error) => resolve(`cannot start \`${file}\`: ${error.message}`));
    child.once('exit', (code, signal) => {
      // `criu service -d` exits 0 once it has forked its daemon, maybe before the pidfile is
      // written: only a failure of it says the service will not come.
      if (lifetime === 'child' || code !== 0) resolve(`exit ${code ?? signal}`);
    });
  });
  const pid = await waitForPidFile(files, timeoutMs, failed);
  if (typeof pid === 'string') {
    const log = await readLogExcerpt(files.logFile);
    await rm(dir, { recursive: true, force: true });
    throw new CheckpointError(`\`${criuBinary} service\` did not start (${pid})`, { step: 'service', log });
  }
  return serviceHandle(files, pid);
}

/** The service's PID once it listens (it writes the pidfile after bind), or why it never did. */
async function waitForPidFile(
  files: ServiceFiles,
  timeoutMs: number,
  failed: Promise<string>,
): Promise<number | string> {
  let exitReason: string | undefined;
  void failed.then((reason) => {
    exitReason = reason;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pid = Number.parseInt(await readFile(files.pidFile, 'utf8').catch(() => ''), 10);
    if (pid > 0) return pid;
    if (exitReason) return exitReason;
    await sleep(5);
  }
  return exitReason ?? `no pidfile after ${timeoutMs} ms`;
}

function serviceHandle(files: ServiceFiles, pid: number): CriuService {
  let stopped = false;
  return {
    address: files.address,
    pid,
    logFile: files.logFile,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Dead is enough: a daemon's parent is init, which reaps it when it gets to it (1-2 s on
      // some machines, a wait every checkpoint used to pay), and a zombie holds nothing.
      signalPid(pid, 'SIGTERM');
      if (!(await waitForPidGone(pid, 5_000, true))) {
        signalPid(pid, 'SIGKILL');
        await waitForPidGone(pid, 5_000, true);
      }
      await rm(files.dir, { recursive: true, force: true });
    },
  };
}

/** The variable through which a launcher hands its criu service to the app it started. */
export const CRIU_SERVICE_ENV = 'DEFROST_CRIU_SERVICE';

/** A criu service someone else started and stops: this process only connects to it. */
export async function connectCriuService(address: string): Promise<CriuService> {
  const isSocket = await stat(address).then(
    (st) => st.isSocket(),
    () => false,
  );
  if (!isSocket) {
    throw new CheckpointError(
      `the criu service at ${address} (${CRIU_SERVICE_ENV}) is gone; the launcher that started this app must still be running`,
      { step: 'service' },
    );
  }
  return { address, pid: -1, logFile: '', stop: async () => undefined };
}

/** Seccomp mode of this process (/proc/self/status): 0 none, 1 strict, 2 filter. */
export async function seccompMode(): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
  return Number(/^Seccomp:\s*(\d+)/m.exec(status)?.[1] ?? 0);
}

/**
 * The criu service a dump of this process goes through: the launcher's when it gave one, else a
 * private one, unless this process is under a seccomp filter (then no criu it starts could dump it).
 */
export async function criuServiceForDump(
  o: { readonly address?: string | undefined; readonly criuBinary?: string | undefined } = {},
): Promise<CriuService> {
  const address = o.address ?? process.env[CRIU_SERVICE_ENV];
  if (address) return connectCriuService(address);
  if ((await seccompMode()) === 2) {
    throw new CheckpointError(
      'this process runs under a seccomp filter, and a criu started from inside it cannot dump it ' +
        '("suspending seccomp failed"). Start the app with `defrost checkpoint -- COMMAND` or ' +
        '`defrost run -- COMMAND`, which run criu outside the filter (in a container: run it with ' +
        '--security-opt seccomp=unconfined and start the app through defrost inside it)',
      { step: 'service' },
    );
  }
  return startDetachedCriuService(o.criuBinary);
}
