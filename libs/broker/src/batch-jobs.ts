import { type BatchItemEnd, BatchItemEndSchema, type BatchItemJob, type BatchJob, type BatchView, JobName, QueueName } from '@argus/contracts';
import { FlowProducer, type JobsOptions, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { logConnectionErrors } from './redis';

export type BatchQueue = Queue<BatchJob | BatchItemJob, BatchItemEnd | BatchView, string>;

/**
 * How long an item's job waits before it looks for its request's end itself. apps/results wakes
 * it as soon as the request's row is committed; this only covers a wake-up lost to a crash.
 */
export const BATCH_ITEM_RECHECK_MS = 5 * 60_000;

/** Deliveries of a batch job failing for a reason of its own (Postgres away does not count: it is delayed). */
const BATCH_ATTEMPTS = 25;

/** Parents and items: finished ones kept a while for Bull Board (a finished batch is read from Postgres). */
function batchJobOptions(): JobsOptions {
  return {
    attempts: BATCH_ATTEMPTS,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: 86400, count: 10000 },
    removeOnFail: { age: 30 * 86400 },
  };
}

/** A batch as Redis holds it while it runs: what was submitted, and how its items ended so far. */
export interface RunningBatch {
  batch: BatchJob;
  ends: BatchItemEnd[];
  /** The batch's view once its job finished (its row is in Postgres by then). */
  finished: BatchView | null;
}

/**
 * Every BullMQ operation on the `batches` queue behind one class: a batch is a flow, a parent job
 * whose children are its items. An item's job is added delayed and is woken (promoted) by
 * apps/results right after its request's row is committed, however the request ended (a job of
 * its own, a shared job, the cache, a failure, a cancellation, the reconciler): the one place every
 * end passes. The parent runs once every item's job has completed.
 */
export class BatchJobs {
  private readonly flows: FlowProducer;

  constructor(
    private readonly queue: BatchQueue,
    connection: Redis,
    prefix: string,
  ) {
    this.flows = new FlowProducer({ connection, prefix });
    logConnectionErrors(this.flows, `flow:${QueueName.Batches}`);
  }

  /** Adds a batch: its parent job named after the batch, one delayed child per item named after its request. */
  async create(batch: BatchJob): Promise<void> {
    const options = batchJobOptions();
    await this.flows.add({
      name: JobName.Batch,
      queueName: QueueName.Batches,
      data: batch,
      opts: { ...options, jobId: batch.batchId },
      children: batch.items.map((item) => ({
        name: JobName.BatchItem,
        queueName: QueueName.Batches,
        data: { batchId: batch.batchId, requestId: item.id } satisfies BatchItemJob,
        // An item that fails for good must not hold its batch back for ever.
        opts: { ...options, jobId: item.id, delay: BATCH_ITEM_RECHECK_MS, ignoreDependencyOnFailure: true },
      })),
    });
  }

  /** A batch still in Redis, or null (never submitted, or finished long ago: then it is in Postgres). */
  async get(batchId: string): Promise<RunningBatch | null> {
    const job = await this.queue.getJob(batchId);
    if (!job || job.name !== JobName.Batch) return null;
    const values = await job.getChildrenValues<unknown>();
    const ends: BatchItemEnd[] = [];
    for (const value of Object.values(values)) {
      const end = BatchItemEndSchema.safeParse(value);
      if (end.success) ends.push(end.data);
    }
    const finished = job.finishedOn && job.returnvalue ? (job.returnvalue as BatchView) : null;
    return { batch: job.data as BatchJob, ends, finished };
  }

  /** Wakes the items of requests whose rows were just committed (those not in a batch are not there). */
  async itemsEnded(requestIds: readonly string[]): Promise<void> {
    await Promise.all(
      requestIds.map(async (id) => {
        const job = await this.queue.getJob(id);
        if (!job || job.name !== JobName.BatchItem || !(await job.isDelayed())) return;
        // Already moved on by its own re-check: nothing to wake.
        await job.promote().catch(() => undefined);
      }),
    );
  }

  async close(): Promise<void> {
    await this.flows.close();
  }
}
