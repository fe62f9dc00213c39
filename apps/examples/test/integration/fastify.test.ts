/**
 * Fastify without @defrost/fastify (fastify/server.js): the zero-code agent checkpoints it, and
 * parks its pino file destination (sonic-boom) across the freeze, so every copy keeps logging
 * to the same file.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useFrozenApp } from '../helpers/frozen-app.js';
import { get, getJson } from '../helpers/http.js';

interface Stats {
  bootId: string;
  requests: number;
}

const app = useFrozenApp({
  entry: 'fastify/server.js',
  env: () => ({ LOG_FILE: join(app.work, 'app.log') }),
  flags: ['--warmup-url', '/', '--warmup-url', '/notes', '--warmup-url', '/notes/2'],
  sameAsCold: [
    { path: '/' },
    { path: '/notes' },
    { path: '/notes/1' },
    { path: '/notes/3' },
    { path: '/notes/x' },
  ],
});

/** The log lines of requests to `url`, as pino wrote them. */
async function loggedRequests(url: string): Promise<unknown[]> {
  const text = await readFile(join(app.work, 'app.log'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { msg?: string; req?: { url?: string } })
    .filter((entry) => entry.msg === 'incoming request' && entry.req?.url === url);
}

/**
 * pino's file destination writes asynchronously (sonic-boom, sync: false), so a line may land
 * just after the response that it logs: wait for it, a second at most.
 */
async function expectLogged(url: string, count: number): Promise<void> {
  await expect.poll(async () => (await loggedRequests(url)).length, { timeout: 1_000 }).toBe(count);
}

describe('Fastify without the plugin, no code change', () => {
  it('checkpoints through the zero-code agent', () => {
    expect(app.run.code, app.run.output).toBe(0);
    expect(app.run.stdout).toMatch(/warm-up\s+900 requests in 300 rounds/);
  });

  it('a restored copy serves what a cold start serves, and logs to the same file', async () => {
    await app.withCopy(async (port) => {
      const stats = await getJson<Stats>(port, '/stats');
      expect(stats.bootId).toBe(app.bootId);
      expect(stats.requests).toBeGreaterThan(app.run.warmupRequests);
      await app.expectSameAsCold();
      const created = await get(port, '/notes', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Restored', tags: ['copy'] }),
      });
      expect(created.status).toBe(201);
      expect(JSON.parse(created.body)).toEqual({ id: 3, title: 'Restored', tags: ['copy'] });
      // The frozen process logged the warm-up; the copy appends its own requests to the same file.
      expect((await loggedRequests('/notes/2')).length).toBeGreaterThanOrEqual(300);
      await expectLogged('/stats', 1);
    });
  });

  it('a second copy starts from the image again, and logs too', async () => {
    await app.withCopy(async (port) => {
      expect((await get(port, '/notes/3')).status).toBe(404);
      await getJson<Stats>(port, '/stats');
      await expectLogged('/stats', 2);
    });
  });
});
