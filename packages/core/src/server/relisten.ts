import type { Server } from 'node:net';

/**
 * After a restore with a restore-time port: listen there instead of the frozen port. The new
 * socket has SO_REUSEPORT, like the frozen one, so several copies can move to the same port.
 */
export async function relisten(server: Server, port: number): Promise<void> {
  const address = server.address();
  if (!address || typeof address === 'string' || address.port === port) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address.address, port, reusePort: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
