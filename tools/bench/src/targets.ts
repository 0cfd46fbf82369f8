import type { BatchingResult, CacheResult, Mode, Point, PriorityResult, Ratio, TargetResult } from './report';

/** The product's performance targets, as numbers. */
export const TARGETS = Object.freeze({
  /** Stack images/s at least this share of the bare pipeline's. */
  throughputShare: 0.8,
  /** Stack ahead of the direct server at this many clients and above. */
  directFromConcurrency: 16,
  /** A single request's p50 / p99 within the bare pipeline's + these ms. */
  p50SlackMs: 10,
  p99SlackMs: 25,
  /** High priority under a backlog: idle latency + one batch + this many ms. */
  prioritySlackMs: 20,
  /** Batching costs a lone request less than this share of latency. */
  batchingCost: 0.05,
  /** Cache hit p50 under this many ms. */
  cacheP50Ms: 5,
});

const fmt = (v: number, digits = 1): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const pct = (v: number): string => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : 'n/a');

export function findPoint(points: readonly Point[], mode: Mode, model: string, concurrency: number): Point | undefined {
  return points.find((p) => p.mode === mode && p.model === model && p.concurrency === concurrency);
}

/** The highest images/s of a mode over all its concurrency points. */
export function peakThroughput(points: readonly Point[], mode: Mode, model: string): Point | undefined {
  return points.filter((p) => p.mode === mode && p.model === model).reduce<Point | undefined>((best, p) => (!best || p.imagesPerSec > best.imagesPerSec ? p : best), undefined);
}

/** Stack images/s over bare and over direct, per model and concurrency (where both were measured). */
export function computeRatios(points: readonly Point[]): Ratio[] {
  const keys = new Map<string, { model: string; concurrency: number }>();
  for (const p of points) keys.set(`${p.model}@${p.concurrency}`, { model: p.model, concurrency: p.concurrency });
  const out: Ratio[] = [];
  for (const { model, concurrency } of keys.values()) {
    const stack = findPoint(points, 'stack', model, concurrency);
    if (!stack) continue;
    const bare = findPoint(points, 'bare', model, concurrency);
    const direct = findPoint(points, 'direct', model, concurrency);
    const ratio: Ratio = { model, concurrency };
    if (bare && bare.imagesPerSec > 0) ratio.stackOverBare = stack.imagesPerSec / bare.imagesPerSec;
    if (direct && direct.imagesPerSec > 0) ratio.stackOverDirect = stack.imagesPerSec / direct.imagesPerSec;
    out.push(ratio);
  }
  return out.sort((a, b) => a.model.localeCompare(b.model) || a.concurrency - b.concurrency);
}

export interface TargetInputs {
  /** The model the targets are measured with (yolox-nano when measured). */
  model: string;
  points: readonly Point[];
  priority?: PriorityResult;
  batching?: BatchingResult;
  cache?: CacheResult;
}

const skip = (id: TargetResult['id'], why: string): TargetResult => ({ id, verdict: 'SKIP', detail: why });
const verdict = (ok: boolean): TargetResult['verdict'] => (ok ? 'PASS' : 'MISS');

/** PASS / MISS (or SKIP when not measured) for each performance target. */
export function evaluateTargets(input: TargetInputs): TargetResult[] {
  const { model, points } = input;
  const out: TargetResult[] = [];

  const stackPeak = peakThroughput(points, 'stack', model);
  const barePeak = peakThroughput(points, 'bare', model);
  if (stackPeak && barePeak) {
    const share = stackPeak.imagesPerSec / barePeak.imagesPerSec;
    out.push({
      id: 'throughput',
      verdict: verdict(share >= TARGETS.throughputShare),
      detail: `stack peak ${fmt(stackPeak.imagesPerSec)} img/s (c=${stackPeak.concurrency}) is ${pct(share)} of bare ${fmt(barePeak.imagesPerSec)} img/s (c=${barePeak.concurrency}); target >= ${pct(TARGETS.throughputShare)}`,
    });
  } else out.push(skip('throughput', 'needs the bare and stack points'));

  const high = [...new Set(points.map((p) => p.concurrency))].filter((c) => c >= TARGETS.directFromConcurrency).sort((a, b) => a - b);
  const pairs = high.flatMap((c) => {
    const s = findPoint(points, 'stack', model, c);
    const d = findPoint(points, 'direct', model, c);
    return s && d ? [{ c, s: s.imagesPerSec, d: d.imagesPerSec }] : [];
  });
  if (pairs.length > 0) {
    out.push({
      id: 'vs-direct',
      verdict: verdict(pairs.every((p) => p.s > p.d)),
      detail: `${pairs.map((p) => `c=${p.c}: stack ${fmt(p.s)} vs direct ${fmt(p.d)} img/s`).join('; ')}; target: stack ahead at c >= ${TARGETS.directFromConcurrency}`,
    });
  } else out.push(skip('vs-direct', `needs stack and direct points at c >= ${TARGETS.directFromConcurrency}`));

  const stack1 = findPoint(points, 'stack', model, 1);
  const bare1 = findPoint(points, 'bare', model, 1);
  if (stack1 && bare1 && stack1.latency.n > 0 && bare1.latency.n > 0) {
    const p50Limit = bare1.latency.p50 + TARGETS.p50SlackMs;
    const p99Limit = bare1.latency.p99 + TARGETS.p99SlackMs;
    out.push({
      id: 'latency-p50',
      verdict: verdict(stack1.latency.p50 <= p50Limit),
      detail: `single request p50 ${fmt(stack1.latency.p50)} ms; bare ${fmt(bare1.latency.p50)} + ${TARGETS.p50SlackMs} = ${fmt(p50Limit)} ms`,
    });
    out.push({
      id: 'latency-p99',
      verdict: verdict(stack1.latency.p99 <= p99Limit),
      detail: `single request p99 ${fmt(stack1.latency.p99)} ms; bare ${fmt(bare1.latency.p99)} + ${TARGETS.p99SlackMs} = ${fmt(p99Limit)} ms`,
    });
  } else {
    out.push(skip('latency-p50', 'needs the bare and stack points at c=1'));
    out.push(skip('latency-p99', 'needs the bare and stack points at c=1'));
  }

  const pr = input.priority;
  if (pr && pr.high.n > 0) {
    out.push({
      id: 'priority',
      verdict: verdict(pr.high.p50 <= pr.limitMs),
      detail: `high priority p50 ${fmt(pr.high.p50)} ms (max ${fmt(pr.high.max)}) with ${pr.backlogQueued} low jobs queued; idle p50 ${fmt(pr.idle.p50)} + one batch of ${pr.batchSize} ${fmt(pr.oneBatchMs)} + ${TARGETS.prioritySlackMs} = ${fmt(pr.limitMs)} ms`,
    });
  } else out.push(skip('priority', 'priority phase not run'));

  const b = input.batching;
  if (b && b.on.lone.latency.n > 0 && b.off.lone.latency.n > 0) {
    out.push({
      id: 'batching',
      verdict: verdict(b.loneCost < TARGETS.batchingCost),
      detail: `lone request p50 ${fmt(b.on.lone.latency.p50, 2)} ms with MAX_BATCH_SIZE 8, ${fmt(b.off.lone.latency.p50, 2)} ms with 1: ${b.loneCost >= 0 ? '+' : ''}${pct(b.loneCost)}; target < ${pct(TARGETS.batchingCost)}`,
    });
  } else out.push(skip('batching', 'batching phase not run'));

  const c = input.cache;
  if (c && c.latency.n > 0) {
    out.push({
      id: 'cache',
      verdict: verdict(c.latency.p50 < TARGETS.cacheP50Ms && c.misses === 0),
      detail: `cache hit p50 ${fmt(c.latency.p50, 2)} ms (p99 ${fmt(c.latency.p99, 2)}) over ${c.hits} hits${c.misses > 0 ? `, ${c.misses} repeats NOT served from the cache` : ''}; target < ${TARGETS.cacheP50Ms} ms`,
    });
  } else out.push(skip('cache', 'cache phase not run'));
  return out;
}

/** The priority target's limit: idle p50 + one batch + slack, in ms. */
export function priorityLimit(idleP50: number, oneBatchMs: number): number {
  return idleP50 + oneBatchMs + TARGETS.prioritySlackMs;
}
