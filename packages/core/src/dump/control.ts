import { readSync, writeSync } from 'node:fs';

/** What the restorer tells a restored copy, through the control-in descriptor. */
export interface RestoreSettings {
  /** Unique per restore; distinguishes copies of one image. */
  readonly restoreId: string;
  /** Wall-clock time (ms since epoch) at which the restorer started the restore. */
  readonly startedAtEpochMs: number;
  /** Environment variables to apply before afterRestore hooks run (secrets, PORT, ...). */
  readonly env: Readonly<Record<string, string>>;
  /** Port the server should listen on after restore, when it differs from the frozen one. */
  readonly port?: number;
  /** Index of this copy when several are restored at once. */
  readonly copy: number;
}

/** What a restored copy tells the restorer, one JSON line each, through control-out. */
export type ControlEvent =
  | { readonly event: 'ready'; readonly pid: number; readonly hooksMs: number }
  | { readonly event: 'failed'; readonly message: string };

const MAX_SETTINGS_BYTES = 1 << 20;

export function parseRestoreSettings(text: string): RestoreSettings {
  const value = JSON.parse(text) as Partial<RestoreSettings>;
  if (typeof value.restoreId !== 'string' || typeof value.startedAtEpochMs !== 'number') {
    throw new Error('restore settings lack restoreId/startedAtEpochMs');
  }
  return {
    restoreId: value.restoreId,
    startedAtEpochMs: value.startedAtEpochMs,
    env: value.env ?? {},
    copy: value.copy ?? 0,
    ...(value.port !== undefined ? { port: value.port } : {}),
  };
}

/** Reads the settings file the restorer handed over (positional reads: the offset is the restorer's). */
export function readRestoreSettings(fd: number): RestoreSettings {
  const buffer = Buffer.alloc(MAX_SETTINGS_BYTES);
  let length = 0;
  for (;;) {
    const n = readSync(fd, buffer, length, buffer.length - length, length);
    if (n === 0) break;
    length += n;
    if (length === buffer.length) throw new Error('restore settings exceed 1 MiB');
  }
  return parseRestoreSettings(buffer.subarray(0, length).toString('utf8'));
}

export function sendControlEvent(fd: number, event: ControlEvent): void {
  writeSync(fd, `${JSON.stringify(event)}\n`);
}

/** Splits a control stream into events; tolerant of partial lines and noise. */
export function parseControlEvents(chunk: string): ControlEvent[] {
  const events: ControlEvent[] = [];
  for (const line of chunk.split('\n')) {
    if (!line.trim()) continue;
    try {
      const value = JSON.parse(line) as ControlEvent;
      if (value && (value.event === 'ready' || value.event === 'failed')) events.push(value);
    } catch {
      // not ours
    }
  }
  return events;
}
