import { Metrics } from '@argus/observability';
import { redisForTest } from '@argus/testing';
import { Redis } from 'ioredis';
import { parseMemoryInfo, RedisMemoryMetrics } from './redis-memory-metrics';

describe(RedisMemoryMetrics.name, () => {
  it('reads used memory and maxmemory from the real Redis when scraped', async () => {
    const t = await redisForTest('redis-memory');
    try {
      const [, maxmemory] = (await t.redis.config('GET', 'maxmemory')) as [string, string];
      const metrics = new Metrics('test');
      new RedisMemoryMetrics(t.redis, metrics).onModuleInit();
      const text = await metrics.registry.metrics();
      const used = Number(/^argus_redis_memory_used_bytes\{app="test"\} (\d+)$/m.exec(text)?.[1]);
      expect(used).toBeGreaterThan(100_000);
      expect(text).toMatch(new RegExp(`^argus_redis_memory_max_bytes\\{app="test"\\} ${maxmemory}$`, 'm'));
    } finally {
      await t.cleanup();
    }
  });

  it('answers the scrape at once while Redis does not answer, with nothing an alert would read as full', async () => {
    const metrics = new Metrics('test');
    const away = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      new RedisMemoryMetrics(away, metrics).onModuleInit();
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/^argus_redis_memory_max_bytes\{app="test"\} 0$/m);
    } finally {
      away.disconnect();
    }
  });

  it('parses INFO memory and refuses an answer without the fields', () => {
    expect(parseMemoryInfo('# Memory\r\nused_memory:1234\r\nused_memory_human:1.2K\r\nmaxmemory:805306368\r\n')).toEqual({ used: 1234, max: 805306368 });
    expect(() => parseMemoryInfo('# Memory\r\n')).toThrow(/used_memory/);
  });
});
