/**
 * Classification of a process's open resources: a pure function of a snapshot of /proc, so that
 * unit tests can cover every rule without a kernel.
 *
 * The rules come from what CRIU 4.2 does with a Node server: docs/criu-and-node.md and the
 * measurements in ./README.md (io_uring, inotify, UDP, Node's own descriptors).
 */
import { basename } from 'node:path';
import type { SocketFacts } from '../native/libc.js';
import {
  type Fdinfo,
  formatEndpoint,
  type InetSocket,
  isAppend,
  isLoopbackAddress,
  isWildcardAddress,
  isWritable,
  O_ACCMODE,
  SS_CONNECTED,
  SS_CONNECTING,
  TCP_CLOSE,
  TCP_ESTABLISHED,
  TCP_LISTEN,
  tcpStateName,
  type UnixSocket,
} from './parse.js';
import type { AuditFinding, AuditKind } from './types.js';

export type FileType = 'file' | 'directory' | 'char' | 'block' | 'fifo' | 'socket' | 'symlink' | 'other';

export interface FdEntry {
  fd: number;
  /** readlink(/proc/PID/fd/N): a path, `socket:[123]`, `pipe:[123]`, `anon_inode:[eventpoll]`... */
  link: string;
  fdinfo?: Fdinfo;
  /** For this process's sockets missing from /proc/net (getsockopt: domain, type, protocol, TCP state). */
  socket?: SocketFacts;
  /** stat(2) of what the descriptor points at (follows the /proc magic link), when it could be taken. */
  stat?: { type: FileType; size: number };
}

export interface ChildEntry {
  pid: number;
  ppid: number;
  /** argv; empty for kernel threads and processes that are exiting. */
  cmdline: string[];
  comm: string;
  /** /proc/PID/stat state: R, S, D, Z, T... */
  state: string;
  /** The `socket:[N]` / `pipe:[N]` links of its descriptors (to find the other ends of ours). */
  links: string[];
}

export interface ProcSnapshot {
  /** The audited process's PID, when known. */
  pid: number | undefined;
  fds: FdEntry[];
  /** Every row of /proc/PID/net/{tcp,tcp6,udp,udp6} (the whole network namespace). */
  inet: InetSocket[];
  /** Every row of /proc/PID/net/unix (the whole network namespace). */
  unix: UnixSocket[];
  /** unix socket inode -> peer inode (0: peer gone); undefined when peers could not be resolved. */
  unixPeers: Map<number, number> | undefined;
  /** Every descendant process (children, grandchildren...). */
  children: ChildEntry[];
  /** The environment the process was started with (/proc/PID/environ). */
  environ: Record<string, string>;
  /** argv of the process (/proc/PID/cmdline), with node options. */
  cmdline: string[];
  /** Node's and libuv's versions, when the audited process is this one (process.versions). */
  runtime?: { readonly node: string; readonly uv: string } | undefined;
}

/** CRIU copies the contents of deleted files into the image up to --ghost-limit (1 MiB by default). */
export const CRIU_GHOST_LIMIT = 1 << 20;

/** Character devices without state worth saving: reopening them is all a restore needs. */
const STATELESS_DEVICES = new Set(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom']);

export const FIXES = {
  ioUring:
    'start the app through defrost (`defrost checkpoint -- COMMAND`, `defrost run -- COMMAND`): it runs the ' +
    'app under a seccomp filter that makes io_uring_setup fail, and libuv then uses epoll; or switch io_uring ' +
    'off for the whole host (`sysctl kernel.io_uring_disabled=2`). CRIU cannot dump io_uring instances',
  tcpClosing:
    'wait until the client that owned it has released its sockets before the checkpoint (defrost waits up to 2 s ' +
    "for sockets being closed, and for connections this process opened; a pool's end() that resolves before its " +
    "sockets close, like pg's, is covered by that)",
  tcpClientToSelf:
    'close the client side before checkpointing: `await agent.close()` on the undici Agent/Pool ' +
    '(for fetch(), the global dispatcher), `agent.destroy()` for an http.Agent, and call ' +
    '`server.closeAllConnections()`',
  tcpIncoming:
    'call `server.closeAllConnections()` (Fastify: `fastify.server.closeAllConnections()`) in a ' +
    'beforeCheckpoint hook once in-flight requests are done; clients reconnect to the restored copy',
  tcpOutgoing:
    'close the client in a beforeCheckpoint hook and reconnect in afterRestore (undici ' +
    '`await agent.close()`, http.Agent `agent.destroy()`, database pool `end()`); a restored copy cannot ' +
    'resume a TCP connection (CRIU refuses: "Connected TCP socket, consider using --tcp-established")',
  unixIpc:
    'call `process.disconnect()` before checkpointing (a restored copy has no parent on the other end), or ' +
    'start the server without an IPC channel',
  unixIncoming:
    'close the accepted connections in a beforeCheckpoint hook (`server.closeAllConnections()` for an http ' +
    'server on a unix socket); clients reconnect to the restored copy',
  unixOutgoing:
    'close the client in a beforeCheckpoint hook and reconnect in afterRestore; CRIU cannot dump a unix ' +
    'socket whose peer is outside the checkpointed processes (it would need --ext-unix-sk)',
  unixUnknownPeer:
    'make `ss` (iproute2) available so the audit can see the peer, or close the socket before checkpointing',
  udp:
    'close the dgram socket (`socket.close()`) in a beforeCheckpoint hook and bind it again in afterRestore. ' +
    "A restored UDP socket re-binds its exact port, so a second copy (or the original, still running) fails with 'Address already in use'; " +
    "a socket created with `dgram.createSocket({ type, reuseAddr: true })` restores side by side: then set policy udp: 'ignore'",
  writableFile:
    "open the file with flags 'a' (O_APPEND), or close it in a beforeCheckpoint hook and reopen it in afterRestore: " +
    "CRIU records the size of files open for writing and the restore fails ('File ... has bad size') once the file has changed",
  pinoLog:
    "keep pino's destination in append mode (the default; `append: false` breaks restores), or `dest.flushSync(); dest.reopen('/dev/null')` " +
    'before checkpointing and `dest.reopen(file)` after restore',
  perfMap:
    'start the checkpointed node without --perf-basic-prof/--perf-prof: V8 keeps writing the map without O_APPEND, ' +
    'so once a restored copy has written to it the next restore fails',
  deletedFile:
    'close the deleted file before checkpointing, or raise CRIU --ghost-limit: CRIU copies deleted files into the image ' +
    'only up to 1 MiB',
  device:
    'close the device before checkpointing and reopen it after restore; CRIU restores only a few stateless devices faithfully',
  childProcess:
    "stop it before checkpointing (`child.kill()` and await its 'exit') and start it again in afterRestore, or set policy " +
    "childProcess: 'ignore' to freeze it together with the server (CRIU dumps the whole tree; its PID must be free at " +
    'restore, which the PID namespace of `defrost restore` gives)',
  inotify:
    "fs.watch watchers survive a checkpoint (measured), but events while frozen are lost and the watched paths must exist where the image is restored; re-create watchers in afterRestore if that matters, or set policy inotify: 'ignore'",
  unknown:
    'find what opened it (`ls -l /proc/PID/fd/N`, /proc/PID/fdinfo/N) and close it in a beforeCheckpoint hook, ' +
    "or set policy unknown: 'ignore' if you know CRIU restores it",
} as const;

const inodeOf = (link: string, type: 'socket' | 'pipe'): number | undefined => {
  const m = new RegExp(`^${type}:\\[(\\d+)\\]$`).exec(link);
  return m ? Number(m[1]) : undefined;
};

const quoteArg = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

export function describeCommand(child: Pick<ChildEntry, 'cmdline' | 'comm'>): string {
  return child.cmdline.length > 0 ? child.cmdline.map(quoteArg).join(' ') : `[${child.comm}]`;
}

interface Context {
  snapshot: ProcSnapshot;
  inetByInode: Map<number, InetSocket>;
  unixByInode: Map<number, UnixSocket>;
  /** link -> fds of the audited process holding it. */
  ownLinks: Map<string, number[]>;
  /** link -> descendant PIDs holding it. */
  childLinks: Map<string, number[]>;
  listening: InetSocket[];
  /** Paths of our listening unix sockets. */
  listeningUnixPaths: Set<string>;
  ipcFd: number | undefined;
  /** Peer inode of a connected unix socket (0: peer gone), undefined when unknown. */
  unixPeers: (inode: number) => number | undefined;
}

function buildContext(snapshot: ProcSnapshot): Context {
  const inetByInode = new Map<number, InetSocket>();
  for (const s of snapshot.inet) if (s.inode !== 0 && !inetByInode.has(s.inode)) inetByInode.set(s.inode, s);
  const unixByInode = new Map<number, UnixSocket>();
  for (const s of snapshot.unix) if (!unixByInode.has(s.inode)) unixByInode.set(s.inode, s);
  const ownLinks = new Map<string, number[]>();
  for (const e of snapshot.fds) ownLinks.set(e.link, [...(ownLinks.get(e.link) ?? []), e.fd]);
  const childLinks = new Map<string, number[]>();
  for (const c of snapshot.children) {
    for (const link of new Set(c.links)) childLinks.set(link, [...(childLinks.get(link) ?? []), c.pid]);
  }
  const listening: InetSocket[] = [];
  const listeningUnixPaths = new Set<string>();
  for (const e of snapshot.fds) {
    const inode = inodeOf(e.link, 'socket');
    if (inode === undefined) continue;
    const inet = inetByInode.get(inode);
    if (inet?.family.startsWith('tcp') && inet.state === TCP_LISTEN) listening.push(inet);
    const unix = unixByInode.get(inode);
    if (unix?.listening && unix.path) listeningUnixPaths.add(unix.path);
  }
  const ipc = snapshot.environ.NODE_CHANNEL_FD;
  const ipcFd = ipc !== undefined && /^\d+$/.test(ipc) ? Number(ipc) : undefined;
  const unixPeers = (inode: number): number | undefined => snapshot.unixPeers?.get(inode);
  return {
    snapshot,
    inetByInode,
    unixByInode,
    ownLinks,
    childLinks,
    listening,
    listeningUnixPaths,
    ipcFd,
    unixPeers,
  };
}

function childLabel(ctx: Context, pid: number): string {
  const child = ctx.snapshot.children.find((c) => c.pid === pid);
  return child ? `child process ${pid} (${describeCommand(child)})` : `child process ${pid}`;
}

/** How the origin of a connection a client made to one of this process's servers begins. */
const INCOMING_ORIGIN = 'an incoming connection to your server';

/**
 * A connection a client made to one of this process's servers (TCP or unix): the drain's business,
 * not a resource the app holds. Told by the origin classify gives it, here next to where it is said.
 */
export function isIncomingConnection(f: AuditFinding): boolean {
  return f.origin?.startsWith(INCOMING_ORIGIN) ?? false;
}

function finding(
  fd: number,
  kind: AuditKind,
  cls: AuditFinding['class'],
  target: string,
  extra: { fix?: string; origin?: string } = {},
): AuditFinding {
  const f: AuditFinding = { fd, kind, class: cls, target };
  if (extra.fix !== undefined) f.fix = extra.fix;
  if (extra.origin !== undefined) f.origin = extra.origin;
  return f;
}

function listensOn(l: InetSocket, address: string, port: number): boolean {
  if (l.localPort !== port) return false;
  if (l.localAddress === address || isWildcardAddress(l.localAddress)) return true;
  // an IPv6 wildcard listener also takes IPv4-mapped connections
  return address.startsWith('::ffff:') && l.localAddress === address.slice(7);
}

/** TCP states of a connection this process has shut down (sent its FIN) and that goes away by itself. */
const TCP_SHUT_DOWN_STATES = new Set([4, 5, 9, 11]); // FIN_WAIT1, FIN_WAIT2, LAST_ACK, CLOSING

/**
 * A connection of `finding` that this process is closing already (pg's pool.end() resolves while
 * its sockets are still in FIN_WAIT1) is named as closing: the audit gives those a grace period.
 */
function closingIfShutDown(s: InetSocket, f: AuditFinding): AuditFinding {
  if (!TCP_SHUT_DOWN_STATES.has(s.state)) return f;
  return {
    ...f,
    kind: 'tcpClosing',
    origin: `${f.origin}, being closed by this process`,
    fix: FIXES.tcpClosing,
  };
}

function classifyTcp(ctx: Context, e: FdEntry, s: InetSocket): AuditFinding {
  const f = classifyTcpConnection(ctx, e, s);
  return f.kind === 'tcpConnection' ? closingIfShutDown(s, f) : f;
}

function classifyTcpConnection(ctx: Context, e: FdEntry, s: InetSocket): AuditFinding {
  const local = formatEndpoint(s.localAddress, s.localPort);
  if (s.state === TCP_LISTEN) {
    return finding(e.fd, 'tcpListen', 'safe', local, { origin: 'a listening server socket' });
  }
  if (s.state === TCP_CLOSE && s.remotePort === 0) {
    return finding(e.fd, 'tcpSocket', 'safe', `${local} (bound, not connected)`);
  }
  const remote = formatEndpoint(s.remoteAddress, s.remotePort);
  const stateNote = s.state === TCP_ESTABLISHED ? '' : ` [${tcpStateName(s.state)}]`;
  const target = `${local} -> ${remote}${stateNote}`;
  // the other end inside this very process (a client talking to its own server)
  let otherEnd: number | undefined;
  for (const o of ctx.snapshot.fds) {
    const inode = inodeOf(o.link, 'socket');
    const other = inode === undefined ? undefined : ctx.inetByInode.get(inode);
    if (
      other &&
      other !== s &&
      other.localPort === s.remotePort &&
      other.remotePort === s.localPort &&
      other.localAddress === s.remoteAddress &&
      other.remoteAddress === s.localAddress
    ) {
      otherEnd = o.fd;
      break;
    }
  }
  const pair = otherEnd === undefined ? '' : `; its other end is fd ${otherEnd} of this process`;
  if (ctx.listening.some((l) => listensOn(l, s.localAddress, s.localPort))) {
    return finding(e.fd, 'tcpConnection', 'unsafe', target, {
      origin: `${INCOMING_ORIGIN}${pair}`,
      fix: FIXES.tcpIncoming,
    });
  }
  if (ctx.listening.some((l) => listensOn(l, s.remoteAddress, s.remotePort))) {
    return finding(e.fd, 'tcpConnection', 'unsafe', target, {
      origin: `an HTTP client keep-alive connection to this server (undici/fetch or http.Agent, e.g. a warm-up)${pair}`,
      fix: FIXES.tcpClientToSelf,
    });
  }
  const where = isLoopbackAddress(s.remoteAddress)
    ? `a connection to a local service on port ${s.remotePort} (database, cache or a keep-alive HTTP agent)`
    : `an outgoing connection to ${remote} (keep-alive HTTP agent, database or other client)`;
  return finding(e.fd, 'tcpConnection', 'unsafe', target, {
    origin: `${where}${pair}`,
    fix: FIXES.tcpOutgoing,
  });
}

function classifyUdp(e: FdEntry, s: InetSocket): AuditFinding {
  const local = formatEndpoint(s.localAddress, s.localPort);
  const connected = s.state === TCP_ESTABLISHED && s.remotePort !== 0;
  const target = connected ? `${local} -> ${formatEndpoint(s.remoteAddress, s.remotePort)}` : local;
  const origin =
    connected && s.remotePort === 53
      ? 'a DNS query socket (c-ares, dns.resolve*)'
      : 'a dgram socket (node:dgram)';
  return finding(e.fd, 'udp', 'unsafe', target, { origin, fix: FIXES.udp });
}

function classifyUnix(ctx: Context, e: FdEntry, s: UnixSocket): AuditFinding {
  const name = s.path ?? '(unnamed)';
  const type = s.type === 'stream' ? 'stream' : s.type;
  if (s.listening) {
    return finding(e.fd, 'unixListen', 'safe', name, { origin: 'a listening server socket' });
  }
  if (s.state !== SS_CONNECTED && s.state !== SS_CONNECTING) {
    return finding(e.fd, 'unixSocket', 'safe', `${type} ${name} (not connected)`);
  }
  const peer = ctx.unixPeers(s.inode);
  if (peer === undefined) {
    return finding(e.fd, 'unixConnection', 'unsafe', `${type} ${name} -> (peer unknown)`, {
      origin: e.fd === ctx.ipcFd ? 'the IPC channel to the parent process (NODE_CHANNEL_FD)' : undefined,
      fix: e.fd === ctx.ipcFd ? FIXES.unixIpc : FIXES.unixUnknownPeer,
    });
  }
  if (peer === 0) {
    return finding(e.fd, 'unixSocket', 'safe', `${type} ${name} (peer closed)`);
  }
  const peerLink = `socket:[${peer}]`;
  const ownPeer = ctx.ownLinks.get(peerLink);
  if (ownPeer && ownPeer.length > 0) {
    return finding(e.fd, 'unixSocket', 'safe', `${type} ${name} <-> fd ${ownPeer[0]}`, {
      origin: 'a socketpair inside this process (both ends are checkpointed together)',
    });
  }
  const childPeer = ctx.childLinks.get(peerLink);
  if (childPeer && childPeer.length > 0) {
    return finding(e.fd, 'unixSocket', 'safe', `${type} ${name} <-> ${childLabel(ctx, childPeer[0]!)}`, {
      origin: 'a stdio or IPC channel of a child process (checkpointed with it)',
    });
  }
  const peerPath = ctx.unixByInode.get(peer)?.path;
  const target = `${type} ${name} -> ${peerPath ?? 'peer'} (socket:[${peer}], outside this process)`;
  if (e.fd === ctx.ipcFd) {
    return finding(e.fd, 'unixConnection', 'unsafe', target, {
      origin: 'the IPC channel to the parent process (child_process.fork or stdio "ipc")',
      fix: FIXES.unixIpc,
    });
  }
  if (s.path && ctx.listeningUnixPaths.has(s.path)) {
    return finding(e.fd, 'unixConnection', 'unsafe', target, {
      origin: `${INCOMING_ORIGIN} on ${s.path}`,
      fix: FIXES.unixIncoming,
    });
  }
  return finding(e.fd, 'unixConnection', 'unsafe', target, {
    origin: peerPath ? `a client connection to ${peerPath}` : 'a connection to another process',
    fix: FIXES.unixOutgoing,
  });
}

function classifySocket(ctx: Context, e: FdEntry, inode: number): AuditFinding {
  const inet = ctx.inetByInode.get(inode);
  if (inet) return inet.family.startsWith('tcp') ? classifyTcp(ctx, e, inet) : classifyUdp(e, inet);
  const unix = ctx.unixByInode.get(inode);
  if (unix) return classifyUnix(ctx, e, unix);
  const tcp =
    e.socket && (e.socket.domain === AF_INET || e.socket.domain === AF_INET6) && e.socket.protocol === 6;
  if (tcp) {
    const state = e.socket!.tcpState !== undefined ? tcpStateName(e.socket!.tcpState) : 'unknown';
    return finding(
      e.fd,
      'tcpClosing',
      'unsafe',
      `${e.link} (TCP, state ${state}; no longer in /proc/net/tcp)`,
      {
        origin:
          'a connection that was closed (by the app or its peer) whose socket the app has not released yet',
        fix: FIXES.tcpClosing,
      },
    );
  }
  const what = e.socket ? socketKind(e.socket) : 'a netlink, packet or raw socket, or a socket not bound yet';
  return finding(e.fd, 'unknown', 'unsafe', `${e.link} (not in /proc/net/tcp, tcp6, udp, udp6 or unix)`, {
    origin: what,
    fix: FIXES.unknown,
  });
}

const AF_INET = 2;
const AF_INET6 = 10;

/** Names a socket that no /proc/net table lists, from what getsockopt said of it. */
function socketKind(s: SocketFacts): string {
  const domain = (
    { 1: 'unix', 2: 'IPv4', 10: 'IPv6', 16: 'netlink', 17: 'packet' } as Record<number, string>
  )[s.domain];
  const type = ({ 1: 'stream', 2: 'datagram', 3: 'raw', 5: 'seqpacket' } as Record<number, string>)[s.type];
  return `a ${domain ?? `domain ${s.domain}`} ${type ?? `type ${s.type}`} socket (protocol ${s.protocol})`;
}

function classifyPipe(ctx: Context, e: FdEntry): AuditFinding {
  const mode = (x: FdEntry): number => (x.fdinfo?.flags ?? 0) & O_ACCMODE;
  const same = ctx.snapshot.fds.filter((o) => o.link === e.link && o.fd !== e.fd);
  const otherEnd = same.filter((o) => mode(o) !== mode(e)).map((o) => o.fd);
  if (otherEnd.length > 0) {
    return finding(e.fd, 'pipe', 'safe', `${e.link} <-> fd ${otherEnd.join(', ')}`, {
      origin: 'libuv/Node internal (both ends held by this process)',
    });
  }
  const child = ctx.childLinks.get(e.link);
  if (child && child.length > 0) {
    return finding(e.fd, 'pipe', 'safe', `${e.link} (shared with ${childLabel(ctx, child[0]!)})`, {
      origin: 'a pipe shared with a child process (checkpointed with it)',
    });
  }
  const dups = same.length > 0 ? `, also fd ${same.map((o) => o.fd).join(', ')}` : '';
  return finding(e.fd, 'pipe', 'safe', `${e.link} (other end outside this process${dups})`, {
    origin:
      'inherited or shared with another process; a restored copy gets a pipe with nobody on the other end',
  });
}

/** libuv 1.51 (Node 22) made every event loop open an io_uring ring, whatever UV_USE_IO_URING says. */
function ioUringOrigin(snapshot: ProcSnapshot): string {
  const asked = snapshot.environ.UV_USE_IO_URING;
  const uv = snapshot.runtime?.uv.split('.').map(Number);
  if (snapshot.runtime && uv && (uv[0]! > 1 || (uv[0] === 1 && uv[1]! >= 51))) {
    return `libuv ${snapshot.runtime.uv} (Node ${snapshot.runtime.node}) opens one for every event loop, whatever UV_USE_IO_URING says`;
  }
  if (asked !== undefined) return `libuv (UV_USE_IO_URING=${asked})`;
  return 'libuv or a native addon';
}

function classifyAnon(ctx: Context, e: FdEntry): AuditFinding | undefined {
  const name = e.link.startsWith('anon_inode:')
    ? e.link.slice('anon_inode:'.length).replace(/^\[|\]$/g, '')
    : '';
  const info = e.fdinfo;
  const has = (key: string): boolean => info !== undefined && key in info.fields;
  if (name === 'io_uring' || has('SqMask')) {
    return finding(e.fd, 'ioUring', 'unsafe', e.link, {
      origin: ioUringOrigin(ctx.snapshot),
      fix: FIXES.ioUring,
    });
  }
  if (name === 'eventpoll' || (info && info.epollTargets.length > 0)) {
    return finding(e.fd, 'epoll', 'safe', e.link, {
      origin: 'a libuv event loop (main thread, workers, V8 platform)',
    });
  }
  if (name === 'eventfd' || has('eventfd-count')) {
    return finding(e.fd, 'eventfd', 'safe', e.link, { origin: 'libuv async wake-ups' });
  }
  if (name === 'signalfd' || has('sigmask')) return finding(e.fd, 'signalfd', 'safe', e.link);
  if (name === 'timerfd' || has('clockid')) return finding(e.fd, 'timerfd', 'safe', e.link);
  if (name === 'inotify' || (info && info.inotifyWatches > 0)) {
    const n = info?.inotifyWatches ?? 0;
    return finding(e.fd, 'inotify', 'safe', `${e.link} (${n} watch${n === 1 ? '' : 'es'})`, {
      origin: 'fs.watch (or a watcher library such as chokidar)',
      fix: FIXES.inotify,
    });
  }
  return undefined;
}

function classifyPath(ctx: Context, e: FdEntry): AuditFinding {
  const deleted = e.link.endsWith(' (deleted)');
  const path = deleted ? e.link.slice(0, -' (deleted)'.length) : e.link;
  if (path.startsWith('/memfd:')) return finding(e.fd, 'memfd', 'safe', e.link);
  const type = e.stat?.type ?? (path.startsWith('/dev/') ? 'char' : 'file');
  if (type === 'directory') return finding(e.fd, 'directory', 'safe', e.link);
  if (type === 'fifo') return finding(e.fd, 'pipe', 'safe', `${e.link} (named pipe)`);
  if (type === 'char' || type === 'block') {
    if (type === 'char' && isStdioTerminal(ctx, path)) {
      return finding(e.fd, 'stdio', 'handled', e.link, {
        origin: 'the terminal of stdout/stderr, reopened by libuv; re-attached to the restorer like stdio',
      });
    }
    if (STATELESS_DEVICES.has(path)) {
      return finding(e.fd, 'statelessDevice', 'safe', e.link, {
        origin: path === '/dev/null' ? 'often libuv (spare descriptor for EMFILE handling)' : undefined,
      });
    }
    return finding(e.fd, 'device', 'unsafe', e.link, { fix: FIXES.device });
  }
  const flags = e.fdinfo?.flags ?? 0;
  const size = e.stat?.size;
  const sizeNote = size === undefined ? '' : `, ${size} bytes`;
  if (isWritable(flags) && !isAppend(flags)) {
    const origin = fileOrigin(ctx, path);
    return finding(
      e.fd,
      'writableFile',
      'unsafe',
      `${e.link} (open for writing without O_APPEND${sizeNote})`,
      {
        ...(origin ? { origin: origin.origin } : {}),
        fix: origin?.fix ?? FIXES.writableFile,
      },
    );
  }
  if (deleted && size !== undefined && size > CRIU_GHOST_LIMIT) {
    return finding(e.fd, 'deletedFile', 'unsafe', `${e.link} (${size} bytes, more than CRIU's ghost limit)`, {
      fix: FIXES.deletedFile,
    });
  }
  if (isWritable(flags)) return finding(e.fd, 'appendFile', 'safe', e.link);
  return finding(e.fd, 'readonlyFile', 'safe', e.link);
}

/**
 * libuv reopens a terminal on stdio under a new descriptor (so that making it non-blocking does
 * not affect other processes sharing it); process.stdout then writes there. Such a descriptor is
 * as much stdout as fd 1 is, and the checkpoint re-attaches it with fds 1 and 2.
 */
function isStdioTerminal(ctx: Context, path: string): boolean {
  return (ctx.ownLinks.get(path) ?? []).some((fd) => fd === 1 || fd === 2);
}

function fileOrigin(ctx: Context, path: string): { origin: string; fix: string } | undefined {
  const file = basename(path);
  if (/^perf-\d+\.map$/.test(file)) {
    const flag = ctx.snapshot.cmdline.find((a) => a.startsWith('--perf-')) ?? '--perf-basic-prof';
    return { origin: `${path} from ${flag}`, fix: FIXES.perfMap };
  }
  if (/^isolate-0x[0-9a-f]+-\d+-v8(-\d+)?\.log$/.test(file)) {
    return {
      origin: 'the V8 profiler log from --prof',
      fix: 'start the checkpointed node without --prof: V8 keeps writing this log without O_APPEND, so once a restored copy has written to it the next restore fails',
    };
  }
  if (/\.log$|\.jsonl?$/.test(file)) {
    return {
      origin:
        "a log file opened without O_APPEND (e.g. pino.destination({ append: false }) or fs.createWriteStream(path) without flags: 'a')",
      fix: `${FIXES.writableFile}; for pino: ${FIXES.pinoLog}`,
    };
  }
  return undefined;
}

/** Classifies one descriptor of the snapshot. */
function classifyFd(ctx: Context, e: FdEntry): AuditFinding {
  if (e.fd <= 2) {
    return finding(e.fd, 'stdio', 'handled', e.link, {
      origin: 'stdio, re-attached to the restorer by `defrost restore`',
    });
  }
  const socket = inodeOf(e.link, 'socket');
  if (socket !== undefined) return classifySocket(ctx, e, socket);
  if (inodeOf(e.link, 'pipe') !== undefined) return classifyPipe(ctx, e);
  const anon = classifyAnon(ctx, e);
  if (anon) return anon;
  if (e.link.startsWith('/')) return classifyPath(ctx, e);
  return finding(e.fd, 'unknown', 'unsafe', e.link, { fix: FIXES.unknown });
}

function classifyChild(ctx: Context, c: ChildEntry): AuditFinding {
  const command = describeCommand(c);
  const parent = ctx.snapshot.pid !== undefined && c.ppid !== ctx.snapshot.pid ? ` (child of ${c.ppid})` : '';
  if (c.state === 'Z' || c.state === 'X') {
    return {
      pid: c.pid,
      kind: 'zombie',
      class: 'safe',
      target: `${command}${parent} (exited, not reaped yet)`,
    };
  }
  const exe = basename(c.cmdline[0] ?? c.comm);
  let origin = 'child_process.spawn/exec';
  if (exe === 'criu' && c.cmdline.includes('swrk')) origin = "libcriu's `criu swrk` helper";
  else if (/^node(\d+)?$/.test(exe))
    origin = 'a Node child process (child_process.fork, cluster or a spawned script)';
  return {
    pid: c.pid,
    kind: 'childProcess',
    class: 'unsafe',
    target: `${command}${parent}`,
    fix: FIXES.childProcess,
    origin,
  };
}

/** Classifies every descriptor and every descendant process of the snapshot, in fd order then PID order. */
export function classifySnapshot(snapshot: ProcSnapshot): AuditFinding[] {
  const ctx = buildContext(snapshot);
  const fds = [...snapshot.fds].sort((a, b) => a.fd - b.fd).map((e) => classifyFd(ctx, e));
  const children = [...snapshot.children].sort((a, b) => a.pid - b.pid).map((c) => classifyChild(ctx, c));
  return [...fds, ...children];
}
