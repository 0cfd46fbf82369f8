import { BrokerModule, REDIS } from '@argus/broker';
import { type ArgusConfig, ConfigModule } from '@argus/config';
import { HealthController, healthChecks, MetricsModule } from '@argus/observability';
import { type DynamicModule, Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { BatchesController } from './batches/batches.controller';
import { BatchesProcessor } from './batches/batches.processor';
import { BatchesService } from './batches/batches.service';
import { DatabaseModule } from './database/database.module';
import { DatabaseWatch } from './database/database-watch.service';
import { resultsHealthChecks } from './health/results-health';
import { ApiKeysService } from './keys/api-keys.service';
import { KeysController } from './keys/keys.controller';
import { PersistService } from './persist/persist.service';
import { Reconciler } from './persist/reconciler.service';
import { MaintenanceProcessor } from './persist/maintenance.processor';
import { PersistProcessor } from './persist/persist.processor';
import { DetectionsController } from './read/detections.controller';
import { DetectionsService } from './read/detections.service';
import { RetentionService } from './retention/retention.service';
import { addressPolicyProvider } from './webhooks/address-policy.provider';
import { WebhookSecrets } from './webhooks/webhook-secrets.service';
import { WebhooksProcessor } from './webhooks/webhooks.processor';

@Module({})
export class AppModule {
  static forRoot(config: ArgusConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        MetricsModule.forRoot('results', { build: config.build }),
        BrokerModule.forRoot({ app: 'results', failFast: false }),
        DatabaseModule,
      ],
      controllers: [HealthController, DetectionsController, BatchesController, KeysController],
      providers: [
        PersistService,
        PersistProcessor,
        MaintenanceProcessor,
        BatchesProcessor,
        WebhooksProcessor,
        DatabaseWatch,
        Reconciler,
        RetentionService,
        DetectionsService,
        BatchesService,
        ApiKeysService,
        WebhookSecrets,
        addressPolicyProvider,
        healthChecks({
          inject: [DatabaseWatch, REDIS],
          useFactory: (database: DatabaseWatch, redis: Redis) => resultsHealthChecks(database, redis),
        }),
      ],
      exports: [DatabaseWatch],
    };
  }
}
