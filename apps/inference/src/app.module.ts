import { BrokerModule, REDIS } from '@argus/broker';
import { type ArgusConfig, ConfigModule } from '@argus/config';
import { HealthController, healthChecks, MetricsModule } from '@argus/observability';
import { type DynamicModule, Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DetectProcessor } from './detect/detect.processor';
import { DetectService } from './detect/detect.service';
import { inferenceHealthChecks } from './health/inference-health';
import { ModelHost } from './models/model-host.service';
import { ModelSource, RepositoryModelSource } from './models/model-source';

@Module({})
export class AppModule {
  static forRoot(config: ArgusConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config), MetricsModule.forRoot('inference', { build: config.build }), BrokerModule.forRoot({ app: 'inference', failFast: false })],
      controllers: [HealthController],
      providers: [
        { provide: ModelSource, useClass: RepositoryModelSource },
        ModelHost,
        DetectService,
        DetectProcessor,
        healthChecks({
          inject: [ModelHost, DetectProcessor, REDIS],
          useFactory: (models: ModelHost, processor: DetectProcessor, redis: Redis) => inferenceHealthChecks(models, processor, redis),
        }),
      ],
    };
  }
}
