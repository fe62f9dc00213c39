import { isIPv6 } from 'node:net';
import { loadLibc, SO_REUSEPORT, SOL_SOCKET } from './libc.js';

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SO_REUSEADDR = 2;
const BACKLOG = 511;

function sockaddr(host: string, port: number): Buffer {
  if (isIPv6(host)) {
    const addr = Buffer.alloc(28);
    addr.writeUInt16LE(AF_INET6, 0);
    addr.writeUInt16BE(port, 2);
    for (const [i, group] of expandIPv6(host).entries()) addr.writeUInt16BE(group, 8 + i * 2);
    return addr;
  }
  const addr = Buffer.alloc(16);
  addr.writeUInt16LE(AF_INET, 0);
  addr.writeUInt16BE(port, 2);
  for (const [i, octet] of host.split('.').entries()) addr.writeUInt8(Number(octet), 4 + i);
  return addr;
}

function expandIPv6(host: string): number[] {
  const [head = '', tail = ''] = host.split('::');
  const part = (s: string): number[] => (s ? s.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const left = part(head);
  const right = host.includes('::') ? part(tail) : [];
  return [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
}

/**
 * A listening TCP socket with SO_REUSEPORT, for `server.listen({ fd })`. Copies restored from one
 * image that move to a restore-time port must all be able to listen there, as they share the
 * frozen port. Node has a `reusePort` listen option only from 22.12/23.1; on 20 the socket is made
 * here, so there is one code path for every supported Node.
 */
export function reusePortListener(host: string, port: number): number {
  const libc = loadLibc();
  const family = isIPv6(host) ? AF_INET6 : AF_INET;
  const fd = libc.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket() failed (errno ${libc.errno()})`);
  const fail = (what: string): never => {
    const errno = libc.errno();
    libc.close(fd);
    throw new Error(
      `${what} ${host}:${port} failed (errno ${errno}${errno === 98 ? ': address in use by a process without SO_REUSEPORT' : ''})`,
    );
  };
  if (libc.setsockoptInt(fd, SOL_SOCKET, SO_REUSEADDR, 1) !== 0) fail('SO_REUSEADDR on');
  if (libc.setsockoptInt(fd, SOL_SOCKET, SO_REUSEPORT, 1) !== 0) fail('SO_REUSEPORT on');
  const addr = sockaddr(host, port);
  if (libc.bind(fd, addr, addr.length) !== 0) fail('bind to');
  if (libc.listen(fd, BACKLOG) !== 0) fail('listen on');
  return fd;
}
