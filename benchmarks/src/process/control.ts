/**
 * Every process the bench starts goes through here, so that every one of them can be stopped, on
 * success, on failure and on SIGINT/SIGTERM, and waited for until its PID is gone from /proc.
 * Only PIDs that we started (or that descend from them) are ever signalled.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { commOf, descendantsOf, isAlive, signalPid, waitForPidGone } from '@defrost/core/internal';

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Tracked {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Where the process's stdout and stderr go (appended). */
  readonly logFile: string;
  readonly exited: Promise<ExitInfo>;
  /** Set once the process has exited. */
  exit: ExitInfo | undefined;
}

export interface SpawnOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly logFile: string;
  /** Adds a Node IPC channel (for a pre-started helper). */
  readonly ipc?: boolean;
}

export function describeExit(exit: ExitInfo): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

export class ProcessControl {
  private readonly live = new Set<Tracked>();
  /** Descendants we learned about (restored servers, criu, launchers), to wait for and clean up. */
  private readonly adopted = new Set<number>();
  private readonly warn: (message: string) => void;

  constructor(warn: (message: string) => void) {
    this.warn = warn;
  }

  spawn(name: string, file: string, args: readonly string[], options: SpawnOptions): Tracked {
    // A file, not a pipe: Node's pipes are socketpairs, and a restored server that inherits one
    // from the restorer hangs (see CRIU-NOTES). O_APPEND so that several writers interleave.
    const fd = openSync(options.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        env: options.env,
        cwd: options.cwd,
        stdio: options.ipc ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) {
      throw new Error(`could not start ${name} (${file}): see ${options.logFile}`);
    }
    const tracked: Tracked = {
      name,
      pid: child.pid,
      child,
      logFile: options.logFile,
      exit: undefined,
      exited: new Promise<ExitInfo>((resolve) => {
        child.once('exit', (code, sig) => {
          tracked.exit = { code, signal: sig };
          resolve(tracked.exit);
        });
      }),
    };
    child.on('error', () => undefined); // reported through 'exit'
    this.live.add(tracked);
    void tracked.exited.then(() => this.live.delete(tracked));
    return tracked;
  }

  /** Remembers descendants of a tracked process so that they are waited for and cleaned up too. */
  adopt(pids: Iterable<number>): void {
    for (const pid of pids) this.adopted.add(pid);
  }

  /**
   * SIGTERM (the restore CLI forwards it to the restored server), SIGKILL after graceMs, then waits
   * until the process and every descendant it had are gone from /proc. A restored server can stay
   * a zombie for 1-2 s until init reaps it: that wait is part of stopping, not of any measurement.
   */
  async stop(tracked: Tracked, graceMs = 10_000): Promise<ExitInfo> {
    const family = tracked.exit ? [] : await descendantsOf(tracked.pid);
    this.adopt(family);
    if (!tracked.exit) {
      signalPid(tracked.pid, 'SIGTERM');
      const done = await Promise.race([tracked.exited, sleep(graceMs, undefined, { ref: false })]);
      if (!done) {
        this.warn(`${tracked.name} (pid ${tracked.pid}) ignored SIGTERM for ${graceMs} ms: SIGKILL`);
        for (const pid of [tracked.pid, ...family]) signalPid(pid, 'SIGKILL');
      }
    }
    const exit = await tracked.exited;
    await this.reap(family);
    return exit;
  }

  /** Waits for descendants to vanish; kills any that still run after the grace period. */
  async reap(pids: readonly number[], graceMs = 5_000): Promise<void> {
    for (const pid of pids) {
      if (!(await waitForPidGone(pid, graceMs)) && (await isAlive(pid))) {
        this.warn(`pid ${pid} (${(await commOf(pid)) ?? '?'}) still runs after its parent stopped: SIGKILL`);
        signalPid(pid, 'SIGKILL');
      }
      if (!(await waitForPidGone(pid, 15_000)))
        this.warn(`pid ${pid} is still in /proc (a zombie not yet reaped)`);
      this.adopted.delete(pid);
    }
  }

  /** Stops everything still running, in parallel; used on failure and on signals. */
  async stopAll(graceMs = 3_000): Promise<void> {
    const live = [...this.live];
    await Promise.all(live.map((t) => this.stop(t, graceMs).catch(() => undefined)));
    await this.reap([...this.adopted], 1_000);
  }

  /** Last resort on process exit (synchronous): SIGKILL whatever is left. */
  killAllSync(): void {
    for (const t of this.live) if (!t.exit) signalPid(t.pid, 'SIGKILL');
    for (const pid of this.adopted) signalPid(pid, 'SIGKILL');
  }

  get running(): number {
    return this.live.size;
  }
}
