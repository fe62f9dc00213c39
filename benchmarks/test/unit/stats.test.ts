import { describe, expect, it } from 'vitest';
import { elementwiseMedian, median, percentile, ratio, summarize } from '../../src/stats.js';

describe('median', () => {
  it('takes the middle of an odd count, whatever the order', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([7])).toBe(7);
  });
  it('averages the two middle values of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([10, 20])).toBe(15);
  });
  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });
  it('refuses no samples and non-finite samples', () => {
    expect(() => median([])).toThrow(RangeError);
    expect(() => median([1, Number.NaN])).toThrow(/finite/);
    expect(() => median([1, Number.POSITIVE_INFINITY])).toThrow(/finite/);
  });
});

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  it('p99 of 100 samples is the 99th smallest; p100 the largest; p50 the 50th', () => {
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 1)).toBe(1);
  });
  it('p99 of 1,000 samples is the 990th smallest', () => {
    const thousand = Array.from({ length: 1000 }, (_, i) => 1000 - i); // shuffled order does not matter
    expect(percentile(thousand, 99)).toBe(990);
    expect(percentile(thousand, 50)).toBe(500);
  });
  it('is always one of the samples (no interpolation)', () => {
    const values = [0.5, 10, 2.25];
    for (const p of [1, 10, 33, 50, 66.7, 90, 99, 100]) expect(values).toContain(percentile(values, p));
    expect(percentile([1, 2], 50)).toBe(1);
    expect(percentile([1, 2], 51)).toBe(2);
  });
  it('a single outlier shows at p99 of 100 only when there are two', () => {
    const one = [...Array(99).fill(1), 50];
    expect(percentile(one, 99)).toBe(1);
    const two = [...Array(98).fill(1), 50, 60];
    expect(percentile(two, 99)).toBe(50);
  });
  it('refuses p outside (0, 100] and empty samples', () => {
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
    expect(() => percentile([], 50)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('gives median, min, max and keeps every sample in run order', () => {
    expect(summarize([30, 10, 20, 40])).toEqual({ median: 25, min: 10, max: 40, runs: [30, 10, 20, 40] });
  });
  it('refuses no samples', () => {
    expect(() => summarize([])).toThrow(RangeError);
  });
});

describe('elementwiseMedian', () => {
  it('takes the median of each position over the series', () => {
    expect(
      elementwiseMedian([
        [1, 10, 100],
        [3, 30, 300],
        [2, 20, 200],
      ]),
    ).toEqual([2, 20, 200]);
  });
  it('counts shorter series only where they reach', () => {
    expect(elementwiseMedian([[1, 5], [3]])).toEqual([2, 5]);
    expect(elementwiseMedian([])).toEqual([]);
  });
});

describe('ratio', () => {
  it('divides, and is undefined when meaningless', () => {
    expect(ratio(3000, 300)).toBe(10);
    expect(ratio(1, 0)).toBeUndefined();
    expect(ratio(undefined, 2)).toBeUndefined();
    expect(ratio(2, undefined)).toBeUndefined();
    expect(ratio(Number.NaN, 2)).toBeUndefined();
  });
});
