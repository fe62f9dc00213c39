import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** True while a PID exists and is not a zombie (a zombie has exited; only its reaping is pending). */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 3, after the parenthesised command (which may itself contain spaces and parentheses).
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** True while /proc has an entry for the PID at all, zombie included. */
async function exists(pid: number): Promise<boolean> {
  try {
    await readFile(`/proc/${pid}/stat`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits until a PID is gone from /proc entirely (reaped), or at least dead when `allowZombie`.
 * Returns false on timeout. A killed restored process can stay a zombie for 1-2 s here until
 * init reaps it; tests that must leave nothing behind wait for the full disappearance.
 */
export async function waitForPidGone(
  pid: number,
  timeoutMs: number,
  allowZombie = false,
  intervalMs = 10,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(allowZombie ? await isAlive(pid) : await exists(pid))) return true;
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
}

/** Sends a signal, ignoring a process that is already gone. */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the PID is gone from /proc. */
export async function stopPid(pid: number, graceMs = 5_000): Promise<void> {
  if (!signalPid(pid, 'SIGTERM')) return;
  if (await waitForPidGone(pid, graceMs, true)) {
    await waitForPidGone(pid, 10_000);
    return;
  }
  signalPid(pid, 'SIGKILL');
  await waitForPidGone(pid, 10_000);
}
