// Entry point: build the blog, listen on HOST:PORT, print one "ready" line, shut down gracefully on SIGTERM/SIGINT.
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { buildApp } from './app.js';
import { formatReadyLine } from './startup.js';

// Everything before this line (Node's own start and loading every module) counts as "boot".
const bootMs = performance.now();

const DEFAULT_DATA_DIR = fileURLToPath(new URL('../data/', import.meta.url));

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return value;
}

function envPositiveInt(name: string): number {
  const value = envInt(name, 1);
  if (value === 0) throw new Error(`${name} must be a positive integer, got 0`);
  return value;
}

async function main(): Promise<void> {
  const port = envInt('PORT', 3000);
  const host = process.env.HOST || '127.0.0.1';
  const app = await buildApp({
    dataDir: process.env.BLOG_DATA_DIR || DEFAULT_DATA_DIR,
    ...(process.env.BLOG_LOG_FILE ? { logFile: process.env.BLOG_LOG_FILE } : {}),
    ...(process.env.BLOG_LOG_LEVEL ? { logLevel: process.env.BLOG_LOG_LEVEL } : {}),
    ...(process.env.BLOG_POST_COUNT ? { postCount: envInt('BLOG_POST_COUNT', 3000) } : {}),
    ...(process.env.BLOG_SITE_URL ? { siteUrl: process.env.BLOG_SITE_URL } : {}),
    ...(process.env.BLOG_WARMUP_ROUNDS ? { warmupRounds: envPositiveInt('BLOG_WARMUP_ROUNDS') } : {}),
  });

  let closing = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    // A stuck close must not keep the process around forever.
    setTimeout(() => {
      console.error('blog: shutdown timed out, exiting');
      process.exit(1);
    }, 10_000).unref();
    // close() waits for every connection to end, and a browser may hold one open without a request
    // in flight (a preconnect, seen with Chromium): those are cut after a short grace.
    setTimeout(() => app.server.closeAllConnections(), 2_000).unref();
    app.close().then(
      () => {
        console.log(`blog: stopped (${signal})`);
        process.exitCode = 0;
      },
      (err: unknown) => {
        console.error('blog: error while shutting down', err);
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);

  const listenStart = performance.now();
  const address = await app.listen({ port, host });
  const phases = [
    { name: 'boot', ms: bootMs },
    ...app.blog.startup,
    { name: 'listen', ms: performance.now() - listenStart },
  ];
  const line = formatReadyLine(phases, performance.now(), ` on ${address}`);
  app.log.info({ phases: Object.fromEntries(phases.map((p) => [p.name, Math.round(p.ms)])), address }, line);
  console.log(line);
}

main().catch((err: unknown) => {
  console.error('blog: failed to start', err);
  process.exitCode = 1;
});
