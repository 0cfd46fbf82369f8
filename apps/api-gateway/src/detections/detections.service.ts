import { ArgusStore, DetectJobs, type IdempotencyClaim, newRequestId, PersistJobs, sha256Hex, workKey } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { BULLMQ_PRIORITY, type DetectionView, detectionView, finalStatus, type Priority, type RequestRecord, type WorkOutcome } from '@argus/contracts';
import { probeImage } from '@argus/imaging';
import { Metrics } from '@argus/observability';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ApiError, ERROR_STATUS } from '../errors/api-error';
import type { ArgusRequestContext } from '../http/request-context';
import { Backpressure } from '../access/backpressure.service';
import { Drain } from '../access/drain.service';
import { ModelCatalog } from '../models/model-catalog.service';
import { CompletionWaiter, type PendingEnd } from './completion-waiter';
import { ImageSources } from './image-sources.service';
import { type BatchFields, detectParams, priorityOf, resolveClasses, type SubmitFields } from './submit-params';

/** Who submits, as the access layer established it. */
export interface Submitter {
  correlationId: string;
  /** Who is asking (an API key's id), for idempotency scoping and the per-tenant cache. */
  clientId: string;
  /** Priorities the client's API key may ask for (req.argus.priorities); others get 403. */
  allowedPriorities: readonly Priority[];
  /** Whether the client's webhooks can be signed (callbackUrl is refused otherwise). */
  webhooks?: boolean;
}

/** The submitter of a request from its context (REST's req.argus, GraphQL's caller), with its Idempotency-Key if any. */
export function submitterOf(caller: ArgusRequestContext, idempotencyKey?: string | null): Submitter & { idempotencyKey?: string } {
  return {
    correlationId: caller.correlationId,
    clientId: caller.clientId,
    allowedPriorities: caller.priorities ?? [],
    ...(caller.webhooks !== undefined ? { webhooks: caller.webhooks } : {}),
    ...(idempotencyKey ? { idempotencyKey } : {}),
  };
}

/** An image as sent: its bytes, or a URL Argus fetches. */
export type ImageInput = { bytes: Buffer } | { url: string };

export interface Submission extends Submitter {
  image: ImageInput;
  fields: SubmitFields;
  idempotencyKey?: string;
}

/** An answer to a submission: the HTTP status and the request's view. */
export interface SubmissionReply {
  status: number;
  view: DetectionView;
}

/** A request checked and described, ready to be admitted. */
export interface Prepared {
  record: RequestRecord;
  image: Buffer;
  deadline: number | undefined;
  /** What the request asks for, for its Idempotency-Key: the same image, model as named, options and priority. */
  fingerprint: string;
}

/** How admission went for a request: replayed (its Idempotency-Key named another), answered from the cache, or queued. */
export type Admitted =
  | { kind: 'replay'; requestId: string; fingerprint: string }
  | { kind: 'hit'; outcome: WorkOutcome }
  | { kind: 'queued'; jobId: string; ownEnd: PendingEnd | null }
  | { kind: 'unqueued' };

/**
 * Admission of detection requests: checks the image and options, answers from the cache when
 * it can, otherwise queues the work on its model's queue (sharing a job with identical requests in
 * flight) and optionally waits for it. Once admit() has recorded a request it is accepted: the
 * ledger guarantees it ends in Postgres even if what follows here fails (the reconciler finishes it).
 * Batches admit each of their images through the same steps.
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
    private readonly sources: ImageSources,
  ) {}

  async submit(submission: Submission): Promise<SubmissionReply> {
    const started = performance.now();
    const { fields } = submission;
    this.checkPriority(submission, fields);
    const callbackUrl = fields.callbackUrl === undefined ? undefined : await this.sources.checkCallback(fields.callbackUrl, submission);
    const image = 'bytes' in submission.image ? submission.image.bytes : await this.sources.fetch(submission.image.url);
    const prepared = await this.prepare(image, fields, submission, { ...(callbackUrl ? { callbackUrl } : {}) });
    const { record } = prepared;
    const waitMs = Math.min(fields.wait ?? 0, this.config.limits.maxWaitMs);

    // Backpressure before anything is recorded: a refused request leaves no trace. A finished
    // result is still served (it adds no work).
    await this.refuseIfOverloaded([record]);

    const { fingerprint } = prepared;
    const idempotency = submission.idempotencyKey !== undefined ? { clientId: submission.clientId, key: submission.idempotencyKey, fingerprint } : undefined;
    const admitted = await this.admit(prepared, idempotency, true);
    switch (admitted.kind) {
      case 'replay':
        if (admitted.fingerprint !== fingerprint) {
          throw new ApiError('idempotency_key_reused', 'This Idempotency-Key was used for a different request (another image, model or options)');
        }
        return this.replay(admitted.requestId, waitMs);
      case 'hit':
        this.metrics.observeStage('cache_hit', performance.now() - started, record.model.name, record.model.version);
        return this.reply(record, admitted.outcome, true);
      case 'unqueued':
        return { status: 202, view: await this.queuedView(record) };
      case 'queued': {
        let finished: WorkOutcome | null;
        if (admitted.ownEnd) finished = await this.drain.race(admitted.ownEnd.until(waitMs));
        else finished = await this.drain.race(this.waiter.wait(admitted.jobId, record.workKey, waitMs));
        if (finished) return this.reply(record, finished, false);
        return { status: 202, view: await this.queuedView(record) };
      }
    }
  }

  /** 403 when the key may not ask for the priority. */
  checkPriority(submitter: Submitter, fields: Pick<SubmitFields, 'priority'>): void {
    if (!submitter.allowedPriorities.includes(priorityOf(fields))) {
      throw new ApiError('forbidden', `This API key may not ask for priority "${priorityOf(fields)}" (allowed: ${submitter.allowedPriorities.join(', ') || 'none'})`);
    }
  }

  /**
   * Checks an image and the options and describes the request (not yet recorded): its id, work
   * key, model version, parameters. `id` names it in advance (a batch names its items' requests
   * before admitting them).
   */
  async prepare(image: Buffer, fields: BatchFields, submitter: Submitter, extra: { id?: string; batchId?: string; callbackUrl?: string } = {}): Promise<Prepared> {
    const probe = await probeImage(image, { maxBytes: this.config.limits.maxImageBytes, maxPixels: this.config.limits.maxImagePixels });
    // The version too: the one named (`name@version`), else one by the traffic weights.
    const { info: model, pinned } = await this.catalog.choose(fields.model ?? this.config.models.default);
    const classes = resolveClasses(fields.classes, model);
    const params = detectParams(fields, model, classes?.ids ?? null, this.config.defaults);
    const sha256 = sha256Hex(image);
    // Per tenant by default: a client must not learn (from `cached`, or from how fast the answer
    // comes) that someone else sent the same photo.
    const tenant = this.config.cache.scope === 'tenant' ? submitter.clientId : null;
    const key = workKey(sha256, { name: model.name, version: model.version, digest: model.digest, pinned }, params, tenant);
    const record: RequestRecord = {
      id: extra.id ?? newRequestId(),
      workKey: key,
      sha256,
      width: probe.width,
      height: probe.height,
      bytes: image.length,
      model: { name: model.name, version: model.version },
      ...(pinned ? { pinned } : {}),
      params,
      classLabels: classes?.labels ?? null,
      priority: priorityOf(fields),
      correlationId: submitter.correlationId,
      createdAt: new Date().toISOString(),
      ...(submitter.clientId !== 'anonymous' ? { clientId: submitter.clientId } : {}),
      ...(extra.callbackUrl ? { callbackUrl: extra.callbackUrl } : {}),
      ...(extra.batchId ? { batchId: extra.batchId } : {}),
    };
    const deadline = fields.deadlineMs !== undefined ? Date.now() + fields.deadlineMs : undefined;
    // What the client asked for, not the version the weights picked: a retry may be picked another.
    const fingerprint = `${workKey(sha256, { name: fields.model ?? this.config.models.default, version: '' }, params, tenant)}:${record.priority}`;
    return { record, image, deadline, fingerprint };
  }

  /** 503 (Retry-After) when the queues are too full for new work, unless every request is answered from the cache. */
  async refuseIfOverloaded(records: readonly RequestRecord[]): Promise<void> {
    const models = [...new Set(records.map((r) => r.model.name))];
    for (const model of models) {
      const overload = await this.backpressure.check(model);
      if (!overload) continue;
      const pending = records.filter((r) => r.model.name === model);
      const cached = await Promise.all(pending.map((r) => this.store.getOutcome(r.workKey)));
      if (cached.some((outcome) => !outcome)) throw this.backpressure.refusal(pending[0]?.priority ?? 'normal', overload);
    }
  }

  /**
   * Admits a prepared request. One round trip, one atomic step: the Idempotency-Key, the record,
   * the ledger entry, and a cache hit or the request attached to its work with its image held for
   * the job added next (or joined). `listen`: start listening for the job's end before adding it,
   * so a caller that waits cannot miss it.
   */
  async admit(prepared: Prepared, idempotency: IdempotencyClaim | undefined, listen: boolean): Promise<Admitted> {
    const { record, image, deadline } = prepared;
    const admission = await this.store.admit(record, image, idempotency);
    if (admission.kind === 'replay') return admission;
    if (admission.kind === 'hit') {
      this.metrics.cacheLookups.inc({ result: 'hit' });
      await this.persistHit(record, admission.outcome);
      return admission;
    }
    this.metrics.cacheLookups.inc({ result: 'miss' });
    const ownEnd = listen ? this.waiter.listen(record.id) : null;
    let jobId: string;
    try {
      jobId = await this.enqueue(record, deadline);
    } catch (error) {
      ownEnd?.cancel();
      // Recorded and attached: the reconciler adds the job from the ledger. The request is
      // accepted; the client polls it like any other.
      this.logger.warn({ msg: 'accepted, but the job could not be added now; the reconciler will add it', requestId: record.id, error: messageOf(error) });
      return { kind: 'unqueued' };
    }
    this.logger.log({ msg: 'accepted', requestId: record.id, jobId, shared: jobId !== record.id, model: record.model.name, priority: record.priority, bytes: image.length, batchId: record.batchId });
    if (jobId === record.id) return { kind: 'queued', jobId, ownEnd };
    ownEnd?.cancel();
    return { kind: 'queued', jobId, ownEnd: null };
  }

  /**
   * A cache hit's row: handed to apps/results like any finished work. When that fails (Redis
   * went away a moment after answering), the client still gets its answer: the request is in the
   * ledger and the reconciler hands it over.
   */
  private async persistHit(record: RequestRecord, outcome: WorkOutcome): Promise<void> {
    try {
      await this.persist.handOver(PersistJobs.newId('hit'), [{ end: { workKey: record.workKey, jobId: null, attempts: 0, cached: true, outcome }, records: [record] }]);
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
  async queuedView(record: RequestRecord): Promise<DetectionView> {
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
