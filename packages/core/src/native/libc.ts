import { createRequire } from 'node:module';

/**
 * The few libc calls Node does not expose: dup2 onto stdio, socket options,
 * taking a descriptor from another process (pidfd_getfd), malloc_trim.
 * Loaded lazily through koffi so that normal runs never touch FFI.
 */
export interface Libc {
  dup2(oldFd: number, newFd: number): number;
  close(fd: number): number;
  setsockoptInt(fd: number, level: number, name: number, value: number): number;
  /** pidfd_open(2) then pidfd_getfd(2): a copy of another process's descriptor (Linux >= 5.6). */
  takeFdFrom(pid: number, targetFd: number): number;
  /**
   * What a socket of this process is, from getsockopt(2): its domain, type and protocol, and for
   * TCP its state (tcp_info.tcpi_state); undefined when the descriptor is not a socket.
   */
  socketFacts(fd: number): SocketFacts | undefined;
  /** glibc's malloc_trim(0): give free heap pages back to the kernel; 1 when some were. */
  mallocTrim(): number;
  errno(): number;
}

// Generic syscall numbers, the same on x86_64 and arm64 (new syscalls share one table since 5.1).
const SYS_PIDFD_OPEN = 434;
const SYS_PIDFD_GETFD = 438;

export const SOL_SOCKET = 1;
const SO_TYPE = 3;
const SO_PROTOCOL = 38;
const SO_DOMAIN = 39;
const IPPROTO_TCP = 6;
const TCP_INFO = 11;

export interface SocketFacts {
  /** AF_*: 1 unix, 2 inet, 10 inet6, 16 netlink, 17 packet. */
  readonly domain: number;
  /** SOCK_*: 1 stream, 2 datagram, 3 raw, 5 seqpacket. */
  readonly type: number;
  readonly protocol: number;
  /** Linux TCP state (1 ESTABLISHED ... 7 CLOSE ... 10 LISTEN), for TCP sockets. */
  readonly tcpState?: number;
}
export const SO_REUSEPORT = 15;

let libc: Libc | undefined;

export function loadLibc(): Libc {
  if (libc) return libc;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  const dup2 = lib.func('int dup2(int oldfd, int newfd)');
  const close = lib.func('int close(int fd)');
  const setsockopt = lib.func('int setsockopt(int fd, int level, int name, _In_ int *value, uint32_t len)');
  const syscall = lib.func('long syscall(long nr, ...)');
  const getsockopt = lib.func(
    'int getsockopt(int fd, int level, int name, _Out_ uint8_t *value, _Inout_ uint32_t *len)',
  );
  const intOption = (fd: number, level: number, name: number): number | undefined => {
    const value = Buffer.alloc(4);
    return getsockopt(fd, level, name, value, [4]) === 0 ? value.readInt32LE(0) : undefined;
  };
  // glibc only (musl has none): trimming is an optimisation, never a requirement.
  const mallocTrim = (() => {
    try {
      return lib.func('int malloc_trim(size_t pad)');
    } catch {
      return () => 0;
    }
  })();
  libc = {
    dup2: (oldFd, newFd) => dup2(oldFd, newFd) as number,
    close: (fd) => close(fd) as number,
    setsockoptInt: (fd, level, name, value) => setsockopt(fd, level, name, [value], 4) as number,
    takeFdFrom: (pid, targetFd) => {
      const pidfd = Number(syscall(SYS_PIDFD_OPEN, 'int', pid, 'uint', 0));
      if (pidfd < 0) return -1;
      const fd = Number(syscall(SYS_PIDFD_GETFD, 'int', pidfd, 'int', targetFd, 'uint', 0));
      close(pidfd);
      return fd;
    },
    socketFacts: (fd) => {
      const domain = intOption(fd, SOL_SOCKET, SO_DOMAIN);
      const type = intOption(fd, SOL_SOCKET, SO_TYPE);
      const protocol = intOption(fd, SOL_SOCKET, SO_PROTOCOL);
      if (domain === undefined || type === undefined || protocol === undefined) return undefined;
      if (protocol !== IPPROTO_TCP) return { domain, type, protocol };
      const info = Buffer.alloc(232);
      const ok = getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, [info.length]) === 0;
      return { domain, type, protocol, ...(ok ? { tcpState: info.readUInt8(0) } : {}) };
    },
    mallocTrim: () => mallocTrim(0) as number,
    errno: () => koffi.errno(),
  };
  return libc;
}
