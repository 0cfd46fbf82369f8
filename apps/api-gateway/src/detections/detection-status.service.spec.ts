import type { ArgusStore, DetectJobs } from '@argus/broker';
import { type DetectionView, failed, type WorkOutcome } from '@argus/contracts';
import { FakeDetectJobs, FakeStore } from '@argus/fakes';
import { testInferenceResult, testRequestRecord } from '@argus/testing';
import type { ResultsClient } from '../results-client/results.client';
import { DetectionStatus } from './detection-status.service';

const done: WorkOutcome = { ok: true, result: testInferenceResult() };

function setup(rows: Map<string, DetectionView & { owner: string }> = new Map(), resultsDown = false) {
  const store = new FakeStore();
  const jobs = new FakeDetectJobs();
  const results = {
    get: async (id: string, scope: { owner: string | null }) => {
      if (resultsDown) throw new Error('connect ECONNREFUSED');
      const row = rows.get(id);
      return row && (scope.owner === null || scope.owner === row.owner) ? row : null;
    },
  } as unknown as ResultsClient;
  return { store, jobs, status: new DetectionStatus(results, store as unknown as ArgusStore, jobs as unknown as DetectJobs) };
}

const alice = { owner: 'key:alice' };

describe(DetectionStatus.name, () => {
  it('reads a request not yet persisted from its record: queued, active, completed from the outcome, failed from the job', async () => {
    const { store, jobs, status } = setup();
    const r = testRequestRecord('1'.repeat(64), { clientId: 'key:alice' });
    await store.admit(r, Buffer.from('x'));
    await jobs.enqueue({ record: r });
    expect((await status.get(r.id, alice)).status).toBe('queued');
    (jobs.jobs.get(r.id) as { state: unknown }).state = { state: 'active' };
    expect((await status.get(r.id, alice)).status).toBe('active');
    (jobs.jobs.get(r.id) as { state: unknown }).state = { state: 'failed', error: { code: 'inference_failed', message: 'boom' }, attempts: 3, finishedAt: Date.now() };
    expect(await status.get(r.id, alice)).toMatchObject({ status: 'failed', error: { code: 'inference_failed' } });
    store.outcomes.set(r.workKey, done);
    expect(await status.get(r.id, alice)).toMatchObject({ status: 'completed', detections: done.ok ? done.result.detections : [] });
    store.outcomes.set(r.workKey, failed({ code: 'corrupt_image', message: 'bad' }));
    expect(await status.get(r.id, alice)).toMatchObject({ status: 'failed', error: { code: 'corrupt_image' } });
  });

  it("answers another client's request not_found, exactly like an unknown id, and an admin sees it", async () => {
    const { store, status } = setup();
    const r = testRequestRecord('2'.repeat(64), { clientId: 'key:alice' });
    await store.admit(r, Buffer.from('x'));
    await expect(status.get(r.id, { owner: 'key:bob' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(status.get('no-such-id', { owner: 'key:bob' })).rejects.toMatchObject({ code: 'not_found' });
    expect((await status.get(r.id, { owner: null })).id).toBe(r.id);
  });

  it('prefers the persisted row; while apps/results is away, answers from Redis or 503 (never 404 for what may exist)', async () => {
    const r = testRequestRecord('3'.repeat(64), { clientId: 'key:alice' });
    const row = { id: r.id, status: 'completed', owner: 'key:alice' } as unknown as DetectionView & { owner: string };
    expect((await setup(new Map([[r.id, row]])).status.get(r.id, alice)).status).toBe('completed');
    const down = setup(new Map(), true);
    await down.store.admit(r, Buffer.from('x'));
    expect((await down.status.get(r.id, alice)).status).toBe('queued');
    await expect(down.status.get('unknown', alice)).rejects.toMatchObject({ code: 'unavailable' });
  });
});
