import type { InferenceResult, RequestRecord } from '@argus/contracts';
import { redisForTest } from '@argus/testing';
import type { Redis } from 'ioredis';
import { ArgusStore } from './store';
import { newRequestId, workKey } from './work-key';

const retention = {
  cacheTtlSeconds: 60,
  negativeCacheTtlSeconds: 30,
  imageTtlSeconds: 120,
  imageRetentionSeconds: 5,
  requestTtlSeconds: 300,
};
const params = { confidence: 0.25, iou: 0.45, classes: null, maxDetections: 300, agnostic: false };
const model = { name: 'yolox-nano', version: 'v1' };

function record(sha: string): RequestRecord {
  return {
    id: newRequestId(),
    workKey: workKey(sha, model, params),
    sha256: sha,
    width: 640,
    height: 480,
    bytes: 1000,
    model,
    params,
    classLabels: null,
    priority: 'normal',
    correlationId: 'c-1',
    createdAt: new Date().toISOString(),
  };
}

const result: InferenceResult = {
  model,
  width: 640,
  height: 480,
  detections: [{ label: 'bus', classId: 5, score: 0.9, box: { x1: 1, y1: 2, x2: 3, y2: 4 } }],
  timings: { inference: 6 },
  provider: 'cpu',
  finishedAt: new Date().toISOString(),
};

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

  it('attaches requests to unfinished work, then answers later ones from the outcome', async () => {
    const first = record('1'.repeat(64));
    const second = { ...record('1'.repeat(64)) };
    expect(await store.admit(first)).toBeNull();
    expect(await store.admit(second)).toBeNull();
    expect((await store.attachedRequests(first.workKey)).sort()).toEqual([first.id, second.id].sort());

    await store.holdImage(first.sha256, first.id, Buffer.from('bytes'));
    await store.finishWork(first, first.id, { ok: true, result });

    const third = record('1'.repeat(64));
    expect(await store.admit(third)).toEqual({ ok: true, result });
    expect(await store.attachedRequests(first.workKey)).not.toContain(third.id);
    expect(await store.getRequest(third.id)).toMatchObject({ record: { id: third.id }, cached: true });
    expect(await store.getRequest(first.id)).toMatchObject({ record: { id: first.id }, cached: false });
  });

  it('notes the job of a missed request, and gives a worker outcome and image in one read', async () => {
    const r = record('4'.repeat(64));
    expect(await store.jobInputs(r.workKey, r.sha256)).toEqual({ outcome: null, image: null });
    expect(await store.admit(r)).toBeNull();
    expect(await store.getRequest(r.id)).toMatchObject({ jobId: r.id, cached: false });
    await store.holdImage(r.sha256, r.id, Buffer.from([7, 8, 9]));
    expect(await store.jobInputs(r.workKey, r.sha256)).toEqual({ outcome: null, image: Buffer.from([7, 8, 9]) });

    await store.finishWork(r, r.id, { ok: true, result });
    expect(await store.jobInputs(r.workKey, r.sha256)).toEqual({ outcome: { ok: true, result }, image: Buffer.from([7, 8, 9]) });
    // A hit notes no job.
    const hit = record('4'.repeat(64));
    expect(await store.admit(hit)).toEqual({ ok: true, result });
    expect(await store.getRequest(hit.id)).not.toHaveProperty('jobId');
  });

  it('keeps image bytes while any job holds them, then only for the retention time', async () => {
    const sha = '2'.repeat(64);
    await store.holdImage(sha, 'job-a', Buffer.from([1, 2, 3]));
    await store.holdImage(sha, 'job-b', Buffer.from([1, 2, 3]));
    await store.releaseImage(sha, 'job-a');
    await store.releaseImage(sha, 'job-a'); // a retried job releases twice: harmless
    expect(await redis.ttl(store.keys.image(sha))).toBeGreaterThan(retention.imageRetentionSeconds);
    await store.finishWork({ workKey: 'w'.repeat(64), sha256: sha }, 'job-b', { ok: true, result });
    const ttl = await redis.ttl(store.keys.image(sha));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(retention.imageRetentionSeconds);
    expect(await store.getImage(sha)).toEqual(Buffer.from([1, 2, 3]));
  });

  it('remembers a failure for the time it is given', async () => {
    const r = record('3'.repeat(64));
    await store.finishWork(r, r.id, { ok: false, error: { code: 'corrupt_image', message: 'bad' } }, 7);
    expect(await store.getOutcome(r.workKey)).toEqual({ ok: false, error: { code: 'corrupt_image', message: 'bad' } });
    expect(await redis.ttl(store.keys.outcome(r.workKey))).toBeLessThanOrEqual(7);
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
    await store.withdrawWorker('w1');
    expect(await store.liveWorkers()).toEqual([]);
  });
});
