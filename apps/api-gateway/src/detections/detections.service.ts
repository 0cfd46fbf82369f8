import {
  ArgusStore,
  DETECT_QUEUE,
  type DetectQueue,
  newRequestId,
  type Outcome,
  pendingView,
  sha256Hex,
  workKey,
} from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { BULLMQ_PRIORITY, type DetectJob, type DetectionView, JobName, type Priority, type RequestRecord } from '@argus/contracts';
import { probeImage } from '@argus/imaging';
import { Metrics } from '@argus/observability';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ApiError, ERROR_STATUS } from '../errors/api-error';
import { Backpressure } from '../limits/backpressure.service';
import { Drain } from '../limits/drain.service';
import { ModelCatalog } from '../models/model-catalog.service';
import { CompletionWaiter } from './completion-waiter';
import { detectParams, priorityOf, resolveClasses, type SubmitFields } from './submit-params';

export interface Submission {
  image: Buffer;
  fields: SubmitFields;
  correlationId: string;
  /** Who is asking (an API key's id), for idempotency scoping. */
  clientId: string;
  /** Priorities the client's API key may ask for (req.argus.priorities); others get 403. */
  allowedPriorities: readonly Priority[];
  idempotencyKey?: string;
}

/** An answer to a submission: the HTTP status and the request's view. */
export interface SubmissionReply {
  status: number;
  view: DetectionView;
}

/**
 * Admission of detection requests: checks the image and options, answers from the cache when
 * it can, otherwise queues the work (sharing a job with identical requests in flight) and
 * optionally waits for it.
 */
@Injectable()
export class DetectionsService {
  private readonly logger = new Logger(DetectionsService.name);

  constructor(
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
    private readonly store: ArgusStore,
    private readonly catalog: ModelCatalog,
    private readonly waiter: CompletionWaiter,
    @Inject(DETECT_QUEUE) private readonly detectQueue: DetectQueue,
    private readonly metrics: Metrics,
    private readonly backpressure: Backpressure,
    private readonly drain: Drain,
  ) {}

  async submit(submission: Submission): Promise<SubmissionReply> {
    const started = performance.now();
    const { image, fields } = submission;
    if (!submission.allowedPriorities.includes(priorityOf(fields))) {
      throw new ApiError('forbidden', `This API key may not ask for priority "${priorityOf(fields)}" (allowed: ${submission.allowedPriorities.join(', ') || 'none'})`);
    }
    const probe = await probeImage(image, { maxBytes: this.config.limits.maxImageBytes, maxPixels: this.config.limits.maxImagePixels });
    const model = await this.catalog.resolve(fields.model ?? this.config.models.default);
    const classes = resolveClasses(fields.classes, model);
    const params = detectParams(fields, model, classes?.ids ?? null, this.config.defaults);
    const priority = priorityOf(fields);
    const sha256 = sha256Hex(image);
    // Per tenant by default: a client must not learn (from `cached`, or from how fast the answer
    // comes) that someone else sent the same photo.
    const key = workKey(sha256, { name: model.name, version: model.version }, params, this.config.cache.scope === 'tenant' ? submission.clientId : null);
    const record: RequestRecord = {
      id: newRequestId(),
      workKey: key,
      sha256,
      width: probe.width,
      height: probe.height,
      bytes: image.length,
      model: { name: model.name, version: model.version },
      params,
      classLabels: classes?.labels ?? null,
      priority,
      correlationId: submission.correlationId,
      createdAt: new Date().toISOString(),
      ...(submission.clientId !== 'anonymous' ? { clientId: submission.clientId } : {}),
    };
    const waitMs = Math.min(fields.wait ?? 0, this.config.limits.maxWaitMs);
    const deadline = fields.deadlineMs !== undefined ? Date.now() + fields.deadlineMs : undefined;

    // Backpressure before anything is recorded: a refused request leaves no trace. A finished
    // result is still served (it adds no work).
    if ((await this.backpressure.overloaded()) && !(await this.store.getOutcome(key))) {
      throw this.backpressure.refusal(priority);
    }

    if (submission.idempotencyKey !== undefined) {
      const earlier = await this.store.claimIdempotencyKey(submission.clientId, submission.idempotencyKey, record.id, `${key}:${priority}`);
      if (earlier) {
        if (earlier.fingerprint !== `${key}:${priority}`) {
          throw new ApiError('idempotency_key_reused', 'This Idempotency-Key was used for a different request (another image, model or options)');
        }
        return this.replay(earlier.requestId, waitMs);
      }
    }

    // One round trip: a hit is answered (and its row queued for apps/results); a miss is attached
    // to its work with the image held for the job added next.
    const outcome = await this.store.admit(record, image);
    if (outcome) {
      this.metrics.cacheLookups.inc({ result: 'hit' });
      this.metrics.observeStage('cache_hit', performance.now() - started, model.name, model.version);
      return this.reply(record, outcome, true);
    }
    this.metrics.cacheLookups.inc({ result: 'miss' });

    // Listening starts before the job exists, so its end cannot be missed.
    const ownEnd = this.waiter.listen(record.id);
    let jobId: string;
    try {
      jobId = await this.enqueue(record, deadline);
    } catch (error) {
      ownEnd.cancel();
      throw error;
    }
    this.logger.log({ msg: 'accepted', requestId: record.id, jobId, shared: jobId !== record.id, model: model.name, priority, bytes: image.length });
    let finished: Outcome | null;
    if (jobId === record.id) {
      finished = await this.drain.race(ownEnd.until(waitMs));
    } else {
      ownEnd.cancel();
      finished = await this.drain.race(this.waiter.wait(jobId, key, waitMs));
    }
    if (finished) return this.reply(record, finished, false);
    return { status: 202, view: pendingView(record, 'queued') };
  }

  /**
   * Queues the work, or joins the job already doing it; returns the job's id. admit() noted the
   * job named after the request as the request's, and held the image for it; a shared job is
   * noted here, and the hold released.
   */
  private async enqueue(record: RequestRecord, deadline: number | undefined): Promise<string> {
    const data: DetectJob = {
      workKey: record.workKey,
      sha256: record.sha256,
      model: record.model,
      params: record.params,
      priority: record.priority,
      requestId: record.id,
      correlationId: record.correlationId,
      enqueuedAt: Date.parse(record.createdAt),
      ...(deadline !== undefined ? { deadline } : {}),
    };
    const job = await this.detectQueue.add(JobName.Detect, data, {
      jobId: record.id,
      priority: BULLMQ_PRIORITY[record.priority],
      deduplication: { id: record.workKey },
    });
    const jobId = job.id ?? record.id;
    if (jobId !== record.id) {
      // Identical work is already queued or running: ride on it, and let it hurry if we are in a hurry.
      await this.store.releaseImage(record.sha256, record.id);
      await this.store.setRequestJob(record.id, jobId);
      await this.promote(jobId, BULLMQ_PRIORITY[record.priority], deadline);
    }
    return jobId;
  }

  private async promote(jobId: string, priority: number, deadline: number | undefined): Promise<void> {
    const job = await this.detectQueue.getJob(jobId);
    if (job && job.priority > priority) {
      await job.changePriority({ priority }).catch(() => undefined); // already active: nothing to gain
    }
    // A shared job keeps the latest deadline of the requests riding on it (none beats any), so
    // one request's deadline never fails another's work.
    if (job?.data.deadline !== undefined && (deadline === undefined || deadline > job.data.deadline)) {
      const { deadline: _earlier, ...data } = job.data;
      await job.updateData(deadline === undefined ? data : { ...data, deadline }).catch(() => undefined); // finished meanwhile
    }
  }

  private async replay(requestId: string, waitMs: number): Promise<SubmissionReply> {
    const stored = await this.store.getRequest(requestId);
    if (!stored) throw new ApiError('not_found', 'The request this Idempotency-Key names has expired');
    const outcome = (await this.store.getOutcome(stored.record.workKey)) ?? (stored.jobId ? await this.drain.race(this.waiter.wait(stored.jobId, stored.record.workKey, waitMs)) : null);
    if (outcome) return this.reply(stored.record, outcome, stored.cached);
    return { status: 202, view: pendingView(stored.record, 'queued') };
  }

  private reply(record: RequestRecord, outcome: Outcome, cached: boolean): SubmissionReply {
    if (outcome.ok) return { status: 200, view: pendingView(record, 'completed', { result: outcome.result }, cached) };
    return { status: ERROR_STATUS[outcome.error.code], view: pendingView(record, 'failed', { error: outcome.error }, cached) };
  }
}
