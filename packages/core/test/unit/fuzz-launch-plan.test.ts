/**
 * Fuzzing the launch plan writer (restore/launch-plan.ts) with fast-check. A plan is read by the
 * native launcher (packages/cli/native/plan.c, fuzzed with libFuzzer in native/fuzz), which runs
 * it verbatim; so what the writer puts in a plan, read back the way the launcher reads it, must
 * be exactly the command the full path would run, for any image path and any manifest: one record
 * per line (no value can add a record), every check naming the file's identity, and @WORK@
 * standing for the private directory only. Otherwise no plan is written.
 */
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileIdentity } from '../../src/cache.js';
import {
  ACTION_SCRIPT,
  inheritedDescriptors,
  restoreCommand,
} from '../../src/restore/criu-restore-command.js';
import {
  LAUNCH_PLAN_FORMAT,
  launchPlanText,
  pruneLaunchPlans,
  WORK_PLACEHOLDER,
} from '../../src/restore/launch-plan.js';
import { FUZZ_TIMEOUT_MS, fuzz } from '../fuzz.js';
import { testManifest } from '../manifest.js';

/** Where the launcher's private directory happens to be (what it puts for @WORK@). */
const WORK = '/tmp/defrost-restore-AbC123';
const KEYS = [
  'image',
  'kernel',
  'criu',
  'check',
  'kdat',
  'signing-key',
  'cpu',
  'server-pid',
  'eager-arg',
  'lazy-arg',
  'eager-env',
  'lazy-env',
];

let root: string;
let action: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'defrost-fuzz-plan-'));
  action = join(root, 'restore-action-1.sh');
  await writeFile(action, ACTION_SCRIPT, { mode: 0o700 });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The plan as plan.c reads it: records split at newlines, `\\` and `\n` undone, @WORK@ replaced. */
function asLaunched(text: string): { key: string; value: string }[] {
  const [format, ...lines] = text.split('\n');
  expect(format).toBe(LAUNCH_PLAN_FORMAT);
  expect(lines.pop(), 'a plan ends with a newline').toBe('');
  return lines.map((line) => {
    const space = line.indexOf(' ');
    expect(space, `a record without a value: ${JSON.stringify(line)}`).toBeGreaterThan(0);
    const key = line.slice(0, space);
    expect(KEYS).toContain(key);
    let value = line.slice(space + 1);
    if (/-(arg|env)$/.test(key)) {
      value = value
        .replace(/\\([\\n])/g, (_, c: string) => (c === 'n' ? '\n' : '\\'))
        .replaceAll(WORK_PLACEHOLDER, WORK);
    }
    return { key, value };
  });
}

/** A name for a directory: any characters a path component can hold, the awkward ones often. */
const component = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }),
    fc.constantFrom(
      'image',
      'a\nb',
      'back\\slash',
      'cr\r',
      ' sp ace ',
      WORK_PLACEHOLDER,
      `x${WORK_PLACEHOLDER}y`,
      'ünï',
      '🧊',
      'check 1:2:3 x',
    ),
  )
  .filter(
    (n) => n !== '.' && n !== '..' && !n.includes('/') && !n.includes('\0') && Buffer.byteLength(n) < 200,
  );

const stdioKey = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('pipe:[1]', 'dev/null', `a${WORK_PLACEHOLDER}b`, 'x\ny', 'x\\ny'),
);

const planInput = fc.record({
  name: component,
  pid: fc.integer({ min: 1, max: 4_194_304 }),
  stdio: fc.record({
    stdoutKey: stdioKey,
    stderrKey: stdioKey,
    controlInKey: stdioKey,
    controlOutKey: stdioKey,
    imagesDirKey: stdioKey.filter((k) => k !== ''),
  }),
  files: fc.uniqueArray(fc.constantFrom('pages-1.img', 'core-1.img', 'mm-1.img', 'inventory.img'), {
    maxLength: 4,
  }),
});

let made = 0;
async function imageFor(name: string, files: readonly string[]): Promise<string> {
  const dir = join(root, String(made++), name);
  await mkdir(dir, { recursive: true });
  for (const f of ['defrost.json', ...files]) await writeFile(join(dir, f), f);
  return dir;
}

describe('fuzz: launch plans', () => {
  it(
    'hold exactly the full path’s command, as the launcher reads them, or are not written',
    async () => {
      let written = 0;
      await fuzz('plans for arbitrary image paths and stdio keys', 150, planInput, async (i) => {
        const imageDir = await imageFor(i.name, i.files);
        const m = testManifest(i.files, i);
        const input = {
          imageDir,
          manifest: m,
          criuPath: process.execPath,
          kdatFile: join(root, 'kdat'),
          nodePath: process.execPath,
        };
        const text = await launchPlanText(input, action);
        const unplannable =
          [imageDir, ...Object.values(i.stdio)].some((s) => s.includes(WORK_PLACEHOLDER)) ||
          /[\n\r\\]/.test(imageDir);
        if (text === undefined) {
          expect(unplannable, `no plan for ${JSON.stringify(i)}`).toBe(true);
          return;
        }
        written++;
        expect(unplannable, `a plan for ${JSON.stringify(i)}`).toBe(false);
        const records = asLaunched(text);
        const all = (key: string) => records.filter((r) => r.key === key).map((r) => r.value);
        expect(all('image')).toEqual([await realpath(imageDir)]);
        expect(all('kernel')).toEqual([release()]);
        expect(all('server-pid')).toEqual([String(i.pid)]);
        const checked = [
          imageDir,
          join(imageDir, 'defrost.json'),
          ...i.files.map((f) => join(imageDir, f)),
          process.execPath,
          process.execPath,
          action,
        ];
        expect(all('check')).toEqual(
          await Promise.all(checked.map(async (p) => `${await fileIdentity(p)} ${p}`)),
        );
        for (const lazyPages of [false, true]) {
          const c = restoreCommand({
            imageDir,
            workDir: WORK,
            actionScript: action,
            logLevel: 4,
            serverPid: i.pid,
            inherit: inheritedDescriptors(i.stdio)!,
            criuBinary: process.execPath,
            lazyPages,
          });
          const variant = lazyPages ? 'lazy' : 'eager';
          expect(all(`${variant}-arg`)).toEqual([c.file, ...c.args]);
          expect(all(`${variant}-env`)).toEqual(Object.entries(c.env).map(([k, v]) => `${k}=${v}`));
        }
      });
      expect(written).toBeGreaterThan(0);
    },
    FUZZ_TIMEOUT_MS,
  );

  it('regression (found by this fuzzing): no plan for an --inherit-fd key holding @WORK@', async () => {
    // The launcher replaces @WORK@ in every argument: it would have restored with
    // fd[7]:a<private dir>b where the full path passes fd[7]:a@WORK@b.
    const imageDir = await imageFor('image', []);
    const stdio = {
      stdoutKey: 'o',
      stderrKey: 'e',
      controlInKey: 'i',
      controlOutKey: 'c',
      imagesDirKey: `a${WORK_PLACEHOLDER}b`,
    };
    const m = testManifest([], { pid: 7, stdio });
    const input = {
      imageDir,
      manifest: m,
      criuPath: process.execPath,
      kdatFile: join(root, 'kdat'),
      nodePath: process.execPath,
    };
    expect(await launchPlanText(input, action)).toBeUndefined();
    expect(
      await launchPlanText(
        { ...input, manifest: testManifest([], { pid: 7, stdio: { ...stdio, imagesDirKey: 'images' } }) },
        action,
      ),
    ).toBeDefined();
  });

  it(
    'pruning reads any plan file without throwing, and keeps the plans of images that exist',
    async () => {
      const existing = await imageFor('kept', []);
      const cacheFile = fc.record({
        name: fc.oneof(
          fc.stringMatching(/^launch-[0-9a-f]{16}\.plan$/),
          fc.constantFrom('binary-0.json', 'restore-action-1.sh', 'launch-x.plan'),
        ),
        text: fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          fc.constant(`${LAUNCH_PLAN_FORMAT}\nimage ${existing}\n`),
          fc
            .string({ unit: 'binary', maxLength: 40 })
            .map((p) => `${LAUNCH_PLAN_FORMAT}\nimage /nonexistent/${p.replaceAll('\n', '')}\n`),
        ),
      });
      await fuzz(
        'caches of arbitrary plan files',
        150,
        fc.uniqueArray(cacheFile, { selector: (f) => f.name, maxLength: 6 }),
        async (files) => {
          const cache = join(root, `cache-${made++}`);
          await mkdir(cache, { mode: 0o700 });
          for (const f of files) await writeFile(join(cache, f.name), f.text, { mode: 0o600 });
          const removed = await pruneLaunchPlans(cache);
          const { readdir } = await import('node:fs/promises');
          const left = new Set(await readdir(cache));
          for (const f of files) {
            const isPlan = /^launch-[0-9a-f]{16}\.plan$/.test(f.name);
            const keeps = !isPlan || String(f.text).includes(`\nimage ${existing}\n`);
            if (keeps) expect(left.has(f.name), `pruned ${f.name}`).toBe(true);
          }
          expect(removed).toBe(files.length - left.size);
        },
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
