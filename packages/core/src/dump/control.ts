import { readSync, writeSync } from 'node:fs';
import { RestoreError } from '../errors.js';
import { parseJsonLine } from '../lines.js';

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

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown, max = Number.MAX_SAFE_INTEGER): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max;
/** What the environment can hold: a name without `=` or NUL, a value without NUL. */
const isEnv = (v: unknown): v is Record<string, string> =>
  isObject(v) &&
  Object.entries(v).every(([k, s]) => /^[^=\0]+$/.test(k) && typeof s === 'string' && !s.includes('\0'));

/**
 * The settings are written by defrost's own restorer (packages/core/src/restore/launcher.ts or the
 * native launcher), but read from a descriptor by a copy that must not crash on whatever is there:
 * anything unexpected is a RestoreError of step 'settings' (fuzzed in test/unit/fuzz-control.test.ts).
 */
function badSettings(problem: string, cause?: unknown): RestoreError {
  return new RestoreError(`the restore-time settings ${problem}`, {
    step: 'settings',
    hint: 'restore the image with `defrost restore` (or restore() of @defrost/core), which writes them',
    ...(cause !== undefined ? { cause } : {}),
  });
}

export function parseRestoreSettings(text: string): RestoreSettings {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badSettings(`are not JSON: ${(error as Error).message}`, error);
  }
  if (!isObject(value)) throw badSettings('are not a JSON object');
  const { restoreId, startedAtEpochMs, port } = value;
  const env = value.env ?? {};
  const copy = value.copy ?? 0;
  if (
    typeof restoreId !== 'string' ||
    typeof startedAtEpochMs !== 'number' ||
    !Number.isFinite(startedAtEpochMs)
  ) {
    throw badSettings('lack restoreId/startedAtEpochMs');
  }
  if (!isEnv(env)) throw badSettings('hold an env that is not an object of variables (strings)');
  if (!isCount(copy)) throw badSettings('hold a copy index that is not a whole number');
  if (port !== undefined && !isCount(port, 65535)) throw badSettings('hold a port that is not one (0-65535)');
  return { restoreId, startedAtEpochMs, env, copy, ...(port !== undefined ? { port } : {}) };
}

/** Reads the settings file the restorer handed over (positional reads: the offset is the restorer's). */
export function readRestoreSettings(fd: number): RestoreSettings {
  const buffer = Buffer.alloc(MAX_SETTINGS_BYTES);
  let length = 0;
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buffer, length, buffer.length - length, length);
    } catch (error) {
      throw badSettings(`cannot be read from descriptor ${fd}: ${(error as Error).message}`, error);
    }
    if (n === 0) break;
    length += n;
    if (length === buffer.length) throw badSettings('exceed 1 MiB');
  }
  return parseRestoreSettings(buffer.subarray(0, length).toString('utf8'));
}

export function sendControlEvent(fd: number, event: ControlEvent): void {
  writeSync(fd, `${JSON.stringify(event)}\n`);
}

/** An event of ours, with the fields the restorer reads; anything else is noise. */
function asControlEvent(value: unknown): ControlEvent | undefined {
  if (!isObject(value)) return undefined;
  const { pid, hooksMs } = value;
  const finite = typeof hooksMs === 'number' && Number.isFinite(hooksMs) && hooksMs >= 0;
  if (value.event === 'ready' && isCount(pid) && pid > 0 && finite) return { event: 'ready', pid, hooksMs };
  if (value.event === 'failed' && typeof value.message === 'string')
    return { event: 'failed', message: value.message };
  return undefined;
}

/** One line of the control stream as an event; undefined for anything else (noise, not ours). */
export function parseControlEvent(line: string): ControlEvent | undefined {
  return asControlEvent(parseJsonLine(line));
}
