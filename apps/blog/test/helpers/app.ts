// In-process blog instances for route tests: a temp data dir and a small corpus.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type BuildAppOptions, buildApp } from '../../src/app.js';

export const TEST_POST_COUNT = 200;

export function makeTempDir(prefix = 'blog-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export async function buildTestApp(overrides: Partial<BuildAppOptions> = {}): Promise<FastifyInstance> {
  return buildApp({
    dataDir: overrides.dataDir ?? makeTempDir(),
    postCount: TEST_POST_COUNT,
    logLevel: 'warn',
    ...overrides,
  });
}
