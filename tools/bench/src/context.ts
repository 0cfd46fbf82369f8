import type { ArgusConfig } from '@argus/config';
import type { ImageLimits } from '@argus/imaging';
import type { ModelEntry } from '@argus/vision';
import type { BenchOptions } from './args';
import { type ClosedLoopResult, type Completion, closedLoop } from './load';
import type { PhotoMix } from './photos';
import type { ProcessMonitor } from './procs';
import type { Mode, Point } from './report';
import { roundSummary, summarize } from './stats';

/** What every phase of a run shares. */
export interface BenchContext {
  options: BenchOptions;
  photos: PhotoMix;
  monitor: ProcessMonitor;
  repository: string;
  entries: ModelEntry[];
  /** Argus's defaults (buildConfig({})): detection parameters and image limits as the stack uses them. */
  defaults: ArgusConfig;
  limits: ImageLimits;
  warnings: string[];
  /** Boxes found per photo of the mix, by "mode/model": the first answer for each photo. */
  boxes: Record<string, Record<string, number[]>>;
  /** Progress, on stderr (the summary owns stdout). */
  progress(line: string): void;
  /**
   * Time the run may spend in all on other sessions' load (waiting for quiet, measuring again),
   * and has spent: it keeps a run on a busy machine from taking twice as long.
   */
  quiet: { budgetMs: number; spentMs: number };
}

/** Cores busy outside the measured processes above which a measurement is not trusted. */
export const BUSY_OTHER_CORES = 0.25;

/**
 * Before a measurement: if other work is using the machine, wait (1 s at a time) until it stops or
 * the run's budget is spent. Returns the cores found busy elsewhere at the end.
 */
export async function waitForQuiet(ctx: BenchContext): Promise<number> {
  const sample = async (ms: number): Promise<number> => {
    const a = ctx.monitor.snapshot();
    await new Promise((r) => setTimeout(r, ms));
    return ctx.monitor.cores(a, ctx.monitor.snapshot())['other'] ?? 0;
  };
  let other = await sample(300);
  if (other <= BUSY_OTHER_CORES || ctx.quiet.spentMs >= ctx.quiet.budgetMs) return other;
  const started = performance.now();
  ctx.progress(`  ${other.toFixed(2)} cores busy outside the measured processes: waiting for the machine to be quiet ...`);
  while (other > BUSY_OTHER_CORES && ctx.quiet.spentMs + (performance.now() - started) < ctx.quiet.budgetMs) other = await sample(1000);
  ctx.quiet.spentMs += performance.now() - started;
  ctx.progress(`  ${other > BUSY_OTHER_CORES ? 'still busy' : 'quiet'} (${(ctx.quiet.spentMs / 1000).toFixed(0)} of ${(ctx.quiet.budgetMs / 1000).toFixed(0)} s spent on other load)`);
  return other;
}

/**
 * A measurement preceded by {@link waitForQuiet}, and made again (up to --retries times, while the
 * budget lasts) when other work used the machine during it anyway; the quieter one is kept.
 */
export async function quietly<T>(ctx: BenchContext, measure: () => Promise<T>, otherOf: (result: T) => number): Promise<T> {
  await waitForQuiet(ctx);
  let result = await measure();
  for (let i = 0; i < ctx.options.retries && otherOf(result) > BUSY_OTHER_CORES && ctx.quiet.spentMs < ctx.quiet.budgetMs; i++) {
    ctx.progress(`  ${otherOf(result).toFixed(2)} cores were busy outside the measured processes: measuring again`);
    const started = performance.now();
    await waitForQuiet(ctx);
    const again = await measure();
    ctx.quiet.spentMs += performance.now() - started;
    if (otherOf(again) < otherOf(result)) result = again;
  }
  return result;
}

/** Remembers how many boxes a mode found on a photo of the mix (first answer only). */
export function noteBoxes(ctx: BenchContext, mode: string, model: string, photoIndex: number, count: number): void {
  const byModel = (ctx.boxes[mode] ??= {});
  const list = (byModel[model] ??= []);
  list[photoIndex] ??= count;
}

export interface PointSpec {
  mode: Mode;
  model: string;
  concurrency: number;
  durationMs?: number;
  config?: Point['config'];
}

/**
 * Runs one closed-loop point with the run's warm-up and duration and reads CPU counters as its
 * window opens and closes. Returns the point (throughput from successful requests) and the raw loop.
 */
export async function measurePoint<T>(
  ctx: BenchContext,
  spec: PointSpec,
  request: (seq: number) => Promise<Completion<T>>,
): Promise<{ point: Point; loop: ClosedLoopResult<T> }> {
  const { options, monitor } = ctx;
  let before = monitor.snapshot();
  let after = before;
  const durationMs = spec.durationMs ?? options.durationS * 1000;
  const loop = await closedLoop(
    {
      concurrency: spec.concurrency,
      warmupMs: options.warmupS * 1000,
      maxWarmupMs: Math.max(30000, options.warmupS * 1000),
      durationMs,
      onWindowStart: () => {
        before = monitor.snapshot();
      },
      onWindowEnd: () => {
        after = monitor.snapshot();
      },
    },
    request,
  );
  const windowS = loop.windowMs / 1000;
  const point: Point = {
    mode: spec.mode,
    model: spec.model,
    concurrency: spec.concurrency,
    windowS,
    warmupS: loop.warmupMs / 1000,
    ok: loop.ok,
    failed: loop.failed,
    statuses: loop.statuses,
    imagesPerSec: windowS > 0 ? loop.ok / windowS : 0,
    latency: roundSummary(summarize(loop.latencies)),
    cpu: monitor.cores(before, after),
    ...(spec.config ? { config: spec.config } : {}),
  };
  if (loop.failed > 0) ctx.warnings.push(`${spec.mode} ${spec.model} c=${spec.concurrency}: ${loop.failed} failed requests (${JSON.stringify(loop.statuses)})`);
  ctx.progress(
    `${spec.mode.padEnd(6)} ${spec.model} c=${String(spec.concurrency).padEnd(3)} ${point.imagesPerSec.toFixed(1).padStart(6)} img/s  p50 ${point.latency.p50.toFixed(1)} p99 ${point.latency.p99.toFixed(1)} ms  (n=${loop.ok}, warm-up ${point.warmupS.toFixed(1)} s)`,
  );
  return { point, loop };
}
