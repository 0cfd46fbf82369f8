import {
  type DetectJob,
  type InferenceResult,
  type JobName,
  QueueName,
  type ResultJob,
} from '@argus/contracts';
import { type JobsOptions, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis, logConnectionErrors } from './redis';

export type DetectQueue = Queue<DetectJob, InferenceResult, typeof JobName.Detect>;
export type ResultsQueue = Queue<ResultJob, void, ResultJob['kind']>;

export interface RetryOptions {
  attempts: number;
  backoffMs: number;
}

/** The backoff type of results jobs: exponential, capped (see {@link cappedBackoff}). */
export const CAPPED_BACKOFF = 'capped-exponential';

/** Exponential backoff that never waits longer than `capMs` between attempts. */
export function cappedBackoff(attemptsMade: number, baseMs: number, capMs = 10000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attemptsMade - 1));
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

/** Results jobs: many capped retries, because Postgres may be away for a while. */
export function resultJobOptions(retry: RetryOptions): JobsOptions {
  return {
    attempts: retry.attempts,
    backoff: { type: CAPPED_BACKOFF, delay: retry.backoffMs },
    removeOnComplete: { age: 600, count: 1000 },
    removeOnFail: { age: 14 * 86400 },
  };
}

/** The detection queue, on a shared connection. */
export function createDetectQueue(connection: Redis, prefix: string, retry: RetryOptions): DetectQueue {
  const queue = new Queue<DetectJob, InferenceResult, typeof JobName.Detect>(QueueName.Detect, {
    connection,
    prefix,
    defaultJobOptions: detectJobOptions(retry),
  });
  logConnectionErrors(queue, `queue:${QueueName.Detect}`);
  return queue;
}

/** The results queue, on a shared connection. */
export function createResultsQueue(connection: Redis, prefix: string, retry: RetryOptions): ResultsQueue {
  const queue = new Queue<ResultJob, void, ResultJob['kind']>(QueueName.Results, {
    connection,
    prefix,
    defaultJobOptions: resultJobOptions(retry),
  });
  logConnectionErrors(queue, `queue:${QueueName.Results}`);
  return queue;
}

/** Adds a results message; its job id makes a re-sent message (a retried worker) a no-op. */
export async function sendResult(queue: ResultsQueue, message: ResultJob): Promise<void> {
  const id = message.kind === 'cached' ? `cached-${message.requestId}` : `${message.kind}-${message.jobId}`;
  await queue.add(message.kind, message, { jobId: id });
}

/** One listener for the detection queue's events, on its own blocking connection. */
export function createDetectEvents(redisUrl: string, prefix: string, name: string): QueueEvents {
  return new QueueEvents(QueueName.Detect, { connection: createRedis(redisUrl, { name, failFast: false }), prefix });
}
