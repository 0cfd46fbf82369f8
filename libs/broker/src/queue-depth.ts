import { PRIORITIES, BULLMQ_PRIORITY, type Priority } from '@argus/contracts';
import type { Queue } from 'bullmq';

/** A value loaded at most once per `maxAgeMs`, with concurrent readers sharing one load. */
export class Cached<T> {
  private value: { at: number; data: T } | undefined;
  private inflight: Promise<T> | undefined;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly maxAgeMs: number,
  ) {}

  get(): Promise<T> {
    if (this.value && Date.now() - this.value.at < this.maxAgeMs) return Promise.resolve(this.value.data);
    this.inflight ??= this.load()
      .then((data) => {
        this.value = { at: Date.now(), data };
        return data;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }
}

/** Queue states as Argus reports them (BullMQ's `wait` and `prioritized` are both waiting). */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

export interface QueueCounts {
  queue: string;
  states: Record<QueueState, number>;
  /** Waiting jobs per priority (detection queue; every Argus detection job has a priority). */
  waitingByPriority: Record<Priority, number> | null;
}

/** One round of counts for a queue: by state, and waiting by priority when asked. */
export async function countQueue(queue: Queue, byPriority: boolean): Promise<QueueCounts> {
  const raw = await queue.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'failed', 'completed');
  const n = (key: string) => raw[key] ?? 0;
  let waitingByPriority: Record<Priority, number> | null = null;
  if (byPriority) {
    const perPriority = await queue.getCountsPerPriority(PRIORITIES.map((p) => BULLMQ_PRIORITY[p]));
    waitingByPriority = Object.fromEntries(PRIORITIES.map((p) => [p, perPriority[String(BULLMQ_PRIORITY[p])] ?? 0])) as Record<Priority, number>;
  }
  return {
    queue: queue.name,
    states: {
      waiting: n('wait') + n('prioritized'),
      active: n('active'),
      delayed: n('delayed'),
      failed: n('failed'),
      completed: n('completed'),
    },
    waitingByPriority,
  };
}

/**
 * The work not yet taken by a worker (waiting, and delayed retries): what backpressure compares
 * with MAX_QUEUE_DEPTH. One Redis call.
 */
export function queueBacklog(queue: Queue): Promise<number> {
  return queue.getJobCountByTypes('wait', 'prioritized', 'delayed');
}

/** Rejects when `promise` takes longer than `ms` (a scrape must not hang on a Redis outage). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
