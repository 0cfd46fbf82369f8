import { ArgusStore, BATCH_ITEM_RECHECK_MS, connectionErrorLogger, WebhookJobs } from '@argus/broker';
import { type BatchItemEnd, BatchItemJobSchema, type BatchJob, BatchJobSchema, type BatchView, encodeFailure, JobName, QueueName, webhookId } from '@argus/contracts';
import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import { DataSource } from 'typeorm';
import { DetectionEntity } from '../database/detection.entity';
import { isOutage } from '../persist/persist.service';
import { BatchesService } from './batches.service';

/**
 * An item whose request has no row, no record and no ledger entry this long after the batch was
 * made was never accepted (the gateway stopped half-way through the submission): it ends failed.
 */
export const LOST_ITEM_AFTER_MS = 15 * 60_000;
/** While Postgres is away, when a batch job looks again (without spending an attempt). */
const OUTAGE_RETRY_MS = 2000;

/**
 * The `batches` queue's processor. An item's job completes with how its request ended, read from
 * the request's row: it is woken right after that row is committed (the persistence service
 * promotes it), and otherwise looks by itself every few minutes. Once every item's job has
 * completed, BullMQ runs the batch's job: it writes the batch's row and queues its
 * `batch.completed` webhook.
 */
@Processor(QueueName.Batches, { concurrency: 8 })
export class BatchesProcessor extends WorkerHost {
  private readonly logger = new Logger(BatchesProcessor.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly store: ArgusStore,
    private readonly batches: BatchesService,
    private readonly webhooks: WebhookJobs,
  ) {
    super();
  }

  private readonly onError = connectionErrorLogger('worker:batches');

  /** Redis going away shows as a burst of connection errors: logged at most every few seconds. */
  @OnWorkerEvent('error')
  workerError(error: Error): void {
    this.onError(error);
  }

  async process(job: Job, token?: string): Promise<BatchItemEnd | BatchView> {
    try {
      switch (job.name) {
        case JobName.BatchItem:
          return await this.item(job, token);
        case JobName.Batch:
          return await this.batch(job);
        default:
          throw new UnrecoverableError(encodeFailure({ code: 'validation_failed', message: `Unknown job "${job.name}" on the batches queue` }));
      }
    } catch (error) {
      if (isOutage(error) && token) {
        // Not the job's fault: back to the queue for later, its attempts untouched.
        await job.moveToDelayed(Date.now() + OUTAGE_RETRY_MS, token);
        throw new DelayedError();
      }
      throw error;
    }
  }

  private async item(job: Job, token: string | undefined): Promise<BatchItemEnd> {
    const data = BatchItemJobSchema.safeParse(job.data);
    if (!data.success) throw new UnrecoverableError(encodeFailure({ code: 'validation_failed', message: `Invalid batch item job: ${data.error.message.slice(0, 300)}` }));
    const { requestId } = data.data;
    const row = await this.dataSource.getRepository(DetectionEntity).findOne({ where: { id: requestId }, select: { id: true, status: true } });
    if (row) return { requestId, status: row.status };
    const pending = (await this.store.getRequest(requestId)) !== null || (await this.store.unpersisted(requestId));
    if (pending || Date.now() - job.timestamp < LOST_ITEM_AFTER_MS) {
      // Not ended yet: woken when its row is committed, or looks again by itself.
      if (!token) throw new Error('batch item without a lock token');
      await job.moveToDelayed(Date.now() + BATCH_ITEM_RECHECK_MS, token);
      throw new DelayedError();
    }
    this.logger.error({ msg: 'a batch item was never accepted (its submission stopped half-way); it ends failed', batchId: data.data.batchId, requestId });
    return { requestId, status: 'failed' };
  }

  private async batch(job: Job): Promise<BatchView> {
    const data = BatchJobSchema.safeParse(job.data);
    if (!data.success) throw new UnrecoverableError(encodeFailure({ code: 'validation_failed', message: `Invalid batch job: ${data.error.message.slice(0, 300)}` }));
    const batch: BatchJob = data.data;
    const ends = Object.values(await job.getChildrenValues<BatchItemEnd>());
    const view = await this.batches.finish(batch, ends);
    if (batch.callbackUrl) {
      await this.webhooks.send(webhookId('batch.completed', batch.batchId), { url: batch.callbackUrl, clientId: batch.clientId, event: { type: 'batch.completed', data: view } });
    }
    this.logger.log({ msg: 'batch completed', batchId: batch.batchId, total: view.total, completed: view.completed, failed: view.failed, webhook: batch.callbackUrl !== undefined });
    return view;
  }
}
