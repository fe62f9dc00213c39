/**
 * Reads the /proc files of one process into a snapshot that `classifySnapshot` understands.
 *
 * The descriptor table is read synchronously on purpose: /proc lives in memory, a few hundred
 * descriptors take well under a millisecond, and no other JavaScript (a logger, a timer) can open
 * or close descriptors between the listing and the readlinks. The descriptor that `readdir` itself
 * used is closed by the time it is read back and is skipped (ENOENT).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, type Stats, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';
import { loadLibc } from '../native/libc.js';
import type { ChildEntry, FdEntry, FileType, ProcSnapshot } from './classify.js';
import {
  type InetFamily,
  type InetSocket,
  parseChildren,
  parseCmdline,
  parseEnviron,
  parseFdinfo,
  parseInetTable,
  parseProcStat,
  parseSsUnix,
  parseUnixTable,
  SS_CONNECTED,
  SS_CONNECTING,
  type UnixSocket,
} from './parse.js';

export interface ReadSnapshotOptions {
  procRoot: string;
  pid: number | 'self';
  /**
   * Resolves peers of connected unix sockets (inode -> peer inode, 0 when the peer is gone).
   * Default: `ss -xanH` (sock_diag) when reading the real /proc, nothing otherwise.
   */
  resolveUnixPeers?: () => Promise<Map<number, number> | undefined>;
}

const MAX_DESCENDANTS = 256;

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function fileType(s: Stats): FileType {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'directory';
  if (s.isCharacterDevice()) return 'char';
  if (s.isBlockDevice()) return 'block';
  if (s.isFIFO()) return 'fifo';
  if (s.isSocket()) return 'socket';
  if (s.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** readlink of every entry of a /proc/PID/fd directory; entries that vanish meanwhile are skipped. */
function readFdLinks(fdDir: string): [number, string][] {
  const names = readdirSync(fdDir);
  const links: [number, string][] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      links.push([Number(name), readlinkSync(join(fdDir, name))]);
    } catch (error) {
      if (errnoOf(error) !== 'ENOENT') throw error;
    }
  }
  return links.sort((a, b) => a[0] - b[0]);
}

function readFds(base: string): FdEntry[] {
  const fdDir = join(base, 'fd');
  let links: [number, string][];
  try {
    links = readFdLinks(fdDir);
  } catch (error) {
    throw new CheckpointError(`cannot list open descriptors in ${fdDir}: ${(error as Error).message}`, {
      step: 'audit',
      cause: error,
      hint:
        errnoOf(error) === 'EACCES'
          ? 'audit a process of the same user (or run as root)'
          : 'the audit needs a mounted /proc (Linux)',
    });
  }
  const entries: FdEntry[] = [];
  for (const [fd, link] of links) {
    const entry: FdEntry = { fd, link };
    const info = readText(join(base, 'fdinfo', String(fd)));
    if (info !== undefined) entry.fdinfo = parseFdinfo(info);
    if (link.startsWith('/')) {
      try {
        const s = statSync(join(fdDir, String(fd)));
        entry.stat = { type: fileType(s), size: s.size };
      } catch {
        // dangling (e.g. in a fake tree) or closed meanwhile: classify by name
      }
    }
    entries.push(entry);
  }
  return entries;
}

/**
 * The socket tables of the process's network namespace. Read in parallel: with a large TCP hash
 * (262144 buckets here) each of tcp and tcp6 costs the kernel ~5 ms to walk.
 */
async function readNet(base: string): Promise<{ inet: InetSocket[]; unix: UnixSocket[] }> {
  const littleEndian = endianness() === 'LE';
  const read = (file: string): Promise<string> => readFile(join(base, 'net', file), 'utf8').catch(() => '');
  const families: [string, InetFamily][] = [
    ['tcp', 'tcp4'],
    ['tcp6', 'tcp6'],
    ['udp', 'udp4'],
    ['udp6', 'udp6'],
  ];
  const [unixText, ...inetTexts] = await Promise.all([read('unix'), ...families.map(([file]) => read(file))]);
  const inet = families.flatMap(([, family], i) => parseInetTable(inetTexts[i] ?? '', family, littleEndian));
  return { inet, unix: parseUnixTable(unixText ?? '') };
}

/**
 * Children of a process from task/<tid>/children (CONFIG_PROC_CHILDREN); on kernels without it,
 * by scanning every /proc/<pid>/stat for the parent PID.
 */
function childPidsOf(procRoot: string, pidPath: string): number[] {
  const taskDir = join(procRoot, pidPath, 'task');
  let tasks: string[];
  try {
    tasks = readdirSync(taskDir);
  } catch {
    return [];
  }
  const pids = new Set<number>();
  let readable = false;
  for (const tid of tasks) {
    const text = readText(join(taskDir, tid, 'children'));
    if (text === undefined) continue;
    readable = true;
    for (const pid of parseChildren(text)) pids.add(pid);
  }
  if (!readable && tasks.length > 0) {
    const parent = parseProcStat(readText(join(procRoot, pidPath, 'stat')) ?? '')?.pid;
    if (parent !== undefined) for (const pid of scanChildren(procRoot, parent)) pids.add(pid);
  }
  return [...pids];
}

function scanChildren(procRoot: string, parent: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return [];
  }
  return entries
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => parseProcStat(readText(join(procRoot, name, 'stat')) ?? '')?.ppid === parent)
    .map(Number);
}

function readDescendants(procRoot: string, pidPath: string): ChildEntry[] {
  const out: ChildEntry[] = [];
  const seen = new Set<number>();
  const queue = childPidsOf(procRoot, pidPath);
  while (queue.length > 0 && out.length < MAX_DESCENDANTS) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const base = join(procRoot, String(pid));
    const stat = parseProcStat(readText(join(base, 'stat')) ?? '');
    if (!stat) continue; // gone meanwhile
    let links: string[] = [];
    try {
      links = readFdLinks(join(base, 'fd'))
        .map(([, l]) => l)
        .filter((l) => l.startsWith('socket:') || l.startsWith('pipe:'));
    } catch {
      // a zombie has no descriptors; another user's process cannot be read: the child is reported anyway
    }
    out.push({
      pid,
      ppid: stat.ppid,
      cmdline: parseCmdline(readText(join(base, 'cmdline')) ?? ''),
      comm: stat.comm,
      state: stat.state,
      links,
    });
    queue.push(...childPidsOf(procRoot, String(pid)));
  }
  return out;
}

/** Peers of unix sockets through sock_diag, as `ss` shows them; undefined when `ss` is not there. */
export function ssUnixPeers(timeoutMs = 5000): Promise<Map<number, number> | undefined> {
  return new Promise((resolve) => {
    execFile(
      'ss',
      ['-x', '-a', '-n', '-H'],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
      (error, stdout) => resolve(error ? undefined : parseSsUnix(stdout)),
    );
  });
}

/** The socket a descriptor of this process refers to now (undefined: closed). */
function currentLink(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/**
 * Sockets of this process that no /proc/net table lists (a TCP socket being closed is unhashed
 * from /proc/net/tcp before the app releases its descriptor) are asked what they are, so that the
 * audit can tell a closing connection from a socket it does not know. False when one of them was
 * released meanwhile (the socket tables are read asynchronously, and the app's event loop runs):
 * the snapshot is out of date. pg's pool.end() resolves before its sockets are released, which
 * then happens in exactly that window.
 */
function describeUnlistedSockets(
  fds: FdEntry[],
  inet: readonly { inode: number }[],
  unix: readonly { inode: number }[],
): boolean {
  const listed = new Set([...inet, ...unix].map((s) => s.inode));
  for (const entry of fds) {
    const inode = /^socket:\[(\d+)\]$/.exec(entry.link)?.[1];
    if (inode === undefined || listed.has(Number(inode))) continue;
    if (currentLink(entry.fd) !== entry.link) return false;
    const facts = loadLibc().socketFacts(entry.fd);
    if (facts) entry.socket = facts;
  }
  return true;
}

/** Snapshots taken at most when sockets keep being released while one is read. */
const SNAPSHOT_ATTEMPTS = 5;

/** The descriptors and the socket tables, read again while sockets go away in between. */
async function readDescriptorsAndSockets(
  base: string,
  self: boolean,
): Promise<{ fds: FdEntry[]; inet: InetSocket[]; unix: UnixSocket[] }> {
  for (let attempt = 1; ; attempt++) {
    // descriptors first: nothing the audit does below opens a descriptor that could be listed
    const fds = readFds(base);
    const hasSockets = fds.some((e) => e.link.startsWith('socket:'));
    const { inet, unix } = hasSockets ? await readNet(base) : { inet: [], unix: [] };
    if (!self || describeUnlistedSockets(fds, inet, unix) || attempt >= SNAPSHOT_ATTEMPTS)
      return { fds, inet, unix };
  }
}

export async function readProcSnapshot(options: ReadSnapshotOptions): Promise<ProcSnapshot> {
  const { procRoot } = options;
  const pidPath = options.pid === 'self' ? 'self' : String(options.pid);
  const base = join(procRoot, pidPath);
  const self = options.pid === 'self' && procRoot === '/proc';
  const { fds, inet, unix } = await readDescriptorsAndSockets(base, self);
  const ownStat = parseProcStat(readText(join(base, 'stat')) ?? '');
  const pid =
    ownStat?.pid ?? (options.pid === 'self' ? (procRoot === '/proc' ? process.pid : undefined) : options.pid);
  // children before `ss` runs, so that ss itself is never listed as a child
  const children = readDescendants(procRoot, pidPath);

  const unixInodes = new Map(unix.map((s) => [s.inode, s]));
  const needsPeers = fds.some((e) => {
    const m = /^socket:\[(\d+)\]$/.exec(e.link);
    const s = m ? unixInodes.get(Number(m[1])) : undefined;
    return s !== undefined && !s.listening && (s.state === SS_CONNECTED || s.state === SS_CONNECTING);
  });
  let unixPeers: Map<number, number> | undefined;
  if (needsPeers) {
    const resolve = options.resolveUnixPeers ?? (procRoot === '/proc' ? () => ssUnixPeers() : undefined);
    unixPeers = resolve ? await resolve() : undefined;
  }

  return {
    pid,
    fds,
    inet,
    unix,
    unixPeers,
    children,
    environ: parseEnviron(readText(join(base, 'environ')) ?? ''),
    cmdline: parseCmdline(readText(join(base, 'cmdline')) ?? ''),
    ...(self ? { runtime: { node: process.version, uv: process.versions.uv } } : {}),
  };
}
