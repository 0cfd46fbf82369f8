import { Cached, DetectJobs, queueBacklog, REDIS } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { Metrics } from '@argus/observability';
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import { ApiError } from '../errors/api-error';

/** How long one reading answers admissions (one Redis call per period per gateway and model). */
const READING_MAX_AGE_MS = 250;
/** What a refused client is told to wait: long enough for a worker to take a batch or two. */
export const OVERLOAD_RETRY_AFTER_S = 5;

/** Why new work is refused now. */
export type Overload = { reason: 'queue'; model: string; backlog: number; max: number } | { reason: 'memory'; usedBytes: number; maxBytes: number; percent: number };

/** used_memory and maxmemory from INFO memory (maxmemory 0: no limit set). */
export function parseRedisMemory(info: string): { used: number; max: number } {
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { used: field('used_memory'), max: field('maxmemory') };
}

/**
 * Backpressure, before anything is recorded: new work is refused with 503 + Retry-After while
 * its model's queue holds more than MAX_QUEUE_DEPTH waiting jobs, or while Redis uses more than
 * MAX_REDIS_MEMORY_PERCENT of its maxmemory. The second counts bytes, not jobs: waiting images
 * are most of what Redis holds, and with `noeviction` a full Redis refuses every write, including
 * the workers' ends of work that would free it; the margin above the limit is what lets the
 * backlog drain. Readings are at most 250 ms old, so the limits are guard rails, not exact quotas.
 */
@Injectable()
export class Backpressure {
  private readonly maxDepth: number;
  private readonly maxMemoryPercent: number;
  private readonly backlogs = new Map<string, Cached<number>>();
  private readonly memory: Cached<{ used: number; max: number }>;
  private readonly refused: Counter<'priority' | 'reason'>;

  constructor(
    @Inject(ARGUS_CONFIG) config: ArgusConfig,
    private readonly jobs: DetectJobs,
    @Inject(REDIS) redis: Redis,
    metrics: Metrics,
  ) {
    this.maxDepth = config.limits.maxQueueDepth;
    this.maxMemoryPercent = config.limits.maxRedisMemoryPercent;
    this.memory = new Cached(async () => parseRedisMemory(await redis.info('memory')), READING_MAX_AGE_MS);
    this.refused = new Counter({
      name: 'argus_backpressure_refusals_total',
      help: 'Submissions refused by backpressure: a model queue above MAX_QUEUE_DEPTH (reason queue) or Redis above MAX_REDIS_MEMORY_PERCENT of maxmemory (reason memory).',
      labelNames: ['priority', 'reason'],
      registers: [metrics.registry],
    });
  }

  /** Why new work for `model` should be refused now, or null. */
  async check(model: string): Promise<Overload | null> {
    if (this.maxMemoryPercent > 0) {
      const { used, max } = await this.memory.get();
      if (max > 0 && used >= (max * this.maxMemoryPercent) / 100) return { reason: 'memory', usedBytes: used, maxBytes: max, percent: this.maxMemoryPercent };
    }
    if (this.maxDepth > 0) {
      let backlog = this.backlogs.get(model);
      if (!backlog) {
        backlog = new Cached(() => queueBacklog(this.jobs.queue(model)), READING_MAX_AGE_MS);
        this.backlogs.set(model, backlog);
      }
      const waiting = await backlog.get();
      if (waiting >= this.maxDepth) return { reason: 'queue', model, backlog: waiting, max: this.maxDepth };
    }
    return null;
  }

  /** The error a refused submission gets (and counts it). */
  refusal(priority: string, overload: Overload): ApiError {
    this.refused.inc({ priority, reason: overload.reason });
    const why =
      overload.reason === 'queue'
        ? `too much work is waiting for model "${overload.model}" (MAX_QUEUE_DEPTH ${overload.max})`
        : `the queue's memory is nearly full (Redis above ${overload.percent}% of maxmemory)`;
    return new ApiError('overloaded', `Not accepting new work: ${why}; retry after ${OVERLOAD_RETRY_AFTER_S} s`, { 'Retry-After': String(OVERLOAD_RETRY_AFTER_S) });
  }
}
