// A Fastify app of the kind people run: static files (@fastify/static), an OpenAPI document and
// its UI (@fastify/swagger, @fastify/swagger-ui), CORS (@fastify/cors), a rate limit
// (@fastify/rate-limit) and a PostgreSQL pool (pg) behind a small books API, frozen with
// @defrost/fastify. What it does for defrost:
// - the pool is ended before every checkpoint and made anew after every restore (the recipe of
//   docs/use-it-with.md: a frozen process cannot keep a database connection);
// - the rate limit leaves warm-up requests out (isWarmupRequest), so the warm-up neither trips it
//   nor leaves its counters used up in every copy. RATE_LIMIT_ALLOW_WARMUP=0 takes that out.
//
// DATABASE_URL: the PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isWarmupRequest } from '@defrost/core';
import defrost from '@defrost/fastify';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify from 'fastify';
import pg from 'pg';

const poolConfig = { connectionString: process.env.DATABASE_URL, max: 4 };
let pool = new pg.Pool(poolConfig);

await pool.query(`CREATE TABLE IF NOT EXISTS books (
  id serial PRIMARY KEY,
  title text NOT NULL,
  author text NOT NULL
)`);
const { rows: existing } = await pool.query('SELECT count(*)::int AS n FROM books');
if (existing[0].n === 0) {
  await pool.query(
    "INSERT INTO books (title, author) VALUES ('Dune', 'Frank Herbert'), ('Solaris', 'Stanisław Lem')",
  );
}

const app = Fastify({ logger: false });

await app.register(defrost, {
  warmup: {
    requests: [
      { url: '/' },
      { url: '/style.css' },
      { url: '/books' },
      { url: '/books/1' },
      { url: '/docs/json' },
      {
        method: 'OPTIONS',
        url: '/books',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
      },
    ],
    rounds: 300,
  },
});
app.defrost.beforeCheckpoint(() => pool.end(), 'pg pool');
app.defrost.afterRestore(() => {
  pool = new pg.Pool(poolConfig);
}, 'pg pool');

await app.register(cors, { origin: ['https://app.example'] });
await app.register(rateLimit, {
  max: 100,
  timeWindow: '1 minute',
  ...(process.env.RATE_LIMIT_ALLOW_WARMUP === '0' ? {} : { allowList: (req) => isWarmupRequest(req) }),
});
await app.register(swagger, {
  openapi: { info: { title: 'Library', version: '1.0.0' } },
});
await app.register(swaggerUi, { routePrefix: '/docs' });
await app.register(fastifyStatic, { root: join(dirname(fileURLToPath(import.meta.url)), 'public') });

const book = {
  type: 'object',
  properties: { id: { type: 'integer' }, title: { type: 'string' }, author: { type: 'string' } },
  required: ['id', 'title', 'author'],
};

app.get('/health', { config: { rateLimit: false } }, async () => ({ ok: true }));

app.get('/books', { schema: { response: { 200: { type: 'array', items: book } } } }, async () => {
  const { rows } = await pool.query('SELECT id, title, author FROM books ORDER BY id');
  return rows;
});

app.get(
  '/books/:id',
  {
    schema: { params: { type: 'object', properties: { id: { type: 'integer' } } }, response: { 200: book } },
  },
  async (request, reply) => {
    const { rows } = await pool.query('SELECT id, title, author FROM books WHERE id = $1', [
      request.params.id,
    ]);
    return rows[0] ?? reply.code(404).send({ error: `no book ${request.params.id}` });
  },
);

app.post(
  '/books',
  {
    schema: {
      body: {
        type: 'object',
        properties: { title: { type: 'string', minLength: 1 }, author: { type: 'string', minLength: 1 } },
        required: ['title', 'author'],
      },
      response: { 201: book },
    },
  },
  async (request, reply) => {
    const { title, author } = request.body;
    const { rows } = await pool.query(
      'INSERT INTO books (title, author) VALUES ($1, $2) RETURNING id, title, author',
      [title, author],
    );
    return reply.code(201).send(rows[0]);
  },
);

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(`library listening on ${app.server.address().port}`);
