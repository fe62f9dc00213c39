/**
 * Fuzzing the two byte streams between a restorer and its copy (dump/control.ts) with
 * fast-check: the restore-time settings a copy reads from descriptor 5, and the events a copy
 * writes back. Whatever bytes are there, the settings reader returns settings of the documented
 * shape or throws a RestoreError, and never blocks; the event reader never throws and returns
 * only events with the fields the restorer reads.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ControlEvent,
  parseControlEvent,
  type RestoreSettings,
  readRestoreSettings,
} from '../../src/dump/control.js';
import { RestoreError } from '../../src/errors.js';
import { lineSplitter } from '../../src/lines.js';
import {
  applyByteEdits,
  byteEdits,
  expectTyped,
  FUZZ_TIMEOUT_MS,
  fuzz,
  nestedJson,
  outcome,
} from '../fuzz.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'defrost-fuzz-control-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** readRestoreSettings on a file holding `bytes`, as the copy reads its descriptor 5. */
function readFrom(bytes: Buffer | string): ReturnType<typeof outcome<RestoreSettings>> {
  const file = join(dir, 'settings.json');
  writeFileSync(file, bytes, { mode: 0o600 });
  const fd = openSync(file, 'r');
  return outcome(() => readRestoreSettings(fd)).finally(() => closeSync(fd));
}

/** The oracle: RestoreSettings as documented, written out independently of control.ts. */
function settingsProblem(s: RestoreSettings): string | undefined {
  if (typeof s.restoreId !== 'string') return 'restoreId';
  if (typeof s.startedAtEpochMs !== 'number' || !Number.isFinite(s.startedAtEpochMs))
    return 'startedAtEpochMs';
  if (typeof s.env !== 'object' || s.env === null || Array.isArray(s.env)) return 'env';
  for (const [k, v] of Object.entries(s.env))
    if (k === '' || /[=\0]/.test(k) || typeof v !== 'string' || v.includes('\0')) return `env.${k}`;
  if (!Number.isSafeInteger(s.copy) || s.copy < 0) return 'copy';
  if (s.port !== undefined && !(Number.isSafeInteger(s.port) && s.port >= 0 && s.port <= 65535))
    return 'port';
  return undefined;
}

const envName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/);
const validSettings = fc.record(
  {
    restoreId: fc.uuid(),
    startedAtEpochMs: fc.integer({ min: 0, max: 2 ** 45 }),
    env: fc.dictionary(
      envName,
      fc.string({ unit: 'binary', maxLength: 30 }).map((s) => s.replaceAll('\0', '')),
      { maxKeys: 5 },
    ),
    port: fc.integer({ min: 0, max: 65535 }),
    copy: fc.nat(64),
  },
  { requiredKeys: ['restoreId', 'startedAtEpochMs', 'env', 'copy'] },
);

describe('fuzz: the restore-time settings a copy reads', () => {
  it(
    'reads back exactly what a restorer writes',
    async () => {
      await fuzz('settings as the restorer writes them', 100, validSettings, async (s) => {
        const read = await readFrom(JSON.stringify(s));
        expect(read).toEqual({ ok: true, value: s });
      });
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'reads any bytes as settings of the documented shape or a RestoreError',
    async () => {
      const fields = ['restoreId', 'startedAtEpochMs', 'env', 'port', 'copy'];
      const bytes = fc.oneof(
        fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
        fc.json({ maxDepth: 3 }),
        fc
          .tuple(validSettings, byteEdits)
          .map(([s, edits]) => applyByteEdits(Buffer.from(JSON.stringify(s)), edits)),
        fc
          .tuple(validSettings, fc.constantFrom(...fields), fc.option(fc.jsonValue({ maxDepth: 2 })))
          .map(([s, field, value]) => JSON.stringify({ ...s, [field]: value ?? undefined })),
        fc
          .tuple(validSettings, fc.constantFrom(...fields), fc.integer({ min: 1, max: 30_000 }))
          .map(([s, field, d]) =>
            JSON.stringify({ ...s, [field]: 0 }).replace(
              `"${field}":0`,
              `"${field}":${nestedJson(d, 'object')}`,
            ),
          ),
      );
      await fuzz('settings of arbitrary bytes', 200, bytes, async (b) => {
        const read = await readFrom(b);
        expectTyped(read, RestoreError);
        if (read.ok)
          expect(settingsProblem(read.value), `accepted ${String(b).slice(0, 200)}`).toBeUndefined();
      });
    },
    FUZZ_TIMEOUT_MS,
  );

  it('regression (found by this fuzzing): settings that are not an object of the right shape are a RestoreError', async () => {
    // Each was a SyntaxError, a TypeError or a plain Error, or (env, port) accepted as it was.
    for (const text of [
      '',
      'null',
      '[]',
      '{"startedAtEpochMs":0}',
      '{"restoreId":"x","startedAtEpochMs":0,"env":"AB"}',
      '{"restoreId":"x","startedAtEpochMs":0,"port":1e9}',
    ]) {
      const read = await readFrom(text);
      expect(read.ok, text).toBe(false);
      expectTyped(read, RestoreError);
      expect((read as { error: RestoreError }).error.step).toBe('settings');
    }
  });

  it('refuses settings over 1 MiB, and descriptors that are no file, without blocking', async () => {
    const big = await readFrom(Buffer.alloc((1 << 20) + 1, 0x20));
    expectTyped(big, RestoreError);
    expect(big.ok).toBe(false);
    // A FIFO with no writer holding bytes: a positional read fails (ESPIPE) instead of waiting.
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const fd = openSync(fifo, 'r+');
    try {
      writeFileSync(fd, '{"restoreId":"x",');
      const piped = await outcome(() => readRestoreSettings(fd));
      expect(piped.ok).toBe(false);
      expectTyped(piped, RestoreError);
    } finally {
      closeSync(fd);
    }
    const dirFd = openSync(dir, 'r');
    try {
      expectTyped(await outcome(() => readRestoreSettings(dirFd)), RestoreError);
    } finally {
      closeSync(dirFd);
    }
    const closed = openSync(join(dir, 'settings.json'), 'r');
    closeSync(closed);
    expectTyped(await outcome(() => readRestoreSettings(closed)), RestoreError);
  });
});

describe('fuzz: the events a copy writes back', () => {
  const event: fc.Arbitrary<ControlEvent> = fc.oneof(
    fc.record({
      event: fc.constant('ready' as const),
      pid: fc.integer({ min: 1, max: 4_194_304 }),
      hooksMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
    }),
    fc.record({
      event: fc.constant('failed' as const),
      message: fc.string({ unit: 'binary', maxLength: 40 }),
    }),
  );
  const noise = fc
    .oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.json({ maxDepth: 2 }),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify({ event: 'ready', pid: v, hooksMs: v })),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify({ event: 'failed', message: v })),
    )
    .map((s) => s.replaceAll('\n', ' '));

  it(
    'finds every event among noise, in order, and nothing ill-typed',
    async () => {
      const stream = fc.array(
        fc.oneof(
          event.map((e) => ({ e })),
          noise.map((n) => ({ n })),
        ),
        { maxLength: 12 },
      );
      await fuzz('control streams of events and noise', 1000, stream, (items) => {
        const text = items.map((i) => ('e' in i ? JSON.stringify(i.e) : i.n)).join('\n');
        // Read as the restorer reads the pipe (restore/copy.ts): line by line, each line ending.
        const found: ControlEvent[] = [];
        lineSplitter((line) => {
          const event = parseControlEvent(line);
          if (event) found.push(event);
        })(`${text}\n`);
        for (const f of found) {
          if (f.event === 'ready') {
            expect(Number.isSafeInteger(f.pid) && f.pid > 0, JSON.stringify(f)).toBe(true);
            expect(Number.isFinite(f.hooksMs) && f.hooksMs >= 0, JSON.stringify(f)).toBe(true);
          } else {
            expect(f.event).toBe('failed');
            expect(typeof f.message).toBe('string');
          }
        }
        // Every event written is found, in order (noise may hold well-formed events of its own).
        const written = items.flatMap((i) =>
          'e' in i ? [JSON.parse(JSON.stringify(i.e)) as ControlEvent] : [],
        );
        let at = 0;
        for (const f of found)
          if (at < written.length && JSON.stringify(f) === JSON.stringify(written[at])) at++;
        expect(at, `found ${JSON.stringify(found)} in ${text}`).toBe(written.length);
      });
    },
    FUZZ_TIMEOUT_MS,
  );
});
