// Every SQL statement of the blog, in one place. Statements are prepared through the holder (connection.ts),
// so they survive a close/reopen around a checkpoint.
import type { BlogDatabase } from './connection.js';

export interface TagRef {
  readonly slug: string;
  readonly name: string;
}
export interface TagWithCount extends TagRef {
  readonly id: number;
  readonly count: number;
}
export interface PostSummary {
  readonly id: number;
  readonly slug: string;
  readonly title: string;
  readonly summary: string;
  readonly publishedAt: string;
  readonly authorName: string;
  readonly authorSlug: string;
  readonly tags: readonly TagRef[];
}
export interface Post extends PostSummary {
  readonly bodyMarkdown: string;
  readonly authorBio: string;
}
export interface ArchiveMonth {
  readonly year: number;
  readonly month: number;
  readonly count: number;
}
export interface Comment {
  readonly id: number;
  readonly authorName: string;
  readonly body: string;
  readonly createdAt: string;
}
/** Where the comments table stood at one moment: its highest id and how many rows it had. */
export interface CommentMark {
  readonly maxId: number;
  readonly count: number;
}
export interface IndexablePost {
  readonly id: number;
  readonly slug: string;
  readonly title: string;
  readonly summary: string;
  readonly bodyMarkdown: string;
  readonly publishedAt: string;
  readonly tags: string;
}

interface PostRow {
  id: number;
  slug: string;
  title: string;
  summary: string;
  publishedAt: string;
  authorName: string;
  authorSlug: string;
}

const SUMMARY_COLUMNS = `p.id, p.slug, p.title, p.summary, p.published_at AS publishedAt,
  a.name AS authorName, a.slug AS authorSlug`;

function monthRange(year: number, month: number): [string, string] {
  const from = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
  const next = month === 12 ? [year + 1, 1] : [year, month + 1];
  const to = `${String(next[0]).padStart(4, '0')}-${String(next[1]).padStart(2, '0')}`;
  return [from, to];
}

export class BlogQueries {
  readonly #db: BlogDatabase;

  constructor(db: BlogDatabase) {
    this.#db = db;
  }

  countPosts(): number {
    return (this.#db.statement('SELECT COUNT(*) AS n FROM posts').get() as unknown as { n: number }).n;
  }

  latestPosts(limit: number, offset = 0): PostSummary[] {
    const rows = this.#db
      .statement(
        `SELECT ${SUMMARY_COLUMNS} FROM posts p JOIN authors a ON a.id = p.author_id
         ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?`,
      )
      .all(limit, offset) as unknown as PostRow[];
    return this.#withTags(rows);
  }

  /** Slugs, newest first. */
  postSlugs(): string[] {
    return this.#db
      .statement('SELECT slug FROM posts ORDER BY published_at DESC, id DESC')
      .all()
      .map((row) => row.slug as string);
  }

  postBySlug(slug: string): Post | undefined {
    const row = this.#db
      .statement(
        `SELECT ${SUMMARY_COLUMNS}, p.body_markdown AS bodyMarkdown, a.bio AS authorBio
         FROM posts p JOIN authors a ON a.id = p.author_id WHERE p.slug = ?`,
      )
      .get(slug) as unknown as (PostRow & { bodyMarkdown: string; authorBio: string }) | undefined;
    if (!row) return undefined;
    return { ...row, tags: this.#tagsOf([row.id]).get(row.id) ?? [] };
  }

  /** The posts published just before and just after this one. */
  neighbours(post: PostSummary): { older?: TagRef & { title: string }; newer?: TagRef & { title: string } } {
    const older = this.#db
      .statement(
        `SELECT slug, title, title AS name FROM posts WHERE (published_at, id) < (?, ?)
         ORDER BY published_at DESC, id DESC LIMIT 1`,
      )
      .get(post.publishedAt, post.id) as unknown as (TagRef & { title: string }) | undefined;
    const newer = this.#db
      .statement(
        `SELECT slug, title, title AS name FROM posts WHERE (published_at, id) > (?, ?)
         ORDER BY published_at ASC, id ASC LIMIT 1`,
      )
      .get(post.publishedAt, post.id) as unknown as (TagRef & { title: string }) | undefined;
    return { ...(older ? { older } : {}), ...(newer ? { newer } : {}) };
  }

  tagsWithCounts(): TagWithCount[] {
    return this.#db
      .statement(
        `SELECT t.id, t.slug, t.name, COUNT(pt.post_id) AS count
         FROM tags t LEFT JOIN post_tags pt ON pt.tag_id = t.id
         GROUP BY t.id ORDER BY t.name COLLATE NOCASE`,
      )
      .all() as unknown as TagWithCount[];
  }

  tagBySlug(slug: string): (TagRef & { id: number }) | undefined {
    return this.#db.statement('SELECT id, slug, name FROM tags WHERE slug = ?').get(slug) as
      | (TagRef & { id: number })
      | undefined;
  }

  countPostsByTag(tagId: number): number {
    return (
      this.#db.statement('SELECT COUNT(*) AS n FROM post_tags WHERE tag_id = ?').get(tagId) as unknown as {
        n: number;
      }
    ).n;
  }

  postsByTag(tagId: number, limit: number, offset = 0): PostSummary[] {
    const rows = this.#db
      .statement(
        `SELECT ${SUMMARY_COLUMNS} FROM post_tags pt
         JOIN posts p ON p.id = pt.post_id JOIN authors a ON a.id = p.author_id
         WHERE pt.tag_id = ? ORDER BY p.published_at DESC, p.id DESC LIMIT ? OFFSET ?`,
      )
      .all(tagId, limit, offset) as unknown as PostRow[];
    return this.#withTags(rows);
  }

  archiveMonths(): ArchiveMonth[] {
    return this.#db
      .statement(
        `SELECT CAST(substr(published_at, 1, 4) AS INTEGER) AS year,
                CAST(substr(published_at, 6, 2) AS INTEGER) AS month, COUNT(*) AS count
         FROM posts GROUP BY substr(published_at, 1, 7) ORDER BY year DESC, month DESC`,
      )
      .all() as unknown as ArchiveMonth[];
  }

  postsInMonth(year: number, month: number): PostSummary[] {
    const [from, to] = monthRange(year, month);
    const rows = this.#db
      .statement(
        `SELECT ${SUMMARY_COLUMNS} FROM posts p JOIN authors a ON a.id = p.author_id
         WHERE p.published_at >= ? AND p.published_at < ? ORDER BY p.published_at DESC, p.id DESC`,
      )
      .all(from, to) as unknown as PostRow[];
    return this.#withTags(rows);
  }

  /** Newest posts with their Markdown, for the feeds. */
  recentPosts(limit: number): Post[] {
    const rows = this.#db
      .statement(
        `SELECT ${SUMMARY_COLUMNS}, p.body_markdown AS bodyMarkdown, a.bio AS authorBio
         FROM posts p JOIN authors a ON a.id = p.author_id
         ORDER BY p.published_at DESC, p.id DESC LIMIT ?`,
      )
      .all(limit) as unknown as (PostRow & { bodyMarkdown: string; authorBio: string })[];
    const tags = this.#tagsOf(rows.map((r) => r.id));
    return rows.map((r) => ({ ...r, tags: tags.get(r.id) ?? [] }));
  }

  /** Every post with the text the search index needs; tags as a space-separated list of names. */
  *postsForIndex(): IterableIterator<IndexablePost> {
    yield* this.#db
      .statement(
        `SELECT p.id, p.slug, p.title, p.summary, p.body_markdown AS bodyMarkdown, p.published_at AS publishedAt,
                COALESCE((SELECT group_concat(t.name, ' ') FROM post_tags pt JOIN tags t ON t.id = pt.tag_id
                          WHERE pt.post_id = p.id), '') AS tags
         FROM posts p ORDER BY p.id`,
      )
      .iterate() as unknown as IterableIterator<IndexablePost>;
  }

  commentsFor(postId: number): Comment[] {
    return this.#db
      .statement(
        `SELECT id, author_name AS authorName, body, created_at AS createdAt
         FROM comments WHERE post_id = ? ORDER BY created_at, id`,
      )
      .all(postId) as unknown as Comment[];
  }

  addComment(postId: number, authorName: string, body: string, createdAt: Date): number {
    const result = this.#db
      .statement('INSERT INTO comments (post_id, author_name, body, created_at) VALUES (?, ?, ?, ?)')
      .run(postId, authorName, body, createdAt.toISOString());
    return Number(result.lastInsertRowid);
  }

  commentMark(): CommentMark {
    return this.#db
      .statement('SELECT COALESCE(MAX(id), 0) AS maxId, COUNT(*) AS count FROM comments')
      .get() as unknown as CommentMark;
  }

  /** How many comments have an id up to `maxId` (to tell whether any of those were deleted since). */
  countCommentsUpTo(maxId: number): number {
    return (
      this.#db.statement('SELECT COUNT(*) AS n FROM comments WHERE id <= ?').get(maxId) as unknown as {
        n: number;
      }
    ).n;
  }

  /** Slugs of the posts that have comments with an id above `maxId`. */
  postSlugsCommentedAfter(maxId: number): string[] {
    return this.#db
      .statement(
        `SELECT DISTINCT p.slug FROM comments c JOIN posts p ON p.id = c.post_id WHERE c.id > ? ORDER BY p.slug`,
      )
      .all(maxId)
      .map((row) => row.slug as string);
  }

  #withTags(rows: PostRow[]): PostSummary[] {
    const tags = this.#tagsOf(rows.map((r) => r.id));
    return rows.map((r) => ({ ...r, tags: tags.get(r.id) ?? [] }));
  }

  #tagsOf(postIds: number[]): Map<number, TagRef[]> {
    const byPost = new Map<number, TagRef[]>();
    if (postIds.length === 0) return byPost;
    const rows = this.#db
      .statement(
        `SELECT pt.post_id AS postId, t.slug, t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id
         WHERE pt.post_id IN (SELECT value FROM json_each(?)) ORDER BY t.name COLLATE NOCASE`,
      )
      .all(JSON.stringify(postIds)) as { postId: number; slug: string; name: string }[];
    for (const { postId, slug, name } of rows) {
      const list = byPost.get(postId);
      if (list) list.push({ slug, name });
      else byPost.set(postId, [{ slug, name }]);
    }
    return byPost;
  }
}
