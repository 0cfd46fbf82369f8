import { ArgusKeys, DetectJobs } from '@argus/broker';
import { type ArgusConfig, buildConfig } from '@argus/config';
import { type AppName, type Stack, startStack } from '@argus/testing';
import { postprocess, preprocess } from '@argus/vision';
import { setTimeout as sleep } from 'node:timers/promises';
import { modelEntry, openSession } from './bare';
import { type BenchContext, measurePoint, noteBoxes, waitForQuiet } from './context';
import { HttpClient } from './http-client';
import type { Completion } from './load';
import { defaultParams } from './pipeline';
import type { BatchingResult, CacheResult, Point, PriorityResult } from './report';
import { percentile, round2, roundSummary, summarize } from './stats';
import { priorityLimit } from './targets';

/**
 * Environment the benchmark gives the stack unless --env says otherwise: the per-key rate limit
 * is a policy, not capacity (one benchmark key sends hundreds of requests a second).
 */
export const BENCH_STACK_ENV: Readonly<Record<string, string>> = Object.freeze({ RATE_LIMIT_PER_SECOND: '0' });

const APPS: Record<AppName, string> = { 'api-gateway': 'gateway', inference: 'inference', results: 'results' };

interface StackRun {
  stack: Stack;
  config: ArgusConfig;
  client: HttpClient;
  /** The detection queues (one per model). */
  detect: DetectJobs;
  /** The stack's keys (the ledger of accepted requests not yet persisted). */
  keys: ArgusKeys;
  /** The `wait` every upload asks for: as long as the gateway allows. */
  waitMs: number;
}

interface DetectionBody {
  id?: string;
  status?: string;
  cached?: boolean;
  detections?: unknown[];
}

function parse(body: Buffer): DetectionBody {
  try {
    return JSON.parse(body.toString('utf8')) as DetectionBody;
  } catch {
    return {};
  }
}

function trackApps(ctx: BenchContext, stack: Stack): void {
  for (const [app, name] of Object.entries(APPS)) ctx.monitor.track(name, stack.process(app as AppName)?.pid);
}

/** Waits until no accepted request is left without its row (the previous point's jobs and rows are all done). */
async function waitIdle(run: StackRun, timeoutMs = 120000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await run.stack.redis.zcard(run.keys.unpersisted());
    if (left === 0) return;
    if (Date.now() > deadline) throw new Error(`the stack still holds ${left} jobs after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** One upload with `wait`, as a load-generator completion tagged with the request id. */
async function uploadAndWait(ctx: BenchContext, run: StackRun, model: string, fields: Record<string, string> = {}): Promise<Completion<string>> {
  const photo = ctx.photos.next();
  const res = await run.client.upload(`/v1/detections?wait=${run.waitMs}`, { model, ...fields }, photo.bytes);
  if (res.status !== 200) return { ok: false, status: String(res.status) };
  const body = parse(res.body);
  if (body.status !== 'completed' || !body.id) return { ok: false, status: `200 ${body.status ?? 'unparsable'}` };
  noteBoxes(ctx, 'stack', model, photo.index, body.detections?.length ?? -1);
  return { ok: true, status: '200', tag: body.id };
}

/**
 * A stack point: HTTP answers as latency, and for throughput only the requests whose completed
 * row is in Postgres by the end of the window.
 */
async function stackPoint(
  ctx: BenchContext,
  run: StackRun,
  model: string,
  concurrency: number,
  durationMs?: number,
  label?: string,
): Promise<Point & { samples: number[] }> {
  const { point, loop } = await measurePoint(
    ctx,
    { mode: 'stack', model, concurrency, ...(durationMs ? { durationMs } : {}), ...(label ? { config: { variant: label } } : {}) },
    () => uploadAndWait(ctx, run, model),
  );
  await waitIdle(run);
  const ids = loop.tags.map((t) => t.tag);
  const endedAt = new Map(loop.tags.map((t) => [t.tag, t.endedAtEpochMs]));
  let rows: { id: string; status: string; persisted_at: Date }[] = [];
  const deadline = Date.now() + 20000;
  while (ids.length > 0) {
    const res = await run.stack.query(`SELECT id, status, persisted_at FROM "${run.stack.schema}".detections WHERE id = ANY($1::uuid[])`, [ids]);
    rows = res.rows as typeof rows;
    if (rows.length >= ids.length || Date.now() > deadline) break;
    await sleep(200);
  }
  const completed = rows.filter((r) => r.status === 'completed');
  const byWindowEnd = completed.filter((r) => r.persisted_at.getTime() <= loop.windowEndEpochMs).length;
  const lags = completed.map((r) => r.persisted_at.getTime() - (endedAt.get(r.id) ?? r.persisted_at.getTime())).sort((a, b) => a - b);
  // Where the time went inside the stack, from the timings each row carries (p50 per stage).
  const stages: Record<string, number> = {};
  if (ids.length > 0) {
    const res = await run.stack.query(
      `SELECT key, percentile_cont(0.5) WITHIN GROUP (ORDER BY value::float) AS p50, avg(value::float) AS mean
         FROM "${run.stack.schema}".detections, jsonb_each_text(timings)
        WHERE id = ANY($1::uuid[]) AND jsonb_typeof(timings -> key) = 'number' GROUP BY key`,
      [ids],
    );
    for (const row of res.rows as { key: string; p50: number; mean: number }[]) stages[row.key] = round2(row.key === 'batchSize' ? Number(row.mean) : Number(row.p50));
  }
  point.persisted = {
    answered: ids.length,
    rowsFound: rows.length,
    byWindowEnd,
    lagP50Ms: percentile(lags, 0.5),
    lagP95Ms: percentile(lags, 0.95),
    stages,
  };
  if (completed.length < ids.length) {
    ctx.warnings.push(`stack ${model} c=${concurrency}: ${ids.length - completed.length} of ${ids.length} answered requests have no completed row in Postgres`);
  }
  point.ok = byWindowEnd;
  point.imagesPerSec = point.windowS > 0 ? byWindowEnd / point.windowS : 0;
  return Object.assign(point, { samples: loop.latencies });
}

/** The same photo again and again: the first is computed, the rest should be cache hits. */
async function cachePhase(ctx: BenchContext, run: StackRun, model: string): Promise<CacheResult> {
  const photo = ctx.photos.unique(0);
  const send = async () => {
    const started = performance.now();
    const res = await run.client.upload(`/v1/detections?wait=${run.waitMs}`, { model }, photo.bytes);
    return { ms: performance.now() - started, status: res.status, body: parse(res.body) };
  };
  const first = await send();
  if (first.status !== 200 || first.body.status !== 'completed') throw new Error(`cache phase: the first request got ${first.status} ${first.body.status}`);
  const n = ctx.options.quick ? 60 : 300;
  const warmup = 10;
  const latencies: number[] = [];
  let hits = 0;
  let misses = 0;
  for (let i = 0; i < warmup + n; i++) {
    const r = await send();
    if (i < warmup) continue;
    if (r.status === 200 && r.body.cached === true) {
      hits++;
      latencies.push(r.ms);
    } else misses++;
  }
  await waitIdle(run);
  const result: CacheResult = { model, firstMs: first.ms, hits, misses, latency: roundSummary(summarize(latencies)) };
  ctx.progress(`cache  ${model} hit p50 ${result.latency.p50.toFixed(2)} ms, p99 ${result.latency.p99.toFixed(2)} ms (${hits} hits, ${misses} misses)`);
  return result;
}

/** Wall time of one full batch through the bare pipeline: decode the batch in parallel, one run, boxes. */
async function oneBatchMs(ctx: BenchContext, model: string, threads: number, batchSize: number): Promise<number> {
  const entry = modelEntry(ctx, model);
  const params = defaultParams(entry, ctx.defaults.defaults);
  const session = await openSession(ctx, entry, threads, batchSize);
  try {
    const size = Math.min(batchSize, session.maxBatchSize);
    const samples: number[] = [];
    for (let rep = 0; rep < (ctx.options.quick ? 8 : 15); rep++) {
      const photos = Array.from({ length: size }, () => ctx.photos.next().bytes);
      const started = performance.now();
      const prepared = await Promise.all(photos.map((b) => preprocess(b, session.spec, ctx.limits)));
      const outputs = await session.run(prepared.map((p) => p.tensor));
      prepared.forEach((p, i) => postprocess(outputs[i] as Float32Array, session.spec, p, params));
      if (rep >= 2) samples.push(performance.now() - started);
    }
    return summarize(samples).p50;
  } finally {
    await session.release();
  }
}

/**
 * High-priority probes: on the idle stack, then with a backlog of low-priority jobs queued while
 * the queue was paused (so all of it is waiting when work resumes), one probe at a time.
 */
async function priorityPhase(ctx: BenchContext, run: StackRun, model: string): Promise<PriorityResult> {
  const { options } = ctx;
  const probe = async (): Promise<number> => {
    const photo = ctx.photos.unique(0);
    const started = performance.now();
    const res = await run.client.upload(`/v1/detections?wait=${run.waitMs}`, { model, priority: 'high' }, photo.bytes);
    const ms = performance.now() - started;
    const body = parse(res.body);
    if (res.status !== 200 || body.status !== 'completed') throw new Error(`priority probe got ${res.status} ${body.status}`);
    return ms;
  };
  const idle: number[] = [];
  for (let i = 0; i < (options.quick ? 12 : 25); i++) {
    const ms = await probe();
    if (i >= 3) idle.push(ms);
    await sleep(20);
  }
  const batchSize = Math.min(run.config.worker.concurrency, run.config.models.maxBatchSize);
  const batchMs = await oneBatchMs(ctx, model, run.config.models.intraOpThreads, batchSize);

  const queue = run.detect.queue(model);
  await queue.pause();
  let queued = 0;
  const statuses: Record<string, number> = {};
  try {
    let next = 0;
    const uploader = async () => {
      while (next < options.backlog) {
        next++;
        const res = await run.client.upload('/v1/detections', { model, priority: 'low' }, ctx.photos.next().bytes);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status === 202) queued++;
      }
    };
    await Promise.all(Array.from({ length: 16 }, () => uploader()));
  } finally {
    await queue.resume();
  }
  const probes: PriorityResult['probes'] = [];
  for (let i = 0; i < (options.quick ? 3 : 5); i++) {
    const counts = await queue.getJobCounts('waiting', 'prioritized');
    const waiting = Object.values(counts).reduce((a, b) => a + b, 0);
    probes.push({ ms: await probe(), waiting });
    // Off the batch rhythm, so the probes do not all land at the same point of a batch.
    await sleep(30 + Math.random() * 70);
  }
  // Drop the rest of the backlog: the next phases need an idle stack. Its requests leave the
  // ledger too, or the reconciler would add their jobs again (nothing accepted is lost).
  await queue.pause();
  await queue.drain();
  await run.stack.redis.del(run.keys.unpersisted());
  await queue.resume();
  await waitIdle(run);

  const idleSummary = roundSummary(summarize(idle));
  const high = roundSummary(summarize(probes.map((p) => p.ms)));
  const result: PriorityResult = {
    model,
    backlogQueued: queued,
    idle: idleSummary,
    probes,
    high,
    batchSize,
    oneBatchMs: batchMs,
    limitMs: priorityLimit(idleSummary.p50, batchMs),
  };
  if (queued < options.backlog) {
    ctx.warnings.push(`priority: only ${queued} of ${options.backlog} low-priority uploads were queued (HTTP statuses ${JSON.stringify(statuses)})`);
  }
  ctx.progress(`priority ${model}: idle p50 ${idleSummary.p50.toFixed(1)} ms; with ${queued} low queued: ${probes.map((p) => p.ms.toFixed(0)).join(', ')} ms; limit ${result.limitMs.toFixed(1)} ms`);
  return result;
}

/** Restarts the inference app with extra environment and follows its new process. */
async function restartInference(ctx: BenchContext, run: StackRun, env: Record<string, string>): Promise<void> {
  await run.stack.stopApp('inference');
  await run.stack.startApp('inference', env);
  ctx.monitor.track('inference', run.stack.process('inference')?.pid);
  await waitIdle(run);
}

/**
 * MAX_BATCH_SIZE 8 against 1: a lone request (measured on, off, on again, so drift in the
 * machine's load does not pass for a cost) and 16 clients.
 */
async function batchingPhase(ctx: BenchContext, run: StackRun, model: string): Promise<BatchingResult> {
  const loneMs = ctx.options.loneS * 1000;
  const on = String(run.config.models.maxBatchSize);
  const point = async (concurrency: number, durationMs: number | undefined, label: string) => {
    await waitForQuiet(ctx);
    return stackPoint(ctx, run, model, concurrency, durationMs, label);
  };
  const onA = await point(1, loneMs, `MAX_BATCH_SIZE=${on}`);
  const onLoaded = await point(16, undefined, `MAX_BATCH_SIZE=${on}`);
  await restartInference(ctx, run, { MAX_BATCH_SIZE: '1' });
  const offLone = await point(1, loneMs, 'MAX_BATCH_SIZE=1');
  const offLoaded = await point(16, undefined, 'MAX_BATCH_SIZE=1');
  await restartInference(ctx, run, { MAX_BATCH_SIZE: on });
  const onB = await point(1, loneMs, `MAX_BATCH_SIZE=${on}`);
  // Both "on" runs as one sample set, against the "off" run between them.
  const onLone: Point = {
    ...strip(onA),
    windowS: onA.windowS + onB.windowS,
    ok: onA.ok + onB.ok,
    imagesPerSec: (onA.ok + onB.ok) / (onA.windowS + onB.windowS),
    latency: roundSummary(summarize([...onA.samples, ...onB.samples])),
  };
  const loneCost = (onLone.latency.p50 - offLone.latency.p50) / offLone.latency.p50;
  ctx.progress(`batching ${model}: lone p50 on ${onA.latency.p50.toFixed(2)} / ${onB.latency.p50.toFixed(2)} ms, off ${offLone.latency.p50.toFixed(2)} ms`);
  return {
    model,
    on: { lone: onLone, loaded: strip(onLoaded) },
    off: { lone: strip(offLone), loaded: strip(offLoaded) },
    loneCost,
    onRuns: [strip(onA), strip(onB)],
  };
}

/** A point without its raw samples (they stay out of the JSON). */
function strip(p: Point & { samples?: number[] }): Point {
  const { samples: _samples, ...point } = p;
  return point;
}

/** The stack's settings worth printing beside its figures. */
function describeConfig(config: ArgusConfig, extra: Record<string, string>): Record<string, unknown> {
  return {
    ...BENCH_STACK_ENV,
    WORKER_CONCURRENCY: config.worker.concurrency,
    MAX_BATCH_SIZE: config.models.maxBatchSize,
    BATCH_MAX_WAIT_MS: config.models.batchMaxWaitMs,
    MODEL_THREADS: config.models.modelThreads,
    INTRA_OP_THREADS: config.models.intraOpThreads,
    INTER_OP_THREADS: config.models.interOpThreads,
    LOG_LEVEL: config.log.level,
    NODE_ENV: config.env,
    ...extra,
  };
}

/**
 * The whole Argus stack, started from dist/ with a fresh Redis prefix and Postgres schema: its
 * concurrency points, then cache, priority and batching.
 */
export class StackRunner {
  private constructor(
    private readonly ctx: BenchContext,
    private readonly run: StackRun,
    /** The stack's settings as its apps read them. */
    readonly describe: Record<string, unknown>,
  ) {}

  static async start(ctx: BenchContext): Promise<StackRunner> {
    const { options } = ctx;
    ctx.progress('starting the stack (results, inference, api-gateway from dist/) ...');
    const stack = await startStack({
      label: 'bench',
      env: { ...BENCH_STACK_ENV, MODELS: options.models.join(','), ...options.stackEnv },
      ...(options.profileDir !== undefined ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] } : {}),
    });
    const config = buildConfig(stack.env);
    const run: StackRun = {
      stack,
      config,
      client: new HttpClient(stack.baseUrl, { 'x-api-key': stack.apiKey }),
      detect: new DetectJobs(stack.redis, stack.prefix, { attempts: 1, backoffMs: 0 }),
      keys: new ArgusKeys(stack.prefix),
      waitMs: config.limits.maxWaitMs,
    };
    trackApps(ctx, stack);
    ctx.progress(`stack ready at ${stack.baseUrl} (prefix ${stack.prefix}, schema ${stack.schema}, logs test-artifacts/logs/${stack.schema})`);
    return new StackRunner(ctx, run, describeConfig(config, options.stackEnv));
  }

  point(model: string, concurrency: number): Promise<Point> {
    return stackPoint(this.ctx, this.run, model, concurrency).then(strip);
  }

  cache(model: string): Promise<CacheResult> {
    return cachePhase(this.ctx, this.run, model);
  }

  priority(model: string): Promise<PriorityResult> {
    return priorityPhase(this.ctx, this.run, model);
  }

  /** MAX_BATCH_SIZE on and off, or undefined (with a warning) when the model cannot batch. */
  async batching(model: string): Promise<BatchingResult | undefined> {
    const session = await openSession(this.ctx, modelEntry(this.ctx, model), 1, 2);
    const batches = session.maxBatchSize > 1;
    await session.release();
    if (batches) return batchingPhase(this.ctx, this.run, model);
    this.ctx.warnings.push(`batching: ${model} has a static batch dimension; nothing to compare`);
    return undefined;
  }

  async stop(): Promise<void> {
    for (const name of Object.values(APPS)) this.ctx.monitor.untrack(name);
    this.run.client.close();
    await this.run.detect.close();
    await this.run.stack.stop();
  }
}
