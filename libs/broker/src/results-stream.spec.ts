import type { RequestRecord } from '@argus/contracts';
import { redisForTest, testInferenceResult, testRequestRecord as record } from '@argus/testing';
import type { Redis } from 'ioredis';
import { cappedBackoff, isResultsEntry, listDeadLetters, parseResultsEntry, RESULTS_GROUP, resultsBacklog, ResultsStreamConsumer, retryDeadLetters } from './results-stream';
import { ArgusStore } from './store';

const retention = { cacheTtlSeconds: 60, negativeCacheTtlSeconds: 30, imageTtlSeconds: 120, imageRetentionSeconds: 5, requestTtlSeconds: 300 };
const result = testInferenceResult();

describe(parseResultsEntry.name, () => {
  it('reads a cache hit as a cached message for its one request', () => {
    const r = record('a'.repeat(64));
    const entry = parseResultsEntry('1-0', ['kind', 'cached', 'workKey', r.workKey, 'outcome', JSON.stringify({ ok: true, result }), 'records', `[${JSON.stringify(r)}]`]);
    expect(isResultsEntry(entry) && entry.message).toEqual({ kind: 'cached', workKey: r.workKey, requestId: r.id, result });
  });

  it('calls an entry unreadable, with the reason, when it is not what the scripts write', () => {
    const r = record('a'.repeat(64));
    const meta = JSON.stringify({ workKey: r.workKey, jobId: 'j', attempts: 1 });
    const ok = JSON.stringify({ ok: true, result });
    for (const [fields, reason] of [
      [['kind', 'completed', 'meta', meta, 'outcome', '{not json', 'records', '[]'], /JSON/],
      [['kind', 'failed', 'meta', meta, 'outcome', ok, 'records', '[]', 'missing', '[]'], /kind failed but holds a completed outcome/],
      [['kind', 'completed', 'meta', meta, 'outcome', ok, 'records', '[{"id":1}]'], /.+/],
      [['kind', 'completed', 'meta', '{}', 'outcome', ok, 'records', '[]'], /.+/],
      [['kind', 'cached', 'workKey', r.workKey, 'outcome', ok, 'records', '[]'], /names 0 requests/],
    ] as const) {
      const entry = parseResultsEntry('1-0', fields);
      expect(isResultsEntry(entry)).toBe(false);
      expect(!isResultsEntry(entry) && entry.reason).toMatch(reason);
    }
  });
});

describe(cappedBackoff.name, () => {
  it('doubles from the base and stops at the cap', () => {
    expect([1, 2, 3, 4, 10].map((n) => cappedBackoff(n, 200, 1000))).toEqual([200, 400, 800, 1000, 1000]);
  });
});

describe(ResultsStreamConsumer.name, () => {
  let redis: Redis;
  let cleanup: () => Promise<void>;
  let prefix: string;
  let n = 0;
  /** Two consumers on a fresh stream (a sub-prefix per test, removed with the file's prefix). */
  const fresh = () => {
    const s = new ArgusStore(redis, `${prefix}:${++n}`, retention);
    return { s, a: new ResultsStreamConsumer(redis, s.keys, 'a'), b: new ResultsStreamConsumer(redis, s.keys, 'b') };
  };

  beforeAll(async () => {
    const t = await redisForTest('results-stream');
    redis = t.redis;
    prefix = t.prefix;
    cleanup = t.cleanup;
  });
  afterAll(() => cleanup());

  /** Puts one completed message for one request on the stream of `s`. */
  async function produce(s: ArgusStore): Promise<RequestRecord> {
    const r = record('b'.repeat(64));
    await s.admit(r, Buffer.from('img'));
    await s.endWork(r, r.id, { jobId: r.id, attempts: 1, outcome: { ok: true, result } }, false);
    return r;
  }

  it('reads what was written before the group existed, and counts the backlog', async () => {
    const { s, a } = fresh();
    const r = await produce(s);
    expect(await resultsBacklog(redis, s.keys)).toEqual({ waiting: 1, active: 0, dead: 0 });
    await a.ensureGroup();
    await a.ensureGroup(); // twice is harmless
    const [entry] = await a.read(10, 10, false);
    expect(entry && isResultsEntry(entry) && entry.records[0]?.id).toBe(r.id);
    expect(await resultsBacklog(redis, s.keys)).toEqual({ waiting: 0, active: 1, dead: 0 });
    await a.ack([entry?.id as string]);
    expect(await resultsBacklog(redis, s.keys)).toEqual({ waiting: 0, active: 0, dead: 0 });
    expect(await redis.xlen(s.keys.resultsStream())).toBe(0);
  });

  it('gives an unacknowledged entry back to its consumer, counting deliveries, until it is acknowledged', async () => {
    const { s, a } = fresh();
    await a.ensureGroup();
    await produce(s);
    const [first] = await a.read(10, 10, false);
    expect(await a.read(10, 10, false)).toEqual([]); // nothing new
    const [again] = await a.read(10, 10, true); // its own, unacknowledged
    expect(again?.id).toBe(first?.id);
    expect(again && isResultsEntry(again) && again.deliveries).toBe(2);
    await a.ack([first?.id as string]);
    expect(await a.read(10, 10, true)).toEqual([]);
  });

  it('lets another consumer take over what a vanished one left unacknowledged', async () => {
    const { s, a, b } = fresh();
    await a.ensureGroup();
    await produce(s);
    const [taken] = await a.read(10, 10, false);
    expect(await b.claimAbandoned(60_000)).toBe(0); // not idle long enough
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(await b.claimAbandoned(20)).toBe(1);
    const [mine] = await b.read(10, 10, true);
    expect(mine?.id).toBe(taken?.id);
    expect(await a.read(10, 10, true)).toEqual([]);
  });

  it('moves an entry that can never be persisted to the dead-letter stream, with the reason', async () => {
    const { s, a } = fresh();
    await a.ensureGroup();
    await redis.xadd(s.keys.resultsStream(), '*', 'kind', 'completed', 'meta', 'garbage', 'outcome', 'garbage', 'records', '[]');
    const [bad] = await a.read(10, 10, false);
    expect(bad && !isResultsEntry(bad)).toBe(true);
    if (!bad || isResultsEntry(bad)) return;
    await a.deadLetter(bad.id, bad.reason, bad.fields);
    expect(await resultsBacklog(redis, s.keys)).toEqual({ waiting: 0, active: 0, dead: 1 });
    const [[, fields] = ['', []]] = await redis.xrange(s.keys.resultsDead(), '-', '+');
    expect(fields).toEqual(expect.arrayContaining(['entry', bad.id, 'reason', bad.reason, 'meta', 'garbage']));
    expect(await redis.xinfo('GROUPS', s.keys.resultsStream())).toEqual([expect.arrayContaining(['name', RESULTS_GROUP, 'pending', 0])]);
  });

  it('lists dead letters and puts the chosen ones back on the stream, as they were', async () => {
    const { s, a } = fresh();
    await a.ensureGroup();
    const r = await produce(s);
    const [entry] = await a.read(10, 10, false);
    if (!entry || !isResultsEntry(entry)) throw new Error('expected a readable entry');
    await a.deadLetter(entry.id, 'Postgres said no', entry.fields);
    const [letter] = await listDeadLetters(redis, s.keys);
    expect(letter).toMatchObject({ entry: entry.id, reason: 'Postgres said no', fields: entry.fields });
    expect(await retryDeadLetters(redis, s.keys, ['0-0'])).toBe(0); // not one of them
    expect(await retryDeadLetters(redis, s.keys, 'all')).toBe(1);
    expect(await listDeadLetters(redis, s.keys)).toEqual([]);
    const [again] = await a.read(10, 10, false);
    expect(again && isResultsEntry(again) && again.records.map((x) => x.id)).toEqual([r.id]);
  });
});
