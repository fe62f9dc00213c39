/**
 * CRIU's own statistics: `stats-restore` and `stats-dump`, which CRIU writes into its work
 * directory (the image directory here). Format: two 4-byte magics, a 4-byte little-endian length,
 * then a protobuf StatsEntry { dump = 1, restore = 2 } (criu/images/stats.proto; times in us).
 * Read with a few lines of protobuf decoding rather than a dependency on crit.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CriuDumpStats, CriuRestoreStats } from './model.js';

/** Decodes a protobuf message into field number -> last value (varints as numbers, bytes as buffers). */
export function decodeFields(buf: Uint8Array): Map<number, number | Uint8Array> {
  const fields = new Map<number, number | Uint8Array>();
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new RangeError('truncated varint');
      const byte = buf[pos++]!;
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new RangeError('varint too long');
  };
  while (pos < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) fields.set(field, varint());
    else if (wire === 2) {
      const len = varint();
      if (pos + len > buf.length) throw new RangeError('truncated field');
      fields.set(field, buf.subarray(pos, pos + len));
      pos += len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new RangeError(`unsupported wire type ${wire}`);
  }
  return fields;
}

/** The StatsEntry sub-message (1 = dump, 2 = restore) of a stats file's bytes. */
export function statsEntry(file: Uint8Array, which: 1 | 2): Map<number, number | Uint8Array> | undefined {
  if (file.length < 12) return undefined;
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const len = view.getUint32(8, true);
  if (12 + len > file.length) return undefined;
  const entry = decodeFields(file.subarray(12, 12 + len)).get(which);
  return entry instanceof Uint8Array ? decodeFields(entry) : undefined;
}

const num = (m: Map<number, number | Uint8Array>, f: number): number | undefined => {
  const v = m.get(f);
  return typeof v === 'number' ? v : undefined;
};
const ms = (us: number | undefined): number | undefined => (us === undefined ? undefined : us / 1000);

export function parseRestoreStats(file: Uint8Array): CriuRestoreStats | undefined {
  const e = statsEntry(file, 2);
  if (!e) return undefined;
  return {
    pagesCompared: num(e, 1),
    pagesSkippedCow: num(e, 2),
    forkingTimeMs: ms(num(e, 3)),
    restoreTimeMs: ms(num(e, 4)),
    pagesRestored: num(e, 5),
  };
}

export function parseDumpStats(file: Uint8Array): CriuDumpStats | undefined {
  const e = statsEntry(file, 1);
  if (!e) return undefined;
  return {
    freezingTimeMs: ms(num(e, 1)),
    frozenTimeMs: ms(num(e, 2)),
    memdumpTimeMs: ms(num(e, 3)),
    memwriteTimeMs: ms(num(e, 4)),
    pagesScanned: num(e, 5),
    pagesWritten: num(e, 7),
  };
}

export async function readRestoreStats(imageDir: string): Promise<CriuRestoreStats | undefined> {
  const bytes = await readFile(join(imageDir, 'stats-restore')).catch(() => undefined);
  return bytes ? parseRestoreStats(bytes) : undefined;
}

export async function readDumpStats(imageDir: string): Promise<CriuDumpStats | undefined> {
  const bytes = await readFile(join(imageDir, 'stats-dump')).catch(() => undefined);
  return bytes ? parseDumpStats(bytes) : undefined;
}

/** CRIU stamps log lines with seconds since its start: "(00.081329) Restore finished successfully". */
export function criuMsFromLog(log: string): number | undefined {
  const m = /^\((\d+)\.(\d+)\) Restore finished successfully/m.exec(log);
  return m ? Number(m[1]) * 1000 + Number(`0.${m[2]}`) * 1000 : undefined;
}

/** The value of one variable in /proc/PID/environ's NUL-separated text. */
export function environValue(environ: string, name: string): string | undefined {
  for (const entry of environ.split('\0'))
    if (entry.startsWith(`${name}=`)) return entry.slice(name.length + 1);
  return undefined;
}

/**
 * CRIU's facts about the restore of a running server: `stats-restore` and the time CRIU logged.
 * @defrost/core runs `criu restore --work-dir` in a private directory that lives as long as the copy;
 * the reaper that replaced criu as the copy's PID 1 (the server's parent) still carries its path
 * in DEFROST_WORK. Older layouts wrote the stats into the image directory.
 */
export async function readRestoreFacts(
  serverPid: number,
  imageDir: string,
): Promise<CriuRestoreStats | undefined> {
  const stat = await readFile(`/proc/${serverPid}/stat`, 'utf8').catch(() => '');
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  const environ = ppid > 0 ? await readFile(`/proc/${ppid}/environ`, 'utf8').catch(() => '') : '';
  const dirs = [environValue(environ, 'DEFROST_WORK'), imageDir].filter((d): d is string => Boolean(d));
  for (const dir of dirs) {
    const stats = await readRestoreStats(dir);
    if (!stats) continue;
    const log = await readFile(join(dir, 'restore.log'), 'utf8').catch(() => '');
    const criuMs = criuMsFromLog(log);
    return { ...stats, ...(criuMs !== undefined ? { criuMs } : {}) };
  }
  return undefined;
}
