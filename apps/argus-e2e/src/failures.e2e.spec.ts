import { detectQueueName } from '@argus/contracts';
import { metricValue, scrape, type Stack, startStack } from '@argus/testing';
import { Queue } from 'bullmq';
import { corruptPng, eventually, photo, upload, watchStalled } from './helpers';

describe('failures: corrupt images, transient faults, a killed worker', () => {
  let stack: Stack;

  beforeAll(async () => {
    // Short locks so a killed worker's jobs come back in seconds, not the default 30 s.
    stack = await startStack({ label: 'failures', env: { JOB_LOCK_MS: '2000', JOB_STALLED_INTERVAL_MS: '1000', WORKER_CONCURRENCY: '4' } });
  });
  afterAll(() => stack?.stop());

  it('fails a corrupt image at once with its code, without retries, and persists the failure', async () => {
    const res = await upload(stack, corruptPng(), {}, '?wait=20000');
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ status: 'failed', error: { code: 'corrupt_image' } });
    const row = await eventually(async () => {
      const r = await stack.query(`SELECT status, error_code, attempts FROM "${stack.schema}".detections WHERE id = $1`, [res.body['id']]);
      return r.rows[0] as { status: string; error_code: string; attempts: number } | undefined;
    });
    expect(row).toEqual({ status: 'failed', error_code: 'corrupt_image', attempts: 1 });
    const queue = new Queue(detectQueueName('yolox-nano'), { connection: stack.redis, prefix: stack.prefix });
    const job = await queue.getJob(String(res.body['id']));
    expect(job?.attemptsMade).toBe(1);
    expect(await job?.getState()).toBe('failed');
    await queue.close();

    // the same corrupt upload again is answered from the remembered failure
    const again = await upload(stack, corruptPng());
    expect(again.status).toBe(422);
    expect(again.body).toMatchObject({ status: 'failed', cached: true, error: { code: 'corrupt_image' } });
  });

  it('retries a transient fault (Postgres refusing the insert) with backoff until it passes', async () => {
    const table = `"${stack.schema}".detections`;
    await stack.query(`ALTER TABLE ${table} RENAME TO detections_away`);
    let id = '';
    try {
      const res = await upload(stack, photo('darknet-horses.png'), {}, '?wait=20000');
      expect(res.status).toBe(200); // inference is done; only persistence is stuck
      id = String(res.body['id']);
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      await stack.query(`ALTER TABLE "${stack.schema}".detections_away RENAME TO detections`);
    }
    const row = await eventually(async () => {
      const r = await stack.query(`SELECT status FROM ${table} WHERE id = $1`, [id]);
      return r.rows[0] as { status: string } | undefined;
    });
    expect(row.status).toBe('completed');
    // At least one failed attempt, then success; the request left the ledger, and no persist job failed for good.
    const metrics = await scrape(`http://127.0.0.1:${stack.ports.results}/metrics`);
    expect(metricValue(metrics, 'argus_jobs_total', { queue: 'results', outcome: 'retried', code: 'persist_failed' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'argus_jobs_total', { queue: 'results', outcome: 'failed', code: 'persist_failed' })).toBe(0);
    await eventually(async () => ((await stack.redis.zscore(`${stack.prefix}:unpersisted`, id)) === null ? true : undefined));
  });

  it('loses nothing when the inference process is killed (SIGKILL) mid-load: every job completes, once', async () => {
    // With 2 s locks and a busy two-core machine, lock renewal must still keep up: no job may be
    // declared stalled while its worker is alive.
    const { stalled, close } = await watchStalled(stack);
    const queue = new Queue(detectQueueName('yolox-nano'), { connection: stack.redis, prefix: stack.prefix });
    try {
      const saw = photo('saw-2725x2225.jpg');
      // Sent ten at a time, faster than the worker drains them, so a backlog waits whatever the
      // machine's speed (sent one by one, a fast machine kept up and nothing was left waiting).
      const ids: string[] = [];
      for (let i = 0; i < 50; i += 10) {
        const sent = await Promise.all(Array.from({ length: 10 }, (_, j) => upload(stack, saw, { confidence: (0.3 + (i + j) * 0.001).toFixed(3) })));
        for (const res of sent) {
          expect([200, 202]).toContain(res.status);
          ids.push(String(res.body['id']));
        }
      }
      // kill the worker while it is in the middle of the backlog
      await eventually(async () => {
        const r = await stack.query(`SELECT count(*)::int AS n FROM "${stack.schema}".detections WHERE id = ANY($1)`, [ids]);
        return (r.rows[0] as { n: number }).n >= 3 ? true : undefined;
      });
      expect(stalled).toEqual([]);
      // In flight, precisely: jobs held by the worker at the moment it dies, and more still waiting.
      const held = await eventually(async () => {
        const active = await queue.getActive();
        return active.length >= 2 ? active.map((j) => String(j.id)) : undefined;
      }, 20000, 5);
      await stack.stopApp('inference', 'SIGKILL');
      const orphaned: string[] = [];
      for (const id of held) if ((await queue.getJob(id).then((j) => j?.getState())) === 'active') orphaned.push(id);
      expect(orphaned.length).toBeGreaterThan(0);
      expect(await queue.getJobCountByTypes('wait', 'prioritized')).toBeGreaterThan(0);
      const persistedAtKill = await stack.query(`SELECT count(*)::int AS n FROM "${stack.schema}".detections WHERE id = ANY($1)`, [ids]);
      expect((persistedAtKill.rows[0] as { n: number }).n).toBeLessThan(ids.length);
      await stack.startApp('inference');

      const rows = await eventually(async () => {
        const r = await stack.query(`SELECT id, status FROM "${stack.schema}".detections WHERE id = ANY($1)`, [ids]);
        return r.rows.length === ids.length ? (r.rows as { id: string; status: string }[]) : undefined;
      }, 120000);
      expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
      expect(rows.every((r) => r.status === 'completed')).toBe(true);
      const all = await stack.query(`SELECT count(*)::int AS n FROM "${stack.schema}".detections WHERE id = ANY($1)`, [ids]);
      expect((all.rows[0] as { n: number }).n).toBe(ids.length);
      // the jobs the dead worker held were taken back (stalled) and run again, and only those
      expect(stalled).toEqual(expect.arrayContaining(orphaned));
      expect(stalled.every((id) => ids.includes(id))).toBe(true);
    } finally {
      // A failed test must not leave these connections open: Jest would never exit.
      await queue.close();
      await close();
    }
  });
});
