// Every page through app.inject against a small seeded corpus in a temp dir.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, makeTempDir, removeDir, TEST_POST_COUNT } from '../helpers/app.js';

const HTML = 'text/html; charset=utf-8';

describe('blog routes', () => {
  let app: FastifyInstance;
  let dataDir: string;
  let newest: { slug: string; title: string };

  beforeAll(async () => {
    dataDir = makeTempDir();
    app = await buildTestApp({ dataDir });
    const [first] = app.blog.ctx.queries.latestPosts(1);
    newest = { slug: first!.slug, title: first!.title };
  });

  afterAll(async () => {
    await app.close();
    removeDir(dataDir);
  });

  it('seeds the small corpus on first build', () => {
    expect(app.blog.seeded).toBe(true);
    expect(app.blog.ctx.queries.countPosts()).toBe(TEST_POST_COUNT);
    expect(app.blog.ctx.search.documentCount).toBe(TEST_POST_COUNT);
    expect(app.blog.startup.map((p) => p.name)).toEqual([
      'db',
      'seed',
      'index',
      'templates',
      'caches',
      'plugins',
    ]);
  });

  it('home lists the 10 latest posts with pagination', async () => {
    const res = await app.inject('/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(HTML);
    expect(res.body).toContain('<title>The Warm Start</title>');
    expect(res.body).toContain('Latest posts');
    expect(res.body.match(/class="post-item"/g)).toHaveLength(10);
    expect(res.body).toContain(`href="/posts/${newest.slug}"`);
    expect(res.body).toContain('href="/page/2"');
    expect(res.body).toContain('href="/static/style.css"');
    expect(res.body).toContain('type="application/rss+xml"');
  });

  it('serves repeated pages from the cache', async () => {
    await app.inject('/page/2');
    const again = await app.inject('/page/2');
    expect(again.statusCode).toBe(200);
    expect(again.headers['x-cache']).toBe('hit');
    expect(again.body).toContain('Posts, page 2');
    expect(again.body).toContain('href="/page/3"');
  });

  it('redirects page 1 and 404s pages past the end', async () => {
    const one = await app.inject('/page/1');
    expect(one.statusCode).toBe(301);
    expect(one.headers.location).toBe('/');
    const last = Math.ceil(TEST_POST_COUNT / 10);
    expect((await app.inject(`/page/${last}`)).statusCode).toBe(200);
    const past = await app.inject(`/page/${last + 1}`);
    expect(past.statusCode).toBe(404);
    expect(past.headers['content-type']).toBe(HTML);
    expect(past.body).toContain('Page not found');
    expect((await app.inject('/page/abc')).statusCode).toBe(404);
  });

  it('renders a post with its Markdown, highlighted code, tags and comment form', async () => {
    const post = app.blog.ctx.queries.postBySlug(newest.slug)!;
    const res = await app.inject(`/posts/${newest.slug}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(HTML);
    expect(res.body).toContain(`<h1>${escapeHtml(post.title)}</h1>`);
    expect(res.body).toMatch(/<h2 id="[a-z0-9-]+">/);
    expect(res.body).toMatch(/<pre class="code" data-lang="[a-z]+"><code class="hljs language-[a-z]+">/);
    expect(res.body).toContain('<span class="hljs-');
    for (const tag of post.tags) expect(res.body).toContain(`href="/tags/${tag.slug}"`);
    expect(res.body).toContain(`action="/posts/${newest.slug}/comments"`);
    expect(res.body).toContain('No comments yet');
    expect(res.body).toContain(escapeHtml(post.authorName));
  });

  it('404s unknown posts with the HTML error page', async () => {
    const res = await app.inject('/posts/no-such-post');
    expect(res.statusCode).toBe(404);
    expect(res.body).toContain('There is nothing at /posts/no-such-post.');
  });

  it('stores a posted comment, redirects back and shows it on the post page', async () => {
    await app.inject(`/posts/${newest.slug}`); // cached before the comment
    const res = await app.inject({
      method: 'POST',
      url: `/posts/${newest.slug}/comments`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        name: 'Grace <script>',
        body: 'Great post!\n\nSecond paragraph.',
      }).toString(),
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toMatch(new RegExp(`^/posts/${newest.slug}#comment-\\d+$`));

    const rows = app.blog.ctx.db.connection
      .prepare(
        'SELECT author_name AS name, body FROM comments WHERE post_id = (SELECT id FROM posts WHERE slug = ?)',
      )
      .all(newest.slug);
    expect(rows).toEqual([{ name: 'Grace <script>', body: 'Great post!\n\nSecond paragraph.' }]);

    const page = await app.inject(`/posts/${newest.slug}`);
    expect(page.headers['x-cache']).toBe('miss');
    expect(page.body).toContain('1 comment');
    expect(page.body).toContain('Grace &lt;script&gt;');
    expect(page.body).not.toContain('Grace <script>');
    expect(page.body).toContain('<p>Second paragraph.</p>');
    const id = res.headers.location!.split('#comment-')[1];
    expect(page.body).toContain(`id="comment-${id}"`);
  });

  it('rejects an empty comment with the form and a message', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `/posts/${newest.slug}/comments`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'name=Ada&body=++',
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toBe(HTML);
    expect(res.body).toContain('Please fill in both your name and a comment.');
    expect(res.body).toContain('value="Ada"');
    const missing = await app.inject({
      method: 'POST',
      url: '/posts/no-such-post/comments',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'name=Ada&body=hi',
    });
    expect(missing.statusCode).toBe(404);
  });

  it('lists tags with counts and pages of one tag', async () => {
    const tags = await app.inject('/tags');
    expect(tags.statusCode).toBe(200);
    expect(tags.body).toContain('href="/tags/rust"');
    const biggest = [...app.blog.ctx.meta.tags].sort((a, b) => b.count - a.count)[0]!;
    expect(tags.body).toContain(`>${biggest.count}<`);

    const tag = await app.inject(`/tags/${biggest.slug}`);
    expect(tag.statusCode).toBe(200);
    expect(tag.headers['content-type']).toBe(HTML);
    expect(tag.body).toContain(`Posts tagged <em>${escapeHtml(biggest.name)}</em>`);
    expect(tag.body).toContain(`${biggest.count} posts`);
    expect(tag.body.match(/class="post-item"/g)).toHaveLength(10);
    expect(tag.body).toContain(`href="/tags/${biggest.slug}/page/2"`);
    expect((await app.inject(`/tags/${biggest.slug}/page/2`)).statusCode).toBe(200);
    expect((await app.inject('/tags/no-such-tag')).statusCode).toBe(404);
  });

  it('shows the archive by year and month', async () => {
    const res = await app.inject('/archive');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(`${TEST_POST_COUNT} posts since 2013`);
    const [latest] = app.blog.ctx.meta.archive;
    const mm = String(latest!.month).padStart(2, '0');
    expect(res.body).toContain(`href="/archive/${latest!.year}/${mm}"`);
    const month = await app.inject(`/archive/${latest!.year}/${mm}`);
    expect(month.statusCode).toBe(200);
    expect(month.body.match(/class="post-item"/g)).toHaveLength(latest!.count);
    expect((await app.inject('/archive/1999/01')).statusCode).toBe(404);
    expect((await app.inject('/archive/20x4/01')).statusCode).toBe(404);
  });

  it('searches the full text', async () => {
    const res = await app.inject(`/search?q=${encodeURIComponent(newest.title)}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe(HTML);
    expect(res.body).toContain(`href="/posts/${newest.slug}"`);
    expect(res.body).toMatch(/\d+ posts? match/);

    const none = await app.inject('/search?q=zzzzqqqq');
    expect(none.body).toContain('No posts match');
    const empty = await app.inject('/search');
    expect(empty.statusCode).toBe(200);
    expect(empty.body).not.toContain('match');
    const xss = await app.inject(`/search?q=${encodeURIComponent('<img src=x onerror=alert(1)>')}`);
    expect(xss.body).not.toContain('<img src=x');
  });

  it('serves the stylesheet', async () => {
    const res = await app.inject('/static/style.css');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/css/);
    expect(res.body).toContain('.hljs-keyword');
  });

  it('reports health', async () => {
    const res = await app.inject('/healthz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ok',
      posts: TEST_POST_COUNT,
      indexed: TEST_POST_COUNT,
      dbOpens: 1,
    });
  });

  it('answers 503 while the database is closed for a checkpoint, and serves again once reopened', async () => {
    const { db } = app.blog.ctx;
    const uncached = app.blog.ctx.queries.latestPosts(1, 150)[0]!.slug;
    db.close();
    try {
      // Cached pages stay available; anything that needs the database waits for the restore.
      expect((await app.inject('/')).statusCode).toBe(200);
      const res = await app.inject(`/posts/${uncached}`);
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toBe(HTML);
    } finally {
      db.open();
    }
    expect((await app.inject(`/posts/${uncached}`)).statusCode).toBe(200);
    expect(db.opens).toBe(2);
  });
});

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
