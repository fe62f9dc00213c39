import { describe, expect, it } from 'vitest';
import { ArgsError } from '../../src/args.js';
import { ZERO_CODE_APPS } from '../../src/zero-code/apps.js';
import { parseZeroCodeArgs } from '../../src/zero-code/args.js';
import { renderZeroCodeReport, resultOf } from '../../src/zero-code/report.js';

const machine = {
  cpuModel: 'Test CPU',
  cores: 2,
  memoryGb: 24,
  kernel: '6.18.0',
  node: 'v24.0.0',
  criu: '4.2.1',
  imageFilesystem: { path: '/tmp/x', mountPoint: '/', type: 'ext4', device: '/dev/vda1' },
  thp: 'madvise',
  thpDefrag: 'madvise',
  loadAverage: { atStart: 0.5, atEnd: 0.7 },
};

describe('zero-code benchmark arguments', () => {
  it('measures every example app 10 times by default', () => {
    expect(parseZeroCodeArgs([])).toEqual({
      runs: 10,
      apps: ZERO_CODE_APPS.map((a) => a.name),
      json: false,
      help: false,
    });
  });

  it('takes --runs, repeated --app in the order given, --json, and a lone -- from pnpm', () => {
    expect(parseZeroCodeArgs(['--', '--runs', '3', '--app', 'koa', '--app', 'hono', '--json'])).toEqual({
      runs: 3,
      apps: ['koa', 'hono'],
      json: true,
      help: false,
    });
  });

  it('refuses an unknown app, naming the known ones, and a bad --runs', () => {
    expect(() => parseZeroCodeArgs(['--app', 'rails'])).toThrow(
      /--app: one of express5, express4, .* \(got rails\)/,
    );
    expect(() => parseZeroCodeArgs(['--runs', '0'])).toThrow(ArgsError);
    expect(() => parseZeroCodeArgs(['--runs'])).toThrow(/--runs needs a value/);
    expect(() => parseZeroCodeArgs(['--quick'])).toThrow(/unknown argument "--quick"/);
  });
});

describe('zero-code report', () => {
  it('gives medians, ranges and the cold/restore ratio per app, then the machine', () => {
    const app = resultOf({
      name: 'koa',
      stack: 'Koa 3 + @koa/router',
      probe: '/books',
      coldMs: [200, 180, 190],
      restoreMs: [60, 50, 40],
      fastPathRestores: 3,
      imageBytes: 35_000_000,
      checkpointWallMs: 2_500,
      checkpointCommand: 'defrost checkpoint ...',
    });
    expect(app.cold.median).toBe(190);
    expect(app.restore.median).toBe(50);
    expect(app.ratio).toBeCloseTo(3.8);
    const text = renderZeroCodeReport({ startedAt: '2026-01-01T00:00:00Z', runs: 3, machine, apps: [app] });
    expect(text).toContain('median (min-max) of 3 interleaved runs per app');
    expect(text).toContain(
      '| Koa 3 + @koa/router | `GET /books` | 190 ms (180 ms-200 ms) | 50.0 ms (40.0 ms-60.0 ms) | 3.8x sooner | 33.4 MiB | 3/3 |',
    );
    expect(text).toContain('machine: Test CPU, 2 cores, 24 GB; Linux 6.18.0; Node v24.0.0; CRIU 4.2.1');
  });
});
