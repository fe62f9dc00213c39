/** A tiny JSON API on loopback that an example app calls (started and stopped by the test). */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Upstream {
  readonly url: string;
  /** Requests served so far, by path. */
  readonly calls: Map<string, number>;
  close(): Promise<void>;
}

/** Serves `route(req)` as JSON (undefined: 404), with keep-alive connections as a real API has. */
export async function startUpstream(route: (req: IncomingMessage) => unknown): Promise<Upstream> {
  const calls = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    calls.set(req.url ?? '', (calls.get(req.url ?? '') ?? 0) + 1);
    const value = route(req);
    res.statusCode = value === undefined ? 404 : 200;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(value ?? { error: 'not found' }));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
