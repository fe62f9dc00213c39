// The real server (node dist/server.js, built first) in a real browser: home page and a post page render.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from '../helpers/app.js';
import { CHROMIUM_PATH, checkPagesInBrowser } from '../helpers/browser.js';
import { type RunningServer, SERVER_ENTRY, startServer } from '../helpers/server.js';

describe('blog in a browser (cold start)', () => {
  let server: RunningServer | undefined;
  let dataDir = '';

  beforeAll(async () => {
    if (!existsSync(SERVER_ENTRY))
      throw new Error(`${SERVER_ENTRY} is missing: run 'pnpm --filter @defrost/blog build'`);
    if (!existsSync(CHROMIUM_PATH))
      throw new Error(`${CHROMIUM_PATH} is missing: run scripts/install-test-tools.sh`);
    dataDir = makeTempDir('blog-browser-');
    server = await startServer({ dataDir, env: { BLOG_POST_COUNT: '300' } });
  });

  afterAll(async () => {
    const code = await server?.stop();
    expect(code).toBe(0);
    removeDir(dataDir);
  });

  it('renders the home page and a post with a highlighted code block', async () => {
    const result = await checkPagesInBrowser(server!.baseUrl, 'cold');
    expect(result.postUrl).toMatch(/^\/posts\//);
    for (const file of result.screenshots) expect(existsSync(file)).toBe(true);
  });
});
