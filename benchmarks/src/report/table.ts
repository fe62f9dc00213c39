/** The terminal report: one table of every metric by contender, then facts, steady state and verdicts. */
import { formatBytes, formatQuantity } from '@defrost/core/internal';
import { type BenchDocument, CONTENDER_IDS, METRICS } from '../model.js';

/** Compact number formatting by unit: counts with thousands separators, MiB to 0.1, else formatQuantity. */
export function formatValue(value: number, unit: string): string {
  if (unit === 'req/s' || unit === 'pages') return Math.round(value).toLocaleString('en-US');
  if (unit === 'MiB') return value.toFixed(1);
  return formatQuantity(value);
}

function pad(cells: readonly string[], widths: readonly number[], right: readonly boolean[]): string {
  return cells
    .map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
    .join('  ')
    .trimEnd();
}

export function renderTable(doc: BenchDocument): string {
  const header = ['metric', 'contender', 'median', 'min', 'max', 'runs', 'cold/defrost'];
  const right = [false, false, true, true, true, true, true];
  const rows: string[][] = [];
  for (const metric of METRICS) {
    let firstOfMetric = true;
    for (const id of CONTENDER_IDS) {
      const s = doc.contenders[id]?.[metric.key];
      if (!s) continue;
      const q = id === 'defrost' ? doc.ratios[metric.key] : undefined;
      rows.push([
        firstOfMetric ? `${metric.label} (${metric.unit})` : '',
        id,
        formatValue(s.median, metric.unit),
        formatValue(s.min, metric.unit),
        formatValue(s.max, metric.unit),
        String(s.runs.length),
        q === undefined ? '' : `${q >= 10 ? q.toFixed(1) : q.toFixed(2)}x`,
      ]);
      firstOfMetric = false;
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const rule = '-'.repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  return [pad(header, widths, right), rule, ...rows.map((r) => pad(r, widths, right))].join('\n');
}

export function renderReport(doc: BenchDocument): string {
  const m = doc.machine;
  const lines: string[] = [];
  lines.push(
    `defrost bench: ${doc.app}, ${doc.runs} interleaved runs${doc.quick ? ' (--quick: indicative only)' : ''}, after 1 untimed warm-up round`,
  );
  lines.push(`  ${doc.setup.seeding}`);
  lines.push(
    `  first visit: ${doc.setup.firstVisit.join(' + ')}; load: ${doc.setup.throughputConnections} keep-alive connections on /`,
  );
  lines.push('');
  lines.push(renderTable(doc));
  lines.push('');
  lines.push('contenders:');
  for (const id of CONTENDER_IDS) {
    const info = doc.contenderInfo[id];
    if (info)
      lines.push(
        `  ${id.padEnd(18)} ${info.command}${info.note ? `\n  ${''.padEnd(18)} (${info.note})` : ''}${info.restorePaths ? `\n  ${''.padEnd(18)} (${info.restorePaths})` : ''}`,
      );
  }
  lines.push('');
  lines.push(
    `image: ${formatBytes(doc.imageBytes)}, built in ${formatValue(doc.checkpointMs, 'ms')} ms (start + warm-up + checkpoint${doc.dumpMs !== null ? `; dump ${formatValue(doc.dumpMs, 'ms')} ms` : ''}); floor image ${formatBytes(doc.floorImageBytes)}`,
  );
  lines.push(`  built by: ${doc.setup.imageCommand}`);
  const st = doc.steadyState;
  const range = (x: { median: number; min: number; max: number }, unit: string): string =>
    `${formatValue(x.median, unit)} (${formatValue(x.min, unit)}-${formatValue(x.max, unit)})`;
  lines.push(
    `steady state (a cold start loaded for ${doc.setup.steadyWarmupMs / 1000} s, measured once per round; median (min-max) of ${st.p99Ms.runs.length}):`,
  );
  lines.push(
    `  1,000 sequential requests p50 ${range(st.p50Ms, 'ms')} ms, p99 ${range(st.p99Ms, 'ms')} ms; ${range(st.rps, 'req/s')} req/s; rss ${range(st.rssMb, 'MiB')} MiB`,
  );
  lines.push(
    `process start: node -e 0 ${formatValue(doc.setup.nodeStartMs, 'ms')} ms${doc.setup.cliStartMs !== undefined ? `; defrost --version ${formatValue(doc.setup.cliStartMs, 'ms')} ms` : ''} (medians of 5)`,
  );
  lines.push('');
  lines.push('verdicts:');
  for (const v of doc.verdicts) {
    const mark = v.pass === null ? 'N/A ' : v.pass ? 'PASS' : 'FAIL';
    lines.push(`  ${mark}  ${v.claim}: ${v.detail}`);
  }
  lines.push('');
  lines.push(
    `machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGb} GB; Linux ${m.kernel}; Node ${m.node}; CRIU ${m.criu}; THP ${m.thp} (defrag ${m.thpDefrag})`,
  );
  // At the end the bench's own servers and load generator count too: only the start tells of others.
  const busy = m.loadAverage.atStart > m.cores * 0.5;
  lines.push(
    `  load average (1 min) ${m.loadAverage.atStart.toFixed(2)} at start, ${m.loadAverage.atEnd.toFixed(2)} at end${busy ? ': the machine was busy before the bench started, expect noisy numbers' : ''}`,
  );
  lines.push(
    `  image location ${m.imageFilesystem.path}: ${m.imageFilesystem.type} on ${m.imageFilesystem.device} (mounted at ${m.imageFilesystem.mountPoint})`,
  );
  return lines.join('\n');
}
