/**
 * Queue names. WARNING: these strings are stored in Redis with every job. Renaming one orphans
 * the jobs already waiting under the old name; add a new name and drain the old queue instead.
 */
export const QueueName = Object.freeze({
  /** Detection work: gateway -> inference workers, ordered by priority. */
  Detect: 'detect',
  /** Finished work: inference workers (and gateway cache hits) -> apps/results, which persists it. */
  Results: 'results',
} as const);
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

/** Job names inside each queue. */
export const JobName = Object.freeze({
  Detect: 'detect',
  Completed: 'completed',
  Failed: 'failed',
  Cached: 'cached',
} as const);
export type JobName = (typeof JobName)[keyof typeof JobName];
