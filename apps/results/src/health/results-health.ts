import type { HealthCheck } from '@argus/observability';
import type { Redis } from 'ioredis';
import type { DatabaseWatch } from '../database/database-watch.service';

/** Ready: Postgres reachable with every migration applied, and Redis answering. */
export function resultsHealthChecks(database: DatabaseWatch, redis: Redis): HealthCheck[] {
  return [
    { name: 'postgres', check: async () => ({ ok: database.up, detail: database.detail }) },
    {
      name: 'migrations',
      check: async () => {
        const status = await database.status();
        return { ok: status.migrations.pending === 0, detail: status.migrations };
      },
    },
    { name: 'redis', check: async () => ({ ok: (await redis.ping()) === 'PONG' }) },
  ];
}
