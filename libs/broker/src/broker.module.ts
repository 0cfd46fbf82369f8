import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { QueueName } from '@argus/contracts';
import { bullmqTelemetry, Metrics } from '@argus/observability';
import { BullModule, getQueueToken, InjectQueue } from '@nestjs/bullmq';
import { type DynamicModule, Global, Inject, Injectable, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { BatchJobs, type BatchQueue } from './batch-jobs';
import { DetectJobs } from './detect-jobs';
import { JobEvents } from './job-events';
import { ModelRegistry } from './model-registry';
import { PersistJobs, persistJobOptions, type PersistQueue } from './persist-jobs';
import { type CountedQueue, QueueMetrics } from './queue-metrics';
import { createRedis, logConnectionErrors } from './redis';
import { RedisMemoryMetrics } from './redis-memory-metrics';
import { ArgusStore } from './store';
import { WebhookJobs, webhookJobOptions, type WebhookQueue } from './webhook-jobs';

/** Injection token of an app's Redis connection for Argus's own keys and the queues' producers. */
export const REDIS = Symbol('REDIS');

@Injectable()
class BrokerLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly detect: DetectJobs,
    private readonly events: JobEvents,
    private readonly batches: BatchJobs,
    private readonly registry: ModelRegistry,
    @InjectQueue(QueueName.Results) private readonly results: Queue,
    @InjectQueue(QueueName.Maintenance) private readonly maintenance: Queue,
    @InjectQueue(QueueName.Batches) private readonly batchQueue: Queue,
    @InjectQueue(QueueName.Webhooks) private readonly webhooks: Queue,
  ) {}

  onModuleInit(): void {
    // Without a listener BullMQ prints a raw stack on every reconnect attempt while Redis is away.
    for (const queue of [this.results, this.maintenance, this.batchQueue, this.webhooks]) logConnectionErrors(queue, `queue:${queue.name}`);
  }

  async onApplicationShutdown(): Promise<void> {
    this.registry.close();
    await Promise.allSettled([this.detect.close(), this.events.close(), this.batches.close()]);
    this.redis.disconnect();
  }
}

/** The Redis connection of one app, shared by BullModule's queues and Argus's own keys. */
@Global()
@Module({})
class RedisModule {
  static forRoot(options: { app: string; failFast: boolean }): DynamicModule {
    return {
      module: RedisModule,
      providers: [
        {
          provide: REDIS,
          inject: [ARGUS_CONFIG],
          useFactory: (config: ArgusConfig) => createRedis(config.redis.url, { name: `argus:${options.app}`, failFast: options.failFast }),
        },
      ],
      exports: [REDIS],
    };
  }
}

/**
 * Argus's BullMQ fabric for one app: `@nestjs/bullmq`'s BullModule on the app's Redis connection
 * and key prefix, the `results`, `maintenance`, `batches` and `webhooks` queues, and one class per
 * concern around BullMQ (DetectJobs for the per-model detection queues, PersistJobs for `results`,
 * BatchJobs for `batches`, WebhookJobs for `webhooks`, JobEvents for completion) beside ArgusStore
 * for Argus's own keys. Workers open their own blocking connections.
 * `failFast` is for request paths (the gateway), which must answer 503 quickly when Redis is away
 * rather than wait for it.
 */
@Global()
@Module({})
export class BrokerModule {
  static forRoot(options: { app: string; failFast: boolean }): DynamicModule {
    const redis = RedisModule.forRoot(options);
    return {
      module: BrokerModule,
      imports: [
        redis,
        BullModule.forRootAsync({
          imports: [redis],
          inject: [REDIS, ARGUS_CONFIG],
          // Telemetry (when tracing is on) carries each job's trace context to its worker.
          useFactory: (connection: Redis, config: ArgusConfig) => ({ connection, prefix: config.redis.prefix, telemetry: bullmqTelemetry() }),
        }),
        BullModule.registerQueueAsync(
          {
            name: QueueName.Results,
            inject: [ARGUS_CONFIG],
            useFactory: (config: ArgusConfig) => ({ defaultJobOptions: persistJobOptions(config.worker.resultsAttempts) }),
          },
          { name: QueueName.Maintenance, useFactory: () => ({ defaultJobOptions: { removeOnComplete: 100, removeOnFail: 1000 } }) },
          { name: QueueName.Batches, useFactory: () => ({}) },
          {
            name: QueueName.Webhooks,
            inject: [ARGUS_CONFIG],
            useFactory: (config: ArgusConfig) => ({ defaultJobOptions: webhookJobOptions(config.webhooks.attempts, config.webhooks.backoffMs) }),
          },
        ),
      ],
      providers: [
        {
          provide: ArgusStore,
          inject: [REDIS, ARGUS_CONFIG],
          useFactory: (connection: Redis, config: ArgusConfig) => new ArgusStore(connection, config.redis.prefix, config.retention),
        },
        {
          provide: DetectJobs,
          inject: [REDIS, ARGUS_CONFIG],
          useFactory: (connection: Redis, config: ArgusConfig) =>
            new DetectJobs(connection, config.redis.prefix, { attempts: config.worker.attempts, backoffMs: config.worker.backoffMs }),
        },
        {
          provide: PersistJobs,
          inject: [getQueueToken(QueueName.Results)],
          useFactory: (queue: PersistQueue) => new PersistJobs(queue),
        },
        {
          provide: BatchJobs,
          inject: [getQueueToken(QueueName.Batches), REDIS, ARGUS_CONFIG],
          useFactory: (queue: BatchQueue, connection: Redis, config: ArgusConfig) => new BatchJobs(queue, connection, config.redis.prefix),
        },
        {
          provide: WebhookJobs,
          inject: [getQueueToken(QueueName.Webhooks)],
          useFactory: (queue: WebhookQueue) => new WebhookJobs(queue),
        },
        {
          provide: JobEvents,
          inject: [REDIS, ArgusStore],
          useFactory: (connection: Redis, store: ArgusStore) => new JobEvents(connection, store.keys),
        },
        {
          provide: ModelRegistry,
          inject: [REDIS, ArgusStore],
          useFactory: (connection: Redis, store: ArgusStore) => new ModelRegistry(connection, store.keys),
        },
        BrokerLifecycle,
        {
          // Queue depth gauges on /metrics: every model's detection queue, and the others.
          provide: QueueMetrics,
          inject: [
            DetectJobs,
            ModelRegistry,
            getQueueToken(QueueName.Results),
            getQueueToken(QueueName.Maintenance),
            getQueueToken(QueueName.Batches),
            getQueueToken(QueueName.Webhooks),
            { token: Metrics, optional: true },
          ],
          useFactory: (detect: DetectJobs, registry: ModelRegistry, results: Queue, maintenance: Queue, batches: Queue, webhooks: Queue, metrics?: Metrics) =>
            new QueueMetrics(async (): Promise<CountedQueue[]> => {
              const models = await registry.modelNames();
              return [
                ...models.map((m) => ({ queue: detect.queue(m) as Queue, byPriority: true })),
                ...[results, maintenance, batches, webhooks].map((queue) => ({ queue, byPriority: false })),
              ];
            }, metrics),
        },
        {
          // Redis memory against maxmemory on /metrics (noeviction: full means refused writes).
          provide: RedisMemoryMetrics,
          inject: [REDIS, { token: Metrics, optional: true }],
          useFactory: (connection: Redis, metrics?: Metrics) => new RedisMemoryMetrics(connection, metrics),
        },
      ],
      exports: [redis, BullModule, ArgusStore, DetectJobs, PersistJobs, BatchJobs, WebhookJobs, JobEvents, ModelRegistry],
    };
  }
}
