import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type RestoredServer, restore } from '../../src/index.js';
import { spawnTracked, stopAllStarted, track } from '../../src/testing/index.js';

const fixture = fileURLToPath(new URL('../fixtures/counter-server.mjs', import.meta.url));
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'defrost-roundtrip-'));
  return () => rmSync(work, { recursive: true, force: true });
});
afterEach(stopAllStarted);

async function getCount(port: number): Promise<{ count: number; pid: number }> {
  const res = await request(`http://127.0.0.1:${port}/count`, { reset: true });
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as { count: number; pid: number };
}

describe('checkpoint() and restore() with real CRIU', () => {
  it('restores a Fastify server whose state continues where it was frozen', async () => {
    const imageDir = join(work, 'counter');
    const server = await spawnTracked(process.execPath, [fixture, imageDir]);
    const { port } = (await server.waitFor((e) => e.event === 'listening')) as { port: number };
    for (let i = 1; i <= 3; i++) expect((await getCount(port)).count).toBe(i);

    server.child.kill('SIGUSR2');
    await server.waitFor((e) => e.event === 'checkpointed');
    expect((await server.exited).code).toBe(0);
    expect(existsSync(join(imageDir, 'defrost.json'))).toBe(true);
    expect(readdirSync(work).filter((n) => n.includes('.partial-'))).toEqual([]);

    const outFile = join(work, 'restored-stdout.log');
    const out = openSync(outFile, 'a');
    let restored: RestoredServer | undefined;
    try {
      restored = await restore(imageDir, { stdout: out, stderr: out });
    } finally {
      closeSync(out);
    }
    track(restored.pid);
    track(restored.launcherPid);
    expect(restored.readyMs).toBeGreaterThan(0);
    const after = await getCount(port);
    expect(after.count).toBe(4);
    expect(after.pid).toBe(server.pid); // same PID, inside the copy's own namespace
    expect(restored.pid).not.toBe(server.pid);
    // The restored copy writes to the restorer's stdout.
    expect(readFileSync(outFile, 'utf8')).toContain('"event":"restored"');

    const exit = await restored.stop();
    expect(exit.status).toBe(42); // the server's own SIGTERM handler chose the code
    expect(readFileSync(outFile, 'utf8')).toContain('"event":"closed"');
  });

  it('refuses to dump a server holding a keep-alive client connection, naming it, and keeps serving', async () => {
    const imageDir = join(work, 'keepalive');
    const server = await spawnTracked(process.execPath, [fixture, imageDir]);
    const { port } = (await server.waitFor((e) => e.event === 'listening')) as { port: number };
    expect((await getCount(port)).count).toBe(1);
    const upstream = createServer((_, res) => res.end('upstream'));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const hold = await request(`http://127.0.0.1:${port}/hold-keepalive?port=${upstreamPort}`, {
      reset: true,
    });
    expect(hold.statusCode).toBe(200);
    await hold.body.dump();
    onTestFinished(async () => {
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    });

    server.child.kill('SIGUSR2');
    const failed = (await server.waitFor((e) => e.event === 'checkpoint-failed')) as {
      name: string;
      step: string;
      message: string;
    };
    expect(failed.name).toBe('CheckpointError');
    expect(failed.step).toBe('dump');
    expect(failed.message).toMatch(/Connected TCP socket/);
    expect(failed.message).toMatch(
      new RegExp(`:${upstreamPort}\\b|${upstreamPort.toString(16).toUpperCase()}`),
    );
    expect(existsSync(imageDir)).toBe(false);
    expect(readdirSync(work).filter((n) => n.startsWith('.keepalive'))).toEqual([]);
    // Still serving, state intact.
    expect((await getCount(port)).count).toBe(2);
  });
});
