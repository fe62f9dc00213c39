/**
 * The whole bench, end to end, with real CRIU, on the tiny fixture app: `--quick --json` must print
 * exactly one JSON document of the documented shape with positive numbers, and write results.json
 * and chart.svg. No timing thresholds: this machine's speed is not what is tested.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PKG = resolve(import.meta.dirname, '../..');
const BIN = join(PKG, 'dist/bin.js');

function runBench(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: PKG,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    child.once('error', fail);
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}

const METRIC = {
  median: expect.any(Number),
  min: expect.any(Number),
  max: expect.any(Number),
  runs: expect.any(Array),
};

function expectPositiveSummary(
  s: { median: number; min: number; max: number; runs: number[] },
  name: string,
): void {
  expect(s, name).toMatchObject(METRIC);
  expect(s.runs.length, name).toBeGreaterThan(0);
  for (const v of [s.median, s.min, s.max, ...s.runs]) {
    expect(Number.isFinite(v), `${name}: ${v}`).toBe(true);
    expect(v, name).toBeGreaterThan(0);
  }
  expect(s.min).toBeLessThanOrEqual(s.median);
  expect(s.median).toBeLessThanOrEqual(s.max);
}

describe('pnpm bench --quick --json on the fixture app', () => {
  let out: string;
  let result: Awaited<ReturnType<typeof runBench>>;

  beforeAll(async () => {
    expect(existsSync(BIN), 'build the benchmarks first (pnpm --filter @defrost/benchmarks build)').toBe(
      true,
    );
    out = await mkdtemp(join(tmpdir(), 'defrost-bench-test-'));
    result = await runBench([
      '--quick',
      '--json',
      '--app',
      'test/fixtures/tiny-app/server.mjs',
      '--out',
      out,
    ]);
  }, 600_000);

  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('exits 0 and prints exactly one JSON document on stdout, progress on stderr', () => {
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    expect(() => JSON.parse(result.stdout)).not.toThrow();
    expect(result.stdout.trim().startsWith('{')).toBe(true);
    expect(result.stdout.trim().endsWith('}')).toBe(true);
    expect(result.stderr).toContain('[round 1/2]');
  });

  it('has every contender it can measure here, each metric as { median, min, max, runs }', () => {
    const doc = JSON.parse(result.stdout);
    expect(Object.keys(doc.contenders)).toEqual(
      expect.arrayContaining(['cold', 'defrost', 'defrost (core API)', 'floor']),
    );
    const full = [
      'timeToFirstResponseMs',
      'timeToFullyServedMs',
      'first100P50Ms',
      'first100P99Ms',
      'first1000P50Ms',
      'first1000P99Ms',
      'throughput1sRps',
      'throughput5sRps',
      'rssMb',
    ];
    for (const id of ['cold', 'defrost', 'defrost (core API)']) {
      for (const key of full) expectPositiveSummary(doc.contenders[id][key], `${id}.${key}`);
      expect(doc.contenders[id].first100P50Ms.runs).toHaveLength(2);
      // both server lifetimes of each run measure the time to first response
      expect(doc.contenders[id].timeToFirstResponseMs.runs).toHaveLength(4);
    }
    for (const key of ['timeToFirstResponseMs', 'first100P99Ms', 'first1000P99Ms', 'rssMb']) {
      expectPositiveSummary(doc.contenders.floor[key], `floor.${key}`);
    }
    expectPositiveSummary(doc.contenders.defrost.reportedRestoreMs, 'defrost.reportedRestoreMs');
    // Every page in memory: eager restores when ready, lazy ones when the daemon has delivered the last.
    for (const id of ['defrost', 'defrost (lazy pages)', 'defrost (core API)']) {
      expectPositiveSummary(doc.contenders[id].allPagesResidentMs, `${id}.allPagesResidentMs`);
    }
    expect(doc.contenders.cold.allPagesResidentMs).toBeUndefined();
    // The measured starts of `defrost restore` (the command as installed) took the native fast path.
    expect(doc.contenderInfo.defrost.command).toMatch(/^defrost restore /);
    expect(doc.contenderInfo.defrost.restorePaths).toMatch(
      /^fast path \(no Node\) in (\d+) of \1 measured starts$/,
    );
    expect(doc.contenderInfo['defrost (node CLI)'].command).toMatch(/^node .*dist\/bin\.js restore /);
    expectPositiveSummary(doc.contenders['defrost (node CLI)'].timeToFirstResponseMs, 'node CLI');
    // The signed image, restored where the host requires signatures, takes the fast path too.
    expectPositiveSummary(doc.contenders['defrost (signed image)'].timeToFirstResponseMs, 'signed');
    expect(doc.contenderInfo['defrost (signed image)'].command).toMatch(
      /^DEFROST_SIGNING_KEY_FILE=\S+ defrost restore /,
    );
    expect(doc.contenderInfo['defrost (signed image)'].restorePaths).toMatch(
      /^fast path \(no Node\) in (\d+) of \1 measured starts$/,
    );
    // The compile cache: every supported Node has it, so it is always measured.
    expectPositiveSummary(doc.contenders['cold+compile-cache'].timeToFirstResponseMs, 'cold+compile-cache');
  });

  it('has the top-level facts, verdicts and machine facts', () => {
    const doc = JSON.parse(result.stdout);
    for (const key of [
      'steadyStateP99Ms',
      'steadyStateRps',
      'imageBytes',
      'checkpointMs',
      'floorImageBytes',
    ]) {
      expect(doc[key], key).toBeGreaterThan(0);
    }
    expect(doc.verdicts).toHaveLength(6);
    for (const v of doc.verdicts) {
      expect(v.claim).not.toMatch(/issue/);
      expect(typeof v.pass).toBe('boolean');
      expect(v.measured).toBeGreaterThan(0);
      expect(v.threshold).toBeGreaterThan(0);
    }
    expect(doc.machine).toMatchObject({
      cpuModel: expect.any(String),
      cores: expect.any(Number),
      kernel: expect.any(String),
      node: process.version,
      criu: expect.stringMatching(/^\d+\.\d+/),
      thp: expect.any(String),
      imageFilesystem: { type: expect.any(String), mountPoint: expect.any(String) },
    });
    expect(doc.setup.firstVisit).toEqual(['/', '/style.css', '/rss.xml']);
    expect(doc.setup.seeding).toMatch(/seeded once/);
    expect(doc.latencyCurves.defrost).toHaveLength(1000);
  });

  it('writes results.json (the same document) and a well-formed chart.svg', async () => {
    const saved = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
    expect(saved).toEqual(JSON.parse(result.stdout));
    const svg = await readFile(join(out, 'chart.svg'), 'utf8');
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg).toContain('defrost (core API)');
  });

  it('left no process of its own behind', async () => {
    // Everything the bench starts runs from its work directory or the app under test: servers,
    // restorers (their images are in the work directory), lazy-pages daemons, reapers.
    const workDir = /work dir (\/\S+)/.exec(result.stderr)?.[1];
    expect(workDir, 'the bench names its work directory').toMatch(/^\/.+defrost-bench-/);
    const marks = [workDir!, 'test/fixtures/tiny-app/server.mjs', 'floor-server.js'];
    const leftovers: string[] = [];
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (marks.some((m) => cmdline.includes(m))) leftovers.push(`${pid}: ${cmdline.replaceAll('\0', ' ')}`);
    }
    expect(leftovers).toEqual([]);
    expect(existsSync(workDir!)).toBe(false);
    expect(result.stderr).not.toMatch(/still runs after|still in \/proc/);
  });
});

describe('a failed run', () => {
  it('aborts with the reason and prints no numbers', async () => {
    const out = await mkdtemp(join(tmpdir(), 'defrost-bench-test-'));
    try {
      const r = await runBench([
        '--quick',
        '--json',
        '--app',
        'test/fixtures/broken-app/server.mjs',
        '--out',
        out,
      ]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/FAILED: .*the server ended before answering/);
      expect(r.stderr).toContain('missing configuration');
      expect(existsSync(join(out, 'results.json'))).toBe(false);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 120_000);

  it('says what to install when CRIU is missing, before starting anything', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'defrost-bench-nocriu-'));
    try {
      const r = await runBench(['--quick', '--json'], { ...process.env, PATH: empty });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        /FAILED: defrost needs CRIU >= 4\.2.*found no CRIU\n {2}fix: .*install-criu\.sh/,
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('refuses unknown arguments with the usage, exit 2', async () => {
    const r = await runBench(['--nope']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/unknown argument "--nope"[\s\S]*usage: pnpm bench/);
  });
});
