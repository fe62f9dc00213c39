import { describe, expect, it } from 'vitest';
import { parseRestoredLine } from '../../src/contenders.js';
import { decodeFields, parseDumpStats, parseRestoreStats } from '../../src/criu-stats.js';
import { mountOf, parseMounts, selectedMode } from '../../src/machine.js';
import { firstVisitResources } from '../../src/probes/http.js';
import { parseVmRssKb } from '../../src/probes/rss.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('CRIU stats files', () => {
  // Real files written by CRIU 4.2.1 on this project's machine.
  const restore = hex('40591055 06330957 0f000000 120d0800 10001807 209f9903 28c553');
  const dump = hex(
    '40591055 06330957 27000000 0a2508b4 0a108b98 0c18b7d8 05209ec4 0328c154 300038c5 53400048 00500858 08600068 007000',
  );

  it('reads stats-restore: times in ms, pages', () => {
    expect(parseRestoreStats(restore)).toEqual({
      pagesCompared: 0,
      pagesSkippedCow: 0,
      forkingTimeMs: 0.007,
      restoreTimeMs: 52.383,
      pagesRestored: 10693,
    });
  });

  it('reads stats-dump', () => {
    const stats = parseDumpStats(dump);
    expect(stats?.pagesWritten).toBe(10693);
    expect(stats?.freezingTimeMs).toBeCloseTo(1.332, 3);
    expect(stats?.pagesScanned).toBe(10817);
  });

  it('returns undefined for a file that is too short or of the other kind', () => {
    expect(parseRestoreStats(new Uint8Array(4))).toBeUndefined();
    expect(parseRestoreStats(dump)).toBeUndefined();
    expect(parseDumpStats(restore)).toBeUndefined();
  });

  it('decodes multi-byte varints and skips fixed-width fields', () => {
    const fields = decodeFields(hex('08 ac02 11 0102030405060708 18 01'));
    expect(fields.get(1)).toBe(300);
    expect(fields.get(3)).toBe(1);
    expect(() => decodeFields(hex('08 ff'))).toThrow(/truncated/);
  });
});

describe('machine facts', () => {
  const mounts = parseMounts(
    [
      'proc /proc proc rw 0 0',
      '/dev/vda / ext4 rw,relatime 0 0',
      'tmpfs /dev/shm tmpfs rw 0 0',
      'tmpfs /tmp/with\\040space tmpfs rw 0 0',
      'tmpfs /run tmpfs rw 0 0',
      '',
    ].join('\n'),
  );
  it('finds the filesystem a path lives on (longest mount point)', () => {
    expect(mountOf('/tmp/defrost-bench-x/image', mounts)?.type).toBe('ext4');
    expect(mountOf('/run/criu', mounts)?.type).toBe('tmpfs');
    expect(mountOf('/runway', mounts)?.mountPoint).toBe('/');
    expect(mountOf('/tmp/with space/x', mounts)?.mountPoint).toBe('/tmp/with space');
  });
  it('reads the selected THP mode', () => {
    expect(selectedMode('always [madvise] never\n')).toBe('madvise');
    expect(selectedMode('always defer defer+madvise [madvise] never')).toBe('madvise');
    expect(selectedMode('')).toBe('unknown');
  });
});

describe('first visit resources', () => {
  it('takes stylesheets, scripts and the first feed, same-origin paths only, in document order', () => {
    const html = `<!doctype html><html><head>
      <link rel="stylesheet" href="/static/style.css">
      <link rel="alternate" type="application/rss+xml" title="x (RSS)" href="/rss.xml">
      <link rel="alternate" type="application/atom+xml" href="/atom.xml">
      <link rel=stylesheet href=/static/print.css media=print>
      <link rel="icon" href="/favicon.ico">
      <link rel="stylesheet" href="https://cdn.example/x.css">
      <link rel="stylesheet" href="//cdn.example/y.css">
      <script src='/static/app.js'></script>
      <link rel="stylesheet" href="/static/style.css">
    </head></html>`;
    expect(firstVisitResources(html)).toEqual([
      '/static/style.css',
      '/static/print.css',
      '/static/app.js',
      '/rss.xml',
    ]);
  });
  it('is empty for a page without any', () => {
    expect(firstVisitResources('ok')).toEqual([]);
  });
});

describe('small parsers', () => {
  it('finds the restored server in the CLI output', () => {
    const text = 'something\ndefrost: restored /tmp/img in 214 ms (pid 4242)\nmore';
    expect(parseRestoredLine(text)).toEqual({ ms: 214, pid: 4242 });
    expect(parseRestoredLine('\u001b[32mdefrost: restored img in 9.5 ms (pid 7) [copy 0]\u001b[39m')).toEqual(
      { ms: 9.5, pid: 7 },
    );
    expect(parseRestoredLine('defrost: restoring...')).toBeUndefined();
  });
  it('reads VmRSS', () => {
    expect(parseVmRssKb('Name:\tnode\nVmHWM:\t  9000 kB\nVmRSS:\t  123456 kB\n')).toBe(123456);
    expect(parseVmRssKb('Name:\tzombie\n')).toBeUndefined();
  });
});
