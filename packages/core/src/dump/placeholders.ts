import { closeSync, mkdtempSync, openSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ParkedFds, parkFds } from '../native/fd-parking.js';
import { loadLibc } from '../native/libc.js';

/**
 * Files that stand in for descriptors the restorer replaces.
 *
 * A frozen server must write to the stdout/stderr of whoever restores it, whatever it had at the
 * freeze (terminal, a pipe whose reader is gone, a file that has grown since). CRIU can substitute
 * any dumped file with a descriptor of the restorer (`--inherit-fd fd[N]:<key>`), matching files by
 * path. So just before the dump, fds 1 and 2 are pointed at O_APPEND placeholder files with unique
 * paths; those paths become the keys. fd 0 becomes /dev/null (servers do not read stdin).
 * Two more placeholders form the control channel: the restorer passes restore-time settings in
 * (a file) and learns when the copy is ready (a FIFO).
 */
export interface StdioKeys {
  readonly stdoutKey: string;
  readonly stderrKey: string;
  readonly controlInKey: string;
  readonly controlOutKey: string;
}

export interface Placeholders {
  readonly keys: StdioKeys;
  /** Descriptors, in this process, of the control channel (same numbers in restored copies). */
  readonly controlInFd: number;
  readonly controlOutFd: number;
  /** In the original after the dump: put the real stdio back, drop placeholders and their files.
   * Never in a restored copy: there the restorer's stdio is already in place. */
  restoreOriginalStdio(): void;
  /** Closes the control descriptors (both sides call it once the channel is done). */
  closeControl(): void;
}

/** CRIU keys are paths without the leading slash. */
const keyOf = (path: string): string => path.replace(/^\/+/, '');

/**
 * Descriptors that are the terminal of stdout or stderr under another number: libuv reopens a
 * TTY on stdio (so that making it non-blocking does not affect other processes sharing it), and
 * process.stdout then writes there. They are re-attached exactly like fds 1 and 2.
 */
function terminalAliases(): { fd: number; of: 1 | 2 }[] {
  const link = (fd: number | string): string | undefined => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return undefined;
    }
  };
  const [out, err] = [link(1), link(2)];
  const aliases: { fd: number; of: 1 | 2 }[] = [];
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (fd <= 2) continue;
    const target = link(fd);
    if (!target?.startsWith('/dev/')) continue;
    if (target === out) aliases.push({ fd, of: 1 });
    else if (target === err) aliases.push({ fd, of: 2 });
  }
  return aliases;
}

export async function installPlaceholders(): Promise<Placeholders> {
  const libc = loadLibc();
  const aliases = terminalAliases();
  const swapped = [0, 1, 2, ...aliases.map((a) => a.fd)];
  // The original stdio waits outside the process while it is dumped (see fd-parking.ts).
  const parked: ParkedFds = await parkFds(swapped);
  const dir = mkdtempSync(join(tmpdir(), 'defrost-stdio-'));
  const paths = {
    stdout: join(dir, 'stdout'),
    stderr: join(dir, 'stderr'),
    controlIn: join(dir, 'control-in'),
    controlOut: join(dir, 'control-out'),
  };
  const opened: number[] = [];
  const controlFds: number[] = [];
  let parkedOut = true;
  /** Puts the parked originals back under their numbers and ends the holder (once). */
  const putBack = (): void => {
    if (!parkedOut) return;
    parkedOut = false;
    try {
      parked.retrieve().forEach((fd, i) => {
        libc.dup2(fd, swapped[i]!);
        libc.close(fd);
      });
    } finally {
      parked.release();
    }
  };
  try {
    const stdoutFd = openSync(paths.stdout, 'a', 0o600);
    opened.push(stdoutFd);
    const stderrFd = openSync(paths.stderr, 'a', 0o600);
    opened.push(stderrFd);
    const devNull = openSync('/dev/null', 'r');
    opened.push(devNull);
    closeSync(openSync(paths.controlIn, 'w', 0o600));
    controlFds.push(openSync(paths.controlIn, 'r'), openSync(paths.controlOut, 'a', 0o600));
    const [controlInFd, controlOutFd] = controlFds as [number, number];

    for (const [from, to] of [
      [devNull, 0],
      [stdoutFd, 1],
      [stderrFd, 2],
      ...aliases.map((a) => [a.of === 1 ? stdoutFd : stderrFd, a.fd] as const),
    ] as const) {
      if (libc.dup2(from, to) < 0) throw new Error(`dup2(${from}, ${to}) failed (errno ${libc.errno()})`);
    }
    for (const fd of opened) closeSync(fd);
    opened.length = 0;

    let controlOpen = true;
    return {
      keys: {
        stdoutKey: keyOf(paths.stdout),
        stderrKey: keyOf(paths.stderr),
        controlInKey: keyOf(paths.controlIn),
        controlOutKey: keyOf(paths.controlOut),
      },
      controlInFd,
      controlOutFd,
      restoreOriginalStdio() {
        putBack();
        rmSync(dir, { recursive: true, force: true });
      },
      closeControl() {
        if (!controlOpen) return;
        controlOpen = false;
        closeSync(controlInFd);
        closeSync(controlOutFd);
      },
    };
  } catch (error) {
    for (const fd of [...opened, ...controlFds]) closeSync(fd);
    putBack();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
