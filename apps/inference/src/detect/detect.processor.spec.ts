import { type ArgusStore, detectJobOf, type JobEvents, type PersistJobs } from '@argus/broker';
import { buildConfig } from '@argus/config';
import { type DetectJob, decodeFailure, type WorkOutcome } from '@argus/contracts';
import { FakeJobEvents, FakePersistJobs, FakeStore } from '@argus/fakes';
import { Metrics } from '@argus/observability';
import { testInferenceResult, testRequestRecord } from '@argus/testing';
import { UnrecoverableError } from 'bullmq';
import type { ModelHost } from '../models/model-host.service';
import { DetectProcessor } from './detect.processor';
import { DetectService } from './detect.service';
import { JobFailure } from './failure';

/** The processor and the use case on fakes of the store, the results queue and the completion channel; no model runs. */
function setup() {
  const config = buildConfig({ NODE_ENV: 'test', JOB_ATTEMPTS: '3' });
  const store = new FakeStore();
  const persist = new FakePersistJobs();
  const events = new FakeJobEvents();
  const metrics = new Metrics('test');
  const models = {
    acquire: (_name: string, version: string, pinned: boolean) => {
      if (pinned && version !== 'v1') throw new JobFailure('model_unavailable', `Version ${version} is not served`);
      return { model: { info: { name: 'yolox-nano', version: 'v1' } }, fallback: version !== 'v1', release: () => undefined };
    },
  } as unknown as ModelHost;
  const service = new DetectService(config, models, store as unknown as ArgusStore, persist as unknown as PersistJobs, metrics);
  const processor = new DetectProcessor(config, service, events as unknown as JobEvents, metrics);
  return { store, persist, events, processor };
}

/** A job as BullMQ hands it over, for a request admitted to the fake store. */
async function admitted(store: FakeStore, sha = 'a'.repeat(64), overrides: Partial<DetectJob> = {}, attemptsMade = 0) {
  const record = testRequestRecord(sha);
  await store.admit(record, Buffer.from('bytes'));
  const data: DetectJob = { ...detectJobOf(record), ...overrides };
  return { record, job: { id: record.id, data, attemptsMade, timestamp: Date.now(), processedOn: Date.now(), opts: { attempts: 3 }, queueName: 'detect.yolox-nano' } };
}

const done: WorkOutcome = { ok: true, result: testInferenceResult() };

describe(DetectProcessor.name, () => {
  it('fails a job whose payload is not a detection job for good, touching nothing', async () => {
    const { processor, persist } = setup();
    const error = await processor.process({ id: 'j', data: { nonsense: true } as unknown as DetectJob, attemptsMade: 0, timestamp: 0, processedOn: 0, opts: {}, queueName: 'detect.x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(decodeFailure((error as Error).message).code).toBe('validation_failed');
    expect(persist.jobs.size).toBe(0);
  });

  it('answers from an outcome another job stored meanwhile, without the model, handing the attached requests over', async () => {
    const { processor, store, persist } = setup();
    const { record, job } = await admitted(store);
    store.outcomes.set(record.workKey, done);
    expect(await processor.process(job)).toEqual(done.ok ? done.result : null);
    expect(persist.handed()).toEqual([{ id: record.id, end: expect.objectContaining({ jobId: record.id, attempts: 1, cached: false, outcome: done }) }]);
  });

  it('fails a job past its deadline for good, without storing the failure as the work outcome, and persists the failure', async () => {
    const { processor, store, persist } = setup();
    const { record, job } = await admitted(store, 'b'.repeat(64), { deadline: Date.now() - 1 });
    const error = await processor.process(job).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(decodeFailure((error as Error).message).code).toBe('deadline_exceeded');
    expect(store.outcomes.has(record.workKey)).toBe(false);
    expect(persist.handed()[0]).toMatchObject({ end: { outcome: { ok: false, error: { code: 'deadline_exceeded' } } } });
  });

  it('fails an expired image for good and remembers it for identical requests', async () => {
    const { processor, store, persist } = setup();
    const { record, job } = await admitted(store, 'c'.repeat(64));
    store.images.delete(record.sha256);
    await expect(processor.process(job)).rejects.toBeInstanceOf(UnrecoverableError);
    expect(store.outcomes.get(record.workKey)).toMatchObject({ ok: false, error: { code: 'image_expired' } });
    expect(persist.handed().map((h) => h.id)).toEqual([record.id]);
  });

  it('retries a transient failure while attempts remain (saying the job is queued again), and hands nothing over', async () => {
    const { processor, store, persist, events } = setup();
    const { job } = await admitted(store, 'd'.repeat(64));
    store.failNext = 'jobInputs';
    const error = await processor.process(job).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(UnrecoverableError);
    expect(decodeFailure((error as Error).message).code).toBe('internal_error');
    expect(events.announced).toEqual([{ jobId: job.id, state: 'queued' }]);
    expect(persist.jobs.size).toBe(0);
  });

  it('ends the work as failed on the last attempt of a transient failure', async () => {
    const { processor, store, persist } = setup();
    const { record, job } = await admitted(store, 'e'.repeat(64), {}, 2);
    store.failNext = 'jobInputs';
    await expect(processor.process(job)).rejects.toBeInstanceOf(UnrecoverableError);
    expect(persist.handed()).toEqual([{ id: record.id, end: expect.objectContaining({ attempts: 3, outcome: expect.objectContaining({ ok: false }) }) }]);
  });

  it('fails a job pinned to a version this worker does not serve, for good, without keeping the failure for identical requests', async () => {
    const { processor, store, persist } = setup();
    const { record, job } = await admitted(store, 'f'.repeat(64), { model: { name: 'yolox-nano', version: 'v9' }, pinned: true });
    const error = await processor.process(job).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(decodeFailure((error as Error).message).code).toBe('model_unavailable');
    // Once the version serves again, the same request must run, not meet a remembered failure.
    expect(store.outcomes.has(record.workKey)).toBe(false);
    expect(persist.handed()[0]).toMatchObject({ end: { outcome: { ok: false, error: { code: 'model_unavailable' } } } });
  });
});
