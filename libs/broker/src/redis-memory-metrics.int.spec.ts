import { Metrics } from '@argus/observability';
import { redisForTest } from '@argus/testing';
import { RedisMemoryMetrics } from './redis-memory-metrics';

describe(`${RedisMemoryMetrics.name} on Redis`, () => {
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
});
