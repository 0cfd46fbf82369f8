import { ArgusStore, BatchJobs, newRequestId, type RunningBatch, sha256Hex } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { type BatchItemResult, type BatchJob, type BatchView, batchCounts, type ReadScope } from '@argus/contracts';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DetectionsService, type Prepared, type Submitter } from '../detections/detections.service';
import { ImageSources } from '../detections/image-sources.service';
import type { BatchFields } from '../detections/submit-params';
import { ApiError, notFoundUnless } from '../errors/api-error';
import { toApiError } from '../errors/error.filter';
import { visibleIn } from '../http/request-context';
import { ResultsClient } from '../results-client/results.client';

/** A batch as sent: files (with their names) and image URLs, in order, with one set of options. */
export interface BatchSubmission extends Submitter {
  files: { name: string; bytes: Buffer }[];
  urls: string[];
  fields: BatchFields;
  idempotencyKey?: string;
}

/** URLs of one batch fetched at once. */
const FETCH_CONCURRENCY = 4;
/** Items of one batch admitted at once. */
const ADMIT_CONCURRENCY = 8;
/** Results read from apps/results per round trip. */
export const RESULTS_PAGE = 100;

/** Pure: a running batch's view from what Redis holds. */
export function runningView(running: RunningBatch): BatchView {
  if (running.finished) return running.finished;
  const { batch, ends } = running;
  const { completed, failed } = batchCounts(ends);
  const total = batch.items.length;
  return {
    id: batch.batchId,
    status: ends.length === 0 ? 'queued' : 'active',
    total,
    completed,
    failed,
    items: batch.items,
    createdAt: batch.createdAt,
    completedAt: null,
  };
}

/** Runs `work` over `items`, at most `limit` at a time, keeping their order. */
async function inOrder<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        out[index] = await work(items[index] as T, index);
      }
    }),
  );
  return out;
}

/**
 * Batches (ADR 0015): every image is checked (and fetched) before anything is recorded, so a
 * batch is accepted whole or refused with the first problem; then its flow is added (a parent job
 * and one delayed child per image, named after the image's request), and each image is admitted
 * exactly like a single detection (the cache, sharing identical work in flight, the per-tenant
 * work key), its admission idempotent per batch and image, so a repeated submission (same
 * Idempotency-Key) finishes what an interrupted one started.
 */
@Injectable()
export class BatchesService {
  private readonly logger = new Logger(BatchesService.name);

  constructor(
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
    private readonly detections: DetectionsService,
    private readonly sources: ImageSources,
    private readonly store: ArgusStore,
    private readonly batches: BatchJobs,
    private readonly results: ResultsClient,
  ) {}

  async submit(submission: BatchSubmission): Promise<{ view: BatchView; created: boolean }> {
    const { files, urls, fields } = submission;
    const { maxImages, maxBytes } = this.config.batches;
    const total = files.length + urls.length;
    if (total === 0) throw new ApiError('missing_image', 'A batch needs at least one image: files in repeated multipart fields "images", image URLs in repeated fields "url"');
    if (total > maxImages) throw new ApiError('payload_too_large', `A batch takes at most ${maxImages} images (BATCH_MAX_IMAGES); this one has ${total}`);
    const uploaded = files.reduce((sum, f) => sum + f.bytes.length, 0);
    if (uploaded > maxBytes) throw new ApiError('payload_too_large', `A batch takes at most ${maxBytes} bytes of images (BATCH_MAX_BYTES); these files have ${uploaded}`);
    this.detections.checkPriority(submission, fields);
    const callbackUrl = fields.callbackUrl === undefined ? undefined : await this.sources.checkCallback(fields.callbackUrl, submission);
    const scope: ReadScope = { owner: submission.clientId };

    let batchId = newRequestId();
    let running: RunningBatch | null = null;
    if (submission.idempotencyKey !== undefined) {
      const fingerprint = createHash('sha256')
        .update(JSON.stringify([files.map((f) => [f.name, sha256Hex(f.bytes)]), urls, fields]))
        .digest('hex');
      const claim = await this.store.claimBatch({ clientId: submission.clientId, key: submission.idempotencyKey, fingerprint }, batchId);
      if (!claim.claimed) {
        if (claim.fingerprint !== fingerprint) throw new ApiError('idempotency_key_reused', 'This Idempotency-Key was used for a different batch (other images or options)');
        batchId = claim.batchId;
        const finished = await this.results.batch(batchId, scope).catch(() => null);
        if (finished) return { view: finished, created: false };
        running = await this.batches.get(batchId);
        // Admitted whole before: nothing to finish. Otherwise go on where it stopped.
        if (running && (running.finished || (await this.allAdmitted(running)))) return { view: runningView(running), created: false };
      }
    }

    const images = await this.images(files, urls, maxBytes - uploaded);
    const ids = running?.batch.items.map((item) => item.id) ?? images.map(() => newRequestId());
    const prepared: Prepared[] = await inOrder(images, ADMIT_CONCURRENCY, (image, index) =>
      this.detections.prepare(image.bytes, fields, submission, { id: ids[index] as string, batchId }).catch((error: unknown) => {
        // Say which image: a batch is refused whole for one bad image.
        const refusal = toApiError(error);
        if (refusal.status >= 500) throw error;
        throw new ApiError(refusal.code, `Image ${index + 1} (${image.name}): ${refusal.message}`, refusal.headers, refusal.status);
      }),
    );
    const batch: BatchJob = running?.batch ?? {
      batchId,
      clientId: submission.clientId === 'anonymous' ? null : submission.clientId,
      items: images.map((image, index) => ({ id: ids[index] as string, image: image.name })),
      ...(callbackUrl ? { callbackUrl } : {}),
      correlationId: submission.correlationId,
      createdAt: new Date().toISOString(),
    };
    if (!running) {
      await this.detections.refuseIfOverloaded(prepared.map((p) => p.record));
      // The flow first: every item's job exists before its request can end, so none is missed.
      await this.batches.create(batch);
    }
    await inOrder(prepared, ADMIT_CONCURRENCY, (item, index) =>
      this.detections.admit(item, { clientId: submission.clientId, key: `batch:${batchId}:${index}`, fingerprint: item.fingerprint }, false),
    );
    this.logger.log({ msg: 'batch accepted', batchId, images: total, files: files.length, urls: urls.length, resumed: running !== null });
    const now = await this.batches.get(batchId);
    return { view: now ? runningView(now) : runningView({ batch, ends: [], finished: null }), created: running === null };
  }

  /** A batch at any stage within `scope`: its row once finished, else its flow in Redis; 404 otherwise. */
  async get(id: string, scope: ReadScope): Promise<BatchView> {
    let resultsDown: unknown;
    try {
      const finished = await this.results.batch(id, scope);
      if (finished) return finished;
    } catch (error) {
      resultsDown = error;
    }
    const running = await this.batches.get(id);
    if (running && visibleIn(scope, running.batch.clientId)) return runningView(running);
    throw notFoundUnless(resultsDown, `No batch with id "${id}"`);
  }

  /**
   * A finished batch's results, a page at a time in the batch's order, for streaming; 409
   * not_ready while images are still running.
   */
  async *resultPages(id: string, scope: ReadScope): AsyncGenerator<BatchItemResult[], void, undefined> {
    const total = await this.finishedTotal(id, scope);
    for (let offset = 0; offset < total; offset += RESULTS_PAGE) yield await this.resultsPage(id, scope, offset, RESULTS_PAGE, total);
  }

  /** One page of a finished batch's results (GraphQL's batchResults); 409 not_ready while images are still running. */
  async resultsPage(id: string, scope: ReadScope, offset: number, limit: number, total?: number): Promise<BatchItemResult[]> {
    if (total === undefined) await this.finishedTotal(id, scope);
    const page = await this.results.batchResults(id, scope, offset, limit);
    if (!page) throw new ApiError('not_found', `No batch with id "${id}"`);
    return page.items;
  }

  /** A finished batch's number of images; 404 unknown, 409 not_ready while running. */
  private async finishedTotal(id: string, scope: ReadScope): Promise<number> {
    const view = await this.get(id, scope);
    if (view.status !== 'completed' || view.completedAt === null) {
      throw new ApiError('not_ready', `Batch ${id} has ${view.completed + view.failed} of ${view.total} images done; its results are ready once every image has ended`, { 'Retry-After': '2' });
    }
    return view.total;
  }

  /** Whether every item of a batch was admitted (its request is recorded, or already persisted). */
  private async allAdmitted(running: RunningBatch): Promise<boolean> {
    const ended = new Set(running.ends.map((e) => e.requestId));
    for (const item of running.batch.items) {
      if (ended.has(item.id)) continue;
      if (!(await this.store.getRequest(item.id))) return false;
    }
    return true;
  }

  /** Every image's bytes and name: files as sent, URLs fetched (a few at a time) within what is left of BATCH_MAX_BYTES. */
  private async images(files: BatchSubmission['files'], urls: string[], budget: number): Promise<{ name: string; bytes: Buffer }[]> {
    let left = budget;
    const fetched = await inOrder(urls, FETCH_CONCURRENCY, async (url, index) => {
      const bytes = await this.sources.fetch(url, `url[${index}]`, Math.max(1, Math.min(this.config.limits.maxImageBytes, left)));
      left -= bytes.length;
      if (left < 0) throw new ApiError('payload_too_large', `A batch takes at most ${this.config.batches.maxBytes} bytes of images (BATCH_MAX_BYTES); with its URLs this one has more`);
      return { name: url, bytes };
    });
    return [...files, ...fetched];
  }
}
