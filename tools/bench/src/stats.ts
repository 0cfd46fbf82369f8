/** Latency figures of one measured point, in milliseconds. */
export interface LatencySummary {
  n: number;
  mean: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * The q-quantile (0 < q <= 1) of ascending samples by the nearest-rank method: a value that was
 * actually observed, never an interpolation between two. NaN for no samples.
 */
export function percentile(sortedAsc: readonly number[], q: number): number {
  if (sortedAsc.length === 0) return NaN;
  if (!(q > 0 && q <= 1)) throw new RangeError(`quantile must be in (0, 1], not ${q}`);
  const rank = Math.ceil(q * sortedAsc.length);
  return sortedAsc[Math.min(sortedAsc.length, Math.max(1, rank)) - 1] as number;
}

/** Count, mean, min, p50/p95/p99 and max of latency samples (NaN everywhere when there are none). */
export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n,
    mean: n > 0 ? sum / n : NaN,
    min: n > 0 ? (sorted[0] as number) : NaN,
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    max: n > 0 ? (sorted[n - 1] as number) : NaN,
  };
}

/** Rounds for the JSON report: figures past 0.01 ms or 0.01 images/s are noise. */
export function round2(v: number): number {
  return Number.isFinite(v) ? Math.round(v * 100) / 100 : v;
}

/** A summary with every figure rounded to 2 decimals. */
export function roundSummary(s: LatencySummary): LatencySummary {
  return { n: s.n, mean: round2(s.mean), min: round2(s.min), p50: round2(s.p50), p95: round2(s.p95), p99: round2(s.p99), max: round2(s.max) };
}
