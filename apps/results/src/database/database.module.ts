import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { createDataSource, ensureDatabase, migrate } from './database';

@Injectable()
class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/**
 * The data source, ready before anything else starts: database and schema created if missing,
 * migrations applied.
 */
@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [ARGUS_CONFIG],
      useFactory: async (config: ArgusConfig) => {
        const logger = new Logger('Database');
        const { createdDatabase } = await ensureDatabase(config);
        const dataSource = await createDataSource(config).initialize();
        const applied = await migrate(dataSource);
        logger.log({ msg: 'database ready', schema: config.database.schema, createdDatabase, migrationsApplied: applied });
        return dataSource;
      },
    },
    DatabaseLifecycle,
  ],
  exports: [DataSource],
})
export class DatabaseModule {}
