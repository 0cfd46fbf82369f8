import { detectQueueName } from '@argus/contracts';
import { metricValue, scrape, type Stack, startStack } from '@argus/testing';
import { Queue } from 'bullmq';
import { call, eventually, photo, upload, watchStalled } from './helpers';

/** A detection's status as the gateway reports it (persisted row, else Redis). */
async function statusOf(stack: Stack, id: string): Promise<{ status: string; error: { code: string } | null }> {
  return (await (await call(stack, `/v1/detections/${id}`)).json()) as { status: string; error: { code: string } | null };
}

async function rowsOf(stack: Stack, ids: string[]): Promise<{ id: string; status: string; error_code: string | null }[]> {
  const r = await stack.query(`SELECT id, status, error_code FROM "${stack.schema}".detections WHERE id = ANY($1)`, [ids]);
  return r.rows as { id: string; status: string; error_code: string | null }[];
}

async function allPersisted(stack: Stack, ids: string[], timeoutMs = 60000) {
  return eventually(async () => {
    const rows = await rowsOf(stack, ids);
    return rows.length === ids.length ? rows : undefined;
  }, timeoutMs, 200);
}

describe('lifecycle: readiness rules, deadlines, backpressure, graceful shutdown', () => {
  let stack: Stack;
  let queue: Queue;

  beforeAll(async () => {
    stack = await startStack({ label: 'lifecycle', env: { JOB_LOCK_MS: '2000', JOB_STALLED_INTERVAL_MS: '1000' } });
    queue = new Queue(detectQueueName('yolox-nano'), { connection: stack.redis, prefix: stack.prefix });
  });
  afterAll(async () => {
    await queue?.close();
    await stack?.stop();
  });

  it('keeps inference not ready, and off the queue, when CUDA was asked for but the model runs on CPU, unless ALLOW_CPU_FALLBACK', async () => {
    await stack.stopApp('inference');
    await stack.startApp('inference', { EXECUTION_PROVIDERS: 'cuda,cpu' }, { until: 'live' });
    // past 'models loading': the models are loaded and the verdict is in
    const body = await eventually(async () => {
      const ready = await fetch(`http://127.0.0.1:${stack.ports.inference}/health/ready`);
      const json = (await ready.json()) as { checks: Record<string, { ok: boolean; detail: unknown }> };
      expect(ready.status).toBe(503);
      return Array.isArray(json.checks['models']?.detail) ? json : undefined;
    }, 30000);
    expect(body.checks['models']?.ok).toBe(false);
    expect(body.checks['models']?.detail).toEqual(
      expect.arrayContaining([expect.objectContaining({ model: 'yolox-nano', asked: 'cuda', running: 'cpu', fix: expect.stringMatching(/ALLOW_CPU_FALLBACK/) })]),
    );
    expect(JSON.stringify(body.checks['models']?.detail)).toMatch(/cuda: /); // why CUDA did not load
    expect(body.checks['worker']).toEqual({ ok: false, detail: 'not started' });
    // it takes no work
    const queued = await upload(stack, photo('darknet-dog.jpg'), {}, '?wait=1500');
    expect(queued.status).toBe(202);

    await stack.stopApp('inference');
    await stack.startApp('inference', { EXECUTION_PROVIDERS: 'cuda,cpu', ALLOW_CPU_FALLBACK: 'true' });
    const fallback = (await (await fetch(`http://127.0.0.1:${stack.ports.inference}/health/ready`)).json()) as { status: string };
    expect(fallback.status).toBe('ok');
    await eventually(async () => ((await statusOf(stack, String(queued.body['id']))).status === 'completed' ? true : undefined), 20000);
    const metrics = await scrape(`http://127.0.0.1:${stack.ports.inference}/metrics`);
    expect(metricValue(metrics, 'argus_model_info', { model: 'yolox-nano', provider: 'cpu', requested: 'cuda,cpu' })).toBe(1);
  });

  it('fails a job still waiting at its deadline with deadline_exceeded, without running the model, and never fails a request without one', async () => {
    await stack.stopApp('inference');
    const late = await upload(stack, photo('coco-000000000139-livingroom.jpg'), { deadlineMs: '300' });
    const shared = await upload(stack, photo('coco-000000000785-skier-exif6.jpg'), { deadlineMs: '300' });
    const rider = await upload(stack, photo('coco-000000000785-skier-exif6.jpg')); // same work, no deadline
    expect([late.status, shared.status, rider.status]).toEqual([202, 202, 202]);
    await new Promise((r) => setTimeout(r, 800));
    await stack.startApp('inference');

    const rows = await allPersisted(stack, [late, shared, rider].map((r) => String(r.body['id'])));
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(String(late.body['id']))).toMatchObject({ status: 'failed', error_code: 'deadline_exceeded' });
    expect(byId.get(String(shared.body['id']))).toMatchObject({ status: 'completed' });
    expect(byId.get(String(rider.body['id']))).toMatchObject({ status: 'completed' });
    const lateView = await statusOf(stack, String(late.body['id']));
    expect(lateView).toMatchObject({ status: 'failed', error: { code: 'deadline_exceeded' } });
    const job = await queue.getJob(String(late.body['id']));
    expect(job?.attemptsMade).toBe(1); // not retried

    // the fresh inference process ran the model once (the shared job), never for the late one
    const metrics = await scrape(`http://127.0.0.1:${stack.ports.inference}/metrics`);
    expect(metricValue(metrics, 'argus_jobs_total', { queue: 'detect.yolox-nano', outcome: 'failed', code: 'deadline_exceeded' })).toBe(1);
    expect(metricValue(metrics, 'argus_stage_seconds_count', { stage: 'inference' })).toBe(1);

    // the same image again, without a deadline, runs (the missed deadline is not cached)
    const again = await upload(stack, photo('coco-000000000139-livingroom.jpg'), {}, '?wait=20000');
    expect(again.status).toBe(200);
  });

  it('refuses new work with 503 + Retry-After above MAX_QUEUE_DEPTH, still serves cache hits, and takes work again once drained', async () => {
    const hitImage = photo('coco-000000000785-skier-exif6.jpg'); // completed above
    await stack.stopApp('inference');
    await stack.stopApp('api-gateway');
    await stack.startApp('api-gateway', { MAX_QUEUE_DEPTH: '3' });
    try {
      const saw = photo('zidane.jpg');
      const queued = [];
      for (let i = 0; i < 3; i++) queued.push(await upload(stack, saw, { confidence: (0.3 + i * 0.01).toFixed(2) }));
      expect(queued.map((r) => r.status)).toEqual([202, 202, 202]);
      await new Promise((r) => setTimeout(r, 300)); // the backlog count is at most 250 ms old
      const refused = await upload(stack, saw, { confidence: '0.5' });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(refused.body).toEqual({ error: { code: 'overloaded', message: expect.stringMatching(/MAX_QUEUE_DEPTH 3/) } });
      const hit = await upload(stack, hitImage);
      expect(hit.status).toBe(200);
      expect(hit.body).toMatchObject({ status: 'completed', cached: true });
      const metrics = await scrape(`${stack.opsUrl}/metrics`);
      expect(metricValue(metrics, 'argus_backpressure_refusals_total', { priority: 'normal' })).toBe(1);
      expect(metricValue(metrics, 'argus_queue_waiting_jobs', { queue: 'detect.yolox-nano', priority: 'normal' })).toBe(3);
      expect(metricValue(metrics, 'argus_queue_jobs', { queue: 'detect.yolox-nano', state: 'waiting' })).toBe(3);

      await stack.startApp('inference');
      await allPersisted(stack, queued.map((r) => String(r.body['id'])));
      await new Promise((r) => setTimeout(r, 300));
      expect((await upload(stack, saw, { confidence: '0.5' })).status).toBe(202);
    } finally {
      await stack.stopApp('api-gateway');
      await stack.startApp('api-gateway');
    }
  });

  it('SIGTERM on inference: the worker finishes the jobs in hand and exits 0; nothing stalls, nothing is lost', async () => {
    const { stalled, close } = await watchStalled(stack);
    try {
      const saw = photo('saw-2725x2225.jpg');
      // All at once, so that a backlog forms however fast the worker is: it must hold jobs when told to stop.
      const uploads = await Promise.all(Array.from({ length: 24 }, (_, i) => upload(stack, saw, { confidence: (0.3 + i * 0.001).toFixed(3) })));
      const ids = uploads.map((r) => String(r.body['id']));
      const active = await eventually(async () => {
        const jobs = await queue.getActive();
        return jobs.length >= 2 ? jobs.map((j) => String(j.id)) : undefined;
      }, 20000, 5);
      const child = stack.process('inference');
      await stack.stopApp('inference', 'SIGTERM');
      expect({ code: child?.exitCode, signal: child?.signalCode }).toEqual({ code: 0, signal: null });
      // the jobs it held were finished before it exited, not abandoned
      const states = await Promise.all(active.map(async (id) => (await queue.getJob(id))?.getState()));
      expect(states.every((s) => s === 'completed')).toBe(true);
      expect(await queue.getActiveCount()).toBe(0);

      await stack.startApp('inference');
      const rows = await allPersisted(stack, ids);
      expect(rows.every((r) => r.status === 'completed')).toBe(true);
      expect(stalled).toEqual([]);
    } finally {
      // A failed test must not leave the listener's connection open: Jest would never exit.
      await close();
    }
  });

  it('SIGTERM on the gateway: requests waiting for results get 202 at once, it exits 0, and their work completes', async () => {
    await stack.stopApp('inference'); // the waits cannot end by themselves
    const bus = photo('bus.jpg');
    const pending = [0, 1, 2, 3].map((i) => upload(stack, bus, { confidence: (0.6 + i * 0.01).toFixed(2) }, '?wait=20000'));
    await new Promise((r) => setTimeout(r, 700));
    const gateway = stack.process('api-gateway');
    const signalled = Date.now();
    await stack.stopApp('api-gateway', 'SIGTERM');
    const exitedMs = Date.now() - signalled;
    const replies = await Promise.all(pending);
    expect({ code: gateway?.exitCode, signal: gateway?.signalCode }).toEqual({ code: 0, signal: null });
    expect(exitedMs).toBeLessThan(3000);
    expect(replies.map((r) => r.status)).toEqual([202, 202, 202, 202]);
    const ids = replies.map((r) => String(r.body['id']));

    await stack.startApp('inference');
    await stack.startApp('api-gateway');
    const rows = await allPersisted(stack, ids);
    expect(rows.every((r) => r.status === 'completed')).toBe(true);
  });
});
