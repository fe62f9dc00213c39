/**
 * Pure parsers for the /proc files the audit reads. No I/O here: unit tests feed them text.
 */

/** open(2) flags as /proc/PID/fdinfo/N prints them (octal). */
export const O_ACCMODE = 0o3;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_APPEND = 0o2000;
export const O_PATH = 0o10000000;

export interface Fdinfo {
  /** open(2) flags, parsed from octal; undefined when the line is missing. */
  flags: number | undefined;
  pos: number | undefined;
  /** Every "key: value" line, first occurrence wins (multi-valued lines are counted below). */
  fields: Record<string, string>;
  /** `tfd:` lines of an epoll instance (descriptors it watches). */
  epollTargets: number[];
  /** `inotify wd:` lines of an inotify instance (one per watch). */
  inotifyWatches: number;
  /** `fanotify ...` mark lines. */
  fanotifyMarks: number;
}

export function parseFdinfo(text: string): Fdinfo {
  const fields: Record<string, string> = {};
  const epollTargets: number[] = [];
  let inotifyWatches = 0;
  let fanotifyMarks = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('inotify wd:')) {
      inotifyWatches++;
      continue;
    }
    if (line.startsWith('fanotify ')) {
      fanotifyMarks++;
      continue;
    }
    const tfd = /^tfd:\s*(\d+)/.exec(line);
    if (tfd) {
      epollTargets.push(Number(tfd[1]));
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim();
    if (!(key in fields)) fields[key] = line.slice(colon + 1).trim();
  }
  const flags =
    fields.flags !== undefined && /^[0-7]+$/.test(fields.flags)
      ? Number.parseInt(fields.flags, 8)
      : undefined;
  const pos = fields.pos !== undefined && /^\d+$/.test(fields.pos) ? Number(fields.pos) : undefined;
  return { flags, pos, fields, epollTargets, inotifyWatches, fanotifyMarks };
}

/** True when the descriptor was opened for writing (O_WRONLY or O_RDWR). */
export function isWritable(flags: number): boolean {
  return (flags & O_PATH) === 0 && (flags & O_ACCMODE) !== 0;
}

export function isAppend(flags: number): boolean {
  return (flags & O_APPEND) !== 0;
}

/** "O_WRONLY|O_APPEND|O_CLOEXEC"-style rendering of the flags that matter to the audit. */
export function describeFlags(flags: number): string {
  const parts = [
    (flags & O_PATH) !== 0 ? 'O_PATH' : ['O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_ACCMODE'][flags & O_ACCMODE]!,
  ];
  if (isAppend(flags)) parts.push('O_APPEND');
  return parts.join('|');
}

// ---------------------------------------------------------------------------------------------
// /proc/net/{tcp,tcp6,udp,udp6}

export type InetFamily = 'tcp4' | 'tcp6' | 'udp4' | 'udp6';

export interface InetSocket {
  family: InetFamily;
  inode: number;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** Kernel socket state (TCP_ESTABLISHED = 1 ... TCP_LISTEN = 10). */
  state: number;
}

export const TCP_ESTABLISHED = 0x01;
export const TCP_CLOSE = 0x07;
export const TCP_LISTEN = 0x0a;

const TCP_STATES: Record<number, string> = {
  1: 'ESTABLISHED',
  2: 'SYN_SENT',
  3: 'SYN_RECV',
  4: 'FIN_WAIT1',
  5: 'FIN_WAIT2',
  6: 'TIME_WAIT',
  7: 'CLOSE',
  8: 'CLOSE_WAIT',
  9: 'LAST_ACK',
  10: 'LISTEN',
  11: 'CLOSING',
  12: 'NEW_SYN_RECV',
};

export function tcpStateName(state: number): string {
  return TCP_STATES[state] ?? `state 0x${state.toString(16).padStart(2, '0')}`;
}

function hexBytes(hex: string): number[] {
  const bytes: number[] = [];
  for (let i = 0; i + 1 < hex.length; i += 2) bytes.push(Number.parseInt(hex.slice(i, i + 2), 16));
  return bytes;
}

/**
 * The kernel prints an IPv4 address as one 32-bit word in host byte order:
 * "0100007F" is 127.0.0.1 on little-endian machines.
 */
export function decodeHexIPv4(hex: string, littleEndian = true): string {
  if (!/^[0-9a-fA-F]{8}$/.test(hex)) throw new Error(`not an IPv4 address in /proc format: ${hex}`);
  const bytes = hexBytes(hex);
  return (littleEndian ? bytes.reverse() : bytes).join('.');
}

/**
 * The kernel prints an IPv6 address as four 32-bit words, each in host byte order:
 * "00000000000000000000000001000000" is ::1 on little-endian machines.
 */
export function decodeHexIPv6(hex: string, littleEndian = true): string {
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not an IPv6 address in /proc format: ${hex}`);
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hexBytes(hex.slice(w * 8, w * 8 + 8));
    bytes.push(...(littleEndian ? word.reverse() : word));
  }
  return formatIPv6(bytes);
}

/** RFC 5952 text form of 16 bytes; IPv4-mapped addresses as ::ffff:a.b.c.d. */
export function formatIPv6(bytes: readonly number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.slice(12, 16).join('.')}`;
  }
  // longest run of zero groups (at least 2) becomes "::"; the first one wins on ties
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hexGroups = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hexGroups.join(':');
  const head = hexGroups.slice(0, bestStart).join(':');
  const tail = hexGroups.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

/** "127.0.0.1:3000", "[::1]:3000". */
export function formatEndpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function decodeEndpoint(field: string, v6: boolean, littleEndian: boolean): [string, number] | undefined {
  const colon = field.indexOf(':');
  if (colon < 0) return undefined;
  const hexAddr = field.slice(0, colon);
  const port = Number.parseInt(field.slice(colon + 1), 16);
  if (Number.isNaN(port)) return undefined;
  try {
    return [v6 ? decodeHexIPv6(hexAddr, littleEndian) : decodeHexIPv4(hexAddr, littleEndian), port];
  } catch {
    return undefined;
  }
}

/**
 * Parses /proc/net/tcp, tcp6, udp or udp6:
 * `   0: 0100007F:AE81 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21588 1 ...`
 * (sl, local, remote, st, tx:rx queues, tr:when, retrnsmt, uid, timeout, inode, ...). Lines that
 * do not parse are skipped; TIME_WAIT entries (inode 0, owned by no descriptor) are kept.
 */
export function parseInetTable(text: string, family: InetFamily, littleEndian = true): InetSocket[] {
  const v6 = family.endsWith('6');
  const out: InetSocket[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim().split(/\s+/);
    if (t.length < 10 || !/^\d+:$/.test(t[0]!)) continue;
    const local = decodeEndpoint(t[1]!, v6, littleEndian);
    const remote = decodeEndpoint(t[2]!, v6, littleEndian);
    const state = Number.parseInt(t[3]!, 16);
    const inode = Number(t[9]);
    if (!local || !remote || Number.isNaN(state) || !Number.isInteger(inode)) continue;
    out.push({
      family,
      inode,
      localAddress: local[0],
      localPort: local[1],
      remoteAddress: remote[0],
      remotePort: remote[1],
      state,
    });
  }
  return out;
}

export function isWildcardAddress(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

export function isLoopbackAddress(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

// ---------------------------------------------------------------------------------------------
// /proc/net/unix and `ss -x`

export const SO_ACCEPTCON = 0x10000;
export const SS_UNCONNECTED = 1;
export const SS_CONNECTING = 2;
export const SS_CONNECTED = 3;

export interface UnixSocket {
  inode: number;
  /** The socket is listening (__SO_ACCEPTCON in Flags). */
  listening: boolean;
  type: 'stream' | 'dgram' | 'seqpacket' | 'other';
  /** SS_UNCONNECTED (1), SS_CONNECTING (2), SS_CONNECTED (3), SS_DISCONNECTING (4). */
  state: number;
  /** Bound path; abstract names start with '@'. Accepted connections carry the listener's path. */
  path?: string;
}

const UNIX_TYPES: Record<number, UnixSocket['type']> = { 1: 'stream', 2: 'dgram', 5: 'seqpacket' };

/**
 * Parses /proc/net/unix:
 * `Num       RefCount Protocol Flags    Type St Inode Path`
 * `000000003c4bc57a: 00000002 00000000 00010000 0001 01 21588 /run/app.sock`
 */
export function parseUnixTable(text: string): UnixSocket[] {
  const out: UnixSocket[] = [];
  for (const line of text.split('\n')) {
    const m =
      /^\s*[0-9a-fA-F]+:\s+[0-9a-fA-F]+\s+[0-9a-fA-F]+\s+([0-9a-fA-F]+)\s+([0-9a-fA-F]+)\s+([0-9a-fA-F]+)\s+(\d+)(?: (.*))?$/.exec(
        line,
      );
    if (!m) continue;
    const flags = Number.parseInt(m[1]!, 16);
    const type = Number.parseInt(m[2]!, 16);
    const entry: UnixSocket = {
      inode: Number(m[4]),
      listening: (flags & SO_ACCEPTCON) !== 0,
      type: UNIX_TYPES[type] ?? 'other',
      state: Number.parseInt(m[3]!, 16),
    };
    const path = m[5]?.trim();
    if (path) entry.path = path;
    out.push(entry);
  }
  return out;
}

/**
 * Parses `ss -x -a -n -H` output into inode -> peer inode (0 when the peer is gone).
 * `u_str ESTAB 0 0 * 23098 * 23099` / `u_str ESTAB 0 0 /run/app.sock 41 * 40`.
 * /proc/net/unix has no peer column; the kernel gives peers only through sock_diag, which ss uses.
 */
export function parseSsUnix(text: string): Map<number, number> {
  const peers = new Map<number, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*u_\w+\s+\S+\s+\d+\s+\d+\s+(.*?)\s+(\d+)\s+(.*?)\s+(\d+)(?:\s+users:.*)?\s*$/.exec(line);
    if (!m) continue;
    peers.set(Number(m[2]), Number(m[4]));
  }
  return peers;
}

// ---------------------------------------------------------------------------------------------
// processes

/** /proc/PID/task/TID/children: space-separated PIDs. */
export function parseChildren(text: string): number[] {
  return text
    .trim()
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}

/** /proc/PID/cmdline: NUL-separated argv. */
export function parseCmdline(text: string): string[] {
  const parts = text.split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

/** /proc/PID/environ: NUL-separated NAME=value. */
export function parseEnviron(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

export interface ProcStat {
  pid: number;
  comm: string;
  /** R, S, D, Z, T, ... */
  state: string;
  ppid: number;
}

/** /proc/PID/stat: "1234 (node) S 1 ...": comm may hold spaces and parentheses, so split at the last ')'. */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const pid = Number(text.slice(0, open).trim());
  if (!Number.isInteger(pid) || rest.length < 2) return undefined;
  return { pid, comm: text.slice(open + 1, close), state: rest[0]!, ppid: Number(rest[1]) };
}
