import { type HandedEnd, JobName, type PersistJob, persistRequests, QueueName } from '@argus/contracts';
import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';

export type PersistQueue = Queue<PersistJob, number, typeof JobName.Persist>;

/** How many deliveries a persist job gets, and its backoff (capped: see PERSIST_BACKOFF_CAP_MS). */
export function persistJobOptions(attempts: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'capped' },
    removeOnComplete: { age: 3600, count: 1000 },
    // Kept a month: a persist job that failed for good is an operator's to look at and retry.
    removeOnFail: { age: 30 * 86400, count: 50000 },
  };
}

/** Longest wait between two deliveries of a failing persist job. */
export const PERSIST_BACKOFF_CAP_MS = 60_000;

/** The `capped` backoff of persist jobs: exponential from 1 s, never more than a minute. */
export function cappedBackoff(attemptsMade: number, baseMs = 1000, capMs = PERSIST_BACKOFF_CAP_MS): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attemptsMade - 1));
}

/** A persist job that failed for good, as operators see it. */
export interface FailedPersist {
  id: string;
  reason: string;
  attempts: number;
  failedAt: string | null;
  requests: string[];
}

/** The `results` queue outside a Nest app (the operators' CLI), on a connection of the caller's. */
export function openPersistJobs(connection: Redis, prefix: string): { jobs: PersistJobs; close: () => Promise<void> } {
  const queue: PersistQueue = new Queue(QueueName.Results, { connection, prefix });
  return { jobs: new PersistJobs(queue), close: () => queue.close() };
}

/**
 * Every BullMQ operation on the `results` queue behind one class: handing requests over to
 * apps/results (workers when work ends, the gateway for a cache hit, the reconciler for what a
 * crash left), and the operator's view of persist jobs that failed for good (list, retry).
 */
export class PersistJobs {
  constructor(private readonly queue: PersistQueue) {}

  /** A fresh id for a persist job (`<why>.<uuid>`), known before the job is added so its requests can be marked with it. */
  static newId(why: 'end' | 'hit' | 'fix' | 'cancel'): string {
    return `${why}.${randomUUID()}`;
  }

  /**
   * Hands requests that ended (their work's end, or their cancellation) to apps/results as one
   * persist job: a worker that ends several pieces of work at once hands them all over in one job.
   * Ends without requests are dropped; nothing is added when none is left.
   */
  async handOver(id: string, ends: readonly HandedEnd[]): Promise<void> {
    const kept = ends.filter((e) => e.records.length > 0).map((e) => ({ end: e.end, records: [...e.records] }));
    if (kept.length === 0) return;
    await this.queue.add(JobName.Persist, { ends: kept }, { jobId: id });
  }

  /** Whether a persist job is still there (waiting, running, or failed for good), so its requests need no hand-over again. */
  async pending(id: string): Promise<boolean> {
    const job = await this.queue.getJob(id);
    if (!job) return false;
    const state = await job.getState();
    return state !== 'completed' && state !== 'unknown';
  }

  /** The persist jobs that failed for good, newest first. */
  async failed(limit = 100): Promise<FailedPersist[]> {
    const jobs = await this.queue.getFailed(0, Math.max(0, limit - 1));
    return jobs.map((job) => ({
      id: job.id ?? '',
      reason: job.failedReason ?? '',
      attempts: job.attemptsMade,
      failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
      requests: persistRequests(job.data).map((r) => r.id),
    }));
  }

  /** Puts failed persist jobs back to be tried again (after fixing what failed them); returns how many. */
  async retry(ids: readonly string[] | 'all'): Promise<number> {
    const jobs = ids === 'all' ? await this.queue.getFailed(0, -1) : await Promise.all(ids.map((id) => this.queue.getJob(id)));
    let retried = 0;
    for (const job of jobs) {
      if (!job || (await job.getState()) !== 'failed') continue;
      await job.retry('failed');
      retried += 1;
    }
    return retried;
  }
}
