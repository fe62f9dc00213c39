// RSS 2.0 and Atom 1.0: well-formed XML with the required elements, 20 items, absolute links.

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SITE } from '../../src/site.js';
import { buildTestApp, makeTempDir, removeDir } from '../helpers/app.js';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  isArray: (name) => ['item', 'entry', 'link', 'category', 'author'].includes(name),
});

function absolute(url: unknown, origin: string): void {
  expect(typeof url).toBe('string');
  expect(new URL(url as string).origin).toBe(origin);
}

describe('feeds', () => {
  let app: FastifyInstance;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = makeTempDir();
    app = await buildTestApp({ dataDir });
  });
  afterAll(async () => {
    await app.close();
    removeDir(dataDir);
  });

  it('RSS 2.0 is valid and complete', async () => {
    const res = await app.inject({ url: '/rss.xml', headers: { host: 'blog.test:8080' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/rss+xml; charset=utf-8');
    expect(XMLValidator.validate(res.body)).toBe(true);
    const doc = parser.parse(res.body);
    expect(doc.rss['@version']).toBe('2.0');
    const channel = doc.rss.channel;
    expect(channel.title).toBe(SITE.title);
    expect(channel.description).toBe(SITE.tagline);
    absolute(channel.link[0], 'http://blog.test:8080');
    expect(channel.item).toHaveLength(SITE.feedSize);

    const latest = app.blog.ctx.queries.latestPosts(SITE.feedSize);
    channel.item.forEach((item: Record<string, unknown>, i: number) => {
      expect(item.title).toBe(latest[i]!.title);
      const link = (item.link as string[])[0];
      absolute(link, 'http://blog.test:8080');
      expect(link).toBe(`http://blog.test:8080/posts/${latest[i]!.slug}`);
      expect(new Date(item.pubDate as string).toISOString()).toBe(latest[i]!.publishedAt);
      expect(item.guid).toBeDefined();
      expect(item.description).toBe(latest[i]!.summary);
      expect(String(item['content:encoded'])).toContain('<h2 id=');
    });
  });

  it('Atom 1.0 is valid and complete', async () => {
    const res = await app.inject({ url: '/atom.xml', headers: { host: 'blog.test' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/atom+xml; charset=utf-8');
    expect(XMLValidator.validate(res.body)).toBe(true);
    const feed = parser.parse(res.body).feed;
    expect(feed['@xmlns']).toBe('http://www.w3.org/2005/Atom');
    expect(feed.title).toBe(SITE.title);
    absolute(feed.id, 'http://blog.test');
    expect(Number.isNaN(Date.parse(feed.updated))).toBe(false);
    const self = feed.link.find((l: Record<string, string>) => l['@rel'] === 'self');
    expect(self['@href']).toBe('http://blog.test/atom.xml');
    expect(feed.entry).toHaveLength(SITE.feedSize);
    for (const entry of feed.entry) {
      expect(typeof entry.title['#text'] === 'string' || typeof entry.title === 'string').toBe(true);
      absolute(entry.id, 'http://blog.test');
      absolute(entry.link[0]['@href'], 'http://blog.test');
      expect(Number.isNaN(Date.parse(entry.updated))).toBe(false);
      expect(entry.author[0].name).toBeTruthy();
      expect(entry.content).toBeDefined();
    }
  });

  it('uses the configured site URL when there is one', async () => {
    const dir = makeTempDir();
    const other = await buildTestApp({ dataDir: dir, siteUrl: 'https://blog.example.org/', postCount: 30 });
    try {
      const res = await other.inject('/atom.xml');
      expect(res.body).toContain('<id>https://blog.example.org/</id>');
      expect(res.body).toContain('href="https://blog.example.org/posts/');
    } finally {
      await other.close();
      removeDir(dir);
    }
  });
});
