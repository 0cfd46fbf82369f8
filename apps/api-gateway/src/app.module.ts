import { BrokerModule, REDIS } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig, ConfigModule } from '@argus/config';
import { HEALTH_DETAIL, HealthController, healthChecks, MetricsModule, OPS_SERVER_ADDRESS, OpsServer } from '@argus/observability';
import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { MulterModule } from '@nestjs/platform-express';
import type { Redis } from 'ioredis';
import { memoryStorage } from 'multer';
import { CompletionWaiter } from './detections/completion-waiter';
import { DetectionStatus } from './detections/detection-status.service';
import { DetectionsController } from './detections/detections.controller';
import { DetectionsService } from './detections/detections.service';
import { ErrorFilter } from './errors/error.filter';
import { gatewayHealthChecks } from './health/gateway-health';
import { ModelCatalog } from './models/model-catalog.service';
import { ModelsController } from './models/models.controller';
import { ResultsClient } from './results-client/results.client';
import { AuthMiddleware } from './auth/auth.middleware';
import { KeyVerifier } from './auth/key-verifier.service';
import { Backpressure } from './limits/backpressure.service';
import { Drain } from './limits/drain.service';
import { RateLimiter } from './limits/rate-limiter.service';
import { BullBoardMount } from './admin/bull-board';
import { AnnotatedController } from './detections/annotated.controller';
import { DetectionEventsController } from './detections/detection-events.controller';
import { DetectionEvents } from './detections/detection-events.service';
import { DetectionsResolver } from './graphql/detections.resolver';
import { GraphqlApiModule } from './graphql/graphql.module';
import { ModelsResolver } from './graphql/models.resolver';
import { GraphqlWsAuth } from './graphql/ws-auth.service';
import { WebController } from './web/web.controller';

@Module({})
export class AppModule {
  static forRoot(config: ArgusConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        // Metrics and detailed health on the operations port (GATEWAY_METRICS_PORT), not the public one.
        MetricsModule.forRoot('api-gateway', { route: false }),
        BrokerModule.forRoot({ app: 'api-gateway', failFast: true }),
        MulterModule.registerAsync({
          inject: [ARGUS_CONFIG],
          useFactory: (c: ArgusConfig) => ({
            storage: memoryStorage(),
            limits: { fileSize: c.limits.maxImageBytes, files: 1, fields: 20, fieldSize: 16 * 1024, parts: 24 },
          }),
        }),
        GraphqlApiModule,
      ],
      controllers: [HealthController, DetectionsController, ModelsController, DetectionEventsController, AnnotatedController, WebController],
      providers: [
        healthChecks({
          inject: [REDIS, ResultsClient, Drain],
          useFactory: (redis: Redis, results: ResultsClient, drain: Drain) => [
            { name: 'accepting', check: async () => ({ ok: !drain.active, detail: drain.active ? 'shutting down' : 'taking requests' }) },
            ...gatewayHealthChecks(redis, results),
          ],
        }),
        { provide: APP_FILTER, useClass: ErrorFilter },
        { provide: HEALTH_DETAIL, useValue: false },
        { provide: OPS_SERVER_ADDRESS, useValue: config.gateway.metrics },
        OpsServer,
        KeyVerifier,
        RateLimiter,
        AuthMiddleware,
        Backpressure,
        Drain,
        ResultsClient,
        ModelCatalog,
        CompletionWaiter,
        DetectionsService,
        DetectionStatus,
        DetectionEvents,
        BullBoardMount,
        DetectionsResolver,
        ModelsResolver,
        GraphqlWsAuth,
      ],
      exports: [ResultsClient],
    };
  }
}
