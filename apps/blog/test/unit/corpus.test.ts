// The generated corpus: deterministic, varied, real Markdown.
import { describe, expect, it } from 'vitest';
import { generateCorpus, slugify } from '../../src/content/corpus.js';
import { MarkdownRenderer, markdownToPlainText } from '../../src/content/markdown.js';
import { Prng } from '../../src/content/prng.js';

describe('Prng', () => {
  it('is deterministic per seed and spreads values', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(xs);
    expect(c.next()).not.toBe(xs[0]);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});

describe('generateCorpus', () => {
  const corpus = generateCorpus({ postCount: 300 });

  it('gives the same corpus for the same seed and a different one for another seed', () => {
    expect(generateCorpus({ postCount: 300 })).toEqual(corpus);
    expect(generateCorpus({ postCount: 300, seed: 7 }).posts[0]).not.toEqual(corpus.posts[0]);
  });

  it('is a prefix of the larger corpus (the size does not change earlier posts)', () => {
    expect(generateCorpus({ postCount: 310 }).posts.slice(0, 300)).toEqual(corpus.posts);
  });

  it('has unique slugs, increasing dates, known authors and tags', () => {
    const slugs = new Set(corpus.posts.map((p) => p.slug));
    expect(slugs.size).toBe(300);
    const authors = new Set(corpus.authors.map((a) => a.slug));
    const tags = new Set(corpus.tags.map((t) => t.slug));
    let previous = '';
    for (const p of corpus.posts) {
      expect(p.slug).toBe(slugify(p.slug));
      expect(p.publishedAt > previous).toBe(true);
      previous = p.publishedAt;
      expect(authors.has(p.authorSlug)).toBe(true);
      expect(p.tagSlugs.length).toBeGreaterThanOrEqual(2);
      for (const t of p.tagSlugs) expect(tags.has(t)).toBe(true);
    }
    expect(corpus.posts[0]!.publishedAt.startsWith('2013-01')).toBe(true);
  });

  it('writes real Markdown: headings, lists, links, code in several languages', () => {
    const all = corpus.posts.map((p) => p.bodyMarkdown).join('\n');
    expect(all).toMatch(/^## /m);
    expect(all).toMatch(/^- /m);
    expect(all).toMatch(/^1\. /m);
    expect(all).toMatch(/^> /m);
    expect(all).toMatch(/^\| --- \|/m);
    expect(all).toMatch(/\]\(https:\/\//);
    expect(all).toMatch(/\]\(\/posts\//);
    const languages = new Set([...all.matchAll(/^```([a-z]+)$/gm)].map((m) => m[1]));
    for (const lang of ['javascript', 'typescript', 'rust', 'go', 'python', 'sql', 'bash', 'java']) {
      expect(languages).toContain(lang);
    }
    for (const p of corpus.posts) expect(p.bodyMarkdown).toMatch(/^```[a-z]+$/m);
  });
});

describe('MarkdownRenderer', () => {
  const md = new MarkdownRenderer();

  it('highlights code, ids headings and marks external links', () => {
    const html = md.render(
      '## Hello world\n\nSee [docs](https://example.org) and [home](/).\n\n```rust\nfn main() {}\n```\n\n```nope\n<x>\n```\n',
    );
    expect(html).toContain('<h2 id="hello-world">Hello world</h2>');
    expect(html).toContain('<a href="https://example.org" rel="noopener" class="external">docs</a>');
    expect(html).toContain('<a href="/">home</a>');
    expect(html).toContain('<pre class="code" data-lang="rust"><code class="hljs language-rust">');
    expect(html).toContain('<span class="hljs-keyword">fn</span>');
    expect(html).toContain('<pre class="code"><code class="hljs">&#60;x&#62;');
  });

  it('escapes raw HTML', () => {
    expect(md.render('<script>alert(1)</script>')).not.toContain('<script>');
  });

  it('turns Markdown into plain text for the index', () => {
    expect(
      markdownToPlainText('## Title\n\nSome **bold** [link](/x).\n\n```js\nconst hidden = 1;\n```\n'),
    ).toBe('Title Some bold link.');
  });
});
