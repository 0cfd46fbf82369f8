import { ArgusStore, DetectJobs, jobEndMessageHead, PersistJobs, type PersistQueue } from '@argus/broker';
import { QueueName, type WorkOutcome } from '@argus/contracts';
import { redisForTest, testInferenceResult, testRequestRecord, testRetention } from '@argus/testing';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Reconciler } from './reconciler.service';

const done: WorkOutcome = { ok: true, result: testInferenceResult() };

/**
 * The crash the ledger exists for, on the real Redis and BullMQ: a gateway records a request
 * (with its Idempotency-Key) and dies before adding the job. The client's retry with the same key
 * is answered with the first request, and the reconciler adds the job that was never added; the
 * work then ends and is handed over once.
 */
describe(`${Reconciler.name} on Redis`, () => {
  let redis: Redis;
  let cleanup: () => Promise<void>;
  let store: ArgusStore;
  let jobs: DetectJobs;
  let results: PersistQueue;
  let reconciler: Reconciler;

  beforeAll(async () => {
    const t = await redisForTest('reconciler');
    redis = t.redis;
    cleanup = t.cleanup;
    store = new ArgusStore(redis, t.prefix, { ...testRetention(), reconcileAfterSeconds: 1 });
    jobs = new DetectJobs(redis, t.prefix, { attempts: 3, backoffMs: 10 });
    results = new Queue(QueueName.Results, { connection: redis, prefix: t.prefix });
    reconciler = new Reconciler(store, jobs, new PersistJobs(results));
  });
  afterAll(async () => {
    await jobs.close();
    await results.close();
    await cleanup();
  });

  it('adds the job a crashed gateway never added; a retry with the same Idempotency-Key gets the same request', async () => {
    const record = testRequestRecord('f'.repeat(64), { clientId: 'key:alice' });
    const claim = { clientId: 'key:alice', key: 'retry-me', fingerprint: `${record.workKey}:normal` };
    // The gateway admits the request, then dies before adding its job.
    expect(await store.admit(record, Buffer.from('image'), claim)).toEqual({ kind: 'miss' });
    expect(await jobs.state(record.model.name, record.id)).toEqual({ state: 'missing' });

    // The client retries with the same key: the first request answers, nothing new is recorded.
    const retry = testRequestRecord('f'.repeat(64), { clientId: 'key:alice' });
    expect(await store.admit(retry, Buffer.from('image'), claim)).toEqual({ kind: 'replay', requestId: record.id, fingerprint: claim.fingerprint });
    expect(await store.getRequest(retry.id)).toBeNull();

    // Not yet due: the reconciler leaves fresh requests to the normal path.
    expect((await reconciler.pass(Date.now())).has(record.id)).toBe(false);
    const done1 = await reconciler.pass(Date.now() + 2000);
    expect(done1.get(record.id)).toBe('re-queued');
    expect(await jobs.state(record.model.name, record.id)).toEqual({ state: 'queued' });
    // A second pass finds the job and waits.
    expect((await reconciler.pass(Date.now() + 120_000)).get(record.id)).toBe('waiting');

    // The work ends (as a worker would end it) and the request is handed over once.
    const handed = await store.endWork(record, record.id, done, true, 'end.x', jobEndMessageHead(record.id, done));
    expect(handed.records.map((r) => r.id)).toEqual([record.id]);
  });
});
