import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
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
 * tree has no such side effect (shared/CRIU-NOTES.md), and it works when the server is PID 1 of
 * its own namespace, where swrk refuses ("criu itself is within dumped tree").
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
