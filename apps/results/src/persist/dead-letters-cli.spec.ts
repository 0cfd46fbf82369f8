import { ArgusStore, RESULTS_GROUP, resultsBacklog } from '@argus/broker';
import { buildConfig } from '@argus/config';
import { redisForTest, testRedisUrl, testRequestRecord } from '@argus/testing';
import type { Redis } from 'ioredis';
import { runDeadLettersCli } from './dead-letters-cli';

describe(runDeadLettersCli.name, () => {
  let redis: Redis;
  let store: ArgusStore;
  let cleanup: () => Promise<void>;
  let config: ReturnType<typeof buildConfig>;

  beforeAll(async () => {
    const t = await redisForTest('dead-letters-cli');
    redis = t.redis;
    cleanup = t.cleanup;
    config = buildConfig({ REDIS_URL: testRedisUrl(), QUEUE_PREFIX: t.prefix });
    store = new ArgusStore(redis, t.prefix, config.retention);
  });
  afterAll(() => cleanup());

  async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runDeadLettersCli(argv, config, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  }

  it('lists dead letters with their reasons and puts them back on the results stream', async () => {
    expect(await cli('list')).toMatchObject({ code: 0, out: [], err: ['no dead letters'] });
    const r = testRequestRecord('c'.repeat(64));
    await store.admit(r, Buffer.from('img'));
    await store.endWork(r, r.id, { jobId: r.id, attempts: 1, outcome: { ok: false, error: { code: 'corrupt_image', message: 'bad' } } }, false);
    const [[id, fields] = ['', []]] = await redis.xrange(store.keys.resultsStream(), '-', '+');
    await redis.xgroup('CREATE', store.keys.resultsStream(), RESULTS_GROUP, '0');
    await redis.multi().xadd(store.keys.resultsDead(), '*', 'entry', id, 'reason', 'failed 25 times: no table', ...fields).xdel(store.keys.resultsStream(), id).exec();

    const listed = await cli('list');
    expect(listed.code).toBe(0);
    expect(listed.out).toEqual([expect.stringMatching(/^\d+-\d+ {2}failed {2}failed 25 times: no table$/)]);
    const [letter] = JSON.parse((await cli('list', '--json')).out[0] ?? '[]') as { id: string; entry: string }[];
    expect(letter?.entry).toBe(id);

    expect(await cli('retry', '1-1')).toMatchObject({ code: 1, err: ['0 message(s) back on the results stream', '1 id(s) not found'] });
    expect(await cli('retry', letter?.id ?? '')).toMatchObject({ code: 0 });
    expect(await resultsBacklog(redis, store.keys)).toEqual({ waiting: 1, active: 0, dead: 0 });
  });

  it('answers usage errors with exit code 2', async () => {
    expect((await cli()).code).toBe(2);
    expect((await cli('retry')).code).toBe(2);
    expect((await cli('purge')).code).toBe(2);
    expect((await cli('help')).code).toBe(0);
  });
});
