// Schema migrations, applied in order and recorded in SQLite's user_version.
import type { BlogDatabase } from './connection.js';

const MIGRATIONS: readonly string[] = [
  // 1: content
  `CREATE TABLE authors (
     id INTEGER PRIMARY KEY,
     slug TEXT NOT NULL UNIQUE,
     name TEXT NOT NULL,
     bio TEXT NOT NULL
   );
   CREATE TABLE tags (
     id INTEGER PRIMARY KEY,
     slug TEXT NOT NULL UNIQUE,
     name TEXT NOT NULL
   );
   CREATE TABLE posts (
     id INTEGER PRIMARY KEY,
     slug TEXT NOT NULL UNIQUE,
     title TEXT NOT NULL,
     summary TEXT NOT NULL,
     body_markdown TEXT NOT NULL,
     author_id INTEGER NOT NULL REFERENCES authors(id),
     published_at TEXT NOT NULL
   );
   CREATE INDEX idx_posts_published_at ON posts (published_at DESC);
   CREATE TABLE post_tags (
     post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
     tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
     PRIMARY KEY (post_id, tag_id)
   ) WITHOUT ROWID;
   CREATE INDEX idx_post_tags_tag ON post_tags (tag_id, post_id);`,
  // 2: comments
  `CREATE TABLE comments (
     id INTEGER PRIMARY KEY,
     post_id INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
     author_name TEXT NOT NULL,
     body TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE INDEX idx_comments_post ON comments (post_id, created_at);`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Applies the migrations the database has not seen yet; returns how many ran. */
export function migrate(db: BlogDatabase): number {
  const current = (db.connection.prepare('PRAGMA user_version').get() as unknown as { user_version: number })
    .user_version;
  if (current > SCHEMA_VERSION) {
    throw new Error(`${db.file}: schema version ${current} is newer than this blog (${SCHEMA_VERSION})`);
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.connection.exec(MIGRATIONS[v]!);
      db.connection.exec(`PRAGMA user_version = ${v + 1}`);
    });
  }
  return SCHEMA_VERSION - current;
}
