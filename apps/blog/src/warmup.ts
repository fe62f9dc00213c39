// What a visitor hits, replayed over real HTTP by the defrost plugin before a checkpoint (and usable by any
// warm-up): the landing pages, a spread of posts, tags, the archive, feeds, searches and the stylesheet.
// Only GET requests: a warm-up must not write to the blog.
import type { SiteMeta } from './context.js';
import type { BlogQueries } from './db/queries.js';

export interface WarmupRequest {
  readonly method: 'GET';
  readonly url: string;
}

export const WARMUP_SEARCHES = [
  'cold start',
  'sqlite',
  'rust',
  'cache invalidation',
  'typescript',
  'latency',
] as const;

export interface WarmupOptions {
  /** How many post pages (default 50): the newest 20, the rest spread evenly over the whole corpus. */
  readonly posts?: number;
}

export function warmupRequests(
  queries: BlogQueries,
  meta: SiteMeta,
  options: WarmupOptions = {},
): WarmupRequest[] {
  const urls: string[] = ['/', '/page/2', '/page/3'];

  const slugs = queries.postSlugs();
  const want = Math.min(options.posts ?? 50, slugs.length);
  const newest = Math.min(20, want);
  const chosen = new Set(slugs.slice(0, newest));
  const rest = want - newest;
  for (let i = 0; i < rest; i++) {
    const index = newest + Math.floor(((i + 0.5) * (slugs.length - newest)) / rest);
    const slug = slugs[Math.min(index, slugs.length - 1)];
    if (slug) chosen.add(slug);
  }
  for (const slug of chosen) urls.push(`/posts/${slug}`);

  const topTags = [...meta.tags]
    .sort((a, b) => b.count - a.count || a.slug.localeCompare(b.slug))
    .slice(0, 8);
  urls.push('/tags');
  for (const tag of topTags) urls.push(`/tags/${tag.slug}`);
  if (topTags[0] && topTags[0].count > 10) urls.push(`/tags/${topTags[0].slug}/page/2`);

  urls.push('/archive');
  for (const m of meta.archive.slice(0, 3))
    urls.push(`/archive/${m.year}/${String(m.month).padStart(2, '0')}`);

  urls.push('/rss.xml', '/atom.xml');
  urls.push('/search');
  for (const q of WARMUP_SEARCHES) urls.push(`/search?q=${encodeURIComponent(q)}`);
  urls.push('/static/style.css');

  return urls.map((url) => ({ method: 'GET', url }));
}
