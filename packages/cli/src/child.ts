/** Child processes: exit statuses as a shell reports them, signal forwarding, stopping by PID. */
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

/** How a child ended: its code, or 128+N for signal N; `error` when it could not start. */
export interface ChildEnd {
  readonly status: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: NodeJS.ErrnoException;
}

export function statusOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? constants.signals[signal] : undefined;
  return 128 + (n ?? 1);
}

/** Resolves once, when the child exits or fails to start. */
export function childEnd(child: ChildProcess): Promise<ChildEnd> {
  return new Promise((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      // 'error' without a PID: spawn failed, no 'exit' follows.
      if (child.pid === undefined) resolve({ status: 127, code: null, signal: null, error });
    });
    child.once('exit', (code, signal) => resolve({ status: statusOf(code, signal), code, signal }));
  });
}

export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Installs handlers for SIGINT/SIGTERM/SIGHUP (so they no longer kill this process); returns the uninstaller. */
export function onSignals(handler: (signal: NodeJS.Signals) => void): () => void {
  const listeners = FORWARDED_SIGNALS.map((signal) => {
    const listener = (): void => handler(signal);
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) process.off(signal, listener);
  };
}

export function sendSignal(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the PID, SIGKILL after `graceMs`; resolves when the child has ended. */
export async function stopChild(
  pid: number | undefined,
  ended: Promise<ChildEnd>,
  graceMs = 5_000,
): Promise<ChildEnd> {
  sendSignal(pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), graceMs);
  });
  const end = await Promise.race([ended, late]);
  clearTimeout(timer);
  if (end) return end;
  sendSignal(pid, 'SIGKILL');
  return ended;
}
