// A Hono app on Node (@hono/node-server) in the spirit of Hono's own examples (the blog API):
// posts under /api with ETags and secure headers, JSON errors, a page at /, and a view counter
// per post. No defrost code: `defrost checkpoint` freezes it as it is.

import { randomUUID } from 'node:crypto';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { etag } from 'hono/etag';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';

const bootId = randomUUID();

const posts = [
  { id: '1', title: 'Hello Hono', body: 'Hono is a small web framework built on Web Standards.' },
  { id: '2', title: 'On Node.js', body: 'The node-server adapter turns Node requests into Requests.' },
  { id: '3', title: 'Middleware', body: 'ETag, secure headers, CORS, JWT and more ship with Hono.' },
];
// post id -> views since the process started
const views = new Map();

const api = new Hono();
api.use('*', etag());
api.get('/posts', (c) => c.json({ posts: posts.map(({ id, title }) => ({ id, title })) }));
api.get('/posts/:id', (c) => {
  const post = posts.find((p) => p.id === c.req.param('id'));
  if (!post) throw new HTTPException(404, { message: 'Not Found' });
  views.set(post.id, (views.get(post.id) ?? 0) + 1);
  return c.json({ post });
});
api.get('/views', (c) => c.json({ bootId, views: Object.fromEntries(views) }));

const app = new Hono();
app.use('*', secureHeaders());
app.get('/', (c) =>
  c.html(
    `<!doctype html><title>Hono blog</title><h1>Posts</h1><ul>${posts
      .map((p) => `<li><a href="/api/posts/${p.id}">${p.title}</a></li>`)
      .join('')}</ul>`,
  ),
);
app.route('/api', api);
app.notFound((c) => c.json({ error: 'Not Found' }, 404));
app.onError((err, c) => {
  if (err instanceof HTTPException) return c.json({ error: err.message }, err.status);
  return c.json({ error: 'Internal Server Error' }, 500);
});

const port = Number(process.env.PORT ?? 3000);
serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => {
  console.log(`hono-blog listening on ${info.port} (boot ${bootId})`);
});
