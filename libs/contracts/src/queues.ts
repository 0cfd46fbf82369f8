/**
 * Queue names. WARNING: these strings are stored in Redis with every job. Renaming one orphans
 * the jobs already waiting under the old name; add a new name and drain the old queue instead.
 */
export const QueueName = Object.freeze({
  /** Finished work and cache hits: inference workers and the gateway -> apps/results, which persists them. */
  Results: 'results',
  /** Scheduled upkeep in apps/results (the reconciler, retention), one run at a time across replicas. */
  Maintenance: 'maintenance',
  /** Batches as BullMQ flows: a parent per batch, a child per image that ends when its request ends (apps/results). */
  Batches: 'batches',
  /** Signed webhook deliveries to clients' callback URLs (apps/results). */
  Webhooks: 'webhooks',
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
  /** Rows older than RESULTS_RETENTION_DAYS, deleted a slice at a time (maintenance). */
  Retention: 'retention',
  /** A batch: the parent of its items, run once every item has ended (batches). */
  Batch: 'batch',
  /** One image of a batch: ends when its request ends (batches). */
  BatchItem: 'batch-item',
  /** One webhook, delivered until the receiver takes it (webhooks). */
  Webhook: 'webhook',
} as const);
export type JobName = (typeof JobName)[keyof typeof JobName];
