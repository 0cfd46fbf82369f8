import type { ArgusStore, DetectJobs, PersistJobs } from '@argus/broker';
import type { WorkOutcome } from '@argus/contracts';
import { FakeDetectJobs, FakePersistJobs, FakeStore } from '@argus/fakes';
import { testInferenceResult, testRequestRecord } from '@argus/testing';
import { Reconciler } from './reconciler.service';

const done: WorkOutcome = { ok: true, result: testInferenceResult() };
/** Long after admission: every ledger entry is due. */
const LATER = Date.now() + 3_600_000;

function setup() {
  const store = new FakeStore();
  const jobs = new FakeDetectJobs();
  const persist = new FakePersistJobs();
  const reconciler = new Reconciler(store as unknown as ArgusStore, jobs as unknown as DetectJobs, persist as unknown as PersistJobs);
  return { store, jobs, persist, reconciler };
}

describe(Reconciler.name, () => {
  it('leaves work that is queued or running alone, and looks again later', async () => {
    const { store, jobs, persist, reconciler } = setup();
    const r = testRequestRecord('1'.repeat(64));
    await store.admit(r, Buffer.from('x'));
    await jobs.enqueue({ record: r });
    expect((await reconciler.pass(LATER)).get(r.id)).toBe('waiting');
    expect(persist.jobs.size).toBe(0);
    expect(store.ledger.get(r.id)).toBeGreaterThan(LATER);
  });

  it('does nothing before RECONCILE_AFTER_SECONDS: fresh requests are merely queued', async () => {
    const { store, reconciler } = setup();
    const r = testRequestRecord('2'.repeat(64));
    await store.admit(r, Buffer.from('x'));
    expect((await reconciler.pass(Date.now())).size).toBe(0);
  });

  it('adds the job of a request recorded without one (the gateway died in between), on its work again', async () => {
    const { store, jobs, reconciler } = setup();
    const r = testRequestRecord('3'.repeat(64));
    await store.admit(r, Buffer.from('x'));
    store.attached.clear();
    expect((await reconciler.pass(LATER)).get(r.id)).toBe('re-queued');
    expect(jobs.jobs.get(r.id)?.state.state).toBe('queued');
    expect(store.attached.get(r.workKey)?.has(r.id)).toBe(true);
    // Safe to repeat: the next pass finds the job and waits.
    expect((await reconciler.pass(LATER * 2)).get(r.id)).toBe('waiting');
    expect(jobs.jobs.size).toBe(1);
  });

  it('hands over a cache hit whose row never reached apps/results (the gateway died after answering)', async () => {
    const { store, persist, reconciler } = setup();
    const first = testRequestRecord('4'.repeat(64));
    store.outcomes.set(first.workKey, done);
    const hit = testRequestRecord('4'.repeat(64));
    expect((await store.admit(hit, Buffer.from('x'))).kind).toBe('hit');
    expect((await reconciler.pass(LATER)).get(hit.id)).toBe('handed-over');
    expect(persist.handed()).toEqual([{ id: hit.id, end: expect.objectContaining({ cached: true, jobId: null, outcome: done }) }]);
  });

  it('hands over requests a worker ended but never handed to a persist job (it died in between)', async () => {
    const { store, jobs, persist, reconciler } = setup();
    const r = testRequestRecord('5'.repeat(64));
    await store.admit(r, Buffer.from('x'));
    await jobs.enqueue({ record: r });
    await store.endWork(r, r.id, done, true, 'end.lost');
    (jobs.jobs.get(r.id) as { state: unknown }).state = { state: 'completed', result: done.ok ? done.result : null };
    expect((await reconciler.pass(LATER)).get(r.id)).toBe('handed-over');
    expect(persist.handed().map((h) => h.id)).toEqual([r.id]);
  });

  it('waits for a persist job that still exists (Postgres may be away), and does not hand over twice', async () => {
    const { store, jobs, persist, reconciler } = setup();
    const r = testRequestRecord('6'.repeat(64));
    await store.admit(r, Buffer.from('x'));
    await jobs.enqueue({ record: r });
    const handed = await store.endWork(r, r.id, done, true, 'end.kept');
    await persist.handOver('end.kept', [{ end: { workKey: r.workKey, jobId: r.id, attempts: 1, cached: false, outcome: done }, records: handed.records }]);
    expect((await reconciler.pass(LATER)).get(r.id)).toBe('waiting');
    expect(persist.jobs.size).toBe(1);
  });

  it("persists a job's failure for its requests when the job failed without its worker's code running", async () => {
    const { store, jobs, persist, reconciler } = setup();
    const r = testRequestRecord('7'.repeat(64));
    await store.admit(r, Buffer.from('x'));
    await jobs.enqueue({ record: r });
    (jobs.jobs.get(r.id) as { state: unknown }).state = { state: 'failed', error: { code: 'internal_error', message: 'job stalled more than allowable limit' }, attempts: 2, finishedAt: Date.now() };
    expect((await reconciler.pass(LATER)).get(r.id)).toBe('handed-over');
    expect(persist.handed()[0]?.end).toMatchObject({ attempts: 2, outcome: { ok: false, error: { code: 'internal_error' } } });
  });

  it('drops an entry whose record expired: nothing can be persisted for it', async () => {
    const { store, reconciler } = setup();
    const r = testRequestRecord('8'.repeat(64));
    await store.admit(r, Buffer.from('x'));
    store.requests.delete(r.id);
    expect((await reconciler.pass(LATER)).get(r.id)).toBe('forgotten');
    expect(store.ledger.has(r.id)).toBe(false);
  });
});
