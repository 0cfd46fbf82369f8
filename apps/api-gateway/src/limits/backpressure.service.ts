import { Cached, DETECT_QUEUE, type DetectQueue, queueBacklog } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { Inject, Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { Metrics } from '@argus/observability';
import { ApiError } from '../errors/api-error';

/** How long one count of the backlog answers admissions (one Redis call per period per gateway). */
const BACKLOG_MAX_AGE_MS = 250;
/** What a refused client is told to wait: long enough for a worker to take a batch or two. */
export const OVERLOAD_RETRY_AFTER_S = 5;

/**
 * Backpressure: while more detection jobs wait than MAX_QUEUE_DEPTH, new work is refused with
 * 503 + Retry-After instead of growing the queue (and the image bytes held in Redis) without
 * bound. The count is at most 250 ms old, so the queue may overshoot by what arrives in that
 * time; the limit is a guard rail, not an exact quota.
 */
@Injectable()
export class Backpressure {
  private readonly max: number;
  private readonly backlog: Cached<number>;
  private readonly refused: Counter<'priority'>;

  constructor(
    @Inject(ARGUS_CONFIG) config: ArgusConfig,
    @Inject(DETECT_QUEUE) queue: DetectQueue,
    metrics: Metrics,
  ) {
    this.max = config.limits.maxQueueDepth;
    this.backlog = new Cached(() => queueBacklog(queue), BACKLOG_MAX_AGE_MS);
    this.refused = new Counter({
      name: 'argus_backpressure_refusals_total',
      help: 'Submissions refused because the detection backlog was above MAX_QUEUE_DEPTH.',
      labelNames: ['priority'],
      registers: [metrics.registry],
    });
  }

  /** Whether new work should be refused now. */
  async overloaded(): Promise<boolean> {
    if (this.max <= 0) return false;
    return (await this.backlog.get()) >= this.max;
  }

  /** The error a refused submission gets (and counts it). */
  refusal(priority: string): ApiError {
    this.refused.inc({ priority });
    return new ApiError('overloaded', `Too much work is waiting (MAX_QUEUE_DEPTH ${this.max}); retry after ${OVERLOAD_RETRY_AFTER_S} s`, {
      'Retry-After': String(OVERLOAD_RETRY_AFTER_S),
    });
  }
}
