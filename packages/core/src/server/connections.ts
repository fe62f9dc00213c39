import type { Server as NetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** http and https servers can close their idle keep-alive connections; http2 has no such call. */
type Server = NetServer & { closeIdleConnections?(): void };

function connectionCount(server: Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}

/**
 * Lets in-flight requests finish and closes every connection, so that no established socket is
 * left for the freeze. Idle keep-alive connections are closed at once; busy ones are closed as
 * soon as their response is done (closeIdleConnections again each turn).
 */
export async function drainConnections(
  server: Server,
  timeoutMs: number,
  option = 'drainTimeoutMs',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    server.closeIdleConnections?.();
    const open = await connectionCount(server);
    if (open === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${open} connection(s) still busy after ${timeoutMs} ms; raise ${option} or stop long-running requests (SSE, websockets) in a beforeCheckpoint hook`,
      );
    }
    await sleep(5);
  }
}
