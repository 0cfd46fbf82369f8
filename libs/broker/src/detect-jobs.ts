import { BULLMQ_PRIORITY, type DetectJob, decodeFailure, detectQueueName, type ErrorInfo, type InferenceResult, JobName, type RequestRecord } from '@argus/contracts';
import { bullmqTelemetry } from '@argus/observability';
import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { logConnectionErrors } from './redis';

export type DetectQueue = Queue<DetectJob, InferenceResult, typeof JobName.Detect>;

export interface RetryOptions {
  attempts: number;
  backoffMs: number;
}

/**
 * Detection jobs: retried with exponential backoff; finished jobs are kept a while so Bull Board
 * shows them (job ids are request ids, so keeping them never blocks new work).
 */
export function detectJobOptions(retry: RetryOptions): JobsOptions {
  return {
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
    removeOnComplete: { age: 3600, count: 5000 },
    removeOnFail: { age: 7 * 86400, count: 20000 },
  };
}

/** Where a detection job stands, as Argus reports it. */
export type DetectJobState =
  | { state: 'queued' | 'active' }
  | { state: 'completed'; result: InferenceResult | null }
  | { state: 'failed'; error: ErrorInfo; attempts: number; finishedAt: number }
  | { state: 'missing' };

/** A job to add: the request it is named after, its deadline if any. */
export interface Enqueue {
  record: RequestRecord;
  deadline?: number;
}

/** The payload of the detection job named after a request: keys and parameters, never image bytes. */
export function detectJobOf(record: RequestRecord, deadline?: number): DetectJob {
  return {
    workKey: record.workKey,
    sha256: record.sha256,
    model: record.model,
    ...(record.pinned ? { pinned: true } : {}),
    params: record.params,
    priority: record.priority,
    requestId: record.id,
    correlationId: record.correlationId,
    enqueuedAt: Date.parse(record.createdAt),
    ...(deadline !== undefined ? { deadline } : {}),
  };
}

/**
 * Every BullMQ operation on the detection queues, one per model (`detect.<model>`), behind one
 * class: apps add, join, promote, read and cancel detection jobs here and never touch a Queue.
 * Queues are opened on first use on the shared connection: the set of models changes while Argus
 * runs, so they cannot all be declared up front.
 */
export class DetectJobs {
  private readonly queues = new Map<string, DetectQueue>();

  constructor(
    private readonly connection: Redis,
    readonly prefix: string,
    private readonly retry: RetryOptions,
  ) {}

  /** The queue of a model (opened on first use). */
  queue(model: string): DetectQueue {
    let queue = this.queues.get(model);
    if (!queue) {
      queue = new Queue<DetectJob, InferenceResult, typeof JobName.Detect>(detectQueueName(model), {
        connection: this.connection,
        prefix: this.prefix,
        defaultJobOptions: detectJobOptions(this.retry),
        telemetry: bullmqTelemetry(),
      });
      logConnectionErrors(queue, `queue:${detectQueueName(model)}`);
      this.queues.set(model, queue);
    }
    return queue;
  }

  /** The queues opened so far (for the dashboard and metrics, which also open every known model's). */
  opened(): DetectQueue[] {
    return [...this.queues.values()];
  }

  /**
   * Adds the job named after a request, or joins the job already doing identical work (BullMQ's
   * de-duplication by work key). Returns the job's id and whether it was a join.
   */
  async enqueue({ record, deadline }: Enqueue): Promise<{ jobId: string; joined: boolean }> {
    const job = await this.queue(record.model.name).add(JobName.Detect, detectJobOf(record, deadline), {
      jobId: record.id,
      priority: BULLMQ_PRIORITY[record.priority],
      deduplication: { id: record.workKey },
    });
    const jobId = job.id ?? record.id;
    return { jobId, joined: jobId !== record.id };
  }

  /**
   * A joining request's claims on the job it joined: a higher priority raises the job's (while it
   * waits), and the job keeps the latest deadline of the requests riding on it (none beats any), so
   * one request's deadline never fails another's work.
   */
  async promote(model: string, jobId: string, priority: number, deadline: number | undefined): Promise<void> {
    const job = await this.queue(model).getJob(jobId);
    if (!job) return;
    if (job.priority > priority) await job.changePriority({ priority }).catch(() => undefined); // already active: nothing to gain
    if (job.data.deadline !== undefined && (deadline === undefined || deadline > job.data.deadline)) {
      const { deadline: _earlier, ...data } = job.data;
      await job.updateData(deadline === undefined ? data : { ...data, deadline }).catch(() => undefined); // finished meanwhile
    }
  }

  /** Where a job stands (`missing`: no such job, or removed after it finished). */
  async state(model: string, jobId: string): Promise<DetectJobState> {
    const job = await this.queue(model).getJob(jobId);
    if (!job) return { state: 'missing' };
    const state = await job.getState();
    switch (state) {
      case 'active':
        return { state: 'active' };
      case 'completed':
        return { state: 'completed', result: job.returnvalue ?? null };
      case 'failed':
        return { state: 'failed', error: decodeFailure(job.failedReason), attempts: job.attemptsMade, finishedAt: job.finishedOn ?? Date.now() };
      case 'unknown':
        return { state: 'missing' };
      default:
        return { state: 'queued' };
    }
  }

  /**
   * Removes a job that has not started (waiting, prioritised or delayed); false when it is running
   * (BullMQ keeps a locked job) or gone. Its de-duplication key goes with it.
   */
  async remove(model: string, jobId: string): Promise<boolean> {
    return (await this.queue(model).remove(jobId)) === 1;
  }

  /** Closes every queue opened. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
  }
}
