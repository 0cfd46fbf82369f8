import { DetectorSession, type ModelEntry } from '@argus/vision';
import type { DetectParams } from '@argus/contracts';
import { type BenchContext, measurePoint, noteBoxes, quietly } from './context';
import { closedLoop } from './load';
import { BarePipeline, defaultParams } from './pipeline';
import type { BestConfigs, GridCell, Point } from './report';
import { roundSummary, summarize } from './stats';

/** The batch size the bare pipeline allows when batching (as MAX_BATCH_SIZE's default). */
export const BARE_MAX_BATCH = 8;

/**
 * A CPU session with the given intra-op threads and model threads, loaded and warmed up as the
 * apps do it (a shared slot per image in flight).
 */
export function openSession(ctx: BenchContext, entry: ModelEntry, threads: number, maxBatchSize = BARE_MAX_BATCH, modelThreads = 1): Promise<DetectorSession> {
  return DetectorSession.create(entry, {
    executionProviders: ['cpu'],
    intraOpThreads: threads,
    interOpThreads: 0,
    warmupRuns: ctx.defaults.models.warmupRuns,
    maxBatchSize,
    modelThreads,
    sharedSlots: Math.max(...ctx.options.gridInflight),
  });
}

/** The grid's session shapes: every intra-op thread count with one model thread; more model threads with one intra-op thread each. */
export function sessionShapes(threads: readonly number[], modelThreads: readonly number[]): { threads: number; modelThreads: number }[] {
  const shapes = threads.map((t) => ({ threads: t, modelThreads: 1 }));
  for (const m of modelThreads) if (m > 1) shapes.push({ threads: 1, modelThreads: m });
  return shapes;
}

export function modelEntry(ctx: BenchContext, name: string): ModelEntry {
  const entry = ctx.entries.find((e) => e.name === name);
  if (!entry) throw new Error(`no model "${name}" in ${ctx.repository} (found ${ctx.entries.map((e) => e.name).join(', ')})`);
  return entry;
}

/** A cell's images/s and p50: from its longer final-round measurement when it had one. */
const cellRate = (c: GridCell): number => c.final?.imagesPerSec ?? c.imagesPerSec;
const cellP50 = (c: GridCell): number => c.final?.latency.p50 ?? c.latency.p50;

/**
 * Picks the bare pipeline's best settings: most images/s overall; lowest p50 with one image in
 * flight; most images/s without batching. Where some cells were measured again in the final
 * round, only those compete (a lucky short measurement must not beat a long one).
 */
export function chooseBest(model: string, cells: readonly GridCell[]): BestConfigs {
  const mine = cells.filter((c) => c.model === model);
  if (mine.length === 0) throw new Error(`no grid cells for ${model}`);
  const pool = (list: GridCell[]) => (list.some((c) => c.final) ? list.filter((c) => c.final) : list.length > 0 ? list : mine);
  const most = (list: GridCell[]) => pool(list).reduce((a, b) => (cellRate(b) > cellRate(a) ? b : a));
  return {
    model,
    throughput: most(mine),
    latency: pool(mine.filter((c) => c.inflight === 1)).reduce((a, b) => (cellP50(b) < cellP50(a) ? b : a)),
    unbatched: most(mine.filter((c) => !c.batching)),
  };
}

/** The cells worth a longer look: the two fastest, the fastest without batching, and those with one image in flight. */
export function finalists(cells: readonly GridCell[]): GridCell[] {
  const byRate = [...cells].sort((a, b) => b.imagesPerSec - a.imagesPerSec);
  const picked = [...byRate.slice(0, 2), byRate.find((c) => !c.batching), ...cells.filter((c) => c.inflight === 1)];
  return [...new Set(picked.filter((c): c is GridCell => c !== undefined))];
}

/**
 * The bare pipeline's threading grid: images in flight x session shape (intra-op threads, model
 * threads) x batching (where the model batches), each cell a short closed loop with as many
 * clients as images in flight. Several model threads need at least as many images in flight.
 */
export async function runGrid(ctx: BenchContext): Promise<{ grid: GridCell[]; best: BestConfigs[] }> {
  const { options } = ctx;
  const finalMs = Math.max(options.gridS, 3) * 1000;
  const grid: GridCell[] = [];
  const best: BestConfigs[] = [];
  for (const model of options.models) {
    const entry = modelEntry(ctx, model);
    const params = defaultParams(entry, ctx.defaults.defaults);
    for (const { threads, modelThreads } of sessionShapes(options.gridThreads, options.gridModelThreads)) {
      // One session at a time: an idle session's ONNX Runtime threads must not run beside the measured one.
      const session = await openSession(ctx, entry, threads, BARE_MAX_BATCH, modelThreads);
      try {
        for (const inflight of options.gridInflight.filter((n) => n >= modelThreads)) {
          const batchings = session.maxBatchSize > 1 && inflight > 1 ? [false, true] : [false];
          for (const batching of batchings) {
            const { cell } = await quietly(ctx, () => measureCell(ctx, session, { inflight, batching, threads, modelThreads }, params, options.gridS * 1000), (c) => c.cell.otherCores);
            grid.push(cell);
            ctx.progress(`grid   ${model} ${shapeOf(cell)} ${cell.imagesPerSec.toFixed(1).padStart(6)} img/s  p50 ${cell.latency.p50.toFixed(1)} ms`);
          }
        }
      } finally {
        await session.release();
      }
    }
    // Short cells are noisy (and two ONNX Runtime threads spinning beside sharp on two cores are
    // erratic): the candidates are measured again, longer, twice each in mirrored order (A B C,
    // then C B A) so a drift in the machine's state favours none, before one is chosen.
    const chosen = finalists(grid.filter((c) => c.model === model));
    const sessions = new Map<string, DetectorSession>();
    const key = (c: { threads: number; modelThreads: number }) => `${c.threads}x${c.modelThreads}`;
    try {
      for (const c of chosen) if (!sessions.has(key(c))) sessions.set(key(c), await openSession(ctx, entry, c.threads, BARE_MAX_BATCH, c.modelThreads));
      const runs = new Map<GridCell, { rates: number[]; samples: number[]; other: number[] }>(chosen.map((c) => [c, { rates: [], samples: [], other: [] }]));
      for (const cell of [...chosen, ...[...chosen].reverse()]) {
        const session = sessions.get(key(cell)) as DetectorSession;
        const again = await quietly(ctx, () => measureCell(ctx, session, cell, params, finalMs), (c) => c.cell.otherCores);
        const run = runs.get(cell) as { rates: number[]; samples: number[]; other: number[] };
        run.rates.push(again.cell.imagesPerSec);
        run.samples.push(...again.samples);
        run.other.push(again.cell.otherCores);
      }
      for (const [cell, run] of runs) {
        cell.final = {
          imagesPerSec: run.rates.reduce((a, b) => a + b, 0) / run.rates.length,
          latency: roundSummary(summarize(run.samples)),
          otherCores: Math.max(...run.other),
        };
        ctx.progress(
          `final  ${model} ${shapeOf(cell)} ${cell.final.imagesPerSec.toFixed(1).padStart(6)} img/s (${run.rates.map((r) => r.toFixed(1)).join(' / ')})  p50 ${cell.final.latency.p50.toFixed(1)} ms`,
        );
      }
    } finally {
      await Promise.all([...sessions.values()].map((x) => x.release()));
    }
    best.push(chooseBest(model, grid));
  }
  return { grid, best };
}

/** A grid cell's settings in words, for progress lines. */
function shapeOf(c: { inflight: number; threads: number; modelThreads: number; batching: boolean }): string {
  return `inflight ${c.inflight} threads ${c.threads} model threads ${c.modelThreads} batching ${c.batching ? 'on ' : 'off'}`;
}

/** One cell of the grid: a short closed loop with as many clients as images in flight (and its raw latencies). */
async function measureCell(
  ctx: BenchContext,
  session: DetectorSession,
  shape: { inflight: number; batching: boolean; threads: number; modelThreads: number },
  params: DetectParams,
  durationMs: number,
): Promise<{ cell: GridCell; samples: number[] }> {
  const { inflight, batching, threads, modelThreads } = shape;
  const pipeline = new BarePipeline(session, { inflight, batching }, params, ctx.limits);
  let before = ctx.monitor.snapshot();
  let after = before;
  const loop = await closedLoop(
    {
      concurrency: inflight,
      warmupMs: 300,
      maxWarmupMs: 20000,
      durationMs,
      onWindowStart: () => (before = ctx.monitor.snapshot()),
      onWindowEnd: () => (after = ctx.monitor.snapshot()),
    },
    async () => {
      await pipeline.detect(ctx.photos.next().bytes);
      return { ok: true, status: 'ok' };
    },
  );
  const sizes = pipeline.batchSizes;
  const cpu = ctx.monitor.cores(before, after);
  const cell: GridCell = {
    model: session.entry.name,
    inflight,
    threads,
    modelThreads,
    batching,
    imagesPerSec: loop.ok / (loop.windowMs / 1000),
    latency: roundSummary(summarize(loop.latencies)),
    cpuCores: cpu['bench'] ?? NaN,
    otherCores: cpu['other'] ?? NaN,
    ...(pipeline.batches && sizes.length > 0 ? { meanBatch: sizes.reduce((a, b) => a + b, 0) / sizes.length } : {}),
  };
  return { cell, samples: loop.latencies };
}

/**
 * The bare pipeline's concurrency points: c = 1 at the lowest-latency settings, c > 1 at the
 * highest-throughput ones. Clients beyond the pipeline's images in flight wait for a slot, as
 * they would for a server. Sessions stay loaded (idle) between points.
 */
export class BareRunner {
  private readonly sessions = new Map<string, Promise<DetectorSession>>();

  constructor(
    private readonly ctx: BenchContext,
    private readonly best: readonly BestConfigs[],
  ) {}

  private session(model: string, threads: number, modelThreads: number): Promise<DetectorSession> {
    const key = `${model}:${threads}:${modelThreads}`;
    let session = this.sessions.get(key);
    if (!session) {
      session = openSession(this.ctx, modelEntry(this.ctx, model), threads, BARE_MAX_BATCH, modelThreads);
      this.sessions.set(key, session);
    }
    return session;
  }

  async point(model: string, concurrency: number): Promise<Point> {
    const ctx = this.ctx;
    const best = this.best.find((b) => b.model === model);
    if (!best) throw new Error(`no grid result for ${model}`);
    const settings = concurrency === 1 ? best.latency : best.throughput;
    const session = await this.session(model, settings.threads, settings.modelThreads);
    const pipeline = new BarePipeline(
      session,
      { inflight: settings.inflight, batching: settings.batching },
      defaultParams(session.entry, ctx.defaults.defaults),
      ctx.limits,
    );
    const { point } = await measurePoint(
      ctx,
      { mode: 'bare', model, concurrency, config: { inflight: settings.inflight, threads: settings.threads, modelThreads: settings.modelThreads, batching: settings.batching } },
      async () => {
        const photo = ctx.photos.next();
        const detections = await pipeline.detect(photo.bytes);
        noteBoxes(ctx, 'bare', model, photo.index, detections.length);
        return { ok: true, status: 'ok' };
      },
    );
    return point;
  }

  async close(): Promise<void> {
    const sessions = await Promise.all(this.sessions.values());
    this.sessions.clear();
    await Promise.all(sessions.map((s) => s.release()));
  }
}
