import { closeSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { loadLibc } from './libc.js';

const O_APPEND = 0o2000;
const O_ACCMODE = 0o3;

/**
 * Points an open write descriptor at the same file again, opened with O_APPEND, under the same
 * number. CRIU records the size of files open for plain writing and refuses to restore them once
 * they have grown; append-only descriptors carry no such check. Only right for files that are
 * only ever appended to (logs, V8's perf maps): pwrite() on an O_APPEND descriptor appends.
 */
export function reopenInAppendMode(fd: number): void {
  const path = readlinkSync(`/proc/self/fd/${fd}`);
  const appendFd = openSync(path, 'a');
  try {
    if (loadLibc().dup2(appendFd, fd) < 0) throw new Error(`dup2 onto fd ${fd} (${path}) failed`);
  } finally {
    closeSync(appendFd);
  }
}

/** Regular files this process has open for writing without O_APPEND: fd and path. */
export function writableNonAppendFiles(): { fd: number; path: string }[] {
  const found: { fd: number; path: string }[] = [];
  for (const name of readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    let path: string;
    let flags: number;
    try {
      path = readlinkSync(`/proc/self/fd/${fd}`);
      flags = Number.parseInt(
        /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '0',
        8,
      );
    } catch {
      continue; // closed meanwhile (or the directory handle readdirSync itself used)
    }
    if (!path.startsWith('/') || (flags & O_ACCMODE) === 0 || (flags & O_APPEND) !== 0) continue;
    found.push({ fd, path });
  }
  return found;
}
