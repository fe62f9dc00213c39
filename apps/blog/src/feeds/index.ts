// RSS 2.0 and Atom 1.0 feeds of the latest posts (full content), built with the `feed` library.
import { Feed } from 'feed';
import type { MarkdownRenderer } from '../content/markdown.js';
import type { Post } from '../db/queries.js';
import { SITE } from '../site.js';

export type FeedFormat = 'rss' | 'atom';

export const FEED_PATHS: Readonly<Record<FeedFormat, string>> = { rss: '/rss.xml', atom: '/atom.xml' };
export const FEED_CONTENT_TYPES: Readonly<Record<FeedFormat, string>> = {
  rss: 'application/rss+xml; charset=utf-8',
  atom: 'application/atom+xml; charset=utf-8',
};

export function buildFeed(
  format: FeedFormat,
  posts: readonly Post[],
  origin: string,
  md: MarkdownRenderer,
): string {
  const newest = posts[0] ? new Date(posts[0].publishedAt) : new Date(0);
  const feed = new Feed({
    title: SITE.title,
    description: SITE.tagline,
    id: `${origin}/`,
    link: `${origin}/`,
    language: SITE.language,
    updated: newest,
    generator: '@defrost/blog',
    feedLinks: { rss: `${origin}${FEED_PATHS.rss}`, atom: `${origin}${FEED_PATHS.atom}` },
    copyright: `Copyright ${newest.getUTCFullYear()} the authors of ${SITE.title}`,
  });
  for (const post of posts) {
    const url = `${origin}/posts/${post.slug}`;
    feed.addItem({
      title: post.title,
      id: url,
      link: url,
      date: new Date(post.publishedAt),
      published: new Date(post.publishedAt),
      description: post.summary,
      content: md.render(post.bodyMarkdown),
      author: [{ name: post.authorName, link: `${origin}/` }],
      category: post.tags.map((t) => ({ name: t.name, term: t.slug, domain: `${origin}/tags/${t.slug}` })),
    });
  }
  return format === 'rss' ? feed.rss2() : feed.atom1();
}
