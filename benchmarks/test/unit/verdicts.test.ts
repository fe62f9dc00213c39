import { describe, expect, it } from 'vitest';
import { computeVerdicts, type VerdictInputs } from '../../src/verdicts.js';

const base: VerdictInputs = {
  coldTtfrMs: 3000,
  compileCacheTtfrMs: 2000,
  defrostTtfrMs: 150,
  floorTtfrMs: 60,
  signedTtfrMs: 160,
  defrostFirst100P99Ms: 1.2,
  defrostThroughput1sRps: 800,
  steadyStateP99Ms: 1,
  steadyStateRps: 1000,
};
const byId = (inputs: VerdictInputs) => Object.fromEntries(computeVerdicts(inputs).map((v) => [v.id, v]));

describe('verdicts', () => {
  it('are named by what they claim', () => {
    expect(computeVerdicts(base).map((v) => [v.id, v.claim])).toEqual([
      ['ttfr-15x-cold', 'first response at least 15x sooner than a cold start'],
      [
        'ttfr-10x-compile-cache',
        "first response at least 10x sooner than a cold start with Node's compile cache",
      ],
      ['ttfr-3x-floor', 'first response within 3x of the floor (a trivial server restored)'],
      ['ttfr-signed-1.3x', "a signed image's first response within 1.3x of an unsigned one's"],
      ['first100-p99-1.5x-steady', 'first 100 requests: p99 within 1.5x of steady state'],
      ['throughput-1s-70pct', 'first second: at least 70% of steady-state throughput'],
    ]);
  });

  it('passes everything when every bar is met, with numbers in the detail', () => {
    const v = byId(base);
    for (const verdict of Object.values(v)) expect(verdict.pass).toBe(true);
    expect(v['ttfr-15x-cold']!.threshold).toBe(200);
    expect(v['ttfr-15x-cold']!.measured).toBe(150);
    expect(v['ttfr-15x-cold']!.detail).toBe('defrost 150 ms vs cold 3000 ms / 15 = 200 ms (20.0x sooner)');
    expect(v['ttfr-10x-compile-cache']!.threshold).toBe(200);
    expect(v['ttfr-10x-compile-cache']!.detail).toContain('(13.3x sooner)');
    expect(v['ttfr-3x-floor']!.threshold).toBe(180);
    expect(v['ttfr-signed-1.3x']!.threshold).toBe(195);
    expect(v['ttfr-signed-1.3x']!.detail).toBe('signed 160 ms vs 1.3 x unsigned 150 ms = 195 ms (1.07x)');
    expect(v['first100-p99-1.5x-steady']!.threshold).toBe(1.5);
    expect(v['throughput-1s-70pct']!.threshold).toBe(700);
  });

  it('treats the bars as inclusive (exactly cold/15 passes)', () => {
    const v = byId({ ...base, defrostTtfrMs: 200 });
    expect(v['ttfr-15x-cold']!.pass).toBe(true);
    expect(v['ttfr-10x-compile-cache']!.pass).toBe(true);
    expect(byId({ ...base, defrostTtfrMs: 201 })['ttfr-15x-cold']!.pass).toBe(false);
    expect(byId({ ...base, defrostThroughput1sRps: 700 })['throughput-1s-70pct']!.pass).toBe(true);
    expect(byId({ ...base, defrostFirst100P99Ms: 1.5 })['first100-p99-1.5x-steady']!.pass).toBe(true);
  });

  it('fails each bar on the wrong side of it', () => {
    const v = byId({ ...base, defrostTtfrMs: 301, defrostFirst100P99Ms: 1.51, defrostThroughput1sRps: 699 });
    expect(v['ttfr-15x-cold']!.pass).toBe(false);
    expect(v['ttfr-10x-compile-cache']!.pass).toBe(false);
    expect(v['ttfr-3x-floor']!.pass).toBe(false); // 301 > 3 x 60
    expect(v['first100-p99-1.5x-steady']!.pass).toBe(false);
    expect(v['throughput-1s-70pct']!.pass).toBe(false);
    expect(byId({ ...base, signedTtfrMs: 196 })['ttfr-signed-1.3x']!.pass).toBe(false);
  });

  it('throughput is "at least", latency and time "at most"', () => {
    expect(byId({ ...base, defrostThroughput1sRps: 5000 })['throughput-1s-70pct']!.pass).toBe(true);
    expect(byId({ ...base, defrostTtfrMs: 1 })['ttfr-3x-floor']!.pass).toBe(true);
  });

  it('says "not measured" (pass null) instead of guessing when an input is missing', () => {
    const v = byId({
      ...base,
      floorTtfrMs: undefined,
      compileCacheTtfrMs: undefined,
      defrostTtfrMs: undefined,
    });
    expect(v['ttfr-3x-floor']!.pass).toBeNull();
    expect(v['ttfr-10x-compile-cache']!.pass).toBeNull();
    expect(v['ttfr-15x-cold']!.pass).toBeNull();
    expect(v['ttfr-15x-cold']!.detail).toBe('not measured');
    expect(v['first100-p99-1.5x-steady']!.pass).toBe(true);
  });
});
