import { ArgusStore, DetectJobs, newRequestId, PersistJobs, sha256Hex, workKey } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { BULLMQ_PRIORITY, type DetectionView, detectionView, finalStatus, type Priority, type RequestRecord, type WorkOutcome } from '@argus/contracts';
import { probeImage } from '@argus/imaging';
import { Metrics } from '@argus/observability';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ApiError, ERROR_STATUS } from '../errors/api-error';
import { Backpressure } from '../access/backpressure.service';
import { Drain } from '../access/drain.service';
import { ModelCatalog } from '../models/model-catalog.service';
import { CompletionWaiter } from './completion-waiter';
import { detectParams, priorityOf, resolveClasses, type SubmitFields } from './submit-params';

export interface Submission {
  image: Buffer;
  fields: SubmitFields;
  correlationId: string;
  /** Who is asking (an API key's id), for idempotency scoping and the per-tenant cache. */
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
 * it can, otherwise queues the work on its model's queue (sharing a job with identical requests in
 * flight) and optionally waits for it. Once admit() has recorded a request it is accepted: the
 * ledger guarantees it ends in Postgres even if what follows here fails (the reconciler finishes it).
 */
@Injectable()
export class DetectionsService {
  private readonly logger = new Logger(DetectionsService.name);

  constructor(
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
    private readonly store: ArgusStore,
    private readonly catalog: ModelCatalog,
    private readonly waiter: CompletionWaiter,
    private readonly detect: DetectJobs,
    private readonly persist: PersistJobs,
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
    // The version too: the one named (`name@version`), else one by the traffic weights.
    const { info: model, pinned } = await this.catalog.choose(fields.model ?? this.config.models.default);
    const classes = resolveClasses(fields.classes, model);
    const params = detectParams(fields, model, classes?.ids ?? null, this.config.defaults);
    const priority = priorityOf(fields);
    const sha256 = sha256Hex(image);
    // Per tenant by default: a client must not learn (from `cached`, or from how fast the answer
    // comes) that someone else sent the same photo.
    const tenant = this.config.cache.scope === 'tenant' ? submission.clientId : null;
    const key = workKey(sha256, { name: model.name, version: model.version, digest: model.digest, pinned }, params, tenant);
    const record: RequestRecord = {
      id: newRequestId(),
      workKey: key,
      sha256,
      width: probe.width,
      height: probe.height,
      bytes: image.length,
      model: { name: model.name, version: model.version },
      ...(pinned ? { pinned } : {}),
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
    const overload = await this.backpressure.check(model.name);
    if (overload && !(await this.store.getOutcome(key))) throw this.backpressure.refusal(priority, overload);

    // One round trip, one atomic step: the Idempotency-Key, the record, the ledger entry, and a
    // cache hit or the request attached to its work with its image held for the job added next.
    // What the client asked for, not the version the weights picked: a retry may be picked another.
    const fingerprint = `${workKey(sha256, { name: fields.model ?? this.config.models.default, version: '' }, params, tenant)}:${priority}`;
    const admission = await this.store.admit(
      record,
      image,
      submission.idempotencyKey !== undefined ? { clientId: submission.clientId, key: submission.idempotencyKey, fingerprint } : undefined,
    );
    if (admission.kind === 'replay') {
      if (admission.fingerprint !== fingerprint) {
        throw new ApiError('idempotency_key_reused', 'This Idempotency-Key was used for a different request (another image, model or options)');
      }
      return this.replay(admission.requestId, waitMs);
    }
    if (admission.kind === 'hit') {
      this.metrics.cacheLookups.inc({ result: 'hit' });
      await this.persistHit(record, admission.outcome);
      this.metrics.observeStage('cache_hit', performance.now() - started, model.name, model.version);
      return this.reply(record, admission.outcome, true);
    }
    this.metrics.cacheLookups.inc({ result: 'miss' });

    // Listening starts before the job exists, so its end cannot be missed.
    const ownEnd = this.waiter.listen(record.id);
    let jobId: string;
    try {
      jobId = await this.enqueue(record, deadline);
    } catch (error) {
      ownEnd.cancel();
      // Recorded and attached: the reconciler adds the job from the ledger. The request is
      // accepted; the client polls it like any other.
      this.logger.warn({ msg: 'accepted, but the job could not be added now; the reconciler will add it', requestId: record.id, error: messageOf(error) });
      return { status: 202, view: await this.queuedView(record) };
    }
    this.logger.log({ msg: 'accepted', requestId: record.id, jobId, shared: jobId !== record.id, model: model.name, priority, bytes: image.length });
    let finished: WorkOutcome | null;
    if (jobId === record.id) {
      finished = await this.drain.race(ownEnd.until(waitMs));
    } else {
      ownEnd.cancel();
      finished = await this.drain.race(this.waiter.wait(jobId, key, waitMs));
    }
    if (finished) return this.reply(record, finished, false);
    return { status: 202, view: await this.queuedView(record) };
  }

  /**
   * A cache hit's row: handed to apps/results like any finished work. When that fails (Redis
   * went away a moment after answering), the client still gets its answer: the request is in the
   * ledger and the reconciler hands it over.
   */
  private async persistHit(record: RequestRecord, outcome: WorkOutcome): Promise<void> {
    try {
      await this.persist.handOver(PersistJobs.newId('hit'), { workKey: record.workKey, jobId: null, attempts: 0, cached: true, outcome }, [record]);
    } catch (error) {
      this.logger.warn({ msg: 'cache hit answered; its row will be persisted by the reconciler', requestId: record.id, error: messageOf(error) });
    }
  }

  /**
   * Queues the work on its model's queue, or joins the job already doing it; returns the job's id.
   * admit() noted the job named after the request as the request's, and held the image for it; a
   * shared job is noted here, and the hold released.
   */
  private async enqueue(record: RequestRecord, deadline: number | undefined): Promise<string> {
    const { jobId, joined } = await this.detect.enqueue({ record, ...(deadline !== undefined ? { deadline } : {}) });
    if (joined) {
      // Identical work is already queued or running: ride on it, and let it hurry if we are in a hurry.
      await this.store.releaseImage(record.sha256, record.id);
      await this.store.setRequestJob(record.id, jobId);
      await this.detect.promote(record.model.name, jobId, BULLMQ_PRIORITY[record.priority], deadline);
    }
    return jobId;
  }

  private async replay(requestId: string, waitMs: number): Promise<SubmissionReply> {
    const stored = await this.store.getRequest(requestId);
    if (!stored) throw new ApiError('not_found', 'The request this Idempotency-Key names has expired');
    const outcome = (await this.store.getOutcome(stored.record.workKey)) ?? (stored.jobId ? await this.drain.race(this.waiter.wait(stored.jobId, stored.record.workKey, waitMs)) : null);
    if (outcome) return this.reply(stored.record, outcome, stored.cached);
    return { status: 202, view: await this.queuedView(stored.record) };
  }

  /** A queued request's view; it says so when no inference process serves its model right now (the job waits for one). */
  private async queuedView(record: RequestRecord): Promise<DetectionView> {
    const view = detectionView(record, 'queued');
    const workers = await this.catalog.liveWorkers(record.model.name).catch(() => null);
    if (workers === 0) {
      view.note = `No inference process serves model "${record.model.name}" right now; the job waits in its queue until one starts.`;
    }
    return view;
  }

  private reply(record: RequestRecord, outcome: WorkOutcome, cached: boolean): SubmissionReply {
    const view = detectionView(record, finalStatus({ outcome }), { outcome, cached });
    return { status: outcome.ok ? 200 : ERROR_STATUS[outcome.error.code], view };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
