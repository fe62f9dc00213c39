// The browser checks of the blog, against any base URL: a cold server today, a restored one later.
// Debian's Chromium through playwright-core; no browser is ever downloaded.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { expect } from 'vitest';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../../../test-artifacts/blog/', import.meta.url));
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

export interface BrowserCheckResult {
  readonly homeTitle: string;
  readonly postUrl: string;
  readonly postTitle: string;
  /** Titles of the posts listed on the home page, in order. */
  readonly homePostTitles: readonly string[];
  /** Text of the post body as the browser rendered it (to compare two servers). */
  readonly postBodyText: string;
  readonly screenshots: readonly string[];
}

/**
 * Loads the home page and a post page with a code block, checks that they render (title, post list, body,
 * highlighted code, comment form, stylesheet applied) and saves screenshots as `<label>-home.png` and
 * `<label>-post.png` under test-artifacts/blog/.
 */
export async function checkPagesInBrowser(baseUrl: string, label: string): Promise<BrowserCheckResult> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('requestfailed', (req) => errors.push(`request failed: ${req.url()}`));

    const home = await page.goto(`${baseUrl}/`, { waitUntil: 'load' });
    expect(home?.status()).toBe(200);
    const homeTitle = await page.title();
    expect(homeTitle).toBe('The Warm Start');
    expect(await page.locator('a.brand').textContent()).toBe('The Warm Start');
    expect(await page.locator('h1.page-title').textContent()).toBe('Latest posts');
    expect(await page.locator('.post-list .post-item').count()).toBe(10);
    const homePostTitles = (await page.locator('.post-list .post-item-title').allTextContents()).map((t) =>
      t.trim(),
    );
    // The stylesheet is loaded and applied (the header has its own background and border).
    const headerBorder = await page
      .locator('header.site-header')
      .evaluate((el) => getComputedStyle(el).borderBottomStyle);
    expect(headerBorder).toBe('solid');
    const homeShot = join(ARTIFACTS_DIR, `${label}-home.png`);
    await page.screenshot({ path: homeShot, fullPage: false });

    // Find a post on the home page that shows a code block, following links like a reader would.
    const links = await page
      .locator('.post-item-title a')
      .evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    let postUrl = '';
    for (const href of links) {
      if (!href) continue;
      const res = await page.goto(`${baseUrl}${href}`, { waitUntil: 'load' });
      expect(res?.status()).toBe(200);
      if ((await page.locator('.post-body pre.code code.hljs .hljs-keyword').count()) > 0) {
        postUrl = href;
        break;
      }
    }
    expect(postUrl, 'a post on the home page with highlighted keywords').not.toBe('');
    const postTitle = (await page.locator('article.post h1').textContent()) ?? '';
    expect(postTitle.length).toBeGreaterThan(5);
    expect(await page.title()).toBe(`${postTitle} · The Warm Start`);
    expect(await page.locator('.post-body p').count()).toBeGreaterThan(3);
    expect(await page.locator('.post-body h2').count()).toBeGreaterThan(1);
    const postBodyText = ((await page.locator('article.post .post-body').textContent()) ?? '').trim();
    expect(postBodyText.length).toBeGreaterThan(200);
    // Highlighted: the code block contains highlight.js token spans, colored by the stylesheet.
    const code = page.locator('.post-body pre.code code.hljs:has(.hljs-keyword)').first();
    expect(await code.locator('span[class^="hljs-"]').count()).toBeGreaterThan(2);
    const plain = await code.evaluate((el) => getComputedStyle(el).color);
    const keyword = await code
      .locator('.hljs-keyword')
      .first()
      .evaluate((el) => getComputedStyle(el).color);
    expect(keyword, 'keywords are colored').not.toBe(plain);
    expect(await page.locator('form.comment-form textarea[name="body"]').count()).toBe(1);
    // Bring the first code block into view for the screenshot.
    await code.scrollIntoViewIfNeeded();
    await page.evaluate(() => window.scrollBy(0, -300));
    const postShot = join(ARTIFACTS_DIR, `${label}-post.png`);
    await page.screenshot({ path: postShot, fullPage: false });

    expect(errors).toEqual([]);
    return { homeTitle, postUrl, postTitle, homePostTitles, postBodyText, screenshots: [homeShot, postShot] };
  } finally {
    await browser.close();
  }
}
