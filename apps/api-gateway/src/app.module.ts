import { BrokerModule } from '@argus/broker';
import { type ArgusConfig, ConfigModule } from '@argus/config';
import { MetricsModule } from '@argus/observability';
import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AccessModule } from './access/access.module';
import { AdminModule } from './admin/admin.module';
import { BatchesModule } from './batches/batches.module';
import { DetectionsModule } from './detections/detections.module';
import { ErrorFilter } from './errors/error.filter';
import { GraphqlApiModule } from './graphql/graphql.module';
import { HealthModule } from './health/health.module';
import { ModelsModule } from './models/models.module';
import { ResultsClientModule } from './results-client/results-client.module';
import { WebModule } from './web/web.module';

/** The gateway: its feature modules, on the shared configuration, metrics and broker. */
@Module({})
export class AppModule {
  static forRoot(config: ArgusConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        // Metrics and detailed health on the operations port (GATEWAY_METRICS_PORT), not the public one.
        MetricsModule.forRoot('api-gateway', { route: false, build: config.build }),
        BrokerModule.forRoot({ app: 'api-gateway', failFast: true }),
        ResultsClientModule,
        AccessModule,
        ModelsModule,
        DetectionsModule,
        BatchesModule,
        GraphqlApiModule,
        AdminModule,
        WebModule,
        HealthModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: ErrorFilter }],
    };
  }
}
