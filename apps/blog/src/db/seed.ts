// First start: fills an empty database with the generated corpus, in one transaction.
import { type CorpusOptions, generateCorpus } from '../content/corpus.js';
import type { BlogDatabase } from './connection.js';

export interface SeedResult {
  readonly seeded: boolean;
  readonly posts: number;
}

export function seedIfEmpty(db: BlogDatabase, options: CorpusOptions = {}): SeedResult {
  const existing = (
    db.connection.prepare('SELECT COUNT(*) AS n FROM posts').get() as unknown as { n: number }
  ).n;
  if (existing > 0) return { seeded: false, posts: existing };

  const corpus = generateCorpus(options);
  const conn = db.connection;
  db.transaction(() => {
    const insertAuthor = conn.prepare('INSERT INTO authors (slug, name, bio) VALUES (?, ?, ?)');
    const insertTag = conn.prepare('INSERT INTO tags (slug, name) VALUES (?, ?)');
    const insertPost = conn.prepare(
      `INSERT INTO posts (slug, title, summary, body_markdown, author_id, published_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    const insertPostTag = conn.prepare('INSERT INTO post_tags (post_id, tag_id) VALUES (?, ?)');
    const authorIds = new Map<string, number>();
    for (const a of corpus.authors) {
      authorIds.set(a.slug, Number(insertAuthor.run(a.slug, a.name, a.bio).lastInsertRowid));
    }
    const tagIds = new Map<string, number>();
    for (const t of corpus.tags) tagIds.set(t.slug, Number(insertTag.run(t.slug, t.name).lastInsertRowid));
    for (const p of corpus.posts) {
      const postId = Number(
        insertPost.run(
          p.slug,
          p.title,
          p.summary,
          p.bodyMarkdown,
          authorIds.get(p.authorSlug)!,
          p.publishedAt,
        ).lastInsertRowid,
      );
      for (const tag of p.tagSlugs) insertPostTag.run(postId, tagIds.get(tag)!);
    }
  });
  return { seeded: true, posts: corpus.posts.length };
}
