import { formatBytes } from '@defrost/core/internal';
import { describe, expect, it } from 'vitest';
import type { BenchDocument } from '../../src/model.js';
import { formatValue, renderReport, renderTable } from '../../src/report/table.js';
import { summarize } from '../../src/stats.js';
import { computeVerdicts } from '../../src/verdicts.js';

const doc: BenchDocument = {
  schemaVersion: 1,
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:05:00.000Z',
  app: 'apps/blog/dist/server.js',
  runs: 3,
  quick: false,
  setup: {
    seeding: 'the data dir was seeded once by an untimed cold start',
    firstVisit: ['/', '/static/style.css', '/rss.xml'],
    throughputConnections: 10,
    steadyWarmupMs: 15_000,
    nodeStartMs: 90,
    cliStartMs: 180,
    imageCommand:
      'node packages/cli/dist/bin.js checkpoint --image /tmp/x/image -- node apps/blog/dist/server.js',
  },
  contenders: {
    cold: {
      timeToFirstResponseMs: summarize([3000, 3400, 3200]),
      throughput1sRps: summarize([3000, 3300, 3100]),
    },
    defrost: {
      timeToFirstResponseMs: summarize([400, 420, 380]),
      throughput1sRps: summarize([5000, 5100, 4900]),
    },
    floor: { timeToFirstResponseMs: summarize([300, 310, 290]) },
  },
  contenderInfo: {
    cold: { command: 'node apps/blog/dist/server.js' },
    defrost: { command: 'node packages/cli/dist/bin.js restore /tmp/x/image' },
  },
  ratios: { timeToFirstResponseMs: 8, throughput1sRps: 0.62 },
  steadyStateP99Ms: 2,
  steadyStateP50Ms: 0.4,
  steadyStateRps: 7000,
  steadyState: {
    p50Ms: summarize([0.4, 0.4, 0.5]),
    p99Ms: summarize([2, 1.5, 3]),
    rps: summarize([7000, 6800, 7200]),
    rssMb: summarize([160, 162, 161]),
  },
  imageBytes: 120 * 2 ** 20,
  checkpointMs: 13_000,
  dumpMs: 1250,
  floorImageBytes: 14 * 2 ** 20,
  floorCheckpointMs: 2000,
  verdicts: computeVerdicts({
    coldTtfrMs: 3200,
    defrostTtfrMs: 400,
    floorTtfrMs: 300,
    steadyStateRps: 7000,
    defrostThroughput1sRps: 5000,
  }),
  machine: {
    cpuModel: 'AMD EPYC',
    cores: 2,
    memoryGb: 23.5,
    kernel: '6.18.44',
    node: 'v20.20.2',
    criu: '4.2.1',
    imageFilesystem: { path: '/tmp/x', mountPoint: '/', type: 'ext4', device: '/dev/vda' },
    thp: 'madvise',
    thpDefrag: 'madvise',
    loadAverage: { atStart: 1.9, atEnd: 2.1 },
  },
  latencyCurves: {},
};

describe('formatting', () => {
  it('formats by unit', () => {
    expect(formatValue(3395.4, 'ms')).toBe('3395');
    expect(formatValue(41.26, 'ms')).toBe('41.3');
    expect(formatValue(0.456, 'ms')).toBe('0.46');
    expect(formatValue(4937.2, 'req/s')).toBe('4,937');
    expect(formatValue(140.24, 'MiB')).toBe('140.2');
    expect(formatBytes(120 * 2 ** 20)).toBe('120.0 MiB');
    expect(formatBytes(512)).toBe('512 B');
  });
});

describe('renderTable', () => {
  it('has a row per measured metric and contender, the ratio on the defrost row', () => {
    const lines = renderTable(doc).split('\n');
    expect(lines[0]).toMatch(/^metric\s+contender\s+median\s+min\s+max\s+runs\s+cold\/defrost$/);
    const defrostTtfr = lines.find((l) => /^\s+defrost\s+400\s+380\s+420\s+3\s+8\.00x$/.test(l));
    expect(defrostTtfr, lines.join('\n')).toBeDefined();
    expect(lines.find((l) => l.startsWith('time to first response (ms)'))).toMatch(
      /cold\s+3200\s+3000\s+3400\s+3$/,
    );
    expect(lines.some((l) => /defrost\s+5,000\s+4,900\s+5,100\s+3\s+0\.62x$/.test(l))).toBe(true);
    // metrics nobody measured are left out
    expect(lines.some((l) => l.includes('RSS'))).toBe(false);
  });
});

describe('renderReport', () => {
  const text = renderReport(doc);
  it('prints the verdicts as PASS/FAIL/N/A with their numbers', () => {
    expect(text).toMatch(
      /FAIL {2}first response at least 15x sooner than a cold start: defrost 400 ms vs cold 3200 ms \/ 15 = 213 ms \(8\.00x sooner\)/,
    );
    expect(text).toMatch(/PASS {2}first response within 3x of the floor/);
    expect(text).toMatch(/PASS {2}first second: at least 70% of steady-state throughput/);
    expect(text).toMatch(/N\/A +first 100 requests: p99 within 1\.5x of steady state: not measured/);
    expect(text).not.toMatch(/issue \d/);
  });
  it('prints the machine facts', () => {
    expect(text).toContain('CRIU 4.2.1');
    expect(text).toContain('THP madvise');
    expect(text).toContain('ext4 on /dev/vda');
    expect(text).toMatch(/load average \(1 min\) 1\.90 at start, 2\.10 at end: the machine was busy/);
    expect(text).toContain('seeded once');
    expect(text).toContain('node -e 0 90.0 ms; defrost --version 180 ms');
  });
});
