import type { ArgusStore, DetectJobs, JobEvents, PersistJobs } from '@argus/broker';
import { buildConfig } from '@argus/config';
import type { WorkOutcome } from '@argus/contracts';
import { FakeDetectJobs, FakeJobEvents, FakePersistJobs, FakeStore } from '@argus/fakes';
import { Metrics } from '@argus/observability';
import { testInferenceResult, testModelInfo } from '@argus/testing';
import sharp from 'sharp';
import type { Backpressure, Overload } from '../access/backpressure.service';
import type { Drain } from '../access/drain.service';
import { ApiError } from '../errors/api-error';
import type { ModelCatalog } from '../models/model-catalog.service';
import { CompletionWaiter } from './completion-waiter';
import type { ImageSources } from './image-sources.service';
import { DetectionsService, type Submission } from './detections.service';

const model = testModelInfo(['person', 'bicycle', 'car']);

/** The submission use case on fakes of the store, the queues and the completion channel. */
function setup(options: { overload?: { now: Overload | null }; workers?: number; cacheScope?: 'tenant' | 'global'; alternate?: boolean } = {}) {
  const store = new FakeStore();
  const jobs = new FakeDetectJobs();
  const persist = new FakePersistJobs();
  const events = new FakeJobEvents();
  // Weighted picks alternate between versions v1 and v2; `name@version` pins.
  let picks = 0;
  const catalog = {
    choose: async (text: string) => {
      const [, pinned] = text.split('@');
      if (pinned) return { info: { ...model, version: pinned }, pinned: true };
      return { info: { ...model, version: options.alternate && picks++ % 2 === 1 ? 'v2' : 'v1' }, pinned: false };
    },
    liveWorkers: async () => options.workers ?? 1,
  } as unknown as ModelCatalog;
  const backpressure = {
    check: async () => options.overload?.now ?? null,
    refusal: () => new ApiError('overloaded', 'too much', { 'Retry-After': '5' }),
  } as unknown as Backpressure;
  const drain = { race: <T>(wait: Promise<T | null>) => wait } as unknown as Drain;
  const waiter = new CompletionWaiter(events as unknown as JobEvents, store as unknown as ArgusStore);
  const service = new DetectionsService(
    buildConfig({ NODE_ENV: 'test', CACHE_SCOPE: options.cacheScope ?? 'tenant' }),
    store as unknown as ArgusStore,
    catalog,
    waiter,
    jobs as unknown as DetectJobs,
    persist as unknown as PersistJobs,
    new Metrics('test'),
    backpressure,
    drain,
    // Uploads only here: image URLs have their own tests (urls-webhooks.e2e.spec.ts).
    { fetch: async () => Promise.reject(new Error('no URLs in these tests')), checkCallback: async (url: string) => url } as unknown as ImageSources,
  );
  return { service, store, jobs, persist, events };
}

let image: Buffer;
beforeAll(async () => {
  image = await sharp({ create: { width: 32, height: 24, channels: 3, background: '#808080' } }).png().toBuffer();
});

const submission = (overrides: Partial<Submission> = {}): Submission => ({
  image: { bytes: image },
  fields: {},
  correlationId: 'c-1',
  clientId: 'key:alice',
  allowedPriorities: ['high', 'normal', 'low'],
  ...overrides,
});
const done: WorkOutcome = { ok: true, result: testInferenceResult() };

describe(DetectionsService.name, () => {
  it('queues a miss as a job named after the request, on its model, and answers 202 queued', async () => {
    const { service, jobs, store } = setup();
    const reply = await service.submit(submission());
    expect(reply.status).toBe(202);
    expect(reply.view).toMatchObject({ status: 'queued', model: { name: 'yolox-nano', version: 'v1' }, image: { width: 32, height: 24 }, cached: false });
    expect(jobs.jobs.get(reply.view.id)).toMatchObject({ model: 'yolox-nano', priority: 2, state: { state: 'queued' } });
    expect(store.ledger.has(reply.view.id)).toBe(true);
  });

  it('answers with the result when the job ends within wait, from the completion channel', async () => {
    const { service, events } = setup();
    const pending = service.submit(submission({ fields: { wait: 5000 } }));
    await new Promise((r) => setTimeout(r, 10));
    const [jobId] = events.watched();
    expect(jobId).toBeDefined();
    events.emit(String(jobId), { state: 'completed', outcome: done });
    const reply = await pending;
    expect(reply.status).toBe(200);
    expect(reply.view).toMatchObject({ status: 'completed', detections: done.ok ? done.result.detections : [], cached: false });
  });

  it('answers a repeat from the cache with cached: true and hands its row over, with no job', async () => {
    const { service, store, jobs, persist } = setup();
    const first = await service.submit(submission());
    const workKey = store.requests.get(first.view.id)?.record.workKey ?? '';
    store.outcomes.set(workKey, done);
    const hit = await service.submit(submission());
    expect(hit).toMatchObject({ status: 200, view: { status: 'completed', cached: true } });
    expect(jobs.jobs.has(hit.view.id)).toBe(false);
    expect(persist.handed()).toEqual([{ id: hit.view.id, end: expect.objectContaining({ cached: true, jobId: null, outcome: done }) }]);
  });

  it("never answers one tenant from another's work (per-tenant cache), unless CACHE_SCOPE=global", async () => {
    for (const scope of ['tenant', 'global'] as const) {
      const { service, store } = setup({ cacheScope: scope });
      const alice = await service.submit(submission({ clientId: 'key:alice' }));
      store.outcomes.set(store.requests.get(alice.view.id)?.record.workKey ?? '', done);
      const bob = await service.submit(submission({ clientId: 'key:bob' }));
      expect({ scope, cached: bob.view.cached }).toEqual({ scope, cached: scope === 'global' });
    }
  });

  it('joins identical work in flight: no second job, its image hold released, the shared job promoted', async () => {
    const { service, jobs, store } = setup();
    const first = await service.submit(submission({ fields: { priority: 'low' } }));
    const second = await service.submit(submission({ fields: { priority: 'high' } }));
    expect(jobs.jobs.size).toBe(1);
    expect(store.requests.get(second.view.id)?.jobId).toBe(first.view.id);
    expect(store.holders.get(store.requests.get(first.view.id)?.record.sha256 ?? '')?.has(second.view.id)).toBe(false);
    expect(jobs.jobs.get(first.view.id)?.priority).toBe(1);
  });

  it('replays a request for the same Idempotency-Key, and refuses the key for a different request', async () => {
    const { service, jobs } = setup();
    const first = await service.submit(submission({ idempotencyKey: 'k-1' }));
    const again = await service.submit(submission({ idempotencyKey: 'k-1' }));
    expect(again.view.id).toBe(first.view.id);
    expect(jobs.jobs.size).toBe(1);
    await expect(service.submit(submission({ idempotencyKey: 'k-1', fields: { confidence: 0.9 } }))).rejects.toMatchObject({ code: 'idempotency_key_reused' });
  });

  it('keeps a request it recorded when the job cannot be added: 202, in the ledger for the reconciler, never a 5xx', async () => {
    const { service, jobs, store } = setup();
    jobs.failNextEnqueue = true;
    const reply = await service.submit(submission());
    expect(reply.status).toBe(202);
    expect(jobs.jobs.size).toBe(0);
    expect(store.ledger.has(reply.view.id)).toBe(true);
    expect(store.attached.size).toBe(1);
  });

  it('still answers a cache hit when its row cannot be handed over now (the reconciler will)', async () => {
    const { service, store, persist } = setup();
    const first = await service.submit(submission());
    store.outcomes.set(store.requests.get(first.view.id)?.record.workKey ?? '', done);
    persist.failNext = true;
    const hit = await service.submit(submission());
    expect(hit).toMatchObject({ status: 200, view: { cached: true } });
    expect(store.ledger.has(hit.view.id)).toBe(true);
  });

  it('refuses new work under backpressure before recording anything, but serves a cached result', async () => {
    const overload = { now: null as Overload | null };
    const { service, store } = setup({ overload });
    const first = await service.submit(submission());
    store.outcomes.set(store.requests.get(first.view.id)?.record.workKey ?? '', done);
    overload.now = { reason: 'queue', model: 'yolox-nano', backlog: 9, max: 5 };
    const recorded = store.requests.size;
    await expect(service.submit(submission({ fields: { confidence: 0.9 } }))).rejects.toMatchObject({ code: 'overloaded' });
    expect(store.requests.size).toBe(recorded);
    expect(await service.submit(submission())).toMatchObject({ status: 200, view: { cached: true } });
  });

  it('says in a queued answer when no inference process serves the model right now', async () => {
    const { service } = setup({ workers: 0 });
    const reply = await service.submit(submission());
    expect(reply.view.note).toMatch(/No inference process serves model "yolox-nano"/);
  });

  it('records a pinned version in the request and its job, and never shares work between a pin and a weighted pick', async () => {
    const { service, store, jobs } = setup();
    const weighted = await service.submit(submission());
    const pinned = await service.submit(submission({ fields: { model: 'yolox-nano@v1' } }));
    expect(pinned.view.model).toEqual({ name: 'yolox-nano', version: 'v1' });
    expect(store.requests.get(pinned.view.id)?.record.pinned).toBe(true);
    expect(store.requests.get(weighted.view.id)?.record.pinned).toBeUndefined();
    // Same image, same version: still two pieces of work, since only the weighted one may run elsewhere.
    expect(jobs.jobs.has(pinned.view.id)).toBe(true);
    expect(store.requests.get(pinned.view.id)?.record.workKey).not.toBe(store.requests.get(weighted.view.id)?.record.workKey);
  });

  it('replays a retry with the same Idempotency-Key even when the weights pick another version for it', async () => {
    const { service } = setup({ alternate: true });
    const first = await service.submit(submission({ idempotencyKey: 'k-canary' }));
    const again = await service.submit(submission({ idempotencyKey: 'k-canary' }));
    expect(again.view.id).toBe(first.view.id);
  });

  it('refuses a priority the key may not ask for', async () => {
    const { service } = setup();
    await expect(service.submit(submission({ fields: { priority: 'high' }, allowedPriorities: ['low'] }))).rejects.toMatchObject({ code: 'forbidden' });
  });
});
