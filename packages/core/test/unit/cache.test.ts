import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneCache, writeCacheJson } from '../../src/cache.js';

let dir: string;
let cache: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'defrost-cache-test-'));
  cache = join(dir, 'cache');
  await mkdir(cache, { mode: 0o700 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the cache is pruned of what no longer exists', () => {
  it('drops entries about deleted paths, entries about no path, and kernel-feature caches of other boots', async () => {
    const image = join(dir, 'image');
    const gone = join(dir, 'deleted-image');
    await mkdir(image);
    const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    await writeFile(join(cache, 'verified-gone.json'), JSON.stringify({ about: gone, identities: {} }));
    await writeFile(join(cache, 'verified-old-format.json'), JSON.stringify({ 'defrost.json': '1:2:3' }));
    await writeFile(join(cache, `criu-4.2.1-${bootId}.kdat`), 'x');
    await writeFile(join(cache, 'criu-4.2.1-00000000-0000-0000-0000-000000000000.kdat'), 'x');
    await writeFile(join(cache, 'restore-action-1.sh'), '#!/bin/sh\n');
    // Writing an entry prunes the others.
    await writeCacheJson('verified-kept.json', { about: image }, cache);
    expect((await readdir(cache)).sort()).toEqual(
      [`criu-4.2.1-${bootId}.kdat`, 'restore-action-1.sh', 'verified-kept.json'].sort(),
    );
    await rm(image, { recursive: true });
    expect(await pruneCache(cache)).toBe(1);
    expect(await readdir(cache)).not.toContain('verified-kept.json');
  });
});
