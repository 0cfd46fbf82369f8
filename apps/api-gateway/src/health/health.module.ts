import { REDIS } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { HEALTH_DETAIL, HealthController, healthChecks, OPS_SERVER_ADDRESS, OpsServer } from '@argus/observability';
import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AccessModule } from '../access/access.module';
import { Drain } from '../access/drain.service';
import { ResultsClient } from '../results-client/results.client';
import { gatewayHealthChecks } from './gateway-health';

/**
 * Health: terse /health/live and /health/ready on the public port (load balancers probe it), and
 * the operations port (GATEWAY_METRICS_PORT) with /metrics and every check's detail.
 */
@Module({
  imports: [AccessModule],
  controllers: [HealthController],
  providers: [
    healthChecks({
      inject: [REDIS, ResultsClient, Drain],
      useFactory: (redis: Redis, results: ResultsClient, drain: Drain) => [
        { name: 'accepting', check: async () => ({ ok: !drain.active, detail: drain.active ? 'shutting down' : 'taking requests' }) },
        ...gatewayHealthChecks(redis, results),
      ],
    }),
    { provide: HEALTH_DETAIL, useValue: false },
    { provide: OPS_SERVER_ADDRESS, inject: [ARGUS_CONFIG], useFactory: (config: ArgusConfig) => config.gateway.metrics },
    OpsServer,
  ],
})
export class HealthModule {}
