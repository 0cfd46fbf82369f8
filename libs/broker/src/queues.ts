import { type DetectJob, type InferenceResult, type JobName, QueueName } from '@argus/contracts';
import { type JobsOptions, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis, logConnectionErrors } from './redis';

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

/** One listener for the detection queue's events, on its own blocking connection. */
export function createDetectEvents(redisUrl: string, prefix: string, name: string): QueueEvents {
  return new QueueEvents(QueueName.Detect, { connection: createRedis(redisUrl, { name, failFast: false }), prefix });
}
