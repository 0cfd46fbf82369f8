import type { ArgusConfig } from '@argus/config';
import { Client } from 'pg';
import { DataSource, type QueryRunner } from 'typeorm';
import { databaseOutage } from './outage';
import { DetectionEntity } from './detection.entity';
import { CreateDetections1732250000000 } from './migrations/1732250000000-create-detections';
import { CreateApiKeys1733500000000 } from './migrations/1733500000000-create-api-keys';
import { ScopesAndOwnerIndex1764720000000 } from './migrations/1764720000000-scopes-and-owner-index';
import { ApiKeyEntity } from '../keys/api-key.entity';

/** Every migration, in order. Adding one here is all it takes; they run at start. */
export const MIGRATIONS = [CreateDetections1732250000000, CreateApiKeys1733500000000, ScopesAndOwnerIndex1764720000000];

/** How much longer than the statement timeout a client waits for a server that says nothing at all (stopped, hung) before giving up itself. */
export const CLIENT_TIMEOUT_MARGIN_MS = 5000;
/**
 * TCP keepalive from this much idle time on: a connection to a host that vanished (a network
 * partition, a dead node) is found dead in well under a minute, not after the kernel's two hours.
 */
const KEEPALIVE_INITIAL_DELAY_MS = 10_000;
/** Connections are replaced after this long: a pool never keeps sessions for good to a server that has stopped being the primary. */
const MAX_CONNECTION_LIFETIME_S = 300;

/**
 * The TypeORM data source of apps/results (the only app that talks to Postgres). Every session
 * has a statement timeout and a lock timeout (DATABASE_STATEMENT_TIMEOUT_MS,
 * DATABASE_LOCK_TIMEOUT_MS) that Postgres enforces, a client-side timeout a little longer for a
 * server too stopped to enforce anything, TCP keepalive, and a connect timeout
 * (DATABASE_CONNECT_TIMEOUT_MS, also the longest wait for a free connection): a silent Postgres
 * makes queries fail, as an outage, instead of hanging the consumer or the shutdown. Migrations
 * get a data source of their own without the statement limits (`forMigrations`): an index build
 * may take minutes, and a replica waits for another's advisory lock as long as that takes.
 */
export function createDataSource(config: ArgusConfig, options: { forMigrations?: boolean } = {}): DataSource {
  const { url, schema, statementTimeoutMs, lockTimeoutMs, connectTimeoutMs } = config.database;
  const limits = options.forMigrations
    ? {}
    : { statement_timeout: statementTimeoutMs, lock_timeout: lockTimeoutMs, query_timeout: statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS };
  return new DataSource({
    type: 'postgres',
    url,
    schema,
    applicationName: 'argus-results',
    entities: [DetectionEntity, ApiKeyEntity],
    migrations: MIGRATIONS,
    migrationsTableName: 'argus_migrations',
    synchronize: false,
    migrationsRun: false,
    extra: {
      max: 10,
      connectionTimeoutMillis: connectTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
      maxLifetimeSeconds: MAX_CONNECTION_LIFETIME_S,
      ...limits,
    },
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
  const client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: config.database.connectTimeoutMs });
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
  const db = new Client({ connectionString: config.database.url, connectionTimeoutMillis: config.database.connectTimeoutMs });
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

/**
 * Runs `work` on a connection of its own and returns it to the pool, unless `work` failed as in
 * an outage ({@link databaseOutage}): that connection is closed instead. After a failover, a
 * pooled session may still be talking to a server that is now read-only (or be half dead), and
 * it would fail the same way on every later use.
 */
export async function onOwnConnection<T>(dataSource: DataSource, work: (runner: QueryRunner) => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  try {
    return await work(runner);
  } catch (error) {
    if (databaseOutage(error) !== null && isClosable(runner)) await runner.releasePostgresConnection(error instanceof Error ? error : new Error(String(error)));
    throw error;
  } finally {
    await runner.release();
  }
}

/**
 * TypeORM's Postgres query runner closes a connection that had an error with this method (it
 * hands the error to pg-pool, which then drops the client); it is not in its public types.
 */
interface ClosableRunner {
  releasePostgresConnection(error: Error): Promise<void>;
}

function isClosable(runner: QueryRunner): runner is QueryRunner & ClosableRunner {
  return typeof (runner as Partial<ClosableRunner>).releasePostgresConnection === 'function';
}
