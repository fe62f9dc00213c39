// The blog frozen with real CRIU and restored twice from the same image (core's restore(), not the CLI): the
// restored copies serve from the caches the warm-up filled, take comments into SQLite, keep logging to the same
// pino file, and render the same pages in a browser as the cold server. Needs root, CRIU and `build` of
// @defrost/core, @defrost/fastify and this app.
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type RestoredServer, restore } from '@defrost/core';
import { spawnTracked, stopAllStarted, track } from '@defrost/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserCheckResult, CHROMIUM_PATH, checkPagesInBrowser } from '../helpers/browser.js';
import { SERVER_ENTRY, startServer } from '../helpers/server.js';

// Small, so that the whole file takes seconds: 120 posts (the warm-up list still has 50 of them) and 5 rounds.
const POST_COUNT = '120';
const WARMUP_ROUNDS = '5';
// Long comments: four of them need new database pages, so the file grows between the two restores.
const COMMENT_BODY = 'Still warm after a restore, and the comment is in SQLite. '.repeat(65).trim();
const COMMENTS = 4;

interface CacheStats {
  entries: number;
  hits: number;
  misses: number;
}
interface Health {
  status: string;
  posts: number;
  cache: CacheStats;
  dbOpens: number;
}

let work = '';
let dataDir = '';
let imageDir = '';
let dbFile = '';
let logFile = '';
let baseUrl = '';
let cold: BrowserCheckResult | undefined;
let coldReadyMs = 0;
let warmupRequests = 0;
let dbSizeAtCheckpoint = 0;
let dbSizeAfterFirstRestore = 0;
const timings: string[] = [];

/** Restores one copy of the image with its stdout/stderr in `outFile`; stopped by afterAll if a test fails. */
async function restoreCopy(outFile: string): Promise<RestoredServer> {
  const out = openSync(outFile, 'a');
  try {
    const copy = await restore(imageDir, { stdout: out, stderr: out });
    track(copy.pid);
    track(copy.launcherPid);
    return copy;
  } finally {
    closeSync(out);
  }
}

async function health(): Promise<Health> {
  return (await (await fetch(`${baseUrl}/healthz`)).json()) as Health;
}

/** The pino lines appended since `offset`, each parsed (a line that is not JSON fails the test). */
function logLinesSince(offset: number): Record<string, unknown>[] {
  const text = readFileSync(logFile).subarray(offset).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The copy logged its own restore line and reopened the database, in the shared log file. */
function expectCopyResumedInLog(lines: Record<string, unknown>[], restoreId: string): void {
  expect(lines).toContainEqual(
    expect.objectContaining({ msg: expect.stringMatching(/^defrost: restored in \d+ ms/), restoreId }),
  );
  // Third open: cold, after the rehearsal of the freeze, after this restore.
  expect(lines).toContainEqual(expect.objectContaining({ msg: 'restore: database reopened', opens: 3 }));
}

describe('blog checkpointed and restored with real CRIU', () => {
  beforeAll(() => {
    if (!existsSync(SERVER_ENTRY))
      throw new Error(`${SERVER_ENTRY} is missing: run 'pnpm --filter @defrost/blog build'`);
    if (!existsSync(CHROMIUM_PATH))
      throw new Error(`${CHROMIUM_PATH} is missing: run scripts/install-test-tools.sh`);
    work = mkdtempSync(join(tmpdir(), 'blog-defrost-'));
    dataDir = join(work, 'data');
    imageDir = join(work, 'image');
    dbFile = join(dataDir, 'blog.db');
    logFile = join(dataDir, 'blog.log');
  });

  afterAll(async () => {
    await stopAllStarted();
    if (timings.length > 0) console.log(`blog cold vs defrost:\n  ${timings.join('\n  ')}`);
    if (!process.env.KEEP_WORK) rmSync(work, { recursive: true, force: true });
  });

  it('starts cold (seeding the database) and renders in a browser', async () => {
    const started = performance.now();
    const server = await startServer({ dataDir, env: { BLOG_POST_COUNT: POST_COUNT } });
    coldReadyMs = performance.now() - started;
    try {
      timings.push(`cold start, first start (seeds ${POST_COUNT} posts): ${server.readyLine}`);
      cold = await checkPagesInBrowser(server.baseUrl, 'defrost-cold');
    } finally {
      expect(await server.stop()).toBe(0);
    }
    // Cold again, on the seeded database: the start a restore competes with.
    const again = performance.now();
    const second = await startServer({ dataDir, env: { BLOG_POST_COUNT: POST_COUNT } });
    coldReadyMs = performance.now() - again;
    timings.push(
      `cold start (database seeded): ready after ${Math.round(coldReadyMs)} ms; ${second.readyLine}`,
    );
    expect(await second.stop()).toBe(0);
  });

  it('warms up over HTTP, freezes and exits 0 leaving a sealed image', async () => {
    const started = performance.now();
    const app = await spawnTracked(process.execPath, ['--expose-gc', SERVER_ENTRY], {
      PORT: '0',
      HOST: '127.0.0.1',
      BLOG_DATA_DIR: dataDir,
      BLOG_POST_COUNT: POST_COUNT,
      BLOG_WARMUP_ROUNDS: WARMUP_ROUNDS,
      DEFROST_CHECKPOINT_IMAGE: imageDir,
    });
    const exit = await app.exited;
    const output = `${app.lines.join('\n')}\n${app.stderr()}`;
    expect(exit, output).toEqual({ code: 0, signal: null });
    timings.push(`checkpoint (start, warm-up, freeze): ${Math.round(performance.now() - started)} ms`);

    const ready = app.lines.find((l) => l.startsWith('blog: ready in '));
    const address = / on (http:\/\/127\.0\.0\.1:\d+)$/.exec(ready ?? '')?.[1];
    expect(address, output).toBeDefined();
    baseUrl = address!;

    const manifest = JSON.parse(readFileSync(join(imageDir, 'defrost.json'), 'utf8')) as {
      warmup?: { requests: number; rounds: number };
    };
    expect(manifest.warmup?.rounds).toBe(Number(WARMUP_ROUNDS));
    warmupRequests = manifest.warmup!.requests;
    expect(warmupRequests).toBeGreaterThan(50 * Number(WARMUP_ROUNDS));
    // The database was closed before the freeze: WAL folded back, nothing of it open in the image.
    expect(existsSync(`${dbFile}-wal`)).toBe(false);
    dbSizeAtCheckpoint = statSync(dbFile).size;
    const log = readFileSync(logFile, 'utf8');
    expect(log).toContain('checkpoint: closing the database');
    expect(log).toContain('defrost: checkpoint written');
  });

  it('restores warm: pages come from the warmed caches; a comment goes into SQLite', async () => {
    const logOffset = statSync(logFile).size;
    const out = join(work, 'restore-1.out');
    const copy = await restoreCopy(out);
    timings.push(
      `restore 1: ready after ${Math.round(copy.readyMs)} ms (checks ${Math.round(copy.timings.checksMs)} ms, criu ${Math.round(copy.timings.criuMs ?? -1)} ms, hooks ${Math.round(copy.hooksMs)} ms)`,
    );
    expect(copy.readyMs).toBeLessThan(coldReadyMs);

    // The very first requests after the restore are cache hits: the warm-up's rendered pages are in the image.
    const home = await fetch(`${baseUrl}/`);
    expect(home.status).toBe(200);
    expect(home.headers.get('x-cache')).toBe('hit');
    const postUrl = cold!.postUrl;
    const before = await fetch(`${baseUrl}${postUrl}`);
    expect(before.headers.get('x-cache')).toBe('hit');
    expect(await before.text()).toContain('No comments yet');
    const h = await health();
    expect(h).toMatchObject({ status: 'ok', posts: Number(POST_COUNT), dbOpens: 3 });
    // Every page of the warm-up list (all but the stylesheet) is cached; the warm-up hit them again and again.
    expect(h.cache.entries).toBeGreaterThanOrEqual(60);
    expect(h.cache.hits).toBeGreaterThan(warmupRequests / 2);

    const ids: string[] = [];
    for (let i = 1; i <= COMMENTS; i++) {
      const res = await fetch(`${baseUrl}${postUrl}/comments`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ name: `Restored reader ${i}`, body: `${i}: ${COMMENT_BODY}` }),
        redirect: 'manual',
      });
      expect(res.status).toBe(303);
      const id = res.headers.get('location')?.split('#comment-')[1];
      expect(id).toMatch(/^\d+$/);
      ids.push(id!);
    }
    const after = await fetch(`${baseUrl}${postUrl}`);
    expect(after.headers.get('x-cache')).toBe('miss');
    const page = await after.text();
    expect(page).toContain(`${COMMENTS} comments`);
    for (const [i, id] of ids.entries()) {
      expect(page).toContain(`id="comment-${id}"`);
      expect(page).toContain(`Restored reader ${i + 1}`);
    }

    expect(await copy.stop()).toEqual({ status: 0 });
    expect(readFileSync(out, 'utf8')).toContain('blog: stopped (SIGTERM)');
    // Closed cleanly, and bigger than when the image was made.
    expect(existsSync(`${dbFile}-wal`)).toBe(false);
    dbSizeAfterFirstRestore = statSync(dbFile).size;
    expect(dbSizeAfterFirstRestore).toBeGreaterThan(dbSizeAtCheckpoint);

    const lines = logLinesSince(logOffset);
    expectCopyResumedInLog(lines, copy.restoreId);
    expect(lines.filter((l) => l.msg === 'comment added')).toHaveLength(COMMENTS);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'shutting down', signal: 'SIGTERM' }));
  });

  it('restores the same image again onto the grown database: the comments are still there', async () => {
    const logOffset = statSync(logFile).size;
    const out = join(work, 'restore-2.out');
    const copy = await restoreCopy(out);
    timings.push(
      `restore 2: ready after ${Math.round(copy.readyMs)} ms (checks ${Math.round(copy.timings.checksMs)} ms, criu ${Math.round(copy.timings.criuMs ?? -1)} ms, hooks ${Math.round(copy.hooksMs)} ms)`,
    );

    // The image's cached copy of the post page predates the comments: it must not be served.
    const post = await fetch(`${baseUrl}${cold!.postUrl}`);
    expect(post.status).toBe(200);
    const page = await post.text();
    expect(page).toContain(`${COMMENTS} comments`);
    for (let i = 1; i <= COMMENTS; i++) expect(page).toContain(`Restored reader ${i}`);
    // The rest is still warm.
    expect((await fetch(`${baseUrl}/`)).headers.get('x-cache')).toBe('hit');
    expect((await fetch(`${baseUrl}/rss.xml`)).headers.get('x-cache')).toBe('hit');
    expect(await health()).toMatchObject({ status: 'ok', dbOpens: 3 });

    // And a real browser sees the same blog as it did on the cold server.
    const restored = await checkPagesInBrowser(baseUrl, 'restored');
    expect(restored.homeTitle).toBe(cold!.homeTitle);
    expect(restored.homePostTitles).toEqual(cold!.homePostTitles);
    expect(restored.postUrl).toBe(cold!.postUrl);
    expect(restored.postTitle).toBe(cold!.postTitle);
    expect(restored.postBodyText).toBe(cold!.postBodyText);
    for (const file of restored.screenshots) expect(existsSync(file)).toBe(true);

    expect(await copy.stop()).toEqual({ status: 0 });
    expect(readFileSync(out, 'utf8')).toContain('blog: stopped (SIGTERM)');
    expect(statSync(dbFile).size).toBe(dbSizeAfterFirstRestore);

    // The second copy logs into the same file, after the first copy's lines.
    const lines = logLinesSince(logOffset);
    expectCopyResumedInLog(lines, copy.restoreId);
    expect(lines.filter((l) => l.msg === 'request completed').length).toBeGreaterThanOrEqual(5);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'shutting down', signal: 'SIGTERM' }));
  });
});
