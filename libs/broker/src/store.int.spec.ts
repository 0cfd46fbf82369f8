import { failed, type RequestRecord, type WorkOutcome } from '@argus/contracts';
import { redisForTest, testInferenceResult, testRequestRecord as record, testRetention } from '@argus/testing';
import type { Redis } from 'ioredis';
import { jobEndMessageHead, parseJobEvent } from './job-events';
import { PERSISTED_RECORD_TTL_SECONDS, ArgusStore } from './store';

const retention = testRetention();
const result = testInferenceResult();
const ok: WorkOutcome = { ok: true, result };

describe(ArgusStore.name, () => {
  let redis: Redis;
  let store: ArgusStore;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const t = await redisForTest('store');
    redis = t.redis;
    cleanup = t.cleanup;
    store = new ArgusStore(redis, t.prefix, retention);
  });
  afterAll(() => cleanup());

  const end = (r: RequestRecord, outcome: WorkOutcome = ok, remember: boolean | number = true, persistId = `end.${r.id}`) =>
    store.endWork(r, r.id, outcome, remember, persistId, jobEndMessageHead(r.id, outcome));
  const ledger = async () => (await redis.zrange(store.keys.unpersisted(), 0, -1)).sort();

  it('attaches requests to unfinished work, hands them all over with its end, then answers later ones from the outcome', async () => {
    const first = record('1'.repeat(64));
    const second = record('1'.repeat(64));
    expect(await store.admit(first, Buffer.from('bytes'))).toEqual({ kind: 'miss' });
    expect(await store.admit(second, Buffer.from('bytes'))).toEqual({ kind: 'miss' });
    expect((await redis.smembers(store.keys.attached(first.workKey))).sort()).toEqual([first.id, second.id].sort());
    expect(await ledger()).toEqual(expect.arrayContaining([first.id, second.id]));

    const handed = await end(first);
    expect(handed.records.map((r) => r.id).sort()).toEqual([first.id, second.id].sort());
    expect(handed.missing).toEqual([]);
    expect(await redis.smembers(store.keys.attached(first.workKey))).toEqual([]);
    expect(await store.getRequest(second.id)).toMatchObject({ handed: `end.${first.id}` });

    // Ending it again (a retried job) hands over nobody.
    expect((await end(first)).records).toEqual([]);

    const third = record('1'.repeat(64));
    expect(await store.admit(third, Buffer.from('bytes'))).toEqual({ kind: 'hit', outcome: ok });
    expect(await redis.smembers(store.keys.attached(first.workKey))).toEqual([]);
    expect(await store.getRequest(third.id)).toMatchObject({ record: { id: third.id }, cached: true });
    expect(await store.getRequest(first.id)).toMatchObject({ record: { id: first.id }, cached: false });
    // A hit is accepted work too: it waits in the ledger until its row is persisted.
    expect(await ledger()).toContain(third.id);
  });

  it('ends several works in one pipeline: each keeps its own outcome and requests, all marked with one persist job', async () => {
    const a = record('a1'.repeat(32));
    const b = record('b1'.repeat(32));
    const alsoB = record('b1'.repeat(32));
    for (const r of [a, b, alsoB]) expect((await store.admit(r, Buffer.from('bytes'))).kind).toBe('miss');
    const bad = failed({ code: 'unsupported_image_type', message: 'not an image' });
    const handed = await store.endWorks(
      [
        { work: a, holder: a.id, outcome: ok, remember: true, eventHead: jobEndMessageHead(a.id, ok) },
        { work: b, holder: b.id, outcome: bad, remember: true, eventHead: jobEndMessageHead(b.id, bad) },
      ],
      'end.together',
    );
    expect(handed.map((h) => h.records.map((r) => r.id).sort())).toEqual([[a.id], [b.id, alsoB.id].sort()]);
    expect(await store.getOutcome(a.workKey)).toEqual(ok);
    expect(await store.getOutcome(b.workKey)).toMatchObject({ ok: false, error: { code: 'unsupported_image_type' } });
    for (const r of [a, b, alsoB]) expect(await store.getRequest(r.id)).toMatchObject({ handed: 'end.together' });
    expect(await store.endWorks([], 'end.none')).toEqual([]);
  });

  it('ends works on a connection whose first call it is (the scripts are defined before its pipeline is made)', async () => {
    const r = record('c1'.repeat(32));
    expect((await store.admit(r, Buffer.from('bytes'))).kind).toBe('miss');
    const fresh = await redisForTest('store-fresh');
    try {
      const first = new ArgusStore(fresh.redis, store.keys.prefix, retention);
      const bad = failed({ code: 'corrupt_image', message: 'damaged' });
      const [handed] = await first.endWorks([{ work: r, holder: r.id, outcome: bad, remember: 30, eventHead: jobEndMessageHead(r.id, bad) }], 'end.fresh');
      expect(handed?.records.map((x) => x.id)).toEqual([r.id]);
      expect(await store.getOutcome(r.workKey)).toMatchObject({ ok: false, error: { code: 'corrupt_image' } });
    } finally {
      await fresh.cleanup();
    }
  });

  it('claims an Idempotency-Key in the same step as the record, and names its request to the next', async () => {
    const a = record('6'.repeat(64));
    const b = record('6'.repeat(64));
    expect(await store.admit(a, Buffer.from('x'), { clientId: 'alice', key: 'k-1', fingerprint: 'fp-1' })).toEqual({ kind: 'miss' });
    expect(await store.admit(b, Buffer.from('x'), { clientId: 'alice', key: 'k-1', fingerprint: 'fp-2' })).toEqual({ kind: 'replay', requestId: a.id, fingerprint: 'fp-1' });
    // The replayed request left no trace of its own.
    expect(await store.getRequest(b.id)).toBeNull();
    expect(await ledger()).not.toContain(b.id);
    // Keys are per client.
    expect((await store.admit(b, Buffer.from('x'), { clientId: 'bob', key: 'k-1', fingerprint: 'fp-1' })).kind).toBe('miss');
    expect(await redis.ttl(store.keys.idempotency('alice', 'k-1'))).toBeLessThanOrEqual(retention.idempotencyTtlSeconds);
  });

  it('names attached requests whose records expired instead of losing the others, and stores no outcome when told not to', async () => {
    const r = record('5'.repeat(64));
    const gone = record('5'.repeat(64));
    await store.admit(r, Buffer.from('x'));
    await store.admit(gone, Buffer.from('x'));
    await redis.del(store.keys.request(gone.id));
    const handed = await end(r, ok, false);
    expect({ records: handed.records.map((x) => x.id), missing: handed.missing }).toEqual({ records: [r.id], missing: [gone.id] });
    expect(await store.getOutcome(r.workKey)).toBeNull();
  });

  it('announces a job\'s end on the job-events channel, with the outcome', async () => {
    const listener = redis.duplicate();
    const messages: string[] = [];
    await listener.subscribe(store.keys.jobEvents());
    listener.on('message', (_c: string, m: string) => messages.push(m));
    try {
      const r = record('7'.repeat(64));
      await store.admit(r, Buffer.from('x'));
      const failure = failed({ code: 'corrupt_image', message: 'bad' });
      await end(r, failure, 7);
      for (let i = 0; i < 50 && messages.length === 0; i++) await new Promise((res) => setTimeout(res, 10));
      expect(messages.map((m) => parseJobEvent(m))).toEqual([{ jobId: r.id, event: { state: 'failed', outcome: failure } }]);
      expect(await store.getOutcome(r.workKey)).toEqual(failure);
      expect(await redis.ttl(store.keys.outcome(r.workKey))).toBeLessThanOrEqual(7);
    } finally {
      listener.disconnect();
    }
  });

  it('keeps at most CACHE_MAX_ENTRIES outcomes, dropping the oldest', async () => {
    const small = new ArgusStore(redis, `${store.keys.prefix}-small`, { ...retention, cacheMaxEntries: 3 });
    const records = ['a', 'b', 'c', 'd', 'e'].map((c) => record(c.repeat(64)));
    for (const r of records) {
      await small.admit(r, Buffer.from('x'));
      await small.endWork(r, r.id, ok, true, `end.${r.id}`, jobEndMessageHead(r.id, ok));
      await new Promise((resolve) => setTimeout(resolve, 2)); // outcomes are ordered by the millisecond they were stored
    }
    const kept = await Promise.all(records.map(async (r) => (await small.getOutcome(r.workKey)) !== null));
    expect(kept).toEqual([false, false, true, true, true]);
    expect(await redis.zcard(small.keys.outcomeIndex())).toBe(3);
  });

  it('notes the job of a missed request, holds its image, and gives a worker outcome and image in one read', async () => {
    const r = record('4'.repeat(64));
    expect(await store.jobInputs(r.workKey, r.sha256)).toEqual({ outcome: null, image: null });
    await store.admit(r, Buffer.from([7, 8, 9]));
    expect(await store.getRequest(r.id)).toMatchObject({ jobId: r.id, cached: false });
    expect(await store.jobInputs(r.workKey, r.sha256, '{"j":"x","s":"active"}')).toEqual({ outcome: null, image: Buffer.from([7, 8, 9]) });

    await end(r);
    expect(await store.jobInputs(r.workKey, r.sha256)).toEqual({ outcome: ok, image: Buffer.from([7, 8, 9]) });
    // A hit notes no job and holds no image.
    const hit = record('4'.repeat(64));
    expect((await store.admit(hit, Buffer.from([1]))).kind).toBe('hit');
    expect(await store.getRequest(hit.id)).not.toHaveProperty('jobId');
    expect(await store.getImage(r.sha256)).toEqual(Buffer.from([7, 8, 9]));
  });

  it('keeps image bytes while any job holds them, then only for the retention time', async () => {
    const a = record('2'.repeat(64));
    const b = record('2'.repeat(64));
    await store.admit(a, Buffer.from([1, 2, 3]));
    await store.admit(b, Buffer.from([1, 2, 3]));
    await store.releaseImage(a.sha256, a.id);
    await store.releaseImage(a.sha256, a.id); // a retried job releases twice: harmless
    expect(await redis.ttl(store.keys.image(a.sha256))).toBeGreaterThan(retention.imageRetentionSeconds);
    await end(b);
    const ttl = await redis.ttl(store.keys.image(a.sha256));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(retention.imageRetentionSeconds);
    expect(await store.getImage(a.sha256)).toEqual(Buffer.from([1, 2, 3]));
  });

  it('keeps the ledger: due entries, postponed ones, settled ones leave with their records shortened', async () => {
    const old = record('8'.repeat(64), { createdAt: new Date(Date.now() - 120_000).toISOString() });
    const fresh = record('9'.repeat(64));
    await store.admit(old, Buffer.from('x'));
    await store.admit(fresh, Buffer.from('x'));
    const due = await store.dueUnpersisted(Date.now(), 1000);
    expect(due).toContain(old.id);
    expect(due).not.toContain(fresh.id);
    await store.postpone([old.id], Date.now() + 60_000);
    expect(await store.dueUnpersisted(Date.now(), 1000)).not.toContain(old.id);
    await store.settle([old.id, fresh.id]);
    expect(await ledger()).not.toEqual(expect.arrayContaining([old.id]));
    expect(await ledger()).not.toEqual(expect.arrayContaining([fresh.id]));
    expect(await redis.ttl(store.keys.request(old.id))).toBeLessThanOrEqual(PERSISTED_RECORD_TTL_SECONDS);
    // Postponing a settled request does not bring it back.
    await store.postpone([old.id], Date.now());
    expect(await ledger()).not.toEqual(expect.arrayContaining([old.id]));
  });

  it('puts a request recorded without a job back on its work', async () => {
    const r = record('0'.repeat(64), { clientId: 'x' });
    await store.admit(r, Buffer.from('x'));
    await redis.srem(store.keys.attached(r.workKey), r.id);
    await store.reattach(r);
    expect(await redis.smembers(store.keys.attached(r.workKey))).toEqual([r.id]);
    expect((await end(r)).records.map((x) => x.id)).toEqual([r.id]);
  });

  it('cancels a waiting request atomically: it leaves its work, the end of the work hands over the others only', async () => {
    const mine = record('d7'.repeat(32));
    const other = record('d7'.repeat(32));
    await store.admit(mine, Buffer.from('x'));
    await store.admit(other, Buffer.from('x'));
    const canceled = await store.cancel(mine, 'cancel.1', new Date('2026-01-01T00:00:00Z'));
    expect(canceled).toEqual({ kind: 'canceled', at: '2026-01-01T00:00:00.000Z', stillAttached: 1 });
    expect(await store.getRequest(mine.id)).toMatchObject({ canceledAt: '2026-01-01T00:00:00.000Z', handed: 'cancel.1' });
    // Canceling again changes nothing.
    expect(await store.cancel(mine, 'cancel.2')).toEqual({ kind: 'already', at: '2026-01-01T00:00:00.000Z' });
    expect((await end(other)).records.map((r) => r.id)).toEqual([other.id]);
    // Its work has ended: too late to cancel the other one.
    expect(await store.cancel(other, 'cancel.3')).toEqual({ kind: 'ended' });
    expect(await store.cancel(record('d7'.repeat(32)), 'cancel.4')).toEqual({ kind: 'missing' });
  });

  it('refuses to cancel a cache hit, and says when nobody else needs the work', async () => {
    const alone = record('d8'.repeat(32));
    await store.admit(alone, Buffer.from('x'));
    expect(await store.cancel(alone, 'c')).toMatchObject({ kind: 'canceled', stillAttached: 0 });
    const done = record('d9'.repeat(32));
    await store.admit(done, Buffer.from('x'));
    await end(done);
    const hit = record('d9'.repeat(32));
    expect((await store.admit(hit, Buffer.from('x'))).kind).toBe('hit');
    expect(await store.cancel(hit, 'c')).toEqual({ kind: 'ended' });
  });

  it('erases a finished request\'s outcome and record, and its image only when no job still holds it', async () => {
    const r = record('da'.repeat(32));
    await store.admit(r, Buffer.from('image'));
    await end(r);
    expect(await store.getOutcome(r.workKey)).not.toBeNull();
    expect(await redis.zscore(store.keys.outcomeIndex(), r.workKey)).not.toBeNull();
    expect(await store.erase(r)).toEqual({ outcome: true, image: true });
    expect(await store.getOutcome(r.workKey)).toBeNull();
    expect(await redis.zscore(store.keys.outcomeIndex(), r.workKey)).toBeNull();
    expect(await store.getImage(r.sha256)).toBeNull();
    expect(await store.getRequest(r.id)).toBeNull();

    // Same photo, another client's job waiting on its bytes: they stay.
    const held = record('db'.repeat(32));
    await store.admit(held, Buffer.from('image'));
    const waiting = { ...record('dc'.repeat(32)), sha256: held.sha256 };
    await store.admit(waiting, Buffer.from('image'));
    await end(held);
    expect(await store.erase(held)).toEqual({ outcome: true, image: false });
    expect(await store.getImage(held.sha256)).toEqual(Buffer.from('image'));
  });

  it('claims a batch\'s Idempotency-Key once and names the batch and fingerprint to the next', async () => {
    expect(await store.claimBatch({ clientId: 'alice', key: 'b-1', fingerprint: 'f1' }, 'batch-1')).toEqual({ claimed: true, batchId: 'batch-1', fingerprint: 'f1' });
    expect(await store.claimBatch({ clientId: 'alice', key: 'b-1', fingerprint: 'f2' }, 'batch-2')).toEqual({ claimed: false, batchId: 'batch-1', fingerprint: 'f1' });
    expect((await store.claimBatch({ clientId: 'bob', key: 'b-1', fingerprint: 'f1' }, 'batch-3')).claimed).toBe(true);
  });
});
