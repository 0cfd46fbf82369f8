/**
 * Queue names. WARNING: these strings are stored in Redis with every job. Renaming one orphans
 * the jobs already waiting under the old name; add a new name and drain the old queue instead.
 */
export const QueueName = Object.freeze({
  /** Finished work and cache hits: inference workers and the gateway -> apps/results, which persists them. */
  Results: 'results',
  /** Scheduled upkeep in apps/results (the reconciler), one run at a time across replicas. */
  Maintenance: 'maintenance',
} as const);
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

/**
 * Detection work has one queue per model, `detect.<model>` (BullMQ does not allow `:` in queue
 * names): the gateway routes each job to its model's queue, each inference pool consumes only the
 * queues of the models it serves, and autoscaling watches one queue per pool.
 */
export const DETECT_QUEUE_PREFIX = 'detect.';

/** The detection queue of a model. */
export function detectQueueName(model: string): string {
  return `${DETECT_QUEUE_PREFIX}${model}`;
}

/** The model a detection queue serves, or null for any other queue name. */
export function modelOfQueue(queue: string): string | null {
  return queue.startsWith(DETECT_QUEUE_PREFIX) && queue.length > DETECT_QUEUE_PREFIX.length ? queue.slice(DETECT_QUEUE_PREFIX.length) : null;
}

/** Job names inside each queue. */
export const JobName = Object.freeze({
  /** A detection (detect.<model>). */
  Detect: 'detect',
  /** Requests whose work ended, to persist (results). */
  Persist: 'persist',
  /** Requests accepted but not yet persisted, looked after (maintenance). */
  Reconcile: 'reconcile',
} as const);
export type JobName = (typeof JobName)[keyof typeof JobName];
