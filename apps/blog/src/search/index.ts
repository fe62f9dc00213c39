// Full-text search over every post, built in memory at startup with MiniSearch (title, tags, summary, body).
import MiniSearch from 'minisearch';
import { markdownToPlainText } from '../content/markdown.js';
import type { IndexablePost } from '../db/queries.js';

export interface SearchHit {
  readonly slug: string;
  readonly title: string;
  readonly summary: string;
  readonly publishedAt: string;
  readonly score: number;
}

interface IndexedDoc {
  id: number;
  slug: string;
  title: string;
  summary: string;
  publishedAt: string;
  tags: string;
  text: string;
}

const STOP_WORDS = new Set(
  'a an and are as at be but by for from has have in is it its of on or that the this to was we were with'.split(
    ' ',
  ),
);

export const MAX_QUERY_LENGTH = 200;

export class SearchIndex {
  readonly #index: MiniSearch<IndexedDoc>;

  private constructor(index: MiniSearch<IndexedDoc>) {
    this.#index = index;
  }

  static build(posts: Iterable<IndexablePost>): SearchIndex {
    const index = new MiniSearch<IndexedDoc>({
      fields: ['title', 'tags', 'summary', 'text'],
      storeFields: ['slug', 'title', 'summary', 'publishedAt'],
      processTerm: (term) => {
        const t = term.toLowerCase();
        return t.length < 2 || STOP_WORDS.has(t) ? null : t;
      },
      searchOptions: {
        boost: { title: 4, tags: 3, summary: 1.5 },
        prefix: (term) => term.length >= 3,
        fuzzy: (term) => (term.length >= 5 ? 0.2 : false),
        combineWith: 'AND',
      },
    });
    const batch: IndexedDoc[] = [];
    for (const p of posts) {
      batch.push({
        id: p.id,
        slug: p.slug,
        title: p.title,
        summary: p.summary,
        publishedAt: p.publishedAt,
        tags: p.tags,
        text: markdownToPlainText(p.bodyMarkdown),
      });
      if (batch.length === 500) index.addAll(batch.splice(0));
    }
    index.addAll(batch);
    return new SearchIndex(index);
  }

  get documentCount(): number {
    return this.#index.documentCount;
  }

  get termCount(): number {
    return this.#index.termCount;
  }

  search(query: string, limit = 20): { total: number; hits: SearchHit[] } {
    const q = query.trim().slice(0, MAX_QUERY_LENGTH);
    if (!q) return { total: 0, hits: [] };
    const results = this.#index.search(q);
    return {
      total: results.length,
      hits: results.slice(0, limit).map((r) => ({
        slug: r.slug as string,
        title: r.title as string,
        summary: r.summary as string,
        publishedAt: r.publishedAt as string,
        score: r.score,
      })),
    };
  }
}
