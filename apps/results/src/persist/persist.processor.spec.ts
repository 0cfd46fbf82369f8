import type { PersistJob } from '@argus/contracts';
import { Metrics } from '@argus/observability';
import { testInferenceResult, testRequestRecord } from '@argus/testing';
import { DelayedError, type Job } from 'bullmq';
import type { DataSource } from 'typeorm';
import { DatabaseWatch } from '../database/database-watch.service';
import { PersistProcessor } from './persist.processor';
import type { PersistService } from './persist.service';

/** A persist job as BullMQ hands it to the processor, with what the processor did to it. */
function job(attemptsMade = 0) {
  const record = testRequestRecord('a'.repeat(64));
  const data: PersistJob = { ends: [{ end: { workKey: record.workKey, jobId: record.id, attempts: 1, cached: false, outcome: { ok: true, result: testInferenceResult() } }, records: [record] }] };
  const delayedTo: number[] = [];
  const bullJob = { id: 'persist-1', data, attemptsMade, moveToDelayed: async (at: number) => void delayedTo.push(at) };
  return { bullJob: bullJob as unknown as Job<PersistJob>, delayedTo };
}

/** Postgres as the persistence service meets it: an error with the SQLSTATE in `code`. */
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe(PersistProcessor.name, () => {
  const failingWith = (error: Error) => ({ persist: async () => Promise.reject(error) }) as unknown as PersistService;
  // The watch without its probe timer: the test is about what one failure tells it.
  const watch = () => new DatabaseWatch({} as DataSource);

  it('puts a job caught by a read-only database back without spending an attempt, and stops taking jobs', async () => {
    const database = watch();
    const heard: boolean[] = [];
    database.onChange((up) => heard.push(up));
    const processor = new PersistProcessor(failingWith(pgError('25006', 'cannot execute INSERT in a read-only transaction')), database, new Metrics('results-test'));
    const { bullJob, delayedTo } = job();
    await expect(processor.process(bullJob, 'lock-token')).rejects.toBeInstanceOf(DelayedError);
    expect(delayedTo).toHaveLength(1);
    expect(bullJob.attemptsMade).toBe(0);
    expect([database.up, database.detail]).toEqual([false, expect.stringMatching(/read-only \(SQLSTATE 25006\)/)]);
    expect(heard).toEqual([false]);
  });

  it('classifies by SQLSTATE: too many clients, a lock timeout, a deadlock are outages too', async () => {
    for (const [code, message] of [['53300', 'sorry, too many clients already'], ['55P03', 'canceling statement due to lock timeout'], ['40P01', 'deadlock detected']]) {
      const processor = new PersistProcessor(failingWith(pgError(code ?? '', message ?? '')), watch(), new Metrics('results-test'));
      const { bullJob, delayedTo } = job();
      await expect(processor.process(bullJob, 'lock-token')).rejects.toBeInstanceOf(DelayedError);
      expect([code, delayedTo.length]).toEqual([code, 1]);
    }
  });

  it('lets a failure of the rows themselves spend an attempt (BullMQ retries it, then keeps it failed)', async () => {
    const database = watch();
    const bad = pgError('22P02', 'invalid input syntax for type uuid: "not-a-uuid"');
    const processor = new PersistProcessor(failingWith(bad), database, new Metrics('results-test'));
    const { bullJob, delayedTo } = job();
    await expect(processor.process(bullJob, 'lock-token')).rejects.toBe(bad);
    expect(delayedTo).toHaveLength(0);
    expect(database.up).toBe(true);
  });
});
