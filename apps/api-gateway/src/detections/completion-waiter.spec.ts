import type { ArgusStore, JobEvents } from '@argus/broker';
import { failed, type WorkOutcome } from '@argus/contracts';
import { FakeJobEvents, FakeStore } from '@argus/fakes';
import { testInferenceResult } from '@argus/testing';
import { CompletionWaiter } from './completion-waiter';

const done: WorkOutcome = { ok: true, result: testInferenceResult() };

describe(CompletionWaiter.name, () => {
  function waiter() {
    const store = new FakeStore();
    const events = new FakeJobEvents();
    return { store, events, waiter: new CompletionWaiter(events as unknown as JobEvents, store as unknown as ArgusStore) };
  }

  it('hears an end that comes before anyone waits, when listening started before the job existed', async () => {
    const { events, waiter: w } = waiter();
    const end = w.listen('job-1');
    events.emit('job-1', { state: 'completed', outcome: done });
    expect(await end.until(1000)).toEqual(done);
    expect(events.watchers).toBe(0);
  });

  it('finds an outcome stored before it started to listen, and times out with null otherwise', async () => {
    const { store, events, waiter: w } = waiter();
    store.outcomes.set('work-1', done);
    expect(await w.wait('job-1', 'work-1', 1000)).toEqual(done);
    expect(await w.wait('job-2', 'work-2', 20)).toBeNull();
    expect(events.watchers).toBe(0);
  });

  it('ignores the queued and active steps of a job and resolves on its failure', async () => {
    const { events, waiter: w } = waiter();
    const end = w.listen('job-1');
    const outcome = failed({ code: 'deadline_exceeded', message: 'late' });
    setTimeout(() => {
      events.emit('job-1', { state: 'active' });
      events.emit('job-1', { state: 'queued' });
      events.emit('job-1', { state: 'failed', outcome });
    }, 5);
    expect(await end.until(1000)).toEqual(outcome);
  });
});
