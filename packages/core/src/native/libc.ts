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
  /** glibc's malloc_trim(0): give free heap pages back to the kernel; 1 when some were. */
  mallocTrim(): number;
  errno(): number;
}

// Generic syscall numbers, the same on x86_64 and arm64 (new syscalls share one table since 5.1).
const SYS_PIDFD_OPEN = 434;
const SYS_PIDFD_GETFD = 438;

export const SOL_SOCKET = 1;
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
    mallocTrim: () => mallocTrim(0) as number,
    errno: () => koffi.errno(),
  };
  return libc;
}
