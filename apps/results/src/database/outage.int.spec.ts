import { buildConfig } from '@argus/config';
import { schemaForTest, testDatabaseUrl } from '@argus/testing';
import type { DataSource } from 'typeorm';
import { createDataSource, migrate, onOwnConnection } from './database';
import { databaseOutage } from './outage';

/** The errors real Postgres gives, through TypeORM as apps/results meets them, classified. */
describe('databaseOutage on real Postgres errors', () => {
  let dataSource: DataSource;
  let cleanup: () => Promise<void>;
  let table: string;

  beforeAll(async () => {
    const t = await schemaForTest('outage');
    cleanup = t.cleanup;
    const config = buildConfig({ DATABASE_URL: testDatabaseUrl(), DATABASE_SCHEMA: t.schema, DATABASE_LOCK_TIMEOUT_MS: '200', DATABASE_STATEMENT_TIMEOUT_MS: '500' });
    dataSource = await createDataSource(config).initialize();
    await migrate(dataSource);
    table = `"${t.schema}"."detections"`;
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await cleanup();
  });

  const failure = (work: () => Promise<unknown>) => work().then(() => 'no error', (e: unknown) => e);

  it('a read-only session: 25006, an outage', async () => {
    const error = await failure(() =>
      onOwnConnection(dataSource, async (runner) => {
        await runner.query('SET default_transaction_read_only = on');
        await runner.query(`DELETE FROM ${table}`);
      }),
    );
    expect(databaseOutage(error)).toMatch(/read-only \(SQLSTATE 25006\)/);
  });

  it('a lock held elsewhere past the lock timeout (DATABASE_LOCK_TIMEOUT_MS): 55P03, an outage', async () => {
    const holder = dataSource.createQueryRunner();
    await holder.startTransaction();
    await holder.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    try {
      const error = await failure(() => dataSource.query(`SELECT count(*) FROM ${table}`));
      expect(databaseOutage(error)).toMatch(/lock timeout \(SQLSTATE 55P03\)/);
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
  });

  it('a statement past the statement timeout (DATABASE_STATEMENT_TIMEOUT_MS): 57014, an outage', async () => {
    expect(databaseOutage(await failure(() => dataSource.query('SELECT pg_sleep(2)')))).toMatch(/statement timeout \(SQLSTATE 57014\)/);
  });

  it('bad data (an id that is no UUID): 22P02, not an outage', async () => {
    const error = await failure(() => dataSource.query(`SELECT * FROM ${table} WHERE id = $1`, ['not-a-uuid']));
    expect((error as { driverError?: { code?: string } }).driverError?.code).toBe('22P02');
    expect(databaseOutage(error)).toBeNull();
  });

  it('closes a connection that failed as in an outage instead of handing it out again', async () => {
    const pids = new Set<number>();
    const session = (runner: { query: (q: string) => Promise<{ pid: number }[]> }) => runner.query('SELECT pg_backend_pid() AS pid').then(([row]) => row?.pid ?? 0);
    const stale = await failure(() =>
      onOwnConnection(dataSource, async (runner) => {
        pids.add(await session(runner));
        await runner.query('SET default_transaction_read_only = on');
        await runner.query(`DELETE FROM ${table}`);
      }),
    );
    expect(databaseOutage(stale)).not.toBeNull();
    // every session the pool hands out now is writable: the read-only one is gone
    for (let i = 0; i < 12; i++) {
      const [row] = (await dataSource.query('SHOW transaction_read_only')) as { transaction_read_only: string }[];
      expect(row?.transaction_read_only).toBe('off');
    }
    // and its server process has gone (it ends once it reads the goodbye)
    let alive = 1;
    for (let tries = 0; tries < 50 && alive > 0; tries++) {
      const [row] = (await dataSource.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1)', [[...pids]])) as { n: number }[];
      alive = row?.n ?? 0;
      if (alive > 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(alive).toBe(0);
  });
});
