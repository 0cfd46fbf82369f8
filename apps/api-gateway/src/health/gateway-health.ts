import type { HealthCheck } from '@argus/observability';
import type { Redis } from 'ioredis';
import type { ResultsClient } from '../results-client/results.client';

/**
 * Ready: Redis answers (without it no work can be taken). apps/results (and its Postgres) is checked
 * and reported, but not critical: while it is away the gateway still accepts work, which waits
 * in Redis, and serves most reads from Redis, so taking every gateway out of service would turn a
 * results outage into a full one (docs/adr/0006).
 */
export function gatewayHealthChecks(redis: Redis, results: ResultsClient): HealthCheck[] {
  return [
    { name: 'redis', check: async () => ({ ok: (await redis.ping()) === 'PONG' }) },
    {
      name: 'results',
      critical: false,
      check: async () => {
        const health = await results.health();
        return { ok: health.database && health.migrations.pending === 0, detail: health };
      },
    },
  ];
}
