/**
 * fast-check the way the fuzz properties in test/unit/fuzz-*.test.ts use it: a run count small
 * enough to keep the unit suite at a few seconds, multiplied by DEFROST_FUZZ_FACTOR for longer
 * runs (`DEFROST_FUZZ_FACTOR=50 pnpm --filter @defrost/core test:unit`), and the count printed,
 * so that a test log says how much was tried. A failure prints fast-check's seed and the shrunk
 * counterexample; `DEFROST_FUZZ_SEED=N` replays it.
 */
import fc from 'fast-check';
import { expect } from 'vitest';

const FACTOR = Number(process.env.DEFROST_FUZZ_FACTOR ?? 1);
/** vitest's timeout for a fuzz test: generous at factor 1 (a few seconds of work), scaled with it. */
export const FUZZ_TIMEOUT_MS = 30_000 * Math.max(1, FACTOR);
const SEED = process.env.DEFROST_FUZZ_SEED === undefined ? undefined : Number(process.env.DEFROST_FUZZ_SEED);

export async function fuzz<T>(
  name: string,
  runs: number,
  arbitrary: fc.Arbitrary<T>,
  check: (value: T) => Promise<void> | void,
): Promise<void> {
  const numRuns = Math.max(1, Math.round(runs * FACTOR));
  const started = performance.now();
  await fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      await check(value);
    }),
    { numRuns, ...(SEED !== undefined ? { seed: SEED } : {}) },
  );
  console.log(`fuzz: ${name}: ${numRuns} runs in ${Math.round(performance.now() - started)} ms`);
}

/** What a call did: its value, or the error it threw. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export async function outcome<T>(run: () => Promise<T> | T): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The call threw, and only an error of the project's own type (anything else is a crash). */
export function expectTyped(result: Outcome<unknown>, type: abstract new (...args: never[]) => Error): void {
  if (result.ok) return;
  if (!(result.error instanceof type)) {
    const e = result.error as Error;
    expect.fail(`threw ${e?.constructor?.name ?? typeof e} instead of a ${type.name}: ${e?.message ?? e}`);
  }
}

/** JSON nested `depth` levels deep (arrays or objects): what recursive code chokes on. */
export function nestedJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Byte-level mutations of a valid text: what a damaged or hand-edited file looks like. */
export const byteEdits = fc.array(
  fc.record({
    kind: fc.constantFrom('set', 'insert', 'delete'),
    at: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 }),
  }),
  { minLength: 1, maxLength: 4 },
);

export function applyByteEdits(
  bytes: Buffer,
  edits: readonly { kind: string; at: number; byte: number }[],
): Buffer {
  let out = Buffer.from(bytes);
  for (const { kind, at, byte } of edits) {
    const i = out.length === 0 ? 0 : at % (out.length + (kind === 'insert' ? 1 : 0));
    if (kind === 'insert') out = Buffer.concat([out.subarray(0, i), Buffer.from([byte]), out.subarray(i)]);
    else if (out.length === 0) continue;
    else if (kind === 'delete') out = Buffer.concat([out.subarray(0, i), out.subarray(i + 1)]);
    else out[i] = byte;
  }
  return out;
}
