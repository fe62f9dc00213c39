import { spawn } from 'node:child_process';
import { CheckpointError } from '../errors.js';
import { loadLibc } from './libc.js';

/**
 * Keeps descriptors alive outside this process while it is dumped, and gives them back after.
 *
 * The original stdio of a server that keeps running after a checkpoint must survive the dump, but
 * no copy of it may stay open inside the process: a socketpair to a parent (what Node's spawn
 * gives) is an "external socket" CRIU refuses to dump. So the copies are handed to a holder
 * process that is not part of the dumped tree (a background `sleep` whose shell has exited,
 * reparented away from us), and taken back with pidfd_getfd(2) afterwards.
 */
export interface ParkedFds {
  readonly holderPid: number;
  /** Copies of the parked descriptors, in order, as new descriptors of this process. */
  retrieve(): number[];
  /** Ends the holder. Only the original may call it: in a restored copy the PID means nothing. */
  release(): void;
}

const FIRST_PARKED_FD = 3;

export async function parkFds(fds: readonly number[]): Promise<ParkedFds> {
  const shell = spawn('/bin/sh', ['-c', 'sleep 86400 </dev/null >/dev/null 2>&1 & echo $!'], {
    stdio: ['ignore', 'pipe', 'ignore', ...fds],
    detached: true,
  });
  let output = '';
  shell.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    shell.once('error', reject);
    shell.once('close', resolve);
  });
  const holderPid = Number.parseInt(output.trim(), 10);
  if (code !== 0 || !(holderPid > 0)) {
    throw new CheckpointError(`could not start the stdio holder process (sh exit ${code})`, {
      step: 'prepare',
    });
  }
  let released = false;
  return {
    holderPid,
    retrieve() {
      const libc = loadLibc();
      return fds.map((_, i) => {
        const fd = libc.takeFdFrom(holderPid, FIRST_PARKED_FD + i);
        if (fd < 0) throw new Error(`pidfd_getfd from holder ${holderPid} failed (errno ${libc.errno()})`);
        return fd;
      });
    },
    release() {
      if (released) return;
      released = true;
      try {
        process.kill(holderPid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}
