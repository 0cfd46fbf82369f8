import { type Stack, startStack } from '@argus/testing';
import { call, eventually, labelCounts, photo, upload } from './helpers';

const MAX_BATCH = 8;

describe('priorities, wait and shared work, with the workers held back', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ label: 'priority', env: { MAX_BATCH_SIZE: String(MAX_BATCH), WORKER_CONCURRENCY: '4' } });
    await stack.stopApp('inference'); // models stay published; jobs wait in Redis
  });
  afterAll(() => stack?.stop());

  it('answers 202 with a Location when the job does not finish within wait, then 200 when it does', async () => {
    const started = Date.now();
    const res = await upload(stack, photo('coco-000000000139-livingroom.jpg'), {}, '?wait=300');
    expect(res.status).toBe(202);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(res.body).toMatchObject({ status: 'queued', detections: [] });
    const location = res.headers.get('location');
    expect(location).toBe(`/v1/detections/${String(res.body['id'])}`);
    const polled = (await (await call(stack, `${location}`)).json()) as Record<string, unknown>;
    expect(polled).toMatchObject({ id: res.body['id'], status: 'queued' });
  });

  it('serves the high-priority job before all but at most one batch of 40 waiting low ones; identical requests share a job', async () => {
    const bus = photo('coco-000000002006-bus-640x480.jpg');
    // 40 different pieces of work (the confidence is part of the work key), all low priority
    const low: string[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await upload(stack, bus, { priority: 'low', confidence: (0.2 + i * 0.001).toFixed(3) });
      expect(res.status).toBe(202);
      low.push(String(res.body['id']));
    }
    const high = await upload(stack, photo('zidane.jpg'), { priority: 'high' });
    expect(high.status).toBe(202);
    // three identical requests in flight: one job
    const same = await Promise.all([0, 1, 2].map(() => upload(stack, photo('darknet-dog.jpg'), { priority: 'normal' })));

    await stack.startApp('inference');
    const rows = await eventually(async () => {
      const r = await stack.query(`SELECT id, priority, job_id, status, completed_at, detection_count FROM "${stack.schema}".detections`);
      return r.rows.length >= 45 ? (r.rows as { id: string; priority: string; job_id: string; status: string; completed_at: Date }[]) : undefined;
    }, 90000);

    const highRow = rows.find((r) => r.id === high.body['id']);
    expect(highRow?.status).toBe('completed');
    const lowBefore = rows.filter((r) => low.includes(r.id) && r.completed_at < (highRow?.completed_at ?? new Date(0)));
    expect(lowBefore.length).toBeLessThanOrEqual(MAX_BATCH);

    const sameRows = rows.filter((r) => same.some((s) => s.body['id'] === r.id));
    expect(sameRows).toHaveLength(3);
    expect(new Set(sameRows.map((r) => r.job_id)).size).toBe(1);
    expect(sameRows.every((r) => r.status === 'completed')).toBe(true);
    const dog = (await (await call(stack, `/v1/detections/${String(same[2]?.body['id'])}`)).json()) as Record<string, unknown>;
    expect(labelCounts(dog['detections'], 0.5)).toMatchObject({ dog: 1 });
  });
});
