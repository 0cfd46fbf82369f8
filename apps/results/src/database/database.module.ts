import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { createDataSource, ensureDatabase, migrate } from './database';

/** Longest the pool may take to close at shutdown: a stopped Postgres never answers the goodbye. */
const CLOSE_TIMEOUT_MS = 3000;

@Injectable()
class DatabaseLifecycle implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');

  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (!this.dataSource.isInitialized) return;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), CLOSE_TIMEOUT_MS);
    });
    const closed = this.dataSource.destroy().then(
      () => 'closed' as const,
      (error: unknown) => {
        this.logger.warn({ msg: 'closing the database pool failed', error: String(error) });
        return 'closed' as const;
      },
    );
    if ((await Promise.race([closed, gaveUp])) === 'timeout') {
      this.logger.warn({ msg: 'the database pool did not close in time; exiting without waiting for Postgres', waitedMs: CLOSE_TIMEOUT_MS });
    }
    clearTimeout(timer);
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
        const migrations = await createDataSource(config, { forMigrations: true }).initialize();
        let applied: string[];
        try {
          applied = await migrate(migrations);
        } finally {
          await migrations.destroy();
        }
        const dataSource = await createDataSource(config).initialize();
        logger.log({ msg: 'database ready', schema: config.database.schema, createdDatabase, migrationsApplied: applied });
        return dataSource;
      },
    },
    DatabaseLifecycle,
  ],
  exports: [DataSource],
})
export class DatabaseModule {}
