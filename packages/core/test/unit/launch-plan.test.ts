/**
 * Launch plans as the native launcher reads them: naming (FNV-1a of the real path), escaping,
 * the identities it checks, and the images no plan is written for. The launcher itself runs
 * plans against real CRIU in packages/cli/test/integration/fast-restore.test.ts.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileIdentity } from '../../src/cache.js';
import { ACTION_SCRIPT } from '../../src/restore/criu-restore-command.js';
import {
  fnv1a64,
  forgetLaunchPlan,
  LAUNCH_PLAN_FORMAT,
  launchPlanFile,
  launchPlanText,
  pruneLaunchPlans,
  writeLaunchPlan,
} from '../../src/restore/launch-plan.js';
import { testManifest } from '../manifest.js';

let root: string;
let imageDir: string;
let cache: string;
let action: string;

/** The records of a plan, as [key, value] with the launcher's unescaping. */
function records(text: string): [string, string][] {
  return text
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((line) => {
      const space = line.indexOf(' ');
      const value = line.slice(space + 1).replace(/\\([\\n])/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
      return [line.slice(0, space), value];
    });
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'defrost-plan-'));
  imageDir = join(root, 'image');
  cache = join(root, 'cache');
  await mkdir(imageDir);
  for (const f of ['defrost.json', 'pages-1.img', 'core-1.img']) await writeFile(join(imageDir, f), f);
  action = join(root, 'action.sh');
  await writeFile(action, ACTION_SCRIPT);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const input = (manifest = testManifest(['pages-1.img', 'core-1.img'])) => ({
  imageDir,
  manifest,
  criuPath: process.execPath, // any existing file: only its identity is recorded
  kdatFile: join(cache, 'criu.kdat'),
  nodePath: process.execPath,
});

describe('launch plans', () => {
  it('are named by FNV-1a 64 of the real image path (the launcher computes the same)', () => {
    expect(fnv1a64('')).toBe('cbf29ce484222325');
    expect(fnv1a64('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64('foobar')).toBe('85944171f73967e8');
    expect(launchPlanFile('/x/image', '/c')).toBe(`/c/launch-${fnv1a64('/x/image')}.plan`);
  });

  it('record the image, the identity of every file relied on, and both commands with @WORK@', async () => {
    const text = (await launchPlanText(input(), action))!;
    expect(text.split('\n')[0]).toBe(LAUNCH_PLAN_FORMAT);
    const r = records(text);
    const get = (key: string) => r.filter(([k]) => k === key).map(([, v]) => v);
    expect(get('image')).toEqual([imageDir]);
    expect(get('server-pid')).toEqual(['4242']);
    const checks = new Map(
      get('check').map((v) => [v.slice(v.indexOf(' ') + 1), v.slice(0, v.indexOf(' '))]),
    );
    for (const f of [
      imageDir,
      join(imageDir, 'defrost.json'),
      join(imageDir, 'pages-1.img'),
      process.execPath,
    ])
      expect(checks.get(f)).toBe(await fileIdentity(f));
    expect(checks.get(action)).toBe(await fileIdentity(action));
    const eager = get('eager-arg');
    expect(eager[0]).toBe('/bin/sh');
    expect(eager.slice(3, 8)).toEqual(['defrost-janitor', '@WORK@', 'setpriv', '--pdeathsig', 'KILL']);
    expect(get('signing-key')).toEqual(['-']);
    expect(get('cpu')).toEqual([expect.stringMatching(/^[0-9a-f]{16}$/)]);
    expect(eager).toContain('@WORK@/restore.log');
    expect(eager).not.toContain('--lazy-pages');
    expect(get('lazy-arg')).toContain('--lazy-pages');
    // The namespace's prelude is a multi-line shell script: escaped on one line, intact after.
    expect(eager.find((a) => a.startsWith('set -e\n'))).toContain('\nmount -t tmpfs');
    expect(text.split('\n').every((l) => !l.startsWith('mount'))).toBe(true);
    expect(get('eager-env')).toContain('DEFROST_WORK=@WORK@');
    expect(get('lazy-env')).toContain('DEFROST_LAZY_PAGES=1');
  });

  it('are not written for paths a plan cannot hold, or another node than the image was made with', async () => {
    const odd = join(root, 'a\\b');
    await mkdir(odd);
    await writeFile(join(odd, 'defrost.json'), '{}');
    expect(await launchPlanText({ ...input(testManifest([])), imageDir: odd }, action)).toBeUndefined();
    const placeholder = join(root, '@WORK@.sh');
    await writeFile(placeholder, ACTION_SCRIPT);
    expect(await launchPlanText(input(), placeholder)).toBeUndefined();
    const other = testManifest([]);
    other.node.execPath = '/bin/sh';
    expect(await launchPlanText(input(other), action)).toBeUndefined();
    expect(await launchPlanText(input(), action)).toBeDefined();
  });

  it('are written 0600 next to the shared action script, and forgotten on request', async () => {
    expect(await writeLaunchPlan(input(), cache)).toBe(true);
    const file = launchPlanFile(imageDir, cache);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(cache)).mode & 0o777).toBe(0o700);
    const script = join(cache, 'restore-action-1.sh');
    expect(await readFile(script, 'utf8')).toBe(ACTION_SCRIPT);
    // Writing again keeps the script (its identity is in every plan).
    const before = await fileIdentity(script);
    await writeLaunchPlan(input(), cache);
    expect(await fileIdentity(script)).toBe(before);
    await forgetLaunchPlan(imageDir, cache);
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  });

  it('of images that no longer exist are pruned when another plan is written', async () => {
    const gone = join(root, 'gone');
    await mkdir(gone);
    await writeFile(join(gone, 'defrost.json'), '{}');
    expect(await writeLaunchPlan({ ...input(testManifest([])), imageDir: gone }, cache)).toBe(true);
    const goneFile = launchPlanFile(gone, cache);
    await stat(goneFile);
    await rm(gone, { recursive: true });
    expect(await writeLaunchPlan(input(), cache)).toBe(true);
    await expect(stat(goneFile)).rejects.toThrow(/ENOENT/);
    await stat(launchPlanFile(imageDir, cache));
    expect(await pruneLaunchPlans(cache)).toBe(0);
  });

  it('are not written into a cache directory others can write to', async () => {
    await mkdir(cache, { mode: 0o777 });
    await chmod(cache, 0o777);
    expect(await writeLaunchPlan(input(), cache)).toBe(false);
  });
});
