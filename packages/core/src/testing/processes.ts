import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { CriuService } from '../criu/service.js';
import { spawnFreezable, spawnWithoutIoUring } from '../launch/freezable.js';
import { parseJsonLine } from '../lines.js';
import { stopPid, waitForPidGone } from '../process/pid.js';

/** A child process whose stdout lines are JSON events (non-JSON lines are kept as text). */
export interface Spawned {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly lines: string[];
  readonly stderr: () => string;
  /** Resolves with the first event matching `predicate` (already seen ones included). */
  waitFor(
    predicate: (event: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started = new Set<number>();
const services = new Set<CriuService>();

function parse(line: string): Record<string, unknown> | undefined {
  const value = parseJsonLine(line);
  return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
}

/**
 * How a test starts a process: as defrost starts the apps it freezes (spawnFreezable), under the
 * io_uring filter but with no criu service, or plainly (a restorer: CRIU must not run under an
 * app's filter).
 */
export type TestLaunch = 'freezable' | 'filter-only' | 'plain';

/** Starts a process tracked for cleanup (see TestLaunch). */
export async function spawnTracked(
  command: string,
  args: string[],
  env: Record<string, string | undefined> = {},
  o: { readonly launch?: TestLaunch } = {},
): Promise<Spawned> {
  const options = {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'],
    // Own session: CRIU then dumps a tree that is not part of the test runner's job.
    detached: true,
  };
  let child: ChildProcess;
  if (o.launch === 'plain') {
    child = spawn(command, args, options);
  } else if (o.launch === 'filter-only') {
    ({ child } = await spawnWithoutIoUring([command, ...args], options));
  } else {
    const app = await spawnFreezable([command, ...args], options);
    services.add(app.criu);
    child = app.child;
  }
  if (!child.pid) throw new Error(`could not spawn ${command}`);
  started.add(child.pid);
  const lines: string[] = [];
  let stderr = '';
  const waiters: {
    predicate: (e: Record<string, unknown>) => boolean;
    resolve: (e: Record<string, unknown>) => void;
  }[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    const event = parse(line);
    if (!event) return;
    for (const waiter of [...waiters]) {
      if (waiter.predicate(event)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(event);
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    pid: child.pid,
    lines,
    stderr: () => stderr,
    exited,
    waitFor(predicate, timeoutMs = 30_000) {
      const seen = lines.map(parse).find((e) => e && predicate(e));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`timed out waiting for an event; stdout:\n${lines.join('\n')}\nstderr:\n${stderr}`),
            ),
          timeoutMs,
        );
        exited.then(({ code, signal }) => {
          setTimeout(
            () =>
              reject(
                new Error(
                  `process exited (${code ?? signal}) before the event; stdout:\n${lines.join('\n')}\nstderr:\n${stderr}`,
                ),
              ),
            50,
          );
        });
        waiters.push({
          predicate,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
  };
}

/** Registers a PID started indirectly (e.g. a restored server) so cleanup stops it too. */
export function track(pid: number): void {
  started.add(pid);
}

/** Stops every process the tests started, by PID, and waits until each is gone. */
export async function stopAllStarted(): Promise<void> {
  await Promise.all([...started].map((pid) => stopPid(pid, 3_000)));
  await Promise.all([...started].map((pid) => waitForPidGone(pid, 10_000)));
  started.clear();
  await Promise.all([...services].map((service) => service.stop()));
  services.clear();
}
