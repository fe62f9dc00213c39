// What the routes share: the database holder and its queries, renderers, the search index and the caches.
import type { ResponseCache } from './cache.js';
import type { MarkdownRenderer } from './content/markdown.js';
import type { BlogDatabase } from './db/connection.js';
import type { ArchiveMonth, BlogQueries, TagWithCount } from './db/queries.js';
import type { SearchIndex } from './search/index.js';

/** Facts about the content that do not change while the blog runs, computed once at startup. */
export interface SiteMeta {
  readonly totalPosts: number;
  readonly tags: readonly TagWithCount[];
  readonly archive: readonly ArchiveMonth[];
}

export interface BlogContext {
  readonly db: BlogDatabase;
  readonly queries: BlogQueries;
  readonly markdown: MarkdownRenderer;
  readonly search: SearchIndex;
  readonly cache: ResponseCache;
  readonly meta: SiteMeta;
  /** Absolute origin for feeds; when unset, the origin the request came in on. */
  readonly siteUrl: string | undefined;
}

export function loadSiteMeta(queries: BlogQueries): SiteMeta {
  return {
    totalPosts: queries.countPosts(),
    tags: queries.tagsWithCounts(),
    archive: queries.archiveMonths(),
  };
}
