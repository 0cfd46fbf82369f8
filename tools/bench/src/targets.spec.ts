import type { BatchingResult, Mode, Point } from './report';
import { summarize } from './stats';
import { computeRatios, evaluateTargets, priorityLimit, TARGETS } from './targets';

function point(mode: Mode, concurrency: number, imagesPerSec: number, latencies: number[] = [20], model = 'yolox-nano'): Point {
  return {
    mode,
    model,
    concurrency,
    windowS: 6,
    warmupS: 1,
    ok: Math.round(imagesPerSec * 6),
    failed: 0,
    statuses: {},
    imagesPerSec,
    latency: summarize(latencies),
    cpu: {},
  };
}

const verdicts = (points: Point[], extra = {}) => Object.fromEntries(evaluateTargets({ model: 'yolox-nano', points, ...extra }).map((t) => [t.id, t.verdict]));

describe(computeRatios.name, () => {
  it('divides stack images/s by bare and by direct at each concurrency', () => {
    const ratios = computeRatios([point('bare', 1, 40), point('direct', 1, 20), point('stack', 1, 30), point('bare', 16, 50), point('stack', 16, 45)]);
    expect(ratios).toEqual([
      { model: 'yolox-nano', concurrency: 1, stackOverBare: 0.75, stackOverDirect: 1.5 },
      { model: 'yolox-nano', concurrency: 16, stackOverBare: 0.9 },
    ]);
  });

  it('has no row where the stack was not measured', () => {
    expect(computeRatios([point('bare', 1, 40)])).toEqual([]);
  });
});

describe(evaluateTargets.name, () => {
  it('compares the stack peak with the bare peak, whatever concurrency each peaks at', () => {
    expect(verdicts([point('bare', 4, 50), point('bare', 16, 40), point('stack', 64, 40)]).throughput).toBe('PASS');
    expect(verdicts([point('bare', 4, 50), point('stack', 64, 39.9)]).throughput).toBe('MISS');
  });

  it('wants the stack ahead of direct at every concurrency from 16 up', () => {
    const base = [point('direct', 16, 30), point('direct', 64, 30), point('direct', 4, 99), point('stack', 4, 10)];
    expect(verdicts([...base, point('stack', 16, 31), point('stack', 64, 35)])['vs-direct']).toBe('PASS');
    expect(verdicts([...base, point('stack', 16, 31), point('stack', 64, 30)])['vs-direct']).toBe('MISS');
  });

  it('holds a single request to bare + 10 ms at p50 and + 25 ms at p99', () => {
    const bare = point('bare', 1, 40, [20, 20, 20, 30]);
    expect(verdicts([bare, point('stack', 1, 30, [29, 30, 30, 55])])).toMatchObject({ 'latency-p50': 'PASS', 'latency-p99': 'PASS' });
    expect(verdicts([bare, point('stack', 1, 30, [31, 31, 31, 56])])).toMatchObject({ 'latency-p50': 'MISS', 'latency-p99': 'MISS' });
  });

  it('says SKIP, not PASS, for what was not measured', () => {
    const v = verdicts([point('stack', 1, 30)]);
    expect(Object.values(v).every((x) => x === 'SKIP')).toBe(true);
    expect(Object.keys(v).sort()).toEqual(['batching', 'cache', 'latency-p50', 'latency-p99', 'priority', 'throughput', 'vs-direct']);
  });

  it('judges priority by the probes\' p50 against idle + one batch + 20 ms', () => {
    expect(priorityLimit(30, 50)).toBe(30 + 50 + TARGETS.prioritySlackMs);
    const priority = (ms: number[]) => ({
      model: 'yolox-nano',
      backlogQueued: 500,
      idle: summarize([30]),
      probes: ms.map((m) => ({ ms: m, waiting: 450 })),
      high: summarize(ms),
      batchSize: 4,
      oneBatchMs: 50,
      limitMs: priorityLimit(30, 50),
    });
    expect(verdicts([], { priority: priority([90, 100, 140]) }).priority).toBe('PASS');
    expect(verdicts([], { priority: priority([90, 101, 140]) }).priority).toBe('MISS');
  });

  it('lets batching cost a lone request under 5%', () => {
    const batching = (cost: number): BatchingResult => ({
      model: 'yolox-nano',
      on: { lone: point('stack', 1, 30, [20 * (1 + cost)]) },
      off: { lone: point('stack', 1, 30, [20]) },
      loneCost: cost,
      onRuns: [],
    });
    expect(verdicts([], { batching: batching(0.049) }).batching).toBe('PASS');
    expect(verdicts([], { batching: batching(0.05) }).batching).toBe('MISS');
    expect(verdicts([], { batching: batching(-0.02) }).batching).toBe('PASS');
  });

  it('wants cache hits under 5 ms at p50, and every repeat a hit', () => {
    const cache = (p50: number, misses = 0) => ({ model: 'yolox-nano', firstMs: 40, hits: 3, misses, latency: summarize([p50, p50, p50]) });
    expect(verdicts([], { cache: cache(4.9) }).cache).toBe('PASS');
    expect(verdicts([], { cache: cache(5) }).cache).toBe('MISS');
    expect(verdicts([], { cache: cache(2, 1) }).cache).toBe('MISS');
  });
});
