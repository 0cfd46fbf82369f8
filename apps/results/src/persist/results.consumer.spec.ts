import { ArgusStore, resultsBacklog } from '@argus/broker';
import { type ArgusConfig, buildConfig } from '@argus/config';
import { Metrics } from '@argus/observability';
import { redisForTest, schemaForTest, testDatabaseUrl, testInferenceResult, testRedisUrl, testRequestRecord } from '@argus/testing';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { createDataSource, migrate } from '../database/database';
import { DatabaseWatch } from '../database/database-watch.service';
import { PersistService } from './persist.service';
import { ResultsConsumer } from './results.consumer';

const result = testInferenceResult();
const record = (sha: string, id?: string) => testRequestRecord(sha, id ? { id } : {});


/** Polls until `check` passes (or fails the test after a few seconds). */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 8000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe(ResultsConsumer.name, () => {
  let redis: Redis;
  let dataSource: DataSource;
  let config: ArgusConfig;
  let store: ArgusStore;
  let consumer: ResultsConsumer | undefined;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    const r = await redisForTest('results-consumer');
    const s = await schemaForTest('results_consumer');
    cleanups.push(r.cleanup, s.cleanup);
    redis = r.redis;
    config = buildConfig({ REDIS_URL: testRedisUrl(), QUEUE_PREFIX: r.prefix, DATABASE_URL: testDatabaseUrl(), DATABASE_SCHEMA: s.schema, RESULTS_ATTEMPTS: '2' });
    dataSource = await createDataSource(config).initialize();
    await migrate(dataSource);
    store = new ArgusStore(redis, r.prefix, config.retention);
  });
  afterEach(async () => {
    await consumer?.beforeApplicationShutdown();
    consumer = undefined;
  });
  afterAll(async () => {
    await dataSource?.destroy();
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  function start(): ResultsConsumer {
    const metrics = new Metrics('results-test');
    consumer = new ResultsConsumer(config, store, new PersistService(dataSource, metrics), new DatabaseWatch(dataSource), metrics);
    consumer.onApplicationBootstrap();
    return consumer;
  }
  const rows = async (ids: string[]) =>
    (await dataSource.query(`SELECT id, status, cached, error_code FROM "${config.database.schema}".detections WHERE id = ANY($1) ORDER BY id`, [ids])) as {
      id: string;
      status: string;
      cached: boolean;
      error_code: string | null;
    }[];
  const settled = async () => {
    const b = await resultsBacklog(redis, store.keys);
    return b.waiting === 0 && b.active === 0;
  };

  it('persists completed work for every attached request, a failure, and a cache hit, then empties the stream', async () => {
    const a = record('1'.repeat(64));
    const b = record('1'.repeat(64));
    const c = record('2'.repeat(64));
    for (const r of [a, b, c]) await store.admit(r, Buffer.from('img'));
    await store.endWork(a, a.id, { jobId: a.id, attempts: 1, outcome: { ok: true, result } }, true);
    const error = { code: 'corrupt_image', message: 'bad' } as const;
    await store.endWork(c, c.id, { jobId: c.id, attempts: 1, outcome: { ok: false, error } }, false);
    const hit = record('1'.repeat(64));
    expect(await store.admit(hit, Buffer.from('img'))).toEqual({ ok: true, result });

    start();
    await eventually(async () => (await rows([a.id, b.id, c.id, hit.id])).length === 4, 'four rows');
    expect(await rows([a.id, b.id, c.id, hit.id])).toEqual(
      [
        { id: a.id, status: 'completed', cached: false, error_code: null },
        { id: b.id, status: 'completed', cached: false, error_code: null },
        { id: c.id, status: 'failed', cached: false, error_code: 'corrupt_image' },
        { id: hit.id, status: 'completed', cached: true, error_code: null },
      ].sort((x, y) => x.id.localeCompare(y.id)),
    );
    await eventually(settled, 'an empty stream');
    expect(await redis.xlen(store.keys.resultsStream())).toBe(0);
  });

  it('persists a message delivered twice only once', async () => {
    const r = record('3'.repeat(64));
    await store.admit(r, Buffer.from('img'));
    await store.endWork(r, r.id, { jobId: r.id, attempts: 1, outcome: { ok: true, result } }, false);
    // The same message again, as after a crash between the INSERT and the acknowledgement.
    const [[, fields] = ['', []]] = await redis.xrange(store.keys.resultsStream(), '-', '+');
    await redis.xadd(store.keys.resultsStream(), '*', ...fields);
    start();
    await eventually(settled, 'an empty stream');
    expect(await rows([r.id])).toHaveLength(1);
  });

  it('sets aside what can never be persisted, with the reason, and persists the rest of the batch', async () => {
    const good = record('4'.repeat(64));
    const poison = record('5'.repeat(64), 'not-a-uuid'); // Postgres refuses the id, every time
    for (const r of [good, poison]) await store.admit(r, Buffer.from('img'));
    await redis.xadd(store.keys.resultsStream(), '*', 'kind', 'completed', 'meta', '{"garbage":', 'outcome', '{}', 'records', '[]');
    for (const r of [poison, good]) await store.endWork(r, r.id, { jobId: r.id, attempts: 1, outcome: { ok: true, result } }, false);

    start();
    await eventually(async () => (await rows([good.id])).length === 1, 'the good row');
    // RESULTS_ATTEMPTS=2: the poison message is tried on two deliveries, then set aside.
    await eventually(async () => (await resultsBacklog(redis, store.keys)).dead === 2, 'two dead letters');
    await eventually(settled, 'an empty stream');
    const dead = await redis.xrange(store.keys.resultsDead(), '-', '+');
    const reasons = dead.map(([, f]) => f[f.indexOf('reason') + 1]);
    expect(reasons).toEqual([expect.stringMatching(/^unreadable: /), expect.stringMatching(/^failed 2 times: .*uuid/)]);
  });

  it('reads nothing while the database watch says Postgres is away, and persists what waited once it is back', async () => {
    const r = record('6'.repeat(64));
    await store.admit(r, Buffer.from('img'));
    await store.endWork(r, r.id, { jobId: r.id, attempts: 1, outcome: { ok: true, result } }, false);
    const metrics = new Metrics('results-test');
    const watch = new DatabaseWatch(dataSource);
    Object.defineProperty(watch, 'up', { get: () => up, configurable: true });
    let up = false;
    consumer = new ResultsConsumer(config, store, new PersistService(dataSource, metrics), watch, metrics);
    consumer.onApplicationBootstrap();
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(await resultsBacklog(redis, store.keys)).toMatchObject({ waiting: 1, active: 0 });
    up = true;
    await eventually(async () => (await rows([r.id])).length === 1, 'the row');
  });

  it('waits out an outage (a read-only database, by SQLSTATE) without spending its attempts: nothing set aside, the row lands once', async () => {
    const r = record('7'.repeat(64));
    const deadBefore = (await resultsBacklog(redis, store.keys)).dead;
    await store.admit(r, Buffer.from('img'));
    await store.endWork(r, r.id, { jobId: r.id, attempts: 1, outcome: { ok: true, result } }, false);
    const metrics = new Metrics('results-test');
    const real = new PersistService(dataSource, metrics);
    // Postgres says "read-only" to the first four INSERTs, as a replica does after a failover; RESULTS_ATTEMPTS is 2.
    let refusals = 0;
    const readOnlyFirst = {
      persist: async (entries: Parameters<PersistService['persist']>[0]) => {
        if (refusals < 4) {
          refusals += 1;
          throw Object.assign(new Error('cannot execute INSERT in a read-only transaction'), { code: '25006' });
        }
        return real.persist(entries);
      },
    } as PersistService;
    // The real watch: each refusal stops reading until its next probe finds the database usable.
    const watch = new DatabaseWatch(dataSource);
    watch.onModuleInit();
    consumer = new ResultsConsumer(config, store, readOnlyFirst, watch, metrics);
    consumer.onApplicationBootstrap();
    try {
      await eventually(async () => (await rows([r.id])).length === 1, 'the row', 30_000);
    } finally {
      watch.onApplicationShutdown();
    }
    expect(refusals).toBe(4);
    await eventually(settled, 'an empty stream');
    expect((await resultsBacklog(redis, store.keys)).dead).toBe(deadBefore);
  });
});
