// An Express 5 todo API on PostgreSQL (pg), frozen by `defrost checkpoint` with no plugin: the
// only defrost code is the pool's hook, registered through @defrost/core (docs/use-it-with.md,
// "Postgres"): a frozen process cannot keep a database connection, so the pool is ended before
// every checkpoint and made anew after every restore.
//
// DATABASE_URL: the PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres

import { register } from '@defrost/core';
import express from 'express';
import pg from 'pg';

const config = { connectionString: process.env.DATABASE_URL, max: 4 };
let pool = new pg.Pool(config);
register({
  name: 'pg pool',
  beforeCheckpoint: () => pool.end(),
  afterRestore: () => {
    pool = new pg.Pool(config);
  },
});

await pool.query(
  'CREATE TABLE IF NOT EXISTS todos (id serial PRIMARY KEY, title text NOT NULL, done boolean DEFAULT false)',
);

const app = express();
app.use(express.json());

app.get('/todos', async (req, res) => {
  const { rows } = await pool.query('SELECT id, title, done FROM todos ORDER BY id');
  res.json(rows);
});

app.post('/todos', async (req, res) => {
  if (typeof req.body?.title !== 'string' || req.body.title === '') {
    return res.status(400).json({ error: 'title required' });
  }
  const { rows } = await pool.query('INSERT INTO todos (title) VALUES ($1) RETURNING id, title, done', [
    req.body.title,
  ]);
  res.status(201).json(rows[0]);
});

const port = Number(process.env.PORT ?? 3000);
app.listen(port, '127.0.0.1', () => console.log(`todos listening on ${port}`));
