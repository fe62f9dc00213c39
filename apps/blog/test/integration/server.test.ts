// The real entry point with the default corpus: first start seeds, second start reuses the database; both print
// the ready line, serve, and exit 0 on SIGTERM / SIGINT.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '../helpers/app.js';
import { SERVER_ENTRY, startServer } from '../helpers/server.js';

const READY =
  /^blog: ready in \d+ ms \(boot \d+ ms, db \d+ ms, seed (\d+) ms, index \d+ ms, templates \d+ ms, caches \d+ ms, plugins \d+ ms, listen \d+ ms\) on http:\/\/127\.0\.0\.1:\d+$/;

describe('node dist/server.js', () => {
  const dataDir = makeTempDir('blog-server-');
  afterAll(() => removeDir(dataDir));

  it('is built', () => {
    expect(existsSync(SERVER_ENTRY)).toBe(true);
  });

  it('seeds 3000 posts on the first start, serves, and stops with exit code 0 on SIGTERM', async () => {
    const server = await startServer({ dataDir });
    try {
      expect(server.readyLine).toMatch(READY);
      const health = (await (await fetch(`${server.baseUrl}/healthz`)).json()) as {
        posts: number;
        indexed: number;
      };
      expect(health).toMatchObject({ posts: 3000, indexed: 3000 });
      const home = await fetch(`${server.baseUrl}/`);
      expect(home.status).toBe(200);
      expect(await home.text()).toContain('Latest posts');
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
    expect(server.output()).toContain('blog: stopped (SIGTERM)');
    // Closed cleanly: SQLite folded its WAL back, the log has the ready line.
    expect(existsSync(join(dataDir, 'blog.db-wal'))).toBe(false);
    const log = readFileSync(join(dataDir, 'blog.log'), 'utf8');
    expect(log).toContain(server.readyLine);
    expect(log).toContain('"signal":"SIGTERM"');
  });

  it('reuses the database on the next start and stops with exit code 0 on SIGINT', async () => {
    const server = await startServer({ dataDir });
    try {
      const seedMs = Number(READY.exec(server.readyLine)?.[1]);
      expect(seedMs).toBeLessThan(50);
      const res = await fetch(`${server.baseUrl}/rss.xml`);
      expect(res.status).toBe(200);
    } finally {
      expect(await server.stop('SIGINT')).toBe(0);
    }
  });
});
