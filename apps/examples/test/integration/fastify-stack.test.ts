/**
 * A Fastify app with the plugins people use (@fastify/static, @fastify/swagger and swagger-ui,
 * @fastify/cors, @fastify/rate-limit with max 100) and a pg pool on a real PostgreSQL 15 that
 * this file starts (fastify-stack/server.js). The pool follows the documented recipe (end() before
 * the checkpoint, a new Pool after a restore); the rate limit leaves warm-up requests out with
 * isWarmupRequest, so the 1,800-request warm-up neither trips it nor follows a copy.
 */
import { join } from 'node:path';
import { freePort } from '@defrost/core/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defrost, EXAMPLES, runServer } from '../helpers/defrost.js';
import { useFrozenApp } from '../helpers/frozen-app.js';
import { get, getJson, waitUntilServing } from '../helpers/http.js';
import { type Postgres, startPostgres } from '../helpers/postgres.js';

interface Book {
  id: number;
  title: string;
  author: string;
}

let db: Postgres;
beforeAll(async () => {
  db = await startPostgres();
}, 60_000);
afterAll(() => db?.stop());

/** Runs SQL directly in PostgreSQL, as another service writing to the same database would. */
async function sql(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

const app = useFrozenApp({
  entry: 'fastify-stack/server.js',
  env: () => ({ DATABASE_URL: db.url }),
  sameAsCold: [
    { path: '/' },
    { path: '/style.css' },
    { path: '/docs/json' },
    { path: '/docs' },
    { path: '/books/1' },
    { path: '/books/99' },
    { path: '/health' },
  ],
});

describe('Fastify + static, swagger, cors, rate-limit and pg on PostgreSQL 15', () => {
  it('checkpoints: the pool ended by its hook, the warm-up left out of the rate limit', () => {
    expect(app.run.code, app.run.output).toBe(0);
    expect(app.run.stdout).toMatch(/warm-up\s+1800 requests in 300 rounds/);
    expect(app.run.stderr).not.toMatch(/warning/);
  });

  it('a restored copy reads a row written after the checkpoint, through a new pool', async () => {
    await sql('INSERT INTO books (title, author) VALUES ($1, $2)', ['Written after the freeze', 'psql']);
    await app.withCopy(async (port) => {
      const books = await getJson<Book[]>(port, '/books');
      expect(books.map((b) => b.title)).toEqual(['Dune', 'Solaris', 'Written after the freeze']);
      await app.expectSameAsCold();
      const created = await get(port, '/books', {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://app.example' },
        body: JSON.stringify({ title: 'Written by copy 1', author: 'pg' }),
      });
      expect(created.status, created.body).toBe(201);
    });
    const { rows } = await sql('SELECT title FROM books ORDER BY id');
    expect(rows.map((r) => r.title)).toContain('Written by copy 1');
  });

  it('a second copy restores, sees both rows, and starts with fresh rate-limit counters', async () => {
    await app.withCopy(async (port) => {
      const statuses: number[] = [];
      for (let i = 0; i < 101; i++) {
        const answer = await get(port, '/books');
        statuses.push(answer.status);
        if (i === 0) {
          const titles = (JSON.parse(answer.body) as Book[]).map((b) => b.title);
          expect(titles).toEqual(['Dune', 'Solaris', 'Written after the freeze', 'Written by copy 1']);
        }
      }
      expect(statuses.slice(0, 100)).toEqual(Array(100).fill(200));
      expect(statuses[100]).toBe(429);
      expect((await get(port, '/health')).status).toBe(200);
    });
  });
});

describe('the same app with a rate limit that counts the warm-up', () => {
  const command = [process.execPath, join(EXAMPLES, 'fastify-stack/server.js')];
  const env = (port: number) => ({ DATABASE_URL: db.url, RATE_LIMIT_ALLOW_WARMUP: '0', PORT: String(port) });

  it('defrost checkpoint fails with the advice to use isWarmupRequest, and stops the app it started', async () => {
    const r = await defrost(
      ['checkpoint', '--image', join(app.work, 'refused'), '--', ...command],
      env(await freePort()),
    );
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toContain('warm-up request GET / answered 429');
    expect(r.stderr).toContain('`allowList: (req) => isWarmupRequest(req)` for @fastify/rate-limit');
    expect(r.stderr).toMatch(/stopping the app \(pid \d+\)/);
    // The app is stopped: nothing may say that it keeps serving.
    expect(r.stderr).not.toContain('keeps serving');
  });

  it('defrost checkpoint --pid fails the same way, and the server keeps serving', async () => {
    const port = await freePort();
    const server = await runServer({ command, env: env(port) });
    try {
      await waitUntilServing(port, '/health');
      const r = await defrost([
        'checkpoint',
        '--image',
        join(app.work, 'refused-pid'),
        '--pid',
        String(server.pid),
      ]);
      expect(r.code, r.stderr).toBe(5);
      expect(r.stderr).toContain('isWarmupRequest(req)');
      expect(r.stderr.match(/the server keeps serving/g)).toHaveLength(1);
      expect((await get(port, '/health')).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
