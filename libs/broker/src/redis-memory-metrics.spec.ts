import { Metrics } from '@argus/observability';
import { Redis } from 'ioredis';
import { parseMemoryInfo, RedisMemoryMetrics } from './redis-memory-metrics';

describe(RedisMemoryMetrics.name, () => {
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
