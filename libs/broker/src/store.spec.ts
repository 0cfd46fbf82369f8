import type { RequestRecord } from '@argus/contracts';
import { redisForTest, testInferenceResult, testRequestRecord as record } from '@argus/testing';
import type { Redis } from 'ioredis';
import { isResultsEntry, parseResultsEntry } from './results-stream';
import { ArgusStore } from './store';

const retention = {
  cacheTtlSeconds: 60,
  negativeCacheTtlSeconds: 30,
  imageTtlSeconds: 120,
  imageRetentionSeconds: 5,
  requestTtlSeconds: 300,
};
const result = testInferenceResult();

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

  /** The results stream's entries so far, parsed. */
  async function stream() {
    const raw = await redis.xrange(store.keys.resultsStream(), '-', '+');
    return raw.map(([id, fields]) => parseResultsEntry(id, fields));
  }
  const completed = (r: RequestRecord) => ({ jobId: r.id, attempts: 1, outcome: { ok: true, result } }) as const;

  it('attaches requests to unfinished work, then hands them all over with its end, and answers later ones from the outcome', async () => {
    const first = record('1'.repeat(64));
    const second = record('1'.repeat(64));
    expect(await store.admit(first, Buffer.from('bytes'))).toBeNull();
    expect(await store.admit(second, Buffer.from('bytes'))).toBeNull();
    expect((await redis.smembers(store.keys.attached(first.workKey))).sort()).toEqual([first.id, second.id].sort());
    await redis.del(store.keys.resultsStream());

    expect(await store.endWork(first, first.id, completed(first), true)).toBe(2);
    const [ended] = await stream();
    expect(ended && isResultsEntry(ended) && ended.message).toEqual({ kind: 'completed', workKey: first.workKey, jobId: first.id, result, attempts: 1 });
    expect(ended && isResultsEntry(ended) && ended.records.map((r) => r.id).sort()).toEqual([first.id, second.id].sort());
    expect(await redis.smembers(store.keys.attached(first.workKey))).toEqual([]);

    // Ending it again (a retried job) hands over nobody and sends nothing.
    expect(await store.endWork(first, first.id, completed(first), true)).toBe(0);
    expect(await stream()).toHaveLength(1);

    const third = record('1'.repeat(64));
    expect(await store.admit(third, Buffer.from('bytes'))).toEqual({ ok: true, result });
    expect(await redis.smembers(store.keys.attached(first.workKey))).toEqual([]);
    expect(await store.getRequest(third.id)).toMatchObject({ record: { id: third.id }, cached: true });
    expect(await store.getRequest(first.id)).toMatchObject({ record: { id: first.id }, cached: false });
    // The hit is on the stream too, for its own row.
    const hit = (await stream())[1];
    expect(hit && isResultsEntry(hit) && hit.message).toEqual({ kind: 'cached', workKey: third.workKey, requestId: third.id, result });
    expect(hit && isResultsEntry(hit) && hit.records.map((r) => r.id)).toEqual([third.id]);
  });

  it('names attached requests whose records expired instead of losing the message', async () => {
    const r = record('5'.repeat(64));
    const gone = record('5'.repeat(64));
    await store.admit(r, Buffer.from('x'));
    await store.admit(gone, Buffer.from('x'));
    await redis.del(store.keys.request(gone.id));
    await redis.del(store.keys.resultsStream());
    await store.endWork(r, r.id, completed(r), false);
    const [entry] = await stream();
    expect(entry && isResultsEntry(entry) && { records: entry.records.map((x) => x.id), missing: entry.missing }).toEqual({ records: [r.id], missing: [gone.id] });
    // Nothing was remembered as the outcome.
    expect(await store.getOutcome(r.workKey)).toBeNull();
  });

  it('notes the job of a missed request, holds its image, and gives a worker outcome and image in one read', async () => {
    const r = record('4'.repeat(64));
    expect(await store.jobInputs(r.workKey, r.sha256)).toEqual({ outcome: null, image: null });
    expect(await store.admit(r, Buffer.from([7, 8, 9]))).toBeNull();
    expect(await store.getRequest(r.id)).toMatchObject({ jobId: r.id, cached: false });
    expect(await store.jobInputs(r.workKey, r.sha256)).toEqual({ outcome: null, image: Buffer.from([7, 8, 9]) });

    await store.endWork(r, r.id, completed(r), true);
    expect(await store.jobInputs(r.workKey, r.sha256)).toEqual({ outcome: { ok: true, result }, image: Buffer.from([7, 8, 9]) });
    // A hit notes no job and holds no image.
    const hit = record('4'.repeat(64));
    expect(await store.admit(hit, Buffer.from([1]))).toEqual({ ok: true, result });
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
    await store.endWork(b, b.id, completed(b), true);
    const ttl = await redis.ttl(store.keys.image(a.sha256));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(retention.imageRetentionSeconds);
    expect(await store.getImage(a.sha256)).toEqual(Buffer.from([1, 2, 3]));
  });

  it('remembers a failure for the time it is given', async () => {
    const r = record('3'.repeat(64));
    const error = { code: 'corrupt_image', message: 'bad' } as const;
    const failedAt = new Date().toISOString();
    await redis.del(store.keys.resultsStream());
    await store.admit(r, Buffer.from('x'));
    await store.endWork(r, r.id, { jobId: r.id, attempts: 2, outcome: { ok: false, error }, failedAt }, 7);
    expect(await store.getOutcome(r.workKey)).toEqual({ ok: false, error });
    expect(await redis.ttl(store.keys.outcome(r.workKey))).toBeLessThanOrEqual(7);
    const [entry] = await stream();
    expect(entry && isResultsEntry(entry) && entry.message).toEqual({ kind: 'failed', workKey: r.workKey, jobId: r.id, error, attempts: 2, failedAt });
  });

  it('gives an Idempotency-Key to the first request and names it to the next', async () => {
    expect(await store.claimIdempotencyKey('client', 'key-1', 'req-1', 'fp-1')).toBeNull();
    expect(await store.claimIdempotencyKey('client', 'key-1', 'req-2', 'fp-2')).toEqual({ requestId: 'req-1', fingerprint: 'fp-1' });
    expect(await store.claimIdempotencyKey('other-client', 'key-1', 'req-3', 'fp-1')).toBeNull();
  });

  it('publishes models with a heartbeat that lists live workers', async () => {
    await store.publishModels(
      'w1',
      [
        {
          name: 'yolox-nano',
          version: 'v1',
          family: 'yolox',
          input: { width: 416, height: 416 },
          dynamicBatch: true,
          maxBatchSize: 8,
          labels: ['person'],
          provider: 'cpu',
          requestedProviders: ['cpu'],
          loadMs: 1,
          warmupMs: 1,
          updatedAt: new Date().toISOString(),
        },
      ],
      10,
    );
    expect((await store.listModels()).map((m) => m.name)).toEqual(['yolox-nano']);
    expect((await store.liveWorkers()).map((w) => w.id)).toEqual(['w1']);
    // A process that stopped beating is not live, and is dropped from the registry after a while.
    const stopped = (ago: number) => JSON.stringify({ models: [], at: new Date().toISOString(), expiresAt: Date.now() - ago });
    await redis.hset(store.keys.workers(), 'gone-recently', stopped(1000), 'gone-long-ago', stopped(3_600_000));
    expect((await store.liveWorkers()).map((w) => w.id)).toEqual(['w1']);
    await store.publishModels('w1', [], 10);
    expect(Object.keys(await redis.hgetall(store.keys.workers())).sort()).toEqual(['gone-recently', 'w1']);
    await store.withdrawWorker('w1');
    expect(await store.liveWorkers()).toEqual([]);
    // One key holds the registry: listing never scans the keyspace.
    expect(await redis.keys(`${store.keys.prefix}:worker*`)).toEqual([store.keys.workers()]);
  });
});
