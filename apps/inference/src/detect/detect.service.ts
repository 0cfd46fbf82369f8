import { ArgusStore, Batcher, type HandOver, jobEndMessageHead, jobStateMessage, PersistJobs } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { type DetectJob, type Detection, type ErrorInfo, failed, type InferenceResult, type WorkOutcome } from '@argus/contracts';
import { inSpan, Metrics } from '@argus/observability';
import { postprocess, preprocess } from '@argus/vision';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { type HostedModel, ModelHost } from '../models/model-host.service';
import { JobFailure } from './failure';

/** Works ended together at most: a persist job of a few hundred KB at worst. */
const ENDINGS_PER_BATCH = 64;

/** Where a job stands in BullMQ, as far as the use case cares. */
export interface JobContext {
  jobId: string;
  attempt: number;
  /** When BullMQ created the job, and when this attempt became active (epoch ms). */
  createdAt: number;
  activeAt: number;
}

/**
 * The detection use case: one job in, one result out, stored as the work's outcome and handed to
 * apps/results with every request attached to the work. The processor around it only handles
 * BullMQ (thin workers).
 */
@Injectable()
export class DetectService {
  private readonly logger = new Logger(DetectService.name);
  /** Works ending in one turn of the event loop, ended together (endTogether). */
  private readonly endings = new Batcher<Ending, HandOver>((endings) => this.endTogether(endings), { maxBatchSize: ENDINGS_PER_BATCH, maxWaitMs: 0, gatherTurn: true, runsInFlight: 2 });

  constructor(
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
    private readonly models: ModelHost,
    private readonly store: ArgusStore,
    private readonly persist: PersistJobs,
    private readonly metrics: Metrics,
  ) {}

  async detect(job: DetectJob, context: JobContext): Promise<InferenceResult> {
    // Another job may have finished the same work a moment ago (it was created after that one
    // released its de-duplication key): answer from the outcome instead of running the model.
    // Waiting gateways hear that the job is active in the same round trip.
    const fetchStart = performance.now();
    const { outcome: prior, image: bytes } = await inSpan('fetch', { 'argus.work_key': job.workKey }, () =>
      this.store.jobInputs(job.workKey, job.sha256, jobStateMessage(context.jobId, 'active')),
    );
    const fetchMs = performance.now() - fetchStart;
    if (prior) {
      if (!prior.ok) throw new JobFailure(prior.error.code, prior.error.message);
      // Requests that attached after that job ended are persisted with its result.
      await this.end(job, context, prior, false);
      return prior.result;
    }
    if (job.deadline !== undefined && Date.now() > job.deadline) {
      throw new JobFailure('deadline_exceeded', `The job waited past its deadline (${new Date(job.deadline).toISOString()}) and was not run`);
    }

    if (!bytes) {
      throw new JobFailure('image_expired', 'The image bytes expired from Redis before the job ran; raise IMAGE_TTL_SECONDS or add workers');
    }
    // The version the job names, or (when it was the gateway's weighted pick and is gone since)
    // the model's primary version; the result says which ran.
    const lease = this.models.acquire(job.model.name, job.model.version, job.pinned ?? false);
    const model = lease.model;
    const { name, version } = model.info;
    if (lease.fallback) {
      this.logger.log({ msg: 'version no longer served here; running the primary version', jobId: context.jobId, model: name, asked: job.model.version, ran: version });
    }
    let inferred: Awaited<ReturnType<DetectService['infer']>>;
    try {
      inferred = await this.infer(model, bytes, job.params);
    } finally {
      lease.release();
    }
    const { prepared, run, detections, postprocessMs } = inferred;

    const finishedAt = Date.now();
    const queueWait = Math.max(0, context.activeAt - job.enqueuedAt);
    const result: InferenceResult = {
      model: { name, version },
      width: prepared.width,
      height: prepared.height,
      detections,
      timings: {
        queueWait: round(queueWait),
        fetch: round(fetchMs),
        preprocess: round(prepared.preprocessMs),
        inference: round(run.waitMs + run.runMs),
        postprocess: round(postprocessMs),
        total: round(finishedAt - job.enqueuedAt),
        batchSize: run.batchSize,
      },
      provider: model.session.provider,
      finishedAt: new Date(finishedAt).toISOString(),
    };

    // A result from another version than the work names is not kept as that work's outcome.
    await this.end(job, context, { ok: true, result }, !lease.fallback);

    this.metrics.observeStage('queue_wait', queueWait, name, version);
    this.metrics.observeStage('fetch', fetchMs, name, version);
    this.metrics.observeStage('preprocess', prepared.preprocessMs, name, version);
    this.metrics.observeStage('inference', run.runMs, name, version);
    this.metrics.observeStage('batch_wait', run.waitMs, name, version);
    this.metrics.observeStage('postprocess', postprocessMs, name, version);
    return result;
  }

  /**
   * Decodes an image, runs it through the model's batcher and reads its boxes, in a slot of the
   * memory shared with the model: nothing is allocated for its tensor or its output, and the slot
   * is free again once the boxes are read (or the image failed).
   */
  private async infer(model: HostedModel, bytes: Buffer, params: DetectJob['params']) {
    const slot = model.session.slot();
    try {
      const limits = { maxBytes: this.config.limits.maxImageBytes, maxPixels: this.config.limits.maxImagePixels };
      const prepared = await inSpan('preprocess', {}, () => preprocess(bytes, model.session.spec, limits, slot.input));
      const run = await inSpan('inference', { 'argus.model': model.info.name, 'argus.model_version': model.info.version }, async (span) => {
        const ran = await model.batcher.submit(slot);
        span.setAttribute('argus.batch_size', ran.batchSize);
        return ran;
      });
      const postStart = performance.now();
      const detections = postprocess(run.output, model.session.spec, prepared, params).map(tidy);
      return { prepared, run, detections, postprocessMs: performance.now() - postStart };
    } finally {
      slot.release();
    }
  }

  /**
   * Ends work that failed for good: the failure becomes the work's outcome (so identical requests
   * in flight get it too) and goes to apps/results for every attached request. A missed deadline
   * or a version not served says nothing about the work: it is not stored, so identical requests
   * without a deadline, or once the version serves again, run it.
   */
  async fail(job: Pick<DetectJob, 'workKey' | 'sha256'>, context: JobContext, error: ErrorInfo, remember: boolean): Promise<void> {
    const ttl = error.code === 'deadline_exceeded' || error.code === 'model_unavailable' ? false : remember ? this.config.retention.negativeCacheTtlSeconds : 30;
    await this.end(job, context, failed(error), ttl);
  }

  /**
   * The end of the work, in two steps: the end-of-work script (outcome, image, announcement, the
   * attached requests marked as handed to a persist job), then that persist job. If this process
   * dies between the two, the requests wait in the ledger, marked, and the reconciler hands them over.
   * Works that end in the same turn of the event loop (the jobs of one model run) end together.
   */
  private async end(job: Pick<DetectJob, 'workKey' | 'sha256'>, context: JobContext, outcome: WorkOutcome, remember: boolean | number): Promise<void> {
    await inSpan('end of work', { 'argus.ok': outcome.ok }, async (span) => {
      const { output: handed, batchSize } = await this.endings.submit({ job, context, outcome, remember });
      if (handed.missing.length > 0) {
        this.logger.error({ msg: 'request records missing (expired?); their rows cannot be written', workKey: job.workKey, requestIds: handed.missing });
      }
      span.setAttribute('argus.requests', handed.records.length);
      span.setAttribute('argus.ended_together', batchSize);
    });
  }

  /**
   * Ends several works in two round trips whatever their number: their end-of-work scripts in one
   * pipeline, then one persist job carrying every request they ended, each with its own end.
   */
  private async endTogether(endings: Ending[]): Promise<HandOver[]> {
    const persistId = PersistJobs.newId('end');
    const handed = await this.store.endWorks(
      endings.map(({ job, context, outcome, remember }) => ({ work: job, holder: context.jobId, outcome, remember, eventHead: jobEndMessageHead(context.jobId, outcome) })),
      persistId,
    );
    await this.persist.handOver(
      persistId,
      endings.map(({ job, context, outcome }, i) => ({ end: { workKey: job.workKey, jobId: context.jobId, attempts: context.attempt, cached: false, outcome }, records: handed[i]?.records ?? [] })),
    );
    return handed;
  }
}

/** A work to end, as the end-of-work batcher holds it. */
interface Ending {
  job: Pick<DetectJob, 'workKey' | 'sha256'>;
  context: JobContext;
  outcome: WorkOutcome;
  remember: boolean | number;
}

/** Scores to 4 decimals and pixels to 2: more digits are noise and bytes on every hop. */
function tidy(d: Detection): Detection {
  const px = (v: number) => Math.round(v * 100) / 100;
  return { label: d.label, classId: d.classId, score: Math.round(d.score * 10000) / 10000, box: { x1: px(d.box.x1), y1: px(d.box.y1), x2: px(d.box.x2), y2: px(d.box.y2) } };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
