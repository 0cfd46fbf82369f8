import { verifyWebhook } from '@argus/client';
import type { BatchResult, BatchView, DetectionView } from '@argus/contracts';
import { localHttpServer, type LocalHttpServer, type Stack, startStack } from '@argus/testing';
import type { IncomingHttpHeaders } from 'node:http';
import { corruptPng, eventually, labelCounts, photo, upload } from './helpers';

const WEBHOOK_SECRET = 'a raw text webhook secret for batches';

/** A local server on 127.0.0.1: test photos at /images/<name>, and a webhook receiver at /hook. */
async function localServer(): Promise<LocalHttpServer & { hooks: { headers: IncomingHttpHeaders; body: Buffer }[] }> {
  const hooks: { headers: IncomingHttpHeaders; body: Buffer }[] = [];
  const server = await localHttpServer((req, res) => {
    const path = req.url ?? '';
    if (path === '/hook') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        hooks.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(204).end();
      });
      return;
    }
    try {
      res.writeHead(200).end(photo(decodeURIComponent(path.replace(/^\/images\//, ''))));
    } catch {
      res.writeHead(404).end();
    }
  });
  return { ...server, hooks };
}

type Part = { file: string; bytes?: Buffer } | { url: string };

describe('batches: POST /v1/batches as a BullMQ flow, progress, results in three formats (real stack)', () => {
  let stack: Stack;
  let local: Awaited<ReturnType<typeof localServer>>;

  async function submitBatch(parts: Part[], fields: Record<string, string> = {}, headers: Record<string, string> = {}) {
    const form = new FormData();
    for (const part of parts) {
      if ('url' in part) form.append('url', part.url);
      else form.append('images', new Blob([new Uint8Array(part.bytes ?? photo(part.file))]), part.file);
    }
    for (const [name, value] of Object.entries(fields)) form.set(name, value);
    const res = await fetch(`${stack.baseUrl}/v1/batches`, { method: 'POST', body: form, headers: { 'x-api-key': stack.apiKey, ...headers } });
    return { status: res.status, location: res.headers.get('location'), body: (await res.json()) as BatchView & { error?: { code: string; message: string } } };
  }
  const getBatch = async (id: string, key = stack.apiKey) => {
    const res = await fetch(`${stack.baseUrl}/v1/batches/${id}`, { headers: { 'x-api-key': key } });
    return { status: res.status, body: (await res.json()) as BatchView & { error?: { code: string } } };
  };
  const finished = (id: string) => eventually(async () => ((await getBatch(id)).body.status === 'completed' ? (await getBatch(id)).body : undefined), 90000, 200);
  const results = async (id: string, format: string) => {
    const res = await fetch(`${stack.baseUrl}/v1/batches/${id}/results?format=${format}`, { headers: { 'x-api-key': stack.apiKey } });
    return { status: res.status, type: res.headers.get('content-type'), disposition: res.headers.get('content-disposition'), text: await res.text() };
  };

  beforeAll(async () => {
    local = await localServer();
    stack = await startStack({
      label: 'batches',
      env: { URL_FETCH_ALLOW: '127.0.0.1', WEBHOOK_SECRET, BATCH_MAX_IMAGES: '7', BATCH_MAX_BYTES: '2500000', RECONCILE_AFTER_SECONDS: '5' },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await local?.close();
  });

  let batch: BatchView;

  it('accepts files and URLs (202, Location), with a cached image and an image sent twice among them, and completes', async () => {
    // Seen before: this item is answered from the cache.
    expect(await upload(stack, photo('bus.jpg'), {}, '?wait=30000')).toMatchObject({ status: 200, body: { cached: false } });
    const submitted = await submitBatch(
      [{ file: 'bus.jpg' }, { file: 'zidane.jpg' }, { file: 'zidane.jpg' }, { file: 'darknet-dog.jpg' }, { file: 'broken.png', bytes: corruptPng() }, { url: `${local.base}/images/tree-no-objects.webp` }],
      { priority: 'low', callbackUrl: `${local.base}/hook` },
    );
    expect(submitted.status).toBe(202);
    batch = submitted.body;
    expect(submitted.location).toBe(`/v1/batches/${batch.id}`);
    expect(batch).toMatchObject({ total: 6, completedAt: null });
    expect(batch.items.map((i) => i.image)).toEqual(['bus.jpg', 'zidane.jpg', 'zidane.jpg', 'darknet-dog.jpg', 'broken.png', `${local.base}/images/tree-no-objects.webp`]);
    expect(new Set(batch.items.map((i) => i.id)).size).toBe(6);

    const done = await finished(batch.id);
    expect(done).toMatchObject({ id: batch.id, status: 'completed', total: 6, completed: 5, failed: 1 });
    expect(typeof done.completedAt).toBe('string');

    const view = async (index: number) => (await fetch(`${stack.baseUrl}/v1/detections/${batch.items[index]?.id}`, { headers: { 'x-api-key': stack.apiKey } }).then((r) => r.json())) as DetectionView;
    expect(await view(0)).toMatchObject({ status: 'completed', cached: true, priority: 'low' });
    expect(await view(4)).toMatchObject({ status: 'failed', error: { code: 'corrupt_image' } });
    // The photo sent twice ran once: the second rode on the first's job, or came from its cached result.
    const rows = (await stack.query(`SELECT id, job_id, cached FROM "${stack.schema}".detections WHERE id = ANY($1::uuid[])`, [[batch.items[1]?.id, batch.items[2]?.id]])).rows as { job_id: string | null; cached: boolean }[];
    expect(new Set(rows.filter((r) => !r.cached).map((r) => r.job_id)).size).toBe(1);
    expect((await view(1)).detections).toEqual((await view(2)).detections);
  });

  it('exports JSON Lines: one detection per image, in order, with the image it came from', async () => {
    const jsonl = await results(batch.id, 'jsonl');
    expect(jsonl.status).toBe(200);
    expect(jsonl.type).toMatch(/^application\/x-ndjson/);
    expect(jsonl.disposition).toContain(`batch-${batch.id}.jsonl`);
    const lines = jsonl.text.trimEnd().split('\n').map((l) => JSON.parse(l) as BatchResult);
    expect(lines.map((l) => [l.id, l.image])).toEqual(batch.items.map((i) => [i.id, i.image]));
    expect(labelCounts(lines[0]?.detections, 0.25)).toEqual({ person: 4, bus: 1 });
    expect(lines[0]?.imageInfo).toMatchObject({ width: 810, height: 1080 });
    expect(lines[5]).toMatchObject({ status: 'completed', detections: [] });
  });

  it('exports CSV: a header, one row per box, one row for an image without boxes', async () => {
    const csv = await results(batch.id, 'csv');
    expect(csv.type).toMatch(/^text\/csv/);
    const rows = csv.text.trimEnd().split('\r\n');
    expect(rows[0]).toBe('image,detection_id,status,model,model_version,label,class_id,score,x1,y1,x2,y2,error_code');
    const lines = (await results(batch.id, 'jsonl')).text.trimEnd().split('\n').map((l) => JSON.parse(l) as BatchResult);
    const boxes = lines.reduce((n, l) => n + Math.max(1, l.detections.length), 0);
    expect(rows).toHaveLength(1 + boxes);
    expect(rows.filter((r) => r.startsWith('bus.jpg,') && r.includes(',bus,5,'))).toHaveLength(1);
    expect(rows.find((r) => r.startsWith('broken.png,'))).toMatch(/,failed,.*,corrupt_image$/);
    expect(rows.find((r) => r.includes('tree-no-objects'))).toMatch(/,completed,yolox-nano,[0-9a-f]+,,,,,,,,$/);
  });

  it('exports COCO: images, [x, y, w, h] annotations with scores, the model\'s categories', async () => {
    const coco = await results(batch.id, 'coco');
    expect(coco.type).toMatch(/^application\/json/);
    const doc = JSON.parse(coco.text) as {
      images: { id: number; file_name: string; width: number }[];
      annotations: { image_id: number; category_id: number; bbox: number[]; score: number }[];
      categories: { id: number; name: string }[];
    };
    expect(doc.images.map((i) => i.file_name)).toEqual(batch.items.map((i) => i.image));
    expect(doc.images[0]).toMatchObject({ id: 1, width: 810 });
    expect(doc.categories).toHaveLength(80);
    expect(doc.categories[0]).toEqual({ id: 1, name: 'person', supercategory: '' });
    const busBoxes = doc.annotations.filter((a) => a.image_id === 1 && a.score >= 0.25);
    expect(busBoxes.filter((a) => a.category_id === 6)).toHaveLength(1);
    for (const a of doc.annotations) expect(a.bbox.every((v) => v >= 0) && (a.bbox[2] ?? 0) > 0 && (a.bbox[3] ?? 0) > 0).toBe(true);
  });

  it('posts one signed batch.completed webhook with the batch', async () => {
    const hook = await eventually(async () => local.hooks[0], 30000);
    const event = await verifyWebhook(WEBHOOK_SECRET, hook.headers, hook.body);
    expect(event).toMatchObject({ type: 'batch.completed', data: { id: batch.id, status: 'completed', total: 6, completed: 5, failed: 1 } });
    expect(hook.headers['webhook-id']).toBe(`msg_batch_${batch.id}`);
    await new Promise((r) => setTimeout(r, 500));
    expect(local.hooks).toHaveLength(1);
  });

  it('shows a batch only to its client', async () => {
    expect(await getBatch(batch.id, 'some-other-key-0123456789')).toMatchObject({ status: 401 });
    expect(await getBatch('01a2014a-0000-7000-8000-000000000000')).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });

  it('follows a batch while it waits (queued, 409 for its results), counts a canceled image as failed, and completes once the rest ran', async () => {
    await stack.stopApp('inference');
    const submitted = await submitBatch([{ file: 'coco-000000002006-bus-640x480.jpg' }, { file: 'coco-000000007888-grayscale.jpg' }]);
    expect(submitted.status).toBe(202);
    const id = submitted.body.id;
    expect(await getBatch(id)).toMatchObject({ status: 200, body: { status: 'queued', total: 2, completed: 0, failed: 0 } });
    expect(await results(id, 'jsonl')).toMatchObject({ status: 409 });
    const canceled = await fetch(`${stack.baseUrl}/v1/detections/${submitted.body.items[0]?.id}`, { method: 'DELETE', headers: { 'x-api-key': stack.apiKey } });
    expect(canceled.status).toBe(200);
    await eventually(async () => ((await getBatch(id)).body.failed === 1 ? true : undefined), 30000, 200);
    expect((await getBatch(id)).body).toMatchObject({ status: 'active', completed: 0, failed: 1 });
    await stack.startApp('inference');
    expect(await finished(id)).toMatchObject({ total: 2, completed: 1, failed: 1 });
    const lines = (await results(id, 'jsonl')).text.trimEnd().split('\n').map((l) => JSON.parse(l) as BatchResult);
    expect(lines.map((l) => l.status)).toEqual(['canceled', 'completed']);
  });

  it('returns the same batch for a repeated Idempotency-Key, and refuses the key for another batch', async () => {
    const parts: Part[] = [{ file: 'darknet-dog.jpg' }, { url: `${local.base}/images/zidane.jpg` }];
    const first = await submitBatch(parts, {}, { 'idempotency-key': 'batch-key-1' });
    const again = await submitBatch(parts, {}, { 'idempotency-key': 'batch-key-1' });
    expect(first.status).toBe(202);
    expect(again).toMatchObject({ status: 202, body: { id: first.body.id, items: first.body.items } });
    const other = await submitBatch([{ file: 'bus.jpg' }], {}, { 'idempotency-key': 'batch-key-1' });
    expect(other).toMatchObject({ status: 409, body: { error: { code: 'idempotency_key_reused' } } });
  });

  it('refuses a batch whole, naming the problem: no image, too many, too many bytes, a bad image, a refused URL', async () => {
    expect(await submitBatch([])).toMatchObject({ status: 400, body: { error: { code: 'missing_image' } } });
    const eight = Array.from({ length: 8 }, () => ({ file: 'tree-no-objects.webp' }));
    expect(await submitBatch(eight)).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large', message: expect.stringMatching(/BATCH_MAX_IMAGES/) } } });
    const heavy = Array.from({ length: 6 }, () => ({ file: 'bus.jpg' }));
    expect(await submitBatch(heavy)).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large', message: expect.stringMatching(/BATCH_MAX_BYTES/) } } });
    const text = await submitBatch([{ file: 'bus.jpg' }, { file: 'notes.txt', bytes: Buffer.from('not an image at all, just words') }]);
    expect(text).toMatchObject({ status: 415, body: { error: { code: 'not_an_image', message: expect.stringMatching(/^Image 2 \(notes\.txt\)/) } } });
    expect(await submitBatch([{ url: 'http://169.254.169.254/latest/meta-data/' }])).toMatchObject({ status: 403, body: { error: { code: 'url_not_allowed' } } });
    expect(await submitBatch([{ file: 'bus.jpg' }], { wait: '1000' })).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
  });
});
