import { detectQueueName } from '@argus/contracts';
import { type Stack, startStack } from '@argus/testing';
import { Queue, Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { eventually, photo, upload } from './helpers';

const ALICE = `alice-${randomUUID()}`;
const BOB = `bob-${randomUUID()}`;
const OPS = `ops-${randomUUID()}`;

describe('DELETE /v1/detections/:id: cancel what waits, erase what ended (real stack)', () => {
  let stack: Stack;
  let queue: Queue;

  const del = async (id: string, key = ALICE) => {
    const res = await fetch(`${stack.baseUrl}/v1/detections/${id}`, { method: 'DELETE', headers: { 'x-api-key': key } });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as (Record<string, unknown> & { error?: { code: string } }) | null, retryAfter: res.headers.get('retry-after') };
  };
  const get = async (id: string, key = ALICE) => {
    const res = await fetch(`${stack.baseUrl}/v1/detections/${id}`, { headers: { 'x-api-key': key } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const row = async (id: string) => (await stack.query(`SELECT status, work_key, image_sha256 FROM "${stack.schema}".detections WHERE id = $1`, [id])).rows[0] as { status: string; work_key: string; image_sha256: string } | undefined;
  const queued = async (fileName: string, key = ALICE) => {
    const res = await upload(stack, photo(fileName), {}, '', { 'x-api-key': key });
    expect(res).toMatchObject({ status: 202, body: { status: 'queued' } });
    return String(res.body['id']);
  };
  const inLedger = async (id: string) => (await stack.redis.zscore(`${stack.prefix}:unpersisted`, id)) !== null;

  beforeAll(async () => {
    // Reconciler passes look at the ledger 5 s after admission: quick enough to see it leave canceled requests alone.
    stack = await startStack({ label: 'delete', env: { API_KEYS: `alice:${ALICE},bob:${BOB},ops/admin:${OPS}`, RECONCILE_AFTER_SECONDS: '5' } });
    queue = new Queue(detectQueueName('yolox-nano'), { connection: stack.redis.duplicate(), prefix: stack.prefix });
    // Published models stay known; without a worker every job waits.
    await stack.stopApp('inference');
  });
  afterAll(async () => {
    await queue?.close();
    await stack?.stop();
  });

  it('cancels a queued detection: 200 with status canceled, its job gone, one canceled row, never run again', async () => {
    const id = await queued('bus.jpg');
    expect(await queue.getJob(id)).toBeDefined();
    // Only its owner sees it: another client deletes nothing.
    expect(await del(id, BOB)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    const canceled = await del(id);
    expect(canceled).toMatchObject({ status: 200, body: { id, status: 'canceled', detections: [], error: null } });
    expect(typeof canceled.body?.['completedAt']).toBe('string');
    expect(await queue.getJob(id)).toBeUndefined();
    expect((await get(id)).body).toMatchObject({ id, status: 'canceled' });
    await eventually(async () => ((await row(id))?.status === 'canceled' ? true : undefined), 20000);
    await eventually(async () => ((await inLedger(id)) ? undefined : true), 20000);
    const listed = (await fetch(`${stack.baseUrl}/v1/detections?status=canceled`, { headers: { 'x-api-key': ALICE } }).then((r) => r.json())) as { items: { id: string }[] };
    expect(listed.items.map((d) => d.id)).toContain(id);
    // Past RECONCILE_AFTER_SECONDS and a few reconciler passes: nothing put it back on its work.
    await new Promise((r) => setTimeout(r, 8000));
    expect(await queue.getJob(id)).toBeUndefined();
    expect(await queue.getWaitingCount()).toBe(0);
    expect((await row(id))?.status).toBe('canceled');
  });

  it('answers 409 not_ready while the detection runs, and cancels it once it waits again', async () => {
    const id = await queued('darknet-dog.jpg');
    // Take the job the way an inference worker does: it is active, locked by us.
    const worker = new Worker(detectQueueName('yolox-nano'), null, { connection: stack.redis.duplicate(), prefix: stack.prefix });
    try {
      const token = randomUUID();
      const job = await worker.getNextJob(token);
      expect(job?.id).toBe(id);
      const running = await del(id);
      expect(running).toMatchObject({ status: 409, body: { error: { code: 'not_ready' } }, retryAfter: '1' });
      expect((await get(id)).body['status']).toBe('active');
      await job?.moveToWait(token);
      expect(await del(id)).toMatchObject({ status: 200, body: { status: 'canceled' } });
      expect(await queue.getJob(id)).toBeUndefined();
    } finally {
      await worker.close();
    }
  });

  it('hands a canceled request whose row was never written to apps/results again, as canceled, without re-running it', async () => {
    // What a gateway that died right after cancel.lua leaves: the request marked canceled (and
    // handed to a persist job that was never added), its job still there.
    const id = await queued('coco-000000000139-livingroom.jpg');
    const record = `${stack.prefix}:req:${id}`;
    const { workKey } = JSON.parse((await stack.redis.hget(record, 'record')) ?? '{}') as { workKey: string };
    await stack.redis.srem(`${stack.prefix}:attached:${workKey}`, id);
    await stack.redis.hset(record, 'canceled', new Date().toISOString(), 'handed', 'cancel.never-added');
    await queue.remove(id);
    await eventually(async () => ((await row(id))?.status === 'canceled' ? true : undefined), 30000, 250);
    expect(await queue.getJob(id)).toBeUndefined();
    await eventually(async () => ((await inLedger(id)) ? undefined : true), 10000);
  });

  it('leaves a shared job to the request still riding on it: only the canceled one leaves, the other completes', async () => {
    const first = await queued('zidane.jpg');
    const second = await queued('zidane.jpg');
    // Identical work of one client: the second rides on the first's job.
    expect(await stack.redis.hget(`${stack.prefix}:req:${second}`, 'jobId')).toBe(first);
    expect(await del(first)).toMatchObject({ status: 200, body: { status: 'canceled' } });
    expect(await queue.getJob(first)).toBeDefined();
    await stack.startApp('inference');
    const done = await eventually(async () => {
      const view = await get(second);
      return view.body['status'] === 'completed' ? view.body : undefined;
    }, 60000);
    expect((done['detections'] as unknown[]).length).toBeGreaterThan(0);
    await eventually(async () => ((await row(second))?.status === 'completed' ? true : undefined), 20000);
    expect((await row(first))?.status).toBe('canceled');
    expect((await get(first)).body['status']).toBe('canceled');
  });

  it('erases a finished detection: 204, then its row, its cached outcome and its image are gone; another client\'s cache is untouched', async () => {
    const bobs = await upload(stack, photo('bus.jpg'), {}, '?wait=30000', { 'x-api-key': BOB });
    expect(bobs).toMatchObject({ status: 200, body: { cached: false } });
    const mine = await upload(stack, photo('bus.jpg'), {}, '?wait=30000', { 'x-api-key': ALICE });
    expect(mine).toMatchObject({ status: 200, body: { cached: false } });
    const id = String(mine.body['id']);
    const persisted = await eventually(async () => row(id), 20000);
    const outcome = `${stack.prefix}:outcome:${persisted.work_key}`;
    const image = `${stack.prefix}:img:${persisted.image_sha256}`;
    expect(await stack.redis.exists(outcome, image)).toBe(2);

    expect(await del(id, BOB)).toMatchObject({ status: 404 });
    const erased = await del(id);
    expect(erased).toMatchObject({ status: 204, body: null });
    expect(await row(id)).toBeUndefined();
    expect(await stack.redis.exists(outcome, image, `${stack.prefix}:req:${id}`)).toBe(0);
    expect(await get(id)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(await del(id)).toMatchObject({ status: 404 });

    // The same photo again: alice's result was erased, so the model runs; bob's stays cached.
    expect(await upload(stack, photo('bus.jpg'), {}, '?wait=30000', { 'x-api-key': ALICE })).toMatchObject({ status: 200, body: { cached: false } });
    expect(await upload(stack, photo('bus.jpg'), {}, '?wait=30000', { 'x-api-key': BOB })).toMatchObject({ status: 200, body: { cached: true } });
  });

  it('lets an admin key erase any client\'s finished detection', async () => {
    const bobs = await upload(stack, photo('darknet-dog.jpg'), {}, '?wait=30000', { 'x-api-key': BOB });
    const id = String(bobs.body['id']);
    await eventually(async () => row(id), 20000);
    expect(await del(id, OPS)).toMatchObject({ status: 204 });
    expect(await row(id)).toBeUndefined();
  });
});
