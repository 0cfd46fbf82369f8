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
