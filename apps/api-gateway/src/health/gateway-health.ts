import type { HealthCheck } from '@argus/observability';
import type { Redis } from 'ioredis';
import type { ResultsClient } from '../results-client/results.client';

/** Ready: Redis answers and apps/results answers (and reaches Postgres). */
export function gatewayHealthChecks(redis: Redis, results: ResultsClient): HealthCheck[] {
  return [
    { name: 'redis', check: async () => ({ ok: (await redis.ping()) === 'PONG' }) },
    {
      name: 'results',
      check: async () => {
        const health = await results.health();
        return { ok: health.database && health.migrations.pending === 0, detail: health };
      },
    },
  ];
}
