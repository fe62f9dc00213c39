// The database holder, migrations and seeding.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BlogDatabase, DatabaseClosedError } from '../../src/db/connection.js';
import { migrate, SCHEMA_VERSION } from '../../src/db/migrations.js';
import { BlogQueries } from '../../src/db/queries.js';
import { seedIfEmpty } from '../../src/db/seed.js';
import { buildTestApp, makeTempDir, removeDir } from '../helpers/app.js';

const dirs: string[] = [];
function tempDb(): BlogDatabase {
  const dir = makeTempDir();
  dirs.push(dir);
  const db = new BlogDatabase(join(dir, 'blog.db'));
  db.open();
  return db;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) removeDir(dir);
});

describe('BlogDatabase', () => {
  it('migrates once and seeds only an empty database', () => {
    const db = tempDb();
    expect(migrate(db)).toBe(SCHEMA_VERSION);
    expect(migrate(db)).toBe(0);
    expect(seedIfEmpty(db, { postCount: 25 })).toEqual({ seeded: true, posts: 25 });
    expect(seedIfEmpty(db, { postCount: 25 })).toEqual({ seeded: false, posts: 25 });
    db.close();
  });

  it('closes and reopens, preparing statements again', () => {
    const db = tempDb();
    migrate(db);
    seedIfEmpty(db, { postCount: 25 });
    const queries = new BlogQueries(db);
    const before = queries.latestPosts(5);
    db.close();
    expect(db.isOpen).toBe(false);
    expect(() => queries.latestPosts(5)).toThrow(DatabaseClosedError);
    db.close(); // idempotent
    db.open();
    expect(queries.latestPosts(5)).toEqual(before);
    expect(db.opens).toBe(2);
    db.close();
  });

  it('a second build on the same data dir reuses the data, comments included', async () => {
    const dir = makeTempDir();
    dirs.push(dir);
    const first = await buildTestApp({ dataDir: dir, postCount: 40 });
    const post = first.blog.ctx.queries.latestPosts(1)[0]!;
    first.blog.ctx.queries.addComment(post.id, 'Ada', 'Kept across restarts', new Date());
    await first.close();
    expect(first.blog.ctx.db.isOpen).toBe(false);

    const second = await buildTestApp({ dataDir: dir, postCount: 40 });
    try {
      expect(second.blog.seeded).toBe(false);
      expect(second.blog.ctx.queries.countPosts()).toBe(40);
      expect(second.blog.ctx.queries.commentsFor(post.id).map((c) => c.body)).toEqual([
        'Kept across restarts',
      ]);
    } finally {
      await second.close();
    }
  });
});
