/**
 * Fuzzing image verification (image/verify.ts) with fast-check, on real image directories: small
 * fake CRIU files sealed by sealImage, as `defrost checkpoint` seals them. Whatever byte of
 * whatever file is changed (a CRIU file, defrost.json, the signature in it), verification refuses
 * the image with an ImageError; the only changes a signed image may survive are those that leave
 * the manifest's meaning unchanged (whitespace: the signature covers the canonical JSON). And the
 * cache of verified identities (defrost's "hashed once, trusted after") never lets a modified
 * image through, whatever that cache holds.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileIdentity } from '../../src/cache.js';
import { ImageError } from '../../src/errors.js';
import {
  createStagingDir,
  type HostFacts,
  type ImageManifest,
  MANIFEST_FILE,
  type ManifestFacts,
  sealImage,
  verifyImage,
} from '../../src/image/index.js';
import { canonicalJson } from '../../src/image/manifest.js';
import {
  applyByteEdits,
  byteEdits,
  expectTyped,
  FUZZ_TIMEOUT_MS,
  fuzz,
  nestedJson,
  outcome,
} from '../fuzz.js';

const KEY = Buffer.from('fuzzing-key-of-32-bytes-or-more!');
const HOST: HostFacts = {
  nodeVersion: 'v24.0.0',
  nodeBinarySha256: 'ab12'.repeat(16),
  arch: 'x64',
  kernel: '6.1.0-test',
  criuVersion: '4.2.1',
  execPath: '/usr/bin/node',
};
const FACTS: ManifestFacts = {
  node: {
    version: HOST.nodeVersion,
    execPath: '/usr/bin/node',
    binarySha256: HOST.nodeBinarySha256,
    arch: 'x64',
    platform: 'linux',
  },
  kernel: HOST.kernel,
  criu: { version: '4.2.1' },
  process: { pid: 1234, argv: ['/usr/bin/node', 'app.js'], execArgv: [], cwd: '/srv/app' },
  listening: [{ fd: 21, family: 'IPv4', address: '127.0.0.1', port: 3000 }],
  stdio: {
    stdoutKey: 'pipe:[1]',
    stderrKey: 'pipe:[2]',
    controlInKey: 'pipe:[3]',
    controlOutKey: 'pipe:[4]',
  },
  warmup: { requests: 100, routes: ['/', '/ünï'] },
  checkpoint: { durationMs: 321, pages: 1 },
};
/** What CRIU would leave, small: a few ms to hash, so hundreds of runs stay in seconds. */
const CRIU_FILES: Record<string, number> = {
  'inventory.img': 40,
  'core-1234.img': 700,
  'mm-1234.img': 300,
  'pages-1.img': 4096,
};

let root: string;
let cache: string;
const savedCacheDir = process.env.DEFROST_CACHE_DIR;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'defrost-fuzz-verify-'));
  cache = join(root, 'cache');
  await mkdir(cache, { mode: 0o700 });
  // The identity cache is part of what is fuzzed: a private one, not the machine's.
  process.env.DEFROST_CACHE_DIR = cache;
});
afterAll(async () => {
  if (savedCacheDir === undefined) delete process.env.DEFROST_CACHE_DIR;
  else process.env.DEFROST_CACHE_DIR = savedCacheDir;
  await rm(root, { recursive: true, force: true });
});

async function sealed(name: string, signingKey?: Buffer): Promise<{ dir: string; manifest: ImageManifest }> {
  const dir = join(root, name);
  const staging = await createStagingDir(dir);
  for (const [file, size] of Object.entries(CRIU_FILES)) {
    await writeFile(
      join(staging, file),
      createHash('sha512').update(file).digest().toString('hex').repeat(size).slice(0, size),
    );
  }
  const manifest = await sealImage({
    stagingDir: staging,
    imageDir: dir,
    facts: FACTS,
    ...(signingKey ? { signingKey } : {}),
  });
  return { dir, manifest };
}

/** The cache's entry for an image directory (one per directory, named after its path). */
async function cacheEntry(dir: string): Promise<string> {
  const name = `verified-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}.json`;
  expect(await readdir(cache), 'a full verification records what it hashed').toContain(name);
  return join(cache, name);
}

const verify = (dir: string, signingKey?: Buffer) =>
  outcome(() => verifyImage(dir, { host: HOST, onWarning: () => {}, ...(signingKey ? { signingKey } : {}) }));

/** Writes `bytes` over `file` for the length of `run`, then puts the original back. */
async function withFile<T>(file: string, bytes: Buffer, run: () => Promise<T>): Promise<T> {
  const original = await readFile(file);
  await writeFile(file, bytes);
  try {
    return await run();
  } finally {
    await writeFile(file, original);
  }
}

/** Whether `bytes` is a manifest that means the same as `manifest` (only what the signature ignores differs). */
function sameMeaning(bytes: Buffer, manifest: ImageManifest): boolean {
  try {
    return canonicalJson(JSON.parse(bytes.toString('utf8'))) === canonicalJson(manifest);
  } catch {
    return false;
  }
}

describe('fuzz: verification refuses any modified image', () => {
  it(
    'signed, verified with the key: any byte of any file, defrost.json and its signature',
    async () => {
      const { dir, manifest } = await sealed('signed', KEY);
      const names = [MANIFEST_FILE, ...Object.keys(CRIU_FILES)];
      const manifestText = await readFile(join(dir, MANIFEST_FILE), 'utf8');
      const signatureAt = manifestText.indexOf(manifest.signature!.value);
      const change = fc.oneof(
        fc.record({ file: fc.constantFrom(...names), edits: byteEdits }),
        // The signature's own bytes, every time some of them.
        fc.record({
          file: fc.constant(MANIFEST_FILE),
          edits: fc.array(
            fc.record({
              kind: fc.constant('set'),
              at: fc.integer({ min: signatureAt, max: signatureAt + 63 }),
              byte: fc.integer({ min: 0, max: 255 }),
            }),
            { minLength: 1, maxLength: 3 },
          ),
        }),
      );
      let refused = 0;
      await fuzz('a signed image with bytes changed', 150, change, async ({ file, edits }) => {
        const path = join(dir, file);
        const original = await readFile(path);
        const changed = applyByteEdits(original, edits);
        if (changed.equals(original)) return;
        const result = await withFile(path, changed, () => verify(dir, KEY));
        expectTyped(result, ImageError);
        if (result.ok) {
          expect(
            file === MANIFEST_FILE && sameMeaning(changed, manifest),
            `accepted ${file} changed by ${JSON.stringify(edits)}`,
          ).toBe(true);
          expect(result.value).toEqual(manifest);
        } else refused++;
      });
      expect(refused).toBeGreaterThan(0);
      // Unchanged again, it verifies: the properties above held on a good image.
      expect((await verify(dir, KEY)).ok).toBe(true);
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'signed, verified with the key: any value of defrost.json replaced, added or deleted (the signature too)',
    async () => {
      const { dir, manifest } = await sealed('signed-values', KEY);
      const file = join(dir, MANIFEST_FILE);
      const paths = (v: unknown, prefix: string[] = []): string[][] =>
        typeof v === 'object' && v !== null
          ? Object.entries(v).flatMap(([k, c]) => [[...prefix, k], ...paths(c, [...prefix, k])])
          : [];
      const all = paths(manifest);
      const change = fc.record({
        path: fc.constantFrom(...all),
        how: fc.oneof(
          fc.constant({ remove: true }),
          fc.jsonValue({ maxDepth: 2 }).map((value) => ({ value })),
        ),
        added: fc.option(fc.tuple(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }))),
      });
      await fuzz('a signed manifest with a value changed', 150, change, async ({ path, how, added }) => {
        const copy = structuredClone(manifest) as unknown as Record<string, unknown>;
        let parent = copy;
        for (const k of path.slice(0, -1)) parent = parent[k] as Record<string, unknown>;
        if ('remove' in how) delete parent[path.at(-1)!];
        else parent[path.at(-1)!] = how.value;
        if (added) copy[`x-${added[0]}`] = added[1];
        const bytes = Buffer.from(JSON.stringify(copy, null, 2));
        const result = await withFile(file, bytes, () => verify(dir, KEY));
        expectTyped(result, ImageError);
        if (result.ok)
          expect(sameMeaning(bytes, manifest), `accepted ${JSON.stringify({ path, how, added })}`).toBe(true);
      });
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'unsigned: any byte of any CRIU file',
    async () => {
      const { dir } = await sealed('unsigned');
      const change = fc.record({ file: fc.constantFrom(...Object.keys(CRIU_FILES)), edits: byteEdits });
      await fuzz(
        'an unsigned image with bytes of a CRIU file changed',
        100,
        change,
        async ({ file, edits }) => {
          const path = join(dir, file);
          const original = await readFile(path);
          const changed = applyByteEdits(original, edits);
          if (changed.equals(original)) return;
          const result = await withFile(path, changed, () => verify(dir));
          expect(result.ok, `accepted ${file} changed by ${JSON.stringify(edits)}`).toBe(false);
          expectTyped(result, ImageError);
          expect(['image-corrupt', 'image-truncated']).toContain(
            (result as { error: ImageError }).error.code,
          );
        },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it('regression (found by this fuzzing): a deeply nested cache entry is ignored, not a RangeError', async () => {
    const { dir, manifest } = await sealed('cached-deep');
    expect((await verify(dir)).ok).toBe(true);
    const entry = await cacheEntry(dir);
    const deep = `{"about":${JSON.stringify(dir)},"imageId":"${manifest.imageId}","identities":${nestedJson(50_000, 'object')}}`;
    await writeFile(entry, deep, { mode: 0o600 });
    expect(await verify(dir)).toEqual({ ok: true, value: manifest });
  });

  it(
    'the cache of verified identities never lets a modified file through, whatever it holds',
    async () => {
      const { dir, manifest } = await sealed('cached');
      expect((await verify(dir)).ok).toBe(true);
      const cacheFile = await cacheEntry(dir);
      const recorded = await readFile(cacheFile, 'utf8');
      const names = Object.keys((JSON.parse(recorded) as { identities: Record<string, string> }).identities);
      expect(names).toContain(MANIFEST_FILE);
      const entryFor = (identities: unknown) =>
        JSON.stringify({ about: dir, imageId: manifest.imageId, identities });
      // A cache entry that is not the identities of the files as they are now.
      const entryText = fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((b) => ({ raw: Buffer.from(b) })),
        fc.json({ maxDepth: 3 }).map((raw) => ({ raw })),
        fc.jsonValue({ maxDepth: 3 }).map((identities) => ({ identities })),
        fc
          .integer({ min: 1, max: 30_000 })
          .map((nest) => ({ nest })), // nested where the identities go
        fc.constant({ recorded: true }), // what was true before the change
        fc
          .tuple(fc.constantFrom(...names), byteEdits)
          .map(([name, edits]) => ({ name, edits })), // one identity edited
      );
      const change = fc.record({
        file: fc.constantFrom(...Object.keys(CRIU_FILES)),
        at: fc.nat(),
        entry: entryText,
      });
      await fuzz(
        'a modified image under arbitrary cache entries',
        80,
        change,
        async ({ file, at, entry: e }) => {
          const path = join(dir, file);
          const changed = await readFile(path);
          const i = at % changed.length;
          changed[i] = changed[i]! ^ 0x01;
          await withFile(path, changed, async () => {
            let bytes: Buffer | string;
            if ('raw' in e) bytes = e.raw;
            else if ('identities' in e) bytes = entryFor(e.identities);
            else if ('nest' in e)
              bytes = entryFor(0).replace('"identities":0', `"identities":${nestedJson(e.nest, 'object')}`);
            else if ('recorded' in e) bytes = recorded;
            else {
              const now = Object.fromEntries(
                await Promise.all(names.map(async (n) => [n, await fileIdentity(join(dir, n))] as const)),
              );
              const edited = applyByteEdits(Buffer.from(now[e.name]!), e.edits).toString('latin1');
              if (edited === now[e.name]) return;
              bytes = entryFor({ ...now, [e.name]: edited });
            }
            await writeFile(cacheFile, bytes, { mode: 0o600 });
            const result = await verify(dir);
            expect(
              result.ok,
              `accepted ${file} with one bit flipped, the cache holding ${String(bytes).slice(0, 200)}`,
            ).toBe(false);
            expectTyped(result, ImageError);
          });
        },
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
