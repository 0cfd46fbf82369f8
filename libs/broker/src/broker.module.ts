import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { Metrics } from '@argus/observability';
import { type DynamicModule, Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { QueueMetrics } from './queue-metrics';
import { createDetectQueue, type DetectQueue } from './queues';
import { resultsBacklog } from './results-stream';
import { createRedis } from './redis';
import { RedisMemoryMetrics } from './redis-memory-metrics';
import { ArgusStore } from './store';

/** Injection tokens of the broker's objects. */
export const REDIS = Symbol('REDIS');
export const DETECT_QUEUE = Symbol('DETECT_QUEUE');

@Injectable()
class BrokerLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(DETECT_QUEUE) private readonly detect: DetectQueue,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.detect.close()]);
    this.redis.disconnect();
  }
}

/**
 * One Redis connection per app for Argus's own keys (the results stream among them) and the
 * detection queue's producer; workers
 * and event listeners open their own blocking connections. `failFast` is for request paths (the
 * gateway), which must answer 503 quickly when Redis is away rather than wait for it.
 */
@Global()
@Module({})
export class BrokerModule {
  static forRoot(options: { app: string; failFast: boolean }): DynamicModule {
    return {
      module: BrokerModule,
      providers: [
        {
          provide: REDIS,
          inject: [ARGUS_CONFIG],
          useFactory: (config: ArgusConfig) => createRedis(config.redis.url, { name: `argus:${options.app}`, failFast: options.failFast }),
        },
        {
          provide: ArgusStore,
          inject: [REDIS, ARGUS_CONFIG],
          useFactory: (redis: Redis, config: ArgusConfig) => new ArgusStore(redis, config.redis.prefix, config.retention),
        },
        {
          provide: DETECT_QUEUE,
          inject: [REDIS, ARGUS_CONFIG],
          useFactory: (redis: Redis, config: ArgusConfig) =>
            createDetectQueue(redis, config.redis.prefix, { attempts: config.worker.attempts, backoffMs: config.worker.backoffMs }),
        },
        BrokerLifecycle,
        {
          // Queue depth gauges on /metrics, for apps that serve metrics.
          provide: QueueMetrics,
          inject: [DETECT_QUEUE, ArgusStore, { token: Metrics, optional: true }],
          useFactory: (detect: DetectQueue, store: ArgusStore, metrics?: Metrics) =>
            new QueueMetrics({ detect, results: () => resultsBacklog(store.redis, store.keys) }, metrics),
        },
        {
          // Redis memory against maxmemory on /metrics (noeviction: full means refused writes).
          provide: RedisMemoryMetrics,
          inject: [REDIS, { token: Metrics, optional: true }],
          useFactory: (redis: Redis, metrics?: Metrics) => new RedisMemoryMetrics(redis, metrics),
        },
      ],
      exports: [REDIS, ArgusStore, DETECT_QUEUE],
    };
  }
}
