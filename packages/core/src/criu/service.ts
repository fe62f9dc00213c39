import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CheckpointError } from '../errors.js';
import { signalPid, waitForPidGone } from '../process/pid.js';
import { readLogExcerpt } from './log.js';

/**
 * A private, short-lived `criu service` daemon for one self-dump.
 *
 * libcriu's default mode forks a `criu swrk` child of the dumping process; that child ends up in
 * the image as a zombie whose PID must be free at every restore. A daemon outside the process
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

export async function startCriuService(criuBinary = 'criu', timeoutMs = 10_000): Promise<CriuService> {
  const dir = await mkdtemp(join(tmpdir(), 'defrost-criu-service-'));
  const address = join(dir, 'criu.sock');
  const pidFile = join(dir, 'criu.pid');
  const logFile = join(dir, 'service.log');
  const launcherExit = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(
      criuBinary,
      ['service', '-d', '--address', address, '--pidfile', pidFile, '-o', logFile, '-v2'],
      {
        stdio: 'ignore',
      },
    );
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  }).catch(async (cause: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw new CheckpointError(`cannot start \`${criuBinary} service\`: ${(cause as Error).message}`, {
      step: 'service',
      cause,
    });
  });
  const deadline = Date.now() + timeoutMs;
  let pid = Number.NaN;
  while (Date.now() < deadline) {
    pid = Number.parseInt(await readFile(pidFile, 'utf8').catch(() => ''), 10);
    if (pid > 0) break;
    await sleep(5);
  }
  if (!(pid > 0)) {
    const log = await readLogExcerpt(logFile);
    await rm(dir, { recursive: true, force: true });
    throw new CheckpointError(`\`criu service\` did not start (launcher exit code ${launcherExit})`, {
      step: 'service',
      log,
    });
  }
  let stopped = false;
  return {
    address,
    pid,
    logFile,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Dead is enough: the daemon's parent is init, which reaps it when it gets to it (1-2 s on
      // some machines, a wait every checkpoint used to pay), and a zombie holds nothing.
      signalPid(pid, 'SIGTERM');
      if (!(await waitForPidGone(pid, 5_000, true))) {
        signalPid(pid, 'SIGKILL');
        await waitForPidGone(pid, 5_000, true);
      }
      await rm(dir, { recursive: true, force: true });
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
  return startCriuService(o.criuBinary);
}
