import { type Stack, startStack } from '@argus/testing';
import { call, eventually, labelCounts, photo, upload } from './helpers';

describe('REST pipeline, end to end (real Redis, Postgres and model)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ label: 'rest' });
  });
  afterAll(() => stack?.stop());

  it('finds 4 persons and a bus in bus.jpg, then serves the same photo from the cache', async () => {
    const first = await upload(stack, photo('bus.jpg'), {}, '?wait=20000');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'completed', cached: false, model: { name: 'yolox-nano' }, image: { width: 810, height: 1080 } });
    expect(labelCounts(first.body['detections'], 0.25)).toEqual({ person: 4, bus: 1 });
    expect(first.headers.get('location')).toBe(`/v1/detections/${String(first.body['id'])}`);

    const again = await upload(stack, photo('bus.jpg'));
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'completed', cached: true });
    expect(again.body['id']).not.toBe(first.body['id']);
    expect(again.body['detections']).toEqual(first.body['detections']);

    // both end up as rows in Postgres, the second marked as a cache hit
    const rows = await eventually(async () => {
      const r = await stack.query(`SELECT id, status, cached, detection_count FROM "${stack.schema}".detections ORDER BY created_at`);
      return r.rows.length === 2 ? r.rows : undefined;
    });
    expect(rows).toEqual([
      { id: first.body['id'], status: 'completed', cached: false, detection_count: 5 },
      { id: again.body['id'], status: 'completed', cached: true, detection_count: 5 },
    ]);
  });

  it('answers GET /v1/detections/:id from Postgres with the same result', async () => {
    const posted = await upload(stack, photo('zidane.jpg'), { priority: 'high' }, '?wait=20000');
    expect(posted.status).toBe(200);
    const id = String(posted.body['id']);
    const view = await eventually(async () => {
      const res = await call(stack, `/v1/detections/${id}`);
      const body = (await res.json()) as Record<string, unknown>;
      const row = await stack.query(`SELECT 1 FROM "${stack.schema}".detections WHERE id = $1`, [id]);
      return row.rowCount === 1 ? body : undefined;
    });
    expect(view).toMatchObject({ id, status: 'completed', priority: 'high', cached: false, error: null });
    expect(view['detections']).toEqual(posted.body['detections']);
    expect(Object.keys(view['timings'] as object)).toEqual(expect.arrayContaining(['queueWait', 'preprocess', 'inference', 'total']));
  });

  it('says 404 with a JSON error for an unknown id', async () => {
    const res = await call(stack, `/v1/detections/01a2014a-0000-7000-8000-000000000000`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
  });

  it('lists the models with version, family, input size, batching and provider', async () => {
    const res = await call(stack, `/v1/models`);
    const body = (await res.json()) as { models: Record<string, unknown>[] };
    expect(body.models.map((m) => m['name'])).toEqual(['yolov8n-int8', 'yolox-nano']);
    expect(body.models[1]).toMatchObject({ family: 'yolox', input: { width: 416, height: 416 }, dynamicBatch: true, provider: 'cpu', workers: 1 });
    expect(body.models[0]).toMatchObject({ family: 'yolov8', input: { width: 640, height: 640 }, dynamicBatch: false, maxBatchSize: 1 });
    expect(String(body.models[1]?.['version'])).toMatch(/^[0-9a-f]{12}$/);
  });

  it('runs the other model and a class filter when asked', async () => {
    const res = await upload(stack, photo('bus.jpg'), { model: 'yolov8n-int8', classes: 'bus' }, '?wait=20000');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ model: { name: 'yolov8n-int8' }, params: { classes: ['bus'] } });
    expect(labelCounts(res.body['detections'], 0.25)).toEqual({ bus: 1 });
  });

  it('returns the same job for the same Idempotency-Key, and 409 when the key is reused for other work', async () => {
    const headers = { 'Idempotency-Key': 'e2e-key-1' };
    const a = await upload(stack, photo('darknet-dog.jpg'), {}, '?wait=20000', headers);
    const b = await upload(stack, photo('darknet-dog.jpg'), {}, '', headers);
    expect(a.status).toBe(200);
    expect(b.body['id']).toBe(a.body['id']);
    const c = await upload(stack, photo('zidane.jpg'), {}, '', headers);
    expect(c.status).toBe(409);
    expect(c.body).toEqual({ error: { code: 'idempotency_key_reused', message: expect.any(String) } });
  });

  it('accepts a raw image body with options in the query string', async () => {
    const res = await call(stack, `/v1/detections?wait=20000&model=yolox-nano&confidence=0.5`, {
      method: 'POST',
      headers: { 'Content-Type': 'image/jpeg' },
      body: new Uint8Array(photo('coco-000000002006-bus-640x480.jpg')),
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ status: 'completed', params: { confidence: 0.5 }, image: { width: 640, height: 480 } });
    expect(labelCounts(body['detections'], 0.5)).toMatchObject({ bus: 1 });
  });

  it('echoes the correlation id and stores it with the row', async () => {
    const res = await upload(stack, photo('tree-no-objects.webp'), {}, '?wait=20000', { 'X-Correlation-Id': 'e2e-corr-42' });
    expect(res.headers.get('x-correlation-id')).toBe('e2e-corr-42');
    expect(res.body).toMatchObject({ correlationId: 'e2e-corr-42', detections: [] });
    const row = await eventually(async () => {
      const r = await stack.query(`SELECT correlation_id FROM "${stack.schema}".detections WHERE id = $1`, [res.body['id']]);
      return r.rows[0] as { correlation_id: string } | undefined;
    });
    expect(row.correlation_id).toBe('e2e-corr-42');
  });
});
