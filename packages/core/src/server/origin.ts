import type { Server } from 'node:net';

/**
 * The URL a server of this process is reached at over loopback, for the warm-up: a wildcard
 * address is reached on the loopback of its family. Only TCP: a server that listens on a unix
 * socket only is refused with what to do, since copies restored from an image share its port.
 */
export function originOf(server: Server, secure = false): string {
  const address = server.address();
  if (address === null) throw new Error('the server is not listening');
  if (typeof address === 'string') {
    throw new Error(
      `the server listens on the unix socket ${address}: defrost warms up and restores servers that listen on a TCP port; listen on one (for example 127.0.0.1:3000), behind your proxy if need be`,
    );
  }
  const host =
    address.family === 'IPv6'
      ? `[${address.address === '::' ? '::1' : address.address}]`
      : address.address === '0.0.0.0'
        ? '127.0.0.1'
        : address.address;
  return `${secure ? 'https' : 'http'}://${host}:${address.port}`;
}
