/** HTTP against a restored server on loopback, for the integration tests. */
import { createServer } from 'node:net';
import { request } from 'undici';
import { expect } from 'vitest';

/** GET a JSON body; the status must be 200. */
export async function getJson<T>(port: number, path: string): Promise<T> {
  const res = await request(`http://127.0.0.1:${port}${path}`, {
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as T;
}

/** A port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
