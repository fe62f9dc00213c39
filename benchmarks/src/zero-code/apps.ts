/**
 * The apps of apps/examples that hold no defrost code, as the zero-code benchmark starts them:
 * the entry, the route probed for the first 200, the warm-up flags of `defrost checkpoint` (the
 * same as their integration tests), and what they need from their environment.
 */
import { join } from 'node:path';
import { REPO_ROOT } from '../setup.js';

export interface ZeroCodeApp {
  readonly name: string;
  /** What it is, for the report. */
  readonly stack: string;
  readonly entry: string;
  /** The route whose first 200 ends the wait (GET). */
  readonly probe: string;
  readonly flags: readonly string[];
  /** Calls an API at start-up: the benchmark serves one (UPSTREAM_URL). */
  readonly needsUpstream?: boolean;
  /** Logs to a file (LOG_FILE, in the work directory). */
  readonly logsToFile?: boolean;
  /** Built by `pnpm --filter @defrost/examples build` (TypeScript). */
  readonly built?: boolean;
}

const examples = (path: string): string => join(REPO_ROOT, 'apps/examples', path);

export const ZERO_CODE_APPS: readonly ZeroCodeApp[] = [
  {
    name: 'express5',
    stack: 'Express 5 (web-service)',
    entry: examples('express5/index.js'),
    probe: '/api/users?api-key=foo',
    flags: ['--warmup-url', '/api/users?api-key=foo', '--warmup-url', '/api/repos?api-key=foo'],
  },
  {
    name: 'express4',
    stack: 'Express 4 (content negotiation)',
    entry: examples('express4/index.js'),
    probe: '/',
    flags: [],
  },
  {
    name: 'koa',
    stack: 'Koa 3 + @koa/router',
    entry: examples('koa/server.js'),
    probe: '/books',
    flags: ['--warmup-url', '/books', '--warmup-url', '/books/1/summary', '--warmup-url', '/books/2/summary'],
  },
  {
    name: 'hono',
    stack: 'Hono 4 + @hono/node-server',
    entry: examples('hono/server.js'),
    probe: '/',
    flags: ['--warmup-url', '/', '--warmup-url', '/api/posts', '--warmup-url', '/api/posts/1'],
  },
  {
    name: 'nest-express',
    stack: 'NestJS 11 on Express (CommonJS)',
    entry: examples('nest-express/dist/main.js'),
    probe: '/',
    flags: ['--warmup-url', '/', '--warmup-url', '/cats', '--warmup-url', '/cats/1'],
    built: true,
  },
  {
    name: 'fastify',
    stack: 'Fastify 5 without the plugin (pino to a file)',
    entry: examples('fastify/server.js'),
    probe: '/',
    flags: ['--warmup-url', '/', '--warmup-url', '/notes', '--warmup-url', '/notes/2'],
    logsToFile: true,
  },
  {
    name: 'node-http',
    stack: 'node:http that fetched an API at start-up',
    entry: examples('node-http/server.js'),
    probe: '/',
    flags: ['--warmup-url', '/', '--warmup-url', '/convert?to=USD&amount=10'],
    needsUpstream: true,
  },
];
