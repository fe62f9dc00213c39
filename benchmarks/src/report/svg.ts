/**
 * chart.svg, written by hand (no browser, no chart library): time to first response per contender as
 * bars with min-max whiskers, and the latency of each of the first 1,000 requests (median over the
 * runs) per contender as lines on a log scale.
 */
import { formatQuantity } from '@defrost/core/internal';
import { type BenchDocument, CONTENDER_IDS } from '../model.js';

export interface ChartBar {
  readonly label: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface ChartLine {
  readonly label: string;
  readonly values: readonly number[];
}

export interface ChartInput {
  readonly title: string;
  readonly bars: readonly ChartBar[];
  readonly lines: readonly ChartLine[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#7f7f7f', '#ff7f0e'];

export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}

const n = (v: number): string => (Number.isFinite(v) ? String(Math.round(v * 100) / 100) : '0');

/** Axis labels: whole numbers as they are (0, 5, 50), others as everywhere else. */
const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : formatQuantity(v));

/** Tick values for a linear axis from 0 to max: 4-6 round steps. */
export function linearTicks(max: number): number[] {
  if (!(max > 0)) return [0];
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
  if (ticks[ticks.length - 1]! < max) ticks.push(ticks[ticks.length - 1]! + step);
  return ticks;
}

/** Powers of ten covering [lo, hi] for a log axis. */
export function logTicks(lo: number, hi: number): number[] {
  const from = Math.floor(Math.log10(Math.max(lo, 1e-3)));
  const to = Math.ceil(Math.log10(Math.max(hi, lo * 10, 1e-3)));
  const out: number[] = [];
  for (let e = from; e <= to; e++) out.push(10 ** e);
  return out;
}

export function renderChart(input: ChartInput): string {
  const W = 900;
  const H = 760;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(input.title)}</text>`,
  );

  // Panel 1: bars.
  const p1 = { x: 90, y: 60, w: W - 130, h: 250 };
  out.push(
    `<text x="${p1.x}" y="${p1.y - 12}" font-size="14">Time to first response (ms): median, whiskers min-max</text>`,
  );
  const barMax = Math.max(1e-9, ...input.bars.map((b) => b.max));
  const ticks1 = linearTicks(barMax);
  const top1 = ticks1[ticks1.length - 1]!;
  const y1 = (v: number): number => p1.y + p1.h - (v / top1) * p1.h;
  for (const t of ticks1) {
    out.push(`<line x1="${p1.x}" y1="${n(y1(t))}" x2="${p1.x + p1.w}" y2="${n(y1(t))}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${p1.x - 6}" y="${n(y1(t) + 4)}" text-anchor="end">${fmt(t)}</text>`);
  }
  const slot = input.bars.length > 0 ? p1.w / input.bars.length : p1.w;
  input.bars.forEach((b, i) => {
    const cx = p1.x + slot * (i + 0.5);
    const bw = Math.min(80, slot * 0.6);
    const color = COLORS[i % COLORS.length]!;
    out.push(
      `<rect x="${n(cx - bw / 2)}" y="${n(y1(b.median))}" width="${n(bw)}" height="${n(p1.y + p1.h - y1(b.median))}" fill="${color}"><title>${escapeXml(`${b.label}: median ${fmt(b.median)} ms (min ${fmt(b.min)}, max ${fmt(b.max)})`)}</title></rect>`,
    );
    out.push(
      `<line x1="${n(cx)}" y1="${n(y1(b.min))}" x2="${n(cx)}" y2="${n(y1(b.max))}" stroke="#000000"/>`,
    );
    out.push(
      `<line x1="${n(cx - 8)}" y1="${n(y1(b.min))}" x2="${n(cx + 8)}" y2="${n(y1(b.min))}" stroke="#000000"/>`,
    );
    out.push(
      `<line x1="${n(cx - 8)}" y1="${n(y1(b.max))}" x2="${n(cx + 8)}" y2="${n(y1(b.max))}" stroke="#000000"/>`,
    );
    out.push(
      `<text x="${n(cx)}" y="${n(y1(b.max) - 6)}" text-anchor="middle">${escapeXml(fmt(b.median))}</text>`,
    );
    out.push(`<text x="${n(cx)}" y="${p1.y + p1.h + 18}" text-anchor="middle">${escapeXml(b.label)}</text>`);
  });
  out.push(
    `<line x1="${p1.x}" y1="${p1.y + p1.h}" x2="${p1.x + p1.w}" y2="${p1.y + p1.h}" stroke="#000000"/>`,
  );

  // Panel 2: latency lines, log scale.
  const p2 = { x: 90, y: 400, w: W - 130, h: 290 };
  out.push(
    `<text x="${p2.x}" y="${p2.y - 12}" font-size="14">Latency of each of the first requests after reachable (ms, log scale; median over runs)</text>`,
  );
  const all = input.lines.flatMap((l) => l.values.filter((v) => v > 0));
  const lo = all.length > 0 ? Math.min(...all) : 0.1;
  const hi = all.length > 0 ? Math.max(...all) : 1;
  const ticks2 = logTicks(lo, hi);
  const lmin = Math.log10(ticks2[0]!);
  const lmax = Math.log10(ticks2[ticks2.length - 1]!);
  const span = Math.max(1e-9, lmax - lmin);
  const y2 = (v: number): number =>
    p2.y + p2.h - ((Math.log10(Math.max(v, ticks2[0]!)) - lmin) / span) * p2.h;
  const count = Math.max(1, ...input.lines.map((l) => l.values.length));
  // Request number on a log scale: the first requests, where cold and warm differ, get the room.
  const lcount = Math.log10(Math.max(2, count));
  const x2 = (i: number): number => p2.x + (Math.log10(i + 1) / lcount) * p2.w;
  for (const t of ticks2) {
    out.push(`<line x1="${p2.x}" y1="${n(y2(t))}" x2="${p2.x + p2.w}" y2="${n(y2(t))}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${p2.x - 6}" y="${n(y2(t) + 4)}" text-anchor="end">${escapeXml(String(t))}</text>`);
  }
  for (const t of logTicks(1, count)) {
    if (t > count) continue;
    out.push(
      `<line x1="${n(x2(t - 1))}" y1="${p2.y}" x2="${n(x2(t - 1))}" y2="${p2.y + p2.h}" stroke="#f0f0f0"/>`,
    );
    out.push(`<text x="${n(x2(t - 1))}" y="${p2.y + p2.h + 18}" text-anchor="middle">${t}</text>`);
  }
  out.push(
    `<text x="${p2.x + p2.w / 2}" y="${p2.y + p2.h + 36}" text-anchor="middle">request number (log scale)</text>`,
  );
  input.lines.forEach((l, i) => {
    const color =
      COLORS[
        input.bars.findIndex((b) => b.label === l.label) >= 0
          ? input.bars.findIndex((b) => b.label === l.label) % COLORS.length
          : i % COLORS.length
      ]!;
    if (l.values.length > 0) {
      const points = l.values.map((v, j) => `${n(x2(j))},${n(y2(v))}`).join(' ');
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="1.2" points="${points}"><title>${escapeXml(l.label)}</title></polyline>`,
      );
    }
    const ly = p2.y + 10 + i * 16;
    out.push(
      `<line x1="${p2.x + p2.w - 170}" y1="${ly}" x2="${p2.x + p2.w - 150}" y2="${ly}" stroke="${color}" stroke-width="3"/>`,
    );
    out.push(`<text x="${p2.x + p2.w - 144}" y="${ly + 4}">${escapeXml(l.label)}</text>`);
  });
  out.push(
    `<line x1="${p2.x}" y1="${p2.y + p2.h}" x2="${p2.x + p2.w}" y2="${p2.y + p2.h}" stroke="#000000"/>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** What chart.svg shows of a bench document: every contender that has a time to first response. */
export function chartInput(doc: BenchDocument): ChartInput {
  const bars: ChartBar[] = [];
  const lines: ChartLine[] = [];
  for (const id of CONTENDER_IDS) {
    const ttfr = doc.contenders[id]?.timeToFirstResponseMs;
    if (ttfr) bars.push({ label: id, median: ttfr.median, min: ttfr.min, max: ttfr.max });
    const curve = doc.latencyCurves[id];
    if (curve && curve.length > 0) lines.push({ label: id, values: curve });
  }
  return {
    title: `defrost bench: ${doc.app} (${doc.runs} runs, ${doc.machine.cores} cores, Node ${doc.machine.node})`,
    bars,
    lines,
  };
}
