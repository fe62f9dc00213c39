// A Koa app with @koa/router in the spirit of Koa's own examples: middleware that times each
// response and turns errors into JSON, a router with a prefix, a book catalogue, and a summary
// per book that is expensive to compute and so is computed once and cached. No defrost code:
// `defrost checkpoint` freezes it as it is, its warm-up fills the cache, and every restored copy
// starts with it full.

import { createHash, randomUUID } from 'node:crypto';
import Router from '@koa/router';
import Koa from 'koa';

const bootId = randomUUID();

const books = [
  { id: 1, title: 'The Pragmatic Programmer', author: 'Andrew Hunt, David Thomas', year: 1999 },
  {
    id: 2,
    title: 'Structure and Interpretation of Computer Programs',
    author: 'Abelson, Sussman',
    year: 1985,
  },
  { id: 3, title: 'Designing Data-Intensive Applications', author: 'Martin Kleppmann', year: 2017 },
];

/** A deliberately slow "analysis" of a book: what a real app would cache (a rendered page, a report). */
function summarize(book) {
  let digest = `${book.title}|${book.author}|${book.year}`;
  for (let i = 0; i < 20_000; i++) digest = createHash('sha256').update(digest).digest('hex');
  return { id: book.id, fingerprint: digest.slice(0, 16), words: book.title.split(' ').length };
}

// book id -> { summary, computedBy }: computedBy says which process filled the entry
const summaries = new Map();

const app = new Koa();

// x-response-time
app.use(async (ctx, next) => {
  const start = performance.now();
  await next();
  ctx.set('X-Response-Time', `${(performance.now() - start).toFixed(1)}ms`);
});

// errors as JSON
app.use(async (ctx, next) => {
  try {
    await next();
  } catch (err) {
    ctx.status = err.status || 500;
    ctx.body = { error: err.expose ? err.message : 'Internal Server Error' };
  }
});

const router = new Router({ prefix: '/books' });

router
  .get('/', (ctx) => {
    ctx.body = books.map(({ id, title }) => ({ id, title }));
  })
  .param('id', (id, ctx, next) => {
    ctx.book = books.find((b) => b.id === Number(id));
    if (!ctx.book) ctx.throw(404, `no book ${id}`);
    return next();
  })
  .get('/:id', (ctx) => {
    ctx.body = ctx.book;
  })
  .get('/:id/summary', (ctx) => {
    let entry = summaries.get(ctx.book.id);
    if (!entry) {
      entry = { summary: summarize(ctx.book), computedBy: bootId };
      summaries.set(ctx.book.id, entry);
    }
    ctx.body = entry.summary;
  });

const root = new Router();
root.get('/', (ctx) => {
  ctx.body = { name: 'koa-books', books: books.length };
});
root.get('/cache', (ctx) => {
  ctx.body = { bootId, summaries: Object.fromEntries([...summaries].map(([id, e]) => [id, e.computedBy])) };
});

app.use(root.routes()).use(root.allowedMethods());
app.use(router.routes()).use(router.allowedMethods());

const port = Number(process.env.PORT ?? 3000);
app.listen(port, '127.0.0.1', () => console.log(`koa-books listening on ${port} (boot ${bootId})`));
