import type { ArgusConfig } from '@argus/config';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { DetectionEntity } from './detection.entity';
import { CreateDetections1732250000000 } from './migrations/1732250000000-create-detections';
import { CreateApiKeys1733500000000 } from './migrations/1733500000000-create-api-keys';
import { ScopesAndOwnerIndex1764720000000 } from './migrations/1764720000000-scopes-and-owner-index';
import { BatchesCancelWebhooks1765300000000 } from './migrations/1765300000000-batches-cancel-webhooks';
import { BatchEntity } from './batch.entity';
import { ApiKeyEntity } from '../keys/api-key.entity';

/** Every migration, in order. Adding one here is all it takes; they run at start. */
export const MIGRATIONS = [CreateDetections1732250000000, CreateApiKeys1733500000000, ScopesAndOwnerIndex1764720000000, BatchesCancelWebhooks1765300000000];

/** The TypeORM data source of apps/results (the only app that talks to Postgres). */
export function createDataSource(config: ArgusConfig): DataSource {
  const { url, schema } = config.database;
  return new DataSource({
    type: 'postgres',
    url,
    schema,
    applicationName: 'argus-results',
    entities: [DetectionEntity, BatchEntity, ApiKeyEntity],
    migrations: MIGRATIONS,
    migrationsTableName: 'argus_migrations',
    synchronize: false,
    migrationsRun: false,
    extra: { max: 10, connectionTimeoutMillis: 5000 },
  });
}

/**
 * Creates the database named in DATABASE_URL if it is missing (connecting to the server's
 * `postgres` database to do so), then the schema.
 */
export async function ensureDatabase(config: ArgusConfig): Promise<{ createdDatabase: boolean }> {
  const target = new URL(config.database.url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, '')) || 'postgres';
  const admin = new URL(target.toString());
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  let createdDatabase = false;
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
        createdDatabase = true;
      } catch (error) {
        // Another results replica created it first.
        if ((error as { code?: string }).code !== '42P04') throw error;
      }
    }
  } finally {
    await client.end();
  }
  const db = new Client({ connectionString: config.database.url, connectionTimeoutMillis: 5000 });
  await db.connect();
  try {
    await db.query(`CREATE SCHEMA IF NOT EXISTS "${config.database.schema}"`);
  } catch (error) {
    if ((error as { code?: string }).code !== '23505') throw error; // concurrent create
  } finally {
    await db.end();
  }
  return { createdDatabase };
}

/** Runs pending migrations under an advisory lock, so replicas starting together take turns. */
export async function migrate(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`SELECT pg_advisory_lock(hashtext('argus-migrations'))`);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query(`SELECT pg_advisory_unlock(hashtext('argus-migrations'))`).catch(() => undefined);
    await runner.release();
  }
}
