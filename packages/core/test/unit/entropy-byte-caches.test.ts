import { createHash, randomInt, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { captureByteCaches, refillByteCaches } from '../../src/safety/byte-caches.js';
import { InspectorSession } from '../../src/safety/inspector.js';

const ZERO_UUID = '00000000-0000-4000-8000-000000000000';

describe("Node's caches of random bytes (randomInt, randomUUID)", () => {
  const session = InspectorSession.open();
  afterAll(() => session.close());
  randomInt(10);

  it('are found by name, as the very buffers randomInt and randomUUID serve from', () => {
    const captured = captureByteCaches(session);
    expect(captured.warnings).toEqual([]);
    const [intCache, uuidCache] = captured.buffers;
    expect(intCache!.length % 6).toBe(0);
    intCache!.fill(0);
    uuidCache!.fill(0);
    expect(randomInt(2 ** 48 - 1)).toBe(0);
    expect(randomUUID()).toBe(ZERO_UUID);
    refillByteCaches(captured);
    expect(randomInt(2 ** 48 - 1)).not.toBe(0);
    expect(randomUUID()).not.toBe(ZERO_UUID);
  });

  it('are drained by calls instead when they cannot be reached, with a warning naming each', () => {
    const reached = captureByteCaches(session);
    const [intCache, uuidCache] = reached.buffers;
    const blind = captureByteCaches(undefined, 'no inspector here');
    expect(blind.buffers).toEqual([]);
    expect(blind.warnings.slice(0, 2)).toEqual([
      expect.stringMatching(/^crypto\.randomInt: no inspector here; each copy drains the cache/),
      expect.stringMatching(/^crypto\.randomUUID.*: no inspector here; each copy drains the cache/),
    ]);
    // The WebSocket client's pool has no drain: when the client is loaded (the test runner may
    // have loaded it), it can only be named.
    expect(blind.warnings.slice(2)).toEqual(
      blind.warnings.length > 2
        ? [expect.stringMatching(/^WebSocket frame masks: no inspector here; copies may repeat/)]
        : [],
    );
    // Every byte still unread is stale: the drain must use them all up, whatever the offsets.
    intCache!.fill(0);
    uuidCache!.fill(0);
    refillByteCaches(blind);
    expect(randomInt(2 ** 48 - 1)).not.toBe(0);
    expect(randomUUID()).not.toBe(ZERO_UUID);
  });
});

/** The mask of the first frame the built-in WebSocket client sends to a throwaway loopback server. */
async function firstMask(): Promise<string> {
  const server = http.createServer();
  const mask = new Promise<string>((resolve) => {
    server.on('upgrade', (req, socket) => {
      const accept = createHash('sha1')
        .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      socket.once('data', (frame: Buffer) => {
        resolve(frame.subarray(2, 6).toString('hex'));
        socket.destroy();
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  ws.onopen = () => ws.send('x');
  ws.onerror = () => {};
  try {
    return await mask;
  } finally {
    ws.close();
    server.closeAllConnections();
    server.close();
  }
}

describe("the built-in WebSocket client's pool of frame masks", () => {
  const session = InspectorSession.open();
  afterAll(() => session.close());

  it('is not looked for before the client is loaded, and found once it has sent a frame', async () => {
    await firstMask();
    const captured = captureByteCaches(session);
    expect(captured.warnings).toEqual([]);
    expect(captured.buffers).toHaveLength(3);
    const pool = captured.buffers[2]!;
    pool.fill(0);
    // The pool may be at its very end and refill before this frame: then one more frame.
    const masks = [await firstMask(), await firstMask()];
    expect(masks).toContain('00000000');
    refillByteCaches(captured);
    expect(await firstMask()).not.toBe('00000000');
  });
});
