import { describe, expect, it } from 'vitest';
import { computeVerdicts, type VerdictInputs } from '../../src/verdicts.js';

const base: VerdictInputs = {
  coldTtfrMs: 3000,
  defrostTtfrMs: 150,
  floorTtfrMs: 60,
  defrostFirst100P99Ms: 1.2,
  defrostThroughput1sRps: 800,
  steadyStateP99Ms: 1,
  steadyStateRps: 1000,
};
const byId = (inputs: VerdictInputs) => Object.fromEntries(computeVerdicts(inputs).map((v) => [v.id, v]));

describe('verdicts', () => {
  it('has the two bars of issue 7 and the three of issue 8', () => {
    const verdicts = computeVerdicts(base);
    expect(verdicts.map((v) => [v.issue, v.id])).toEqual([
      [7, 'ttfr-10x'],
      [7, 'first100-p99-1.5x-steady'],
      [8, 'ttfr-15x'],
      [8, 'ttfr-3x-floor'],
      [8, 'throughput-1s-70pct'],
    ]);
  });

  it('passes everything when every bar is met, with numbers in the detail', () => {
    const v = byId(base);
    for (const verdict of Object.values(v)) expect(verdict.pass).toBe(true);
    expect(v['ttfr-10x']!.threshold).toBe(300);
    expect(v['ttfr-10x']!.measured).toBe(150);
    expect(v['ttfr-10x']!.detail).toContain('150 ms');
    expect(v['ttfr-15x']!.threshold).toBe(200);
    expect(v['ttfr-3x-floor']!.threshold).toBe(180);
    expect(v['first100-p99-1.5x-steady']!.threshold).toBe(1.5);
    expect(v['throughput-1s-70pct']!.threshold).toBe(700);
  });

  it('treats the bars as inclusive (exactly cold/10 passes)', () => {
    const v = byId({ ...base, defrostTtfrMs: 300 });
    expect(v['ttfr-10x']!.pass).toBe(true);
    expect(v['ttfr-15x']!.pass).toBe(false);
    expect(byId({ ...base, defrostThroughput1sRps: 700 })['throughput-1s-70pct']!.pass).toBe(true);
    expect(byId({ ...base, defrostFirst100P99Ms: 1.5 })['first100-p99-1.5x-steady']!.pass).toBe(true);
  });

  it('fails each bar on the wrong side of it', () => {
    const v = byId({ ...base, defrostTtfrMs: 301, defrostFirst100P99Ms: 1.51, defrostThroughput1sRps: 699 });
    expect(v['ttfr-10x']!.pass).toBe(false);
    expect(v['ttfr-15x']!.pass).toBe(false);
    expect(v['ttfr-3x-floor']!.pass).toBe(false); // 301 > 3 x 60
    expect(v['first100-p99-1.5x-steady']!.pass).toBe(false);
    expect(v['throughput-1s-70pct']!.pass).toBe(false);
  });

  it('throughput is "at least", latency and time "at most"', () => {
    expect(byId({ ...base, defrostThroughput1sRps: 5000 })['throughput-1s-70pct']!.pass).toBe(true);
    expect(byId({ ...base, defrostTtfrMs: 1 })['ttfr-3x-floor']!.pass).toBe(true);
  });

  it('says "not measured" (pass null) instead of guessing when an input is missing', () => {
    const v = byId({ ...base, floorTtfrMs: undefined, steadyStateRps: undefined, defrostTtfrMs: undefined });
    expect(v['ttfr-3x-floor']!.pass).toBeNull();
    expect(v['throughput-1s-70pct']!.pass).toBeNull();
    expect(v['ttfr-10x']!.pass).toBeNull();
    expect(v['ttfr-10x']!.detail).toBe('not measured');
    expect(v['first100-p99-1.5x-steady']!.pass).toBe(true);
  });
});
