/**
 * Fuzzing the manifest reader (image/manifest.ts) with fast-check: defrost.json is untrusted
 * input (truncated, hand-edited or forged), so whatever bytes it holds, reading it either gives a
 * manifest of the documented shape or an ImageError; never another exception, never a manifest
 * defrost would then trip over. The shape is checked against an oracle written here from the
 * ImageManifest interface, independently of the validator.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageError } from '../../src/errors.js';
import { type ImageManifest, MANIFEST_FILE, readManifest } from '../../src/image/index.js';
import { checkSignature, signManifest, validateManifest } from '../../src/image/manifest.js';
import {
  applyByteEdits,
  byteEdits,
  expectTyped,
  FUZZ_TIMEOUT_MS,
  fuzz,
  nestedJson,
  outcome,
} from '../fuzz.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');

// ---------------------------------------------------------------------------------------------
// The oracle: what ImageManifest documents, written out independently of manifest.ts.

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: Json) => typeof v === 'string' && v !== '';
const int = (v: Json, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
const sha = (v: Json) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const strings = (v: Json) => Array.isArray(v) && v.every((s) => typeof s === 'string');
const plainName = (n: string) => !['', '.', '..', MANIFEST_FILE].includes(n) && !/[/\\\0]/.test(n);

/** Deeper than this, a manifest is not one defrost wrote (and recursive code would overflow). */
const MAX_DEPTH = 64;
/** How many objects and arrays nest in `v` at most (the root counts). */
function depth(v: Json): number {
  let deepest = 0;
  const stack: [Json, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [value, d] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    deepest = Math.max(deepest, d);
    for (const c of Object.values(value)) stack.push([c, d + 1]);
  }
  return deepest;
}

/** Why `v` is not a manifest defrost can use, or undefined when it is one. */
function shapeProblem(v: Json): string | undefined {
  if (!isObject(v)) return 'not an object';
  if (v.formatVersion !== 1) return 'formatVersion';
  if (depth(v) > MAX_DEPTH) return 'too deep';
  if (!text(v.imageId)) return 'imageId';
  if (typeof v.createdAt !== 'string' || Number.isNaN(Date.parse(v.createdAt))) return 'createdAt';
  const node = v.node;
  if (!isObject(node) || !['version', 'execPath', 'arch', 'platform'].every((k) => text(node[k])))
    return 'node';
  if (!sha(node.binarySha256)) return 'node.binarySha256';
  if (!text(v.kernel) || !isObject(v.criu) || !text(v.criu.version)) return 'kernel/criu';
  if (v.cpu !== undefined && (!isObject(v.cpu) || !strings(v.cpu.features))) return 'cpu';
  const p = v.process;
  if (!isObject(p) || !int(p.pid, 1) || !strings(p.argv) || !strings(p.execArgv) || !text(p.cwd))
    return 'process';
  const listening = v.listening;
  if (!Array.isArray(listening)) return 'listening';
  for (const l of listening) {
    if (!isObject(l) || !int(l.fd) || !text(l.family) || typeof l.address !== 'string') return 'listening[]';
    if (l.port !== undefined && !int(l.port, 0, 65535)) return 'listening[].port';
  }
  const stdio = v.stdio;
  if (
    !isObject(stdio) ||
    !['stdoutKey', 'stderrKey', 'controlInKey', 'controlOutKey'].every((k) => k in stdio)
  )
    return 'stdio keys';
  if (!Object.values(stdio).every((s) => typeof s === 'string')) return 'stdio values';
  const cp = v.checkpoint;
  if (
    !isObject(cp) ||
    typeof cp.durationMs !== 'number' ||
    !Number.isFinite(cp.durationMs) ||
    cp.durationMs < 0
  )
    return 'checkpoint';
  if (cp.pages !== undefined && !int(cp.pages)) return 'checkpoint.pages';
  if (!isObject(v.files)) return 'files';
  let sum = 0;
  for (const [name, e] of Object.entries(v.files)) {
    if (!plainName(name) || !isObject(e) || !int(e.size) || !sha(e.sha256)) return `files[${name}]`;
    sum += e.size as number;
  }
  if (!int(v.totalBytes) || v.totalBytes !== sum) return 'totalBytes';
  const s = v.signature;
  if (s !== undefined) {
    if (!isObject(s) || s.algorithm !== 'hmac-sha256' || !sha(s.value)) return 'signature';
    if (s.keyId !== undefined && typeof s.keyId !== 'string') return 'signature.keyId';
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Generators: valid manifests, and ways of breaking them.

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const anyText = fc.string({ unit: 'binary', maxLength: 24 });
const someText = fc.string({ unit: 'binary', minLength: 1, maxLength: 24 });

const validManifest: fc.Arbitrary<ImageManifest> = fc
  .record({
    imageId: fc.uuid(),
    createdAt: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    node: fc.record({
      version: someText,
      execPath: someText,
      binarySha256: hex64,
      arch: someText,
      platform: someText,
    }),
    kernel: someText,
    cpu: fc.record({
      features: fc.array(fc.constantFrom('sse2', 'avx', 'avx2', 'avx512f', 'aes'), { maxLength: 4 }),
    }),
    criu: fc.record({ version: someText }),
    process: fc.record({
      pid: fc.integer({ min: 1, max: 4_194_304 }),
      argv: fc.array(anyText, { maxLength: 4 }),
      execArgv: fc.array(anyText, { maxLength: 3 }),
      cwd: someText,
    }),
    listening: fc.array(
      fc.record(
        { fd: fc.nat(1024), family: someText, address: anyText, port: fc.integer({ min: 0, max: 65535 }) },
        { requiredKeys: ['fd', 'family', 'address'] },
      ),
      { maxLength: 3 },
    ),
    stdio: fc.record({
      stdoutKey: anyText,
      stderrKey: anyText,
      controlInKey: anyText,
      controlOutKey: anyText,
    }),
    warmup: fc.jsonValue({ maxDepth: 3 }),
    checkpoint: fc.record({ durationMs: fc.double({ min: 0, max: 1e6, noNaN: true }), pages: fc.nat() }),
    files: fc.dictionary(someText.filter(plainName), fc.record({ size: fc.nat(1 << 30), sha256: hex64 }), {
      maxKeys: 5,
    }),
  })
  .map((m) => ({
    formatVersion: 1 as const,
    ...m,
    totalBytes: Object.values(m.files).reduce((a, f) => a + f.size, 0),
  }));

/** Signed with KEY, or carrying someone else's signature: either way reading checks it. */
const signedManifest = fc.tuple(validManifest, fc.option(hex64)).map(([m, forged]) => ({
  ...m,
  signature: { algorithm: 'hmac-sha256' as const, value: forged ?? signManifest(m, KEY).value },
}));

/** Every path to a value inside `v` (objects and arrays), the root excluded. */
function paths(
  v: Json,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  if (typeof v === 'object' && v !== null && out.length < 400) {
    for (const [k, c] of Object.entries(v)) {
      const path = [...prefix, Array.isArray(v) ? Number(k) : k];
      out.push(path);
      paths(c, path, out);
    }
  }
  return out;
}

/** What replaces the value: JSON, an edge value, or arrays nested `nest` deep (built only when
 * used: fast-check prints a failing input, and printing that nesting would overflow itself). */
const replacement = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((value) => ({ value })),
  fc
    .constantFrom(undefined, null, '', -1, 0, 1.5, 2 ** 53, 65536, 'x'.repeat(64), 'A'.repeat(64))
    .map((value) => ({ value })),
  fc.integer({ min: MAX_DEPTH - 2, max: 20_000 }).map((nest) => ({ nest })),
);

/** How to break a valid manifest: which value to delete or replace, and with what. */
const breakage = fc.record({ manifest: signedManifest, pick: fc.nat(), remove: fc.boolean(), replacement });

function broken({
  manifest,
  pick,
  remove,
  replacement: r,
}: {
  manifest: ImageManifest;
  pick: number;
  remove: boolean;
  replacement: { value?: Json; nest?: number };
}): Json {
  const copy = structuredClone(manifest) as unknown as Record<string, Json>;
  const all = paths(copy);
  const path = all[pick % all.length]!;
  let parent = copy as Record<string | number, Json>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, Json>;
  const last = path.at(-1)!;
  if (remove && !Array.isArray(parent)) delete parent[last];
  else parent[last] = r.nest !== undefined ? (JSON.parse(nestedJson(r.nest, 'array')) as Json) : r.value;
  return copy;
}

// ---------------------------------------------------------------------------------------------

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'defrost-fuzz-manifest-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Reads `bytes` as defrost.json: a manifest of the documented shape, or an ImageError. */
async function readBytes(bytes: Buffer | string): Promise<void> {
  await writeFile(join(dir, MANIFEST_FILE), bytes, { mode: 0o600 });
  const read = await outcome(() => readManifest(dir));
  expectTyped(read, ImageError);
  if (!read.ok) return;
  expect(shapeProblem(read.value), 'readManifest accepted a manifest the oracle refuses').toBeUndefined();
  // What verification does next with it: sign-checking must not trip either.
  expectTyped(await outcome(() => checkSignature(read.value, KEY, dir)), ImageError);
}

describe('fuzz: the manifest reader', () => {
  it(
    'accepts every valid manifest, and its signature checks',
    async () => {
      await fuzz('valid manifests are accepted', 100, validManifest, (m) => {
        expect(shapeProblem(m)).toBeUndefined();
        const signed = JSON.parse(JSON.stringify({ ...m, signature: signManifest(m, KEY) })) as ImageManifest;
        expect(validateManifest(structuredClone(signed), dir)).toEqual(signed);
        checkSignature(signed, KEY, dir);
      });
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'never accepts a structurally invalid manifest, and throws nothing but ImageError',
    async () => {
      await fuzz('one value deleted or replaced', 600, breakage, (recipe) => {
        const value = broken(recipe);
        const result = (() => {
          try {
            return { ok: true as const, value: validateManifest(value, dir) };
          } catch (error) {
            return { ok: false as const, error };
          }
        })();
        expectTyped(result, ImageError);
        const problem = shapeProblem(value);
        if (result.ok) {
          expect(problem, 'validateManifest accepted a manifest the oracle refuses').toBeUndefined();
          expectTyped(
            (() => {
              try {
                checkSignature(result.value, KEY, dir);
                return { ok: true as const, value: undefined };
              } catch (error) {
                return { ok: false as const, error };
              }
            })(),
            ImageError,
          );
        } else {
          expect(
            problem,
            `refused a manifest the oracle accepts: ${(result.error as Error).message}`,
          ).toBeDefined();
        }
      });
    },
    FUZZ_TIMEOUT_MS,
  );

  it('regression (found by this fuzzing): a manifest nested thousands of levels deep is an ImageError', async () => {
    const deep = JSON.parse(nestedJson(20_000, 'array')) as Json;
    const m = await fc.sample(signedManifest, { numRuns: 1, seed: 1 })[0]!;
    // It was a RangeError: from canonicalJson (checking the signature) and from the messages' JSON.stringify.
    for (const value of [
      { ...m, warmup: deep },
      { ...m, node: deep },
      { ...m, files: { 'a.img': deep } },
      { ...m, formatVersion: deep },
    ]) {
      const e = (() => {
        try {
          checkSignature(validateManifest(value, dir), KEY, dir);
        } catch (error) {
          return error;
        }
      })() as ImageError;
      expect(e).toBeInstanceOf(ImageError);
      expect(e.code).toBe('manifest-invalid');
      expect(e.message).toContain('nests deeper than 64 levels');
    }
  });

  it(
    'reads any bytes in defrost.json as a manifest or an ImageError',
    async () => {
      const bytes = fc.oneof(
        fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
        fc.json({ maxDepth: 4 }),
        fc
          .tuple(signedManifest, byteEdits)
          .map(([m, edits]) => applyByteEdits(Buffer.from(JSON.stringify(m)), edits)),
        fc
          .tuple(fc.integer({ min: 1, max: 30_000 }), fc.constantFrom('array' as const, 'object' as const))
          .map(([d, kind]) => nestedJson(d, kind)),
        fc
          .tuple(signedManifest, fc.integer({ min: 1, max: 30_000 }))
          .map(([m, d]) =>
            JSON.stringify({ ...m, warmup: 0 }).replace('"warmup":0', `"warmup":${nestedJson(d, 'array')}`),
          ),
      );
      await fuzz('defrost.json of arbitrary bytes', 200, bytes, readBytes);
    },
    FUZZ_TIMEOUT_MS,
  );
});
