/**
 * Express with a pg pool on a real PostgreSQL 15, frozen with no plugin (express-pg/server.js):
 * the pool's hook is registered through @defrost/core's register(), and the zero-code agent of
 * `defrost checkpoint` (a bundle of its own) runs it: the registry is one per process. A row
 * written after the checkpoint is read by every copy.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFrozenApp } from '../helpers/frozen-app.js';
import { get, getJson } from '../helpers/http.js';
import { type Postgres, startPostgres } from '../helpers/postgres.js';

interface Todo {
  id: number;
  title: string;
  done: boolean;
}

let db: Postgres;
beforeAll(async () => {
  db = await startPostgres();
}, 60_000);
afterAll(() => db?.stop());

async function insertDirectly(title: string): Promise<void> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query('INSERT INTO todos (title) VALUES ($1)', [title]);
  } finally {
    await client.end();
  }
}

const app = useFrozenApp({
  entry: 'express-pg/server.js',
  env: () => ({ DATABASE_URL: db.url }),
  flags: ['--warmup-url', '/todos'],
  sameAsCold: [{ path: '/todos' }],
});

describe('Express + pg, the pool hook registered through @defrost/core', () => {
  it('checkpoints: the agent ran the hook the app registered, and the audit found the pool gone', () => {
    expect(app.run.code, app.run.output).toBe(0);
    expect(app.run.stdout).toMatch(/warm-up\s+300 requests in 300 rounds/);
  });

  it('a restored copy reads a row written after the checkpoint, and writes through its new pool', async () => {
    await insertDirectly('written after the freeze');
    await app.withCopy(async (port) => {
      expect((await getJson<Todo[]>(port, '/todos')).map((t) => t.title)).toEqual([
        'written after the freeze',
      ]);
      const created = await get(port, '/todos', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'written by copy 1' }),
      });
      expect(created.status, created.body).toBe(201);
    });
  });

  it('a second copy sees both rows', async () => {
    await app.withCopy(async (port) => {
      expect((await getJson<Todo[]>(port, '/todos')).map((t) => t.title)).toEqual([
        'written after the freeze',
        'written by copy 1',
      ]);
    });
  });
});
