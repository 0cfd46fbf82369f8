import type { Metrics } from '@argus/observability';
import type { OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Gauge } from 'prom-client';
import { Cached, withTimeout } from './queue-depth';

/** `used_memory` and `maxmemory` of an `INFO memory` answer, in bytes (0 maxmemory: no limit). */
export function parseMemoryInfo(info: string): { used: number; max: number } {
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:(\\d+)\\r?$`, 'm').exec(info);
    if (!match?.[1]) throw new Error(`INFO memory has no ${name}`);
    return Number(match[1]);
  };
  return { used: field('used_memory'), max: field('maxmemory') };
}

/**
 * Redis memory as gauges, read with `INFO memory` when scraped: `argus_redis_memory_used_bytes` and
 * `argus_redis_memory_max_bytes`. Redis runs with noeviction, so reaching maxmemory means refused
 * writes (new work answered 503): the gauges let an alert fire before that, without an exporter
 * beside Redis, on managed Redis too. While Redis does not answer they keep the last values read
 * (0 before the first: the alert ignores a maxmemory of 0), and a scrape never waits over a second.
 */
export class RedisMemoryMetrics implements OnModuleInit {
  constructor(
    private readonly redis: Redis,
    private readonly metrics: Metrics | undefined,
  ) {}

  onModuleInit(): void {
    if (!this.metrics) return;
    const redis = this.redis;
    const memory = new Cached(async () => parseMemoryInfo(await withTimeout(redis.info('memory'), 1000, 'INFO memory')), 2000);
    const read = async (field: 'used' | 'max'): Promise<number | undefined> => (await memory.get().catch(() => undefined))?.[field];
    const registers = [this.metrics.registry];
    new Gauge({
      name: 'argus_redis_memory_used_bytes',
      help: 'Memory Redis uses (INFO memory used_memory), read when scraped.',
      registers,
      async collect() {
        const used = await read('used');
        if (used !== undefined) this.set(used);
      },
    });
    new Gauge({
      name: 'argus_redis_memory_max_bytes',
      help: 'Redis maxmemory in bytes (0: no limit, which Argus deployments should not run with).',
      registers,
      async collect() {
        const max = await read('max');
        if (max !== undefined) this.set(max);
      },
    });
  }
}
