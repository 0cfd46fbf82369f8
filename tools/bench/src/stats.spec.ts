import { percentile, round2, summarize } from './stats';

describe(percentile.name, () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('takes the nearest rank, a value that was observed', () => {
    expect(percentile(hundred, 0.5)).toBe(50);
    expect(percentile(hundred, 0.95)).toBe(95);
    expect(percentile(hundred, 0.99)).toBe(99);
    expect(percentile(hundred, 1)).toBe(100);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([10, 20, 30], 0.5)).toBe(20);
  });

  it('gives the only sample for every quantile of one', () => {
    expect(percentile([7], 0.01)).toBe(7);
    expect(percentile([7], 0.99)).toBe(7);
  });

  it('is NaN without samples and rejects a quantile outside (0, 1]', () => {
    expect(percentile([], 0.5)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 1.5)).toThrow(RangeError);
  });
});

describe(summarize.name, () => {
  it('sorts before ranking and reports count, mean and extremes', () => {
    const s = summarize([30, 10, 20, 40]);
    expect(s).toEqual({ n: 4, mean: 25, min: 10, p50: 20, p95: 40, p99: 40, max: 40 });
  });

  it('does not reorder the caller\'s array', () => {
    const samples = [3, 1, 2];
    summarize(samples);
    expect(samples).toEqual([3, 1, 2]);
  });

  it('is all NaN for no samples', () => {
    const s = summarize([]);
    expect(s.n).toBe(0);
    expect(s.p50).toBeNaN();
    expect(s.mean).toBeNaN();
  });

  it('rounds to 2 decimals for the report', () => {
    expect(round2(1.23456)).toBe(1.23);
    expect(round2(NaN)).toBeNaN();
  });
});
