import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { type ChartInput, escapeXml, linearTicks, logTicks, renderChart } from '../../src/report/svg.js';

const input: ChartInput = {
  title: 'defrost bench: apps/blog <"&">',
  bars: [
    { label: 'cold', median: 3200, min: 3000, max: 4100 },
    { label: 'defrost', median: 310, min: 290, max: 420 },
    { label: 'floor & co', median: 95, min: 90, max: 120 },
  ],
  lines: [
    { label: 'cold', values: Array.from({ length: 1000 }, (_, i) => 5 / (1 + i / 50) + 0.4) },
    { label: 'defrost', values: Array.from({ length: 1000 }, () => 0.45) },
  ],
};

function parse(svg: string) {
  return new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(svg) as {
    svg: { xmlns: string; rect: unknown[]; polyline: unknown; text: unknown[] };
  };
}

describe('renderChart', () => {
  it('is well-formed XML with an svg root in the SVG namespace', () => {
    const svg = renderChart(input);
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(parse(svg).svg.xmlns).toBe('http://www.w3.org/2000/svg');
  });

  it('draws a bar per contender and a line per latency curve', () => {
    const svg = renderChart(input);
    // background + one rect per bar
    expect(svg.match(/<rect /g)).toHaveLength(1 + input.bars.length);
    expect(svg.match(/<polyline /g)).toHaveLength(input.lines.length);
    const match = /<polyline [^>]*points="([^"]+)"/.exec(svg);
    expect(match).not.toBeNull();
    const points = (match?.[1] ?? '').split(' ');
    expect(points).toHaveLength(1000);
    for (const p of points) expect(p).toMatch(/^-?\d+(\.\d+)?,-?\d+(\.\d+)?$/);
  });

  it('escapes labels and titles', () => {
    const svg = renderChart(input);
    expect(svg).toContain('apps/blog &lt;&quot;&amp;&quot;&gt;');
    expect(svg).toContain('floor &amp; co');
    expect(svg).not.toContain('<"&">');
  });

  it('stays well-formed with no data, one bar, zero or NaN values', () => {
    for (const odd of [
      { title: 't', bars: [], lines: [] },
      { title: 't', bars: [{ label: 'x', median: 0, min: 0, max: 0 }], lines: [{ label: 'x', values: [] }] },
      {
        title: 't',
        bars: [{ label: 'x', median: 1, min: 1, max: 1 }],
        lines: [{ label: 'x', values: [0, Number.NaN, 1] }],
      },
    ] satisfies ChartInput[]) {
      const svg = renderChart(odd);
      expect(XMLValidator.validate(svg)).toBe(true);
      expect(svg).not.toMatch(/NaN|Infinity/);
    }
  });
});

describe('axis helpers', () => {
  it('escapeXml covers the five XML specials', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
  });
  it('linearTicks start at 0, reach the maximum, in round steps', () => {
    expect(linearTicks(4100)).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    expect(linearTicks(1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(linearTicks(0)).toEqual([0]);
  });
  it('logTicks cover the range in powers of ten', () => {
    expect(logTicks(0.4, 37)).toEqual([0.1, 1, 10, 100]);
    expect(logTicks(1, 1)).toEqual([1, 10]);
  });
});
