import type { ArgusStore, StoredRequest } from '@argus/broker';
import { type DetectionStatus as Status, type DetectionView, detectionView, type InferenceResult, type RequestRecord } from '@argus/contracts';
import type { CompletionWaiter, JobEvent, JobListener } from './completion-waiter';
import { type DetectionEvent, DetectionEvents } from './detection-events.service';
import type { DetectionStatus } from './detection-status.service';
import { ApiError } from '../errors/api-error';

const record: RequestRecord = {
  id: 'req-1',
  workKey: 'w'.repeat(64),
  jobId: 'job-1',
  sha256: 's'.repeat(64),
  width: 10,
  height: 10,
  bytes: 100,
  model: { name: 'm', version: 'v' },
  params: { confidence: 0.25, iou: 0.45, classes: null, maxDetections: 10, agnostic: false },
  classLabels: null,
  priority: 'normal',
  correlationId: 'c',
  createdAt: new Date().toISOString(),
};
const result: InferenceResult = {
  model: { name: 'm', version: 'v' },
  width: 10,
  height: 10,
  detections: [{ label: 'dog', classId: 16, score: 0.9, box: { x1: 1, y1: 1, x2: 5, y2: 5 } }],
  timings: {},
  provider: 'cpu',
  finishedAt: new Date().toISOString(),
};

class FakeHub {
  readonly listeners = new Map<string, Set<JobListener>>();
  watch(jobId: string, listener: JobListener): () => void {
    const set = this.listeners.get(jobId) ?? new Set();
    set.add(listener);
    this.listeners.set(jobId, set);
    return () => set.delete(listener);
  }
  emit(jobId: string, event: JobEvent): void {
    for (const l of this.listeners.get(jobId) ?? []) l(event);
  }
  count(jobId: string): number {
    return this.listeners.get(jobId)?.size ?? 0;
  }
}

function setup(options: { stored?: StoredRequest | null; initial: (hub: FakeHub) => Promise<DetectionView> }) {
  const hub = new FakeHub();
  const store = { getRequest: async () => (options.stored === undefined ? { record, jobId: 'job-1', cached: false } : options.stored) } as unknown as ArgusStore;
  const status = { get: () => options.initial(hub) } as unknown as DetectionStatus;
  return { hub, events: new DetectionEvents(store, status, hub as unknown as CompletionWaiter) };
}

const view = (status: Status) => detectionView(record, status);
/** An admin's read scope: every client's detections. */
const ALL = { owner: null };
const completed: JobEvent = { state: 'completed', outcome: { ok: true, result } };

async function take(iterator: AsyncIterator<DetectionEvent>, n: number): Promise<DetectionEvent[]> {
  const out: DetectionEvent[] = [];
  for (let i = 0; i < n; i++) {
    const next = await iterator.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}
const names = (events: DetectionEvent[]) => events.map((e) => (e.type === 'status' ? e.status : `result:${e.detection.status}`));

describe(DetectionEvents.name, () => {
  it('streams the current status, each change, then the result from the job\'s outcome', async () => {
    const { hub, events } = setup({ initial: async () => view('queued') });
    const watch = await events.open('req-1', ALL);
    const first = await take(watch, 1);
    hub.emit('job-1', { state: 'active' });
    hub.emit('job-1', completed);
    const rest = await take(watch, 10);
    expect(names([...first, ...rest])).toEqual(['queued', 'active', 'completed', 'result:completed']);
    const last = rest[rest.length - 1];
    expect(last?.type === 'result' && last.detection.detections).toEqual(result.detections);
    expect(hub.count('job-1')).toBe(0);
  });

  it('keeps changes that happen while the current status is read, and drops older ones', async () => {
    const ahead = setup({
      initial: async (hub) => {
        hub.emit('job-1', { state: 'active' }); // the job moved on during the read
        return view('queued');
      },
    });
    const watch = await ahead.events.open('req-1', ALL);
    const seen = await take(watch, 2);
    ahead.hub.emit('job-1', completed);
    expect(names([...seen, ...(await take(watch, 5))])).toEqual(['queued', 'active', 'completed', 'result:completed']);

    const behind = setup({
      initial: async (hub) => {
        hub.emit('job-1', { state: 'queued' }); // older than what the read saw
        return view('active');
      },
    });
    const watch2 = await behind.events.open('req-1', ALL);
    const seen2 = await take(watch2, 1);
    behind.hub.emit('job-1', completed);
    expect(names([...seen2, ...(await take(watch2, 5))])).toEqual(['active', 'completed', 'result:completed']);
  });

  it('reports a retry: active, queued again, active, then the failure', async () => {
    const { hub, events } = setup({ initial: async () => view('active') });
    const watch = await events.open('req-1', ALL);
    const first = await take(watch, 1);
    hub.emit('job-1', { state: 'queued' });
    hub.emit('job-1', { state: 'active' });
    hub.emit('job-1', { state: 'failed', outcome: { ok: false, error: { code: 'corrupt_image', message: 'bad' }, failedAt: new Date().toISOString() } });
    const rest = await take(watch, 10);
    expect(names([...first, ...rest])).toEqual(['active', 'queued', 'active', 'failed', 'result:failed']);
  });

  it('ends at once for a detection already finished (a cache hit, a persisted row)', async () => {
    const { events } = setup({ stored: { record, cached: true }, initial: async () => ({ ...view('completed'), cached: true }) });
    const all = await take(await events.open('req-1', ALL), 10);
    expect(names(all)).toEqual(['completed', 'result:completed']);
    const persisted = setup({ stored: null, initial: async () => view('failed') });
    expect(names(await take(await persisted.events.open('req-1', ALL), 10))).toEqual(['failed', 'result:failed']);
  });

  it('ends a waiting iteration when closed, and lets go of the job', async () => {
    const { hub, events } = setup({ initial: async () => view('queued') });
    const watch = await events.open('req-1', ALL);
    await take(watch, 1);
    const pending = watch.next();
    watch.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(hub.count('job-1')).toBe(0);
  });

  it("never watches another client's job, even while the read that refuses it is under way", async () => {
    const owned = { record: { ...record, clientId: 'key:alice' }, jobId: 'job-1', cached: false };
    let watchedDuringRead = -1;
    const { hub, events } = setup({
      stored: owned,
      initial: async (h) => {
        watchedDuringRead = h.count('job-1');
        throw new ApiError('not_found', 'no such detection');
      },
    });
    await expect(events.open('req-1', { owner: 'key:bob' })).rejects.toMatchObject({ code: 'not_found' });
    expect(watchedDuringRead).toBe(0);
    expect(hub.count('job-1')).toBe(0);
  });

  it('throws before streaming when the detection is unknown, and lets go of the job', async () => {
    const { hub, events } = setup({
      initial: async () => {
        throw new ApiError('not_found', 'no such detection');
      },
    });
    await expect(events.open('req-1', ALL)).rejects.toMatchObject({ code: 'not_found' });
    expect(hub.count('job-1')).toBe(0);
  });
});
